// ov-memory/embedders/openai against a real OpenAI-compatible endpoint: a node:http server on
// 127.0.0.1 that implements POST /v1/embeddings and serves hashingEmbedder's vectors, and can be
// told to fail, stall or answer wrongly.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EmbedderFaultError, hashingEmbedder } from '../dist/index.js';
import { openAIEmbedder } from '../dist/embedders/openai.js';

interface Received {
  body: { model: string; input: string[]; dimensions?: number; encoding_format?: string };
  authorization?: string;
}
type Behaviour = (req: Received, res: ServerResponse) => void;

const vectors = hashingEmbedder({ dim: 384 });
const serveVectors: Behaviour = ({ body }, res) => {
  const data = vectors.embed(body.input).map((v, index) => ({ object: 'embedding', index, embedding: Array.from(v) }));
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ object: 'list', model: body.model, data }));
};

let server: Server;
let baseURL: string;
let received: Received[] = [];
/** What the next requests meet, in order; once used up, every request gets vectors. */
let behaviours: Behaviour[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/embeddings') return void res.writeHead(404).end();
      const r: Received = { body: JSON.parse(raw), authorization: req.headers.authorization };
      received.push(r);
      (behaviours.shift() ?? serveVectors)(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseURL = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  received = [];
  behaviours = [];
});

const status = (code: number, headers: Record<string, string> = {}): Behaviour => (_, res) =>
  void res.writeHead(code, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error: { message: `status ${code}` } }));
const body = (text: string): Behaviour => (_, res) => void res.writeHead(200, { 'content-type': 'application/json' }).end(text);
const silent: Behaviour = () => {}; // never answers (the server closes it at the end)

/** Waits recorded instead of slept: retries are checked without any timing. */
function recordingSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe('openAIEmbedder() - embedding', () => {
  it('embeds in batches, in order, with the model, dimensions and key sent', async () => {
    const embedder = await openAIEmbedder({ baseURL, model: 'test-model', apiKey: 'sk-test', dimensions: 384, batchSize: 64 });
    expect(embedder.dim).toBe(384);
    const texts = Array.from({ length: 150 }, (_, i) => `memory ${i} about ${i % 3 === 0 ? 'dogs' : 'cats'}`);
    const got = await embedder.embed(texts);
    expect(received.map((r) => r.body.input.length)).toEqual([64, 64, 22]);
    expect(received.every((r) => r.body.model === 'test-model' && r.body.dimensions === 384 && r.body.encoding_format === 'float')).toBe(true);
    expect(received[0]!.authorization).toBe('Bearer sk-test');
    expect(got).toEqual(vectors.embed(texts));
  });

  it('learns the dimension with one probe request when `dimensions` is not given', async () => {
    const embedder = await openAIEmbedder({ baseURL: `${baseURL}/`, model: 'm' });
    expect(embedder.dim).toBe(384);
    expect(received).toHaveLength(1);
    expect(received[0]!.body.dimensions).toBeUndefined();
    expect(received[0]!.authorization).toBeUndefined();
    expect(await embedder.embed([])).toEqual([]);
  });

  it('puts vectors back in the order of their `index`', async () => {
    behaviours = [({ body: b }, res) => {
      const data = vectors.embed(b.input).map((v, index) => ({ index, embedding: Array.from(v) })).reverse();
      res.writeHead(200).end(JSON.stringify({ data }));
    }];
    const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384 });
    expect(await embedder.embed(['a dog', 'a cat'])).toEqual(vectors.embed(['a dog', 'a cat']));
  });
});

describe('openAIEmbedder() - retries', () => {
  it('retries a 429 after its Retry-After, then succeeds', async () => {
    const { waits, sleep } = recordingSleep();
    behaviours = [status(429, { 'retry-after': '2' })];
    const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384, sleep });
    expect(await embedder.embed(['hello'])).toEqual(vectors.embed(['hello']));
    expect(received).toHaveLength(2);
    expect(waits).toEqual([2000]);
  });

  it('backs off exponentially with jitter on 5xx, and gives up after maxRetries with EMBEDDER_FAULT and the status', async () => {
    const { waits, sleep } = recordingSleep();
    behaviours = [status(500), status(502), status(503), status(500)];
    const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384, maxRetries: 3, retryDelayMs: 100, sleep });
    const failure = embedder.embed(['hello']);
    await expect(failure).rejects.toBeInstanceOf(EmbedderFaultError); // the main entry's own class
    await expect(failure).rejects.toMatchObject({ code: 'EMBEDDER_FAULT', details: { status: 500, attempts: 4 } });
    expect(received).toHaveLength(4);
    expect(waits).toHaveLength(3);
    waits.forEach((w, i) => expect(w).toBeLessThanOrEqual(100 * 2 ** i));
  });

  it('does not retry a 400, and names the endpoint and what it said', async () => {
    behaviours = [status(400)];
    const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384, sleep: async () => {} });
    await expect(embedder.embed(['x'])).rejects.toMatchObject({
      code: 'EMBEDDER_FAULT',
      message: expect.stringContaining(`${baseURL}/embeddings answered 400 Bad Request: {"error":{"message":"status 400"}}`),
      details: { status: 400, attempts: 1 },
    });
    expect(received).toHaveLength(1);
  });

  it('a request that does not answer in timeoutMs is a fault (retried like any other)', async () => {
    behaviours = [silent, silent];
    const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384, timeoutMs: 50, maxRetries: 1, sleep: async () => {} });
    await expect(embedder.embed(['x'])).rejects.toMatchObject({ code: 'EMBEDDER_FAULT', message: expect.stringContaining('did not answer within 50 ms'), details: { attempts: 2 } });
    expect(received).toHaveLength(2);
  });

  it('an endpoint that cannot be reached is a fault with the network error as cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const embedder = await openAIEmbedder({ baseURL: `http://127.0.0.1:${port}/v1`, model: 'm', dimensions: 8, maxRetries: 1, sleep: async () => {} });
    const error = await embedder.embed(['x']).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'EMBEDDER_FAULT', message: expect.stringContaining('could not be reached') });
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it('the caller\'s signal aborts a request in flight with ABORTED', async () => {
    behaviours = [silent];
    const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384 });
    const controller = new AbortController();
    const pending = embedder.embed(['x'], { signal: controller.signal });
    await new Promise<void>((resolve) => { const wait = () => (received.length > 0 ? resolve() : setImmediate(wait)); wait(); });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('openAIEmbedder() - bad answers', () => {
  const bad: [string, Behaviour, string][] = [
    ['a vector of the wrong length', ({ body: b }, res) => void res.writeHead(200).end(JSON.stringify({ data: b.input.map((_, index) => ({ index, embedding: [0.1, 0.2] })) })),
      'a vector of 2 values at data[0], expected 384'],
    ['NaN in the JSON', body('{"data":[{"index":0,"embedding":[NaN,0.5]}]}'), 'invalid JSON'],
    ['a null value', body(`{"data":[{"index":0,"embedding":[${'0.1,'.repeat(383)}null]}]}`), 'a non-finite value at data[0].embedding[383]'],
    ['fewer vectors than texts', body('{"data":[]}'), 'answered 0 vectors for 1 texts'],
    ['no data at all', body('{"object":"list"}'), 'answered no vectors for 1 texts'],
  ];
  for (const [what, behaviour, message] of bad) {
    it(`${what} is EMBEDDER_FAULT, not retried`, async () => {
      behaviours = [behaviour];
      const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384, sleep: async () => {} });
      await expect(embedder.embed(['x'])).rejects.toMatchObject({ code: 'EMBEDDER_FAULT', message: expect.stringContaining(message) });
      expect(received).toHaveLength(1);
    });
  }
});

describe('openAIEmbedder() - options', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['baseURL', { baseURL: 'ftp://example.com' }, 'Expected `baseURL` to be an http(s) URL, got "ftp://example.com" (string)'],
    ['baseURL', { baseURL: 'not a url' }, 'Expected `baseURL` to be an http(s) URL, got "not a url" (string)'],
    ['model', { model: ' ' }, 'Expected `model` to be a model name, got " " (string)'],
    ['dimensions', { dimensions: 0 }, 'Expected `dimensions` to be a positive integer, got 0 (number)'],
    ['batchSize', { batchSize: 1.5 }, 'Expected `batchSize` to be a positive integer, got 1.5 (number)'],
    ['maxRetries', { maxRetries: -1 }, 'Expected `maxRetries` to be a non-negative integer, got -1 (number)'],
    ['timeoutMs', { timeoutMs: '5' }, 'Expected `timeoutMs` to be a positive integer, got "5" (string)'],
    ['apiKey', { apiKey: 42 }, 'Expected `apiKey` to be a string, got 42 (number)'],
  ];
  for (const [name, patch, message] of cases) {
    it(`refuses a bad \`${name}\` with INVALID_DATA and sends nothing`, async () => {
      await expect(openAIEmbedder({ baseURL, model: 'm', dimensions: 8, ...patch } as never)).rejects.toMatchObject({ code: 'INVALID_DATA', message });
      expect(received).toHaveLength(0);
    });
  }

  it('refuses texts that are not an array of strings', async () => {
    const embedder = await openAIEmbedder({ baseURL, model: 'm', dimensions: 384 });
    await expect(embedder.embed(['ok', 7] as never)).rejects.toMatchObject({ code: 'INVALID_DATA', message: 'Expected `texts[1]` to be a string, got 7 (number)' });
    expect(received).toHaveLength(0);
  });
});

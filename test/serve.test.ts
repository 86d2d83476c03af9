// `ov-memory serve`: every route over real HTTP on 127.0.0.1, compared with what the library returns
// in-process for the same calls; auth, error statuses, metrics and health; and the command itself in a
// child process: its flags, and a graceful SIGTERM under load that loses no acknowledged write.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { startServer, type RunningServer, type ServeOptions } from '../dist/serve.js';
import { randomVectors } from './helpers/data.js';
import { testExecutors } from './fixtures/executors.js';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
const DIM = 8;
const NOW = 1_700_000_000_000;
const clock = () => NOW;
const vectors = randomVectors(40, DIM, 9).map((v) => Array.from(v));

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-serve-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => path.join(root, `store-${n++}`);

const running: RunningServer[] = [];
const stores: OVMemory[] = [];
afterEach(async () => {
  await Promise.all([...running.splice(0).map((s) => s.close()), ...stores.splice(0).map((m) => m.close())]);
});

async function serve(options: Partial<ServeOptions> = {}, store: Record<string, unknown> = {}) {
  const server = await startServer({
    dir: freshDir(), dim: DIM, port: 0, logLevel: 'silent', ...options,
    store: { threads: 0, clock, ...store },
  });
  running.push(server);
  return server;
}

interface Answer { status: number; headers: Headers; body: any; text: string }

async function call(url: string, method: string, route: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url + route, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').startsWith('application/json') ? JSON.parse(text) : undefined;
  return { status: response.status, headers: response.headers, body: json, text };
}

/** What the library returned, as it looks after a trip through JSON. */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));

/** Every error answer has exactly this shape, and no stack trace. */
function expectError(answer: Answer, status: number, code: string, message?: RegExp) {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({ error: { code, message: expect.any(String) } });
  expect(answer.text).not.toMatch(/\n\s+at /);
  if (message) expect(answer.body.error.message).toMatch(message);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The value of one Prometheus sample whose labels include all of `labels`, or undefined. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]));
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('startServer() routes', () => {
  it('every route answers what the library answers in-process for the same calls', async () => {
    const { url } = await serve();
    const reference = await OVMemory.create({ dim: DIM, threads: 0, clock, logLevel: 'silent' });
    stores.push(reference);
    const inputs = vectors.slice(0, 30).map((embedding, i) => ({ embedding, text: `memory ${i}`, metadata: { kind: i % 3 }, ...(i % 5 === 0 ? { key: `k${i}` } : {}) }));

    // POST /memories: one memory, then many.
    let answer = await call(url, 'POST', '/memories', inputs[0]);
    expect(answer).toMatchObject({ status: 200, body: { ids: [reference.add(inputs[0]!)] } });
    answer = await call(url, 'POST', '/memories', { memories: inputs.slice(1) });
    expect(answer).toMatchObject({ status: 200, body: { ids: reference.addMany(inputs.slice(1)) } });
    answer = await call(url, 'POST', '/memories', { memories: [{ embedding: vectors[30], text: 'unlinked' }], link: 'none' });
    expect(answer.body).toEqual({ ids: reference.addMany([{ embedding: vectors[30]!, text: 'unlinked' }], { link: 'none' }) });

    // GET, PATCH, DELETE /memories/:id
    answer = await call(url, 'GET', '/memories/3');
    expect(answer).toMatchObject({ status: 200, body: asJson(reference.get(3)) });
    answer = await call(url, 'PATCH', '/memories/4', { weight: 2.5, metadata: { kind: 'patched' } });
    reference.update(4, { weight: 2.5, metadata: { kind: 'patched' } });
    expect(answer).toMatchObject({ status: 200, body: asJson(reference.get(4)) });
    answer = await call(url, 'DELETE', '/memories/6');
    expect(answer.status).toBe(204);
    expect(reference.remove(6)).toBe(true);
    expectError(await call(url, 'GET', '/memories/6'), 404, 'NOT_FOUND', /6/);

    // POST /links
    answer = await call(url, 'POST', '/links', { from: 1, to: 20, relevance: 0.9, type: 'cause' });
    expect(answer).toMatchObject({ status: 200, body: { linked: reference.link(1, 20, 0.9, 'cause') } });
    answer = await call(url, 'POST', '/links', { from: 2, to: 21, relevance: 0.4 });
    expect(answer.body).toEqual({ linked: reference.link(2, 21, 0.4) });
    expect((await call(url, 'GET', '/memories/1')).body).toEqual(asJson(reference.get(1)));

    // POST /search, with each option
    for (const options of [{}, { topK: 7, filter: { kind: 1 } }, { rank: 'similarity' as const, topK: 3 }, { alpha: 0.3, minScore: 0.01, timeoutMs: 5_000 }]) {
      answer = await call(url, 'POST', '/search', { vector: vectors[35], ...options });
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({ hits: asJson(await reference.search(vectors[35]!, options)) });
    }
    // POST /search/batch
    answer = await call(url, 'POST', '/search/batch', { vectors: vectors.slice(31, 35), topK: 4, filter: { kind: { $in: [0, 2] } } });
    expect(answer).toMatchObject({ status: 200, body: { results: asJson(await reference.searchMany(vectors.slice(31, 35), { topK: 4, filter: { kind: { $in: [0, 2] } } })) } });
    // POST /context (an injection is an access: the records show it afterwards)
    const contextOptions = { maxTokens: 40, budget: { total: 1000, used: 500 }, maxHops: 2, seeds: 3 };
    answer = await call(url, 'POST', '/context', { vector: vectors[36], ...contextOptions });
    const context = await reference.context(vectors[36]!, contextOptions);
    expect(answer).toMatchObject({ status: 200, body: asJson(context) });
    expect(context.ids.length).toBeGreaterThan(0);
    expect((await call(url, 'GET', `/memories/${context.ids[0]}`)).body).toEqual(asJson(reference.get(context.ids[0]!)));
    answer = await call(url, 'POST', '/context', { vector: vectors[37], filter: { kind: 2 } });
    expect(answer.body).toEqual(asJson(await reference.context(vectors[37]!, { filter: { kind: 2 } })));
  });

  it('POST /search/batch answers a batch of several blocks as one searchMany in-process', async () => {
    const { url } = await serve();
    const reference = await OVMemory.create({ dim: DIM, threads: 0, clock, logLevel: 'silent' });
    stores.push(reference);
    const inputs = vectors.map((embedding, i) => ({ embedding, text: `memory ${i}`, metadata: { kind: i % 3 } }));
    await call(url, 'POST', '/memories', { memories: inputs });
    reference.addMany(inputs);
    // 1,000 queries at topK 3: blocks of 682 queries, so two calls on the service's side.
    const queries = randomVectors(1_000, DIM, 77).map((v) => Array.from(v));
    const answer = await call(url, 'POST', '/search/batch', { vectors: queries, topK: 3, filter: { kind: { $ne: 1 } } });
    expect(answer.status).toBe(200);
    expect(answer.body.results).toEqual(asJson(await reference.searchMany(queries, { topK: 3, filter: { kind: { $ne: 1 } } })));
    expect(sample((await call(url, 'GET', '/metrics')).text, 'ov_memory_operations_total', { operation: 'searchMany' })).toBe(2);
  });

  it('GET /metrics is Prometheus text with the operations served', async () => {
    const { url } = await serve();
    await call(url, 'POST', '/memories', { embedding: vectors[0], text: 'one' });
    await call(url, 'POST', '/search', { vector: vectors[1] });
    await call(url, 'POST', '/search', { vector: [1, 2] });
    const answer = await call(url, 'GET', '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = answer.text.split('\n').filter((line) => line.length > 0);
    for (const line of lines) {
      expect(line).toMatch(/^(# (HELP|TYPE) [a-zA-Z_:][\w:]* .+|[a-zA-Z_:][\w:]*(\{(\w+="(?:[^"\\]|\\.)*",?)*\})? (-?[\d.]+(e[+-]?\d+)?|NaN|[+-]Inf))$/);
    }
    expect(answer.text).toMatch(/^# TYPE ov_memory_operations_total counter$/m);
    expect(sample(answer.text, 'ov_memory_operations_total', { operation: 'search' })).toBe(2);
    expect(sample(answer.text, 'ov_memory_errors_total', { operation: 'search', code: 'INVALID_DATA' })).toBe(1);
    expect(sample(answer.text, 'ov_memory_nodes', {})).toBe(1);
  });
});

describe('startServer() errors', () => {
  it('answers { error: { code, message } } with the status for each code', async () => {
    const { url } = await serve();
    await call(url, 'POST', '/memories', { embedding: vectors[0], text: 'first', key: 'only' });
    // The library checks the values; the message names the body's own field.
    expectError(await call(url, 'POST', '/memories', { embedding: [1, 2, 3], text: 'short' }), 400, 'INVALID_DATA', /^`embedding` has 3 values, expected 8/);
    expectError(await call(url, 'POST', '/memories', { memories: [{ embedding: vectors[1], text: 'a' }, { embedding: [1], text: 'b' }] }), 400, 'INVALID_DATA', /^`memories\[1\]\.embedding` has 1 values/);
    expectError(await call(url, 'POST', '/memories', { embedding: vectors[1], text: 'x', weight: -1 }), 400, 'INVALID_DATA', /`weight`/);
    expectError(await call(url, 'PATCH', '/memories/0', { weight: -1 }), 400, 'INVALID_DATA', /^Expected `weight`/);
    expectError(await call(url, 'POST', '/search', { vector: [1, 2, 3] }), 400, 'INVALID_DATA', /^`vector` has 3 values, expected 8/);
    expectError(await call(url, 'POST', '/context', { vector: [1, 2, 3] }), 400, 'INVALID_DATA', /^`vector` has 3 values, expected 8/);
    expectError(await call(url, 'POST', '/search/batch', { vectors: [vectors[1], [1, 2]] }), 400, 'INVALID_DATA', /^`vectors\[1\]` has 2 values, expected 8/);
    expectError(await call(url, 'POST', '/search', { vector: vectors[1], topK: -3 }), 400, 'INVALID_DATA', /`topK`/);
    // The schemas: JSON types, required and unknown fields, by the body's paths.
    expectError(await call(url, 'POST', '/search', { vector: ['1'] }), 400, 'INVALID_DATA', /^`vector\[0\]` must be number$/);
    expectError(await call(url, 'POST', '/search', { vector: vectors[1], topk: 3 }), 400, 'INVALID_DATA', /^unknown field `topk`$/);
    expectError(await call(url, 'POST', '/memories', { embedding: vectors[1] }), 400, 'INVALID_DATA', /^`text` is required$/);
    expectError(await call(url, 'POST', '/memories', { memories: [{ embedding: vectors[1], text: 'a' }, { embedding: vectors[1] }] }), 400, 'INVALID_DATA', /^`memories\[1\]\.text` is required$/);
    expectError(await call(url, 'POST', '/links', { from: 0 }), 400, 'INVALID_DATA', /`to` is required/);
    // Malformed JSON, and a key that could change a prototype, each said as such.
    expectError(await call(url, 'POST', '/search', '{"vector": [1, 2'), 400, 'INVALID_DATA', /^the body is not valid JSON/);
    expectError(await call(url, 'POST', '/search', `{"vector": ${JSON.stringify(vectors[1])}, "__proto__": {"topK": 1}}`), 400, 'INVALID_DATA', /`__proto__`.*prototype/);
    expectError(await call(url, 'POST', '/search', `{"vector": ${JSON.stringify(vectors[1])}, "filter": {"constructor": {"prototype": {}}}}`), 400, 'INVALID_DATA', /`constructor`.*prototype/);
    // Unknown ids and routes, a bad id, duplicate keys.
    expectError(await call(url, 'GET', '/memories/99'), 404, 'NOT_FOUND', /99/);
    expectError(await call(url, 'PATCH', '/memories/99', { weight: 2 }), 404, 'NOT_FOUND', /99/);
    expectError(await call(url, 'DELETE', '/memories/99'), 404, 'NOT_FOUND', /99/);
    expectError(await call(url, 'POST', '/links', { from: 0, to: 99, relevance: 0.5 }), 404, 'NOT_FOUND', /99/);
    expectError(await call(url, 'GET', '/nowhere'), 404, 'NOT_FOUND', /GET \/nowhere/);
    expectError(await call(url, 'GET', '/memories/abc'), 400, 'INVALID_DATA', /`id`/);
    // Only the canonical spelling of an id: "01" is not memory 1.
    expectError(await call(url, 'GET', '/memories/01'), 400, 'INVALID_DATA', /`id`.*"01"/);
    expectError(await call(url, 'DELETE', '/memories/+1'), 400, 'INVALID_DATA', /`id`/);
    expectError(await call(url, 'GET', '/memories/4294967296'), 400, 'INVALID_DATA', /`id`/);
    expectError(await call(url, 'POST', '/memories', { embedding: vectors[2], text: 'again', key: 'only' }), 409, 'DUPLICATE_KEY', /only/);
    // None of that is a fault of the service.
    const health = await call(url, 'GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('WARNING');
    expect(health.body.reasons.join(' ')).toMatch(/rejected-input rate/);
  });

  it('a body over the limit is 413', async () => {
    const { url } = await serve({ bodyLimit: 1024 });
    const big = { memories: Array.from({ length: 20 }, (_, i) => ({ embedding: vectors[i], text: `m${i}` })) };
    expect(JSON.stringify(big).length).toBeGreaterThan(1024);
    expectError(await call(url, 'POST', '/memories', big), 413, 'INVALID_DATA', /too large/);
    expect((await call(url, 'POST', '/memories', { memories: big.memories.slice(0, 2) })).status).toBe(200);
  });

  it('a batch over --max-batch-hits is 413 before any search, and the service stays up', async () => {
    const { url } = await serve({ maxBatchHits: 100 });
    await call(url, 'POST', '/memories', { embedding: vectors[0], text: 'a' });
    // 21 × 5 (the default topK) and 11 × 10 pass 100; 20 × 5 and 10 × 10 do not.
    expectError(await call(url, 'POST', '/search/batch', { vectors: vectors.slice(0, 21) }), 413, 'INVALID_DATA', /at most 100 hits, got 21 × 5 = 105/);
    expectError(await call(url, 'POST', '/search/batch', { vectors: vectors.slice(0, 11), topK: 10 }), 413, 'INVALID_DATA', /11 × 10 = 110/);
    expect((await call(url, 'POST', '/search/batch', { vectors: vectors.slice(0, 20) })).status).toBe(200);
    expect((await call(url, 'POST', '/search/batch', { vectors: vectors.slice(0, 10), topK: 10 })).status).toBe(200);
    // A topK the library refuses is the library's to name.
    expectError(await call(url, 'POST', '/search/batch', { vectors: vectors.slice(0, 30), topK: -1 }), 400, 'INVALID_DATA', /`topK`/);
    const metrics = (await call(url, 'GET', '/metrics')).text;
    // The refused batches never reached the store.
    expect(sample(metrics, 'ov_memory_operations_total', { operation: 'searchMany' })).toBe(3);
  });

  it('an answer estimated over --max-answer-mb is 413; a smaller one of the same memories is served', async () => {
    const { url } = await serve({ maxAnswerMB: 1 });
    // 20 memories with 60 KB of metadata each: 20 hits are 1.2 MB, 10 hits 0.6 MB.
    const bulky = { blob: 'x'.repeat(60_000) };
    await call(url, 'POST', '/memories', { memories: vectors.slice(0, 20).map((embedding, i) => ({ embedding, text: `m${i}`, metadata: bulky })) });
    expectError(await call(url, 'POST', '/search', { vector: vectors[0], topK: 20 }), 413, 'INVALID_DATA', /answer \(up to 20 hits.*over 1 MiB/);
    expectError(await call(url, 'POST', '/search/batch', { vectors: [vectors[0], vectors[1]], topK: 10 }), 413, 'INVALID_DATA', /answer \(up to 20 hits/);
    const answer = await call(url, 'POST', '/search', { vector: vectors[0], topK: 10 });
    expect(answer.status).toBe(200);
    expect(answer.body.hits).toHaveLength(10);
    expect(answer.text.length).toBeLessThan(2 ** 20);
    expect(answer.text.length).toBeGreaterThan(600_000);
  });

  it('with the default limits, 6,000 queries × topK 20 over memories of 60 KB metadata are refused, and the service stays up', async () => {
    const { url } = await serve();
    const bulky = { blob: 'x'.repeat(60_000) };
    await call(url, 'POST', '/memories', { memories: vectors.slice(0, 20).map((embedding, i) => ({ embedding, text: `m${i}`, metadata: bulky })) });
    const queries = Array.from({ length: 6_000 }, (_, i) => vectors[i % vectors.length]);
    // Over the 100,000 hits a batch may ask for: refused before the search.
    expectError(await call(url, 'POST', '/search/batch', { vectors: queries, topK: 20 }), 413, 'INVALID_DATA', /6,000 × 20 = 120,000/);
    // Under it, but about 4.8 GB of answer: refused before serialising.
    expectError(await call(url, 'POST', '/search/batch', { vectors: queries.slice(0, 4_000), topK: 20 }), 413, 'INVALID_DATA', /answer \(up to 80,000 hits.*over 64 MiB/);
    expect((await call(url, 'POST', '/search', { vector: vectors[0], topK: 20 })).body.hits).toHaveLength(20);
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
  });

  it('a search past its timeoutMs is 504 TIMEOUT; the store full is 503 RESOURCE_EXHAUSTION', async () => {
    const hooks = { holdScan: true };
    const { url } = await serve({}, { maxNodes: 2, internal: { executors: testExecutors(hooks) } });
    await call(url, 'POST', '/memories', { memories: [{ embedding: vectors[0], text: 'a' }, { embedding: vectors[1], text: 'b' }] });
    expectError(await call(url, 'POST', '/search', { vector: vectors[2], timeoutMs: 20 }), 504, 'TIMEOUT', /timeoutMs/);
    expectError(await call(url, 'POST', '/search/batch', { vectors: Array(1_000).fill(vectors[2]), topK: 3, timeoutMs: 20 }), 504, 'TIMEOUT', /timeoutMs/);
    hooks.holdScan = false;
    expect((await call(url, 'POST', '/search', { vector: vectors[2] })).status).toBe(200);
    expectError(await call(url, 'POST', '/memories', { embedding: vectors[2], text: 'c' }), 503, 'RESOURCE_EXHAUSTION', /maxNodes/);
  });

  it('connections that trickle their bodies are answered 408 and closed; others are served meanwhile', async () => {
    const { url } = await serve({ requestTimeoutMs: 1_000 });
    const { port } = new URL(url);
    // Each sends headers for 1,000 bytes, then a byte every 100 ms: never done within the second.
    const trickles = Array.from({ length: 5 }, () => new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      let answer = '';
      socket.setEncoding('utf8').on('data', (d) => { answer += d; }).on('error', () => {});
      socket.write('POST /memories HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      const timer = setInterval(() => socket.writable && socket.write(' '), 100);
      socket.on('close', () => { clearInterval(timer); resolve(answer); });
    }));
    expect((await call(url, 'POST', '/memories', { embedding: vectors[0], text: 'meanwhile' })).status).toBe(200);
    for (const answer of await Promise.all(trickles)) {
      expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
      expect(JSON.parse(answer.split('\r\n\r\n')[1]!)).toEqual({ error: { code: 'TIMEOUT', message: expect.stringMatching(/whole request within 1000 ms/) } });
    }
    expect((await call(url, 'GET', '/memories/0')).body.text).toBe('meanwhile');
    expect((await call(url, 'GET', '/memories/1')).status).toBe(404);
  });

  it('a client that disconnects aborts its search', async () => {
    const hooks = { holdScan: true };
    const { url } = await serve({}, { internal: { executors: testExecutors(hooks) } });
    await call(url, 'POST', '/memories', { embedding: vectors[0], text: 'a' });
    const request = http.request(`${url}/search`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    request.on('error', () => {});
    await new Promise<void>((resolve) => request.end(JSON.stringify({ vector: vectors[1] }), resolve));
    await sleep(50);
    request.destroy();
    // The held scan ends only when its cancel word is set: by the abort of the request's signal.
    let aborted: number | undefined;
    for (let i = 0; i < 200 && aborted === undefined; i++) {
      await sleep(25);
      aborted = sample((await call(url, 'GET', '/metrics')).text, 'ov_memory_errors_total', { operation: 'search', code: 'ABORTED' });
    }
    expect(aborted).toBe(1);
  });
});

describe('startServer() auth and health', () => {
  const token = 'a-long-random-secret-0123456789';

  it('with a token, every route but /healthz needs the bearer token', async () => {
    const { url } = await serve({ token });
    const memory = { embedding: vectors[0], text: 'secret' };
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: `Bearer ${token}x` }, { authorization: `Bearer ${token.replace('a', 'b')}` }, { authorization: token }, { authorization: `Basic ${token}` }] as Record<string, string>[]) {
      const answer = await call(url, 'POST', '/memories', memory, headers);
      expectError(answer, 401, 'UNAUTHORIZED');
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expectError(await call(url, 'GET', '/metrics', undefined, headers), 401, 'UNAUTHORIZED');
      expectError(await call(url, 'GET', '/nowhere', undefined, headers), 401, 'UNAUTHORIZED');
    }
    const auth = { authorization: `Bearer ${token}` };
    expect(await call(url, 'POST', '/memories', memory, auth)).toMatchObject({ status: 200, body: { ids: [0] } });
    expect((await call(url, 'GET', '/memories/0', undefined, auth)).body.text).toBe('secret');
    expect((await call(url, 'GET', '/metrics', undefined, auth)).status).toBe(200);
    expect((await call(url, 'GET', '/healthz')).status).toBe(200);
  });

  it('without a token, no header is needed', async () => {
    const { url } = await serve();
    expect((await call(url, 'POST', '/memories', { embedding: vectors[0], text: 'open' })).status).toBe(200);
  });

  it.each([
    ['port', { port: 70_000 }, /`port` to be an integer from 0 to 65,535, got 70000/],
    ['bodyLimit', { bodyLimit: 0 }, /`bodyLimit`/],
    ['maxBatchHits', { maxBatchHits: 1.5 }, /`maxBatchHits`.*1\.5 \(number\)/],
    ['maxAnswerMB', { maxAnswerMB: 1024 }, /`maxAnswerMB` to be an integer from 1 to 512/],
    ['requestTimeoutMs', { requestTimeoutMs: -1 }, /`requestTimeoutMs`/],
    ['headersTimeoutMs', { requestTimeoutMs: 1_000, headersTimeoutMs: 5_000 }, /`headersTimeoutMs` to be at most `requestTimeoutMs` \(1000\)/],
    ['logLevel', { logLevel: 'loud' }, /`logLevel` to be one of debug, info, warn, error, silent, got "loud"/],
    ['token', { token: '' }, /`token`/],
  ])('refuses a bad %s, before opening the store', async (_name, options, message) => {
    const dir = freshDir();
    await expect(startServer({ dir, dim: DIM, port: 0, logLevel: 'silent', ...options } as ServeOptions))
      .rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(message) });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('a short requestTimeoutMs shortens the headers\' default with it', async () => {
    await expect(serve({ requestTimeoutMs: 2_000 })).resolves.toMatchObject({ url: expect.stringMatching(/^http:/) });
  });

  it('refuses a non-loopback host without a token, before opening the store', async () => {
    const dir = freshDir();
    await expect(startServer({ dir, dim: DIM, host: '0.0.0.0', port: 0, logLevel: 'silent' }))
      .rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/0\.0\.0\.0 without a token/) });
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('/healthz is 200 while HEALTHY or UNKNOWN, and 503 with the report once the breaker opens', async () => {
    const { url } = await serve({}, { threads: 2, internal: { poolMinRows: 0, executors: testExecutors({ fault: 'throw' }) } });
    let health = await call(url, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'UNKNOWN' } });
    await call(url, 'POST', '/memories', { memories: vectors.map((embedding, i) => ({ embedding, text: `m${i}` })) });
    health = await call(url, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 200, body: { status: 'HEALTHY', breaker: 'CLOSED' } });
    // Each search's pooled scan fails and is redone inline: the caller still gets its answer.
    for (let i = 0; i < 5; i++) expect((await call(url, 'POST', '/search', { vector: vectors[i] })).status).toBe(200);
    health = await call(url, 'GET', '/healthz');
    expect(health).toMatchObject({ status: 503, body: { status: 'CRITICAL', breaker: 'OPEN' } });
    expect(health.body.reasons.join(' ')).toMatch(/circuit breaker is open/);
  });
});

/** Runs the command to its end; the result holds its exit code and output. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `ov-memory serve` with the flags; resolves once it prints its URL. */
async function startCli(args: string[]) {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', () => reject(new Error(`the server exited before listening: ${stderr}`)));
  });
  return { url, child, exited, stderr: () => stderr };
}

describe('ov-memory serve (the command)', () => {
  it.each([
    ['an unknown flag', ['--dir', 'X', '--bogus'], /--bogus/],
    ['no --dir', ['--dim', '8'], /`--dir`/],
    ['a port that is no number', ['--dir', 'X', '--port', 'abc'], /`--port`.*"abc"/],
    ['a port out of range', ['--dir', 'X', '--port', '70000'], /`--port`/],
    ['a missing token file', ['--dir', 'X', '--token-file', '/nonexistent/token'], /`--token-file`/],
    ['a non-loopback host without --token-file', ['--dir', 'X', '--host', '0.0.0.0'], /without a token.*--token-file/],
    ['a new store without --dim', ['--dir', 'NEW'], /`--dim`/],
    ['a bad durability', ['--dir', 'NEW', '--dim', '8', '--durability', 'sometimes'], /`--durability`/],
    ['a memory limit that is no number', ['--dir', 'NEW', '--dim', '8', '--max-memory-mb', 'lots'], /`--max-memory-mb`.*"lots"/],
    ['a memory limit past wasm32', ['--dir', 'NEW', '--dim', '8', '--max-memory-mb', '5000'], /`--max-memory-mb`/],
    ['a bad recency', ['--dir', 'NEW', '--dim', '8', '--recency', 'never'], /`--recency`/],
    ['a flag value that looks like a flag', ['--dir', 'NEW', '--dim', '8', '--threads', '-1'], /'--threads' argument is ambiguous/],
    ['negative threads', ['--dir', 'NEW', '--dim', '8', '--threads=-1'], /`--threads`/],
    ['a bad log level', ['--dir', 'NEW', '--dim', '8', '--log-level', 'loud'], /`--log-level`/],
    ['a zero body limit', ['--dir', 'NEW', '--dim', '8', '--body-limit', '0'], /`--body-limit`/],
    ['a headers timeout past the request timeout', ['--dir', 'NEW', '--dim', '8', '--request-timeout-ms', '1000', '--headers-timeout-ms', '2000'], /`--headers-timeout-ms`.*`--request-timeout-ms`/],
    ['a zero batch cap', ['--dir', 'NEW', '--dim', '8', '--max-batch-hits', '0'], /`--max-batch-hits`/],
  ])('%s: one line on stderr, exit code 2', async (_name, args, message) => {
    const dir = freshDir();
    const { code, stderr, stdout } = await runCli(['serve', ...args.map((a) => (a === 'X' || a === 'NEW' ? dir : a))]);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(message);
  });

  it('passes the store\'s options from its flags', async () => {
    const dir = freshDir();
    const { url, child, exited } = await startCli(['--dir', dir, '--dim', String(DIM), '--max-nodes', '2', '--max-memory-mb', '64', '--name', 'agent-notes',
      '--recency', 'accessed', '--half-life-ms', '1000', '--indexed', 'kind, tag', '--threads', '0', '--log-level', 'warn']);
    const memories = [0, 1].map((i) => ({ embedding: vectors[i], text: `m${i}`, metadata: { kind: i, other: i } }));
    expect((await call(url, 'POST', '/memories', { memories })).body).toEqual({ ids: [0, 1] });
    expectError(await call(url, 'POST', '/memories', { embedding: vectors[2], text: 'third' }), 503, 'RESOURCE_EXHAUSTION', /maxNodes/);
    // An unindexed field cannot be filtered on; an indexed one can.
    expect((await call(url, 'POST', '/search', { vector: vectors[0], filter: { kind: 1 } })).body.hits.map((h: { id: number }) => h.id)).toEqual([1]);
    expectError(await call(url, 'POST', '/search', { vector: vectors[0], filter: { other: 1 } }), 400, 'INVALID_DATA', /other/);
    const metrics = (await call(url, 'GET', '/metrics')).text;
    expect(sample(metrics, 'ov_memory_nodes', { store: 'agent-notes' })).toBe(2);
    const health = (await call(url, 'GET', '/healthz')).body;
    expect(sample(metrics, 'ov_memory_memory_bytes', { store: 'agent-notes' })! / health.memoryUsage).toBeCloseTo(64 * 2 ** 20, -3);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('serves with a token file; SIGTERM under load exits 0 and keeps every acknowledged write', async () => {
    const dir = freshDir();
    const tokenFile = path.join(root, `token-${n++}`);
    fs.writeFileSync(tokenFile, 'sigterm-test-token\n');
    const { url, child, exited, stderr } = await startCli(['--dir', dir, '--dim', String(DIM), '--durability', 'always', '--token-file', tokenFile]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const auth = { authorization: 'Bearer sigterm-test-token' };

    const acknowledged = new Map<number, string>();
    let signalled = false;
    // Writers and searchers in parallel, each until the server stops answering (bounded either way).
    const writer = async (w: number) => {
      for (let i = 0; i < 500; i++) {
        const text = `writer ${w} item ${i}`;
        try {
          const answer = await call(url, 'POST', '/memories', { embedding: vectors[(w * 7 + i) % vectors.length], text, metadata: { w, i } }, auth);
          if (answer.status !== 200) return;
          acknowledged.set(answer.body.ids[0], text);
        } catch {
          return; // the server has stopped listening
        }
        if (!signalled && acknowledged.size >= 60) {
          signalled = true;
          child.kill('SIGTERM');
        }
      }
    };
    const searcher = async () => {
      for (let i = 0; i < 500; i++) {
        try {
          const answer = await call(url, 'POST', '/search', { vector: vectors[i % vectors.length], topK: 3 }, auth);
          if (answer.status !== 200) return;
        } catch {
          return;
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(writer).concat([searcher(), searcher()]));
    expect(signalled).toBe(true);
    expect(await exited).toBe(0);
    expect(stderr()).toMatch(/"message":"shutting down"/);
    expect(stderr()).toMatch(/"message":"stopped"/);

    const reopened = await OVMemory.open(dir, { logLevel: 'silent', threads: 0 });
    stores.push(reopened);
    expect(acknowledged.size).toBeGreaterThanOrEqual(60);
    for (const [id, text] of acknowledged) expect(reopened.get(id)?.text).toBe(text);
  });
});

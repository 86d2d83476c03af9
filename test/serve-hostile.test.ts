// A hostile-request run against the real `ov-memory serve` on a loopback port: malformed HTTP over raw
// sockets, bodies that are too big, too deep, too slow or poisoned, batches that ask for too much, and
// ordinary requests between them. Every answer must have its status and the one error shape, carry no
// stack and no filesystem path, and leave the service up with /healthz at most WARNING. Bounded: a
// fixed list of requests, timeouts of a second or two.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomVectors } from './helpers/data.js';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
const DIM = 8;
const vectors = randomVectors(30, DIM, 14).map((v) => Array.from(v));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-hostile-'));
const REQUEST_TIMEOUT_MS = 1_500;

let child: ReturnType<typeof spawn>;
let exited: Promise<number | null>;
let url: string;
let port: number;

beforeAll(async () => {
  child = spawn(process.execPath, [CLI, 'serve', '--dir', path.join(root, 'store'), '--dim', String(DIM), '--port', '0', '--threads', '0',
    '--body-limit', '65536', '--max-batch-hits', '200', '--max-answer-mb', '1', '--request-timeout-ms', String(REQUEST_TIMEOUT_MS),
    '--headers-timeout-ms', '1000', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.stderr!.resume();
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', () => reject(new Error('the service exited before listening')));
  });
  port = Number(new URL(url).port);
});
afterAll(async () => {
  if (child.exitCode === null) child.kill('SIGKILL');
  await exited;
  fs.rmSync(root, { recursive: true, force: true });
});

interface Answer { status: number; contentType: string; body: string }

/** Writes `send` on a fresh connection (or lets `send` drive it) and reads one answer until the server closes or answers it whole. */
function raw(send: string | ((socket: net.Socket) => void)): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    const done = () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
      resolve({ status, contentType: /^content-type: *(.*)$/im.exec(head)?.[1] ?? '', body: rest.join('\r\n\r\n') });
    };
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      data += d;
      const length = /^content-length: *(\d+)$/im.exec(data)?.[1];
      const bodyStart = data.indexOf('\r\n\r\n');
      if (length !== undefined && bodyStart >= 0 && Buffer.byteLength(data.slice(bodyStart + 4)) >= Number(length)) {
        socket.destroy();
        done();
      }
    });
    socket.on('close', done);
    socket.on('error', (error) => (data === '' ? reject(error) : done()));
    if (typeof send === 'string') socket.write(send);
    else send(socket);
  });
}

/** A whole request with a JSON body as raw bytes. */
function post(route: string, body: string, headers = 'Content-Type: application/json\r\n'): string {
  return `POST ${route} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
}
const get = (route: string) => `GET ${route} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`;

/** Sends headers for a body of `length` bytes, then one byte every 100 ms: never finishing in time. */
const trickle = (length: number) => (socket: net.Socket) => {
  socket.write(`POST /search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n`);
  const timer = setInterval(() => (socket.writable ? socket.write(' ') : clearInterval(timer)), 100);
  socket.on('close', () => clearInterval(timer));
};
const slowHeaders = (socket: net.Socket) => {
  socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
  const timer = setInterval(() => (socket.writable ? socket.write('X-Slow: 1\r\n') : clearInterval(timer)), 100);
  socket.on('close', () => clearInterval(timer));
};

const memory = (i: number, extra = {}) => JSON.stringify({ embedding: vectors[i], text: `memory ${i}`, ...extra });
let deep = '1';
for (let i = 0; i < 10_000; i++) deep = `{"a":${deep}}`;

/** [name, request, expected status, expected error code (undefined: a success)] */
const CASES: [string, string | ((socket: net.Socket) => void), number, string | undefined][] = [
  ['an ordinary add', post('/memories', memory(0)), 200, undefined],
  ['a bad chunk size', 'POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n', 400, 'INVALID_DATA'],
  ['Content-Length with Transfer-Encoding', 'POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'INVALID_DATA'],
  ['two Content-Length headers', 'POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', 400, 'INVALID_DATA'],
  ['a junk request line', 'HELLO THERE\r\n\r\n', 400, 'INVALID_DATA'],
  ['binary garbage', '\u0000\u0001\u0002\u00ff\r\n\r\n', 400, 'INVALID_DATA'],
  ['a header over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`, 431, 'INVALID_DATA'],
  ['an id over 100 characters', get(`/memories/${'9'.repeat(150)}`), 414, 'INVALID_DATA'],
  ['a non-canonical id', get('/memories/01'), 400, 'INVALID_DATA'],
  ['a bad percent-encoding', get('/memories/%zz'), 400, 'INVALID_DATA'],
  ['an unknown route', get('/etc/passwd'), 404, 'NOT_FOUND'],
  ['a path that climbs', get('/../../etc/passwd'), 404, 'NOT_FOUND'],
  ['a wrong method', 'PUT /search HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n', 404, 'NOT_FOUND'],
  ['an ordinary search', post('/search', JSON.stringify({ vector: vectors[1] })), 200, undefined],
  ['malformed JSON', post('/search', '{"vector": [1, 2'), 400, 'INVALID_DATA'],
  ['an empty JSON body', post('/search', ''), 400, 'INVALID_DATA'],
  ['a body that is not JSON', post('/search', 'vector=1', 'Content-Type: text/plain\r\n'), 415, 'INVALID_DATA'],
  ['a form body', post('/search', 'vector=1', 'Content-Type: application/x-www-form-urlencoded\r\n'), 415, 'INVALID_DATA'],
  ['a body without a content type', post('/search', '{}', ''), 415, 'INVALID_DATA'],
  ['a __proto__ key', post('/search', `{"vector": ${JSON.stringify(vectors[1])}, "__proto__": {"isAdmin": true}}`), 400, 'INVALID_DATA'],
  ['constructor.prototype in a filter', post('/search', `{"vector": ${JSON.stringify(vectors[1])}, "filter": {"constructor": {"prototype": {"x": 1}}}}`), 400, 'INVALID_DATA'],
  ['JSON nested 10,000 deep', post('/memories', `{"embedding": ${JSON.stringify(vectors[2])}, "text": "deep", "metadata": ${deep}}`), 400, 'INVALID_DATA'],
  ['a body over the limit', post('/memories', JSON.stringify({ memories: Array.from({ length: 600 }, (_, i) => ({ embedding: vectors[i % 30], text: `m${i}` })) })), 413, 'INVALID_DATA'],
  ['a batch over --max-batch-hits', post('/search/batch', JSON.stringify({ vectors: Array.from({ length: 21 }, (_, i) => vectors[i]), topK: 10 })), 413, 'INVALID_DATA'],
  ['an infinite vector value', post('/search', `{"vector": [1e400${',0'.repeat(DIM - 1)}]}`), 400, 'INVALID_DATA'],
  ['a vector of the wrong dimension', post('/search', '{"vector": [1, 2]}'), 400, 'INVALID_DATA'],
  ['a wrong type', post('/search', '{"vector": "all of them"}'), 400, 'INVALID_DATA'],
  ['an unknown memory', get('/memories/4000000000'), 404, 'NOT_FOUND'],
  ['a body trickled past the request timeout', trickle(1_000), 408, 'TIMEOUT'],
  ['headers trickled past their timeout', slowHeaders, 408, 'TIMEOUT'],
  ['an ordinary context', post('/context', JSON.stringify({ vector: vectors[3] })), 200, undefined],
  ['an ordinary batch', post('/search/batch', JSON.stringify({ vectors: vectors.slice(0, 4) })), 200, undefined],
  ['an ordinary get', get('/memories/0'), 200, undefined],
];

describe('ov-memory serve under hostile requests', () => {
  it.each(CASES)('%s', async (_name, request, status, code) => {
    const answer = await raw(request);
    expect(answer.status).toBe(status);
    expect(answer.contentType).toMatch(/^application\/json/);
    const body = JSON.parse(answer.body);
    if (code === undefined) {
      expect(body).not.toHaveProperty('error');
    } else {
      expect(body).toEqual({ error: { code, message: expect.any(String) } });
      expect(body.error.message.length).toBeLessThan(400);
    }
    expect(answer.body).not.toMatch(/\n\s+at |\bat .*:\d+:\d+/);
    expect(answer.body).not.toContain(root);
    expect(answer.body).not.toMatch(/\/(tmp|work|home|usr|etc\/passwd)\/|node_modules|file:\/\//);
  });

  it('is still up and at most WARNING afterwards, and stops cleanly', async () => {
    const health = await raw(get('/healthz'));
    expect(health.status).toBe(200);
    expect(['HEALTHY', 'WARNING']).toContain(JSON.parse(health.body).status);
    const hits = JSON.parse((await raw(post('/search', JSON.stringify({ vector: vectors[0], topK: 1 })))).body).hits;
    expect(hits.map((h: { id: number }) => h.id)).toEqual([0]);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

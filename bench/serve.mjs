// `ov-memory serve` under load: POST /search (top 10 by priority) over HTTP on 127.0.0.1, with
// autocannon, against the same searches in-process. Settings: N = 100,000 × d = 768 (seed 42), 64
// distinct queries cycled by every connection, 10 s per run at 1 and at 8 connections. The store is
// built in-process in a temp dir, then served by the real command (`node dist/cli.js serve`) in a
// child process, so the load generator does not share the server's event loop (it does share the
// machine's cores). Run with `npm run build && node bench/serve.mjs`; writes bench/out/serve.md.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { OVMemory } from '../dist/index.js';
import { corpus } from './lib.mjs';

const N = 100_000, DIM = 768, QUERIES = 64, SEED = 42, TOP_K = 10, DURATION_S = 10;
const CONNECTIONS = [1, 8];

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-bench-serve-'));
const dir = path.join(root, 'store');
const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

const { data, queries } = corpus(N, DIM, QUERIES, SEED);
const memory = await OVMemory.open(dir, { dim: DIM, durability: 'none', logLevel: 'error' });
for (let i = 0; i < N; i += 10_000) {
  memory.addMany(Array.from({ length: Math.min(10_000, N - i) }, (_, j) => ({
    embedding: data.subarray((i + j) * DIM, (i + j + 1) * DIM), text: `memory ${i + j}`,
  })), { link: 'none' });
}
// The in-process baseline: the same queries, one at a time, after a warm-up pass.
for (const q of queries) await memory.search(q, { topK: TOP_K });
const inProcess = [];
for (let r = 0; r < 3; r++) {
  for (const q of queries) {
    const t = performance.now();
    await memory.search(q, { topK: TOP_K });
    inProcess.push(performance.now() - t);
  }
}
inProcess.sort((a, b) => a - b);
await memory.checkpoint();   // the server then loads a snapshot instead of replaying the log
await memory.close();

const server = spawn(process.execPath, ['dist/cli.js', 'serve', '--dir', dir, '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
const exited = new Promise((resolve) => server.on('exit', resolve));
let serverLog = '';
server.stderr.on('data', (d) => { serverLog += d; });
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.split('\n')[0]); });
  server.on('exit', (code) => reject(new Error(`the server exited with ${code} before listening:\n${serverLog}`)));
});

const requests = queries.map((q) => ({
  method: 'POST', path: '/search', headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ vector: Array.from(q), topK: TOP_K }),
}));
// A short warm-up, so the first run does not pay for connection set-up and JIT.
await autocannon({ url, connections: 2, duration: 2, requests });
const runs = [];
for (const connections of CONNECTIONS) {
  const result = await autocannon({ url, connections, duration: DURATION_S, requests });
  runs.push({ connections, result });
}
server.kill('SIGTERM');
const exitCode = await exited;
fs.rmSync(root, { recursive: true, force: true });

const lines = [
  `Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}. Command: \`node bench/serve.mjs\`.`,
  `Store: ${N.toLocaleString('en')} × ${DIM} (seed ${SEED}), served by \`ov-memory serve\` (threads 'auto'); POST /search, topK ${TOP_K}, ${QUERIES} distinct queries (a ${(requests[0].body.length / 1024).toFixed(1)} KiB body each); ${DURATION_S} s per run.`,
  '',
  '| client | requests / s | p50 ms | p99 ms | 2xx | other | errors |',
  '|---|---:|---:|---:|---:|---:|---:|',
  `| in-process \`search\`, one at a time | ${(1000 / (inProcess.reduce((a, b) => a + b, 0) / inProcess.length)).toFixed(0)} | ${percentile(inProcess, 0.5).toFixed(2)} | ${percentile(inProcess, 0.99).toFixed(2)} | ${inProcess.length} | 0 | 0 |`,
  ...runs.map(({ connections, result: r }) =>
    `| HTTP, ${connections} connection${connections > 1 ? 's' : ''} | ${r.requests.average.toFixed(0)} | ${r.latency.p50.toFixed(2)} | ${r.latency.p99.toFixed(2)} | ${r['2xx']} | ${r.non2xx} | ${r.errors + r.timeouts} |`),
  '',
  `The server exited with code ${exitCode} on SIGTERM.`,
];
fs.mkdirSync('bench/out', { recursive: true });
fs.writeFileSync('bench/out/serve.md', `${lines.join('\n')}\n`);
console.log(lines.join('\n'));

// The durable store: add throughput under each durability mode, and snapshot write and load time
// against a plain chunked read of the same number of bytes; size on disk against the raw vectors.
// Settings: d = 768; 2,000 single adds per mode; snapshot sizes from DURABLE_SIZES (default 100000;
// e.g. DURABLE_SIZES=100000,1000000). Each figure is the median of 3 runs; run with `node bench/durable.mjs`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { mkdirSync, writeFileSync } from 'node:fs';
import { OVMemory } from '../dist/index.js';
import { corpus } from './lib.mjs';

const DIM = 768, ADDS = 2_000;
const SIZES = (process.env.DURABLE_SIZES ?? '100000').split(',').map(Number);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-bench-'));
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const lines = [`Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}. Command: \`node bench/durable.mjs\` (DURABLE_SIZES=${SIZES.join(',')}).`, ''];

const { data } = corpus(Math.max(...SIZES, ADDS), DIM, 1, 42);
const row = (i) => data.subarray(i * DIM, (i + 1) * DIM);

lines.push('| durability | adds / s | µs / add |', '|---|---:|---:|');
const inMemory = await OVMemory.create({ dim: DIM, threads: 0, logLevel: 'error' });
let t = performance.now();
for (let i = 0; i < ADDS; i++) inMemory.add({ embedding: row(i), text: `memory ${i}` });
let us = ((performance.now() - t) * 1000) / ADDS;
lines.push(`| in memory (create) | ${(1e6 / us).toFixed(0)} | ${us.toFixed(1)} |`);
await inMemory.close();
for (const durability of ['none', 'batch', 'always']) {
  const memory = await OVMemory.open(path.join(root, durability), { dim: DIM, durability, threads: 0, logLevel: 'error' });
  t = performance.now();
  for (let i = 0; i < ADDS; i++) memory.add({ embedding: row(i), text: `memory ${i}` });
  us = ((performance.now() - t) * 1000) / ADDS;
  lines.push(`| ${durability} | ${(1e6 / us).toFixed(0)} | ${us.toFixed(1)} |`);
  await memory.close();
}

lines.push('', '| N × 768 | snapshot bytes | raw vector bytes | checkpoint ms | open ms | chunked read ms | open / read |', '|---:|---:|---:|---:|---:|---:|---:|');
for (const n of SIZES) {
  const dir = path.join(root, `snap-${n}`);
  const memory = await OVMemory.open(dir, { dim: DIM, maxNodes: n, maxMemoryMB: Math.min(4095, Math.ceil((n * DIM * 4 * 1.2) / 2 ** 20) + 64), durability: 'none', threads: 0, logLevel: 'error' });
  for (let i = 0; i < n; i += 10_000) {
    memory.addMany(Array.from({ length: Math.min(10_000, n - i) }, (_, j) => ({ embedding: row(i + j), text: `memory ${i + j}` })), { link: 'none' });
  }
  const writes = [];
  for (let r = 0; r < 3; r++) { t = performance.now(); await memory.checkpoint(); writes.push(performance.now() - t); }
  await memory.close();
  const snap = fs.readdirSync(dir).find((f) => f.startsWith('snap.'));
  const bytes = fs.statSync(path.join(dir, snap)).size;
  const opens = [], reads = [];
  for (let r = 0; r < 3; r++) {
    t = performance.now();
    const m = await OVMemory.open(dir, { maxNodes: n, maxMemoryMB: Math.min(4095, Math.ceil((n * DIM * 4 * 1.2) / 2 ** 20) + 64), threads: 0, logLevel: 'error' });
    opens.push(performance.now() - t);
    await m.close();
    t = performance.now();
    const fd = fs.openSync(path.join(dir, snap), 'r');
    const buffer = new Uint8Array(bytes);
    for (let at = 0; at < bytes; ) at += fs.readSync(fd, buffer, at, Math.min(bytes - at, 64 * 2 ** 20), at);
    fs.closeSync(fd);
    reads.push(performance.now() - t);
  }
  lines.push(`| ${n.toLocaleString('en')} | ${bytes.toLocaleString('en')} | ${(n * DIM * 4).toLocaleString('en')} | ${median(writes).toFixed(0)} | ${median(opens).toFixed(0)} | ${median(reads).toFixed(0)} | ${(median(opens) / median(reads)).toFixed(1)} |`);
}
fs.rmSync(root, { recursive: true, force: true });
mkdirSync('bench/out', { recursive: true });
writeFileSync('bench/out/durable.md', `${lines.join('\n')}\n`);
console.log(lines.join('\n'));

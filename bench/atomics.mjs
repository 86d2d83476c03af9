// piscina's `atomics` modes side by side for the pool's scans: the same store and queries, one
// search at a time (the dispatch cost matters most for small scans) and 8 at once.
// Settings: d = 768, N ∈ {20,000, 100,000}, k = 10, seed 42, pool of all cores; median of 5 runs of 40 searches.
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { OVMemory } from '../dist/index.js';
import { corpus } from './lib.mjs';

const DIM = 768, THREADS = os.availableParallelism();
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const lines = ['| N | atomics | one at a time, ms/search | 8 concurrent, ms/search |', '|---:|---|---:|---:|'];
for (const n of [20_000, 100_000]) {
  const { data, queries } = corpus(n, DIM, 16, 42);
  for (const atomics of ['sync', 'async', 'disabled']) {
    const memory = await OVMemory.create({ dim: DIM, maxNodes: n, threads: THREADS, logLevel: 'error', internal: { poolMinRows: 0, atomics } });
    memory.addMany(Array.from({ length: n }, (_, i) => ({ embedding: data.subarray(i * DIM, (i + 1) * DIM), text: 't' })), { link: 'none' });
    for (let i = 0; i < 10; i++) await memory.search(queries[i % 16], { topK: 10 });
    const serial = [], concurrent = [];
    for (let r = 0; r < 5; r++) {
      let t = performance.now();
      for (let i = 0; i < 40; i++) await memory.search(queries[i % 16], { topK: 10, rank: 'similarity' });
      serial.push((performance.now() - t) / 40);
      t = performance.now();
      for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 8 }, (_, j) => memory.search(queries[(i + j) % 16], { topK: 10, rank: 'similarity' })));
      concurrent.push((performance.now() - t) / 40);
    }
    const line = `| ${n.toLocaleString('en')} | ${atomics} | ${median(serial).toFixed(3)} | ${median(concurrent).toFixed(3)} |`;
    console.log(line);
    lines.push(line);
    await memory.close();
  }
}
mkdirSync('bench/out', { recursive: true });
writeFileSync('bench/out/atomics.md', `${lines.join('\n')}\n`);

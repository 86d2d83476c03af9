// Where the worker pool starts to beat the calling thread: the same store size scanned inline and
// by the pool, side by side, for a sweep of sizes. The crossover sets DEFAULTS.poolMinRows.
// Settings: d ∈ {384, 768}, N from 1,024 to 131,072, k = 10, seed 7, similarity ranking.
import os from 'node:os';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { OVMemory } from '../dist/index.js';
import { corpus } from './lib.mjs';

const Benchmark = createRequire(import.meta.url)('benchmark');
const THREADS = os.availableParallelism();

function measure(fn) {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark({
      defer: true, minSamples: 10, maxTime: 1,
      fn: (d) => { fn().then(() => d.resolve(), reject); },
      onComplete: () => resolve(bench.stats.mean * 1000),
    });
    bench.run({ async: true });
  });
}

const lines = ['| d | N | inline ms | pool ms | pool / inline |', '|---:|---:|---:|---:|---:|'];
for (const dim of [384, 768]) {
  const { data, queries } = corpus(131_072, dim, 8, 7);
  for (let n = 1024; n <= 131_072; n *= 2) {
    const times = {};
    for (const [name, threads] of [['inline', 0], ['pool', THREADS]]) {
      const memory = await OVMemory.create({ dim, threads, logLevel: 'error', internal: { poolMinRows: 0 } });
      memory.addMany(Array.from({ length: n }, (_, i) => ({ embedding: data.subarray(i * dim, (i + 1) * dim), text: 't' })), { link: 'none' });
      let q = 0;
      await memory.search(queries[0], { topK: 10 });
      times[name] = await measure(() => memory.search(queries[q++ % queries.length], { topK: 10, rank: 'similarity' }));
      await memory.close();
    }
    const line = `| ${dim} | ${n.toLocaleString('en')} | ${times.inline.toFixed(3)} | ${times.pool.toFixed(3)} | ${(times.pool / times.inline).toFixed(2)} |`;
    console.log(line);
    lines.push(line);
  }
}
mkdirSync('bench/out', { recursive: true });
writeFileSync('bench/out/threshold.md', `${lines.join('\n')}\n`);

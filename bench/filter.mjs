// Filtered search against unfiltered search, side by side, at N = 100,000 × d = 768, k = 10: the
// filter's selectivity 1 %, 10 % and 50 % (a `bucket < s` range and a `kind` equality), with the
// mask build (turning the filter into a bitset over ids) timed on its own.
// Settings: corpus seed 42, 20 queries, pool of all cores, benchmark.js, at least 10 samples.
import os from 'node:os';
import { createRequire } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { OVMemory } from '../dist/index.js';
import { MetadataIndex } from '../dist/internal.js';
import { corpus } from './lib.mjs';

const Benchmark = createRequire(import.meta.url)('benchmark');
const N = 100_000, DIM = 768, K = 10;

function measure(fn) {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark({
      defer: true, minSamples: 10, maxTime: 2,
      fn: (d) => { Promise.resolve(fn()).then(() => d.resolve(), reject); },
      onComplete: () => resolve(bench.stats.mean * 1000),
    });
    bench.run({ async: true });
  });
}

const { data, queries } = corpus(N, DIM, 20, 42);
const kinds = Array.from({ length: 100 }, (_, i) => `kind-${i}`);
const metadata = (i) => ({ bucket: i % 100, kind: kinds[(i * 7) % 100] });
const memory = await OVMemory.create({ dim: DIM, maxNodes: N, logLevel: 'error', threads: os.availableParallelism() });
for (let i = 0; i < N; i += 50_000) {
  memory.addMany(Array.from({ length: 50_000 }, (_, j) => ({ embedding: data.subarray((i + j) * DIM, (i + j + 1) * DIM), text: 't', metadata: metadata(i + j) })), { link: 'none' });
}
const index = new MetadataIndex(undefined);
for (let i = 0; i < N; i++) index.add(i, metadata(i));

let q = 0;
const next = () => queries[q++ % queries.length];
const unfiltered = await measure(() => memory.search(next(), { topK: K, rank: 'similarity' }));
const lines = [
  `Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}. Command: \`node bench/filter.mjs\`. N = 100,000, d = 768, k = 10.`,
  '', `Unfiltered search: ${unfiltered.toFixed(3)} ms.`, '',
  '| filter | selectivity | mask build ms | filtered search ms | filtered / unfiltered |', '|---|---:|---:|---:|---:|',
];
for (const [name, filter, selectivity] of [
  ['bucket < 1', { bucket: { $lt: 1 } }, 0.01], ['bucket < 10', { bucket: { $lt: 10 } }, 0.1], ['bucket < 50', { bucket: { $lt: 50 } }, 0.5],
  ['kind = one of 100', { kind: 'kind-3' }, 0.01], ['kind $in 10 of 100', { kind: { $in: kinds.slice(0, 10) } }, 0.1],
]) {
  const build = await measure(() => index.match(filter, N));
  const filtered = await measure(() => memory.search(next(), { topK: K, rank: 'similarity', filter }));
  const line = `| \`${name}\` | ${(selectivity * 100).toFixed(0)} % | ${build.toFixed(3)} | ${filtered.toFixed(3)} | ${(filtered / unfiltered).toFixed(2)} |`;
  console.log(line);
  lines.push(line);
}
await memory.close();
mkdirSync('bench/out', { recursive: true });
writeFileSync('bench/out/filter.md', `${lines.join('\n')}\n`);

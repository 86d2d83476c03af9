// An int8 store past WebAssembly's 4 GiB of float32: rows of the bench's kind of mixture (100
// clusters, unit rows, seed 42) generated a chunk at a time straight into the store, so no copy of
// the corpus is alive; at each size the cost per query (pool of all cores, int8 + exact rerank) and
// recall@10 against a float64 scan kept up while the rows were generated; the resident size against
// the float32 bytes. Settings: d = 768, sizes from QUANT_SIZES (default 10000,100000,1000000,2000000),
// 10 queries. Run alone with `node bench/quantized-large.mjs` (2M rows: about 8 GB resident).
import fs from 'node:fs';
import os from 'node:os';
import { OVMemory } from '../dist/index.js';
import { random } from './lib.mjs';

const DIM = 768, K = 10, QUERIES = 10, CHUNK = 16_384;
const SIZES = (process.env.QUANT_SIZES ?? '10000,100000,1000000,2000000').split(',').map(Number);
const N = Math.max(...SIZES);

const gaussian = (rand) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const normalise = (v) => { let s = 0; for (const x of v) s += x * x; const inv = 1 / Math.sqrt(s); for (let i = 0; i < v.length; i++) v[i] *= inv; return v; };

const rand = random(42), queryRand = random(43);
const centres = Array.from({ length: 100 }, () => Float32Array.from({ length: DIM }, () => gaussian(rand)));
const queries = Array.from({ length: QUERIES }, () => normalise(Float32Array.from(centres[Math.floor(queryRand() * 100)], (x) => x + 0.5 * gaussian(queryRand))));
/** Each query's float64 top k so far, as [score, id] sorted descending. */
const best = queries.map(() => []);

const memory = await OVMemory.create({
  dim: DIM, quantization: 'int8', maxNodes: N, maxMemoryMB: Math.min(4095, Math.ceil((N * 830) / 2 ** 20) + 256), logLevel: 'error',
});
const lines = [
  `Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}. Command: \`node bench/quantized-large.mjs\` (QUANT_SIZES=${SIZES.join(',')}).`,
  '',
  '| N × 768 | float32 bytes | ms / query (int8 + rerank, pool) | recall@10 | resident (RSS) | RSS / float32 bytes |',
  '|---:|---:|---:|---:|---:|---:|',
];
const chunk = new Float32Array(CHUNK * DIM);
let added = 0;
for (const size of SIZES.sort((a, b) => a - b)) {
  while (added < size) {
    const rows = Math.min(CHUNK, size - added);
    for (let i = 0; i < rows; i++) {
      const centre = centres[Math.floor(rand() * 100)], row = chunk.subarray(i * DIM, (i + 1) * DIM);
      for (let j = 0; j < DIM; j++) row[j] = centre[j] + 0.5 * gaussian(rand);
      normalise(row);
    }
    queries.forEach((q, qi) => {
      const list = best[qi];
      for (let i = 0; i < rows; i++) {
        let s = 0;
        for (let j = 0, o = i * DIM; j < DIM; j++) s += q[j] * chunk[o + j];
        if (list.length < K || s > list[K - 1][0]) {
          list.push([s, added + i]);
          list.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
          if (list.length > K) list.pop();
        }
      }
    });
    memory.addMany(Array.from({ length: rows }, (_, i) => ({ embedding: chunk.subarray(i * DIM, (i + 1) * DIM), text: 't' })), { link: 'none' });
    added += rows;
  }
  let found = 0;
  for (const [qi, q] of queries.entries()) {
    const ids = new Set((await memory.search(q, { topK: K, rank: 'similarity' })).map((h) => h.id));
    found += best[qi].filter(([, id]) => ids.has(id)).length;
  }
  const times = [];
  for (let r = 0; r < 3; r++) for (const q of queries) {
    const t = performance.now();
    await memory.search(q, { topK: K, rank: 'similarity' });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const rss = process.memoryUsage().rss, floatBytes = size * DIM * 4;
  lines.push(`| ${size.toLocaleString('en')} | ${(floatBytes / 1e9).toFixed(2)} GB | ${times[times.length >> 1].toFixed(2)} | ${(found / (K * QUERIES)).toFixed(3)} | ${(rss / 1e9).toFixed(2)} GB | ${(rss / floatBytes).toFixed(2)} |`);
  console.log(lines.at(-1));
}
await memory.close();
fs.mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
fs.writeFileSync(new URL('./out/quantized-large.md', import.meta.url), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));

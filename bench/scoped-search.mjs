// What a scoped search costs beside a full search of the same store, through the public API.
//
//   npm run build && node bench/scoped-search.mjs [N] [DIM]     (default 100,000 × 768; results: bench/out/scoped-search.json)
//
// The store: N random unit vectors in one store, scoped so that `{ user: 'one' }` holds 1 % of them,
// `{ agent: 'ten' }` 10 % and `{ session: 'half' }` 50 %, spread evenly over the ids (the worst case
// for skipping: every segment holds members). Queries: 40 random vectors, each searched (topK 10,
// rank 'similarity') unscoped and in each scope, interleaved, 3 passes; medians, and each scope as a
// ratio to the full search of the same run. The pool scans (threads 'auto').
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';

import { OVMemory } from '../dist/index.js';

const N = Number(process.argv[2] ?? 100_000);
const DIM = Number(process.argv[3] ?? 768);
let seed = 7;
const rand = () => ((seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32) - 0.5;
const vector = () => Float32Array.from({ length: DIM }, rand);

const memory = await OVMemory.create({ dim: DIM, maxMemoryMB: 4000, logLevel: 'error' });
const BATCH = 5_000;
for (let start = 0; start < N; start += BATCH) {
  memory.addMany(Array.from({ length: Math.min(BATCH, N - start) }, (_, j) => {
    const id = start + j;
    const scope = {};
    if (id % 100 === 0) scope.user = 'one';
    if (id % 10 === 0) scope.agent = 'ten';
    if (id % 2 === 0) scope.session = 'half';
    return { embedding: vector(), text: `memory ${id}`, ...(Object.keys(scope).length ? { scope } : {}) };
  }), { link: 'none' });
}
const cases = { full: undefined, '1 %': { user: 'one' }, '10 %': { agent: 'ten' }, '50 %': { session: 'half' } };
const queries = Array.from({ length: 40 }, vector);
const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const q of queries.slice(0, 5)) for (const scope of Object.values(cases)) await memory.search(q, { topK: 10, rank: 'similarity', scope });
for (let pass = 0; pass < 3; pass++) {
  for (const q of queries) {
    for (const [name, scope] of Object.entries(cases)) {
      const t0 = performance.now();
      await memory.search(q, { topK: 10, rank: 'similarity', scope });
      times[name].push(performance.now() - t0);
    }
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const full = median(times.full);
const results = Object.fromEntries(Object.entries(times).map(([name, t]) => [name, { medianMs: Number(median(t).toFixed(3)), ratioToFull: Number((median(t) / full).toFixed(3)) }]));
const report = { cpu: cpus()[0]?.model, cores: cpus().length, n: N, dim: DIM, executor: memory.executor, results };
console.log(JSON.stringify(report, null, 2));
mkdirSync(new URL('out/', import.meta.url), { recursive: true });
writeFileSync(new URL('out/scoped-search.json', import.meta.url), JSON.stringify(report, null, 2));
await memory.close();

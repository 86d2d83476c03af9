// Exact top-k scan, side by side in one run: a plain JavaScript loop, scalar WASM, SIMD WASM on one
// thread, the worker pool, searchMany with a batch of 200, the peers (usearch, hnswlib-node) when
// installed, and a memory-bandwidth probe. Writes bench/out/scan.json and the table in bench/RESULTS.md.
//
// Settings: corpus = a Gaussian mixture of 100 clusters, unit length, float32, seed 42; k = 10;
// 20 queries from the same mixture; sizes from BENCH_SIZES (default below), e.g.
// BENCH_SIZES=100000x768 npm run bench. Timing: benchmark.js, at least 5 samples a case.
import { createRequire } from 'node:module';
import os from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { OVMemory } from '../dist/index.js';
import { bandwidthProbe, corpus, jsTopK, recallAt } from './lib.mjs';

const require = createRequire(import.meta.url);
const Benchmark = require('benchmark');

const SIZES = (process.env.BENCH_SIZES ?? '10000x384,10000x768,100000x384,100000x768,1000000x384,1000000x768')
  .split(',').map((s) => s.split('x').map(Number));
const K = 10, BATCH = 200, QUERIES = 20, SEED = 42;
const THREADS = os.availableParallelism();

async function optional(name) {
  try { return await import(name); } catch { return undefined; }
}
const usearch = await optional('usearch');
const hnswlib = await optional('hnswlib-node');

/** ms per call of an async function, by benchmark.js. */
function measure(name, fn, { maxTime = 2 } = {}) {
  return new Promise((resolve, reject) => {
    const bench = new Benchmark(name, {
      defer: true,
      minSamples: 5,
      maxTime,
      fn: (deferred) => { Promise.resolve(fn()).then(() => deferred.resolve(), reject); },
      onComplete: () => resolve(bench.stats.mean * 1000),
      onError: (e) => reject(e.target?.error ?? e),
    });
    bench.run({ async: true });
  });
}

const rows = [];
for (const [n, dim] of SIZES) {
  const bytes = n * dim * 4;
  console.log(`\n== N = ${n.toLocaleString()}, d = ${dim} (${(bytes / 1e9).toFixed(2)} GB) ==`);
  const { data, queries } = corpus(n, dim, QUERIES, SEED);
  const pick = (() => { let i = 0; return () => queries[i++ % queries.length]; })();
  const results = {};
  const record = (name, ms, perQuery = ms) => {
    results[name] = perQuery;
    console.log(`${name.padEnd(28)} ${perQuery.toFixed(3).padStart(10)} ms/query  ${(bytes / perQuery / 1e6).toFixed(1).padStart(7)} GB/s`);
  };

  const slow = n * dim > 5e7;
  record('js loop (1 accumulator)', await measure('js', () => jsTopK(data, n, dim, pick(), K), { maxTime: slow ? 4 : 2 }));

  const probe = await bandwidthProbe(Math.min(bytes, 1 << 30), THREADS);
  results['bandwidth 1 thread GB/s'] = probe.oneThread;
  results[`bandwidth ${THREADS} threads GB/s`] = probe.allThreads;
  console.log(`bandwidth probe: ${probe.oneThread.toFixed(1)} GB/s on 1 thread, ${probe.allThreads.toFixed(1)} GB/s on ${THREADS}`);

  for (const [name, options] of [
    ['scalar wasm, 1 thread', { threads: 0, internal: { kernel: 'scalar' } }],
    ['simd wasm, 1 thread', { threads: 0 }],
    [`pool, ${THREADS} threads`, { threads: THREADS, internal: { poolMinRows: 0 } }],
  ]) {
    const memory = await OVMemory.create({ dim, maxNodes: n, maxMemoryMB: Math.min(4095, Math.ceil((bytes * 1.1) / 2 ** 20) + 64), logLevel: 'error', ...options });
    for (let i = 0; i < n; i += 50_000) {
      const end = Math.min(n, i + 50_000);
      memory.addMany(Array.from({ length: end - i }, (_, j) => ({
        embedding: data.subarray((i + j) * dim, (i + j + 1) * dim), text: 't', createdAt: 0,
      })), { link: 'none' });
    }
    record(name, await measure(name, () => memory.search(pick(), { topK: K, rank: 'similarity' })));
    if (name.startsWith('simd') && n <= 100_000) {
      const recall = await recallAt(memory, data, n, dim, queries.slice(0, 5), K);
      results['recall@10 vs float64'] = recall;
      console.log(`recall@10 of the SIMD scan against a float64 scan: ${recall}`);
    }
    if (name.startsWith('pool')) {
      record(`pool, priority ranking`, await measure('priority', () => memory.search(pick(), { topK: K, rank: 'priority' })));
      const batch = Array.from({ length: BATCH }, (_, i) => queries[i % queries.length]);
      const ms = await measure('batch', () => memory.searchMany(batch, { topK: K, rank: 'similarity' }), { maxTime: slow ? 6 : 3 });
      record(`searchMany ×${BATCH}, pool`, ms, ms / BATCH);
    }
    await memory.close();
    globalThis.gc?.();
  }

  if (n === 100_000) {
    // Everything a search does besides scanning rows (validation, normalising the query, the slot,
    // the deadline, the merge, metrics, logs) is a fixed cost per call: measured on a 1-row store.
    const tiny = await OVMemory.create({ dim, threads: 0, logLevel: 'error' });
    tiny.add({ embedding: queries[0], text: 't' });
    results['fixed cost per search (1-row store)'] = await measure('fixed', () => tiny.search(pick(), { topK: K }));
    console.log(`fixed cost per search: ${results['fixed cost per search (1-row store)'].toFixed(4)} ms`);
    await tiny.close();
  }

  if (usearch) {
    const { exactSearch, MetricKind } = usearch;
    for (const threads of [1, THREADS]) {
      // usearch ignores a typed array's byte offset: pass copies, never subarrays.
      record(`usearch exactSearch, ${threads} thr`, await measure('usearch', () => exactSearch(data, pick().slice(), dim, K, MetricKind.IP, threads)));
    }
    const batch = new Float32Array(BATCH * dim);
    for (let i = 0; i < BATCH; i++) batch.set(queries[i % queries.length], i * dim);
    const ms = await measure('usearch batch', () => exactSearch(data, batch, dim, K, MetricKind.IP, THREADS), { maxTime: slow ? 6 : 3 });
    record(`usearch batch ×${BATCH}, ${THREADS} thr`, ms, ms / BATCH);
  } else console.log('usearch not installed: skipped');

  if (hnswlib && n <= 100_000) {
    const index = new hnswlib.default.BruteforceSearch('ip', dim);
    index.initIndex(n);
    for (let i = 0; i < n; i++) index.addPoint(Array.from(data.subarray(i * dim, (i + 1) * dim)), i);
    const arrays = queries.map((q) => Array.from(q));
    let qi = 0;
    record('hnswlib BruteforceSearch', await measure('hnswlib', () => index.searchKnn(arrays[qi++ % arrays.length], K)));
  } else if (!hnswlib) console.log('hnswlib-node not installed: skipped');

  rows.push({ n, dim, results });
}

mkdirSync('bench/out', { recursive: true });
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`;
writeFileSync('bench/out/scan.json', JSON.stringify({ machine, date: new Date().toISOString(), rows }, null, 2));
writeFileSync('bench/out/scan.md', table(rows, machine));
console.log(`\n${table(rows, machine)}`);

function table(all, machine) {
  const lines = [`Machine: ${machine}. Command: \`npm run bench\` (BENCH_SIZES=${process.env.BENCH_SIZES ?? 'default'}).`, ''];
  for (const { n, dim, results } of all) {
    const bytes = n * dim * 4, js = results['js loop (1 accumulator)'];
    lines.push(`### N = ${n.toLocaleString('en')}, d = ${dim}`, '', '| scan | ms / query | GB/s | × JS loop |', '|---|---:|---:|---:|');
    for (const [name, v] of Object.entries(results)) {
      if (name.includes('GB/s') || name.startsWith('recall') || name.startsWith('fixed')) continue;
      lines.push(`| ${name} | ${v.toFixed(3)} | ${(bytes / v / 1e6).toFixed(1)} | ${(js / v).toFixed(1)} |`);
    }
    const bw = results[`bandwidth ${THREADS} threads GB/s`];
    const pool = results[`pool, ${THREADS} threads`];
    const us = results[`usearch exactSearch, ${THREADS} thr`];
    lines.push('', `Bandwidth probe (f32x4 sum over ${(Math.min(bytes, 2 ** 30) / 1e9).toFixed(2)} GB): ${results['bandwidth 1 thread GB/s'].toFixed(1)} GB/s on 1 thread, ${bw.toFixed(1)} GB/s on ${THREADS}.`
      + ` The pool reaches ${((bytes / pool / 1e6 / bw) * 100).toFixed(0)} % of it`
      + (us ? `, ${(us / pool).toFixed(2)}× usearch's ${THREADS}-thread exact search.` : '.')
      + (results['recall@10 vs float64'] !== undefined ? ` Recall@10 against a float64 scan: ${results['recall@10 vs float64']}.` : '')
      + ` Priority ranking costs ${(((results['pool, priority ranking'] / pool) - 1) * 100).toFixed(1)} % over similarity ranking.`
      + (results['fixed cost per search (1-row store)'] !== undefined
        ? ` The fixed cost of a call (validation, metrics, logs, deadline, merge; measured on a 1-row store) is ${(results['fixed cost per search (1-row store)'] * 1000).toFixed(1)} µs, ${((results['fixed cost per search (1-row store)'] / pool) * 100).toFixed(2)} % of this search.`
        : ''), '');
  }
  return lines.join('\n');
}

// A durable int8 store past WebAssembly's 4 GiB of float32: rows of the bench's kind of mixture
// (100 clusters, unit rows, seed 42) generated a chunk at a time straight into a store opened with
// OVMemory.open in a temporary directory (removed at the end), so no copy of the corpus is alive.
// At each size: the insert rate, a checkpoint (the snapshot written block by block), the cost per
// query (pool of all cores, int8 + exact rerank) and recall@10 against a float64 scan kept up while
// the rows were generated, and the resident size against the float32 bytes. At the largest size the
// store is then closed and reopened (the snapshot read block by block), searched again (the same ids
// must come back). Creating and reopening each run in a process of their own (the reopen is a
// restart, and neither counts the other's memory); the peak resident size of each is reported.
// Settings: d = 768, sizes from QUANT_SIZES (default 10000,100000,1000000,2000000), 10 queries,
// durability 'batch'; the directory goes under QUANT_DIR (default the OS's temporary directory).
// Run alone with `node bench/quantized-large.mjs` (2M rows: about 8 GB resident, 20 GB of disk).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OVMemory } from '../dist/index.js';
import { random } from './lib.mjs';

const DIM = 768, K = 10, QUERIES = 10, CHUNK = 4096;
const SIZES = (process.env.QUANT_SIZES ?? '10000,100000,1000000,2000000').split(',').map(Number).sort((a, b) => a - b);
const N = Math.max(...SIZES);

const gaussian = (rand) => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
const normalise = (v) => { let s = 0; for (const x of v) s += x * x; const inv = 1 / Math.sqrt(s); for (let i = 0; i < v.length; i++) v[i] *= inv; return v; };

const rand = random(42), queryRand = random(43);
const centres = Array.from({ length: 100 }, () => Float32Array.from({ length: DIM }, () => gaussian(rand)));
const queries = Array.from({ length: QUERIES }, () => normalise(Float32Array.from(centres[Math.floor(queryRand() * 100)], (x) => x + 0.5 * gaussian(queryRand))));
/** Each query's float64 top k so far, as [score, id] sorted descending. */
const best = queries.map(() => []);
const options = { dim: DIM, quantization: 'int8', maxNodes: N, maxMemoryMB: Math.min(4095, Math.ceil((N * 830) / 2 ** 20) + 256), logLevel: 'error' };
const gb = (bytes) => `${(bytes / 1e9).toFixed(2)} GB`;
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

async function measure(memory) {
  const answers = [];
  let found = 0;
  for (const [qi, q] of queries.entries()) {
    const ids = (await memory.search(q, { topK: K, rank: 'similarity', timeoutMs: 3_600_000 })).map((h) => h.id);
    answers.push(ids);
    found += best[qi].filter(([, id]) => ids.includes(id)).length;
  }
  const times = [];
  for (let r = 0; r < 3; r++) for (const q of queries) {
    const t = performance.now();
    await memory.search(q, { topK: K, rank: 'similarity', timeoutMs: 3_600_000 });
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return { answers, msPerQuery: times[times.length >> 1], recall: found / (K * QUERIES) };
}

const phase = process.env.QUANT_PHASE;
const script = new URL(import.meta.url).pathname;
const runPhase = (name, dir) => execFileSync(process.execPath, [script], { env: { ...process.env, QUANT_PHASE: name, QUANT_STORE: dir }, stdio: 'inherit' });

if (!phase) {
  const dir = fs.mkdtempSync(path.join(process.env.QUANT_DIR ?? os.tmpdir(), 'ov-memory-large-'));
  let lines;
  try {
    runPhase('create', dir);
    runPhase('reopen', dir);
    ({ lines } = JSON.parse(fs.readFileSync(path.join(dir, 'bench-state.json'), 'utf8')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  fs.mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
  fs.writeFileSync(new URL('./out/quantized-large.md', import.meta.url), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
} else {
  const dir = process.env.QUANT_STORE, state = path.join(dir, 'bench-state.json');
  if (phase === 'create') await create(dir, state);
  else await reopen(dir, state);
}

async function create(dir, state) {
  const lines = [
    `Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}. Command: \`node bench/quantized-large.mjs\` (QUANT_SIZES=${SIZES.join(',')}), a durable store in ${path.dirname(dir)}.`,
    '',
    '| N × 768 | float32 bytes | insert, rows/s | checkpoint | snapshot file | ms / query (int8 + rerank, pool) | recall@10 | resident (RSS) | RSS / float32 bytes |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  const memory = await OVMemory.open(dir, options);
  const chunk = new Float32Array(CHUNK * DIM);
  let added = 0, insertTotalMs = 0, last;
  for (const size of SIZES) {
    let insertMs = 0;
    const from = added;
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
      const t = performance.now();
      memory.addMany(Array.from({ length: rows }, (_, i) => ({ embedding: chunk.subarray(i * DIM, (i + 1) * DIM), text: 't' })), { link: 'none' });
      insertMs += performance.now() - t;
      added += rows;
    }
    insertTotalMs += insertMs;
    const t = performance.now();
    await memory.checkpoint();
    const checkpointMs = performance.now() - t;
    const snapshot = fs.readdirSync(dir).filter((name) => /^snap\.\d+$/.test(name)).sort((a, b) => Number(b.slice(5)) - Number(a.slice(5)))[0];
    const snapshotBytes = fs.statSync(path.join(dir, snapshot)).size;
    const result = await measure(memory);
    const rss = process.memoryUsage().rss, floatBytes = size * DIM * 4;
    last = { size, ...result };
    lines.push(`| ${size.toLocaleString('en')} | ${gb(floatBytes)} | ${Math.round((added - from) / (insertMs / 1000)).toLocaleString('en')} | ${seconds(checkpointMs)} | ${gb(snapshotBytes)} | ${result.msPerQuery.toFixed(2)} | ${result.recall.toFixed(3)} | ${gb(rss)} | ${(rss / floatBytes).toFixed(2)} |`);
    console.log(lines.at(-1));
  }
  const t = performance.now();
  await memory.close();
  const floatBytes = last.size * DIM * 4;
  lines.push(
    '',
    `At ${last.size.toLocaleString('en')} × 768: addMany took ${seconds(insertTotalMs)} in all (batches of ${CHUNK}); peak resident size (maxRSS) while creating, checkpointing and searching ${gb(peakRss())}, `
      + `${(peakRss() / floatBytes).toFixed(2)}× the ${gb(floatBytes)} of float32; close ${seconds(performance.now() - t)}.`,
  );
  console.log(lines.at(-1));
  fs.writeFileSync(state, JSON.stringify({ best, answers: last.answers, lines, floatBytes }));
}

async function reopen(dir, state) {
  const saved = JSON.parse(fs.readFileSync(state, 'utf8'));
  best.splice(0, best.length, ...saved.best);
  const t = performance.now();
  const memory = await OVMemory.open(dir, options);
  const openMs = performance.now() - t;
  const result = await measure(memory);
  const same = result.answers.every((ids, qi) => ids.join() === saved.answers[qi].join());
  const size = memory.size;
  await memory.close();
  const peak = peakRss();
  saved.lines.push(
    `Reopened in a new process: open ${seconds(openMs)} (the snapshot read and checked block by block, codes rebuilt), ${size.toLocaleString('en')} memories; `
      + `${result.msPerQuery.toFixed(2)} ms a query, recall@10 ${result.recall.toFixed(3)}; the same ids for every query as before closing: ${same ? 'yes' : 'NO'}; `
      + `peak resident size of that process ${gb(peak)}, ${(peak / saved.floatBytes).toFixed(2)}× the float32 bytes.`,
  );
  console.log(saved.lines.at(-1));
  fs.writeFileSync(state, JSON.stringify({ lines: saved.lines }));
}

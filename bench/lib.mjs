// Shared pieces of the benchmarks: the corpus, the plain JavaScript baseline, the bandwidth probe.
import { Worker } from 'node:worker_threads';
import { Arena, instantiateKernels, loadKernelModule } from '../dist/internal.js';

function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand) {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function normalise(v) {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i] * v[i];
  const inv = 1 / Math.sqrt(s);
  for (let i = 0; i < v.length; i++) v[i] *= inv;
  return v;
}

/** A Gaussian mixture of 100 clusters, unit rows, as one Float32Array, and queries from the same mixture. */
export function corpus(n, dim, queryCount, seed) {
  const rand = random(seed);
  const centres = Array.from({ length: 100 }, () => Float32Array.from({ length: dim }, () => gaussian(rand)));
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(rand() * 100)], row = data.subarray(i * dim, (i + 1) * dim);
    for (let j = 0; j < dim; j++) row[j] = c[j] + 0.5 * gaussian(rand);
    normalise(row);
  }
  const queries = Array.from({ length: queryCount }, () => {
    const c = centres[Math.floor(rand() * 100)];
    return normalise(Float32Array.from(c, (x) => x + 0.5 * gaussian(rand)));
  });
  return { data, queries };
}

/** What users write by hand: a Float32Array loop with one accumulator, and a sorted top-k list. */
export function jsTopK(data, n, dim, q, k) {
  const ids = [], scores = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * dim;
    for (let j = 0; j < dim; j++) s += data[base + j] * q[j];
    if (ids.length < k || s > scores[k - 1]) {
      let at = Math.min(ids.length, k - 1);
      while (at > 0 && scores[at - 1] < s) { scores[at] = scores[at - 1]; ids[at] = ids[at - 1]; at--; }
      scores[at] = s; ids[at] = i;
    }
  }
  return ids;
}

/** The exact top-k in float64. */
export function exactTopK(data, n, dim, q, k) {
  const scored = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[i * dim + j] * q[j];
    scored.push([s, i]);
  }
  return scored.sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, k).map(([, i]) => i);
}

/** The fraction of the float64 top-k that the store returns. */
export async function recallAt(memory, data, n, dim, queries, k) {
  let found = 0;
  for (const q of queries) {
    const want = new Set(exactTopK(data, n, dim, q, k));
    for (const h of await memory.search(q, { topK: k, rank: 'similarity' })) if (want.has(h.id)) found++;
  }
  return found / (queries.length * k);
}

const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];

/** Streaming read bandwidth in GB/s: an f32x4 sum over `bytes`, on one thread and split over `threads`. */
export async function bandwidthProbe(bytes, threads) {
  bytes = Math.floor(bytes / (64 * threads)) * 64 * threads;
  const arena = new Arena(bytes + (1 << 20));
  const ptr = arena.alloc(bytes);
  arena.views.f32.fill(1, ptr >>> 2, (ptr + bytes) >>> 2);
  const module = await loadKernelModule('simd');
  const kernels = instantiateKernels(module, arena.memory);
  const single = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    kernels.readProbe(ptr, bytes);
    single.push(performance.now() - t);
  }
  const part = bytes / threads;
  const workers = Array.from({ length: threads }, (_, i) => new Worker(new URL('./probe-worker.mjs', import.meta.url), {
    workerData: { module, memory: arena.memory, ptr: ptr + i * part, bytes: part },
  }));
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const parallel = [];
  for (let r = 0; r < 7; r++) {
    const t = performance.now();
    await Promise.all(workers.map((w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage('go'); })));
    parallel.push(performance.now() - t);
  }
  await Promise.all(workers.map((w) => w.terminate()));
  return { oneThread: bytes / median(single) / 1e6, allThreads: bytes / median(parallel) / 1e6 };
}

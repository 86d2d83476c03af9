// The corpus of `ov-memory bench` and the scans written by hand that it is compared with. The
// corpus is the one bench/lib.mjs builds (same generator, same seed, same order of draws), so the
// command's figures and the repository's benchmark figures describe the same data.

export const CLUSTERS = 100;

/** mulberry32: a small seeded generator, so every run scans the same corpus. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const inverse = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i]! *= inverse;
  return v;
}

export interface Corpus {
  n: number;
  dim: number;
  /** n rows of dim floats, one after the other. */
  data: Float32Array;
  queries: Float32Array[];
}

/** A Gaussian mixture of 100 clusters with unit rows, and queries drawn from the same mixture. */
export function gaussianMixture(n: number, dim: number, queryCount: number, seed: number): Corpus {
  const rand = random(seed);
  const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: dim }, () => gaussian(rand)));
  const pickCentre = () => centres[Math.floor(rand() * CLUSTERS)]!;
  const data = new Float32Array(n * dim);
  for (let i = 0; i < n; i++) {
    const centre = pickCentre(), row = data.subarray(i * dim, (i + 1) * dim);
    for (let j = 0; j < dim; j++) row[j] = centre[j]! + 0.5 * gaussian(rand);
    normalise(row);
  }
  const queries = Array.from({ length: queryCount }, () => normalise(Float32Array.from(pickCentre(), (x) => x + 0.5 * gaussian(rand))));
  return { n, dim, data, queries };
}

/** What users write by hand: a Float32Array loop with one accumulator, keeping a sorted top-k list. */
export function jsTopK({ data, n, dim }: Corpus, query: Float32Array, k: number): number[] {
  const ids: number[] = [], scores: number[] = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    const base = i * dim;
    for (let j = 0; j < dim; j++) s += data[base + j]! * query[j]!;
    if (ids.length < k || s > scores[k - 1]!) {
      let at = Math.min(ids.length, k - 1);
      while (at > 0 && scores[at - 1]! < s) {
        scores[at] = scores[at - 1]!;
        ids[at] = ids[at - 1]!;
        at--;
      }
      scores[at] = s;
      ids[at] = i;
    }
  }
  return ids;
}

/** The corpus as LangChain's MemoryVectorStore holds it: one number[] per row. */
export function toNumberArrays({ data, n, dim }: Corpus): number[][] {
  return Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * dim, (i + 1) * dim)));
}

/** LangChain-style search: cosine with both norms recomputed for every row, then a full sort. */
export function langchainTopK(rows: number[][], query: number[], k: number): number[] {
  return rows
    .map((row, index) => ({ similarity: cosine(query, row), index }))
    .sort((a, b) => b.similarity - a.similarity)
    .slice(0, k)
    .map((scored) => scored.index);
}

function cosine(a: number[], b: number[]): number {
  let dot = 0, normA = 0, normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    normA += a[i]! * a[i]!;
    normB += b[i]! * b[i]!;
  }
  return dot / (Math.sqrt(normA) * Math.sqrt(normB));
}

/** The exact top-k in float64, ties to the lower id: the reference every case is checked against. */
export function exactTopK({ data, n, dim }: Corpus, query: Float32Array, k: number): number[] {
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += data[i * dim + j]! * query[j]!;
    scores[i] = s;
  }
  return Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);
}

/** The share of the reference ids that a case returned. */
export function recall(found: readonly number[], reference: readonly number[]): number {
  const want = new Set(reference);
  return found.filter((id) => want.has(id)).length / reference.length;
}

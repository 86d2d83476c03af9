// Seeded data and an independent float64 reference for the search tests.

/** mulberry32: a small seeded generator, so every failure reproduces. */
export function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

export function randomVectors(count: number, dim: number, seed: number): Float32Array[] {
  const rand = random(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: dim }, () => gaussian(rand)));
}

export interface RefRow {
  id: number;
  vector: ArrayLike<number>;
  weight?: number;
  centrality?: number;
  /** ms since epoch */
  time?: number;
  live?: boolean;
}

export interface RefHit {
  id: number;
  score: number;
  similarity: number;
}

/** Cosine similarity in float64. */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** DESIGN's priority, in float64, straight from the formula (not from the kernel's log form). */
export function priority(s: number, c: number, r: number, w: number, alpha: number): number {
  const structure = (Math.max(0.1, c) * Math.max(0.1, r)) ** (1 - alpha) * w;
  if (alpha === 0) return structure;
  return s <= 0 ? 0 : s ** alpha * structure;
}

export function recency(now: number, time: number, halfLifeMs: number): number {
  const age = now - time;
  return age <= 0 ? 1 : 0.5 ** (age / halfLifeMs);
}

export interface RefQuery {
  rank: 'priority' | 'similarity';
  alpha?: number;
  now?: number;
  halfLifeMs?: number;
  k: number;
}

/** A float64 brute-force scan: every live row scored, sorted by score, similarity, id. */
export function referenceSearch(rows: readonly RefRow[], query: ArrayLike<number>, q: RefQuery): RefHit[] {
  const alpha = q.alpha ?? 0.75, now = q.now ?? 0, halfLife = q.halfLifeMs ?? 86_400_000;
  const hits = rows.filter((r) => r.live !== false).map((r) => {
    const similarity = cosine(query, r.vector);
    const score = q.rank === 'similarity'
      ? similarity
      : priority(similarity, r.centrality ?? 0, recency(now, r.time ?? now, halfLife), r.weight ?? 1, alpha);
    return { id: r.id, score, similarity };
  });
  hits.sort((a, b) => b.score - a.score || b.similarity - a.similarity || a.id - b.id);
  return hits.slice(0, q.k);
}

const close = (a: number, b: number, tol: number) =>
  a === b || (Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)));

/**
 * Asserts that `got` is the reference's top-k: the same scores rank by rank within `tol`, and the
 * same ids wherever the reference tells its neighbours apart by more than `tol` (in score, or in
 * similarity between equal scores); within a near-tie float32 rounding may swap two rows. Pass the
 * reference's top k + 1 to check the last rank against the first row left out.
 */
export function expectSameHits(got: readonly RefHit[], want: readonly RefHit[], tol = 1e-5): void {
  const k = got.length;
  if (want.length !== k && want.length !== k + 1) throw new Error(`expected ${want.length} hits, got ${k}`);
  const tied = (a: RefHit | undefined, b: RefHit) => a !== undefined && close(a.score, b.score, tol) && close(a.similarity, b.similarity, tol);
  for (let i = 0; i < k; i++) {
    const g = got[i]!, w = want[i]!;
    if (!close(g.score, w.score, tol)) throw new Error(`rank ${i}: score ${g.score} (id ${g.id}), expected ${w.score} (id ${w.id})`);
    if (!close(g.similarity, w.similarity, tol) && !tied(want[i - 1], w) && !tied(want[i + 1], w)) {
      throw new Error(`rank ${i}: similarity ${g.similarity} (id ${g.id}), expected ${w.similarity} (id ${w.id})`);
    }
    if (g.id !== w.id && !tied(want[i - 1], w) && !tied(want[i + 1], w)) {
      throw new Error(`rank ${i}: id ${g.id}, expected ${w.id} (score ${w.score})`);
    }
  }
}

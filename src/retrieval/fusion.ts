// Fusion of the two channels of a hybrid search — the vector channel (cosine, best first) and the
// lexical channel (BM25, best first) — into one ranking.
//
//   reciprocal rank fusion (Cormack et al. 2009):   F(d) = Σ_c w_c / (k + rank_c(d))
//   score fusion (convex):                          F(d) = (1 − λ)·ŝ_vector(d) + λ·ŝ_text(d)
//
// rank_c is 1-based, a channel that did not return d contributes nothing; ŝ is the channel's score
// min-max normalised over the list it returned (0 when absent). Ties: lower id first.
// Then the graph and the other factors, as bounded boosts (they can lift a memory, never bury one):
//
//   neighbours:   F'(d) = F(d) + γ · max_{n ∈ N(d)} F(n)        (N: d's graph neighbours, F = 0 off the lists)
//   final score:  S(d)  = F'(d) · (1 + (1 − α)·(R(d) + C(d))/2) · W(d)
//
// The defaults were chosen on LoCoMo, leave-one-conversation-out (bench/QUALITY.md): score fusion
// with λ = 0.7, γ = 0.5; α keeps its default 0.75 (R and C each add at most 12.5 %).

export interface ChannelHit {
  id: number;
  score: number;
}

export type Fusion =
  | { method: 'rrf'; k: number; vectorWeight: number; textWeight: number }
  | { method: 'score'; textWeight: number };

export const DEFAULT_FUSION: Readonly<Fusion> = Object.freeze({ method: 'score', textWeight: 0.7 });
/** γ: how much of its best neighbour's fused score a memory gets. */
export const DEFAULT_NEIGHBOUR_WEIGHT = 0.5;

export interface FusedHit {
  id: number;
  /** The fused score F. */
  score: number;
  /** 1-based rank in the vector channel, null when that channel did not return it. */
  vectorRank: number | null;
  /** 1-based rank in the lexical channel, null when that channel did not return it. */
  textRank: number | null;
  /** The cosine similarity, null when the vector channel did not return it. */
  similarity: number | null;
  /** The BM25 score, 0 when the lexical channel did not return it. */
  lexicalScore: number;
  /** γ · the best fused score among its graph neighbours (0 before `expandNeighbours`). */
  neighbourBoost: number;
}

const blank = (id: number): FusedHit => ({ id, score: 0, vectorRank: null, textRank: null, similarity: null, lexicalScore: 0, neighbourBoost: 0 });
const byScore = (a: FusedHit, b: FusedHit) => b.score - a.score || a.id - b.id;

/** Each channel's min-max normalisation: (s − min) / (max − min), 1 when all scores are equal. */
function normaliser(hits: readonly ChannelHit[]): (score: number) => number {
  let min = Infinity;
  let max = -Infinity;
  for (const h of hits) {
    min = Math.min(min, h.score);
    max = Math.max(max, h.score);
  }
  return max > min ? (s) => (s - min) / (max - min) : () => 1;
}

/** Both channels' lists (each best first, ids unique) fused into one ranking, best first. */
export function fuse(vector: readonly ChannelHit[], text: readonly ChannelHit[], fusion: Readonly<Fusion> = DEFAULT_FUSION): FusedHit[] {
  const byId = new Map<number, FusedHit>();
  const entry = (id: number): FusedHit => {
    let hit = byId.get(id);
    if (!hit) byId.set(id, (hit = blank(id)));
    return hit;
  };
  vector.forEach((h, i) => Object.assign(entry(h.id), { vectorRank: i + 1, similarity: h.score }));
  text.forEach((h, i) => Object.assign(entry(h.id), { textRank: i + 1, lexicalScore: h.score }));

  if (fusion.method === 'rrf') {
    for (const hit of byId.values()) {
      hit.score = (hit.vectorRank === null ? 0 : fusion.vectorWeight / (fusion.k + hit.vectorRank))
        + (hit.textRank === null ? 0 : fusion.textWeight / (fusion.k + hit.textRank));
    }
  } else {
    const normVector = normaliser(vector);
    const normText = normaliser(text);
    for (const hit of byId.values()) {
      hit.score = (1 - fusion.textWeight) * (hit.similarity === null ? 0 : normVector(hit.similarity))
        + fusion.textWeight * (hit.textRank === null ? 0 : normText(hit.lexicalScore));
    }
  }
  return [...byId.values()].sort(byScore);
}

/**
 * F'(d) = F(d) + γ·max over d's neighbours of F: each fused hit and each neighbour of one, best
 * first. A neighbour that neither channel returned comes in with F = 0 and its boost alone.
 */
export function expandNeighbours(hits: readonly FusedHit[], neighbours: (id: number) => Iterable<number>, gamma = DEFAULT_NEIGHBOUR_WEIGHT): FusedHit[] {
  const fused = new Map(hits.map((h) => [h.id, h]));
  const out = new Map<number, FusedHit>(hits.map((h) => [h.id, { ...h }]));
  for (const h of hits) for (const n of neighbours(h.id)) if (!out.has(n)) out.set(n, blank(n));
  for (const hit of out.values()) {
    let best = 0;
    for (const n of neighbours(hit.id)) best = Math.max(best, fused.get(n)?.score ?? 0);
    hit.neighbourBoost = gamma * best;
    hit.score = (fused.get(hit.id)?.score ?? 0) + hit.neighbourBoost;
  }
  return [...out.values()].sort(byScore);
}

/** The final score: S = F' · (1 + (1 − α)·(R + C)/2) · W, with R and C in [0, 1]. */
export function hybridScore(fused: number, factors: { recency: number; centrality: number; weight: number }, alpha: number): number {
  return fused * (1 + ((1 - alpha) * (factors.recency + factors.centrality)) / 2) * factors.weight;
}

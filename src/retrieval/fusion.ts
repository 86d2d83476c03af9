// Fusion of the two channels of a hybrid search — the vector channel (cosine, best first) and the
// lexical channel (BM25, best first) — into one ranking.
//
//   reciprocal rank fusion (Cormack et al. 2009):   F(d) = Σ_c w_c / (k + rank_c(d))
//   score fusion (convex):                          F(d) = (1 − λ)·ŝ_vector(d) + λ·ŝ_text(d)
//
// rank_c is 1-based, a channel that did not return d contributes nothing; ŝ is the channel's score
// min-max normalised over the list it returned (0 when absent). Ties: lower id first.
// The defaults were chosen on LoCoMo (bench/QUALITY.md): RRF with k = 60 and equal weights.

export interface ChannelHit {
  id: number;
  score: number;
}

export type Fusion =
  | { method: 'rrf'; k: number; vectorWeight: number; textWeight: number }
  | { method: 'score'; textWeight: number };

export const DEFAULT_FUSION: Readonly<Fusion> = Object.freeze({ method: 'rrf', k: 60, vectorWeight: 1, textWeight: 1 });

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
}

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
    if (!hit) byId.set(id, (hit = { id, score: 0, vectorRank: null, textRank: null, similarity: null, lexicalScore: 0 }));
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
  return [...byId.values()].sort((a, b) => b.score - a.score || a.id - b.id);
}

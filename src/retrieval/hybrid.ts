// A string query's search: the vector channel (an exact cosine scan) and the lexical channel (BM25)
// under the same allow-mask, fused (fusion.ts), widened to each hit's graph neighbours, and ranked
// with recency, centrality and weight as bounded boosts: S = F' · (1 + (1 − α)·(R + C)/2) · W.
// A memory's neighbours in a conversation (the focus chain links each to the one before) are often
// its evidence; recency and centrality can lift a memory, never bury an old and relevant one.
import type { SearchHit } from '../types.js';
import { DEFAULT_FUSION, DEFAULT_NEIGHBOUR_WEIGHT, expandNeighbours, type FusedHit, fuse, hybridScore } from './fusion.js';
import type { LexicalIndex } from './lexical.js';
import { approximate, factorsOf, type RetrievalSource, type SearchPlan, viewOf } from './search.js';

/** Candidates each channel brings (at least topK): enough below the top k for fusion to reorder them. */
const CANDIDATES_PER_CHANNEL = 100;

export async function hybridSearch(
  source: RetrievalSource,
  lexical: LexicalIndex,
  query: { text: string; unit: Float32Array | undefined },
  s: SearchPlan & { mode: 'hybrid' | 'vector' | 'text' },
): Promise<SearchHit[]> {
  const allow = source.allowed(viewOf(s));
  const live = allow ? allow.count() : source.live;
  if (live === 0) return [];
  const depth = Math.min(live, Math.max(CANDIDATES_PER_CHANNEL, s.topK));
  const isLive = (id: number) => source.get(id) !== undefined && (allow === undefined || allow.has(id));

  const vector = s.mode === 'text' || !query.unit
    ? []
    : (await source.engine.topK([query.unit], { k: depth, rank: 'similarity', alpha: s.alpha, nowMs: s.now, allow: allow?.words, rerank: s.rerank }, s))[0]!
        .filter((c) => isLive(c.id)).map((c) => ({ id: c.id, score: c.similarity }));
  const text = s.mode === 'vector' ? [] : lexical.search(query.text, depth, allow).filter((h) => isLive(h.id));

  const neighbours = (id: number) => source.edges(id).map((e) => e.to).filter(isLive);
  const widened = expandNeighbours(fuse(vector, text, DEFAULT_FUSION), neighbours, DEFAULT_NEIGHBOUR_WEIGHT);
  const hits = widened.map((f) => toHit(source, f, query.unit, s));
  hits.sort((a, b) => b.score - a.score || b.similarity - a.similarity || a.id - b.id);
  return hits.slice(0, s.topK).filter((h) => h.score >= s.minScore);
}

function toHit(source: RetrievalSource, f: FusedHit, unit: Float32Array | undefined, s: SearchPlan): SearchHit {
  const m = source.get(f.id)!;
  const similarity = f.similarity ?? (unit ? source.engine.rows.dot(m.row, unit) : 0);
  const { centrality, recency, weight } = factorsOf(source, m, similarity, s.alpha, s.now);
  return {
    id: f.id,
    score: hybridScore(f.score, { recency, centrality, weight }, s.alpha),
    similarity,
    text: m.text,
    metadata: structuredClone(m.metadata),
    ...(m.key === undefined ? {} : { key: m.key }),
    factors: {
      similarity, centrality, recency, weight, alpha: s.alpha,
      lexical: f.lexicalScore, vectorRank: f.vectorRank, textRank: f.textRank, fused: f.score - f.neighbourBoost, neighbour: f.neighbourBoost,
    },
    ...(approximate(source, s) ? { approximate: true as const } : {}),
  };
}

// fuse() against rankings worked out by hand.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FUSION, expandNeighbours, fuse, hybridScore } from '../src/retrieval/fusion.js';

const vector = [{ id: 1, score: 0.9 }, { id: 2, score: 0.5 }, { id: 3, score: 0.1 }];
const text = [{ id: 3, score: 8 }, { id: 4, score: 4 }, { id: 1, score: 2 }];

describe('fuse() - reciprocal rank fusion', () => {
  it('sums w/(k + rank) over the channels, reporting each rank and the lexical score', () => {
    const hits = fuse(vector, text, { method: 'rrf', k: 10, vectorWeight: 1, textWeight: 1 });
    // 1: 1/11 + 1/13 = 0.16783; 3: 1/13 + 1/11 = 0.16783 (tie → lower id); 2: 1/12; 4: 1/12 (tie → 2 first).
    expect(hits.map((h) => h.id)).toEqual([1, 3, 2, 4]);
    expect(hits[0]).toEqual({ id: 1, score: 1 / 11 + 1 / 13, vectorRank: 1, textRank: 3, similarity: 0.9, lexicalScore: 2, neighbourBoost: 0 });
    expect(hits[2]).toEqual({ id: 2, score: 1 / 12, vectorRank: 2, textRank: null, similarity: 0.5, lexicalScore: 0, neighbourBoost: 0 });
    expect(hits[3]).toEqual({ id: 4, score: 1 / 12, vectorRank: null, textRank: 2, similarity: null, lexicalScore: 4, neighbourBoost: 0 });
  });

  it('weights each channel', () => {
    const hits = fuse(vector, text, { method: 'rrf', k: 10, vectorWeight: 1, textWeight: 2 });
    // 3: 1/13 + 2/11 = 0.2587; 1: 1/11 + 2/13 = 0.2448; 4: 2/12 = 0.1667; 2: 1/12.
    expect(hits.map((h) => h.id)).toEqual([3, 1, 4, 2]);
    expect(hits[0]!.score).toBeCloseTo(1 / 13 + 2 / 11, 15);
  });
});

describe('fuse() - score fusion', () => {
  it('(1 − λ)·min-max(similarity) + λ·min-max(BM25), absent = 0', () => {
    const hits = fuse(vector, text, { method: 'score', textWeight: 0.7 });
    // vector normalised: 1 → 1, 2 → 0.5, 3 → 0; text: 3 → 1, 4 → 1/3, 1 → 0.
    // 1: 0.3; 2: 0.15; 3: 0.7; 4: 0.7/3 = 0.2333.
    expect(hits.map((h) => h.id)).toEqual([3, 1, 4, 2]);
    expect(hits.map((h) => h.score)).toEqual([0.7, 0.3, 0.7 / 3, 0.15].map((x) => expect.closeTo(x, 15)));
  });

  it('a channel whose scores are all equal normalises to 1; an empty channel contributes nothing', () => {
    const hits = fuse([{ id: 7, score: 0.4 }, { id: 8, score: 0.4 }], [], { method: 'score', textWeight: 0.5 });
    expect(hits).toEqual([
      { id: 7, score: 0.5, vectorRank: 1, textRank: null, similarity: 0.4, lexicalScore: 0, neighbourBoost: 0 },
      { id: 8, score: 0.5, vectorRank: 2, textRank: null, similarity: 0.4, lexicalScore: 0, neighbourBoost: 0 },
    ]);
    expect(fuse([], [], { method: 'score', textWeight: 0.5 })).toEqual([]);
  });
});

describe('fuse() - the default', () => {
  it('is score fusion with λ = 0.7', () => {
    expect(DEFAULT_FUSION).toEqual({ method: 'score', textWeight: 0.7 });
    expect(fuse(vector, text)).toEqual(fuse(vector, text, { method: 'score', textWeight: 0.7 }));
  });
});

describe('expandNeighbours()', () => {
  // A conversation as a chain: each memory linked to the one before and after it.
  const chain = (n: number) => (id: number) => [id - 1, id + 1].filter((j) => j >= 0 && j < n);

  it('adds γ · the best neighbour\'s fused score, and brings in neighbours that no channel returned', () => {
    const fused = fuse(vector, text, { method: 'score', textWeight: 0.7 }); // 3: 0.7, 1: 0.3, 4: 0.7/3, 2: 0.15
    const hits = expandNeighbours(fused, chain(6), 0.5);
    // 0: 0 + 0.5·F(1) = 0.15; 1: 0.3 + 0.5·max(F(0)=0, F(2)=0.15) = 0.375; 2: 0.15 + 0.5·max(0.3, 0.7) = 0.5;
    // 3: 0.7 + 0.5·max(0.15, 0.7/3) = 0.81667; 4: 0.7/3 + 0.5·max(0.7, 0) = 0.58333; 5: 0 + 0.5·0.7/3 = 0.11667.
    expect(hits.map((h) => h.id)).toEqual([3, 4, 2, 1, 0, 5]);
    const want = { 3: 0.7 + 0.35 / 3, 4: 0.7 / 3 + 0.35, 2: 0.5, 1: 0.375, 0: 0.15, 5: 0.35 / 3 };
    for (const h of hits) expect(h.score).toBeCloseTo(want[h.id as keyof typeof want], 14);
    expect(hits.find((h) => h.id === 5)).toMatchObject({ vectorRank: null, textRank: null, similarity: null, lexicalScore: 0 });
    expect(hits.find((h) => h.id === 2)!.neighbourBoost).toBeCloseTo(0.35, 15);
    // The input is left as it was.
    expect(fused.every((h) => h.neighbourBoost === 0)).toBe(true);
  });

  it('with γ = 0 only adds the neighbours, at score 0, after every fused hit', () => {
    const fused = fuse(vector, text, { method: 'score', textWeight: 0.7 });
    const hits = expandNeighbours(fused, chain(6), 0);
    expect(hits.slice(0, 4)).toEqual(fused);
    expect(hits.slice(4).map((h) => [h.id, h.score])).toEqual([[0, 0], [5, 0]]);
  });
});

describe('hybridScore()', () => {
  it('S = F · (1 + (1 − α)·(R + C)/2) · W', () => {
    expect(hybridScore(0.8, { recency: 1, centrality: 0.5, weight: 2 }, 0.75)).toBeCloseTo(0.8 * (1 + 0.25 * 0.75) * 2, 15);
    expect(hybridScore(0.8, { recency: 0, centrality: 0, weight: 1 }, 0.75)).toBe(0.8);
    expect(hybridScore(0.8, { recency: 1, centrality: 1, weight: 1 }, 1)).toBe(0.8);
    // Bounded: R and C together lift a memory by at most 1 + (1 − α).
    expect(hybridScore(1, { recency: 1, centrality: 1, weight: 1 }, 0.75)).toBe(1.25);
  });
});

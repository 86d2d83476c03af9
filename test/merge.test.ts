// Selecting the best candidates (what the executors' lists are merged by, and what each rerank
// stage keeps) against a full sort by the order every executor agrees on.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { best, bestUnordered, mergeCandidates } from '../dist/internal.js';

interface Hit { key: number; similarity: number; id: number }

/** Key descending (−∞ last), then similarity descending, then id ascending: written out, not imported. */
function reference(items: readonly Hit[], k: number): Hit[] {
  return [...items].sort((a, b) => (a.key === b.key ? 0 : a.key > b.key ? -1 : 1) || b.similarity - a.similarity || a.id - b.id).slice(0, k);
}

// Few distinct values, so ties in key and similarity are the rule, as with binary codes.
const hit = fc.record({
  key: fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constant(-Infinity)),
  similarity: fc.integer({ min: -2, max: 2 }).map((s) => s / 2),
  id: fc.integer({ min: 0, max: 60 }),
});
const lists = fc.array(fc.array(hit, { maxLength: 80 }), { minLength: 1, maxLength: 4 });

describe('best candidates', () => {
  it('best(items, k) is the first k of a full sort, whatever the ties', () => {
    fc.assert(fc.property(fc.array(hit, { maxLength: 300 }), fc.integer({ min: 0, max: 320 }), (items, k) => {
      expect(best([...items], k)).toEqual(reference(items, k));
    }), { numRuns: 500, seed: 11 });
  });

  it('bestUnordered(items, k) holds the same hits, in any order', () => {
    fc.assert(fc.property(fc.array(hit, { maxLength: 300 }), fc.integer({ min: 0, max: 320 }), (items, k) => {
      const got = bestUnordered([...items], k);
      expect(reference(got, got.length)).toEqual(reference(items, k));
    }), { numRuns: 500, seed: 12 });
  });

  it('mergeCandidates of several lists is the first k of them all, sorted', () => {
    fc.assert(fc.property(lists, fc.integer({ min: 1, max: 100 }), (parts, k) => {
      expect(mergeCandidates(parts, k)).toEqual(reference(parts.flat(), k));
    }), { numRuns: 300, seed: 13 });
  });
});

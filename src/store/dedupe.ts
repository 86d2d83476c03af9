// Consolidation without a model: a new memory that says again what one of its scope already says
// is absorbed by it. "Says again" needs both signals: cosine similarity at or above the caller's
// threshold, and a near-duplicate text (shingle Jaccard ≥ 0.8), so that two different facts with
// close embeddings ("I like tea" / "I like coffee") both stay. Candidates come from the lexical
// index (a near-duplicate text shares most of its terms), so no scan of the store is needed.
import { shingles } from '../retrieval/shingles.js';
import type { ChangeSet } from './changes.js';
import { scopeKey } from './scopes.js';
import { unexpired, validAt, type Store } from './store.js';
import type { Scope } from '../types.js';

/** Shingle Jaccard at or above which two texts are the same statement. */
export const NEAR_DUPLICATE_TEXT = 0.8;
/** Lexical candidates checked per new memory. */
const CANDIDATES = 8;

export interface Kept {
  id: number;
  unit: Float32Array;
  scope: string;
  shingles: Set<number>;
}

/** Jaccard similarity of two shingle sets. */
export function jaccard(a: Set<number>, b: Set<number>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let shared = 0;
  for (const h of a) if (b.has(h)) shared++;
  return shared / (a.size + b.size - shared);
}

/**
 * The memory `p` duplicates: a live, valid one of its exact scope in the store, or one kept earlier
 * in the same call (`earlier`); undefined when there is none.
 */
export function duplicateOf(
  store: Store, changes: ChangeSet, p: { unit: Float32Array; text: string; scope: Scope | undefined },
  threshold: number, now: number, earlier: readonly Kept[],
): number | undefined {
  const scope = scopeKey(p.scope);
  const own = shingles(p.text);
  const same = (similarity: number, text: Set<number>) => similarity >= threshold && jaccard(own, text) >= NEAR_DUPLICATE_TEXT;
  for (const k of earlier) if (k.scope === scope && same(dot(k.unit, p.unit), k.shingles)) return k.id;
  const members = {
    has: (id: number) => {
      const r = store.get(id);
      return r !== undefined && changes.isLive(id) && scopeKey(r.scope) === scope && unexpired(r, now) && validAt(r, now);
    },
  };
  for (const hit of store.lexical.search(p.text, CANDIDATES, members)) {
    const r = store.get(hit.id)!;
    if (same(store.rows.dot(r.row, p.unit), shingles(r.text))) return r.id;
  }
  return undefined;
}

export function dot(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
  return sum;
}

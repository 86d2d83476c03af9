// Merges per-task top-k lists into one: key descending, then similarity descending, then id
// ascending, the order every executor must agree on.
import type { Candidate } from './kernels.js';

/** Negative when `a` ranks before `b`. Keys can be −∞ (P = 0), so they are compared, not subtracted. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.key !== b.key) return a.key > b.key ? -1 : 1;
  return b.similarity - a.similarity || a.id - b.id;
}

export function mergeCandidates(lists: readonly Candidate[][], k: number): Candidate[] {
  return best(lists.length === 1 ? [...lists[0]!] : lists.flat(), k);
}

/** The best `k` of `items` in order, rearranging `items` (see `bestUnordered`). */
export function best<T extends Candidate>(items: T[], k: number): T[] {
  const first = bestUnordered(items, k);
  first.sort(compareCandidates);
  return first;
}

/**
 * The best `k` of `items` in no particular order, rearranging `items`: a quickselect puts them first
 * (linear on average), since a quantized scan hands over thousands of candidates for a few hits.
 */
export function bestUnordered<T extends Candidate>(items: T[], k: number): T[] {
  let lo = 0, hi = items.length - 1;
  while (k < items.length && lo < hi) {
    // Median of three as the pivot, then a Hoare partition around it.
    const mid = (lo + hi) >>> 1;
    const [a, b, c] = [items[lo]!, items[mid]!, items[hi]!];
    const pivot = compareCandidates(a, b) < 0
      ? (compareCandidates(b, c) < 0 ? b : compareCandidates(a, c) < 0 ? c : a)
      : (compareCandidates(a, c) < 0 ? a : compareCandidates(b, c) < 0 ? c : b);
    let i = lo, j = hi;
    while (i <= j) {
      while (compareCandidates(items[i]!, pivot) < 0) i++;
      while (compareCandidates(pivot, items[j]!) < 0) j--;
      if (i <= j) {
        [items[i], items[j]] = [items[j]!, items[i]!];
        i++;
        j--;
      }
    }
    if (k - 1 <= j) hi = j;
    else if (k - 1 >= i) lo = i;
    else break;
  }
  return items.slice(0, k);
}

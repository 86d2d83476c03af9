// Merges per-task top-k lists into one: key descending, then similarity descending, then id
// ascending, the order every executor must agree on.
import type { Candidate } from './kernels.js';

/** Negative when `a` ranks before `b`. Keys can be −∞ (P = 0), so they are compared, not subtracted. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  if (a.key !== b.key) return a.key > b.key ? -1 : 1;
  return b.similarity - a.similarity || a.id - b.id;
}

export function mergeCandidates(lists: readonly Candidate[][], k: number): Candidate[] {
  const all = lists.length === 1 ? [...lists[0]!] : lists.flat();
  all.sort(compareCandidates);
  return all.slice(0, k);
}

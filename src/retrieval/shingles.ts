// Redundancy by hashed 5-gram shingles: a memory is redundant when nearly all of its character
// 5-grams already occur in the context. Each text is hashed once, in linear time, into a set of
// 32-bit shingle hashes; a check costs one set lookup per shingle of the candidate.

const SIZE = 5;

/** Lower-case, white space collapsed: "Tea  is\\nnice" and "tea is nice" are the same text. */
function normalise(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/** FNV-1a hashes of every 5-character window (a text shorter than 5 is one shingle). */
export function shingles(text: string): Set<number> {
  const s = normalise(text);
  const out = new Set<number>();
  const last = Math.max(0, s.length - SIZE);
  for (let start = 0; start <= last; start++) {
    let h = 0x811c9dc5;
    for (let i = start; i < Math.min(s.length, start + SIZE); i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    out.add(h >>> 0);
  }
  return out;
}

export class ShingleIndex {
  readonly #seen = new Set<number>();

  /** The share of `candidate`'s shingles already in the index, in [0, 1]. */
  overlap(candidate: Set<number>): number {
    if (candidate.size === 0) return 0;
    let shared = 0;
    for (const h of candidate) if (this.#seen.has(h)) shared++;
    return shared / candidate.size;
  }

  add(text: Set<number>): void {
    for (const h of text) this.#seen.add(h);
  }
}

// The lexical channel: an Okapi BM25 index over the memories' texts, kept incrementally.
//
//   score(d, q) = Σ_{t ∈ q}  idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//   idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))          (Lucene's, never negative)
//
// N, df and avgdl are exact after every add, replace and remove, so an index built incrementally
// scores exactly as one rebuilt from scratch. Each query term counts once.
//
// Written here rather than taken from MiniSearch 7 (measured side by side in bench/recall-study.mjs):
// MiniSearch scores BM25+ over a radix tree that also serves prefix and fuzzy search, needs the
// original document to remove it, and filters only after scoring; this index keeps one sorted
// posting list (ids, term frequencies as typed arrays) per term, skips ids outside the filter's
// allow-mask while scoring, and takes a third of MiniSearch's memory per text byte.
// Plain TypeScript with no Node built-ins, so it runs in browsers too.
import { stemmer } from 'stemmer';

import { InvalidDataError } from '../resilience/errors.js';

export interface LexicalHit {
  id: number;
  /** The BM25 score (> 0). */
  score: number;
}

/** What `search` needs of a filter's allow-mask (`Bitset` from `metadata/bitset.ts`). */
export interface AllowMask {
  has(id: number): boolean;
}

export interface Analyzer {
  /** Drop Lucene's 33 English stop words. */
  stopWords: boolean;
  /** Reduce words to their Porter stems (`stemmer`). */
  stem: boolean;
}

export interface LexicalOptions {
  /** Term-frequency saturation. @default 0.9 (Anserini's; on LoCoMo better than Lucene's 1.2: bench/QUALITY.md) */
  k1?: number;
  /** Length normalisation. @default 0.4 (Anserini's; memories are short and of similar length) */
  b?: number;
  /** @default { stopWords: false, stem: true } (chosen on LoCoMo: bench/QUALITY.md) */
  analyzer?: Partial<Analyzer>;
}

/** Lucene's default English stop set (EnglishAnalyzer.ENGLISH_STOP_WORDS_SET). */
const STOP_WORDS = new Set(
  'a an and are as at be but by for if in into is it no not of on or such that the their then there these they this to was will with'.split(' '),
);

/** Lower-cases (Unicode-aware) and splits on anything that is not a letter, mark or digit. */
export function tokenize(text: string, analyzer: Analyzer): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{M}\p{N}]+/gu) ?? [];
  const out: string[] = [];
  for (const word of words) {
    if (analyzer.stopWords && STOP_WORDS.has(word)) continue;
    out.push(analyzer.stem ? stemmer(word) : word);
  }
  return out;
}

/** A growable posting list: ids ascending, each with its term frequency. */
interface Postings {
  ids: Uint32Array;
  tfs: Uint16Array;
  length: number;
}

/** Where `id` is in the ascending `ids[0, length)`, or where it would go. */
function lowerBound(ids: Uint32Array, length: number, id: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class LexicalIndex {
  readonly k1: number;
  readonly b: number;
  readonly analyzer: Readonly<Analyzer>;
  readonly #terms = new Map<string, Postings>();
  /** Each document's distinct terms (to remove it) and its length in tokens. */
  readonly #docs = new Map<number, { terms: string[]; length: number }>();
  #totalLength = 0;
  #termChars = 0;
  /** Scores per id while a query runs, reused between queries. */
  #scratch: Float64Array = new Float64Array(0);

  constructor(options: LexicalOptions = {}) {
    this.k1 = options.k1 ?? 0.9;
    this.b = options.b ?? 0.4;
    if (!(this.k1 >= 0) || !Number.isFinite(this.k1)) throw new InvalidDataError(`Expected \`k1\` to be a finite number ≥ 0, got ${this.k1}`);
    if (!(this.b >= 0 && this.b <= 1)) throw new InvalidDataError(`Expected \`b\` to be a number in [0, 1], got ${this.b}`);
    this.analyzer = Object.freeze({ stopWords: options.analyzer?.stopWords ?? false, stem: options.analyzer?.stem ?? true });
  }

  /** Documents indexed. */
  get size(): number {
    return this.#docs.size;
  }

  has(id: number): boolean {
    return this.#docs.has(id);
  }

  /** Indexes a new document; `id` must not be indexed yet. */
  add(id: number, text: string): void {
    if (!Number.isInteger(id) || id < 0 || id > 0xfffffffe) throw new InvalidDataError(`Expected \`id\` to be an integer in [0, 2³² − 1), got ${id}`);
    if (this.#docs.has(id)) throw new InvalidDataError(`The lexical index already holds id ${id}`, { details: { id } });
    const counts = new Map<string, number>();
    const tokens = tokenize(text, this.analyzer);
    for (const token of tokens) counts.set(token, (counts.get(token) ?? 0) + 1);
    for (const [term, tf] of counts) this.#insert(term, id, Math.min(tf, 0xffff));
    this.#docs.set(id, { terms: [...counts.keys()], length: tokens.length });
    this.#totalLength += tokens.length;
  }

  /** Removes a document; false when `id` is not indexed. */
  remove(id: number): boolean {
    const doc = this.#docs.get(id);
    if (!doc) return false;
    for (const term of doc.terms) this.#delete(term, id);
    this.#docs.delete(id);
    this.#totalLength -= doc.length;
    return true;
  }

  /** Replaces a document's text (adds it when `id` is not indexed). */
  replace(id: number, text: string): void {
    this.remove(id);
    this.add(id, text);
  }

  clear(): void {
    this.#terms.clear();
    this.#docs.clear();
    this.#totalLength = 0;
    this.#termChars = 0;
    this.#scratch = new Float64Array(0);
  }

  /** The `k` best documents for `query`, best first (ties: lower id); only ids in `allow` when given. */
  search(query: string, k: number, allow?: AllowMask): LexicalHit[] {
    if (!Number.isInteger(k) || k < 1) throw new InvalidDataError(`Expected \`k\` to be a positive integer, got ${k}`);
    const n = this.#docs.size;
    if (n === 0) return [];
    const avgLength = this.#totalLength / n || 1;
    const touched: number[] = [];
    let scratch = this.#scratch;
    for (const term of new Set(tokenize(query, this.analyzer))) {
      const postings = this.#terms.get(term);
      if (!postings) continue;
      const df = postings.length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      const maxId = postings.ids[df - 1]!;
      if (maxId >= scratch.length) scratch = this.#grow(maxId);
      for (let i = 0; i < df; i++) {
        const id = postings.ids[i]!;
        if (allow && !allow.has(id)) continue;
        const tf = postings.tfs[i]!;
        const norm = this.k1 * (1 - this.b + (this.b * this.#docs.get(id)!.length) / avgLength);
        if (scratch[id] === 0) touched.push(id);
        scratch[id]! += (idf * tf * (this.k1 + 1)) / (tf + norm);
      }
    }
    const hits = touched.map((id) => ({ id, score: scratch[id]! }));
    for (const id of touched) scratch[id] = 0;
    return topK(hits, k);
  }

  /** An estimate of the bytes this index holds: posting arrays, term strings, per-document records. */
  get bytes(): number {
    let postings = 0;
    for (const p of this.#terms.values()) postings += p.ids.byteLength + p.tfs.byteLength + 64;
    let docTerms = 0;
    for (const doc of this.#docs.values()) docTerms += 8 * doc.terms.length + 48;
    return postings + docTerms + 2 * this.#termChars + 40 * this.#terms.size + this.#scratch.byteLength;
  }

  #insert(term: string, id: number, tf: number): void {
    let p = this.#terms.get(term);
    if (!p) {
      p = { ids: new Uint32Array(2), tfs: new Uint16Array(2), length: 0 };
      this.#terms.set(term, p);
      this.#termChars += term.length;
    }
    if (p.length === p.ids.length) {
      const ids = new Uint32Array(p.length * 2);
      const tfs = new Uint16Array(p.length * 2);
      ids.set(p.ids);
      tfs.set(p.tfs);
      p.ids = ids;
      p.tfs = tfs;
    }
    // New ids are the largest, so this is an append; a replaced older id moves the tail by one.
    const at = p.length > 0 && p.ids[p.length - 1]! < id ? p.length : lowerBound(p.ids, p.length, id);
    p.ids.copyWithin(at + 1, at, p.length);
    p.tfs.copyWithin(at + 1, at, p.length);
    p.ids[at] = id;
    p.tfs[at] = tf;
    p.length++;
  }

  #delete(term: string, id: number): void {
    const p = this.#terms.get(term)!;
    const at = lowerBound(p.ids, p.length, id);
    p.ids.copyWithin(at, at + 1, p.length);
    p.tfs.copyWithin(at, at + 1, p.length);
    p.length--;
    if (p.length === 0) {
      this.#terms.delete(term);
      this.#termChars -= term.length;
    }
  }

  #grow(maxId: number): Float64Array {
    const scratch = new Float64Array(Math.max(maxId + 1, this.#scratch.length * 2));
    scratch.set(this.#scratch); // a query in progress keeps what it has summed so far
    this.#scratch = scratch;
    return scratch;
  }
}

/** The `k` best hits, score descending then id ascending. */
function topK(hits: LexicalHit[], k: number): LexicalHit[] {
  const order = (a: LexicalHit, b: LexicalHit) => b.score - a.score || a.id - b.id;
  // Sorting everything is fine for short lists; long ones keep a bounded, sorted window instead.
  if (hits.length <= 4 * k || hits.length < 256) return hits.sort(order).slice(0, k);
  const best: LexicalHit[] = [];
  for (const hit of hits) {
    if (best.length === k && order(hit, best[k - 1]!) >= 0) continue;
    let at = best.length;
    while (at > 0 && order(hit, best[at - 1]!) < 0) at--;
    best.splice(at, 0, hit);
    if (best.length > k) best.pop();
  }
  return best;
}

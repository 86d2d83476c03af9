// The lexical channel: an Okapi BM25 index over the memories' texts, kept incrementally.
//
//   score(d, q) = Σ_{t ∈ q}  idf(t) · tf(t,d)·(k1 + 1) / (tf(t,d) + k1·(1 − b + b·|d|/avgdl))
//   idf(t)      = ln(1 + (N − df(t) + 0.5) / (df(t) + 0.5))          (Lucene's, never negative)
//
// N, df and avgdl are exact after every add, replace and remove, so an index built incrementally
// scores exactly as one rebuilt from scratch. Each query term counts once.
//
// Written here rather than taken from MiniSearch 7 (measured side by side: bench/recall-study.mjs for
// recall, bench/recall-lexical.mjs for cost):
// MiniSearch scores BM25+ over a radix tree that also serves prefix and fuzzy search, needs the
// original document to remove it, and filters only after scoring; this index keeps one sorted
// posting list ((id, term frequency) pairs in a typed array) per term, skips ids outside the
// filter's allow-mask while scoring, and at 100k memories answers a query 25× faster than MiniSearch
// in 2.4× less memory.
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

/** A growable posting list: (id, term frequency) pairs side by side in one array, ids ascending. */
interface Postings {
  term: string;
  pairs: Uint32Array;
  /** Pairs in use. */
  length: number;
}

/** Where `id` is among the ascending ids of `p`, or where it would go. */
function lowerBound(p: Postings, id: number): number {
  let lo = 0;
  let hi = p.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (p.pairs[2 * mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class LexicalIndex {
  readonly k1: number;
  readonly b: number;
  readonly analyzer: Readonly<Analyzer>;
  readonly #terms = new Map<string, Postings>();
  /** Each document's posting lists (one per distinct term), to remove it. Holding the lists, not
   * the words, keeps no per-document copy of a term (each would be a string of its own). */
  readonly #docs = new Map<number, Postings[]>();
  /** Each document's length in tokens, by id (read for every posting a query visits). */
  #lengths: Uint32Array = new Uint32Array(0);
  #totalLength = 0;
  #termChars = 0;
  /** Kept as the index changes, so that `bytes` costs nothing (the store reads it before every write). */
  #pairBytes = 0;
  #docPostings = 0;
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
    const postings: Postings[] = [];
    for (const [term, tf] of counts) postings.push(this.#insert(term, id, tf));
    this.#docs.set(id, postings);
    this.#docPostings += postings.length;
    if (id >= this.#lengths.length) {
      const lengths = new Uint32Array(Math.max(id + 1, this.#lengths.length * 2));
      lengths.set(this.#lengths);
      this.#lengths = lengths;
    }
    this.#lengths[id] = tokens.length;
    this.#totalLength += tokens.length;
  }

  /** Removes a document; false when `id` is not indexed. */
  remove(id: number): boolean {
    const postings = this.#docs.get(id);
    if (!postings) return false;
    for (const p of postings) this.#delete(p, id);
    this.#docs.delete(id);
    this.#docPostings -= postings.length;
    this.#totalLength -= this.#lengths[id]!;
    this.#lengths[id] = 0;
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
    this.#lengths = new Uint32Array(0);
    this.#totalLength = 0;
    this.#termChars = 0;
    this.#pairBytes = 0;
    this.#docPostings = 0;
    this.#scratch = new Float64Array(0);
  }

  /** The `k` best documents for `query`, best first (ties: lower id); only ids in `allow` when given. */
  search(query: string, k: number, allow?: AllowMask): LexicalHit[] {
    if (!Number.isInteger(k) || k < 1) throw new InvalidDataError(`Expected \`k\` to be a positive integer, got ${k}`);
    const n = this.#docs.size;
    if (n === 0) return [];
    const avgLength = this.#totalLength / n || 1;
    const touched: number[] = [];
    const lengths = this.#lengths;
    const { k1, b } = this;
    let scratch = this.#scratch;
    for (const term of new Set(tokenize(query, this.analyzer))) {
      const postings = this.#terms.get(term);
      if (!postings) continue;
      const { pairs, length: df } = postings;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      const maxId = pairs[2 * (df - 1)]!;
      if (maxId >= scratch.length) scratch = this.#grow(maxId);
      for (let i = 0; i < 2 * df; i += 2) {
        const id = pairs[i]!;
        if (allow && !allow.has(id)) continue;
        const tf = pairs[i + 1]!;
        const norm = k1 * (1 - b + (b * lengths[id]!) / avgLength);
        if (scratch[id] === 0) touched.push(id);
        scratch[id]! += (idf * tf * (k1 + 1)) / (tf + norm);
      }
    }
    const hits = touched.map((id) => ({ id, score: scratch[id]! }));
    for (const id of touched) scratch[id] = 0;
    return topK(hits, k);
  }

  /** An estimate of the bytes this index holds: posting arrays, term strings, per-document records. */
  get bytes(): number {
    // Per-object overheads as V8 lays them out (typed array with its buffer, Map entry, array header).
    const postings = this.#pairBytes + 180 * this.#terms.size;
    const docTerms = 8 * this.#docPostings + 80 * this.#docs.size;
    return postings + docTerms + 2 * this.#termChars + 60 * this.#terms.size + this.#lengths.byteLength + this.#scratch.byteLength;
  }

  #insert(term: string, id: number, tf: number): Postings {
    let p = this.#terms.get(term);
    if (!p) {
      p = { term, pairs: new Uint32Array(2), length: 0 };
      this.#terms.set(term, p);
      this.#termChars += term.length;
      this.#pairBytes += p.pairs.byteLength;
    }
    if (2 * p.length === p.pairs.length) {
      const pairs = new Uint32Array(p.pairs.length * 2);
      pairs.set(p.pairs);
      this.#pairBytes += pairs.byteLength - p.pairs.byteLength;
      p.pairs = pairs;
    }
    // New ids are the largest, so this is an append; a replaced older id moves the tail by one.
    const at = p.length > 0 && p.pairs[2 * (p.length - 1)]! < id ? p.length : lowerBound(p, id);
    p.pairs.copyWithin(2 * at + 2, 2 * at, 2 * p.length);
    p.pairs[2 * at] = id;
    p.pairs[2 * at + 1] = tf;
    p.length++;
    return p;
  }

  #delete(p: Postings, id: number): void {
    const at = lowerBound(p, id);
    p.pairs.copyWithin(2 * at, 2 * at + 2, 2 * p.length);
    p.length--;
    if (p.length === 0) {
      this.#terms.delete(p.term);
      this.#termChars -= p.term.length;
      this.#pairBytes -= p.pairs.byteLength;
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

// The lexical index against BM25 computed here from the formula, against a rebuild from scratch
// after random add/replace/remove sequences, and with filter masks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Bitset } from '../src/metadata/bitset.js';
import { LexicalIndex, tokenize } from '../src/retrieval/lexical.js';

const plain = { analyzer: { stopWords: false, stem: false } };

/** BM25 in float64 straight from the definition, over texts already split on spaces. */
function referenceBM25(docs: Map<number, string>, query: string, k1 = 1.2, b = 0.75): { id: number; score: number }[] {
  const terms = new Map([...docs].map(([id, text]) => [id, text.split(' ')]));
  const n = terms.size;
  const avgdl = [...terms.values()].reduce((s, t) => s + t.length, 0) / n;
  const out: { id: number; score: number }[] = [];
  for (const [id, words] of terms) {
    let score = 0;
    for (const q of new Set(query.split(' '))) {
      const tf = words.filter((w) => w === q).length;
      if (tf === 0) continue;
      const df = [...terms.values()].filter((t) => t.includes(q)).length;
      const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
      score += (idf * tf * (k1 + 1)) / (tf + k1 * (1 - b + (b * words.length) / avgdl));
    }
    if (score > 0) out.push({ id, score });
  }
  return out.sort((x, y) => y.score - x.score || x.id - y.id);
}

const corpus = new Map([
  [0, 'the cat sat on the mat'],
  [1, 'the dog chased the cat'],
  [2, 'a bird sang'],
  [3, 'cat cat cat'],
  [4, 'dogs and cats and birds and mats'],
]);

describe('LexicalIndex.search() - BM25 scores', () => {
  it('equals BM25 computed from the formula (k1 1.2, b 0.75)', () => {
    const index = new LexicalIndex({ ...plain, k1: 1.2, b: 0.75 });
    for (const [id, text] of corpus) index.add(id, text);
    for (const query of ['cat', 'the cat', 'dog mat', 'bird sang', 'cat cat', 'nothing here']) {
      const got = index.search(query, 10);
      const want = referenceBM25(corpus, query);
      expect(got.map((h) => h.id)).toEqual(want.map((h) => h.id));
      got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 12));
    }
  });

  it('defaults to k1 0.9, b 0.4', () => {
    const index = new LexicalIndex(plain);
    for (const [id, text] of corpus) index.add(id, text);
    const got = index.search('the cat', 10);
    const want = referenceBM25(corpus, 'the cat', 0.9, 0.4);
    got.forEach((h, i) => expect(h.score).toBeCloseTo(want[i]!.score, 12));
  });

  it('a hand-worked case: one term, two documents of equal length', () => {
    // N = 3, df(x) = 2, avgdl = 2: idf = ln(1 + 1.5/2.5); tf 1, |d| = avgdl: score = idf·2.2/2.2 = idf.
    const index = new LexicalIndex(plain);
    index.add(0, 'x y');
    index.add(1, 'x z');
    index.add(2, 'y z');
    const hits = index.search('x', 5);
    expect(hits).toEqual([{ id: 0, score: expect.closeTo(Math.log(1.6), 14) }, { id: 1, score: expect.closeTo(Math.log(1.6), 14) }]);
  });

  it('returns the best k, ties to the lower id', () => {
    const index = new LexicalIndex(plain);
    for (let id = 0; id < 300; id++) index.add(id, id % 7 === 0 ? 'apple apple pear' : 'apple pear');
    const all = index.search('apple', 300);
    expect(all).toHaveLength(300);
    const top = index.search('apple', 5);
    expect(top).toEqual(all.slice(0, 5));
    expect(top.map((h) => h.id)).toEqual([0, 7, 14, 21, 28]);
  });

  it('lower-cases Unicode and splits on anything but letters and digits; stems with Porter by default', () => {
    expect(tokenize('CAFÉ, Ünïcode—42!', { stopWords: false, stem: false })).toEqual(['café', 'ünïcode', '42']);
    expect(tokenize('The cats are running', { stopWords: true, stem: true })).toEqual(['cat', 'run']);
    const index = new LexicalIndex();
    index.add(0, 'Caroline: I went running with the dogs');
    index.add(1, 'Melanie: painting a sunrise');
    expect(index.search('who runs with dogs?', 5).map((h) => h.id)).toEqual([0]);
  });

  it('returns [] for an empty index or a query with no known term', () => {
    const index = new LexicalIndex();
    expect(index.search('anything', 3)).toEqual([]);
    index.add(0, 'something');
    expect(index.search('!!!', 3)).toEqual([]);
  });
});

describe('LexicalIndex - filters', () => {
  it('only ids in the allow-mask come back, with the scores they have unfiltered', () => {
    const index = new LexicalIndex(plain);
    for (const [id, text] of corpus) index.add(id, text);
    const allow = Bitset.of(8, [1, 3, 4]);
    const unfiltered = index.search('cat dog', 10);
    expect(index.search('cat dog', 10, allow)).toEqual(unfiltered.filter((h) => allow.has(h.id)));
    expect(index.search('cat', 10, new Bitset(8))).toEqual([]);
  });
});

describe('LexicalIndex - incremental updates', () => {
  const vocabulary = ['apple', 'pear', 'plum', 'fig', 'kiwi', 'lime', 'date', 'the'];
  const text = fc.array(fc.constantFrom(...vocabulary), { minLength: 0, maxLength: 8 }).map((w) => w.join(' '));
  const op = fc.oneof(
    fc.record({ kind: fc.constant('add' as const), text }),
    fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), text }),
    fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
  );

  it('equals an index rebuilt from scratch after any add/replace/remove sequence', () => {
    fc.assert(fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const index = new LexicalIndex(plain);
      const live = new Map<number, string>();
      let nextId = 0;
      for (const o of ops) {
        const ids = [...live.keys()];
        if (o.kind === 'add') {
          index.add(nextId, o.text);
          live.set(nextId++, o.text);
        } else if (ids.length > 0) {
          const id = ids[o.pick % ids.length]!;
          if (o.kind === 'replace') {
            index.replace(id, o.text);
            live.set(id, o.text);
          } else {
            expect(index.remove(id)).toBe(true);
            live.delete(id);
          }
        }
      }
      const rebuilt = new LexicalIndex(plain);
      for (const id of [...live.keys()].sort((a, b) => a - b)) rebuilt.add(id, live.get(id)!);
      expect(index.size).toBe(rebuilt.size);
      for (const query of ['apple', 'pear plum', 'the fig kiwi', vocabulary.join(' ')]) {
        expect(index.search(query, 100)).toEqual(rebuilt.search(query, 100));
      }
    }));
  });

  it('replace() of an id not indexed adds it; remove() of one returns false', () => {
    const index = new LexicalIndex(plain);
    index.replace(5, 'apple');
    expect(index.has(5)).toBe(true);
    expect(index.remove(6)).toBe(false);
    expect(index.search('apple', 1)).toEqual([{ id: 5, score: expect.any(Number) }]);
  });

  it('clear() empties it and its memory estimate shrinks back', () => {
    const index = new LexicalIndex();
    const empty = index.bytes;
    for (let id = 0; id < 200; id++) index.add(id, `memory number ${id} about apples and pears`);
    expect(index.bytes).toBeGreaterThan(empty + 200 * 8);
    index.clear();
    expect(index.size).toBe(0);
    expect(index.search('apples', 5)).toEqual([]);
    expect(index.bytes).toBe(empty);
  });
});

describe('LexicalIndex - bad input', () => {
  it('refuses a second add of one id, a bad id, a bad k and bad parameters, changing nothing', () => {
    const index = new LexicalIndex(plain);
    index.add(0, 'apple');
    expect(() => index.add(0, 'pear')).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: 'The lexical index already holds id 0' }));
    expect(() => index.add(-1, 'pear')).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => index.add(1.5, 'pear')).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => index.search('apple', 0)).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: 'Expected `k` to be a positive integer, got 0' }));
    expect(() => new LexicalIndex({ b: 2 })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => new LexicalIndex({ k1: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(index.size).toBe(1);
    expect(index.search('pear', 5)).toEqual([]);
  });
});

describe('LexicalIndex.search() - the top k', () => {
  it('a document without the query\'s rarest term still wins when two other terms outweigh it', () => {
    // 'apple' is the rarest term (2 texts), so it is scored first and fills a top 2 alone; 'banana'
    // and 'cherry' (3 texts each) together outweigh it: the top 2 must be texts 2 and 3.
    const index = new LexicalIndex();
    ['apple', 'apple', 'banana cherry', 'banana cherry', 'banana cherry', 'fig', 'kiwi', 'lime', 'plum', 'pear']
      .forEach((text, id) => index.add(id, text));
    expect(index.search('apple banana cherry', 2).map((h) => h.id)).toEqual([2, 3]);
    expect(index.search('apple banana cherry', 2)).toEqual(index.search('apple banana cherry', 10).slice(0, 2));
  });

  it('is the head of the full ranking, filtered or not, over skewed and flat vocabularies', () => {
    // Skewed vocabularies (a few words in almost every text, most rare) and flat ones (close idfs).
    fc.assert(fc.property(
      fc.record({ size: fc.constantFrom(8, 60), skew: fc.constantFrom(1, 3) }),
      fc.array(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 4 }), { minLength: 30, maxLength: 300 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 20 }),
      fc.boolean(),
      ({ size, skew }, docs, query, k, filtered) => {
        const word = (r: number) => `w${Math.min(size - 1, Math.floor(size * r ** skew))}`;
        const index = new LexicalIndex();
        docs.forEach((d, id) => index.add(id, d.map(word).join(' ')));
        const allow = filtered ? Bitset.of(docs.length, docs.map((_, id) => id).filter((id) => id % 3 !== 0)) : undefined;
        const text = query.map(word).join(' ');
        const exhaustive = index.search(text, docs.length, allow).slice(0, k);
        expect(index.search(text, k, allow)).toEqual(exhaustive);
      },
    ), { numRuns: 200, seed: 5 });
  });
});

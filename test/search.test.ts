// search() and searchMany() through the public API, against the float64 reference, on every executor.
import { afterEach, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { expectSameHits, random, randomVectors, referenceSearch, type RefRow } from './helpers/data.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

type Options = Parameters<typeof OVMemory.create>[0] & { internal?: Record<string, unknown> };
async function create(options: Options): Promise<OVMemory> {
  const memory = await OVMemory.create(options);
  open.push(memory);
  return memory;
}

/** The executors every result must agree across: the calling thread, and a pool of two workers used at any size. */
const executors: [string, Partial<Options>][] = [
  ['inline', { threads: 0 }],
  ['pool', { threads: 2, internal: { poolMinRows: 0, segmentRows: 1024 } }],
];

describe('search: basics', () => {
  it('search() on an empty store returns []', async () => {
    const memory = await create({ dim: 8 });
    expect(await memory.search(new Float32Array(8).fill(1))).toEqual([]);
    expect(await memory.searchMany([new Float32Array(8).fill(1)])).toEqual([[]]);
  });

  it('ids start at 0 and go up by one per accepted memory', async () => {
    const memory = await create({ dim: 4 });
    expect(memory.add({ embedding: [1, 0, 0, 0], text: 'a' })).toBe(0);
    expect(memory.addMany([{ embedding: [0, 1, 0, 0], text: 'b' }, { embedding: [0, 0, 1, 0], text: 'c' }])).toEqual([1, 2]);
    expect(() => memory.add({ embedding: [0, 0, 0, 0], text: 'zero' })).toThrow();
    expect(memory.add({ embedding: [0, 0, 0, 1], text: 'd' })).toBe(3);
    expect(memory.size).toBe(4);
    expect([...memory.ids()]).toEqual([0, 1, 2, 3]);
  });

  it('orders equal scores by similarity, then by id', async () => {
    const memory = await create({ dim: 3 });
    // Three copies of one direction: equal scores and similarities, so ids decide.
    memory.addMany([[1, 1, 0], [1, 0, 0], [1, 1, 0], [0, 0, 1], [1, 1, 0]].map((embedding, i) => ({ embedding, text: `t${i}` })));
    const hits = await memory.search([1, 1, 0], { topK: 5, rank: 'similarity' });
    expect(hits.map((h) => h.id)).toEqual([0, 2, 4, 1, 3]);
  });

  it('returns fewer hits when topK is above the store size', async () => {
    const memory = await create({ dim: 4, logLevel: 'silent' });
    memory.addMany(randomVectors(3, 4, 1).map((embedding, i) => ({ embedding, text: `t${i}` })));
    expect(await memory.search([1, 0, 0, 0], { topK: 10 })).toHaveLength(3);
  });

  it('drops hits below minScore', async () => {
    const memory = await create({ dim: 2 });
    memory.addMany([[1, 0], [0, 1], [-1, 0]].map((embedding, i) => ({ embedding, text: `t${i}` })));
    const hits = await memory.search([1, 0], { topK: 3, rank: 'similarity', minScore: -0.5 });
    expect(hits.map((h) => h.id)).toEqual([0, 1]);
  });
});

for (const [name, options] of executors) {
  describe(`search (${name})`, () => {
    const dim = 37, count = 2_500, now = Date.UTC(2026, 0, 1);
    const vectors = randomVectors(count, dim, 11);
    const rand = random(5);
    const rows: RefRow[] = vectors.map((vector, id) => ({
      id, vector, weight: 0.25 + 2 * rand(), time: now - rand() * 5 * 86_400_000 + (id % 50 === 0 ? 3_600_000 : 0),
    }));
    const fill = async (extra: Partial<Options> = {}) => {
      const memory = await create({ dim, ...options, ...extra });
      memory.addMany(rows.map((r) => ({ embedding: r.vector as Float32Array, text: `m${r.id}`, weight: r.weight, createdAt: r.time })));
      // addMany chained the memories into the graph: the reference ranks with their centrality.
      for (const r of rows) r.centrality = memory.get(r.id)!.centrality;
      return memory;
    };

    it(`ranks by similarity like a float64 scan (${name})`, async () => {
      const memory = await fill();
      for (const [i, q] of randomVectors(5, dim, 99).entries()) {
        const hits = await memory.search(q, { topK: 10 + i, rank: 'similarity' });
        expectSameHits(hits, referenceSearch(rows, q, { rank: 'similarity', k: 11 + i }));
        expect(hits.every((h) => h.score === h.similarity)).toBe(true);
      }
    });

    it(`ranks by the 4-factor priority like the formula in float64 (${name})`, async () => {
      const memory = await fill();
      for (const alpha of [0, 0.3, 0.75, 1]) {
        const q = randomVectors(1, dim, 100 + alpha * 10)[0]!;
        const hits = await memory.search(q, { topK: 12, alpha, now });
        const want = referenceSearch(rows, q, { rank: 'priority', alpha, now, k: 13 });
        expectSameHits(hits, want, 1e-5);
        // With weights and ages in play, priority must not collapse to plain similarity.
        if (alpha === 0.3) {
          const bySimilarity = referenceSearch(rows, q, { rank: 'similarity', k: 12 }).map((h) => h.id);
          expect(hits.map((h) => h.id)).not.toEqual(bySimilarity);
        }
        for (const h of hits) {
          const f = h.factors;
          const expected = alpha === 0 || f.similarity > 0
            ? (Math.max(0.1, f.centrality) * Math.max(0.1, f.recency)) ** (1 - alpha) * f.weight * (alpha === 0 ? 1 : f.similarity ** alpha)
            : 0;
          expect(f.alpha).toBe(alpha);
          expect(Math.abs(h.score - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, expected));
        }
      }
    });

    it(`searchMany answers each query as search does (${name})`, async () => {
      const memory = await fill();
      const queries = randomVectors(70, dim, 123);
      const many = await memory.searchMany(queries, { topK: 7, now });
      expect(many).toHaveLength(70);
      // The 4-query block kernel sums in another order than the single-query one: scores agree to float32 rounding.
      for (const [i, q] of queries.entries()) {
        expectSameHits(many[i]!, referenceSearch(rows, q, { rank: 'priority', now, k: 8 }));
        expectSameHits(many[i]!, await memory.search(q, { topK: 7, now }), 1e-6);
      }
      const flat = new Float32Array(queries.length * dim);
      queries.forEach((q, i) => flat.set(q, i * dim));
      expect(await memory.searchMany(flat, { topK: 7, now })).toEqual(many);
    });

    it(`never returns a removed memory (${name})`, async () => {
      const memory = await fill();
      const q = vectors[42]!;
      const before = await memory.search(q, { topK: 5, rank: 'similarity' });
      expect(before[0]!.id).toBe(42);
      for (const h of before.slice(0, 3)) expect(memory.remove(h.id)).toBe(true);
      const after = await memory.search(q, { topK: 5, rank: 'similarity' });
      expect(after).toHaveLength(5);
      expect(after.map((h) => h.id)).not.toContain(42);
      expectSameHits(after, referenceSearch(rows.map((r) => ({ ...r, live: !before.slice(0, 3).some((h) => h.id === r.id) })), q, { rank: 'similarity', k: 6 }));
    });
  });
}

describe('search: executors', () => {
  it('inline and pool return identical results', async () => {
    const dim = 20;
    const vectors = randomVectors(3_000, dim, 3);
    const inputs = vectors.map((embedding, i) => ({ embedding, text: `m${i}`, weight: 1 + (i % 7) / 10, createdAt: 1e12 - i * 1000 }));
    const inline = await create({ dim, threads: 0 });
    const pool = await create({ dim, threads: 2, internal: { poolMinRows: 0, segmentRows: 512 } });
    inline.addMany(inputs);
    pool.addMany(inputs);
    for (const q of randomVectors(10, dim, 4)) {
      for (const rank of ['priority', 'similarity'] as const) {
        expect(await pool.search(q, { topK: 15, rank, now: 1e12 })).toEqual(await inline.search(q, { topK: 15, rank, now: 1e12 }));
      }
    }
  });

  it('a search running while addMany appends sees a consistent prefix', async () => {
    const dim = 16;
    const memory = await create({ dim, threads: 2, internal: { poolMinRows: 0, segmentRows: 256 } });
    const first = randomVectors(4_000, dim, 8);
    memory.addMany(first.map((embedding, i) => ({ embedding, text: `a${i}` })));
    const q = randomVectors(1, dim, 9)[0]!;
    const running = memory.search(q, { topK: 20, rank: 'similarity' });
    // Appends more rows (and segments, and memory growth) while the workers scan.
    memory.addMany(randomVectors(20_000, dim, 10).map((embedding, i) => ({ embedding, text: `b${i}` })));
    const hits = await running;
    expect(hits.every((h) => h.id < 4_000)).toBe(true);
    expectSameHits(hits, referenceSearch(first.map((vector, id) => ({ id, vector })), q, { rank: 'similarity', k: 21 }));
  });

  it('close() waits for searches in flight, then refuses calls', async () => {
    const dim = 16;
    const memory = await OVMemory.create({ dim, threads: 2, internal: { poolMinRows: 0 } } as Options);
    memory.addMany(randomVectors(5_000, dim, 12).map((embedding, i) => ({ embedding, text: `m${i}` })));
    const queries = randomVectors(4, dim, 13);
    const inFlight = queries.map((q) => memory.search(q, { topK: 3 }));
    await memory.close();
    const results = await Promise.all(inFlight);
    expect(results.every((r) => r.length === 3)).toBe(true);
    await expect(memory.search(queries[0]!)).rejects.toMatchObject({ code: 'CLOSED' });
    await memory.close();
  });

  it('close() is also Symbol.asyncDispose', async () => {
    const memory = await OVMemory.create({ dim: 2 });
    await (memory as unknown as AsyncDisposable)[Symbol.asyncDispose]();
    expect(() => memory.add({ embedding: [1, 0], text: 'x' })).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});

// The honeycomb graph through the public API: the degree bound and the swap, automatic links to the
// focus, centrality and hubs against a from-scratch recomputation, removal, and priority with them.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidDataError, NotFoundError, OVMemory } from '../dist/index.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

async function store(count: number, options: Record<string, unknown> = {}) {
  let now = 1_700_000_000_000;
  const memory = await OVMemory.create({ dim: 3, threads: 0, logLevel: 'silent', clock: () => now++, ...options });
  open.push(memory);
  memory.addMany(Array.from({ length: count }, (_, i) => ({ embedding: [1, i, i * i + 1], text: `node ${i}`, createdAt: 1_700_000_000_000 })), { link: 'none' });
  return memory;
}

/** Centrality straight from DESIGN: 0.6·(degree/6) + 0.4·(mean outgoing relevance). */
function centralityOf(edges: { relevance: number }[]): number {
  if (edges.length === 0) return 0;
  return 0.6 * (edges.length / 6) + 0.4 * (edges.reduce((s, e) => s + e.relevance, 0) / edges.length);
}

describe('.link() - degree bound and the swap', () => {
  it('matches a model of the rule over random link sequences', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 10 }).map((r) => r / 10)), { maxLength: 80 }),
      async (ops) => {
        const memory = await store(8);
        // The model: a list of { to, relevance, at } per node, the weakest being lowest relevance, then oldest, then highest id.
        const model = new Map<number, { to: number; relevance: number; at: number }[]>();
        let step = 0;
        for (const [from, to, relevance] of ops) {
          step++;
          if (from === to) {
            expect(() => memory.link(from, to, relevance)).toThrow(InvalidDataError);
            continue;
          }
          const edges = model.get(from) ?? [];
          model.set(from, edges);
          const existing = edges.find((e) => e.to === to);
          let expected: boolean;
          if (existing) { existing.relevance = relevance; expected = true; }
          else if (edges.length < 6) { edges.push({ to, relevance, at: step }); expected = true; }
          else {
            const weakest = [...edges].sort((a, b) => a.relevance - b.relevance || a.at - b.at || b.to - a.to)[0]!;
            expected = relevance > weakest.relevance;
            if (expected) Object.assign(weakest, { to, relevance, at: step });
          }
          expect(memory.link(from, to, relevance)).toBe(expected);
        }
        for (let id = 0; id < 8; id++) {
          const got = memory.get(id)!.edges.map((e) => `${e.to}:${e.relevance}`).sort();
          const want = (model.get(id) ?? []).map((e) => `${e.to}:${e.relevance}`).sort();
          expect(got).toEqual(want);
          expect(got.length).toBeLessThanOrEqual(6);
        }
        await memory.close();
      },
    ), { numRuns: 40, seed: 4 });
  });

  it('hubs(): the top 5 by centrality, filled with the lowest ids when fewer have edges', async () => {
    const memory = await store(10);
    expect(memory.hubs()).toEqual([0, 1, 2, 3, 4]);
    memory.link(7, 8, 0.5); memory.link(9, 8, 0.9);
    expect(memory.hubs()).toEqual([9, 7, 0, 1, 2]);
    memory.remove(0);
    expect(memory.hubs()).toEqual([9, 7, 1, 2, 3]);
  });

  it('link() rejects self-links, unknown ids, a bad relevance; an existing pair takes the new relevance', async () => {
    const memory = await store(3);
    expect(() => memory.link(1, 1, 0.5)).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: expect.stringMatching(/cannot link to itself/) }));
    expect(() => memory.link(0, 9, 0.5)).toThrow(NotFoundError);
    expect(() => memory.unlink(9, 0)).toThrow(NotFoundError);
    expect(() => memory.link(0, 1, 1.5)).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: expect.stringMatching(/`relevance`/) }));
    expect(memory.get(0)!.edges).toEqual([]);
    expect(memory.link(0, 1, 0.3, 'cause')).toBe(true);
    expect(memory.link(0, 1, 0.7)).toBe(true);
    expect(memory.get(0)!.edges).toEqual([{ to: 1, relevance: 0.7, type: 'related', createdAt: expect.any(Number) }]);
    expect(memory.unlink(0, 1)).toBe(true);
    expect(memory.unlink(0, 1)).toBe(false);
  });
});

describe('centrality and hubs', () => {
  it('stay equal to a from-scratch recomputation after random links, unlinks and removals', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(fc.tuple(fc.constantFrom('link', 'link', 'link', 'unlink', 'remove'), fc.integer({ min: 0, max: 11 }), fc.integer({ min: 0, max: 11 }), fc.double({ min: 0, max: 1, noNaN: true })), { maxLength: 120 }),
      async (ops) => {
        const memory = await store(12);
        for (const [op, a, b, r] of ops) {
          if (!memory.has(a) || !memory.has(b) || a === b) continue;
          if (op === 'link') memory.link(a, b, r);
          else if (op === 'unlink') memory.unlink(a, b);
          else memory.remove(a);
        }
        const live = [...memory.ids()];
        const expected = new Map(live.map((id) => [id, centralityOf(memory.get(id)!.edges)]));
        for (const id of live) {
          const record = memory.get(id)!;
          expect(record.edges.every((e) => memory.has(e.to))).toBe(true);
          expect(record.centrality).toBeCloseTo(expected.get(id)!, 12);
        }
        // The top 5 by centrality, ties to the lower id (memories without edges fill in, lowest ids first).
        const hubs = [...live].sort((x, y) => expected.get(y)! - expected.get(x)! || x - y).slice(0, 5);
        expect(memory.hubs()).toEqual(hubs);
        await memory.close();
      },
    ), { numRuns: 40, seed: 5 });
  });
});

describe('automatic links to the focus', () => {
  it('add() links the new memory and the focus both ways, relevance clamp01(0.7·S⁺ + 0.3·R)', async () => {
    const halfLifeMs = 1_000;
    let now = 10_000;
    const memory = await OVMemory.create({ dim: 2, threads: 0, clock: () => now, halfLifeMs });
    open.push(memory);
    memory.add({ embedding: [1, 0], text: 'first', createdAt: 8_000 });   // two half-lives old at now = 10,000
    const id = memory.add({ embedding: [0.6, 0.8], text: 'second' });
    const relevance = 0.7 * 0.6 + 0.3 * 0.25;
    expect(memory.get(id)!.edges).toEqual([{ to: 0, relevance: expect.closeTo(relevance, 6), type: 'focus', createdAt: now }]);
    expect(memory.get(0)!.edges).toEqual([{ to: id, relevance: expect.closeTo(relevance, 6), type: 'focus', createdAt: now }]);
    // Opposite directions: S⁺ = 0, only recency counts.
    now += 1_000;
    const third = memory.add({ embedding: [-0.6, -0.8], text: 'third' });
    expect(memory.get(third)!.edges[0]).toMatchObject({ to: id, relevance: expect.closeTo(0.3 * 0.5, 6) });
  });

  it('addMany() chains each item to the one before it, the first to the focus', async () => {
    const memory = await OVMemory.create({ dim: 2, threads: 0 });
    open.push(memory);
    memory.add({ embedding: [1, 0], text: 'focus' });
    const ids = memory.addMany([{ embedding: [1, 1], text: 'a' }, { embedding: [0, 1], text: 'b' }, { embedding: [1, -1], text: 'c' }]);
    expect(memory.get(ids[0]!)!.edges.map((e) => e.to).sort()).toEqual([0, ids[1]]);
    expect(memory.get(ids[1]!)!.edges.map((e) => e.to).sort()).toEqual([ids[0], ids[2]]);
    expect(memory.get(ids[2]!)!.edges.map((e) => e.to)).toEqual([ids[1]]);
  });

  it("{ link: 'none' } adds no edge but still moves the focus; removing the focus clears it", async () => {
    const memory = await OVMemory.create({ dim: 2, threads: 0 });
    open.push(memory);
    memory.add({ embedding: [1, 0], text: 'a' });
    const b = memory.add({ embedding: [0, 1], text: 'b' }, { link: 'none' });
    expect(memory.get(b)!.edges).toEqual([]);
    const c = memory.add({ embedding: [1, 1], text: 'c' });
    expect(memory.get(c)!.edges.map((e) => e.to)).toEqual([b]);
    memory.remove(c);
    expect(memory.get(b)!.edges).toEqual([]);
    const d = memory.add({ embedding: [1, 1], text: 'd' });
    expect(memory.get(d)!.edges).toEqual([]);
  });
});

describe('priority with the graph', () => {
  it('uses the real centrality, and explains each hit with it', async () => {
    const memory = await store(6);
    memory.link(2, 3, 1); memory.link(2, 4, 1); memory.link(2, 5, 0.5);
    const c2 = 0.6 * (3 / 6) + 0.4 * (2.5 / 3);
    const hits = await memory.search([1, 2, 5], { topK: 6, alpha: 0.5, now: 1_700_000_000_000 });
    const hit2 = hits.find((h) => h.id === 2)!;
    expect(hit2.factors.centrality).toBeCloseTo(c2, 12);
    expect(hit2.score).toBeCloseTo(hit2.similarity ** 0.5 * c2 ** 0.5, 9);
  });

  it('recency and weight reorder what plain cosine ranks, as the formula says', async () => {
    const now = 1_700_000_000_000, halfLifeMs = 3_600_000;
    const memory = await OVMemory.create({ dim: 3, threads: 0, halfLifeMs });
    open.push(memory);
    memory.addMany([
      { embedding: [0.9, Math.sqrt(0.19), 0], text: 'X: close but three half-lives old', createdAt: now - 3 * halfLifeMs },
      { embedding: [0.8, 0.6, 0], text: 'Y: fresh', createdAt: now },
      { embedding: [0.7, 0, Math.sqrt(0.51)], text: 'Z: fresh and important', weight: 2, createdAt: now },
    ], { link: 'none' });
    // By hand, α = 0.75, C = 0 → max(0.1, C): P_X = 0.9^.75·0.1^.25·0.125^.25 = 0.309, P_Y = 0.8^.75·0.1^.25 = 0.476, P_Z = 2·0.7^.75·0.1^.25 = 0.861.
    const priority = await memory.search([1, 0, 0], { topK: 3, now });
    expect(priority.map((h) => h.text[0])).toEqual(['Z', 'Y', 'X']);
    expect(priority.map((h) => h.score)).toEqual([expect.closeTo(0.8607, 3), expect.closeTo(0.4757, 3), expect.closeTo(0.3089, 3)]);
    const cosine = await memory.search([1, 0, 0], { topK: 3, rank: 'similarity', now });
    expect(cosine.map((h) => h.text[0])).toEqual(['X', 'Y', 'Z']);
  });
});

describe('.remove()', () => {
  it('drops the edges on both sides; the id is never returned nor reused', async () => {
    const memory = await store(4);
    memory.link(0, 1, 0.9); memory.link(1, 0, 0.9); memory.link(2, 1, 0.4);
    expect(memory.remove(1)).toBe(true);
    expect(memory.remove(1)).toBe(false);
    expect(memory.get(0)!.edges).toEqual([]);
    expect(memory.get(2)!.edges).toEqual([]);
    expect(memory.get(0)!.centrality).toBe(0);
    expect(memory.get(1)).toBeUndefined();
    expect(memory.has(1)).toBe(false);
    expect(() => memory.link(0, 1, 0.5)).toThrow(NotFoundError);
    expect((await memory.search([1, 1, 2], { topK: 4 })).map((h) => h.id)).not.toContain(1);
    expect((await memory.context([1, 1, 2])).ids).not.toContain(1);
    expect(memory.add({ embedding: [1, 1, 1], text: 'new' })).toBe(4);
  });
});

// Forgetting: TTLs and eviction under an injected clock (nothing sleeps), eviction in the priority
// order computed by hand, consolidation by dedupe, and forget by scope, ids, keys and filter.
import { describe, expect, it } from 'vitest';
import { hashingEmbedder, OVMemory } from '../dist/index.js';
import { storeTracker, tempRoot } from './helpers/stores.js';

const { track, release } = storeTracker();
const { freshDir } = tempRoot('ov-memory-forgetting-');
const HOUR = 3_600_000;

describe('ttl', () => {
  it('a memory past its TTL is not returned, leaves at the next write, and is compacted away', async () => {
    let now = 10 * HOUR;
    const dir = freshDir();
    const memory = await track(OVMemory.open(dir, { dim: 2, threads: 0, clock: () => now, ttlMs: 2 * HOUR }));
    const short = memory.add({ embedding: [1, 0], text: 'one hour', ttlMs: HOUR });
    const byDefault = memory.add({ embedding: [1, 0.1], text: 'two hours by default' });
    const kept = memory.add({ embedding: [1, 0.2], text: 'a day', ttlMs: 24 * HOUR });
    expect(memory.get(short)!.expiresAt).toBe(11 * HOUR);
    expect(memory.get(byDefault)!.expiresAt).toBe(12 * HOUR);
    now = 11 * HOUR - 1;
    expect(memory.has(short)).toBe(true);
    now = 11 * HOUR;
    expect(memory.has(short)).toBe(false);
    expect(memory.get(short)).toBeUndefined();
    expect(memory.size).toBe(2);
    expect([...memory.ids()]).toEqual([byDefault, kept]);
    expect((await memory.search([1, 0], { topK: 10, includeExpired: true })).map((h) => h.id).sort()).toEqual([byDefault, kept]);
    now = 12 * HOUR;
    memory.add({ embedding: [0, 1], text: 'a write sweeps', ttlMs: 24 * HOUR });
    await memory.checkpoint();
    await release(memory);
    const reopened = await track(OVMemory.open(dir, { threads: 0, clock: () => now }));
    expect([...reopened.ids()]).toEqual([kept, 3]);
    expect(reopened.add({ embedding: [1, 1], text: 'ids are not reused' })).toBe(4);
  });

  it('a bad TTL is INVALID_DATA', async () => {
    await expect(OVMemory.create({ dim: 2, ttlMs: -1 })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    const memory = await track(OVMemory.create({ dim: 2, threads: 0 }));
    for (const ttlMs of [0, -5, Number.NaN, '1h']) {
      expect(() => memory.add({ embedding: [1, 0], text: 't', ttlMs } as never)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    }
    expect(memory.size).toBe(0);
  });
});

describe('eviction', () => {
  it("onFull 'evict' removes the lowest max(0.1, C) · max(0.1, R) · W first, and counts it", async () => {
    const now = 100 * HOUR;
    const memory = await track(OVMemory.create({ dim: 2, threads: 0, clock: () => now, maxNodes: 4, onFull: 'evict', halfLifeMs: HOUR }));
    // C = 0 for all (no links), so P = 0.1 · max(0.1, 0.5^(age/h)) · W, computed by hand below.
    const inputs = [
      { weight: 1, age: 0 },      // 0.1 · 1     · 1 = 0.1
      { weight: 3, age: 2 },      // 0.1 · 0.25  · 3 = 0.075
      { weight: 0.5, age: 0 },    // 0.1 · 1     · 0.5 = 0.05
      { weight: 2, age: 10 },     // 0.1 · 0.1   · 2 = 0.02   (R floored at 0.1)
    ];
    const ids = inputs.map((x, i) => memory.add({ embedding: [1, i], text: `m${i}`, weight: x.weight, createdAt: now - x.age * HOUR }, { link: 'none' }));
    memory.add({ embedding: [0, 1], text: 'fifth' }, { link: 'none' });
    expect(memory.has(ids[3]!)).toBe(false);
    memory.addMany([{ embedding: [0, 1], text: 'sixth' }, { embedding: [0, 1], text: 'seventh' }], { link: 'none' });
    expect([...memory.ids()]).toEqual([ids[0], 4, 5, 6]);
    expect(memory.metrics().evicted).toBe(3);
    expect(await memory.prometheus()).toMatch(/^ov_memory_evicted_total\{store="default"\} 3$/m);
    expect(() => memory.addMany(Array.from({ length: 5 }, () => ({ embedding: [1, 0], text: 'too many' })))).toThrow(expect.objectContaining({ code: 'RESOURCE_EXHAUSTION' }));
    expect([...memory.ids()]).toEqual([ids[0], 4, 5, 6]);
  });

  it('never evicts the memory a write supersedes or that absorbs a duplicate', async () => {
    const memory = await track(OVMemory.create({ dim: 2, threads: 0, clock: () => 0, maxNodes: 2, onFull: 'evict' }));
    const weak = memory.add({ embedding: [1, 0], text: 'the sky is green', weight: 0.1 }, { link: 'none' });
    const other = memory.add({ embedding: [0, 1], text: 'something else', weight: 5 }, { link: 'none' });
    const next = memory.supersede(weak, { embedding: [1, 0.1], text: 'the sky is blue', weight: 5 }, { link: 'none' });
    expect([...memory.ids()]).toEqual([weak, next]);
    expect(memory.get(weak)!.validTo).toBe(0);
    const results = await memory.ingest([
      { embedding: [0.1, 1], text: 'a new one' },
      { embedding: [1, 0.1], text: 'the sky is blue' },
    ], { dedupe: { threshold: 0.99 }, link: 'none' });
    expect(results).toEqual([{ id: 3, deduplicated: false }, { id: next, deduplicated: true }]);
    expect([...memory.ids()]).toEqual([next, 3]);
    expect(memory.get(next)!.weight).toBe(6);
    expect(memory.has(other)).toBe(false);
  });

  it("onFull 'reject' (the default) refuses at the limit", async () => {
    const memory = await track(OVMemory.create({ dim: 2, threads: 0, maxNodes: 1 }));
    memory.add({ embedding: [1, 0], text: 'one' });
    expect(() => memory.add({ embedding: [1, 0], text: 'two' })).toThrow(expect.objectContaining({ code: 'RESOURCE_EXHAUSTION' }));
    expect(memory.metrics().evicted).toBe(0);
    await expect(OVMemory.create({ dim: 2, onFull: 'drop' as never })).rejects.toMatchObject({ code: 'INVALID_DATA' });
  });
});

describe('dedupe', () => {
  it('absorbs a near-duplicate of the same scope into the existing memory, and nothing else', async () => {
    const memory = await track(OVMemory.create({ embedder: hashingEmbedder({ dim: 256 }), threads: 0, clock: () => 5 }));
    const first = await memory.remember({ text: 'Alice prefers green tea in the morning', scope: { user: 'a' }, weight: 1 });
    const dedupe = { threshold: 0.9 };
    const results = await memory.ingest([
      { text: 'Alice prefers green tea in the morning.', scope: { user: 'a' }, weight: 2 },
      { text: 'Alice prefers green tea in the morning', scope: { user: 'b' } },
      { text: 'Alice prefers black coffee in the evening', scope: { user: 'a' } },
      { text: 'Bob walks his dog every day', scope: { user: 'a' } },
      { text: 'Bob walks his dog every day!', scope: { user: 'a' } },
      { text: 'Alice prefers green tea in the morning', scope: { user: 'a' }, key: 'explicit' },
    ], { dedupe });
    expect(results).toEqual([
      { id: first, deduplicated: true },
      { id: 1, deduplicated: false },
      { id: 2, deduplicated: false },
      { id: 3, deduplicated: false },
      { id: 3, deduplicated: true },
      { id: 4, deduplicated: false },
    ]);
    expect(memory.get(first)).toMatchObject({ weight: 3, accessCount: 1 });
    expect(memory.get(3)).toMatchObject({ weight: 2, accessCount: 1 });
    expect(memory.size).toBe(5);
    expect(await memory.remember({ text: 'Alice prefers green tea in the morning', scope: { user: 'a' } })).toBe(5);
    expect(memory.add({ embedding: memory.get(5, { embedding: true })!.embedding!, text: 'Alice prefers green tea in the morning', scope: { user: 'a' } }, { dedupe })).toBe(first);
  });

  it('a bad threshold is INVALID_DATA', async () => {
    const memory = await track(OVMemory.create({ dim: 2, threads: 0 }));
    for (const dedupe of [{ threshold: 1.5 }, { threshold: 'high' }, {}, 0.9]) {
      expect(() => memory.add({ embedding: [1, 0], text: 't' }, { dedupe } as never)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    }
    expect(memory.size).toBe(0);
  });
});

describe('forget', () => {
  async function tenants() {
    const memory = await track(OVMemory.create({ dim: 2, threads: 0, clock: () => 1 }));
    const ids = [
      memory.add({ embedding: [1, 0], text: 'a1', scope: { user: 'a', session: 's1' }, key: 'k', metadata: { kind: 'note' } }),
      memory.add({ embedding: [1, 0], text: 'a2', scope: { user: 'a', session: 's2' }, metadata: { kind: 'fact' } }),
      memory.add({ embedding: [1, 0], text: 'b1', scope: { user: 'b' }, key: 'k', metadata: { kind: 'note' } }),
      memory.add({ embedding: [1, 0], text: 'none', metadata: { kind: 'note' } }),
    ];
    memory.link(ids[2]!, ids[0]!, 0.9);
    return { memory, ids };
  }

  it('removes what matches every part of the selector, with every edge to it', async () => {
    const cases: [Record<string, unknown>, number[]][] = [
      [{ scope: { user: 'a' } }, [0, 1]],
      [{ scope: { session: 's2' } }, [1]],
      [{ ids: [0, 2, 99] }, [0, 2]],
      [{ ids: [0, 2], scope: { user: 'b' } }, [2]],
      [{ keys: ['k'], scope: { user: 'b' } }, [2]],
      [{ keys: ['k'] }, []],
      [{ filter: { kind: 'note' } }, [0, 2, 3]],
      [{ filter: { kind: 'note' }, scope: { user: 'a' } }, [0]],
    ];
    for (const [selector, gone] of cases) {
      const { memory, ids } = await tenants();
      expect(await memory.forget(selector)).toBe(gone.length);
      expect([...memory.ids()], JSON.stringify(selector)).toEqual(ids.filter((id) => !gone.includes(id)));
      for (const id of memory.ids()) for (const e of memory.get(id)!.edges) expect(gone).not.toContain(e.to);
    }
  });

  it('refuses an empty or unknown selector with INVALID_DATA and forgets nothing', async () => {
    const { memory } = await tenants();
    for (const selector of [{}, { scope: {} }, { users: 'a' }, { ids: 'all' }, { ids: [-1] }, { keys: [''] }, { filter: { $bogus: 1 } }, null]) {
      await expect(memory.forget(selector as never), JSON.stringify(selector)).rejects.toMatchObject({ code: 'INVALID_DATA' });
    }
    expect(memory.size).toBe(4);
  });
});

// .context(): seeds, triggers, guardrails, tokens and metabolism on hand-built graphs, with the
// expected injection order worked out from DESIGN's rules in the comments.
import { afterEach, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

const NOW = 1_700_000_000_000;
const Q = [1, 0, 0, 0];
/** A unit vector whose cosine with Q is `s` (the rest of its length on axis `axis`). */
const at = (s: number, axis = 1) => { const v = [s, 0, 0, 0]; v[axis] = Math.sqrt(1 - s * s); return v; };

async function graph(nodes: { s: number; text: string; weight?: number; axis?: number }[], edges: [number, number, number][], options: Record<string, unknown> = {}) {
  let now = NOW;
  const memory = await OVMemory.create({ dim: 4, threads: 0, clock: () => now, logLevel: 'silent', ...options });
  open.push(memory);
  memory.addMany(nodes.map((n) => ({ embedding: at(n.s, n.axis), text: n.text, weight: n.weight, createdAt: NOW })), { link: 'none' });
  for (const [from, to, r] of edges) memory.link(from, to, r);
  return { memory, advance: (ms: number) => { now += ms; } };
}

describe('.context() - the relevance floor', () => {
  it('injects nothing below minSimilarity (default 0.05), by any route; 0 lets everything similar in', async () => {
    // 0 and 1 are off the query (S 0.02 and 0.04); 2 is on it and links to both strongly.
    const { memory } = await graph([{ s: 0.02, text: 'off a' }, { s: 0.04, text: 'off b' }, { s: 0.9, text: 'on' }], [[2, 0, 1], [2, 1, 1]]);
    expect((await memory.context([0, 0, 0, 1])).ids).toEqual([]);                       // S = 0 for all: nothing
    expect((await memory.context(Q)).ids).toEqual([2]);
    expect((await memory.context(Q, { minSimilarity: 0.95, now: NOW + 20_000 })).ids).toEqual([]);
    expect((await memory.context(Q, { minSimilarity: 0, now: NOW + 40_000 })).ids).toEqual(expect.arrayContaining([2, 0, 1]));
    await expect(memory.context(Q, { minSimilarity: 2 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`minSimilarity`/) });
  });
});

describe('.context() - basics', () => {
  it('an empty store gives an empty context', async () => {
    const memory = await OVMemory.create({ dim: 4 });
    open.push(memory);
    expect(await memory.context(Q)).toEqual({ context: '', ids: [], tokens: 0, state: 'HEALTHY', blocked: { drift: 0, loop: 0, redundancy: 0 } });
  });

  it('the metabolic state comes from the budget', async () => {
    const { memory } = await graph([{ s: 1, text: 'a' }], []);
    const state = async (used: number) => (await memory.context(Q, { budget: { total: 100, used } })).state;
    expect(await state(20)).toBe('HEALTHY');     // 80 % left
    expect(await state(30)).toBe('STRESSED');    // 70 %: not over 70 %
    expect(await state(60)).toBe('CRITICAL');    // 40 %: not over 40 %
    expect(await state(90)).toBe('EMERGENCY');   // 10 %: not over 10 %
    await expect(memory.context(Q, { budget: { total: 0, used: 0 } })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(memory.context(Q, { maxTokens: 0 })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(memory.context(Q, { tokenizer: 'words' as never })).rejects.toMatchObject({ code: 'INVALID_DATA' });
  });
});

describe('.context() - a worked example', () => {
  it('injects the seed, a resonant neighbour, not an off-topic one, and blocks a repeat', async () => {
    // A (S 1) → B (S 0.9), C (S 0.3), E (S 0.95, same text as A); B → D (S 0.2). One seed.
    // Seed: the scan's best by priority (α 0.6, HEALTHY) is A; the closest hub (A or B) is A.
    // Hop 1, strongest edge first: B resonates (S > 0.85) → in. C: no resonance, not a hub, and
    // P = 0.3^0.6 · 0.1^0.4 = 0.19 < 0.6 → left out. E resonates but repeats A's text → redundancy.
    // Hop 2: D (S 0.2, P 0.15) → left out.
    const { memory } = await graph(
      [{ s: 1, text: 'the user likes green tea' }, { s: 0.9, text: 'the user visited Kyoto' }, { s: 0.3, text: 'weather was cold' },
        { s: 0.2, text: 'a note on trains', axis: 3 }, { s: 0.95, text: 'The user likes  green tea', axis: 2 }],
      [[0, 1, 0.9], [0, 2, 0.5], [0, 4, 0.4], [1, 3, 0.8]],
    );
    const result = await memory.context(Q, { seeds: 1, now: NOW });
    expect(result.ids).toEqual([0, 1]);
    expect(result.context).toBe('the user likes green tea\nthe user visited Kyoto');
    expect(result.tokens).toBe(Math.ceil(result.context.length / 4));
    expect(result.blocked).toEqual({ drift: 0, loop: 0, redundancy: 1 });
    expect(memory.metrics().quality).toEqual({ driftDetections: 0, loopPreventions: 0, redundancyFilters: 1 });
    expect(await memory.prometheus()).toMatch(/ov_memory_guardrail_blocks_total\{store="default",kind="redundancy"\} 1/);
  });
});

describe('.context() - triggers', () => {
  it('bridge: a hub next to the previous context node with S > 0.5 goes in; the same node that is no hub does not', async () => {
    // A → H (S 0.6, a hub: it has an edge) and A → N (S 0.6, no edges). P of each is at most
    // 0.6^0.6 · 0.3^0.4 = 0.45 < 0.6, and S < 0.85: only the bridge trigger can let them in.
    // Three more linked memories (S 0) make five with edges, so N, without any, is no hub.
    const { memory } = await graph(
      [{ s: 1, text: 'seed' }, { s: 0.6, text: 'hub' }, { s: 0.6, text: 'not a hub', axis: 2 }, { s: 0, text: 'elsewhere', axis: 3 },
        { s: 0, text: 'filler one', axis: 3 }, { s: 0, text: 'filler two', axis: 3 }, { s: 0, text: 'filler three', axis: 3 }],
      [[0, 1, 0.9], [0, 2, 0.8], [1, 3, 0.5], [4, 3, 0.1], [5, 3, 0.1], [6, 3, 0.1]],
    );
    expect(memory.hubs()).toEqual([0, 1, 4, 5, 6]);
    expect((await memory.context(Q, { seeds: 1, now: NOW })).ids).toEqual([0, 1]);
  });

  it('metabolic: P above the metabolic α lets a weighty memory in', async () => {
    // M: S 0.5, W 3: P = 0.5^0.6 · 0.1^0.4 · 3 = 0.79 > 0.6 (HEALTHY). L: S 0.5, W 1: P = 0.26.
    // The seed weighs 2 (P = 0.48^0.4 · 2 = 1.49), so it stays the one seed.
    const { memory } = await graph(
      [{ s: 1, text: 'seed', weight: 2 }, { s: 0.5, text: 'weighty', weight: 3 }, { s: 0.5, text: 'light', axis: 2 }],
      [[0, 1, 0.5], [0, 2, 0.9]],
    );
    expect((await memory.context(Q, { seeds: 1, now: NOW })).ids).toEqual([0, 1]);
    // EMERGENCY raises α to 0.95: P = 0.5^0.95 · 0.1^0.05 · 3 = 1.38 still passes.
    expect((await memory.context(Q, { seeds: 1, now: NOW, budget: { total: 10, used: 10 } })).ids).toEqual([0, 1]);
  });
});

describe('.context() - guardrails', () => {
  // A chain seed → n1 → n2 → n3 → far: far has S 0.3 and W 3.5, so P = 0.3^0.6 · 0.1^0.4 · 3.5 = 0.68 > 0.6
  // (the metabolic trigger fires), yet the seed's P (0.5^0.4 = 0.76) keeps it the one seed.
  const chain = (length: number) => graph(
    [{ s: 1, text: 'seed' }, ...Array.from({ length: length - 1 }, (_, i) => ({ s: 0.1, text: `step ${i + 1}`, axis: 2 })), { s: 0.3, text: 'far away', weight: 3.5, axis: 3 }],
    Array.from({ length }, (_, i) => [i, i + 1, 1] as [number, number, number]),
  );

  it('drift: 4 hops out with S < 0.5 is blocked; 3 hops out is not', async () => {
    const four = await chain(4);
    const r4 = await four.memory.context(Q, { seeds: 1, now: NOW });
    expect(r4.ids).toEqual([0]);
    expect(r4.blocked.drift).toBe(1);
    expect(four.memory.metrics().quality.driftDetections).toBe(1);
    const three = await chain(3);
    expect((await three.memory.context(Q, { seeds: 1, now: NOW })).ids).toEqual([0, 3]);
    // maxHops 2 never reaches it at all.
    expect((await three.memory.context(Q, { seeds: 1, now: NOW, maxHops: 2 })).ids).toEqual([0]);
  });

  it('loop: a memory accessed more than 3 times in the last 10 s is kept out', async () => {
    const { memory, advance } = await graph([{ s: 1, text: 'seed' }, { s: 0.9, text: 'other', axis: 2 }], []);
    for (let i = 0; i < 4; i++) {
      expect((await memory.context(Q, { seeds: 1 })).ids).toEqual([0]);
      advance(1_000);
    }
    const blocked = await memory.context(Q, { seeds: 1 });
    expect(blocked.ids).toEqual([]);
    expect(blocked.blocked.loop).toBe(1);
    expect(memory.get(0)).toMatchObject({ accessCount: 4, lastAccessedAt: NOW + 3_000 });
    advance(7_001);   // the first access leaves the 10 s window
    expect((await memory.context(Q, { seeds: 1 })).ids).toEqual([0]);
  });

  it('tokens: a memory that does not fit is skipped and the walk goes on', async () => {
    // 'aaaa…' (40 chars, 10 tokens) fits in 12; 'bbbb…' (40 more) would not; 'cc' (2 + 1 newline) does.
    const { memory } = await graph(
      [{ s: 1, text: 'a'.repeat(40) }, { s: 0.95, text: 'b'.repeat(40), axis: 2 }, { s: 0.9, text: 'cc', axis: 3 }],
      [[0, 1, 0.9], [0, 2, 0.8]],
    );
    const result = await memory.context(Q, { seeds: 1, maxTokens: 11, now: NOW });
    expect(result.ids).toEqual([0, 2]);
    expect(result.tokens).toBe(Math.ceil(43 / 4));
    const words = await memory.context(Q, { seeds: 1, maxTokens: 1, now: NOW + 20_000, tokenizer: (t) => t.split(/\s+/).length });
    expect(words.ids).toEqual([0]);
    expect(words.tokens).toBe(1);
  });
});

describe('.context() - accesses and the focus', () => {
  it('injection is an access and moves the focus; search is not an access', async () => {
    const { memory } = await graph([{ s: 1, text: 'seed' }, { s: 0.2, text: 'other', axis: 2 }], []);
    await memory.search(Q);
    expect(memory.get(0)!.accessCount).toBe(0);
    await memory.context(Q, { seeds: 1, now: NOW + 5 });
    expect(memory.get(0)).toMatchObject({ accessCount: 1, lastAccessedAt: NOW + 5 });
    // The focus is now memory 0, not memory 1 (the last one added).
    const id = memory.add({ embedding: at(0.5), text: 'new' });
    expect(memory.get(id)!.edges.map((e) => e.to)).toEqual([0]);
  });

  it("recency: 'accessed' ages a memory from its last injection", async () => {
    const halfLifeMs = 1_000;
    const { memory } = await graph([{ s: 1, text: 'seed' }, { s: 0.9, text: 'other', axis: 2 }], [], { recency: 'accessed', halfLifeMs });
    await memory.context(Q, { seeds: 1, now: NOW + 2_000 });
    const hits = await memory.search(Q, { topK: 2, now: NOW + 3_000 });
    expect(hits.find((h) => h.id === 0)!.factors.recency).toBeCloseTo(0.5, 12);   // one half-life since its injection
    expect(hits.find((h) => h.id === 1)!.factors.recency).toBeCloseTo(0.125, 12); // three since its creation
    // The kernel ranks with the same recency: score = S^α·(0.1·R)^(1−α)·W for each.
    for (const h of hits) expect(h.score).toBeCloseTo(h.similarity ** 0.75 * (0.1 * Math.max(0.1, h.factors.recency)) ** 0.25, 9);
  });
});

// Scopes: random memories over several users, agents and sessions, random scoped reads. No hit
// ever leaves its scope, and scoped results equal a float64 brute force over the scope's members,
// on the calling thread and on the pool, alone and with filters.
import { describe, expect, it } from 'vitest';
import { OVMemory, type Scope } from '../dist/index.js';
import { expectSameHits, random, randomVectors, referenceSearch, type RefRow } from './helpers/data.js';
import { storeTracker } from './helpers/stores.js';

const { track } = storeTracker();
const NOW = 1_700_000_000_000;
const DIM = 24;
const FIELDS = ['user', 'agent', 'session'] as const;

/** Does `member` have every field of `wanted`? Written apart from the library's own check. */
function within(member: Scope | undefined, wanted: Scope): boolean {
  return FIELDS.every((f) => wanted[f] === undefined || member?.[f] === wanted[f]);
}

function randomScope(rand: () => number): Scope | undefined {
  if (rand() < 0.15) return undefined;
  const scope: Scope = {};
  if (rand() < 0.9) scope.user = `u${Math.floor(rand() * 4)}`;
  if (rand() < 0.6) scope.agent = `a${Math.floor(rand() * 3)}`;
  if (rand() < 0.5) scope.session = `s${Math.floor(rand() * 6)}`;
  return Object.keys(scope).length === 0 ? undefined : scope;
}

async function populated(threads: number, seed: number, count = 600) {
  const rand = random(seed);
  const memory = await track(OVMemory.create({
    dim: DIM, threads, clock: () => NOW, logLevel: 'silent', internal: { poolMinRows: 0, segmentRows: 128 },
  } as never));
  const vectors = randomVectors(count, DIM, seed);
  const scopes = vectors.map(() => randomScope(rand));
  const inputs = vectors.map((v, i) => ({
    embedding: v, text: `memory ${i} about ${['tea', 'trains', 'tennis', 'tulips'][i % 4]}`, weight: 0.5 + rand(),
    metadata: { kind: ['note', 'fact', 'event'][i % 3], n: i }, ...(scopes[i] ? { scope: scopes[i] } : {}),
  }));
  for (let i = 0; i < inputs.length; i += 100) memory.addMany(inputs.slice(i, i + 100), { link: 'none' });
  return { memory, vectors, scopes, rand };
}

describe('scoped reads', () => {
  it.each([0, 2])('search: every hit in scope, equal to a float64 brute force over the members (threads %i)', async (threads) => {
    const { memory, vectors, scopes, rand } = await populated(threads, 11);
    const queries = randomVectors(40, DIM, 99);
    for (const [qi, query] of queries.entries()) {
      const wanted = randomScope(rand) ?? { user: 'u1' };
      const rank = qi % 2 === 0 ? 'similarity' : 'priority';
      const filter = qi % 3 === 0 ? { kind: 'fact' } : undefined;
      const members: RefRow[] = vectors.flatMap((vector, id) => {
        if (!within(scopes[id], wanted) || (filter && id % 3 !== 1)) return [];
        const r = memory.get(id)!;
        return [{ id, vector, weight: r.weight, centrality: r.centrality, time: r.createdAt }];
      });
      const hits = await memory.search(query, { scope: wanted, topK: 10, rank, filter, now: NOW });
      for (const h of hits) expect(within(memory.get(h.id)!.scope, wanted)).toBe(true);
      expectSameHits(hits, referenceSearch(members, query, { rank, k: 11, now: NOW }));
      expect(hits.length).toBe(Math.min(10, members.length));
    }
  });

  it('searchMany, text search and context never leave the scope', async () => {
    const { memory, vectors, scopes, rand } = await populated(0, 12);
    for (let round = 0; round < 25; round++) {
      const wanted = randomScope(rand) ?? { agent: 'a0' };
      const queries = randomVectors(3, DIM, 500 + round);
      const many = await memory.searchMany(queries, { scope: wanted, topK: 8 });
      const text = await memory.search('tea tennis memory', { scope: wanted, topK: 20, mode: 'text' });
      const context = await memory.context(queries[0]!, { scope: wanted, maxTokens: 400, minSimilarity: -1 });
      const seen = [...many.flat().map((h) => h.id), ...text.map((h) => h.id), ...context.ids];
      for (const id of seen) expect(within(scopes[id], wanted), `id ${id} in ${JSON.stringify(wanted)}`).toBe(true);
      const members = vectors.flatMap((vector, id) => (within(scopes[id], wanted) ? [{ id, vector }] : []));
      many.forEach((hits, i) => expect(hits.map((h) => h.id)).toEqual(
        referenceSearch(members.map((m) => ({ ...m, weight: memory.get(m.id)!.weight })), queries[i]!, { rank: 'priority', k: 8, now: NOW }).map((h) => h.id),
      ));
    }
  });

  it('a context walk does not cross into another scope over an edge', async () => {
    const memory = await track(OVMemory.create({ dim: 3, threads: 0, clock: () => NOW }));
    const mine = memory.add({ embedding: [1, 0, 0], text: 'mine', scope: { user: 'me' } });
    const theirs = memory.add({ embedding: [0.9, 0.1, 0], text: 'theirs, very relevant', scope: { user: 'them' } });
    memory.link(mine, theirs, 1, 'related');
    const result = await memory.context([1, 0, 0], { scope: { user: 'me' }, minSimilarity: -1 });
    expect(result.ids).toEqual([mine]);
    expect((await memory.context([1, 0, 0], { minSimilarity: -1 })).ids.sort()).toEqual([mine, theirs]);
  });

  it('ids() and scopes() list each scope with its count; keys are unique within one exact scope', async () => {
    const { memory, scopes } = await populated(0, 13, 200);
    const counts = new Map<string, number>();
    for (const s of scopes) if (s) counts.set(JSON.stringify([s.user ?? null, s.agent ?? null, s.session ?? null]), (counts.get(JSON.stringify([s.user ?? null, s.agent ?? null, s.session ?? null])) ?? 0) + 1);
    const listed = memory.scopes();
    expect(listed.reduce((n, s) => n + s.count, 0)).toBe(scopes.filter(Boolean).length);
    for (const { scope, count } of listed) expect(count).toBe(counts.get(JSON.stringify([scope.user ?? null, scope.agent ?? null, scope.session ?? null])));
    expect([...memory.ids({ scope: { user: 'u2' } })]).toEqual(scopes.flatMap((s, id) => (s?.user === 'u2' ? [id] : [])));

    const a = memory.add({ embedding: [1, ...new Array(DIM - 1).fill(0)], text: 'profile', key: 'profile', scope: { user: 'x' } });
    const b = memory.add({ embedding: [1, ...new Array(DIM - 1).fill(0)], text: 'profile', key: 'profile', scope: { user: 'y' } });
    expect(memory.getByKey('profile', { scope: { user: 'x' } })!.id).toBe(a);
    expect(memory.getByKey('profile', { scope: { user: 'y' } })!.id).toBe(b);
    expect(memory.getByKey('profile')).toBeUndefined();
    expect(() => memory.add({ embedding: [1, ...new Array(DIM - 1).fill(0)], text: 'again', key: 'profile', scope: { user: 'x' } })).toThrow(expect.objectContaining({ code: 'DUPLICATE_KEY' }));
    expect(memory.removeByKey('profile', { scope: { user: 'x' } })).toBe(true);
    expect(memory.getByKey('profile', { scope: { user: 'y' } })!.id).toBe(b);
  });

  it('a new memory links to the focus of its own scope only', async () => {
    const memory = await track(OVMemory.create({ dim: 2, threads: 0, clock: () => NOW }));
    const a1 = memory.add({ embedding: [1, 0], text: 'a one', scope: { user: 'a' } });
    const b1 = memory.add({ embedding: [1, 0], text: 'b one', scope: { user: 'b' } });
    const a2 = memory.add({ embedding: [1, 0.1], text: 'a two', scope: { user: 'a' } });
    expect(memory.get(a2)!.edges.map((e) => e.to)).toEqual([a1]);
    expect(memory.get(b1)!.edges).toEqual([]);
  });

  it('rejects a bad scope with INVALID_DATA and changes nothing; a scope never changes by update', async () => {
    const memory = await track(OVMemory.create({ dim: 2, threads: 0 }));
    const id = memory.add({ embedding: [1, 0], text: 'kept', scope: { user: 'u' } });
    const bad: unknown[] = [{ user: '' }, { user: 7 }, { tenant: 'x' }, 'u', { user: 'x'.repeat(257) }, null];
    for (const scope of bad) {
      expect(() => memory.add({ embedding: [1, 0], text: 't', scope } as never)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
      await expect(memory.search([1, 0], { scope } as never)).rejects.toMatchObject({ code: 'INVALID_DATA' });
    }
    expect(() => memory.update(id, { scope: { user: 'other' } } as never)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(memory.size).toBe(1);
    expect(memory.get(id)!.scope).toEqual({ user: 'u' });
    expect(memory.get(id + 1)).toBeUndefined();
  });
});

// What the facade promises beyond the basics, through the public API: updates of text and
// embedding, what upsert keeps, accesses that survive a reopen, options saved with a store, and
// the smaller rules (size after close, a non-integer id).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { storeTracker, tempRoot } from './helpers/stores.js';

const { root } = tempRoot('ov-memory-facade-');
const { track, release } = storeTracker();
const axis = (i: number) => Float32Array.from({ length: 4 }, (_, j) => (j === i ? 1 : 0));

describe('.update() of text and embedding', () => {
  it('keeps the id, edges and history; searches see the new vector and text, never the old', async () => {
    const memory = await track(OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent' }));
    memory.addMany([{ embedding: axis(0), text: 'apples' }, { embedding: axis(1), text: 'pears' }]);
    const edges = memory.get(0)!.edges;
    memory.update(0, { text: 'bananas', embedding: axis(2) });
    expect(memory.get(0)).toMatchObject({ id: 0, text: 'bananas', edges });
    expect(memory.get(0, { embedding: true })!.embedding).toEqual(axis(2));
    const hits = await memory.search(axis(2), { topK: 2, rank: 'similarity' });
    expect(hits.map((h) => [h.id, h.similarity])).toEqual([[0, 1], [1, 0]]);
    // The new text matches; the old one matches nothing (1 comes along only as 0's graph neighbour).
    expect((await memory.search('bananas', { mode: 'text' })).map((h) => [h.id, h.factors.textRank])).toEqual([[0, 1], [1, null]]);
    expect(await memory.search('apples', { mode: 'text' })).toEqual([]);
    expect(() => memory.update(0, { key: 'k' } as never)).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => memory.update(0, { embedding: [0, 0, 0, 0] })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(memory.get(0, { embedding: true })!.embedding).toEqual(axis(2));
  });
});

describe('.upsert()', () => {
  it('gives the key a new id that keeps the old memory\'s edges, both ways, and its history', async () => {
    const memory = await track(OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent', clock: () => 1_000 }));
    memory.addMany([{ embedding: axis(0), text: 'a', key: 'a' }, { embedding: axis(1), text: 'b' }, { embedding: axis(2), text: 'c' }], { link: 'none' });
    memory.link(0, 1, 0.9, 'curated');
    memory.link(2, 0, 0.8, 'cites');
    await memory.context(axis(0), { now: 5_000, minSimilarity: 0.5 });
    const id = memory.upsert({ embedding: axis(0), text: 'a, revised', key: 'a' }, { link: 'none' });
    expect(id).toBe(3);
    expect(memory.has(0)).toBe(false);
    expect(memory.getByKey('a')).toMatchObject({ id: 3, text: 'a, revised', accessCount: 1, lastAccessedAt: 5_000 });
    expect(memory.get(3)!.edges).toEqual([expect.objectContaining({ to: 1, relevance: 0.9, type: 'curated' })]);
    expect(memory.get(2)!.edges).toEqual([expect.objectContaining({ to: 3, relevance: 0.8, type: 'cites' })]);
  });
});

describe('a durable store keeps what shapes it', () => {
  it('accesses of a context survive a reopen without a checkpoint', async () => {
    const dir = path.join(root, 'accesses');
    const memory = await track(OVMemory.open(dir, { dim: 4, threads: 0, logLevel: 'silent', recency: 'accessed', halfLifeMs: 1_000 }));
    memory.add({ embedding: axis(0), text: 'a', createdAt: 0 });
    await memory.context(axis(0), { now: 10_000 });
    const before = (await memory.search(axis(0), { now: 10_000 }))[0]!.factors.recency;
    expect(before).toBe(1);
    await release(memory);
    const reopened = await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent' }));
    expect(reopened.get(0)).toMatchObject({ accessCount: 1, lastAccessedAt: 10_000 });
    // recency 'accessed' and the half-life came back with the store.
    expect((await reopened.search(axis(0), { now: 10_000 }))[0]!.factors.recency).toBe(before);
    expect((await reopened.search(axis(0), { now: 11_000 }))[0]!.factors.recency).toBeCloseTo(0.5, 12);
  });

  it('options given to open() win over the saved ones, with a warning naming them; export() carries them', async () => {
    const dir = path.join(root, 'options');
    const memory = await track(OVMemory.open(dir, { dim: 4, threads: 0, logLevel: 'silent', halfLifeMs: 1_000, maxTopK: 7 }));
    memory.add({ embedding: axis(0), text: 'a', createdAt: 0 });
    const bytes = await memory.export();
    await release(memory);
    const warnings: unknown[][] = [];
    const logger = { debug() {}, info() {}, warn: (...a: unknown[]) => warnings.push(a), error() {} };
    const reopened = await track(OVMemory.open(dir, { threads: 0, logger, halfLifeMs: 2_000 }));
    expect((await reopened.search(axis(0), { now: 2_000 }))[0]!.factors.recency).toBeCloseTo(0.5, 12);
    await expect(reopened.search(axis(0), { topK: 8 })).rejects.toMatchObject({ code: 'INVALID_DATA' });   // maxTopK 7 was kept
    expect(warnings.some(([message, fields]) => /differ from the ones saved/.test(String(message)) && JSON.stringify(fields).includes('halfLifeMs'))).toBe(true);
    const imported = await track(OVMemory.import(bytes, { threads: 0, logLevel: 'silent' }));
    expect((await imported.search(axis(0), { now: 1_000 }))[0]!.factors.recency).toBeCloseTo(0.5, 12);
  });
});

describe('smaller rules', () => {
  it('size after close() is CLOSED; a non-integer id to link is INVALID_DATA, an unknown one NOT_FOUND', async () => {
    const memory = await OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent' });
    memory.addMany([{ embedding: axis(0), text: 'a' }, { embedding: axis(1), text: 'b' }]);
    expect(() => memory.link(1.5, 0, 0.5)).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: expect.stringMatching(/`from`/) }));
    expect(() => memory.link(0, 9, 0.5)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(memory.link(0, 1, 0.5)).toBe(true);
    expect(memory.link(0, 1, 0.2)).toBe(true);   // sets, not adds: an existing edge takes the new relevance
    expect(memory.get(0)!.edges.find((e) => e.to === 1)!.relevance).toBe(0.2);
    await memory.close();
    expect(() => memory.size).toThrow(expect.objectContaining({ code: 'CLOSED' }));
  });
});

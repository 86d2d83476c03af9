// Validity in time: asOf at every boundary (validFrom inclusive, validTo exclusive), supersession
// chains, and the same answers after a log replay, from a snapshot and through export/import.
import { describe, expect, it } from 'vitest';
import { hashingEmbedder, OVMemory } from '../dist/index.js';
import { storeTracker, tempRoot } from './helpers/stores.js';

const { track, release } = storeTracker();
const { freshDir } = tempRoot('ov-memory-validity-');
const q = [1, 0, 0];
const idsAt = async (m: OVMemory, options: Record<string, unknown>) => (await m.search(q, { topK: 50, rank: 'similarity', ...options })).map((h) => h.id).sort((a, b) => a - b);

describe('validity', () => {
  it('asOf sees a memory from validFrom (inclusive) to validTo (exclusive); by default, now', async () => {
    let now = 150;
    const memory = await track(OVMemory.create({ dim: 3, threads: 0, clock: () => now }));
    const bounded = memory.add({ embedding: [1, 0, 0], text: 'bounded', validFrom: 100, validTo: 200 });
    const open = memory.add({ embedding: [1, 0.1, 0], text: 'always' });
    const from = memory.add({ embedding: [1, 0.2, 0], text: 'from 100', validFrom: 100 });
    const to = memory.add({ embedding: [1, 0.3, 0], text: 'until 200', validTo: 200 });
    const at = (t: number) => idsAt(memory, { asOf: t });
    expect(await at(99)).toEqual([open, to]);
    expect(await at(100)).toEqual([bounded, open, from, to]);
    expect(await at(199)).toEqual([bounded, open, from, to]);
    expect(await at(200)).toEqual([open, from]);
    expect(await idsAt(memory, {})).toEqual([bounded, open, from, to]);
    now = 250;
    expect(await idsAt(memory, {})).toEqual([open, from]);
    expect(await idsAt(memory, { includeExpired: true })).toEqual([bounded, open, from, to]);
    expect((await memory.context(q, { asOf: 99, minSimilarity: -1 })).ids.sort()).toEqual([open, to]);
    expect(memory.get(bounded)).toMatchObject({ validFrom: 100, validTo: 200 });
    expect(memory.get(open)!.validFrom).toBeUndefined();
  });

  it('update moves validity; validTo at or before validFrom is INVALID_DATA and changes nothing', async () => {
    const memory = await track(OVMemory.create({ dim: 3, threads: 0, clock: () => 0 }));
    const id = memory.add({ embedding: [1, 0, 0], text: 'x', validFrom: 10 });
    memory.update(id, { validTo: 20 });
    expect(memory.get(id)).toMatchObject({ validFrom: 10, validTo: 20 });
    expect(() => memory.update(id, { validTo: 10 })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => memory.update(id, { validFrom: 25 })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => memory.add({ embedding: [1, 0, 0], text: 'y', validFrom: 5, validTo: 5 })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => memory.add({ embedding: [1, 0, 0], text: 'y', validFrom: Number.NaN })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(memory.get(id)).toMatchObject({ validFrom: 10, validTo: 20 });
    expect(memory.size).toBe(1);
  });

  it('supersede chains: each memory is true in its own span, linked to the one it replaced', async () => {
    let now = 1_000;
    const memory = await track(OVMemory.create({ dim: 3, threads: 0, clock: () => now }));
    const v0 = memory.add({ embedding: [1, 0, 0], text: 'lives in Lyon', scope: { user: 'u' } });
    now = 2_000;
    const v1 = memory.supersede(v0, { embedding: [1, 0.1, 0], text: 'lives in Oslo' });
    now = 3_000;
    const v2 = memory.supersede(v1, { embedding: [1, 0.2, 0], text: 'lives in Rome', validFrom: 2_500 });
    expect(memory.get(v0)).toMatchObject({ validTo: 2_000 });
    expect(memory.get(v1)).toMatchObject({ validFrom: 2_000, validTo: 2_500, scope: { user: 'u' } });
    expect(memory.get(v2)).toMatchObject({ validFrom: 2_500, scope: { user: 'u' } });
    expect(memory.get(v2)!.edges.find((e) => e.type === 'supersedes')!.to).toBe(v1);
    expect(memory.get(v1)!.edges.find((e) => e.type === 'supersedes')!.to).toBe(v0);
    expect(await idsAt(memory, { asOf: 1_500 })).toEqual([v0]);
    expect(await idsAt(memory, { asOf: 2_000 })).toEqual([v1]);
    expect(await idsAt(memory, { asOf: 2_499 })).toEqual([v1]);
    expect(await idsAt(memory, {})).toEqual([v2]);
    expect(await idsAt(memory, { includeExpired: true })).toEqual([v0, v1, v2]);
  });

  it('a refused supersede changes nothing: unknown id, another scope, a start before the old one', async () => {
    const memory = await track(OVMemory.create({ dim: 3, threads: 0, clock: () => 500 }));
    const old = memory.add({ embedding: [1, 0, 0], text: 'old', scope: { user: 'u' }, validFrom: 400 });
    expect(() => memory.supersede(99, { embedding: [1, 0, 0], text: 'n' })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => memory.supersede(old, { embedding: [1, 0, 0], text: 'n', scope: { user: 'v' } })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => memory.supersede(old, { embedding: [1, 0, 0], text: 'n', validFrom: 300 })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => memory.supersede(old, { embedding: [0, 0, 0], text: 'n' })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(memory.size).toBe(1);
    expect(memory.get(old)!.validTo).toBeUndefined();
    expect(memory.add({ embedding: [1, 0, 0], text: 'next' })).toBe(1);
  });

  it('remember({ supersedes }) is the text twin of supersede', async () => {
    const memory = await track(OVMemory.create({ embedder: hashingEmbedder({ dim: 64 }), threads: 0, clock: () => 10 }));
    const old = await memory.remember({ text: 'the meeting is on Monday' });
    const id = await memory.remember({ text: 'the meeting moved to Tuesday' }, { supersedes: old });
    expect(memory.get(old)!.validTo).toBe(10);
    expect(memory.get(id)!.edges).toContainEqual(expect.objectContaining({ to: old, type: 'supersedes' }));
    expect((await memory.search('when is the meeting?')).map((h) => h.id)).toEqual([id]);
    await expect(memory.rememberMany([{ text: 'a' }, { text: 'b' }], { supersedes: id })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(memory.remember({ text: 'c' }, { supersedes: 42 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('replay, snapshot and export give the same answers at every time', async () => {
    let now = 1_000;
    const dir = freshDir();
    const options = { dim: 3, threads: 0, clock: () => now };
    let memory = await track(OVMemory.open(dir, options));
    const a = memory.add({ embedding: [1, 0, 0], text: 'a', validFrom: 500, scope: { agent: 'x' } });
    memory.add({ embedding: [1, 0.1, 0], text: 'b', validTo: 1_500 });
    now = 2_000;
    memory.supersede(a, { embedding: [1, 0.2, 0], text: 'a2' });
    memory.add({ embedding: [1, 0.3, 0], text: 'c', validFrom: 2_500, ttlMs: 1e9 });
    const times = [0, 499, 500, 1_499, 1_500, 1_999, 2_000, 2_499, 2_500, 9_999];
    const answers = async (m: OVMemory) => Promise.all(times.map(async (t) => [await idsAt(m, { asOf: t }), await idsAt(m, { asOf: t, scope: { agent: 'x' } })]));
    const records = (m: OVMemory) => [...m.ids()].map((id) => m.get(id));
    const expected = await answers(memory);
    const expectedRecords = records(memory);
    await release(memory);
    memory = await track(OVMemory.open(dir, options));
    expect(await answers(memory)).toEqual(expected);
    expect(records(memory)).toEqual(expectedRecords);
    await memory.checkpoint();
    await release(memory);
    memory = await track(OVMemory.open(dir, options));
    expect(await answers(memory)).toEqual(expected);
    const imported = await track(OVMemory.import(await memory.export(), { threads: 0, clock: () => now }));
    expect(await answers(imported)).toEqual(expected);
    expect(records(imported)).toEqual(expectedRecords);
  });
});

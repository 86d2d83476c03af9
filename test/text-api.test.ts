// Text in, hybrid out, through the public API: remember with an embedder, string queries through
// both channels, the lexical index kept by every write and by replay, filters in both channels,
// and embedder failures that change nothing.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeTracker, tempRoot } from './helpers/stores.js';
import { type Embedder, hashingEmbedder, OVMemory } from '../dist/index.js';
import { random } from './helpers/data.js';

const { root } = tempRoot('ov-memory-text-');
const { track, release } = storeTracker();

const notes = [
  'Alice: I adopted a cat named Tom last week',
  'Bob: my car broke down on the highway',
  'Alice: Tom the cat loves tuna and sleeping',
  'Bob: I am training for a marathon in May',
  'Alice: we painted the kitchen yellow',
];

describe('remember() and a string search()', () => {
  it('stores texts without vectors and finds them by a question, explaining each hit', async () => {
    const memory = await track(OVMemory.create({ embedder: hashingEmbedder({ dim: 64 }), threads: 0, logLevel: 'silent' }));
    expect(memory.dim).toBe(64);
    const first = await memory.remember({ text: notes[0]!, metadata: { who: 'alice' } });
    expect(first).toBe(0);
    expect(await memory.rememberMany(notes.slice(1).map((text) => ({ text, metadata: { who: text.startsWith('Alice') ? 'alice' : 'bob' } })))).toEqual([1, 2, 3, 4]);
    const hits = await memory.search('which marathon is Bob training for?', { topK: 3 });
    expect(hits[0]!.id).toBe(3);
    expect(hits[0]!.factors).toMatchObject({ textRank: 1, vectorRank: expect.any(Number), lexical: expect.any(Number) });
    expect(hits[0]!.factors.lexical).toBeGreaterThan(0);
    // A vector given with remember is stored as it is; the embedder is not called for it.
    const own = Float32Array.from({ length: 64 }, (_, i) => (i === 3 ? 1 : 0));
    const id = await memory.remember({ text: 'a note with its own vector', embedding: own });
    expect(memory.get(id, { embedding: true })!.embedding).toEqual(own);
  });

  it('filters exclude in both channels', async () => {
    const memory = await track(OVMemory.create({ embedder: hashingEmbedder({ dim: 64 }), threads: 0, logLevel: 'silent' }));
    await memory.rememberMany(notes.map((text) => ({ text, metadata: { who: text.startsWith('Alice') ? 'alice' : 'bob' } })), { link: 'none' });
    for (const mode of ['hybrid', 'vector', 'text'] as const) {
      const hits = await memory.search('the cat Tom and the car', { topK: 5, mode, filter: { who: 'bob' } });
      expect(hits.length).toBeGreaterThan(0);
      expect(hits.every((h) => h.metadata.who === 'bob')).toBe(true);
    }
  });

  it('without an embedder a string searches the lexical index; vectors and hybrid need one', async () => {
    const memory = await track(OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent' }));
    memory.addMany(notes.map((text, i) => ({ embedding: [1, i, 0, 0], text })), { link: 'none' });
    expect((await memory.search('kitchen'))[0]!.id).toBe(4);
    await expect(memory.search('kitchen', { mode: 'hybrid' })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/embedder/) });
    await expect(memory.remember({ text: 'no vector' })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(memory.context('kitchen')).rejects.toMatchObject({ code: 'INVALID_DATA' });
    expect(memory.size).toBe(notes.length);
  });
});

describe('the lexical index follows every write', () => {
  it('after random adds, text updates, removals and a reopen it answers as a store built from the survivors', async () => {
    const rand = random(9);
    const words = ['cat', 'car', 'tuna', 'marathon', 'kitchen', 'yellow', 'highway', 'sleep', 'paint', 'train'];
    const sentence = () => Array.from({ length: 3 + Math.floor(rand() * 5) }, () => words[Math.floor(rand() * words.length)]).join(' ');
    const dir = path.join(root, 'lexical');
    const memory = await track(OVMemory.open(dir, { dim: 4, threads: 0, logLevel: 'silent', durability: 'none' }));
    const live = new Map<string, string>();
    for (let i = 0; i < 120; i++) {
      const r = rand();
      const keys = [...live.keys()];
      if (r < 0.5 || keys.length === 0) {
        const key = `k${i}`, text = sentence();
        memory.add({ embedding: [1, 0, 0, 0], text, key, createdAt: 1_000 }, { link: 'none' });
        live.set(key, text);
      } else if (r < 0.75) {
        const key = keys[Math.floor(rand() * keys.length)]!, text = sentence();
        memory.update(memory.getByKey(key)!.id, { text });
        live.set(key, text);
      } else {
        const key = keys[Math.floor(rand() * keys.length)]!;
        memory.removeByKey(key);
        live.delete(key);
      }
    }
    await memory.flush();
    await release(memory);
    const reopened = await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent' }));
    const rebuilt = await track(OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent' }));
    for (const [key, text] of live) rebuilt.add({ embedding: [1, 0, 0, 0], text, key, createdAt: 1_000 }, { link: 'none' });
    for (const query of ['cat tuna', 'marathon', 'yellow kitchen paint', 'highway car sleep']) {
      const answer = async (m: OVMemory) => (await m.search(query, { topK: 20, mode: 'text', now: 1_000 })).map((h) => [h.key, h.score.toFixed(9)]);
      expect(await answer(reopened)).toEqual(await answer(rebuilt));
    }
  });
});

describe('embedder failures change nothing', () => {
  const dim = 8;
  const base = hashingEmbedder({ dim });
  const faulty = (embed: Embedder['embed']): Embedder => ({ dim, embed });
  const cases: [string, Embedder, string][] = [
    ['throws', faulty(() => { throw new Error('model crashed'); }), 'EMBEDDER_FAULT'],
    ['rejects', faulty(async () => { throw new Error('HTTP 500'); }), 'EMBEDDER_FAULT'],
    ['never answers', faulty(() => new Promise(() => {})), 'EMBEDDER_FAULT'],
    ['answers the wrong dimension', faulty((texts) => texts.map(() => new Float32Array(dim + 1).fill(1))), 'INVALID_DATA'],
    ['answers NaN', faulty((texts) => texts.map(() => new Float32Array(dim).fill(Number.NaN))), 'INVALID_DATA'],
    ['answers a zero vector', faulty((texts) => texts.map(() => new Float32Array(dim))), 'INVALID_DATA'],
    ['answers too few vectors', faulty((texts) => base.embed(texts.slice(1))), 'INVALID_DATA'],
  ];
  for (const [name, embedder, code] of cases) {
    it(`an embedder that ${name}: ${code}, no memory stored, no id spent`, async () => {
      const memory = await track(OVMemory.create({ embedder, threads: 0, logLevel: 'silent' }));
      memory.add({ embedding: base.embed(['kept'])[0]!, text: 'kept' });
      await expect(memory.rememberMany([{ text: 'one' }, { text: 'two' }], { timeoutMs: 50 })).rejects.toMatchObject({ code });
      await expect(memory.search('one', { mode: 'vector', timeoutMs: 50 })).rejects.toMatchObject({ code });
      expect(memory.size).toBe(1);
      expect(memory.add({ embedding: base.embed(['next'])[0]!, text: 'next' })).toBe(1);
      if (code === 'EMBEDDER_FAULT') expect(memory.errors(1)[0]).toMatchObject({ operation: 'search', code });
    });
  }

  it('an aborted remember is ABORTED and stores nothing', async () => {
    const memory = await track(OVMemory.create({ embedder: faulty(() => new Promise(() => {})), threads: 0, logLevel: 'silent' }));
    const controller = new AbortController();
    const pending = memory.remember({ text: 'x' }, { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'ABORTED' });
    expect(memory.size).toBe(0);
  });
});

describe('long deadlines', () => {
  it('a timeoutMs past setTimeout\'s 2³¹ − 1 ms is honoured, never turned into an instant one', async () => {
    const memory = await track(OVMemory.create({ embedder: { dim: 4, embed: () => new Promise(() => {}) }, threads: 0, logLevel: 'silent' }));
    const controller = new AbortController();
    const pending = memory.search('x', { mode: 'vector', timeoutMs: 3e9, signal: controller.signal }).catch((e: { code: string }) => e.code);
    const early = await Promise.race([pending, new Promise((resolve) => setTimeout(() => resolve('still waiting'), 100))]);
    expect(early).toBe('still waiting');
    controller.abort();
    expect(await pending).toBe('ABORTED');
  });
});

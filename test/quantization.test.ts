// Quantized stores (int8 and binary codes, reranked exactly in float32) through the public API:
// against a float64 scan when the oversampling covers every row, against a float32 store at the
// default oversampling, with filters, priority, searchMany, removals, deadlines, both executors,
// context, the durable store (reopen and kill -9) and the option's validation.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { testExecutors } from './fixtures/executors.js';
import { codedSimilarity } from './helpers/codes.js';
import { expectSameHits, random, randomVectors, referenceSearch, type RefRow } from './helpers/data.js';
import { storeTracker, tempRoot } from './helpers/stores.js';

const { track, release } = storeTracker();
const { root, freshDir } = tempRoot('ov-memory-quantized-');

const dim = 37;
const n = 2_000;
const vectors = randomVectors(n, dim, 19);
const queries = randomVectors(6, dim, 20);
const rand = random(21);
const items = vectors.map((embedding, i) => ({
  embedding, text: `m${i}`, weight: 0.5 + rand(), createdAt: 1e12 - rand() * 5 * 86_400_000, metadata: { tag: i % 3 },
}));
const NOW = 1e12;
const unit = (v: Float32Array) => { const s = Math.hypot(...v); return Float32Array.from(v, (x) => x / s); };
const rows: RefRow[] = vectors.map((v, id) => ({ id, vector: unit(v), weight: items[id]!.weight, time: items[id]!.createdAt }));

type Settings = { quantization?: 'none' | 'int8' | 'binary'; oversample?: number; threads?: number; internal?: Record<string, unknown> };

async function filled(settings: Settings) {
  const memory = await track(OVMemory.create({
    dim, logLevel: 'silent', threads: 0, ...settings, internal: { poolMinRows: 0, segmentRows: 512, ...settings.internal },
  } as never));
  memory.addMany(items, { link: 'none' });
  return memory;
}

/** Covers every row: k × oversample ≥ n for the k used below. */
const COVERING = Math.ceil(n / 5);
const asRef = (hits: { id: number; score: number; similarity: number }[]) => hits.map(({ id, score, similarity }) => ({ id, score, similarity }));

for (const quantization of ['int8', 'binary'] as const) {
  for (const [executor, threads] of [['inline', 0], ['pool', 2]] as const) {
    describe(`quantization '${quantization}' (${executor})`, () => {
      it(`with oversampling that covers every row, search is the float64 scan's top k, by similarity and by priority (${quantization}, ${executor})`, async () => {
        const memory = await filled({ quantization, oversample: COVERING, threads });
        for (const query of queries) {
          const bySimilarity = await memory.search(query, { topK: 5, rank: 'similarity' });
          expectSameHits(asRef(bySimilarity), referenceSearch(rows, query, { rank: 'similarity', k: 6 }), 1e-6);
          const byPriority = await memory.search(query, { topK: 5, now: NOW });
          expectSameHits(asRef(byPriority), referenceSearch(rows, query, { rank: 'priority', now: NOW, k: 6 }), 1e-6);
        }
      });

      it(`searchMany (the block kernel over codes) and filters agree with the float64 scan (${quantization}, ${executor})`, async () => {
        const memory = await filled({ quantization, oversample: COVERING, threads });
        const lists = await memory.searchMany(queries, { topK: 5, rank: 'similarity' });
        queries.forEach((query, i) => expectSameHits(asRef(lists[i]!), referenceSearch(rows, query, { rank: 'similarity', k: 6 }), 1e-6));
        const tagged = rows.filter((r) => r.id % 3 === 1);
        const filtered = await memory.searchMany(queries, { topK: 5, now: NOW, filter: { tag: 1 } });
        queries.forEach((query, i) => expectSameHits(asRef(filtered[i]!), referenceSearch(tagged, query, { rank: 'priority', now: NOW, k: 6 }), 1e-6));
      });
    });
  }
}

describe("quantization 'int8' at its default oversampling", () => {
  it('returns the ids of a float32 store, with filters, priority and searchMany, on both executors', async () => {
    for (const threads of [0, 2]) {
      const float32 = await filled({ threads });
      const int8 = await filled({ quantization: 'int8', threads });
      for (const options of [{ rank: 'similarity' as const }, { now: NOW }, { now: NOW, filter: { tag: { $in: [0, 2] } } }, { rank: 'similarity' as const, filter: { tag: 2 } }]) {
        const want = await float32.searchMany(queries, { topK: 10, ...options });
        const got = await int8.searchMany(queries, { topK: 10, ...options });
        expect(got.map((list) => list.map((h) => h.id))).toEqual(want.map((list) => list.map((h) => h.id)));
        got.flat().forEach((hit, i) => expect(hit.similarity).toBeCloseTo(want.flat()[i]!.similarity, 6));
        for (const [q, query] of queries.entries()) {
          expect((await int8.search(query, { topK: 10, ...options })).map((h) => h.id)).toEqual(want[q]!.map((h) => h.id));
        }
      }
      await release(float32);
      await release(int8);
    }
  });

  it('scoped searches (the allow-mask of scopes, validity in time) return the ids of a float32 store', async () => {
    const scoped = items.map((item, i) => ({ ...item, scope: { user: `u${i % 4}`, ...(i % 2 ? { session: 's1' } : {}) }, ...(i % 5 === 0 ? { validTo: NOW - 1 } : {}) }));
    const make = async (settings: Settings) => {
      const memory = await track(OVMemory.create({ dim, logLevel: 'silent', threads: 0, ...settings, internal: { segmentRows: 512 } } as never));
      memory.addMany(scoped, { link: 'none' });
      return memory;
    };
    const float32 = await make({}), int8 = await make({ quantization: 'int8' });
    for (const options of [{ scope: { user: 'u1' } }, { scope: { user: 'u3', session: 's1' }, rank: 'similarity' as const }, { scope: { user: 'u2' }, asOf: NOW }]) {
      const want = await float32.searchMany(queries, { topK: 10, now: NOW, ...options });
      expect(want.flat().length).toBeGreaterThan(0);
      expect((await int8.searchMany(queries, { topK: 10, now: NOW, ...options })).map((l) => l.map((h) => h.id))).toEqual(want.map((l) => l.map((h) => h.id)));
    }
  });

  it('context() walks from the same seeds as a float32 store', async () => {
    const float32 = await filled({});
    const int8 = await filled({ quantization: 'int8' });
    for (const query of queries) {
      const want = await float32.context(query, { now: NOW, maxTokens: 400 });
      const got = await int8.context(query, { now: NOW, maxTokens: 400 });
      expect(got.ids).toEqual(want.ids);
    }
  });
});

describe('quantized rows: the rerank', () => {
  it('hits keep the very similarity a float32 store gives them: the rerank does a float32 scan\'s arithmetic', async () => {
    const float32 = await filled({});
    for (const quantization of ['int8', 'binary'] as const) {
      const coded = await filled({ quantization, oversample: COVERING });
      for (const query of queries) {
        const want = await float32.search(query, { topK: 8, rank: 'similarity' });
        const got = await coded.search(query, { topK: 8, rank: 'similarity' });
        expect(got.map((h) => [h.id, h.similarity])).toEqual(want.map((h) => [h.id, h.similarity]));
        expect(got.every((h) => !('approximate' in h))).toBe(true);
      }
    }
  });

  it('binary candidates are rescored by their int8 codes before the float32 rerank: a binary scan keeping every row answers as an int8 store', async () => {
    const int8 = await filled({ quantization: 'int8', oversample: 4 });
    const binary = await filled({ quantization: 'binary', oversample: COVERING });
    // With a single candidate per hit, the int8 stage has nothing to choose from: the Hamming order shows.
    const hammingOnly = await filled({ quantization: 'binary', oversample: 1 });
    let differs = false;
    for (const query of queries) {
      const want = await int8.search(query, { topK: 5, rank: 'similarity' });
      expect((await binary.search(query, { topK: 5, rank: 'similarity' })).map((h) => [h.id, h.similarity])).toEqual(want.map((h) => [h.id, h.similarity]));
      differs ||= (await hammingOnly.search(query, { topK: 5, rank: 'similarity' })).some((h, i) => h.id !== want[i]!.id);
    }
    expect(differs).toBe(true);
  });

  for (const quantization of ['int8', 'binary'] as const) {
    // Binary rows: the bit scan's candidates (here every row) are ranked by their int8 codes.
    it(`rerank: false returns the codes' own ranking and similarities, marked approximate (${quantization})`, async () => {
      const memory = await filled({ quantization, ...(quantization === 'binary' ? { oversample: COVERING } : {}) });
      for (const query of queries) {
        const q = unit(query);
        const byCodes = rows.map((r) => ({ id: r.id, similarity: codedSimilarity('int8', q, r.vector) }))
          .sort((a, b) => b.similarity - a.similarity || a.id - b.id);
        const hits = await memory.search(query, { topK: 5, rank: 'similarity', rerank: false });
        expect(hits).toHaveLength(5);
        hits.forEach((hit, i) => {
          expect(hit.approximate).toBe(true);
          expect(hit.similarity).toBeCloseTo(byCodes[i]!.similarity, 5);
          expect(hit.id).toBe(byCodes[i]!.id);
        });
      }
    });
  }

  it('int8 rows of 300 dimensions (read in two parts, past a tail bound) answer as the float64 scan, with filters and priority', async () => {
    const wide = 300, centres = randomVectors(20, wide, 60), noise = randomVectors(3_000, wide, 61), pick = random(62);
    const clustered = noise.map((v) => { const c = centres[Math.floor(pick() * 20)]!; return unit(Float32Array.from(v, (x, j) => c[j]! + 0.5 * x)); });
    const wideItems = clustered.map((embedding, i) => ({ embedding, text: `w${i}`, weight: 0.5 + pick(), createdAt: NOW - pick() * 5 * 86_400_000, metadata: { tag: i % 3 } }));
    const wideRows: RefRow[] = clustered.map((vector, id) => ({ id, vector, weight: wideItems[id]!.weight, time: wideItems[id]!.createdAt }));
    for (const threads of [0, 2]) {
      const memory = await track(OVMemory.create({ dim: wide, logLevel: 'silent', threads, quantization: 'int8', internal: { poolMinRows: 0, segmentRows: 512 } } as never));
      memory.addMany(wideItems, { link: 'none' });
      for (const [i, jitter] of randomVectors(6, wide, 63).entries()) {
        const query = unit(Float32Array.from(centres[i]!, (x, j) => x + 0.5 * jitter[j]!));
        expectSameHits(asRef(await memory.search(query, { topK: 5, rank: 'similarity' })), referenceSearch(wideRows, query, { rank: 'similarity', k: 6 }), 1e-6);
        expectSameHits(asRef(await memory.search(query, { topK: 5, now: NOW })), referenceSearch(wideRows, query, { rank: 'priority', now: NOW, k: 6 }), 1e-6);
        const allowed = wideRows.filter((r) => r.id % 3 !== 1);
        expectSameHits(asRef(await memory.search(query, { topK: 5, rank: 'similarity', filter: { tag: { $ne: 1 } } })), referenceSearch(allowed, query, { rank: 'similarity', k: 6 }), 1e-6);
        // The codes' own ranking (rerank: false) is the float64 ranking of the codes among the allowed rows.
        const byCodes = allowed.map((r) => ({ id: r.id, similarity: codedSimilarity('int8', query, r.vector) })).sort((a, b) => b.similarity - a.similarity || a.id - b.id);
        const approximate = await memory.search(query, { topK: 5, rank: 'similarity', filter: { tag: { $ne: 1 } }, rerank: false });
        approximate.forEach((hit, i) => { expect(hit.id).toBe(byCodes[i]!.id); expect(hit.similarity).toBeCloseTo(byCodes[i]!.similarity, 5); });
      }
      await release(memory);
    }
  });

  it('a binary scan keeps at least a share of the store, whatever k × oversample is', async () => {
    // Oversampling 1 keeps 5 rows by their bits; a share of 1 keeps every row, which then ranks as an int8 store's codes do.
    const everyRow = await filled({ quantization: 'binary', oversample: 1, internal: { binaryCandidateShare: 1 } });
    const fewRows = await filled({ quantization: 'binary', oversample: 1, internal: { binaryCandidateShare: 0 } });
    let differ = 0;
    for (const query of queries) {
      const q = unit(query);
      const byCodes = rows.map((r) => ({ id: r.id, s: codedSimilarity('int8', q, r.vector) })).sort((a, b) => b.s - a.s || a.id - b.id);
      const hits = await everyRow.search(query, { topK: 5, rank: 'similarity', rerank: false });
      expect(hits.map((h) => h.id)).toEqual(byCodes.slice(0, 5).map((r) => r.id));
      const few = await fewRows.search(query, { topK: 5, rank: 'similarity', rerank: false });
      if (few.map((h) => h.id).join() !== hits.map((h) => h.id).join()) differ++;
    }
    // Five rows by their bits alone miss some of the int8 codes' best five.
    expect(differ).toBeGreaterThan(0);
  });

  it('rerank is ignored by a float32 store and checked like every option', async () => {
    const float32 = await filled({});
    const query = queries[0]!;
    const hits = await float32.search(query, { topK: 5, rank: 'similarity', rerank: false });
    expect(hits).toEqual(await float32.search(query, { topK: 5, rank: 'similarity' }));
    expect(hits.every((h) => !('approximate' in h))).toBe(true);
    const int8 = await filled({ quantization: 'int8' });
    for (const bad of ['no', 0, null]) {
      await expect(int8.search(query, { rerank: bad } as never)).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`rerank` to be true or false/) });
    }
  });

  it('the float32 bytes kept outside the WebAssembly memory are reported, in metrics() and to Prometheus', async () => {
    const float32 = await filled({});
    expect(float32.metrics().vectorsOutsideBytes).toBe(0);
    for (const quantization of ['int8', 'binary'] as const) {
      const memory = await filled({ quantization });
      const bytes = memory.metrics().vectorsOutsideBytes;
      // Whole segments of 512 rows are held: 2,000 rows take 4 of them.
      expect(bytes).toBe(4 * 512 * dim * 4);
      expect(await memory.prometheus()).toMatch(new RegExp(`^ov_memory_vectors_outside_bytes\\{store="default"\\} ${bytes}$`, 'm'));
    }
  });
});

describe('quantized rows: changes', () => {
  it('a removed memory is never returned and an updated embedding is searched by its new vector', async () => {
    const memory = await filled({ quantization: 'int8', oversample: COVERING });
    const query = queries[0]!;
    const first = await memory.search(query, { topK: 3, rank: 'similarity' });
    memory.remove(first[0]!.id);
    memory.update(first[1]!.id, { embedding: query.map((x) => -x) });
    const live = rows.filter((r) => r.id !== first[0]!.id && r.id !== first[1]!.id);
    const after = await memory.search(query, { topK: 5, rank: 'similarity' });
    expectSameHits(asRef(after), referenceSearch(live, query, { rank: 'similarity', k: 6 }), 1e-6);
    // The far side of the query now finds the updated memory first, at similarity 1.
    const [flipped] = await memory.search(query.map((x) => -x), { topK: 1, rank: 'similarity' });
    expect(flipped).toMatchObject({ id: first[1]!.id, similarity: expect.closeTo(1, 6) });
  });

  it('get() returns the float32 unit vector kept outside the wasm memory', async () => {
    const memory = await filled({ quantization: 'binary' });
    for (const id of [0, 511, 512, 1999]) expect(Array.from(memory.get(id, { embedding: true })!.embedding!)).toEqual(Array.from(unit(vectors[id]!)));
  });
});

describe('quantized rows: deadlines', () => {
  for (const [executor, threads] of [['inline', 0], ['pool', 2]] as const) {
    it(`a held int8 scan stops with TIMEOUT or ABORTED and the store goes on (${executor})`, async () => {
      const hooks = { holdScan: true };
      const memory = await filled({ quantization: 'int8', threads, internal: { executors: testExecutors(hooks) } });
      await expect(memory.search(queries[0]!, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      await expect(memory.searchMany(queries, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
      hooks.holdScan = false;
      expect(await memory.search(queries[0]!, { topK: 3 })).toHaveLength(3);
    });
  }
});

describe('quantized rows: options', () => {
  it.each([
    [{ quantization: 'int4' }, /`quantization`/],
    [{ quantization: 8 }, /`quantization`/],
    [{ quantization: 'int8', oversample: 0 }, /`oversample` to be a number from 1 to 1000, got 0/],
    [{ quantization: 'int8', oversample: Number.NaN }, /`oversample`/],
    [{ quantization: 'binary', oversample: '4' }, /`oversample`/],
    [{ oversample: 1001 }, /`oversample`/],
  ])('rejects %j with INVALID_DATA', async (options, message) => {
    await expect(OVMemory.create({ dim: 4, ...options } as never)).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(message) });
  });
});

describe('quantized rows: the durable store', () => {
  const small = vectors.slice(0, 300);
  /** Binary codes with no oversampling rank by Hamming distance: what a float32 store would never return. */
  const hammingOnly = { quantization: 'binary' as const, oversample: 1 };

  it('the quantization is saved: a reopened store (log replay, then snapshot) scans the codes it was made with', async () => {
    const dir = freshDir();
    const memory = await track(OVMemory.open(dir, { dim, threads: 0, logLevel: 'silent', ...hammingOnly }));
    memory.addMany(small.map((embedding, i) => ({ embedding, text: `m${i}` })), { link: 'none' });
    const found = async (m: OVMemory) => (await m.searchMany(queries, { topK: 8, rank: 'similarity' })).map((l) => l.map((h) => [h.id, h.similarity]));
    const before = await found(memory);
    const float32 = await track(OVMemory.create({ dim, threads: 0, logLevel: 'silent' }));
    float32.addMany(small.map((embedding, i) => ({ embedding, text: `m${i}` })), { link: 'none' });
    expect(await found(float32)).not.toEqual(before);
    await release(memory);
    const replayed = await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent' }));
    expect(await found(replayed)).toEqual(before);
    await replayed.checkpoint();
    await release(replayed);
    const fromSnapshot = await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent' }));
    expect(await found(fromSnapshot)).toEqual(before);
    // export() carries it too.
    const copy = await track(OVMemory.import(await fromSnapshot.export(), { threads: 0, logLevel: 'silent' }));
    expect(await found(copy)).toEqual(before);
  });

  it('keeps its float32 vectors on disk in vectors.f32, and answers exactly as an in-memory store of the same rows', async () => {
    const dir = freshDir();
    const file = path.join(dir, 'vectors.f32');
    for (const quantization of ['int8', 'binary'] as const) {
      for (const threads of [0, 2]) {
        fs.rmSync(dir, { recursive: true, force: true });
        const durable = await track(OVMemory.open(dir, { dim, threads, logLevel: 'silent', quantization, internal: { poolMinRows: 0, segmentRows: 512 } } as never));
        durable.addMany(items, { link: 'none' });
        const inMemory = await filled({ quantization, threads });
        // Every full chunk of 256 rows is on disk; only the newest rows wait in memory.
        expect(fs.statSync(file).size).toBe(Math.floor(n / 256) * 256 * dim * 4);
        expect(durable.metrics().vectorsOutsideBytes).toBeLessThanOrEqual(256 * dim * 4);
        expect(inMemory.metrics().vectorsOutsideBytes).toBeGreaterThanOrEqual(n * dim * 4);
        const answers = async (m: OVMemory) => [
          ...(await m.searchMany(queries, { topK: 6, rank: 'similarity' })),
          ...(await Promise.all(queries.map((q) => m.search(q, { topK: 6, now: NOW, filter: { tag: { $ne: 1 } } })))),
        ].map((hits) => hits.map((h) => [h.id, h.similarity]));   // scores differ in the 13th digit: each store counts time from its own start
        const expected = await answers(inMemory);
        expect(await answers(durable)).toEqual(expected);
        for (const id of [0, 255, 256, n - 1]) expect(durable.get(id, { embedding: true })!.embedding).toEqual(inMemory.get(id, { embedding: true })!.embedding);
        await durable.checkpoint();
        await release(durable);
        expect(fs.existsSync(file), 'the file is removed at close').toBe(false);
        const reopened = await track(OVMemory.open(dir, { threads, logLevel: 'silent', internal: { poolMinRows: 0, segmentRows: 512 } } as never));
        expect(await answers(reopened)).toEqual(expected);
        await release(reopened);
        await release(inMemory);
      }
    }
  });

  it('a vector taken out of the store (forgotten, removed or replaced) leaves no copy in vectors.f32', async () => {
    const dir = freshDir();
    const memory = await track(OVMemory.open(dir, { dim, threads: 0, logLevel: 'silent', quantization: 'int8' }));
    memory.addMany(items, { link: 'none' });
    const bytesOf = (id: number) => Buffer.from(memory.get(id, { embedding: true })!.embedding!.buffer);
    const gone = [3, 100, 700, n - 2].map((id) => ({ id, bytes: bytesOf(id) }));
    const onDisk = () => fs.readFileSync(path.join(dir, 'vectors.f32'));
    // Rows up to 1791 are written (seven chunks of 256); the row of n - 2 still waits in memory.
    gone.forEach(({ id, bytes }) => expect(onDisk().includes(bytes), `id ${id}`).toBe(id < 1792));
    await memory.forget({ ids: [3] });
    memory.remove(100);
    memory.update(700, { embedding: vectors[701]! });
    memory.remove(n - 2);   // still in memory, not yet written
    memory.addMany(randomVectors(300, dim, 22).map((embedding) => ({ embedding, text: 'more' })), { link: 'none' });   // the chunk of n - 2 is written now
    const file = onDisk();
    for (const { id, bytes } of gone) expect(file.includes(bytes), `id ${id}`).toBe(false);
    expect(file.includes(bytesOf(700)), 'the replacement is there').toBe(true);
    const [best] = await memory.search(vectors[701]!, { topK: 2, rank: 'similarity' });
    expect(best!.similarity).toBeCloseTo(1, 6);
  });

  it('a quantized store written by a process killed with SIGKILL reopens with every acknowledged memory, searchable', async () => {
    const dir = freshDir();
    const project = path.join(root, 'project');
    fs.mkdirSync(path.join(project, 'node_modules'), { recursive: true });
    fs.symlinkSync(path.resolve(__dirname, '..'), path.join(project, 'node_modules', 'ov-memory'));
    fs.copyFileSync(path.join(__dirname, 'fixtures/crash-writer.mjs'), path.join(project, 'crash-writer.mjs'));
    const acknowledged = new Map<number, number>();
    const child = spawn(process.execPath, [path.join(project, 'crash-writer.mjs'), dir, '0', 'int8'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) { const [id, i] = line.split(' ').map(Number); acknowledged.set(id!, i!); }
        // Killed once it has acknowledged a few hundred writes, whatever the machine's speed.
        if (acknowledged.size >= 200) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    // The killed process left its float32 vectors' file: the open rebuilds it rather than reading it.
    const floats = path.join(dir, 'vectors.f32');
    expect(fs.existsSync(floats)).toBe(true);
    fs.writeFileSync(floats, Buffer.alloc(fs.statSync(floats).size + 4096, 0x7f));
    const memory = await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent', durability: 'always' }));
    for (const [id, i] of acknowledged) {
      expect(memory.get(id)?.metadata.i, `id ${id} was acknowledged`).toBe(i);
      const vector = memory.get(id, { embedding: true })!.embedding!;
      const [best] = await memory.search(vector, { topK: 1, rank: 'similarity' });
      expect(best!.similarity).toBeCloseTo(1, 6);
    }
  });
});

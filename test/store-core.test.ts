// The store's core through the public API: log-first writes that change nothing when the journal
// fails (a real full disk), a journal that then fails closed, and a model-based run of concurrent
// calls with failures, whose log replays to exactly the live store.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTracker, tempRoot } from './helpers/stores.js';
import { OVMemory } from '../dist/index.js';
import { random, randomVectors } from './helpers/data.js';

const { root } = tempRoot('ov-memory-core-');
const { track, release } = storeTracker();

/** Everything a caller can see of a store: records (with edges and history), hubs, and a search. */
async function observe(memory: OVMemory, query: Float32Array) {
  const ids = [...memory.ids()];
  return {
    size: memory.size,
    ids,
    records: ids.map((id) => memory.get(id, { embedding: true })).map((r) => ({ ...r!, embedding: Array.from(r!.embedding!) })),
    byKey: ids.map((id) => memory.get(id)!.key).filter((k) => k !== undefined).map((k) => memory.getByKey(k!)?.id),
    hubs: memory.hubs(),
    hits: (await memory.search(query, { topK: 10, now: 2e12 })).map((h) => [h.id, h.score]),
  };
}

const mount = (dir: string, size: string) => execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
const canMount = (() => {
  const probe = path.join(root, 'probe');
  fs.mkdirSync(probe);
  try {
    mount(probe, '64k');
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  }
})();

describe('a full disk', () => {
  const disk = path.join(root, 'disk');
  beforeAll(() => {
    fs.mkdirSync(disk);
    if (canMount) mount(disk, '2m');
  });
  afterAll(() => {
    if (canMount) execFileSync('umount', [disk]);
  });

  // Mounting a tmpfs needs root (CI and the developers' machines run as root); elsewhere it is skipped.
  it.runIf(canMount)('a write the journal cannot take changes nothing; the store then refuses writes, reads on, and reopens to what was acknowledged', async () => {
    const dir = path.join(disk, 'store');
    const dim = 32;
    const memory = await track(OVMemory.open(dir, { dim, durability: 'always', threads: 0, logLevel: 'silent' }));
    const vectors = randomVectors(2_000, dim, 5);
    const acknowledged: number[] = [];
    let failure: unknown;
    for (let i = 0; i < vectors.length && !failure; i++) {
      const before = await observe(memory, vectors[0]!);
      try {
        acknowledged.push(memory.add({ embedding: vectors[i]!, text: `memory ${i} ${'x'.repeat(9_000)}`, key: `k${i}`, metadata: { i } }));
      } catch (error) {
        failure = error;
        // Exactly as before the call: nothing of the refused memory is visible anywhere.
        expect(await observe(memory, vectors[0]!)).toEqual(before);
        expect(memory.getByKey(`k${i}`)).toBeUndefined();
      }
    }
    expect(failure).toMatchObject({ code: 'STORAGE_FAULT' });
    expect((failure as Error).cause).toMatchObject({ code: 'ENOSPC' });
    expect(acknowledged.length).toBeGreaterThan(10);
    expect(acknowledged).toEqual(acknowledged.map((_, i) => i));

    // Failed closed: even a tiny write is refused now, with the same code; reads go on.
    const after = await observe(memory, vectors[0]!);
    expect(() => memory.add({ embedding: vectors[0]!, text: 'tiny' })).toThrow(expect.objectContaining({ code: 'STORAGE_FAULT' }));
    expect(() => memory.update(0, { weight: 2 })).toThrow(expect.objectContaining({ code: 'STORAGE_FAULT' }));
    expect(() => memory.remove(0)).toThrow(expect.objectContaining({ code: 'STORAGE_FAULT' }));
    expect(await observe(memory, vectors[0]!)).toEqual(after);
    const health = memory.health();
    expect(health.status).toBe('CRITICAL');
    expect(health.reasons.join(' ')).toMatch(/journal/);

    await release(memory);
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    const reopened = await track(OVMemory.open(dir, { durability: 'always', threads: 0, logLevel: 'silent' }));
    expect(reopened.size).toBe(acknowledged.length);
    expect([...reopened.ids()]).toEqual(acknowledged);
    const { hits: _liveHits, ...live } = after;
    const { hits: _reopenedHits, ...again } = await observe(reopened, vectors[0]!);
    expect(again).toEqual(live);
  });
});

describe('concurrent calls with failures, against a model', () => {
  it('no call\'s effects are lost or applied twice, and the log replays to the live store', async () => {
    const dim = 8;
    const dir = path.join(root, 'model');
    const memory = await track(OVMemory.open(dir, { dim, durability: 'none', threads: 0, logLevel: 'silent' }));
    const rand = random(77);
    const vector = () => Float32Array.from({ length: dim }, () => rand() * 2 - 1);
    /** The model: what each live id must hold. */
    const model = new Map<number, { text: string; weight: number; metadata: Record<string, unknown> }>();
    let nextId = 0;
    const pick = () => [...model.keys()][Math.floor(rand() * model.size)];
    let contexts = 0;

    for (let round = 0; round < 40; round++) {
      const calls: Promise<unknown>[] = [];
      for (let c = 0; c < 6; c++) {
        const kind = rand();
        if (kind < 0.3) {
          const text = `m${nextId}`;
          const weight = 1 + Math.floor(rand() * 3);
          const id = memory.add({ embedding: vector(), text, weight, metadata: { round } });
          expect(id).toBe(nextId++);
          model.set(id, { text, weight, metadata: { round } });
        } else if (kind < 0.4) {
          // A rejected add: no id spent, nothing changed.
          expect(() => memory.add({ embedding: new Float32Array(dim), text: 'zero' })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
        } else if (kind < 0.5 && model.size > 0) {
          const id = pick()!;
          const weight = 0.5 + rand();
          memory.update(id, { weight, metadata: { updated: round } });
          model.set(id, { ...model.get(id)!, weight, metadata: { updated: round } });
        } else if (kind < 0.6 && model.size > 2) {
          const id = pick()!;
          expect(memory.remove(id)).toBe(true);
          model.delete(id);
        } else if (kind < 0.7 && model.size > 1) {
          const [from, to] = [pick()!, pick()!];
          if (from !== to) memory.link(from, to, rand(), 'related');
          expect(() => memory.link(from, 10_000, 0.5)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
        } else if (kind < 0.85) {
          // An async call: its accesses and focus are written when its scan comes back, whatever
          // the calls beside it did meanwhile.
          contexts++;
          calls.push(memory.context(vector(), { now: 1_000 + round }));
        } else {
          calls.push(memory.search(vector(), { topK: 3 }));
          calls.push(memory.search(vector(), { topK: 0 }).then(() => { throw new Error('accepted topK 0'); }, (e: { code: string }) => expect(e.code).toBe('INVALID_DATA')));
        }
      }
      await Promise.all(calls);
    }
    expect(contexts).toBeGreaterThan(5);
    expect(memory.size).toBe(model.size);
    for (const [id, want] of model) expect(memory.get(id)).toMatchObject(want);
    const injected = [...memory.ids()].reduce((n, id) => n + memory.get(id)!.accessCount, 0);
    expect(injected).toBeGreaterThan(0);

    const live = await observe(memory, vector());
    await memory.flush();
    await release(memory);
    const reopened = await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent' }));
    const { hits: _a, ...liveState } = live;
    const { hits: _b, ...replayed } = await observe(reopened, vector());
    expect(replayed).toEqual(liveState);
    // And the next id continues after every id ever handed out.
    expect(reopened.add({ embedding: vector(), text: 'after' })).toBe(nextId);
  });
});

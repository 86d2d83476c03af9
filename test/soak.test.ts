// A bounded soak: concurrent callers with random deadlines and aborts, mixed with mutations, against
// a model, on an in-memory and a durable store (pooled scans), then the durable one reopened and
// compared. Every search either fails with TIMEOUT or ABORTED, or answers hits that are right: live
// when answered, scored as the float64 cosine of the stored vector, in order.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { cosine, random, randomVectors } from './helpers/data.js';
import { storeTracker, tempRoot } from './helpers/stores.js';

const { root } = tempRoot('ov-memory-soak-');
const { track, release } = storeTracker();
const dim = 32;

async function soak(memory: OVMemory, seed: number) {
  const rand = random(seed);
  const pool = randomVectors(4_000, dim, seed);
  const model = new Map<number, { text: string; vector: Float32Array }>();
  const put = (i: number) => {
    const id = memory.add({ embedding: pool[i]!, text: `m${i}`, key: `k${i}` });
    model.set(id, { text: `m${i}`, vector: pool[i]! });
  };
  const initial = memory.addMany(pool.slice(0, 3_000).map((embedding, i) => ({ embedding, text: `m${i}`, key: `k${i}` })));
  initial.forEach((id, i) => model.set(id, { text: `m${i}`, vector: pool[i]! }));
  let next = 3_000, answered = 0, checked = 0;
  const outcomes = { completed: 0, TIMEOUT: 0, ABORTED: 0 };

  for (let round = 0; round < 30; round++) {
    const calls: Promise<void>[] = [];
    for (let c = 0; c < 8; c++) {
      const query = pool[Math.floor(rand() * pool.length)]!;
      const controller = new AbortController();
      const timeoutMs = [1, 3, 20, 60_000][Math.floor(rand() * 4)]!;
      const abortAt = rand();
      if (abortAt < 0.3) setTimeout(() => controller.abort(), Math.floor(rand() * 5));
      calls.push(memory.search(query, { topK: 10, rank: 'similarity', timeoutMs, signal: controller.signal }).then((hits) => {
        outcomes.completed++;
        answered++;
        hits.forEach((h, i) => {
          const stored = model.get(h.id);
          expect(stored, `hit ${h.id} is live`).toBeDefined();
          expect(Math.abs(h.similarity - cosine(query, stored!.vector))).toBeLessThan(1e-5);
          if (i > 0) expect(hits[i - 1]!.score).toBeGreaterThanOrEqual(h.score);
          checked++;
        });
      }, (error: { code: string }) => {
        expect(['TIMEOUT', 'ABORTED']).toContain(error.code);
        outcomes[error.code as 'TIMEOUT' | 'ABORTED']++;
      }));
      // Some callers go away while their scan is in flight, before it could have finished.
      if (abortAt > 0.9) controller.abort();
      // Mutations between the searches in flight: adds, removals, a rejected write.
      if (rand() < 0.5 && next < pool.length) put(next++);
      if (rand() < 0.3) {
        const ids = [...model.keys()];
        const id = ids[Math.floor(rand() * ids.length)]!;
        expect(memory.remove(id)).toBe(true);
        model.delete(id);
      }
      if (rand() < 0.1) expect(() => memory.add({ embedding: new Float32Array(dim), text: 'zero' })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    }
    await Promise.all(calls);
  }
  expect(outcomes.completed).toBeGreaterThan(0);
  expect(outcomes.TIMEOUT + outcomes.ABORTED).toBeGreaterThan(0);
  expect(checked).toBeGreaterThan(answered);
  // The store holds exactly the model, and the breaker never saw the callers' deadlines as faults.
  expect(memory.size).toBe(model.size);
  for (const [id, m] of model) expect(memory.get(id)?.text).toBe(m.text);
  expect(memory.metrics().breaker).toMatchObject({ state: 'CLOSED', failures: 0 });
  expect(memory.health().status).not.toBe('CRITICAL');
  return model;
}

describe('soak', () => {
  it('an in-memory store (pooled scans) under deadlines, aborts and mutations', async () => {
    const memory = await track(OVMemory.create({ dim, threads: 2, logLevel: 'silent', internal: { poolMinRows: 0 } } as never));
    await soak(memory, 11);
  });

  it('a durable store under the same, reopened to exactly what it acknowledged', async () => {
    const dir = path.join(root, 'durable');
    const memory = await track(OVMemory.open(dir, { dim, threads: 2, logLevel: 'silent', durability: 'batch', internal: { poolMinRows: 0 } } as never));
    const model = await soak(memory, 12);
    await release(memory);
    const reopened = await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent' }));
    expect([...reopened.ids()]).toEqual([...model.keys()].sort((a, b) => a - b));
    for (const [id, m] of model) {
      const r = reopened.get(id, { embedding: true })!;
      expect(r.text).toBe(m.text);
      expect(cosine(r.embedding!, m.vector)).toBeGreaterThan(1 - 1e-6);
    }
  });
});

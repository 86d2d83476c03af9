// Timeouts and aborts mid-scan, made deterministic by the internal hook that holds every kernel
// until its request's cancel word is set: nothing here races a big store against a timer.
import { afterEach, describe, expect, it } from 'vitest';
import { AbortedError, OperationTimeoutError, OVMemory } from '../dist/index.js';
import { expectSameHits, randomVectors, referenceSearch } from './helpers/data.js';
import { testExecutors } from './fixtures/executors.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

const dim = 24;
const vectors = randomVectors(3_000, dim, 21);

for (const [name, threads] of [['inline', 0], ['pool', 2]] as const) {
  describe(`deadlines (${name})`, () => {
    async function held() {
      const hooks = { holdScan: true };
      const memory = await OVMemory.create({ dim, threads, logLevel: 'silent', internal: { poolMinRows: 0, executors: testExecutors(hooks) } } as never);
      open.push(memory);
      memory.addMany(vectors.map((embedding, i) => ({ embedding, text: `m${i}` })));
      return { memory, hooks };
    }

    it(`timeoutMs stops a running scan with TIMEOUT, and the store stays usable (${name})`, async () => {
      const { memory, hooks } = await held();
      const error = await memory.search(vectors[0]!, { timeoutMs: 30 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OperationTimeoutError);
      expect(error).toMatchObject({ code: 'TIMEOUT', message: expect.stringMatching(/within 30 ms \(timeoutMs\)/) });
      hooks.holdScan = false;
      const hits = await memory.search(vectors[0]!, { topK: 4, rank: 'similarity' });
      expectSameHits(hits, referenceSearch(vectors.map((vector, id) => ({ id, vector })), vectors[0]!, { rank: 'similarity', k: 5 }));
      expect(memory.metrics().errorsByCode.TIMEOUT).toBe(1);
      // A caller's timeout is not an engine fault.
      expect(memory.metrics().breaker).toMatchObject({ state: 'CLOSED', failures: 0 });
    });

    it(`an AbortSignal stops a running scan with ABORTED (${name})`, async () => {
      const { memory } = await held();
      const controller = new AbortController();
      const running = memory.search(vectors[1]!, { signal: controller.signal }).catch((e: unknown) => e);
      controller.abort(new Error('user went away'));
      const error = await running;
      expect(error).toBeInstanceOf(AbortedError);
      expect(error).toMatchObject({ code: 'ABORTED', name: 'AbortError' });
      expect((error as Error).cause).toMatchObject({ message: 'user went away' });
    });

    it(`a signal aborted before the call rejects at once (${name})`, async () => {
      const { memory } = await held();
      await expect(memory.searchMany([vectors[0]!], { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'ABORTED' });
    });

    it(`one caller's timeout never cancels another's search (${name})`, async () => {
      const { memory, hooks } = await held();
      const controller = new AbortController();
      const other = memory.search(vectors[2]!, { signal: controller.signal, timeoutMs: 60_000 }).then(() => 'completed', (e: { code: string }) => e.code);
      await expect(memory.search(vectors[3]!, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'TIMEOUT' });
      const settled = await Promise.race([other, new Promise((r) => setTimeout(() => r('still running'), 50))]);
      expect(settled).toBe('still running');
      hooks.holdScan = false;
      controller.abort();
      // The held kernel sees its own cancel word only now.
      expect(await other).toBe('ABORTED');
    });
  });
}

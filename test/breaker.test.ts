// The circuit breaker: its transitions with an injected clock, and graceful degradation of the
// worker pool with injected engine faults (a worker that throws, exits or traps).
import { afterEach, describe, expect, it } from 'vitest';
import { CircuitOpenError, EngineFaultError, OVMemory, OVMemoryError } from '../dist/index.js';
import { CircuitBreaker, type BreakerState } from '../src/resilience/breaker.js';
import { expectSameHits, randomVectors, referenceSearch } from './helpers/data.js';
import { type ScanHooks, testExecutors } from './fixtures/executors.js';

describe('CircuitBreaker', () => {
  const make = () => {
    let now = 1_000;
    const transitions: string[] = [];
    const breaker = new CircuitBreaker({
      failureThreshold: 5, recoveryMs: 60_000, successThreshold: 2, clock: () => now,
      onTransition: (from, to) => transitions.push(`${from}>${to}`),
    });
    return { breaker, transitions, advance: (ms: number) => { now += ms; } };
  };

  it('opens after 5 consecutive failures, not after 4', () => {
    const { breaker, transitions } = make();
    for (let i = 0; i < 4; i++) { expect(breaker.canRequest()).toBe(true); breaker.recordFailure(); }
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.failures).toBe(4);
    breaker.recordFailure();
    expect(breaker.state).toBe('OPEN');
    expect(breaker.opens).toBe(1);
    expect(transitions).toEqual(['CLOSED>OPEN']);
  });

  it('a success resets the consecutive count', () => {
    const { breaker } = make();
    for (let i = 0; i < 4; i++) breaker.recordFailure();
    breaker.recordSuccess();
    for (let i = 0; i < 4; i++) breaker.recordFailure();
    expect(breaker.state).toBe('CLOSED');
  });

  it('refuses until the recovery time has passed, then admits one trial at a time', () => {
    const { breaker, advance, transitions } = make();
    for (let i = 0; i < 5; i++) breaker.recordFailure();
    advance(59_999);
    expect(breaker.canRequest()).toBe(false);
    advance(1);
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(breaker.canRequest()).toBe(false);
    breaker.recordSuccess();
    expect(breaker.state).toBe('HALF_OPEN');
    expect(breaker.canRequest()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.state).toBe('CLOSED');
    expect(transitions).toEqual(['CLOSED>OPEN', 'OPEN>HALF_OPEN', 'HALF_OPEN>CLOSED']);
  });

  it('an abandoned trial (the caller gave up) frees the slot and counts as nothing', () => {
    const { breaker, advance } = make();
    for (let i = 0; i < 5; i++) breaker.recordFailure();
    advance(60_000);
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.canRequest()).toBe(false);
    breaker.abandon();
    expect(breaker.snapshot()).toMatchObject({ state: 'HALF_OPEN', opens: 1 });
    expect(breaker.canRequest()).toBe(true);
  });

  it('a failed trial reopens it and counts another open', () => {
    const { breaker, advance } = make();
    for (let i = 0; i < 5; i++) breaker.recordFailure();
    advance(60_000);
    expect(breaker.canRequest()).toBe(true);
    breaker.recordFailure();
    expect(breaker.snapshot()).toMatchObject({ state: 'OPEN', opens: 2 });
    expect(breaker.canRequest()).toBe(false);
  });

  it('a reopened breaker waits a full recovery from the failed trial, and reports each transition', () => {
    const { breaker, advance, transitions } = make();
    for (let i = 0; i < 5; i++) breaker.recordFailure();
    advance(60_000);
    expect(breaker.canRequest()).toBe(true);
    advance(10_000);
    breaker.recordFailure();
    advance(59_999);
    expect(breaker.canRequest()).toBe(false);
    advance(1);
    expect(breaker.canRequest()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.canRequest()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.snapshot()).toEqual({ state: 'CLOSED', failures: 0, opens: 2 });
    expect(transitions).toEqual(['CLOSED>OPEN', 'OPEN>HALF_OPEN', 'HALF_OPEN>OPEN', 'OPEN>HALF_OPEN', 'HALF_OPEN>CLOSED']);
  });

  it('half-open successes must be consecutive: a failure in between starts the count again', () => {
    const { breaker, advance } = make();
    for (let i = 0; i < 5; i++) breaker.recordFailure();
    advance(60_000);
    breaker.canRequest();
    breaker.recordSuccess();
    breaker.canRequest();
    breaker.recordFailure();
    expect(breaker.state).toBe('OPEN');
    advance(60_000);
    breaker.canRequest();
    breaker.recordSuccess();
    expect(breaker.state).toBe('HALF_OPEN');
    breaker.canRequest();
    breaker.recordSuccess();
    expect(breaker.state).toBe('CLOSED');
  });

  it('a late result of a request admitted before it opened changes nothing', () => {
    const { breaker } = make();
    for (let i = 0; i < 5; i++) breaker.recordFailure();
    breaker.recordSuccess();
    breaker.recordFailure();
    expect(breaker.snapshot()).toEqual({ state: 'OPEN', failures: 5, opens: 1 });
  });

  it('follows the thresholds it is given', () => {
    let now = 0;
    const seen: [BreakerState, BreakerState][] = [];
    const breaker = new CircuitBreaker({
      failureThreshold: 1, recoveryMs: 10, successThreshold: 3, clock: () => now, onTransition: (from, to) => seen.push([from, to]),
    });
    breaker.recordFailure();
    expect(breaker.state).toBe('OPEN');
    now = 10;
    for (let i = 0; i < 2; i++) {
      expect(breaker.canRequest()).toBe(true);
      breaker.recordSuccess();
    }
    expect(breaker.state).toBe('HALF_OPEN');
    expect(breaker.canRequest()).toBe(true);
    breaker.recordSuccess();
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.canRequest()).toBe(true);
    expect(breaker.canRequest()).toBe(true);   // closed: no limit on concurrent requests
    expect(seen).toEqual([['CLOSED', 'OPEN'], ['OPEN', 'HALF_OPEN'], ['HALF_OPEN', 'CLOSED']]);
  });
});

describe('graceful degradation of the pool', () => {
  const open: OVMemory[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
  });

  const dim = 12;
  const vectors = randomVectors(2_000, dim, 31);
  const rows = vectors.map((vector, id) => ({ id, vector }));

  async function faulty(hooks: ScanHooks) {
    let now = 1_700_000_000_000;
    const warnings: unknown[][] = [];
    const logger = { debug() {}, info() {}, warn: (...a: unknown[]) => warnings.push(a), error: (...a: unknown[]) => warnings.push(a) };
    const memory = await OVMemory.create({
      dim, threads: 2, clock: () => now, logger, internal: { poolMinRows: 0, segmentRows: 256, executors: testExecutors(hooks) },
    } as never);
    open.push(memory);
    memory.addMany(vectors.map((embedding, i) => ({ embedding, text: `m${i}` })));
    return { memory, warnings, advance: (ms: number) => { now += ms; } };
  }

  it('a lone search scans one part on the calling thread and one in a worker; searches that overlap hand both to the workers', async () => {
    const hooks: ScanHooks = { ran: { inline: 0, pool: 0 } };
    const { memory } = await faulty(hooks);
    const q = vectors[3]!, want = referenceSearch(rows, q, { rank: 'similarity', k: 6 });
    expectSameHits(await memory.search(q, { topK: 5, rank: 'similarity' }), want);
    expect(hooks.ran).toEqual({ inline: 1, pool: 1 });
    hooks.ran = { inline: 0, pool: 0 };
    const together = await Promise.all(Array.from({ length: 8 }, () => memory.search(q, { topK: 5, rank: 'similarity' })));
    together.forEach((hits) => expectSameHits(hits, want));
    expect(hooks.ran.inline + hooks.ran.pool).toBe(16);
    expect(hooks.ran.inline).toBeLessThanOrEqual(1);
    expect(memory.metrics().breaker).toMatchObject({ state: 'CLOSED', failures: 0 });
  });

  for (const fault of ['throw', 'exit', 'trap'] as const) {
    it(`a worker that fails (${fault}) still gets the caller the right answer, redone inline`, async () => {
      // A lone search scans one part on the calling thread and hands the other to a worker: one fault fails it.
      const { memory } = await faulty({ fault, faultCount: 1 });
      const q = vectors[5]!;
      const hits = await memory.search(q, { topK: 5, rank: 'similarity' });
      expectSameHits(hits, referenceSearch(rows, q, { rank: 'similarity', k: 6 }));
      expect(memory.metrics().breaker.failures).toBe(1);
      // The pool goes on (piscina replaced a dead worker) and a success resets the count.
      expectSameHits(await memory.search(q, { topK: 5, rank: 'similarity' }), referenceSearch(rows, q, { rank: 'similarity', k: 6 }));
      expect(memory.metrics().breaker).toMatchObject({ state: 'CLOSED', failures: 0 });
    });
  }

  it('5 faulty scans open the breaker; searches go on inline; after 60 s a trial and 2 successes close it', async () => {
    const hooks: ScanHooks = { fault: 'throw' };
    const { memory, warnings, advance } = await faulty(hooks);
    const q = vectors[9]!, want = referenceSearch(rows, q, { rank: 'similarity', k: 4 });
    for (let i = 0; i < 5; i++) expectSameHits(await memory.search(q, { topK: 3, rank: 'similarity' }), want);
    expect(memory.metrics().breaker).toMatchObject({ state: 'OPEN', opens: 1 });
    expect(memory.health().status).toBe('CRITICAL');
    expect(memory.health().reasons.join(' ')).toMatch(/circuit breaker is open/);
    expect(warnings.some(([message, fields]) => message === 'circuit breaker transition' && (fields as { to: string }).to === 'OPEN')).toBe(true);
    // While open, the pool is not even tried: faults stop counting.
    expectSameHits(await memory.search(q, { topK: 3, rank: 'similarity' }), want);
    expect(memory.metrics().breaker.failures).toBe(5);
    hooks.fault = undefined;
    advance(60_000);
    await memory.search(q, { topK: 3 });
    expect(memory.metrics().breaker.state).toBe('HALF_OPEN');
    await memory.search(q, { topK: 3 });
    expect(memory.metrics().breaker).toMatchObject({ state: 'CLOSED', failures: 0, opens: 1 });
  });

  it('a trial scan that the caller times out leaves the breaker half-open for the next trial', async () => {
    const hooks: ScanHooks = { fault: 'throw' };
    const { memory, advance } = await faulty(hooks);
    for (let i = 0; i < 5; i++) await memory.search(vectors[0]!);
    expect(memory.metrics().breaker.state).toBe('OPEN');
    hooks.fault = undefined;
    hooks.holdScan = true;
    advance(60_000);
    await expect(memory.search(vectors[0]!, { timeoutMs: 20 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(memory.metrics().breaker.state).toBe('HALF_OPEN');
    hooks.holdScan = false;
    // The timed-out trial counted as nothing: two real successes are still needed.
    await memory.search(vectors[0]!);
    expect(memory.metrics().breaker.state).toBe('HALF_OPEN');
    await memory.search(vectors[0]!);
    expect(memory.metrics().breaker.state).toBe('CLOSED');
  });

  it('when the calling thread fails its own part while the workers are sound, a worker scans that part again', async () => {
    const hooks: ScanHooks = { failInline: true, ran: { inline: 0, pool: 0 } };
    const { memory, warnings } = await faulty(hooks);
    const q = vectors[7]!;
    expectSameHits(await memory.search(q, { topK: 5, rank: 'similarity' }), referenceSearch(rows, q, { rank: 'similarity', k: 6 }));
    expect(hooks.ran).toEqual({ inline: 1, pool: 2 });
    expect(warnings.some(([message]) => String(message).includes('the calling thread failed its part'))).toBe(true);
    expect(memory.metrics().breaker).toMatchObject({ state: 'CLOSED', failures: 0 });
  });

  it('when the inline fallback fails too: ENGINE_FAULT while closed, CIRCUIT_OPEN once open', async () => {
    const { memory } = await faulty({ fault: 'throw', failInline: true });
    const first = await memory.search(vectors[0]!).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(EngineFaultError);
    expect(first).toMatchObject({ code: 'ENGINE_FAULT' });
    // The worker's error crossed the thread boundary and was rebuilt as one of ours.
    expect((first as Error).cause).toBeInstanceOf(OVMemoryError);
    for (let i = 0; i < 4; i++) await memory.search(vectors[0]!).catch(() => undefined);
    expect(memory.metrics().breaker.state).toBe('OPEN');
    // The fifth failure opened the breaker, so that one already reports CIRCUIT_OPEN.
    expect(memory.metrics().errorsByCode).toEqual({ ENGINE_FAULT: 4, CIRCUIT_OPEN: 1 });
  });

  it('CIRCUIT_OPEN when the breaker is open and the calling thread fails as well', async () => {
    const hooks: ScanHooks = { fault: 'throw' };
    const { memory } = await faulty(hooks);
    for (let i = 0; i < 5; i++) await memory.search(vectors[0]!);
    hooks.failInline = true;
    hooks.fault = undefined;
    // Open: the scan runs inline only, and the injected inline failure surfaces as CIRCUIT_OPEN.
    const error = await memory.search(vectors[0]!).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CircuitOpenError);
  });
});

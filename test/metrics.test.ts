// Metrics: percentiles against a sorted-array reference, the sliding window as an injected clock moves,
// and the classification of error codes. Nothing sleeps.
import { describe, expect, it } from 'vitest';
import { classifyError, Metrics, type MetricsSnapshot } from '../src/observability/metrics.js';

const extra = { nodes: 7, memoryBytes: 1_024, memoryLimitBytes: 4_096, vectorsOutsideBytes: 0, breaker: { state: 'HALF_OPEN' as const, failures: 1, opens: 2 } };
const snapshot = (m: Metrics): MetricsSnapshot => m.snapshot(extra);

/** A small seeded generator (mulberry32), so the data is the same on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Nearest-rank percentile of a sorted array (the rank rounded to the nearest whole). */
const percentile = (sorted: number[], p: number) => sorted[Math.max(1, Math.floor((p / 100) * sorted.length + 0.5)) - 1]!;

describe('classifyError()', () => {
  it.each([
    ['INVALID_DATA', 'rejected'], ['DUPLICATE_KEY', 'rejected'], ['NOT_FOUND', 'rejected'], ['UNSUPPORTED', 'rejected'],
    ['RESOURCE_EXHAUSTION', 'rejected'],
    ['TIMEOUT', 'caller'], ['ABORTED', 'caller'], ['CLOSED', 'caller'], ['LOCKED', 'caller'],
    ['ENGINE_FAULT', 'engine'], ['CIRCUIT_OPEN', 'engine'],
    ['EMBEDDER_FAULT', 'embedder'],
    ['STORAGE_FAULT', 'storage'], ['MEMORY_CORRUPTION', 'storage'],
    ['INTERNAL', 'internal'], ['SOMETHING_NEW', 'internal'],
  ])('%s is %s', (code, kind) => {
    expect(classifyError(code)).toBe(kind);
  });
});

describe('Metrics.snapshot() - operations', () => {
  it('p50, p95, p99 match a sorted-array reference within the histogram precision; avg and max are exact', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    const next = random(42);
    // Log-uniform from 20 µs to 20 s: sub-millisecond scans and stalled calls in one set.
    const latencies = Array.from({ length: 20_000 }, () => 0.02 * 10 ** (6 * next()));
    for (const ms of latencies) metrics.record('search', ms);
    const sorted = [...latencies].sort((a, b) => a - b);
    const op = snapshot(metrics).operations.search!;
    expect(op).toMatchObject({ count: 20_000, errors: 0 });
    for (const [p, got] of [[50, op.latencyMs.p50], [95, op.latencyMs.p95], [99, op.latencyMs.p99]] as const) {
      const want = percentile(sorted, p);
      // 3 significant digits (≤ 0.1 %) on whole microseconds (≤ 0.5 µs).
      expect(Math.abs(got - want)).toBeLessThanOrEqual(want * 0.001 + 0.0005);
    }
    expect(op.latencyMs.max).toBe(sorted[sorted.length - 1]);
    expect(op.latencyMs.avg).toBeCloseTo(latencies.reduce((a, b) => a + b, 0) / latencies.length, 9);
  });

  it('a small set: every percentile lands on the right sample', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    for (let i = 1; i <= 100; i++) metrics.record('add', i);   // 1 ms … 100 ms
    const { latencyMs } = snapshot(metrics).operations.add!;
    expect(latencyMs.p50).toBeCloseTo(50, 1);
    expect(latencyMs.p95).toBeCloseTo(95, 1);
    expect(latencyMs.p99).toBeCloseTo(99, 1);
    expect(latencyMs.max).toBe(100);
    expect(latencyMs.avg).toBe(50.5);
  });

  it('keys operations by name and counts errors per operation and in total by code', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    metrics.record('add', 1);
    metrics.record('add', 1, 'INVALID_DATA');
    metrics.record('search', 2, 'TIMEOUT');
    metrics.record('search', 2, 'INVALID_DATA');
    metrics.record('search', 2);
    const s = snapshot(metrics);
    expect(Object.keys(s.operations).sort()).toEqual(['add', 'search']);
    expect(s.operations.add).toMatchObject({ count: 2, errors: 1 });
    expect(s.operations.search).toMatchObject({ count: 3, errors: 2 });
    expect(s.errorsByCode).toEqual({ INVALID_DATA: 2, TIMEOUT: 1 });
  });

  it('passes the store figures through and counts guardrail blocks', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    metrics.countGuardrail('drift');
    metrics.countGuardrail('loop');
    metrics.countGuardrail('loop');
    for (let i = 0; i < 3; i++) metrics.countGuardrail('redundancy');
    const s = snapshot(metrics);
    expect(s).toMatchObject({ nodes: 7, memoryBytes: 1_024, memoryLimitBytes: 4_096, breaker: extra.breaker, operations: {}, errorsByCode: {} });
    expect(s.breaker).not.toBe(extra.breaker);
    expect(s.quality).toEqual({ driftDetections: 1, loopPreventions: 2, redundancyFilters: 3 });
  });

  it('a call longer than an hour is clamped in the histogram but its max and avg stay exact; a NaN duration counts as 0', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    metrics.record('flush', 2 * 3_600_000);
    metrics.record('flush', Number.NaN);
    const op = snapshot(metrics).operations.flush!;
    expect(op.count).toBe(2);
    expect(op.latencyMs.max).toBe(7_200_000);
    expect(op.latencyMs.avg).toBe(3_600_000);
    expect(op.latencyMs.p99).toBeGreaterThan(3_590_000);
    expect(op.latencyMs.p99).toBeLessThanOrEqual(3_600_000 * 1.001);
  });
});

describe('Metrics.window()', () => {
  const make = (start = 1_700_000_000_000) => {
    let now = start;
    const metrics = new Metrics({ clock: () => now, windowMs: 60_000 });
    return { metrics, advance: (ms: number) => { now += ms; }, set: (t: number) => { now = t; } };
  };

  it('counts calls and errors by class; caller errors count as calls only', () => {
    const { metrics } = make();
    for (const code of ['INVALID_DATA', 'DUPLICATE_KEY', 'NOT_FOUND', 'RESOURCE_EXHAUSTION']) metrics.record('add', 1, code);
    for (const code of ['ENGINE_FAULT', 'CIRCUIT_OPEN']) metrics.record('search', 1, code);
    for (const code of ['TIMEOUT', 'ABORTED', 'CLOSED']) metrics.record('search', 1, code);
    metrics.record('remember', 1, 'EMBEDDER_FAULT');
    metrics.record('add', 1, 'STORAGE_FAULT');
    metrics.record('add', 1, 'INTERNAL');
    metrics.record('add', 1);
    expect(metrics.window()).toMatchObject({ calls: 13, rejected: 4, engineFaults: 2, embedderFaults: 1, storageFaults: 1, internalErrors: 1 });
  });

  it('countEngineFault() counts for health but is neither a call nor an error code', () => {
    const { metrics } = make();
    metrics.record('search', 1);
    metrics.countEngineFault();
    expect(metrics.window()).toMatchObject({ calls: 1, engineFaults: 1, rejected: 0 });
    expect(snapshot(metrics).errorsByCode).toEqual({});
  });

  it('queriesPerSecond counts search, searchMany and context over the window length', () => {
    const { metrics } = make();
    for (const op of ['search', 'search', 'search', 'searchMany', 'context', 'context', 'add', 'addMany', 'get', 'remove']) metrics.record(op, 1);
    expect(metrics.window().queriesPerSecond).toBeCloseTo(6 / 60, 12);
    expect(snapshot(metrics).queriesPerSecond).toBeCloseTo(6 / 60, 12);
  });

  it('forgets a call once the window has passed it, bucket by bucket', () => {
    const { metrics, advance } = make(0);
    metrics.record('search', 1, 'ENGINE_FAULT');   // t = 0 s
    advance(30_000);
    metrics.record('search', 1, 'INVALID_DATA');   // t = 30 s
    advance(29_999);                               // t = 59.999 s: both inside
    expect(metrics.window()).toMatchObject({ calls: 2, engineFaults: 1, rejected: 1 });
    advance(1);                                    // t = 60 s: the first is out
    expect(metrics.window()).toMatchObject({ calls: 1, engineFaults: 0, rejected: 1 });
    advance(29_999);
    expect(metrics.window().calls).toBe(1);
    advance(1);                                    // t = 90 s: empty
    expect(metrics.window()).toEqual({
      calls: 0, engineFaults: 0, rejected: 0, embedderFaults: 0, storageFaults: 0, internalErrors: 0, p95Ms: 0, latency: {}, queriesPerSecond: 0,
    });
    // The totals are for ever.
    expect(snapshot(metrics).operations.search).toMatchObject({ count: 2, errors: 2 });
  });

  it('reuses a bucket after a full turn of the ring without mixing in its old counts', () => {
    const { metrics, advance } = make(0);
    metrics.record('search', 1);
    advance(60_000 * 5 + 500);   // the same slot of the ring, five turns later
    metrics.record('add', 1);
    expect(metrics.window()).toMatchObject({ calls: 1, queriesPerSecond: 0 });
  });

  it('p95 over the window, within 1 % (2 significant digits)', () => {
    const { metrics, advance } = make(0);
    for (let i = 0; i < 95; i++) metrics.record('search', 2);
    for (let i = 0; i < 5; i++) metrics.record('search', 3_000);
    const fast = metrics.window().p95Ms;
    expect(Math.abs(fast - 2) / 2).toBeLessThanOrEqual(0.01);
    metrics.record('search', 3_000);   // now 6 of 101 are slow: the 96th value is slow
    const slow = metrics.window().p95Ms;
    expect(Math.abs(slow - 3_000) / 3_000).toBeLessThanOrEqual(0.01);
    advance(30_000);
    for (let i = 0; i < 100; i++) metrics.record('search', 1);
    advance(35_000);   // t = 65 s: the calls at 0 s and their latencies are out
    expect(metrics.window().calls).toBe(100);
    expect(Math.abs(metrics.window().p95Ms - 1) / 1).toBeLessThanOrEqual(0.01);
  });

  it('a clock that steps back does not wipe what the window holds', () => {
    const { metrics, set } = make();
    metrics.record('search', 1);
    set(1_700_000_000_000 - 45_000);
    metrics.record('search', 1);
    expect(metrics.window().calls).toBe(2);
  });

  it('works from a clock that starts at 0 and with a window that is not a multiple of 60', () => {
    let now = 0;
    const metrics = new Metrics({ clock: () => now, windowMs: 1_000 });
    metrics.record('context', 1);
    now = 999;
    expect(metrics.window()).toMatchObject({ calls: 1, queriesPerSecond: 1 });
    now = 1_020;
    expect(metrics.window().calls).toBe(0);
  });
});

describe('Metrics.record() - what health judges', () => {
  const within = (got: number | undefined, want: number) => expect(Math.abs(got! - want) / want).toBeLessThanOrEqual(0.01);

  it('judges a batch per item: a 50 s addMany of 50,000 is 1 ms a memory; metrics() keeps the call\'s wall time', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    metrics.record('addMany', 50_000, undefined, { items: 50_000 });
    const w = metrics.window();
    within(w.latency.write?.p95Ms, 1);
    within(w.p95Ms, 1);
    expect(snapshot(metrics).operations.addMany!.latencyMs).toMatchObject({ max: 50_000, avg: 50_000 });
  });

  it('leaves out the time spent in caller code: a context() with 4.9 s of tokenizer and 2 ms of its own', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    metrics.record('context', 4_902, undefined, { callerMs: 4_900 });
    within(metrics.window().latency.query?.p95Ms, 2);
    // Per item and caller time together: (1,000 − 400) / 300 = 2 ms a query.
    const batch = new Metrics({ clock: () => 0, windowMs: 60_000 });
    batch.record('searchMany', 1_000, undefined, { items: 300, callerMs: 400 });
    within(batch.window().latency.query?.p95Ms, 2);
  });

  it('keeps kinds apart: many fast reads do not hide slow queries', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    for (let i = 0; i < 1_000; i++) metrics.record('get', 0.01);
    for (let i = 0; i < 20; i++) metrics.record('search', 2_000);
    const w = metrics.window();
    within(w.latency.query?.p95Ms, 2_000);
    within(w.latency.read?.p95Ms, 0.01);
    expect(w.latency.write).toBeUndefined();
  });

  it('does not judge operator work: a 40 s checkpoint is in metrics() but not in the window\'s latency', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    for (const op of ['checkpoint', 'export', 'flush', 'prometheus']) metrics.record(op, 40_000);
    expect(metrics.window()).toMatchObject({ calls: 4, latency: {}, p95Ms: 0 });
    expect(snapshot(metrics).operations.checkpoint!.latencyMs.max).toBe(40_000);
  });

  it('an unknown operation is judged as a read; nonsense work figures fall back to one item and no caller time', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    metrics.record('somethingNew', 3);
    within(metrics.window().latency.read?.p95Ms, 3);
    const odd = new Metrics({ clock: () => 0, windowMs: 60_000 });
    odd.record('add', 10, undefined, { items: Number.NaN, callerMs: -5 });
    odd.record('add', 10, undefined, { items: 0, callerMs: Number.NaN });
    within(odd.window().latency.write?.p95Ms, 10);
    // Caller time above the call's own is clamped: 0 ms of store time, recorded as the 1 µs floor.
    const over = new Metrics({ clock: () => 0, windowMs: 60_000 });
    over.record('context', 5, undefined, { callerMs: 50 });
    expect(over.window().latency.query?.p95Ms).toBeLessThanOrEqual(0.001);
  });
});


// Health under what a client can do at will, through Metrics and evaluateHealth as the store uses them
// (the store passes each call's batch size and the time spent in caller code). Nothing a client can
// cause may make health CRITICAL; engine faults and a failed journal still do.
import { describe, expect, it } from 'vitest';
import { evaluateHealth, Metrics } from '../dist/internal.js';

function store() {
  let now = 1_700_000_000_000;
  const metrics = new Metrics({ clock: () => now, windowMs: 60_000 });
  const health = (storageFault?: string) => evaluateHealth({ window: metrics.window(), breaker: 'CLOSED', memoryUsage: 0.1, storageFault });
  return { metrics, health, advance: (ms: number) => { now += ms; } };
}

describe('health - the caller\'s own slow or bulk work', () => {
  it('a slow tokenizer in context() for a whole minute: HEALTHY, where counting it would be CRITICAL', () => {
    const { metrics, health, advance } = store();
    for (let i = 0; i < 12; i++) {
      metrics.record('context', 4_903, undefined, { callerMs: 4_900 });
      advance(5_000);
    }
    expect(health()).toMatchObject({ status: 'HEALTHY', reasons: [] });
    expect(health().latency.query!.p95Ms).toBeCloseTo(3, 1);
    // The same calls judged on wall time: what the store said before.
    const { metrics: naive, health: naiveHealth } = store();
    for (let i = 0; i < 12; i++) naive.record('context', 4_903);
    expect(naiveHealth().status).toBe('WARNING');
    naive.record('context', 9_000);
    for (let i = 0; i < 12; i++) naive.record('context', 9_000);
    expect(naiveHealth().status).toBe('CRITICAL');
  });

  it('a 50k-row addMany of 40 s among fast searches: HEALTHY (0.8 ms a memory)', () => {
    const { metrics, health } = store();
    for (let i = 0; i < 10; i++) metrics.record('search', 3);
    metrics.record('addMany', 40_000, undefined, { items: 50_000 });
    expect(health().status).toBe('HEALTHY');
    expect(health().latency.write!.p95Ms).toBeCloseTo(0.8, 1);
  });

  it('a searchMany of 2,000 queries in 12 s: HEALTHY (6 ms a query)', () => {
    const { metrics, health } = store();
    metrics.record('searchMany', 12_000, undefined, { items: 2_000 });
    expect(health().status).toBe('HEALTHY');
  });

  it('operator work (a 90 s checkpoint, a 20 s export) is not judged', () => {
    const { metrics, health } = store();
    metrics.record('search', 2);
    metrics.record('checkpoint', 90_000);
    metrics.record('export', 20_000);
    expect(health().status).toBe('HEALTHY');
  });

  it('the store\'s own slowness still counts: 6 s a query is CRITICAL, 600 ms a memory written warns', () => {
    const { metrics, health } = store();
    for (let i = 0; i < 20; i++) metrics.record('search', 6_000);
    expect(health().status).toBe('CRITICAL');
    const writes = store();
    for (let i = 0; i < 20; i++) writes.metrics.record('addMany', 60_000, undefined, { items: 100 });
    expect(writes.health()).toMatchObject({ status: 'WARNING', reasons: [expect.stringMatching(/^p95 write latency 60\d ms per memory written/)] });
  });
});

describe('health - errors a client can cause', () => {
  it('a flood of every client-caused error (bad input, unknown ids, a full store, timeouts, aborts, input that reaches a bug) is at most WARNING', () => {
    const { metrics, health } = store();
    for (let i = 0; i < 20; i++) metrics.record('search', 1);
    const clientCaused = ['INVALID_DATA', 'DUPLICATE_KEY', 'NOT_FOUND', 'RESOURCE_EXHAUSTION', 'UNSUPPORTED', 'TIMEOUT', 'ABORTED', 'CLOSED', 'INTERNAL', 'EMBEDDER_FAULT'];
    for (let round = 0; round < 30; round++) for (const code of clientCaused) metrics.record('add', 0.1, code);
    const report = health();
    expect(report.status).toBe('WARNING');
    expect(report.errorRate).toBe(0);
    expect(report.reasons.map((r) => r.split(' ').slice(0, 2).join(' '))).toEqual(['rejected-input rate', 'embedder-fault rate', '30 internal']);
  });

  it('engine faults and a failed journal are still CRITICAL', () => {
    const faults = store();
    for (let i = 0; i < 20; i++) faults.metrics.record('search', 1);
    for (let i = 0; i < 3; i++) faults.metrics.record('search', 1, 'ENGINE_FAULT');
    expect(faults.health()).toMatchObject({ status: 'CRITICAL', reasons: [expect.stringMatching(/^engine-fault rate 13\.0%/)] });
    const journal = store();
    journal.metrics.record('add', 1, 'STORAGE_FAULT');
    expect(journal.health().status).toBe('CRITICAL');
    expect(journal.health('EIO: i/o error, write').reasons).toEqual(['the journal failed (EIO: i/o error, write): writes are refused until the store is reopened']);
  });

  it('internal errors leave the window with it', () => {
    const { metrics, health, advance } = store();
    metrics.record('add', 1, 'INTERNAL');
    expect(health().status).toBe('WARNING');
    advance(60_000);
    metrics.record('add', 1);
    expect(health().status).toBe('HEALTHY');
  });
});

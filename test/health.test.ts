// evaluateHealth: every rule on both sides of its threshold, against DESIGN's table and the latency
// expectations per kind of operation.
import { describe, expect, it } from 'vitest';
import { evaluateHealth, type HealthReport, LATENCY_EXPECTATIONS } from '../src/observability/health.js';
import type { WindowSummary } from '../src/observability/metrics.js';
import type { BreakerState } from '../src/resilience/breaker.js';

const calm: WindowSummary = {
  calls: 1_000, engineFaults: 0, rejected: 0, embedderFaults: 0, storageFaults: 0, internalErrors: 0,
  p95Ms: 10, latency: { query: { p95Ms: 10 }, write: { p95Ms: 1 } }, queriesPerSecond: 5,
};
const health = (w: Partial<WindowSummary> = {}, breaker: BreakerState = 'CLOSED', memoryUsage = 0.5): HealthReport =>
  evaluateHealth({ window: { ...calm, ...w }, breaker, memoryUsage });
const query = (p95Ms: number) => ({ latency: { query: { p95Ms } } });
const write = (p95Ms: number) => ({ latency: { write: { p95Ms } } });
const read = (p95Ms: number) => ({ latency: { read: { p95Ms } } });

describe('evaluateHealth()', () => {
  const cases: [string, Partial<WindowSummary>, BreakerState, number, HealthReport['status'], RegExp | null][] = [
    ['all well', {}, 'CLOSED', 0.5, 'HEALTHY', null],
    ['no calls in the window', { calls: 0, latency: {} }, 'CLOSED', 0.5, 'UNKNOWN', /^no calls over the last 60 s$/],
    ['engine faults at exactly 5%', { engineFaults: 50 }, 'CLOSED', 0.5, 'HEALTHY', null],
    ['engine faults just above 5%', { engineFaults: 51 }, 'CLOSED', 0.5, 'WARNING', /engine-fault rate 5\.1% over the last 60 s \(warning above 5%\)/],
    ['engine faults at exactly 10%', { engineFaults: 100 }, 'CLOSED', 0.5, 'WARNING', /engine-fault rate 10\.0%/],
    ['engine faults just above 10%', { engineFaults: 101 }, 'CLOSED', 0.5, 'CRITICAL', /engine-fault rate 10\.1% over the last 60 s \(critical above 10%\)/],
    ['rejected input at exactly 5%', { rejected: 50 }, 'CLOSED', 0.5, 'HEALTHY', null],
    ['rejected input just above 5%', { rejected: 51 }, 'CLOSED', 0.5, 'WARNING', /rejected-input rate 5\.1%/],
    ['rejected input, all of it, still only warns', { rejected: 1_000 }, 'CLOSED', 0.5, 'WARNING', /rejected-input rate 100\.0%/],
    ['embedder faults at exactly 5%', { embedderFaults: 50 }, 'CLOSED', 0.5, 'HEALTHY', null],
    ['embedder faults, all of them, only warn', { embedderFaults: 1_000 }, 'CLOSED', 0.5, 'WARNING', /^embedder-fault rate 100\.0% over the last 60 s \(warning above 5%\)$/],
    ['one internal error warns', { internalErrors: 1 }, 'CLOSED', 0.5, 'WARNING', /^1 internal error over the last 60 s: a bug in ov-memory, see errors\(\)$/],
    ['internal errors, all calls, still only warn', { internalErrors: 1_000 }, 'CLOSED', 0.5, 'WARNING', /^1000 internal errors/],
    ['one storage fault is critical', { storageFaults: 1 }, 'CLOSED', 0.5, 'CRITICAL', /^1 storage fault over the last 60 s: writes are refused until the store is reopened$/],
    ['query p95 at exactly 1 s', query(1_000), 'CLOSED', 0.5, 'HEALTHY', null],
    ['query p95 just above 1 s', query(1_000.5), 'CLOSED', 0.5, 'WARNING', /^p95 query latency 1001 ms per query over the last 60 s \(warning above 1000 ms\)$/],
    ['query p95 at exactly 5 s', query(5_000), 'CLOSED', 0.5, 'WARNING', /p95 query latency 5000 ms/],
    ['query p95 just above 5 s', query(5_000.5), 'CLOSED', 0.5, 'CRITICAL', /^p95 query latency 5001 ms per query over the last 60 s \(critical above 5000 ms\)$/],
    ['read p95 just above 1 s', read(1_001), 'CLOSED', 0.5, 'WARNING', /^p95 read latency 1001 ms per call over the last 60 s \(warning above 1000 ms\)$/],
    ['write p95 at exactly 500 ms per memory', write(500), 'CLOSED', 0.5, 'HEALTHY', null],
    ['write p95 just above 500 ms per memory', write(500.5), 'CLOSED', 0.5, 'WARNING', /^p95 write latency 501 ms per memory written over the last 60 s \(warning above 500 ms\)$/],
    ['write p95 just above 5 s per memory', write(5_000.5), 'CLOSED', 0.5, 'CRITICAL', /^p95 write latency 5001 ms per memory written .*\(critical above 5000 ms\)$/],
    ['breaker half-open', {}, 'HALF_OPEN', 0.5, 'WARNING', /half-open/],
    ['breaker open', {}, 'OPEN', 0.5, 'CRITICAL', /circuit breaker is open/],
    ['breaker open with no calls', { calls: 0, latency: {} }, 'OPEN', 0.5, 'CRITICAL', /circuit breaker is open/],
    ['memory at exactly 80%', {}, 'CLOSED', 0.8, 'HEALTHY', null],
    ['memory just above 80%', {}, 'CLOSED', 0.801, 'WARNING', /memory use 80\.1% of the limit \(warning above 80%\)/],
  ];
  for (const [name, w, breaker, memoryUsage, status, reason] of cases) {
    it(`${name} → ${status}`, () => {
      const report = health(w, breaker, memoryUsage);
      expect(report.status).toBe(status);
      if (reason === null) expect(report.reasons).toEqual([]);
      else {
        expect(report.reasons).toHaveLength(1);
        expect(report.reasons[0]).toMatch(reason);
      }
    });
  }

  it('the reason wording from DESIGN', () => {
    expect(health({ engineFaults: 120 }).reasons).toEqual(['engine-fault rate 12.0% over the last 60 s (critical above 10%)']);
  });

  it('errorRate is the engine-fault rate (rejected and caller errors do not count), p95, breaker and memory are passed on', () => {
    expect(health({ engineFaults: 30, rejected: 400, internalErrors: 7, embedderFaults: 9 }, 'HALF_OPEN', 0.25)).toMatchObject({
      errorRate: 0.03, p95Ms: 10, breaker: 'HALF_OPEN', memoryUsage: 0.25,
    });
    expect(health().latency).toEqual({
      query: { p95Ms: 10, warningMs: 1_000, criticalMs: 5_000 },
      write: { p95Ms: 1, warningMs: 500, criticalMs: 5_000 },
    });
    expect(health({ calls: 0 }).errorRate).toBe(0);
    // A recovered fault counts without its call failing, so the rate is capped at 1.
    expect(health({ calls: 2, engineFaults: 5 }).errorRate).toBe(1);
  });

  it('lists every reason, critical ones first', () => {
    const report = health({ engineFaults: 60, rejected: 70, ...query(6_000) }, 'OPEN', 0.9);
    expect(report.status).toBe('CRITICAL');
    expect(report.reasons.map((r) => r.split(' ').slice(0, 2).join(' '))).toEqual([
      'circuit breaker', 'p95 query', 'engine-fault rate', 'rejected-input rate', 'memory use',
    ]);
  });

  it('a known problem outranks "no calls yet"', () => {
    expect(health({ calls: 0 }, 'HALF_OPEN').status).toBe('WARNING');
    expect(health({ calls: 0 }, 'CLOSED', 0.95).status).toBe('WARNING');
  });

  it('names the window it was given', () => {
    const report = evaluateHealth({ window: { ...calm, engineFaults: 80 }, breaker: 'CLOSED', memoryUsage: 0, windowMs: 30_000 });
    expect(report.reasons).toEqual(['engine-fault rate 8.0% over the last 30 s (warning above 5%)']);
  });

  it('the journal\'s failure, given by the store, is critical with its message, and replaces the count of faults', () => {
    const report = evaluateHealth({ window: { ...calm, storageFaults: 3 }, breaker: 'CLOSED', memoryUsage: 0, storageFault: 'ENOSPC: no space left on device' });
    expect(report.status).toBe('CRITICAL');
    expect(report.reasons).toEqual(['the journal failed (ENOSPC: no space left on device): writes are refused until the store is reopened']);
    expect(evaluateHealth({ window: { ...calm, calls: 0, latency: {} }, breaker: 'CLOSED', memoryUsage: 0, storageFault: 'EIO' }).status).toBe('CRITICAL');
  });

  it('judges each kind against its own expectation: a 2 s write per memory is not a 2 s query', () => {
    expect(health({ latency: { query: { p95Ms: 900 }, write: { p95Ms: 400 }, read: { p95Ms: 999 } } }).status).toBe('HEALTHY');
    expect(health({ latency: { query: { p95Ms: 10 }, write: { p95Ms: 2_000 } } }).reasons).toEqual([
      'p95 write latency 2000 ms per memory written over the last 60 s (warning above 500 ms)',
    ]);
    // The table is the one the reasons quote.
    expect(LATENCY_EXPECTATIONS.write).toMatchObject({ warningMs: 500, criticalMs: 5_000 });
  });

  it('the merged p95 alone judges nothing: only the kinds do', () => {
    expect(health({ p95Ms: 60_000 }).status).toBe('HEALTHY');
  });
});

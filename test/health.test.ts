// evaluateHealth: every rule on both sides of its threshold, against DESIGN's table.
import { describe, expect, it } from 'vitest';
import { evaluateHealth, type HealthReport } from '../src/observability/health.js';
import type { BreakerState } from '../src/resilience/breaker.js';

const calm = { calls: 1_000, engineFaults: 0, rejected: 0, p95Ms: 10, queriesPerSecond: 5 };
const health = (w: Partial<typeof calm> = {}, breaker: BreakerState = 'CLOSED', memoryUsage = 0.5): HealthReport =>
  evaluateHealth({ window: { ...calm, ...w }, breaker, memoryUsage });

describe('evaluateHealth()', () => {
  const cases: [string, Partial<typeof calm>, BreakerState, number, HealthReport['status'], RegExp | null][] = [
    ['all well', {}, 'CLOSED', 0.5, 'HEALTHY', null],
    ['no calls in the window', { calls: 0 }, 'CLOSED', 0.5, 'UNKNOWN', /^no calls over the last 60 s$/],
    ['engine faults at exactly 5%', { engineFaults: 50 }, 'CLOSED', 0.5, 'HEALTHY', null],
    ['engine faults just above 5%', { engineFaults: 51 }, 'CLOSED', 0.5, 'WARNING', /engine-fault rate 5\.1% over the last 60 s \(warning above 5%\)/],
    ['engine faults at exactly 10%', { engineFaults: 100 }, 'CLOSED', 0.5, 'WARNING', /engine-fault rate 10\.0%/],
    ['engine faults just above 10%', { engineFaults: 101 }, 'CLOSED', 0.5, 'CRITICAL', /engine-fault rate 10\.1% over the last 60 s \(critical above 10%\)/],
    ['rejected input at exactly 5%', { rejected: 50 }, 'CLOSED', 0.5, 'HEALTHY', null],
    ['rejected input just above 5%', { rejected: 51 }, 'CLOSED', 0.5, 'WARNING', /rejected-input rate 5\.1%/],
    ['rejected input, all of it, still only warns', { rejected: 1_000 }, 'CLOSED', 0.5, 'WARNING', /rejected-input rate 100\.0%/],
    ['p95 at exactly 1 s', { p95Ms: 1_000 }, 'CLOSED', 0.5, 'HEALTHY', null],
    ['p95 just above 1 s', { p95Ms: 1_000.5 }, 'CLOSED', 0.5, 'WARNING', /p95 latency 1001 ms over the last 60 s \(warning above 1000 ms\)/],
    ['p95 at exactly 5 s', { p95Ms: 5_000 }, 'CLOSED', 0.5, 'WARNING', /p95 latency 5000 ms/],
    ['p95 just above 5 s', { p95Ms: 5_000.5 }, 'CLOSED', 0.5, 'CRITICAL', /p95 latency 5001 ms over the last 60 s \(critical above 5000 ms\)/],
    ['breaker half-open', {}, 'HALF_OPEN', 0.5, 'WARNING', /half-open/],
    ['breaker open', {}, 'OPEN', 0.5, 'CRITICAL', /circuit breaker is open/],
    ['breaker open with no calls', { calls: 0 }, 'OPEN', 0.5, 'CRITICAL', /circuit breaker is open/],
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
    expect(health({ engineFaults: 30, rejected: 400 }, 'HALF_OPEN', 0.25)).toMatchObject({
      errorRate: 0.03, p95Ms: 10, breaker: 'HALF_OPEN', memoryUsage: 0.25,
    });
    expect(health({ calls: 0 }).errorRate).toBe(0);
    // A recovered fault counts without its call failing, so the rate is capped at 1.
    expect(health({ calls: 2, engineFaults: 5 }).errorRate).toBe(1);
  });

  it('lists every reason, critical ones first', () => {
    const report = health({ engineFaults: 60, rejected: 70, p95Ms: 6_000 }, 'OPEN', 0.9);
    expect(report.status).toBe('CRITICAL');
    expect(report.reasons.map((r) => r.split(' ').slice(0, 2).join(' '))).toEqual([
      'circuit breaker', 'p95 latency', 'engine-fault rate', 'rejected-input rate', 'memory use',
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
});

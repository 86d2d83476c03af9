// Health from the sliding window of calls. Bad input only warns (a misbehaving client must not make an
// orchestrator restart a healthy service); engine faults, slowness and an open breaker escalate.
import type { WindowSummary } from './metrics.js';

export interface HealthReport {
  status: 'HEALTHY' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  reasons: string[];
  /** The engine-fault rate over the window, in [0, 1]. */
  errorRate: number;
  p95Ms: number;
  breaker: string;
  memoryUsage: number;
}

/** Each threshold is exceeded strictly: exactly 5 % engine faults is still healthy. */
export const HEALTH_THRESHOLDS = Object.freeze({
  engineFaultWarning: 0.05,
  engineFaultCritical: 0.1,
  rejectedWarning: 0.05,
  p95WarningMs: 1_000,
  p95CriticalMs: 5_000,
  memoryWarning: 0.8,
});

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

export interface HealthInput {
  window: WindowSummary;
  breaker: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  /** Bytes used over the limit, in [0, 1]. */
  memoryUsage: number;
  /** The window's length, for the reasons' wording; default 60 s. */
  windowMs?: number;
}

export function evaluateHealth(input: HealthInput): HealthReport {
  const { window: w, breaker, memoryUsage } = input;
  const t = HEALTH_THRESHOLDS;
  const over = `over the last ${Math.round((input.windowMs ?? 60_000) / 1000)} s`;
  const errorRate = w.calls === 0 ? 0 : Math.min(1, w.engineFaults / w.calls);
  const rejectedRate = w.calls === 0 ? 0 : Math.min(1, w.rejected / w.calls);
  const critical: string[] = [], warning: string[] = [];

  if (breaker === 'OPEN') critical.push('circuit breaker is open: scans run on the calling thread or fail fast');
  else if (breaker === 'HALF_OPEN') warning.push('circuit breaker is half-open: trying the worker pool again');
  if (errorRate > t.engineFaultCritical) critical.push(`engine-fault rate ${percent(errorRate)} ${over} (critical above 10%)`);
  else if (errorRate > t.engineFaultWarning) warning.push(`engine-fault rate ${percent(errorRate)} ${over} (warning above 5%)`);
  if (rejectedRate > t.rejectedWarning) warning.push(`rejected-input rate ${percent(rejectedRate)} ${over} (warning above 5%)`);
  if (w.p95Ms > t.p95CriticalMs) critical.push(`p95 latency ${w.p95Ms.toFixed(0)} ms ${over} (critical above 5000 ms)`);
  else if (w.p95Ms > t.p95WarningMs) warning.push(`p95 latency ${w.p95Ms.toFixed(0)} ms ${over} (warning above 1000 ms)`);
  if (memoryUsage > t.memoryWarning) warning.push(`memory use ${percent(memoryUsage)} of the limit (warning above 80%)`);

  // A problem we can see (the breaker, memory) outranks "no calls yet".
  const reasons = [...critical, ...warning];
  const status = critical.length > 0 ? 'CRITICAL' : warning.length > 0 ? 'WARNING' : w.calls === 0 ? 'UNKNOWN' : 'HEALTHY';
  if (status === 'UNKNOWN') reasons.push(`no calls ${over}`);
  return { status, reasons, errorRate, p95Ms: w.p95Ms, breaker, memoryUsage };
}

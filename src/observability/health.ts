// Health from the last minute of calls: a misbehaving client's bad input only warns (an orchestrator
// must not restart a healthy service for it); engine faults, slowness and an open breaker escalate.
import type { BreakerState } from '../resilience/breaker.js';
import type { Metrics } from './metrics.js';

export interface HealthReport {
  status: 'HEALTHY' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  reasons: string[];
  errorRate: number;
  p95Ms: number;
  breaker: string;
  memoryUsage: number;
}

export const HEALTH_THRESHOLDS = Object.freeze({
  engineFaultWarning: 0.05,
  engineFaultCritical: 0.1,
  rejectedWarning: 0.05,
  p95WarningMs: 1_000,
  p95CriticalMs: 5_000,
  memoryWarning: 0.8,
});

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

export function evaluateHealth(input: { window: ReturnType<Metrics['window']>; breaker: BreakerState; memoryUsage: number }): HealthReport {
  const { window: w, breaker, memoryUsage } = input;
  const t = HEALTH_THRESHOLDS;
  const errorRate = w.calls === 0 ? 0 : Math.min(1, w.engineFaults / w.calls);
  const rejectedRate = w.calls === 0 ? 0 : w.rejected / w.calls;
  const critical: string[] = [], warning: string[] = [];
  if (breaker === 'OPEN') critical.push('circuit breaker is open: scans run on the calling thread');
  if (breaker === 'HALF_OPEN') warning.push('circuit breaker is half-open: trying the worker pool again');
  if (errorRate > t.engineFaultCritical) critical.push(`engine-fault rate ${percent(errorRate)} over the last 60 s (critical above 10%)`);
  else if (errorRate > t.engineFaultWarning) warning.push(`engine-fault rate ${percent(errorRate)} over the last 60 s (warning above 5%)`);
  if (rejectedRate > t.rejectedWarning) warning.push(`rejected-input rate ${percent(rejectedRate)} over the last 60 s (warning above 5%)`);
  if (w.p95Ms > t.p95CriticalMs) critical.push(`p95 latency ${w.p95Ms.toFixed(0)} ms over the last 60 s (critical above 5000 ms)`);
  else if (w.p95Ms > t.p95WarningMs) warning.push(`p95 latency ${w.p95Ms.toFixed(0)} ms over the last 60 s (warning above 1000 ms)`);
  if (memoryUsage > t.memoryWarning) warning.push(`memory use ${percent(memoryUsage)} of the limit (warning above 80%)`);
  const reasons = [...critical, ...warning];
  const status = critical.length > 0 ? 'CRITICAL' : warning.length > 0 ? 'WARNING' : w.calls === 0 ? 'UNKNOWN' : 'HEALTHY';
  if (status === 'UNKNOWN') reasons.push('no calls in the last 60 s');
  return { status, reasons, errorRate, p95Ms: w.p95Ms, breaker, memoryUsage };
}

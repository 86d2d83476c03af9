// Health from the sliding window of calls. What a client can cause at will (bad input, a full store,
// input that reaches a bug, a slow tokenizer of its own) only warns: a misbehaving client must not
// make an orchestrator restart a healthy service. Engine faults, a failed journal, an open breaker
// and the store's own slowness escalate.
import type { JudgedKind, WindowSummary } from './metrics.js';

export interface HealthReport {
  status: 'HEALTHY' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
  reasons: string[];
  /** The engine-fault rate over the window, in [0, 1]. */
  errorRate: number;
  /** The p95 of what health judges: per item for batches, time in caller code excluded, operator work left out. */
  p95Ms: number;
  /** The same per kind of operation called in the window, with the kind's expectation. */
  latency: Partial<Record<JudgedKind, { p95Ms: number; warningMs: number; criticalMs: number }>>;
  breaker: string;
  memoryUsage: number;
}

/** Each threshold is exceeded strictly: exactly 5 % engine faults is still healthy. */
export const HEALTH_THRESHOLDS = Object.freeze({
  engineFaultWarning: 0.05,
  engineFaultCritical: 0.1,
  rejectedWarning: 0.05,
  embedderFaultWarning: 0.05,
  /** Any internal error (a bug) in the window warns. */
  internalWarning: 0,
  memoryWarning: 0.8,
});

/**
 * What each kind of operation is expected to take, per item (a query, a memory written, a call),
 * as the store's own time: the p95 over the window warns above `warningMs` and is critical above
 * `criticalMs`. Operator work (checkpoint, export, flush) is not judged (OPERATION_KINDS in metrics.ts).
 */
export const LATENCY_EXPECTATIONS: Readonly<Record<JudgedKind, { warningMs: number; criticalMs: number; per: string }>> = Object.freeze({
  query: { warningMs: 1_000, criticalMs: 5_000, per: 'per query' },
  read: { warningMs: 1_000, criticalMs: 5_000, per: 'per call' },
  // An in-memory write is microseconds and a synced one a disk flush: half a second per memory is a sick disk.
  write: { warningMs: 500, criticalMs: 5_000, per: 'per memory written' },
});

const percent = (x: number) => `${(x * 100).toFixed(1)}%`;

export interface HealthInput {
  window: WindowSummary;
  breaker: 'CLOSED' | 'OPEN' | 'HALF_OPEN';
  /** Bytes used over the limit, in [0, 1]. */
  memoryUsage: number;
  /** The journal's failure while the store refuses writes because of it (fail closed), if any. */
  storageFault?: string | undefined;
  /** A shared store's replica that cannot reach its database: why (it then serves stale reads and refuses writes). */
  stale?: string | undefined;
  /** The window's length, for the reasons' wording; default 60 s. */
  windowMs?: number;
}

export function evaluateHealth(input: HealthInput): HealthReport {
  const { window: w, breaker, memoryUsage } = input;
  const t = HEALTH_THRESHOLDS;
  const over = `over the last ${Math.round((input.windowMs ?? 60_000) / 1000)} s`;
  const rate = (n: number) => (w.calls === 0 ? 0 : Math.min(1, n / w.calls));
  const errorRate = rate(w.engineFaults);
  const critical: string[] = [], warning: string[] = [];

  if (breaker === 'OPEN') critical.push('circuit breaker is open: scans run on the calling thread or fail fast');
  else if (breaker === 'HALF_OPEN') warning.push('circuit breaker is half-open: trying the worker pool again');
  if (input.storageFault !== undefined) critical.push(`the journal failed (${input.storageFault}): writes are refused until the store is reopened`);
  else if (w.storageFaults > 0) critical.push(`${w.storageFaults} storage fault${w.storageFaults === 1 ? '' : 's'} ${over}: writes are refused until the store is reopened`);
  // Not critical: the replica still serves reads, and restarting it would not bring the database back.
  if (input.stale !== undefined) warning.push(`reads are stale and writes are refused: ${input.stale}`);
  if (errorRate > t.engineFaultCritical) critical.push(`engine-fault rate ${percent(errorRate)} ${over} (critical above 10%)`);
  else if (errorRate > t.engineFaultWarning) warning.push(`engine-fault rate ${percent(errorRate)} ${over} (warning above 5%)`);
  for (const [kind, { p95Ms }] of Object.entries(w.latency) as [JudgedKind, { p95Ms: number }][]) {
    const e = LATENCY_EXPECTATIONS[kind];
    const said = `p95 ${kind} latency ${p95Ms.toFixed(0)} ms ${e.per} ${over}`;
    if (p95Ms > e.criticalMs) critical.push(`${said} (critical above ${e.criticalMs} ms)`);
    else if (p95Ms > e.warningMs) warning.push(`${said} (warning above ${e.warningMs} ms)`);
  }
  if (rate(w.rejected) > t.rejectedWarning) warning.push(`rejected-input rate ${percent(rate(w.rejected))} ${over} (warning above 5%)`);
  if (rate(w.embedderFaults) > t.embedderFaultWarning) warning.push(`embedder-fault rate ${percent(rate(w.embedderFaults))} ${over} (warning above 5%)`);
  if (w.internalErrors > t.internalWarning) {
    warning.push(`${w.internalErrors} internal error${w.internalErrors === 1 ? '' : 's'} ${over}: a bug in ov-memory, see errors()`);
  }
  if (memoryUsage > t.memoryWarning) warning.push(`memory use ${percent(memoryUsage)} of the limit (warning above 80%)`);

  // A problem we can see (the breaker, memory, the journal) outranks "no calls yet".
  const reasons = [...critical, ...warning];
  const status = critical.length > 0 ? 'CRITICAL' : warning.length > 0 ? 'WARNING' : w.calls === 0 ? 'UNKNOWN' : 'HEALTHY';
  if (status === 'UNKNOWN') reasons.push(`no calls ${over}`);
  const latency: HealthReport['latency'] = {};
  for (const [kind, { p95Ms }] of Object.entries(w.latency) as [JudgedKind, { p95Ms: number }][]) {
    latency[kind] = { p95Ms, warningMs: LATENCY_EXPECTATIONS[kind].warningMs, criticalMs: LATENCY_EXPECTATIONS[kind].criticalMs };
  }
  return { status, reasons, errorRate, p95Ms: w.p95Ms, latency, breaker, memoryUsage };
}

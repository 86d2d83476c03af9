// Operation metrics: per operation a count, errors and an HDR latency histogram (hdr-histogram-js, its
// pure-JS build, so it runs in browsers too), plus a sliding window for health and throughput.
// Recording is O(1): state for an operation is made the first time its name is seen.
import { build, type Histogram } from 'hdr-histogram-js';

export interface LatencySummary {
  avg: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface MetricsSnapshot {
  nodes: number;
  memoryBytes: number;
  memoryLimitBytes: number;
  operations: Record<string, { count: number; errors: number; latencyMs: LatencySummary }>;
  queriesPerSecond: number;
  errorsByCode: Record<string, number>;
  quality: { driftDetections: number; loopPreventions: number; redundancyFilters: number };
  breaker: { state: 'CLOSED' | 'OPEN' | 'HALF_OPEN'; failures: number; opens: number };
}

export type ErrorClass = 'rejected' | 'caller' | 'engine';

/** Rejected input is the caller's fault; a timeout, an abort or a closed store is the caller's choice; the rest is ours. */
export function classifyError(code: string): ErrorClass {
  switch (code) {
    case 'INVALID_DATA': case 'DUPLICATE_KEY': case 'NOT_FOUND': case 'UNSUPPORTED': return 'rejected';
    case 'TIMEOUT': case 'ABORTED': case 'CLOSED': return 'caller';
    default: return 'engine';
  }
}

export type GuardrailKind = 'drift' | 'loop' | 'redundancy';

/** Latencies are recorded in microseconds, from 1 µs up to an hour. */
const newHistogram = (digits: 2 | 3): Histogram =>
  build({ useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: digits, autoResize: false });
const MAX_MICROS = 3_600_000_000;
const QUERY_OPERATIONS = new Set(['search', 'searchMany', 'context']);
/** The window is kept in this many slices; a slice's latencies share one small histogram. */
const SLICES = 6;

interface OperationState {
  count: number;
  errors: number;
  totalMs: number;
  latency: Histogram;
}

interface Slice {
  start: number;
  calls: number;
  queries: number;
  rejected: number;
  engine: number;
  latency: Histogram;
}

export class Metrics {
  readonly #operations = new Map<string, OperationState>();
  readonly #errorsByCode = new Map<string, number>();
  readonly #guardrails = { drift: 0, loop: 0, redundancy: 0 };
  readonly #slices: Slice[];
  readonly #sliceMs: number;
  readonly #scratch = newHistogram(2);

  constructor(private readonly o: { clock: () => number; windowMs: number }) {
    this.#sliceMs = o.windowMs / SLICES;
    this.#slices = Array.from({ length: SLICES }, () => ({ start: -Infinity, calls: 0, queries: 0, rejected: 0, engine: 0, latency: newHistogram(2) }));
  }

  /** One call of an operation: `code` is undefined on success, else the error's code. */
  record(operation: string, durationMs: number, code?: string): void {
    let state = this.#operations.get(operation);
    if (!state) {
      state = { count: 0, errors: 0, totalMs: 0, latency: newHistogram(3) };
      this.#operations.set(operation, state);
    }
    const micros = Math.min(MAX_MICROS, Math.max(1, Math.round(durationMs * 1000)));
    state.count++;
    state.totalMs += durationMs;
    state.latency.recordValue(micros);
    const slice = this.#current();
    slice.calls++;
    slice.latency.recordValue(micros);
    if (QUERY_OPERATIONS.has(operation)) slice.queries++;
    if (code === undefined) return;
    state.errors++;
    this.#errorsByCode.set(code, (this.#errorsByCode.get(code) ?? 0) + 1);
    const kind = classifyError(code);
    if (kind === 'rejected') slice.rejected++;
    else if (kind === 'engine') slice.engine++;
  }

  /** An engine fault the fallback absorbed: not an operation error, but it counts for health. */
  countEngineFault(): void {
    this.#current().engine++;
  }

  countGuardrail(kind: GuardrailKind): void {
    this.#guardrails[kind]++;
  }

  /** Totals over the sliding window. */
  window(): { calls: number; engineFaults: number; rejected: number; p95Ms: number; queriesPerSecond: number } {
    this.#scratch.reset();
    let calls = 0, engineFaults = 0, rejected = 0, queries = 0;
    for (const s of this.#live()) {
      calls += s.calls;
      engineFaults += s.engine;
      rejected += s.rejected;
      queries += s.queries;
      this.#scratch.add(s.latency);
    }
    return {
      calls,
      engineFaults,
      rejected,
      p95Ms: calls === 0 ? 0 : this.#scratch.getValueAtPercentile(95) / 1000,
      queriesPerSecond: queries / (this.o.windowMs / 1000),
    };
  }

  snapshot(extra: Pick<MetricsSnapshot, 'nodes' | 'memoryBytes' | 'memoryLimitBytes' | 'breaker'>): MetricsSnapshot {
    const operations: MetricsSnapshot['operations'] = {};
    for (const [name, s] of this.#operations) {
      const h = s.latency, ms = (p: number) => h.getValueAtPercentile(p) / 1000;
      operations[name] = {
        count: s.count,
        errors: s.errors,
        latencyMs: { avg: s.count === 0 ? 0 : s.totalMs / s.count, p50: ms(50), p95: ms(95), p99: ms(99), max: h.maxValue / 1000 },
      };
    }
    return {
      ...extra,
      operations,
      queriesPerSecond: this.window().queriesPerSecond,
      errorsByCode: Object.fromEntries(this.#errorsByCode),
      quality: {
        driftDetections: this.#guardrails.drift,
        loopPreventions: this.#guardrails.loop,
        redundancyFilters: this.#guardrails.redundancy,
      },
    };
  }

  /** The slice for now, reset lazily when the clock has moved past it. */
  #current(): Slice {
    const now = this.o.clock();
    const start = Math.floor(now / this.#sliceMs) * this.#sliceMs;
    const slice = this.#slices[Math.floor(now / this.#sliceMs) % SLICES]!;
    if (slice.start !== start) {
      slice.start = start;
      slice.calls = slice.queries = slice.rejected = slice.engine = 0;
      slice.latency.reset();
    }
    return slice;
  }

  #live(): Slice[] {
    const now = this.o.clock();
    return this.#slices.filter((s) => now - s.start < this.o.windowMs && s.start <= now);
  }
}

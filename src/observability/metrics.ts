// Operation metrics: per operation a count, errors and an HDR latency histogram, plus a sliding window
// (calls, errors by class, latency) for health and throughput. hdr-histogram-js runs as pure JS
// (`useWebAssembly: false`) so the same code works in browsers. Recording is O(1) and allocates nothing
// on the success path: an operation's state is made the first time its name is seen, the window is
// preallocated and its buckets are reset lazily as the clock moves on (no timers).
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
  /** Calls of search, searchMany and context per second over the sliding window. */
  queriesPerSecond: number;
  errorsByCode: Record<string, number>;
  quality: { driftDetections: number; loopPreventions: number; redundancyFilters: number };
  breaker: { state: 'CLOSED' | 'OPEN' | 'HALF_OPEN'; failures: number; opens: number };
}

export interface WindowSummary {
  calls: number;
  engineFaults: number;
  rejected: number;
  p95Ms: number;
  queriesPerSecond: number;
}

export type ErrorClass = 'rejected' | 'caller' | 'engine';
export type GuardrailKind = 'drift' | 'loop' | 'redundancy';

/**
 * Bad input is `rejected` (it only warns in health: a misbehaving client must not get a healthy service
 * restarted); a timeout, an abort or a closed store is the `caller`'s own doing; the rest is the `engine`'s.
 * UNSUPPORTED (a Node-only call in a browser) is misuse too, so it counts as rejected, not as a fault.
 */
export function classifyError(code: string): ErrorClass {
  switch (code) {
    case 'INVALID_DATA': case 'DUPLICATE_KEY': case 'NOT_FOUND': case 'UNSUPPORTED': return 'rejected';
    case 'TIMEOUT': case 'ABORTED': case 'CLOSED': return 'caller';
    default: return 'engine';
  }
}

/** Latencies are recorded in whole microseconds, from 1 µs up to an hour (longer calls are clamped). */
const MAX_MICROS = 3_600_000_000;
const histogram = (digits: 2 | 3): Histogram => build({
  useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: MAX_MICROS, numberOfSignificantValueDigits: digits, autoResize: false,
});
const QUERY_OPERATIONS = new Set(['search', 'searchMany', 'context']);

/**
 * The window: 60 buckets of counts (1 s each for a 60 s window), so calls expire within 1/60 of the
 * window. Latency goes into 6 histograms, one per 10 buckets, merged on read: a histogram per bucket
 * would cost 60 × 13 KB, and p95 for a health threshold does not need second-level expiry (it may
 * include up to one group, 10 s, older than the counts). Window histograms keep 2 significant digits (1 %).
 */
const BUCKETS = 60;
const GROUPS = 6;

interface OperationState {
  count: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  isQuery: boolean;
  latency: Histogram;
}

export class Metrics {
  readonly #clock: () => number;
  readonly #windowMs: number;
  readonly #bucketMs: number;
  readonly #groupMs: number;
  /** The latest clock reading: a clock that steps back must not reset live buckets. */
  #now = -Infinity;

  readonly #operations = new Map<string, OperationState>();
  readonly #errorsByCode = new Map<string, number>();
  readonly #guardrails = { drift: 0, loop: 0, redundancy: 0 };

  // The count ring: for each bucket the bucket number it holds (floor(time / bucketMs)) and its counts.
  readonly #bucketEpoch = new Float64Array(BUCKETS).fill(-Infinity);
  readonly #calls = new Float64Array(BUCKETS);
  readonly #queries = new Float64Array(BUCKETS);
  readonly #rejected = new Float64Array(BUCKETS);
  readonly #engine = new Float64Array(BUCKETS);
  // The latency ring, the same way with GROUPS slots.
  readonly #groupEpoch = new Float64Array(GROUPS).fill(-Infinity);
  readonly #groupLatency: Histogram[] = Array.from({ length: GROUPS }, () => histogram(2));
  readonly #merged = histogram(2);

  constructor(o: { clock: () => number; windowMs: number }) {
    this.#clock = o.clock;
    this.#windowMs = o.windowMs;
    this.#bucketMs = o.windowMs / BUCKETS;
    this.#groupMs = o.windowMs / GROUPS;
  }

  /** One call of an operation: `code` is undefined on success, else the error's code. */
  record(operation: string, durationMs: number, code?: string): void {
    let op = this.#operations.get(operation);
    if (op === undefined) {
      op = { count: 0, errors: 0, totalMs: 0, maxMs: 0, isQuery: QUERY_OPERATIONS.has(operation), latency: histogram(3) };
      this.#operations.set(operation, op);
    }
    const ms = durationMs >= 0 ? durationMs : 0;   // also turns NaN into 0
    const micros = Math.min(MAX_MICROS, Math.max(1, Math.round(ms * 1000)));
    op.count++;
    op.totalMs += ms;
    if (ms > op.maxMs) op.maxMs = ms;
    op.latency.recordValue(micros);

    const now = this.#tick();
    const b = this.#bucket(now);
    this.#calls[b]!++;
    if (op.isQuery) this.#queries[b]!++;
    this.#groupLatency[this.#group(now)]!.recordValue(micros);

    if (code === undefined) return;
    op.errors++;
    this.#errorsByCode.set(code, (this.#errorsByCode.get(code) ?? 0) + 1);
    const kind = classifyError(code);
    if (kind === 'rejected') this.#rejected[b]!++;
    else if (kind === 'engine') this.#engine[b]!++;
  }

  /** An engine fault the fallback absorbed: not an operation error, but it counts for health. */
  countEngineFault(): void {
    this.#engine[this.#bucket(this.#tick())]!++;
  }

  countGuardrail(kind: GuardrailKind): void {
    this.#guardrails[kind]++;
  }

  /** Totals over the sliding window. */
  window(): WindowSummary {
    const now = this.#tick();
    const current = Math.floor(now / this.#bucketMs);
    let calls = 0, engineFaults = 0, rejected = 0, queries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (current - this.#bucketEpoch[i]! >= BUCKETS) continue;
      calls += this.#calls[i]!;
      engineFaults += this.#engine[i]!;
      rejected += this.#rejected[i]!;
      queries += this.#queries[i]!;
    }
    let p95Ms = 0;
    if (calls > 0) {
      const group = Math.floor(now / this.#groupMs);
      this.#merged.reset();
      for (let i = 0; i < GROUPS; i++) if (group - this.#groupEpoch[i]! < GROUPS) this.#merged.add(this.#groupLatency[i]!);
      p95Ms = this.#merged.getValueAtPercentile(95) / 1000;
    }
    return { calls, engineFaults, rejected, p95Ms, queriesPerSecond: queries / (this.#windowMs / 1000) };
  }

  snapshot(extra: Pick<MetricsSnapshot, 'nodes' | 'memoryBytes' | 'memoryLimitBytes' | 'breaker'>): MetricsSnapshot {
    const operations: MetricsSnapshot['operations'] = {};
    for (const [name, op] of this.#operations) {
      const at = (p: number) => op.latency.getValueAtPercentile(p) / 1000;
      operations[name] = {
        count: op.count,
        errors: op.errors,
        latencyMs: { avg: op.count === 0 ? 0 : op.totalMs / op.count, p50: at(50), p95: at(95), p99: at(99), max: op.maxMs },
      };
    }
    return {
      nodes: extra.nodes,
      memoryBytes: extra.memoryBytes,
      memoryLimitBytes: extra.memoryLimitBytes,
      operations,
      queriesPerSecond: this.window().queriesPerSecond,
      errorsByCode: Object.fromEntries(this.#errorsByCode),
      quality: {
        driftDetections: this.#guardrails.drift,
        loopPreventions: this.#guardrails.loop,
        redundancyFilters: this.#guardrails.redundancy,
      },
      breaker: { ...extra.breaker },
    };
  }

  #tick(): number {
    const t = this.#clock();
    if (t > this.#now) this.#now = t;
    return this.#now;
  }

  /** The count bucket for `now`, cleared first if it still holds an older bucket's counts. */
  #bucket(now: number): number {
    const epoch = Math.floor(now / this.#bucketMs);
    const i = ((epoch % BUCKETS) + BUCKETS) % BUCKETS;
    if (this.#bucketEpoch[i] !== epoch) {
      this.#bucketEpoch[i] = epoch;
      this.#calls[i] = this.#queries[i] = this.#rejected[i] = this.#engine[i] = 0;
    }
    return i;
  }

  #group(now: number): number {
    const epoch = Math.floor(now / this.#groupMs);
    const i = ((epoch % GROUPS) + GROUPS) % GROUPS;
    if (this.#groupEpoch[i] !== epoch) {
      this.#groupEpoch[i] = epoch;
      this.#groupLatency[i]!.reset();
    }
    return i;
  }
}

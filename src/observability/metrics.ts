// Operation metrics: per operation a count, errors and an HDR latency histogram, plus a sliding window
// (calls, errors by class, latency per kind of operation) for health and throughput. hdr-histogram-js runs as pure JS
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
  /**
   * Quantized stores: bytes of the float32 vectors kept in memory outside the WebAssembly memory for
   * the exact rerank (not part of memoryBytes, not bounded by maxMemoryMB); for a durable store only
   * those not yet written to its `vectors.f32`; 0 for a float32 store.
   */
  vectorsOutsideBytes: number;
  operations: Record<string, { count: number; errors: number; latencyMs: LatencySummary }>;
  /** Calls of search, searchMany and context per second over the sliding window. */
  queriesPerSecond: number;
  errorsByCode: Record<string, number>;
  quality: { driftDetections: number; loopPreventions: number; redundancyFilters: number };
  breaker: { state: 'CLOSED' | 'OPEN' | 'HALF_OPEN'; failures: number; opens: number };
  /** Memories removed to make room under `onFull: 'evict'`. */
  evicted: number;
  /** A store shared through PostgreSQL (`OVMemory.open('postgres://…')`): how far this replica is. */
  replication?: ReplicationStatus;
}

/** A shared store's replica: what it has applied of the database's change table, and how late. */
export interface ReplicationStatus {
  /** The database answered the last request. */
  connected: boolean;
  /** While the database cannot be reached, reads serve this replica as it was and writes are refused (UNAVAILABLE). */
  stale: boolean;
  /** Since when (ms since epoch) the database has been unreachable; undefined while connected. */
  unreachableSince: number | undefined;
  /** The last change applied here, and the newest this replica knows was committed. */
  lastSequence: number;
  headSequence: number;
  /** From another writer's commit to its apply here (the database's commit time against this host's clock), over the last 1,000 changes. */
  lagMs: { last: number; p50: number; p99: number };
  /** How often this replica reloaded what changed from the tables, because the change table was trimmed past it. */
  reloads: number;
  lastError: string | undefined;
}

export interface WindowSummary {
  calls: number;
  /** ENGINE_FAULT and CIRCUIT_OPEN, and faults the inline fallback absorbed. */
  engineFaults: number;
  rejected: number;
  embedderFaults: number;
  storageFaults: number;
  internalErrors: number;
  /** The p95 of what health judges, over every judged kind: per item for batches, caller time excluded. */
  p95Ms: number;
  /** The same per kind, for the kinds called in the window. */
  latency: Partial<Record<JudgedKind, { p95Ms: number }>>;
  queriesPerSecond: number;
}

export type ErrorClass = 'rejected' | 'caller' | 'engine' | 'embedder' | 'storage' | 'internal';
export type GuardrailKind = 'drift' | 'loop' | 'redundancy';

/**
 * How health sees an error code. What a client can cause at will must never be worse than a
 * warning, or a misbehaving client could get a healthy service restarted:
 * - `rejected`: the call was refused for what it asked (bad input, an unknown id, a full store, a
 *   Node-only call in a browser); its rate only warns.
 * - `caller`: a timeout, an abort, a closed or locked store: the caller's own doing; not counted.
 *   A shared store's unreachable database (`UNAVAILABLE`) is not counted either: the replication
 *   state reports it in health while it lasts.
 * - `engine`: the scan engine failed (its rate warns, then is critical).
 * - `embedder`: the configured embedder failed: a service of the caller's, which a restart does not
 *   mend; its rate only warns.
 * - `storage`: the journal failed or the files are damaged: the store refuses writes until it is
 *   reopened, which is what a restart does; critical.
 * - `internal`: a bug in the library's host code (and any code this list does not know). It warns
 *   and is never critical, because the input that reaches a bug can be sent again and again.
 */
export function classifyError(code: string): ErrorClass {
  switch (code) {
    case 'INVALID_DATA': case 'DUPLICATE_KEY': case 'NOT_FOUND': case 'UNSUPPORTED': case 'RESOURCE_EXHAUSTION': return 'rejected';
    case 'TIMEOUT': case 'ABORTED': case 'CLOSED': case 'LOCKED': case 'UNAVAILABLE': return 'caller';
    case 'ENGINE_FAULT': case 'CIRCUIT_OPEN': return 'engine';
    case 'EMBEDDER_FAULT': return 'embedder';
    case 'STORAGE_FAULT': case 'MEMORY_CORRUPTION': return 'storage';
    default: return 'internal';
  }
}

/** What an operation is, for health's latency expectations (LATENCY_EXPECTATIONS in health.ts). */
export type OperationKind = 'query' | 'read' | 'write' | 'operator';
export type JudgedKind = Exclude<OperationKind, 'operator'>;
export const JUDGED_KINDS: readonly JudgedKind[] = ['query', 'read', 'write'];

/**
 * Each operation's kind; one not listed is a read. Queries count for queries per second; operator work
 * (checkpoints, exports, flushes, scrapes) is long by nature and started by the operator, so health
 * does not judge its latency.
 */
export const OPERATION_KINDS: Readonly<Record<string, OperationKind>> = Object.freeze({
  search: 'query', searchMany: 'query', context: 'query',
  get: 'read', getByKey: 'read', has: 'read', ids: 'read', hubs: 'read',
  add: 'write', addMany: 'write', upsert: 'write', update: 'write', remove: 'write', removeByKey: 'write',
  link: 'write', unlink: 'write', supersede: 'write', forget: 'write', remember: 'write', rememberMany: 'write', ingest: 'write',
  scopes: 'read',
  checkpoint: 'operator', export: 'operator', flush: 'operator', close: 'operator', prometheus: 'operator',
});

/** What a call did, beyond its duration: health judges (duration − callerMs) / items. */
export interface Work {
  /** Items a batch handled (memories written, queries answered); default 1. */
  items?: number;
  /** Milliseconds spent in code the caller supplied (a tokenizer, an embedder); default 0. */
  callerMs?: number;
}

/** Latencies are recorded in whole microseconds, from 1 µs up to an hour (longer calls are clamped). */
const MAX_MICROS = 3_600_000_000;
const histogram = (digits: 2 | 3): Histogram => build({
  useWebAssembly: false, lowestDiscernibleValue: 1, highestTrackableValue: MAX_MICROS, numberOfSignificantValueDigits: digits, autoResize: false,
});

/**
 * The window: 60 buckets of counts (1 s each for a 60 s window), so calls expire within 1/60 of the
 * window. Latency goes, per judged kind, into 6 histograms, one per 10 buckets, merged on read: a
 * histogram per bucket would cost 60 × 13 KB, and p95 for a health threshold does not need
 * second-level expiry (it may include up to one group, 10 s, older than the counts). Window histograms
 * keep 2 significant digits (1 %).
 */
const BUCKETS = 60;
const GROUPS = 6;

interface OperationState {
  count: number;
  errors: number;
  totalMs: number;
  maxMs: number;
  kind: OperationKind;
  latency: Histogram;
}

const toMicros = (ms: number) => Math.min(MAX_MICROS, Math.max(1, Math.round(ms * 1000)));

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
  #evicted = 0;

  // The count ring: for each bucket the bucket number it holds (floor(time / bucketMs)) and its counts.
  readonly #bucketEpoch = new Float64Array(BUCKETS).fill(-Infinity);
  readonly #calls = new Float64Array(BUCKETS);
  readonly #queries = new Float64Array(BUCKETS);
  readonly #rejected = new Float64Array(BUCKETS);
  readonly #engine = new Float64Array(BUCKETS);
  readonly #embedder = new Float64Array(BUCKETS);
  readonly #storage = new Float64Array(BUCKETS);
  readonly #internal = new Float64Array(BUCKETS);
  // The latency ring, the same way with GROUPS slots, one histogram per judged kind in each.
  readonly #groupEpoch = new Float64Array(GROUPS).fill(-Infinity);
  readonly #groupLatency: Record<JudgedKind, Histogram>[] = Array.from({ length: GROUPS }, () => ({
    query: histogram(2), read: histogram(2), write: histogram(2),
  }));
  readonly #merged = histogram(2);
  readonly #mergedKind = histogram(2);

  constructor(o: { clock: () => number; windowMs: number }) {
    this.#clock = o.clock;
    this.#windowMs = o.windowMs;
    this.#bucketMs = o.windowMs / BUCKETS;
    this.#groupMs = o.windowMs / GROUPS;
  }

  /**
   * One call of an operation: `code` is undefined on success, else the error's code. The call's
   * wall time goes into the operation's totals; health's window gets what the store itself spent per
   * item (`work`), unless the operation is operator work.
   */
  record(operation: string, durationMs: number, code?: string, work?: Work): void {
    let op = this.#operations.get(operation);
    if (op === undefined) {
      op = { count: 0, errors: 0, totalMs: 0, maxMs: 0, kind: OPERATION_KINDS[operation] ?? 'read', latency: histogram(3) };
      this.#operations.set(operation, op);
    }
    const ms = durationMs >= 0 ? durationMs : 0;   // also turns NaN into 0
    op.count++;
    op.totalMs += ms;
    if (ms > op.maxMs) op.maxMs = ms;
    op.latency.recordValue(toMicros(ms));

    const now = this.#tick();
    const b = this.#bucket(now);
    this.#calls[b]!++;
    if (op.kind === 'query') this.#queries[b]!++;
    if (op.kind !== 'operator') this.#groupLatency[this.#group(now)]![op.kind].recordValue(toMicros(judgedMs(ms, work)));

    if (code === undefined) return;
    op.errors++;
    this.#errorsByCode.set(code, (this.#errorsByCode.get(code) ?? 0) + 1);
    switch (classifyError(code)) {
      case 'rejected': this.#rejected[b]!++; break;
      case 'engine': this.#engine[b]!++; break;
      case 'embedder': this.#embedder[b]!++; break;
      case 'storage': this.#storage[b]!++; break;
      case 'internal': this.#internal[b]!++; break;
      case 'caller': break;
    }
  }

  /** An engine fault the fallback absorbed: not an operation error, but it counts for health. */
  countEngineFault(): void {
    this.#engine[this.#bucket(this.#tick())]!++;
  }

  countGuardrail(kind: GuardrailKind): void {
    this.#guardrails[kind]++;
  }

  countEvicted(count: number): void {
    this.#evicted += count;
  }

  /** Totals over the sliding window. */
  window(): WindowSummary {
    const now = this.#tick();
    const current = Math.floor(now / this.#bucketMs);
    let calls = 0, engineFaults = 0, rejected = 0, embedderFaults = 0, storageFaults = 0, internalErrors = 0, queries = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (current - this.#bucketEpoch[i]! >= BUCKETS) continue;
      calls += this.#calls[i]!;
      engineFaults += this.#engine[i]!;
      rejected += this.#rejected[i]!;
      embedderFaults += this.#embedder[i]!;
      storageFaults += this.#storage[i]!;
      internalErrors += this.#internal[i]!;
      queries += this.#queries[i]!;
    }
    const latency: WindowSummary['latency'] = {};
    let p95Ms = 0;
    if (calls > 0) {
      const group = Math.floor(now / this.#groupMs);
      this.#merged.reset();
      for (const kind of JUDGED_KINDS) {
        this.#mergedKind.reset();
        for (let i = 0; i < GROUPS; i++) if (group - this.#groupEpoch[i]! < GROUPS) this.#mergedKind.add(this.#groupLatency[i]![kind]);
        if (this.#mergedKind.totalCount === 0) continue;
        latency[kind] = { p95Ms: this.#mergedKind.getValueAtPercentile(95) / 1000 };
        this.#merged.add(this.#mergedKind);
      }
      if (this.#merged.totalCount > 0) p95Ms = this.#merged.getValueAtPercentile(95) / 1000;
    }
    return {
      calls, engineFaults, rejected, embedderFaults, storageFaults, internalErrors, p95Ms, latency,
      queriesPerSecond: queries / (this.#windowMs / 1000),
    };
  }

  snapshot(extra: Pick<MetricsSnapshot, 'nodes' | 'memoryBytes' | 'memoryLimitBytes' | 'vectorsOutsideBytes' | 'breaker'>): MetricsSnapshot {
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
      vectorsOutsideBytes: extra.vectorsOutsideBytes,
      operations,
      queriesPerSecond: this.window().queriesPerSecond,
      errorsByCode: Object.fromEntries(this.#errorsByCode),
      quality: {
        driftDetections: this.#guardrails.drift,
        loopPreventions: this.#guardrails.loop,
        redundancyFilters: this.#guardrails.redundancy,
      },
      breaker: { ...extra.breaker },
      evicted: this.#evicted,
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
      this.#calls[i] = this.#queries[i] = this.#rejected[i] = this.#engine[i] = this.#embedder[i] = this.#storage[i] = this.#internal[i] = 0;
    }
    return i;
  }

  #group(now: number): number {
    const epoch = Math.floor(now / this.#groupMs);
    const i = ((epoch % GROUPS) + GROUPS) % GROUPS;
    if (this.#groupEpoch[i] !== epoch) {
      this.#groupEpoch[i] = epoch;
      for (const kind of JUDGED_KINDS) this.#groupLatency[i]![kind].reset();
    }
    return i;
  }
}

/** The time a call spent in the store itself, per item: caller code excluded, batches per item. */
export function judgedMs(ms: number, work: Work | undefined): number {
  if (work === undefined) return ms;
  const callerMs = work.callerMs !== undefined && work.callerMs > 0 ? Math.min(work.callerMs, ms) : 0;
  const items = work.items !== undefined && work.items >= 1 ? work.items : 1;   // also turns NaN into 1
  return (ms - callerMs) / items;
}

// The Prometheus bridge. prom-client breaks browser bundles, so it is loaded only here, with a dynamic
// import, and only when a Node store asks for it. Every series carries a `store` label (a label, not a
// registry default label, so several stores can share a user's registry): the first exporter on a
// registry registers each metric, later ones reuse it by name, each adds and on close removes only its
// own label series, and the last one to close removes the metrics themselves.
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { judgedMs, OPERATION_KINDS, type ReplicationStatus, type Work } from './metrics.js';

export interface PrometheusExporter {
  /**
   * One call of `operation` that took `seconds`; `code` is the error's code when it failed. `work`
   * gives what health judges (per item, caller code excluded) for the per-item histogram.
   */
  observe(operation: string, seconds: number, code?: string, work?: Work): void;
  guardrail(kind: string): void;
  /** A scan worker's failure that the calling thread took over: the call itself went on. */
  engineFallback(): void;
  /** Memories removed to make room (`onFull: 'evict'`). */
  evicted(count: number): void;
  /** Where the write path's state is read at scrape time: refused writes, and a durable store's journal. */
  watchWrites(read: () => WriteGauges): void;
  /** The exposition text of the whole registry (every store that shares it). */
  text(): Promise<string>;
  /** Removes this store's series; idempotent. */
  close(): void;
}

export type BreakerGaugeState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface StoreGauges {
  nodes: number;
  memoryBytes: number;
  breakerState: BreakerGaugeState;
  /** The limits the store refuses writes at, so that use can be read as a ratio. */
  memoryLimitBytes: number;
  nodesLimit: number;
  /** Quantized stores: float32 bytes kept outside the WebAssembly memory (0 for a float32 store). */
  vectorsOutsideBytes: number;
  /** A store shared through PostgreSQL: its replica's state (none for other stores). */
  replication?: ReplicationStatus | undefined;
}

export interface WriteGauges {
  /** The store refuses writes until it is reopened (the journal failed, or memory and journal disagree). */
  refused: boolean;
  /** A durable store's journal: the current log's size and its generation (one more per checkpoint; a shared store has none). */
  journal: { logBytes: number; generation?: number | undefined } | undefined;
}

export interface PrometheusSettings {
  registry?: Registry | undefined;
  name: string;
  gauges: () => StoreGauges;
}

/** Seconds: fine enough for sub-millisecond scans (50 µs), wide enough for a stalled call (30 s). */
export const DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
]);
export const BREAKER_GAUGE_VALUE: Readonly<Record<BreakerGaugeState, number>> = Object.freeze({ CLOSED: 0, HALF_OPEN: 1, OPEN: 2 });

const NAMES = {
  operations: 'ov_memory_operations_total',
  errors: 'ov_memory_errors_total',
  duration: 'ov_memory_operation_duration_seconds',
  guardrails: 'ov_memory_guardrail_blocks_total',
  itemDuration: 'ov_memory_item_duration_seconds',
  fallbacks: 'ov_memory_engine_fallbacks_total',
  evicted: 'ov_memory_evicted_total',
  nodes: 'ov_memory_nodes',
  nodesLimit: 'ov_memory_nodes_limit',
  memoryBytes: 'ov_memory_memory_bytes',
  vectorsOutside: 'ov_memory_vectors_outside_bytes',
  memoryLimit: 'ov_memory_memory_limit_bytes',
  breaker: 'ov_memory_breaker_state',
  writesRefused: 'ov_memory_writes_refused',
  journalBytes: 'ov_memory_journal_log_bytes',
  journalGeneration: 'ov_memory_journal_generation',
  replicationLag: 'ov_memory_replication_lag_seconds',
  replicationSequence: 'ov_memory_replication_sequence',
  replicationConnected: 'ov_memory_replication_connected',
} as const;

type Source = { name: string; gauges: PrometheusSettings['gauges']; writes?: () => WriteGauges };
/** The stores that export into each registry: the gauges' collect() reads every one of them. */
const storesOf = new WeakMap<Registry, Set<Source>>();

export async function createPrometheusExporter(s: PrometheusSettings): Promise<PrometheusExporter> {
  const prom = await import('prom-client');
  const registry = s.registry ?? new prom.Registry();
  const store = s.name;
  const source: Source = { name: store, gauges: s.gauges };
  let stores = storesOf.get(registry);
  if (!stores) storesOf.set(registry, (stores = new Set()));
  stores.add(source);

  const existing = <T>(name: string) => registry.getSingleMetric(name) as T | undefined;
  const operations = existing<Counter<'store' | 'operation'>>(NAMES.operations) ?? new prom.Counter({
    name: NAMES.operations, help: 'Calls of each public operation.', labelNames: ['store', 'operation'], registers: [registry],
  });
  const errors = existing<Counter<'store' | 'operation' | 'code'>>(NAMES.errors) ?? new prom.Counter({
    name: NAMES.errors, help: 'Failed calls by operation and error code.', labelNames: ['store', 'operation', 'code'], registers: [registry],
  });
  const duration = existing<Histogram<'store' | 'operation'>>(NAMES.duration) ?? new prom.Histogram({
    name: NAMES.duration, help: 'Latency of each public operation in seconds.', labelNames: ['store', 'operation'],
    buckets: [...DURATION_BUCKETS], registers: [registry],
  });
  const guardrails = existing<Counter<'store' | 'kind'>>(NAMES.guardrails) ?? new prom.Counter({
    name: NAMES.guardrails, help: 'Memories kept out of a context by a guardrail.', labelNames: ['store', 'kind'], registers: [registry],
  });
  const itemDuration = existing<Histogram<'store' | 'kind'>>(NAMES.itemDuration) ?? new prom.Histogram({
    name: NAMES.itemDuration, labelNames: ['store', 'kind'], buckets: [...DURATION_BUCKETS], registers: [registry],
    help: 'What health judges: the store\'s own seconds per item (query, memory written, call) by kind, caller code excluded, operator work left out.',
  });
  const evictions = existing<Counter<'store'>>(NAMES.evicted) ?? new prom.Counter({
    name: NAMES.evicted, help: 'Memories removed to make room under onFull: evict.', labelNames: ['store'], registers: [registry],
  });
  const fallbacks = existing<Counter<'store'>>(NAMES.fallbacks) ?? new prom.Counter({
    name: NAMES.fallbacks, help: 'Scan worker failures the calling thread took over (engine faults the call survived).', labelNames: ['store'], registers: [registry],
  });
  /** A gauge read at scrape time for every store on this registry (a closed store drops out of the set); undefined: no series. */
  const gauge = (name: string, help: string, read: (st: Source) => number | undefined) => existing<Gauge<'store'>>(name) ?? new prom.Gauge({
    name, help, labelNames: ['store'], registers: [registry],
    collect() {
      this.reset();
      for (const st of storesOf.get(registry) ?? []) {
        const v = read(st);
        if (v !== undefined) this.set({ store: st.name }, v);
      }
    },
  });
  gauge(NAMES.nodes, 'Live memories in the store.', (st) => st.gauges().nodes);
  gauge(NAMES.nodesLimit, 'The most memories the store takes (maxNodes).', (st) => st.gauges().nodesLimit);
  gauge(NAMES.memoryBytes, 'Bytes used by vectors, side arrays and text.', (st) => st.gauges().memoryBytes);
  gauge(NAMES.vectorsOutside, 'Quantized stores: bytes of float32 vectors kept outside the WebAssembly memory for the exact rerank.', (st) => st.gauges().vectorsOutsideBytes);
  gauge(NAMES.memoryLimit, 'The bytes the store may use (maxMemoryMB).', (st) => st.gauges().memoryLimitBytes);
  gauge(NAMES.breaker, 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', (st) => BREAKER_GAUGE_VALUE[st.gauges().breakerState]);
  gauge(NAMES.writesRefused, '1 while the store refuses writes until it is reopened, else 0.', (st) => st.writes && Number(st.writes().refused));
  gauge(NAMES.journalBytes, 'Bytes in the durable store\'s current log (a checkpoint starts a new one).', (st) => st.writes?.().journal?.logBytes);
  gauge(NAMES.journalGeneration, 'The durable store\'s checkpoint generation (one more per checkpoint).', (st) => st.writes?.().journal?.generation);
  const replication = (st: Source) => st.gauges().replication;
  gauge(NAMES.replicationLag, 'A shared store: seconds from the last change another writer committed to its apply here.', (st) => {
    const r = replication(st);
    return r && r.lagMs.last / 1000;
  });
  gauge(NAMES.replicationSequence, 'A shared store: the last change of the database applied here.', (st) => replication(st)?.lastSequence);
  gauge(NAMES.replicationConnected, 'A shared store: 1 while the database answers, 0 while reads are stale and writes refused.', (st) => {
    const r = replication(st);
    return r && (r.connected ? 1 : 0);
  });

  // This store's label series, made once per operation, code and kind, and removed on close.
  interface OperationSeries {
    labels: { store: string; operation: string };
    count: Counter.Internal;
    duration: Histogram.Internal<'store' | 'operation'>;
    errors: Map<string, Counter.Internal>;
  }
  const series = new Map<string, OperationSeries>();
  const blocked = new Map<string, Counter.Internal>();
  const perItem = new Map<string, Histogram.Internal<'store' | 'kind'>>();
  // Exposed from zero, so that rate() sees the first fault too.
  const fallbackCount = fallbacks.labels({ store });
  fallbackCount.inc(0);
  const evictedCount = evictions.labels({ store });
  evictedCount.inc(0);
  let closed = false;

  return {
    observe(operation, seconds, code, work) {
      if (closed) return;
      let op = series.get(operation);
      if (!op) {
        const labels = { store, operation };
        op = { labels, count: operations.labels(labels), duration: duration.labels(labels), errors: new Map() };
        series.set(operation, op);
      }
      op.count.inc();
      op.duration.observe(seconds);
      const kind = OPERATION_KINDS[operation] ?? 'read';
      if (kind !== 'operator') {
        let h = perItem.get(kind);
        if (!h) perItem.set(kind, (h = itemDuration.labels({ store, kind })));
        h.observe(judgedMs(seconds * 1000, work) / 1000);
      }
      if (code === undefined) return;
      let e = op.errors.get(code);
      if (!e) op.errors.set(code, (e = errors.labels({ store, operation, code })));
      e.inc();
    },
    guardrail(kind) {
      if (closed) return;
      let c = blocked.get(kind);
      if (!c) blocked.set(kind, (c = guardrails.labels({ store, kind })));
      c.inc();
    },
    engineFallback() {
      if (!closed) fallbackCount.inc();
    },
    evicted(count) {
      if (!closed) evictedCount.inc(count);
    },
    watchWrites(read) {
      source.writes = read;
    },
    text: () => registry.metrics(),
    close() {
      if (closed) return;
      closed = true;
      for (const [operation, op] of series) {
        operations.remove(op.labels);
        duration.remove(op.labels);
        for (const code of op.errors.keys()) errors.remove({ store, operation, code });
      }
      for (const kind of blocked.keys()) guardrails.remove({ store, kind });
      for (const kind of perItem.keys()) itemDuration.remove({ store, kind });
      fallbacks.remove({ store });
      evictions.remove({ store });
      stores.delete(source);
      if (stores.size === 0) {
        for (const name of Object.values(NAMES)) registry.removeSingleMetric(name);
        storesOf.delete(registry);
      }
    },
  };
}

// The Prometheus bridge. prom-client breaks browser bundles, so it is loaded only here, with a dynamic
// import, and only when a Node store asks for it. Every series carries a `store` label (a label, not a
// registry default label, so several stores can share a user's registry): the first exporter on a
// registry registers each metric, later ones reuse it by name, each adds and on close removes only its
// own label series, and the last one to close removes the metrics themselves.
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReplicationStatus } from './metrics.js';

export interface PrometheusExporter {
  /** One call of `operation` that took `seconds`; `code` is the error's code when it failed. */
  observe(operation: string, seconds: number, code?: string): void;
  guardrail(kind: string): void;
  /** The exposition text of the whole registry (every store that shares it). */
  text(): Promise<string>;
  /** Removes this store's series; idempotent. */
  close(): void;
}

export type BreakerGaugeState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface PrometheusSettings {
  registry?: Registry | undefined;
  name: string;
  gauges: () => { nodes: number; memoryBytes: number; breakerState: BreakerGaugeState; replication?: ReplicationStatus | undefined };
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
  nodes: 'ov_memory_nodes',
  memoryBytes: 'ov_memory_memory_bytes',
  breaker: 'ov_memory_breaker_state',
  replicationLag: 'ov_memory_replication_lag_seconds',
  replicationSequence: 'ov_memory_replication_sequence',
  replicationConnected: 'ov_memory_replication_connected',
} as const;

type Source = { name: string; gauges: PrometheusSettings['gauges'] };
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
  /** A store without the value (a store that is not shared has no replication) has no series. */
  type Read = (g: ReturnType<Source['gauges']>) => number | undefined;
  const gauge = (name: string, help: string, read: Read) => existing<Gauge<'store'>>(name) ?? new prom.Gauge({
    name, help, labelNames: ['store'], registers: [registry],
    // Read at scrape time, for every store on this registry; a closed store drops out of the set.
    collect() {
      this.reset();
      for (const st of storesOf.get(registry) ?? []) {
        const value = read(st.gauges());
        if (value !== undefined) this.set({ store: st.name }, value);
      }
    },
  });
  gauge(NAMES.nodes, 'Live memories in the store.', (g) => g.nodes);
  gauge(NAMES.memoryBytes, 'Bytes used by vectors, side arrays and text.', (g) => g.memoryBytes);
  gauge(NAMES.breaker, 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', (g) => BREAKER_GAUGE_VALUE[g.breakerState]);
  gauge(NAMES.replicationLag, 'A shared store: seconds from the last change another writer committed to its apply here.', (g) => g.replication && g.replication.lagMs.last / 1000);
  gauge(NAMES.replicationSequence, 'A shared store: the last change of the database applied here.', (g) => g.replication?.lastSequence);
  gauge(NAMES.replicationConnected, 'A shared store: 1 while the database answers, 0 while reads are stale and writes refused.', (g) => g.replication && (g.replication.connected ? 1 : 0));

  // This store's label series, made once per operation, code and kind, and removed on close.
  interface OperationSeries {
    labels: { store: string; operation: string };
    count: Counter.Internal;
    duration: Histogram.Internal<'store' | 'operation'>;
    errors: Map<string, Counter.Internal>;
  }
  const series = new Map<string, OperationSeries>();
  const blocked = new Map<string, Counter.Internal>();
  let closed = false;

  return {
    observe(operation, seconds, code) {
      if (closed) return;
      let op = series.get(operation);
      if (!op) {
        const labels = { store, operation };
        op = { labels, count: operations.labels(labels), duration: duration.labels(labels), errors: new Map() };
        series.set(operation, op);
      }
      op.count.inc();
      op.duration.observe(seconds);
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
      stores.delete(source);
      if (stores.size === 0) {
        for (const name of Object.values(NAMES)) registry.removeSingleMetric(name);
        storesOf.delete(registry);
      }
    },
  };
}

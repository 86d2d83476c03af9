// The Prometheus bridge. prom-client breaks browser bundles at import time, so it is only ever
// loaded here with a dynamic import, and only in Node. Every series carries a `store` label, so
// several stores can share one registry.
import type { Registry } from 'prom-client';

export interface PrometheusExporter {
  observe(operation: string, seconds: number, code?: string): void;
  guardrail(kind: string): void;
  text(): Promise<string>;
  close(): void;
}

export interface PrometheusSettings {
  registry?: Registry | undefined;
  name: string;
  gauges: () => { nodes: number; memoryBytes: number; breakerState: 'CLOSED' | 'OPEN' | 'HALF_OPEN' };
}

/** Fine enough for sub-millisecond scans, wide enough for a stalled call. */
export const DURATION_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];
const BREAKER_VALUE = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 } as const;

/** Collectors for the gauges of every store registered on one registry. */
const gaugeSources = new WeakMap<Registry, Map<string, PrometheusSettings['gauges']>>();

export async function createPrometheusExporter(s: PrometheusSettings): Promise<PrometheusExporter> {
  const prom = await import('prom-client');
  const registry = s.registry ?? new prom.Registry();
  const store = { store: s.name };
  let sources = gaugeSources.get(registry);
  if (!sources) gaugeSources.set(registry, (sources = new Map()));
  sources.set(s.name, s.gauges);

  function metric<T>(name: string, make: () => T): T {
    return (registry.getSingleMetric(name) as T | undefined) ?? make();
  }
  const operations = metric('ov_memory_operations_total', () => new prom.Counter({
    name: 'ov_memory_operations_total', help: 'Calls of each public operation.', labelNames: ['store', 'operation'], registers: [registry],
  }));
  const errors = metric('ov_memory_errors_total', () => new prom.Counter({
    name: 'ov_memory_errors_total', help: 'Failed calls by operation and error code.', labelNames: ['store', 'operation', 'code'], registers: [registry],
  }));
  const duration = metric('ov_memory_operation_duration_seconds', () => new prom.Histogram({
    name: 'ov_memory_operation_duration_seconds', help: 'Latency of each public operation.', labelNames: ['store', 'operation'],
    buckets: DURATION_BUCKETS, registers: [registry],
  }));
  const guardrails = metric('ov_memory_guardrail_blocks_total', () => new prom.Counter({
    name: 'ov_memory_guardrail_blocks_total', help: 'Memories kept out of a context by a guardrail.', labelNames: ['store', 'kind'], registers: [registry],
  }));
  type Read = (g: ReturnType<PrometheusSettings['gauges']>) => number;
  const gauge = (name: string, help: string, read: Read) =>
    metric(name, () => new prom.Gauge({
      name, help, labelNames: ['store'], registers: [registry],
      collect() {
        this.reset();
        for (const [storeName, source] of gaugeSources.get(registry) ?? []) this.set({ store: storeName }, read(source()));
      },
    }));
  const gaugeDefinitions: [string, string, Read][] = [
    ['ov_memory_nodes', 'Live memories in the store.', (g) => g.nodes],
    ['ov_memory_memory_bytes', 'Bytes used by vectors, side arrays and text.', (g) => g.memoryBytes],
    ['ov_memory_breaker_state', 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', (g) => BREAKER_VALUE[g.breakerState]],
  ];
  for (const [name, help, read] of gaugeDefinitions) gauge(name, help, read);

  return {
    observe(operation, seconds, code) {
      operations.inc({ ...store, operation });
      duration.observe({ ...store, operation }, seconds);
      if (code !== undefined) errors.inc({ ...store, operation, code });
    },
    guardrail(kind) {
      guardrails.inc({ ...store, kind });
    },
    text: () => registry.metrics(),
    close() {
      // Its gauges stop reporting; its counters stay, as a closed process's would until restart.
      sources.delete(s.name);
    },
  };
}

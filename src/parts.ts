// The parts a store is made of, built from its resolved options: the logger, metrics, the breaker,
// the scan engine (with the runtime's worker factory) and the Prometheus bridge. Part of the
// composition root with memory.ts, which alone imports it.
import { DEFAULTS } from './config/defaults.js';
import { resolveOptions, type ResolvedOptions } from './config/options.js';
import { ScanEngine } from './engine/engine.js';
import { simdSupported } from './engine/wasm.js';
import { createLogger, type Log } from './observability/logger.js';
import { Metrics, type ReplicationStatus } from './observability/metrics.js';
import type { PrometheusExporter } from './observability/prometheus.js';
import { platform } from './platform/current.js';
import { CircuitBreaker } from './resilience/breaker.js';
import { runtime } from './runtime/current.js';
import type { Store } from './store/store.js';
import type { OVMemoryOptions } from './types.js';

export interface Parts {
  o: ResolvedOptions;
  engine: ScanEngine;
  log: Log;
  metrics: Metrics;
  breaker: CircuitBreaker;
  prometheus: PrometheusExporter | undefined;
}

/** `store` is read lazily by the Prometheus gauges (the store is made from these parts). */
export async function assembleParts(
  options: OVMemoryOptions, store: () => Store | undefined, replication: () => ReplicationStatus | undefined = () => undefined,
): Promise<Parts> {
  const o = resolveOptions(options, await platform.cores());
  const log = createLogger({ logger: o.logger, logLevel: o.logLevel, name: `ov-memory:${o.name}` });
  if (o.unknownKeys.length > 0) log.warn('unknown options ignored', { options: o.unknownKeys });
  const shared = platform.canShareMemory();
  if (!shared && o.threads > 0) {
    if (typeof options.threads === 'number') log.warn('threads need a cross-origin isolated page (COOP/COEP headers): scanning on the calling thread', { threads: options.threads });
    o.threads = 0;
  }
  const metrics = new Metrics({ clock: o.clock, windowMs: DEFAULTS.windowMs });
  const breakerLog = log.child('breaker');
  const breaker = new CircuitBreaker({
    ...o.breaker,
    clock: o.clock,
    onTransition: (from, to) => breakerLog[to === 'OPEN' ? 'warn' : 'info']('circuit breaker transition', { from, to }),
  });
  const engine = await ScanEngine.create({
    dim: o.dim, shared, maxBytes: o.maxBytes, threads: o.threads, flavor: o.kernel ?? (simdSupported() ? 'simd' : 'scalar'),
    segmentRows: o.segmentRows, firstSegmentRows: o.firstSegmentRows, poolMinRows: o.poolMinRows, atomics: o.atomics, assetBase: o.assetBase,
    halfLifeMs: o.halfLifeMs, baseTimeMs: o.clock(), breaker, log: log.child('engine'),
    quantization: o.quantization, oversample: o.oversample, refineOversample: DEFAULTS.oversample.int8,
    binaryCandidates: { share: o.binaryCandidateShare, max: DEFAULTS.maxBinaryCandidates, bytes: DEFAULTS.binaryCandidateBytes },
    onEngineFault: () => { metrics.countEngineFault(); prometheus?.engineFallback(); },
    startWorkers: o.executors.startWorkers ?? runtime.startWorkers,
    wrapInline: o.executors.inline,
  });
  const prometheus = runtime.loadPrometheus
    ? await (await runtime.loadPrometheus()).createPrometheusExporter({
        registry: o.registry,
        name: o.name,
        gauges: () => ({
          nodes: store()?.records.live ?? 0, memoryBytes: store()?.memoryBytes ?? 0, breakerState: breaker.state, memoryLimitBytes: o.maxBytes, nodesLimit: o.maxNodes,
          vectorsOutsideBytes: engine.rows.outsideBytes,
          replication: replication(),
        }),
      })
    : undefined;
  return { o, engine, log, metrics, breaker, prometheus };
}

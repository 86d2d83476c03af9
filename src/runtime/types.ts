// The environment's factories, chosen per platform at build time (as platform/ is) and handed down
// by the composition root: what starts workers, opens a directory, exports Prometheus metrics.
import type { ScanExecutor } from '../engine/executor.js';
import type { PoolSettings } from '../engine/pool-settings.js';
import type { WorkerData } from '../engine/protocol.js';

export interface Runtime {
  /** The executor that scans on other threads: piscina in Node, Web Workers in a page. */
  startWorkers(data: WorkerData, settings: PoolSettings): Promise<ScanExecutor>;
  /** Node only: the durable store's directory, loaded on first use. */
  loadDirectory?: () => Promise<typeof import('../persistence/directory.js')>;
  /** Node only: a store shared through PostgreSQL (needs `pg`), loaded on first use. */
  loadPostgres?: () => Promise<typeof import('../postgres/journal.js')>;
  /** Node only: the Prometheus bridge (prom-client does not run in browsers). */
  loadPrometheus?: () => Promise<typeof import('../observability/prometheus.js')>;
}

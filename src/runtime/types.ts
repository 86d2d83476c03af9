// The environment's factories, chosen per platform at build time (as platform/ is) and handed down
// by the composition root: what starts workers, opens a durable store, exports Prometheus metrics.
import type { ScanExecutor } from '../engine/executor.js';
import type { PoolSettings } from '../engine/pool-settings.js';
import type { WorkerData } from '../engine/protocol.js';
import type { JournalSettings, OpenedJournal } from '../persistence/journal.js';

export interface StoreSettings extends JournalSettings {
  /** Where a page's store worker is loaded from; undefined: beside the bundle. */
  assetBase: URL | undefined;
  /** A page's store: where its files go (the project's tests choose IndexedDB); undefined: OPFS where it can. */
  storage?: 'opfs' | 'indexeddb' | undefined;
}

export interface Runtime {
  /** The executor that scans on other threads: piscina in Node, Web Workers in a page. */
  startWorkers(data: WorkerData, settings: PoolSettings): Promise<ScanExecutor>;
  /** Opens (or creates) a durable store: a directory in Node, a named store in the origin private file system in a page. */
  openStore(location: string, settings: StoreSettings): Promise<OpenedJournal>;
  /** Node only: a store shared through PostgreSQL (needs `pg`), loaded on first use. */
  loadPostgres?: () => Promise<typeof import('../postgres/journal.js')>;
  /** Node only: the Prometheus bridge (prom-client does not run in browsers). */
  loadPrometheus?: () => Promise<typeof import('../observability/prometheus.js')>;
}

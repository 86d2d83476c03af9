// What differs between Node and a web page, behind one interface. The Node bundles import
// platform/current.ts (Node); the browser bundle swaps in platform/browser.ts at build time, so no
// Node built-in ever reaches it.
import type { ScanExecutor } from '../engine/executor.js';
import type { WorkerData } from '../engine/protocol.js';
import type { PoolSettings } from '../engine/pool-settings.js';

export interface Platform {
  readonly name: 'node' | 'browser';
  /** Whether a memory can be shared with other threads (a page: only when cross-origin isolated). */
  canShareMemory(): boolean;
  cores(): Promise<number>;
  readAsset(url: URL): Promise<ArrayBuffer | Uint8Array>;
  /** The executor that scans on other threads: piscina in Node, Web Workers in a page. */
  startWorkers(data: WorkerData, settings: PoolSettings): Promise<ScanExecutor>;
  /** Node-only parts, loaded on first use; undefined in a browser. */
  loadDirectory?: () => Promise<typeof import('../persistence/directory.js')>;
  loadPrometheus?: () => Promise<typeof import('../observability/prometheus.js')>;
}

import { ErrorCode, OVMemoryError } from '../resilience/errors.js';
import type { Runtime } from './types.js';

export const runtime: Runtime = {
  startWorkers: async (data, settings) => new (await import('../engine/pool.js')).PoolExecutor(data, settings),
  openStore: async (dir, settings) => {
    if (settings.waitForLock) throw new OVMemoryError(ErrorCode.UNSUPPORTED, '`waitForLock` needs the Web Locks API (browsers): in Node a store held by another process is LOCKED');
    return (await import('../persistence/directory.js')).StoreDirectory.open(dir, settings);
  },
  loadPostgres: () => import('../postgres/journal.js'),
  loadPrometheus: () => import('../observability/prometheus.js'),
};

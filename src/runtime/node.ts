import type { Runtime } from './types.js';

export const runtime: Runtime = {
  startWorkers: async (data, settings) => new (await import('../engine/pool.js')).PoolExecutor(data, settings),
  loadDirectory: () => import('../persistence/directory.js'),
  loadPostgres: () => import('../postgres/journal.js'),
  loadPrometheus: () => import('../observability/prometheus.js'),
};

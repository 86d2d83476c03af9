import type { Runtime } from './types.js';

export const runtime: Runtime = {
  startWorkers: async (data, settings) => new (await import('../engine/web-pool.js')).WebWorkerExecutor(data, settings),
};

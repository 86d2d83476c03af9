import type { Runtime } from './types.js';

export const runtime: Runtime = {
  startWorkers: async (data, settings) => (await import('../engine/web-pool.js')).WebWorkerExecutor.start(data, settings),
  openStore: async (name, settings) => (await import('../persistence/browser-store.js')).openBrowserStore(name, settings),
};

import type { Platform } from './types.js';

export const platform: Platform = {
  name: 'browser',
  // Test crossOriginIsolated, not typeof SharedArrayBuffer: the constructor can be reachable while
  // posting a shared memory to a worker still fails.
  canShareMemory: () => globalThis.crossOriginIsolated === true,
  cores: async () => Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1),
  readAsset: async (url) => {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return response.arrayBuffer();
  },
};

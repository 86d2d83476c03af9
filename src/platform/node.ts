import type { Platform } from './types.js';

export const platform: Platform = {
  name: 'node',
  canShareMemory: () => true,
  cores: async () => (await import('node:os')).availableParallelism(),
  readAsset: async (url) => (await import('node:fs/promises')).readFile(url),
};

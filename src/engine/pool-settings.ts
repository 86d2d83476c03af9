export interface PoolSettings {
  threads: number;
  atomics: 'sync' | 'async' | 'disabled';
  /** Where a page's worker script is loaded from; undefined: beside the bundle. */
  assetBase?: URL | undefined;
}

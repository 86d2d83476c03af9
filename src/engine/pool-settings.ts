export interface PoolSettings {
  threads: number;
  atomics: 'sync' | 'async' | 'disabled';
}

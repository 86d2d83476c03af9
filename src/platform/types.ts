// What differs between Node and a web page, as facts: a leaf that imports nothing. The Node bundles
// import platform/current.ts (Node); the browser bundle swaps in platform/browser.ts at build time.

export interface Platform {
  readonly name: 'node' | 'browser';
  /** Whether a memory can be shared with other threads (a page: only when cross-origin isolated). */
  canShareMemory(): boolean;
  cores(): Promise<number>;
  readAsset(url: URL): Promise<ArrayBuffer | Uint8Array>;
}

// A store's folder as the store worker sees it: OPFS (opfs.ts) or, where a browser has no
// synchronous OPFS handles, IndexedDB (indexeddb.ts). On top of its few primitives, what the worker
// does the same way on both: carry out the loader's staged operations in order, write a whole file
// as the store directory does (to `name.tmp`, then renamed), and drop old generations.
import type { StagedOperation } from './staged-files.js';

export interface LogFile {
  /** Writes all of `bytes` at `at`; a failure leaves nothing of them (or the caller cuts back). */
  write(bytes: Uint8Array, at: number): void | Promise<void>;
  /** Everything written so far is on disk. */
  flush(): void | Promise<void>;
  truncate(length: number): void | Promise<void>;
  close(): void;
}

export interface StoreFolder {
  /** Where the files live, for messages. */
  readonly where: string;
  names(): Promise<string[]>;
  read(name: string): Promise<Uint8Array>;
  /** Creates or replaces `name` with `bytes`, synced. */
  writeWhole(name: string, bytes: Uint8Array): Promise<void>;
  truncate(name: string, length: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(name: string): Promise<void>;
  openLog(name: string): Promise<LogFile>;
}

/** Every file of the folder by name. */
export async function readFolder(folder: StoreFolder): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const name of await folder.names()) files.set(name, await folder.read(name));
  return files;
}

/** Carries out what the loader did to its staged copy of the folder, in the same order. */
export async function applyStaged(folder: StoreFolder, operations: readonly StagedOperation[]): Promise<void> {
  for (const o of operations) {
    if (o.op === 'write') await folder.writeWhole(o.name, o.bytes);
    else if (o.op === 'truncate') await folder.truncate(o.name, o.length);
    else if (o.op === 'rename') await folder.rename(o.from, o.to);
    else await folder.remove(o.name);
  }
}

/** A whole new file: written to `name.tmp`, synced, then renamed into place. */
export async function writeDurably(folder: StoreFolder, name: string, bytes: Uint8Array): Promise<void> {
  await folder.writeWhole(`${name}.tmp`, bytes);
  await folder.rename(`${name}.tmp`, name);
}

/** Best effort: removes snap.N and wal.N of every generation below `keep` (the next open retries). */
export async function removeGenerationsBefore(folder: StoreFolder, keep: number): Promise<void> {
  try {
    for (const name of await folder.names()) {
      const m = /^(?:snap|wal)\.(\d+)$/.exec(name);
      if (m && Number(m[1]) < keep) await folder.remove(name);
    }
  } catch { /* left for the next open */ }
}

/** Removes every file of a generation below `keep` and whatever a repair set aside; a failure throws (forgotten bytes would remain). */
export async function eraseGenerationsBefore(folder: StoreFolder, keep: number): Promise<void> {
  for (const name of await folder.names()) {
    const m = /^(?:snap|wal)\.(\d+)(?:\.tmp|\.damaged(?:\.\d+)?)?$/.exec(name);
    if (m && (Number(m[1]) < keep || name.includes('.damaged'))) await folder.remove(name);
  }
}

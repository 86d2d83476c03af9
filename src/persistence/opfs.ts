// The few things the store worker does to the origin private file system (OPFS): read a folder,
// write a whole file as the store directory does (to `name.tmp`, flushed, then moved into place),
// carry out the loader's staged operations in order, and open a log for appending through a
// FileSystemSyncAccessHandle (synchronous writes; only a dedicated worker may open one).
import { describeOsError } from './files.js';
import type { StagedOperation } from './staged-files.js';

/** Chromium's OPFS handles also move (rename); TypeScript's DOM types do not have it yet. */
type MovableHandle = FileSystemFileHandle & { move(name: string): Promise<void> };

export async function storeFolder(root: string, name: string): Promise<FileSystemDirectoryHandle> {
  const top = await (await navigator.storage.getDirectory()).getDirectoryHandle(root, { create: true });
  return top.getDirectoryHandle(name, { create: true });
}

/** Every file of `folder` by name. */
export async function readFolder(folder: FileSystemDirectoryHandle): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for await (const [name, handle] of (folder as unknown as AsyncIterable<[string, FileSystemHandle]>)) {
    if (handle.kind === 'file') files.set(name, new Uint8Array(await (await (handle as FileSystemFileHandle).getFile()).arrayBuffer()));
  }
  return files;
}

export async function openSync(folder: FileSystemDirectoryHandle, name: string, create = false): Promise<FileSystemSyncAccessHandle> {
  return (await folder.getFileHandle(name, { create })).createSyncAccessHandle();
}

/** Writes all of `bytes` at `at`; a short write is an error (the caller cuts the file back). */
export function writeAt(handle: FileSystemSyncAccessHandle, bytes: Uint8Array, at: number): void {
  const written = handle.write(bytes, { at });
  if (written !== bytes.length) throw new Error(`short write: ${written} of ${bytes.length} bytes`);
}

/** A whole new file: written to `name.tmp`, flushed, then moved into place. */
export async function writeDurably(folder: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${name}.tmp`;
  const handle = await openSync(folder, tmp, true);
  try {
    handle.truncate(0);
    writeAt(handle, bytes, 0);
    handle.flush();
  } finally {
    handle.close();
  }
  await rename(folder, tmp, name);
}

async function rename(folder: FileSystemDirectoryHandle, from: string, to: string): Promise<void> {
  await ((await folder.getFileHandle(from)) as MovableHandle).move(to);
}

/** Carries out what the loader did to its staged copy of the folder, in the same order. */
export async function applyStaged(folder: FileSystemDirectoryHandle, operations: readonly StagedOperation[]): Promise<void> {
  for (const o of operations) {
    if (o.op === 'write') {
      const handle = await openSync(folder, o.name, true);
      try { handle.truncate(0); writeAt(handle, o.bytes, 0); handle.flush(); } finally { handle.close(); }
    } else if (o.op === 'truncate') {
      const handle = await openSync(folder, o.name);
      try { handle.truncate(o.length); handle.flush(); } finally { handle.close(); }
    } else if (o.op === 'rename') {
      await rename(folder, o.from, o.to);
    } else {
      await folder.removeEntry(o.name);
    }
  }
}

async function names(folder: FileSystemDirectoryHandle): Promise<string[]> {
  const out: string[] = [];
  for await (const name of (folder as unknown as { keys(): AsyncIterable<string> }).keys()) out.push(name);
  return out;
}

/** Best effort: removes snap.N and wal.N of every generation below `keep` (the next open retries). */
export async function removeGenerationsBefore(folder: FileSystemDirectoryHandle, keep: number): Promise<void> {
  try {
    for (const name of await names(folder)) {
      const m = /^(?:snap|wal)\.(\d+)$/.exec(name);
      if (m && Number(m[1]) < keep) await folder.removeEntry(name);
    }
  } catch { /* left for the next open */ }
}

/** Removes every file of a generation below `keep` and whatever a repair set aside; a failure throws (forgotten bytes would remain). */
export async function eraseGenerationsBefore(folder: FileSystemDirectoryHandle, keep: number): Promise<void> {
  for (const name of await names(folder)) {
    const m = /^(?:snap|wal)\.(\d+)(?:\.tmp|\.damaged(?:\.\d+)?)?$/.exec(name);
    if (m && (Number(m[1]) < keep || name.includes('.damaged'))) await folder.removeEntry(name);
  }
}

/** A DOMException (QuotaExceededError, NoModificationAllowedError) by its name; anything else as Node's errors. */
export function describeFileError(error: unknown): string {
  return error instanceof DOMException ? `${error.name}: ${error.message}` : describeOsError(error);
}

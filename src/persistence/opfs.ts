// A store's folder in the origin private file system (OPFS): files are written through
// FileSystemSyncAccessHandle (synchronous writes, an explicit flush; only a dedicated worker may
// open one), renamed with the handles' move(), read with getFile().
import { describeOsError } from './files.js';
import type { LogFile, StoreFolder } from './folder.js';

/** Chromium's OPFS handles also move (rename); TypeScript's DOM types do not have it yet. */
type MovableHandle = FileSystemFileHandle & { move(name: string): Promise<void> };

/** Whether this worker can keep a store in OPFS. */
export function opfsAvailable(): boolean {
  return typeof FileSystemSyncAccessHandle !== 'undefined' && typeof navigator.storage?.getDirectory === 'function';
}

/** Writes all of `bytes` at `at`; a short write is an error (the caller cuts the file back). */
function writeAt(handle: FileSystemSyncAccessHandle, bytes: Uint8Array, at: number): void {
  const written = handle.write(bytes, { at });
  if (written !== bytes.length) throw new Error(`short write: ${written} of ${bytes.length} bytes`);
}

export async function opfsFolder(root: string, name: string): Promise<StoreFolder> {
  const top = await (await navigator.storage.getDirectory()).getDirectoryHandle(root, { create: true });
  const folder = await top.getDirectoryHandle(name, { create: true });
  const open = async (file: string, create = false) => (await folder.getFileHandle(file, { create })).createSyncAccessHandle();
  return {
    where: 'the origin private file system',
    async names() {
      const out: string[] = [];
      for await (const [file, handle] of (folder as unknown as AsyncIterable<[string, FileSystemHandle]>)) if (handle.kind === 'file') out.push(file);
      return out;
    },
    async read(file) {
      return new Uint8Array(await (await (await folder.getFileHandle(file)).getFile()).arrayBuffer());
    },
    async writeWhole(file, bytes) {
      const handle = await open(file, true);
      try { handle.truncate(0); writeAt(handle, bytes, 0); handle.flush(); } finally { handle.close(); }
    },
    async truncate(file, length) {
      const handle = await open(file);
      try { handle.truncate(length); handle.flush(); } finally { handle.close(); }
    },
    async rename(from, to) {
      await ((await folder.getFileHandle(from)) as MovableHandle).move(to);
    },
    async remove(file) {
      await folder.removeEntry(file);
    },
    async openLog(file): Promise<LogFile> {
      const handle = await open(file);
      return {
        write: (bytes, at) => writeAt(handle, bytes, at),
        flush: () => handle.flush(),
        truncate: (length) => handle.truncate(length),
        close: () => handle.close(),
      };
    },
  };
}

/** A DOMException (QuotaExceededError, NoModificationAllowedError) by its name; anything else as Node's errors. */
export function describeFileError(error: unknown): string {
  return error instanceof DOMException ? `${error.name}: ${error.message}` : describeOsError(error);
}

// The few file operations the store directory performs, behind one small interface: node:fs in
// Node (node-files.ts; tests wrap it to fail a write at a chosen byte or an fsync), a staged copy
// of an OPFS folder in a browser's store worker (staged-files.ts). Also how their OS errors become
// ours. Nothing here imports a Node built-in: the browser's store worker runs this code too.
import { InternalError, InvalidDataError, OVMemoryError, StorageFaultError } from '../resilience/errors.js';

export interface StoreFiles {
  /** 'r+' opens an existing file to be written from its start (a snapshot's header, written last). */
  openSync(file: string, flags: 'r' | 'r+' | 'a' | 'w'): number;
  closeSync(fd: number): void;
  /** Writes up to `length` bytes of `buffer` from `offset` at `position` (default: the file's position); returns how many. */
  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position?: number): number;
  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number;
  fsyncSync(fd: number): void;
  ftruncateSync(fd: number, length: number): void;
  sizeOf(file: string): number;
  readdirSync(dir: string): string[];
  mkdirSync(dir: string): void;
  renameSync(from: string, to: string): void;
  unlinkSync(file: string): void;
  /** `dir/name` as this file system writes paths. */
  join(dir: string, name: string): string;
}

/** The lock file's name (Node's lock.ts); the loader counts it as one of a store's own files. */
export const LOCK = 'LOCK';

/** Writes all of `bytes` at the file's position (a write may take less than it was given). */
export function writeAll(files: StoreFiles, fd: number, bytes: Uint8Array): void {
  for (let written = 0; written < bytes.length; ) written += files.writeSync(fd, bytes, written, bytes.length - written);
}

export function fsyncDirectory(files: StoreFiles, dir: string): void {
  const fd = files.openSync(dir, 'r');
  try { files.fsyncSync(fd); } finally { files.closeSync(fd); }
}

/** A whole new file: written to `name.tmp`, fsynced, renamed into place, the directory fsynced. */
export function writeDurably(files: StoreFiles, dir: string, name: string, bytes: Uint8Array): void {
  const tmp = files.join(dir, `${name}.tmp`);
  const fd = files.openSync(tmp, 'w');
  try {
    writeAll(files, fd, bytes);
    files.fsyncSync(fd);
  } finally {
    files.closeSync(fd);
  }
  files.renameSync(tmp, files.join(dir, name));
  fsyncDirectory(files, dir);
}

/** Reads a whole file in chunks (fs.readFile cannot read past 2 GiB). */
export function readWhole(files: StoreFiles, file: string): Uint8Array {
  const size = files.sizeOf(file);
  const out = new Uint8Array(size);
  const fd = files.openSync(file, 'r');
  try {
    for (let at = 0; at < size; ) {
      const n = files.readSync(fd, out, at, Math.min(size - at, 64 * 1024 * 1024), at);
      if (n === 0) break;
      at += n;
    }
  } finally {
    files.closeSync(fd);
  }
  return out;
}

/** Errors that say the path cannot be a directory at all (the caller's mistake, not the disk's). */
const BAD_PATH = new Set(['ENOTDIR', 'EEXIST', 'EISDIR', 'ENAMETOOLONG', 'ELOOP', 'EINVAL']);

/** An OS error in one phrase that starts with its code ("ENOSPC: no space left on device, write"). */
export function describeOsError(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  const message = String(e?.message ?? error);
  return e?.code && !message.startsWith(e.code) ? `${e.code}: ${message}` : message;
}

/** Every error out of open() is ours: a path that cannot be a directory is the caller's, any other OS error the disk's. */
export function typedOsError(error: unknown, context: string): OVMemoryError {
  if (error instanceof OVMemoryError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const file = (error as NodeJS.ErrnoException)?.path;
  if (code && BAD_PATH.has(code)) return new InvalidDataError(`${context}: the path cannot be a store directory (${describeOsError(error)})`, { cause: error, details: { file } });
  if (code) return new StorageFaultError(`${context} (${describeOsError(error)})`, { cause: error, details: { file } });
  return new InternalError(`${context}: ${describeOsError(error)}`, { cause: error });
}

// A store's folder held in memory, for the browser's store worker: OPFS (and IndexedDB) open,
// rename and remove files only asynchronously, while the loader (recovery.ts) is synchronous code
// shared with Node. The loader runs over this copy; every change it makes is recorded as an
// operation, in order, and the worker then carries the operations out on the real folder
// (folder.ts) before the store opens.
import type { StoreFiles } from './files.js';

export type StagedOperation =
  /** A whole file, written from scratch (the loader writes `name.tmp`, then renames it). */
  | { op: 'write'; name: string; bytes: Uint8Array }
  | { op: 'truncate'; name: string; length: number }
  | { op: 'rename'; from: string; to: string }
  | { op: 'unlink'; name: string };

interface Open { name: string; position: number; written: boolean }

/** An error shaped like Node's, so that the loader's checks (`code === 'ENOENT'`) read it alike. */
function noSuchFile(file: string): Error {
  return Object.assign(new Error(`ENOENT: no such file, open '${file}'`), { code: 'ENOENT', path: file });
}

export class StagedFiles implements StoreFiles {
  readonly operations: StagedOperation[] = [];
  readonly #files: Map<string, Uint8Array>;
  readonly #open = new Map<number, Open>();
  #nextFd = 1;

  /** `files`: each file of the folder `dir` by name. */
  constructor(readonly dir: string, files: Map<string, Uint8Array>) {
    this.#files = new Map(files);
  }

  join(dir: string, name: string): string {
    return `${dir}/${name}`;
  }

  #name(file: string): string {
    if (!file.startsWith(`${this.dir}/`)) throw noSuchFile(file);
    return file.slice(this.dir.length + 1);
  }

  openSync(file: string, flags: 'r' | 'r+' | 'a' | 'w'): number {
    const fd = this.#nextFd++;
    if (file === this.dir) {   // the folder itself, opened to be fsynced: nothing to do here
      this.#open.set(fd, { name: '', position: 0, written: false });
      return fd;
    }
    const name = this.#name(file);
    if (flags === 'w') this.#files.set(name, new Uint8Array(0));
    const bytes = this.#files.get(name);
    if (!bytes) throw noSuchFile(file);
    this.#open.set(fd, { name, position: flags === 'a' ? bytes.length : 0, written: flags === 'w' || flags === 'r+' });
    return fd;
  }

  closeSync(fd: number): void {
    const open = this.#fd(fd);
    this.#open.delete(fd);
    if (open.written) this.operations.push({ op: 'write', name: open.name, bytes: this.#files.get(open.name)! });
  }

  writeSync(fd: number, buffer: Uint8Array, offset: number, length: number, position?: number): number {
    const open = this.#fd(fd), at = position ?? open.position;
    const old = this.#files.get(open.name)!;
    const grown = new Uint8Array(Math.max(old.length, at + length));
    grown.set(old);
    grown.set(buffer.subarray(offset, offset + length), at);
    this.#files.set(open.name, grown);
    if (position === undefined) open.position += length;   // a positional write leaves the position
    open.written = true;
    return length;
  }

  readSync(fd: number, buffer: Uint8Array, offset: number, length: number, position: number): number {
    const bytes = this.#files.get(this.#fd(fd).name)!;
    const part = bytes.subarray(position, Math.min(bytes.length, position + length));
    buffer.set(part, offset);
    return part.length;
  }

  fsyncSync(fd: number): void {
    this.#fd(fd);
  }

  ftruncateSync(fd: number, length: number): void {
    const open = this.#fd(fd);
    this.#files.set(open.name, this.#files.get(open.name)!.slice(0, length));
    this.operations.push({ op: 'truncate', name: open.name, length });
  }

  sizeOf(file: string): number {
    const bytes = this.#files.get(this.#name(file));
    if (!bytes) throw noSuchFile(file);
    return bytes.length;
  }

  readdirSync(dir: string): string[] {
    if (dir !== this.dir) throw noSuchFile(dir);
    return [...this.#files.keys()];
  }

  mkdirSync(): void { /* the worker has made the folder */ }

  renameSync(from: string, to: string): void {
    const a = this.#name(from), b = this.#name(to);
    const bytes = this.#files.get(a);
    if (!bytes) throw noSuchFile(from);
    this.#files.delete(a);
    this.#files.set(b, bytes);
    this.operations.push({ op: 'rename', from: a, to: b });
  }

  unlinkSync(file: string): void {
    const name = this.#name(file);
    if (!this.#files.delete(name)) throw noSuchFile(file);
    this.operations.push({ op: 'unlink', name });
  }

  #fd(fd: number): Open {
    const open = this.#open.get(fd);
    if (!open) throw Object.assign(new Error(`EBADF: bad file descriptor ${fd}`), { code: 'EBADF' });
    return open;
  }
}

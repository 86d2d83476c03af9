// A durable store's directory (Node): numbered snapshot/log pairs (snap.N, wal.N), a lock file, and
// the write path. Every effect is written with a synchronous write before the call that made it
// returns, in every mode, so a killed process loses nothing acknowledged; `durability` only decides
// when the log is fsynced (power loss): 'always' before returning, 'batch' every 50 ms and on
// flush(), 'none' never.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCode, MemoryCorruptionError, OVMemoryError } from '../resilience/errors.js';
import { decodeSnapshot, encodeLogRecord, scanLog, type SnapshotState } from './format.js';

export type Durability = 'always' | 'batch' | 'none';

const LOCK = 'LOCK';

export interface Recovery {
  /** Bytes of a torn last record that were dropped. */
  tornBytes: number;
  /** With `repair`: what a damaged log lost (the records after the damage). */
  lost?: { file: string; offset: number; bytes: number; reason: string };
}

export interface OpenedDirectory {
  directory: StoreDirectory;
  snapshot: SnapshotState | undefined;
  effects: unknown[];
  recovery: Recovery;
}

export class StoreDirectory {
  #fd: number;
  #generation: number;
  #sequence: number;
  #logBytes: number;
  #dirty = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(readonly dir: string, readonly durability: Durability, groupCommitMs: number, generation: number, fd: number, sequence: number, logBytes: number) {
    this.#generation = generation;
    this.#fd = fd;
    this.#sequence = sequence;
    this.#logBytes = logBytes;
    if (durability === 'batch') {
      this.#timer = setInterval(() => this.flush(), groupCommitMs);
      this.#timer.unref();
    }
  }

  /**
   * Locks the directory and reads its newest pair. Nothing on disk changes when a check fails,
   * except that a torn last log record is cut off (it was never acknowledged).
   */
  static open(dir: string, durability: Durability, repair: boolean, groupCommitMs: number, initial: () => Uint8Array): OpenedDirectory {
    fs.mkdirSync(dir, { recursive: true });
    lock(dir);
    try {
      const generation = newestGeneration(dir);
      if (generation === undefined) {
        writeDurably(dir, 'snap.0', initial());
        fs.writeFileSync(path.join(dir, 'wal.0'), new Uint8Array(0));
        fsyncDirectory(dir);
        return { directory: new StoreDirectory(dir, durability, groupCommitMs, 0, fs.openSync(path.join(dir, 'wal.0'), 'a'), 0, 0), snapshot: undefined, effects: [], recovery: { tornBytes: 0 } };
      }
      const snapName = `snap.${generation}`, walName = `wal.${generation}`;
      const snapshot = decodeSnapshot(readChunked(path.join(dir, snapName)), path.join(dir, snapName));
      const walPath = path.join(dir, walName);
      if (!fs.existsSync(walPath)) { fs.writeFileSync(walPath, new Uint8Array(0)); fsyncDirectory(dir); }
      const bytes = readChunked(walPath);
      const recovery: Recovery = { tornBytes: 0 };
      let scan;
      try {
        scan = scanLog(bytes, walPath, 1);
      } catch (error) {
        if (!repair || !(error instanceof MemoryCorruptionError)) throw error;
        scan = salvage(bytes, walPath, error, recovery);
      }
      recovery.tornBytes = bytes.length - scan.validBytes - (recovery.lost?.bytes ?? 0);
      if (scan.validBytes < bytes.length) fs.truncateSync(walPath, scan.validBytes);
      removeOlderPairs(dir, generation);
      const fd = fs.openSync(walPath, 'a');
      return { directory: new StoreDirectory(dir, durability, groupCommitMs, generation, fd, scan.lastSequence, scan.validBytes), snapshot, effects: scan.effects, recovery };
    } catch (error) {
      unlock(dir);
      throw error;
    }
  }

  get logBytes(): number {
    return this.#logBytes;
  }

  /** Writes one effect to the log before the call that made it returns. */
  append(effect: unknown): void {
    const record = encodeLogRecord(this.#sequence + 1, effect);
    let written = 0;
    while (written < record.length) written += fs.writeSync(this.#fd, record, written);
    this.#sequence++;
    this.#logBytes += record.length;
    if (this.durability === 'always') fs.fsyncSync(this.#fd);
    else this.#dirty = true;
  }

  /** Everything appended so far is on disk. */
  flush(): void {
    if (!this.#dirty || this.#closed) return;
    this.#dirty = false;
    fs.fsyncSync(this.#fd);
  }

  /**
   * Writes snap.N+1 (temporary file, fsync, rename, fsync the directory), starts wal.N+1 (fsync the
   * directory), and only then deletes the old pair: a crash at any step leaves one complete pair.
   */
  checkpoint(snapshot: Uint8Array): void {
    const next = this.#generation + 1;
    writeDurably(this.dir, `snap.${next}`, snapshot);
    const fd = fs.openSync(path.join(this.dir, `wal.${next}`), 'a');
    fs.fsyncSync(fd);
    fsyncDirectory(this.dir);
    fs.closeSync(this.#fd);
    this.#fd = fd;
    this.#generation = next;
    this.#sequence = 0;
    this.#logBytes = 0;
    this.#dirty = false;
    removeOlderPairs(this.dir, next);
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    clearInterval(this.#timer);
    fs.closeSync(this.#fd);
    unlock(this.dir);
  }
}

/** The highest N with a complete snap.N (a .tmp is never complete). */
function newestGeneration(dir: string): number | undefined {
  let newest: number | undefined;
  for (const name of fs.readdirSync(dir)) {
    const m = /^snap\.(\d+)$/.exec(name);
    if (m) newest = Math.max(newest ?? 0, Number(m[1]));
  }
  return newest;
}

function removeOlderPairs(dir: string, keep: number): void {
  for (const name of fs.readdirSync(dir)) {
    const m = /^(?:snap|wal)\.(\d+)(?:\.tmp)?$/.exec(name);
    if (m && (Number(m[1]) < keep || name.endsWith('.tmp'))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function writeDurably(dir: string, name: string, bytes: Uint8Array): void {
  const tmp = path.join(dir, `${name}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (let written = 0; written < bytes.length; ) written += fs.writeSync(fd, bytes, written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, path.join(dir, name));
  fsyncDirectory(dir);
}

function fsyncDirectory(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
}

/** Reads a file in chunks (fs.readFile cannot read past 2 GiB). */
function readChunked(file: string): Uint8Array {
  const size = fs.statSync(file).size;
  const out = new Uint8Array(size);
  const fd = fs.openSync(file, 'r');
  try {
    for (let at = 0; at < size; ) {
      const n = fs.readSync(fd, out, at, Math.min(size - at, 64 * 1024 * 1024), at);
      if (n === 0) break;
      at += n;
    }
  } finally {
    fs.closeSync(fd);
  }
  return out;
}

/** With `repair`: keeps the records before the damage and says what was lost. */
function salvage(bytes: Uint8Array, file: string, error: MemoryCorruptionError, recovery: Recovery) {
  const offset = error.details.offset as number;
  const scan = scanLog(bytes.subarray(0, offset), file, 1);
  recovery.lost = { file, offset, bytes: bytes.length - offset, reason: error.message };
  return scan;
}

function lock(dir: string): void {
  const file = path.join(dir, LOCK);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number(fs.readFileSync(file, 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && alive(owner)) {
        throw new OVMemoryError(ErrorCode.LOCKED, `${dir} is in use by process ${owner} (${file})`, { details: { dir, pid: owner } });
      }
      fs.rmSync(file, { force: true });   // a stale lock: its owner is gone
    }
  }
  throw new OVMemoryError(ErrorCode.LOCKED, `${dir} could not be locked (${file})`, { details: { dir } });
}

function unlock(dir: string): void {
  fs.rmSync(path.join(dir, LOCK), { force: true });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

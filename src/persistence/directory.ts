// A durable store's directory (Node): numbered snapshot/log generations (snap.N, wal.N), the lock,
// and the write path. Every effect is written with a synchronous write before the call that made
// it returns, in every mode, so a killed process loses nothing acknowledged; `durability` only
// decides when the log is fsynced (power loss): 'always' before returning, 'batch' on a timer and on
// flush(), 'none' never. A write or sync that fails leaves the journal faulted: it refuses every
// later write with STORAGE_FAULT until the store is reopened (LevelDB's background error).
import path from 'node:path';
import { ErrorCode, InternalError, OVMemoryError, StorageFaultError } from '../resilience/errors.js';
import { describeOsError, type StoreFiles, typedOsError, writeAll, writeDurably } from './files.js';
import { nodeFiles } from './node-files.js';
import { encodeLogHeader, encodeLogRecord, LOG_FILE_HEADER, type SnapshotStream } from './format.js';
import type { Durability, Journal, JournalSettings, OpenedJournal } from './journal.js';
import { acquireLock } from './lock.js';
import { Loader, prepareDirectory } from './recovery.js';
import { writeSnapshotDurably } from './snapshot-files.js';
import { FLOAT_FILE, FloatFile } from './float-file.js';

export type { Loss, Recovery } from './recovery.js';
export type { Durability } from './journal.js';

export interface OpenSettings extends JournalSettings {
  /** The file operations (tests inject faults); node:fs by default. */
  files?: StoreFiles;
}

export type OpenedDirectory = OpenedJournal & { directory: StoreDirectory };

export class StoreDirectory implements Journal {
  readonly #files: StoreFiles;
  readonly #onFault: ((error: StorageFaultError) => void) | undefined;
  readonly #release: () => void;
  #fd: number;
  #generation: number;
  #sequence: number;
  /** The log's length up to the end of its last acknowledged record. */
  #goodBytes: number;
  #dirty = false;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  #fault: StorageFaultError | undefined;
  #floatFile: FloatFile | undefined;

  private constructor(
    readonly dir: string, readonly durability: Durability, readonly storeId: string, files: StoreFiles,
    settings: OpenSettings, release: () => void, at: { generation: number; fd: number; sequence: number; goodBytes: number },
  ) {
    this.#files = files;
    this.#onFault = settings.onFault;
    this.#release = release;
    this.#generation = at.generation;
    this.#fd = at.fd;
    this.#sequence = at.sequence;
    this.#goodBytes = at.goodBytes;
    if (durability === 'batch') {
      this.#timer = setInterval(() => this.#groupCommit(), settings.groupCommitMs);
      this.#timer.unref();
    }
  }

  /**
   * Locks the directory and reads its newest generation. Without `repair`, nothing on disk changes
   * when a check fails, except that a torn last log record is cut off (it was never acknowledged).
   * Every error is an OVMemoryError: INVALID_DATA for a path that cannot be a store (a file, a
   * directory holding other things), LOCKED, MEMORY_CORRUPTION, STORAGE_FAULT for an I/O failure.
   */
  static open(dir: string, settings: OpenSettings): OpenedDirectory {
    const files = settings.files ?? nodeFiles;
    prepareDirectory(dir, files);
    let release: () => void;
    try {
      release = acquireLock(dir);
    } catch (error) {
      throw typedOsError(error, `could not lock ${dir}`);
    }
    try {
      const { at, snapshot, effects, recovery } = new Loader(dir, files, settings).load();
      const fd = files.openSync(path.join(dir, `wal.${at.generation}`), 'a');
      const directory = new StoreDirectory(dir, settings.durability, at.storeId, files, settings, release, { ...at, fd });
      return { directory, snapshot, effects, recovery };
    } catch (error) {
      release();
      throw typedOsError(error, `could not open the store in ${dir}`);
    }
  }

  get generation(): number {
    return this.#generation;
  }

  /** Bytes of records in the current log. */
  get logBytes(): number {
    return this.#goodBytes - LOG_FILE_HEADER;
  }

  /** The first failure of the journal, after which it refuses writes; undefined while it is sound. */
  get fault(): StorageFaultError | undefined {
    return this.#fault;
  }

  #walPath(generation = this.#generation): string {
    return path.join(this.dir, `wal.${generation}`);
  }

  /**
   * Writes one effect to the log before the call that made it returns. A failed write (or fsync,
   * with 'always') is cut back to the last good record and faults the journal.
   */
  append(effect: unknown): void {
    this.#assertWritable('append');
    const record = encodeLogRecord(this.#sequence + 1, effect);
    try {
      writeAll(this.#files, this.#fd, record);
      if (this.durability === 'always') this.#files.fsyncSync(this.#fd);
    } catch (error) {
      throw this.#faulted(this.#cutBack(error));
    }
    this.#sequence++;
    this.#goodBytes += record.length;
    if (this.durability !== 'always') this.#dirty = true;
  }

  /** Everything appended so far is on disk; a faulted journal throws its fault. */
  flush(): void {
    if (this.#closed) return;
    if (this.#fault) throw this.#fault;
    if (!this.#dirty) return;
    try {
      this.#files.fsyncSync(this.#fd);
    } catch (error) {
      throw this.#faulted(new StorageFaultError(`could not sync ${this.#walPath()} (${describeOsError(error)}): the store refuses writes until it is reopened`, { cause: error, details: { file: this.#walPath() } }));
    }
    this.#dirty = false;
  }

  /** The group-commit timer never throws: a failure faults the journal and goes to `onFault`. */
  #groupCommit(): void {
    if (this.#fault) return;
    try { this.flush(); } catch { /* the fault is kept and was handed to onFault */ }
  }

  /**
   * Starts generation N+1: writes wal.N+1 (its header only) and then snap.N+1, each to a temporary
   * file, fsynced, renamed into place with the directory fsynced; then drops generation N-1. The
   * log comes first so that a snapshot never exists without its log: a missing wal.N is always
   * damage, and a wal.N that holds no record beside a missing snap.N is a checkpoint that crashed
   * half way (generation N-1 is then the newest). Generation N stays on disk as the fallback.
   * `snapshot` holds everything appended so far; it is written a block at a time, its header
   * stamped with this store's id.
   * `erase` drops generation N too: after a `forget`, no older file may still hold what was forgotten
   * (the price: a damaged new snapshot has no previous one to salvage from).
   */
  checkpoint(snapshot: SnapshotStream, options: { erase?: boolean } = {}): void {
    this.#assertWritable('checkpoint');
    const next = this.#generation + 1;
    let fd: number;
    try {
      writeDurably(this.#files, this.dir, `wal.${next}`, encodeLogHeader(this.storeId, next));
      writeSnapshotDurably(this.#files, this.dir, `snap.${next}`, { ...snapshot, storeId: this.storeId, generation: next });
      fd = this.#files.openSync(this.#walPath(next), 'a');
    } catch (error) {
      throw this.#faulted(new StorageFaultError(`could not checkpoint ${this.dir} into generation ${next} (${describeOsError(error)}): the store refuses writes until it is reopened`, { cause: error, details: { file: (error as NodeJS.ErrnoException).path ?? this.dir } }));
    }
    // The log of generation N is complete and synced: it is closed, no longer written.
    const old = this.#fd;
    this.#fd = fd;
    if (this.#dirty) try { this.#files.fsyncSync(old); } catch { /* generation N+1 already holds all of it */ }
    try { this.#files.closeSync(old); } catch { /* nothing more is written to it */ }
    this.#generation = next;
    this.#sequence = 0;
    this.#goodBytes = LOG_FILE_HEADER;
    this.#dirty = false;
    if (options.erase) this.#eraseGenerationsBefore(next);
    else removeGenerationsBefore(this.#files, this.dir, next - 1);
  }

  /** Unlike the usual clean-up, a failure here is the caller's to know: forgotten bytes would remain. */
  #eraseGenerationsBefore(keep: number): void {
    try {
      for (const name of this.#files.readdirSync(this.dir)) {
        // Files a repair set aside hold old memories too.
        const m = /^(?:snap|wal)\.(\d+)(?:\.tmp|\.damaged(?:\.\d+)?)?$/.exec(name);
        if (m && (Number(m[1]) < keep || name.includes('.damaged'))) this.#files.unlinkSync(path.join(this.dir, name));
      }
    } catch (error) {
      throw new StorageFaultError(`could not remove the older generations of ${this.dir} (${describeOsError(error)}): forgotten memories may remain in them until the next checkpoint`, { cause: error, details: { dir: this.dir } });
    }
  }

  /** The file a quantized store keeps its float32 vectors in, emptied now (see float-file.ts). */
  floatRows(dim: number, onFault: (error: StorageFaultError) => void): FloatFile {
    this.#assertWritable('floatRows');
    if (this.#floatFile) throw new InternalError(`${this.dir} already keeps its float32 vectors in ${this.#floatFile.file}`);
    try {
      this.#floatFile = new FloatFile(this.#files, path.join(this.dir, FLOAT_FILE), dim, onFault);
    } catch (error) {
      throw typedOsError(error, `could not create the float32 vectors' file in ${this.dir}`);
    }
    return this.#floatFile;
  }

  /** Syncs and releases the lock, even when faulted; throws only for a failure not reported before. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#floatFile?.close();
    let failure: StorageFaultError | undefined;
    try {
      if (!this.#fault && this.#dirty) this.#files.fsyncSync(this.#fd);
    } catch (error) {
      failure = this.#faulted(new StorageFaultError(`could not sync ${this.#walPath()} on close (${describeOsError(error)}): writes since the last sync may be lost on power failure`, { cause: error, details: { file: this.#walPath() } }));
    } finally {
      try { this.#files.closeSync(this.#fd); } catch { /* the descriptor is gone either way */ }
      this.#release();
    }
    if (failure) throw failure;
  }

  #assertWritable(operation: string): void {
    if (this.#closed) throw new OVMemoryError(ErrorCode.CLOSED, `${operation}: the store directory ${this.dir} is closed`);
    if (this.#fault) {
      throw new StorageFaultError(`${operation} refused: the journal of ${this.dir} failed earlier (${this.#fault.message})`, { cause: this.#fault, details: { ...this.#fault.details } });
    }
  }

  /** After a failed append: the log is cut back to its last good record, or the error says it could not be. */
  #cutBack(error: unknown): StorageFaultError {
    const file = this.#walPath();
    let message = `could not append to ${file} (${describeOsError(error)})`;
    let cutBack = true;
    try {
      this.#files.ftruncateSync(this.#fd, this.#goodBytes);
    } catch (truncateError) {
      cutBack = false;
      message += `, and cutting it back to its last good record at offset ${this.#goodBytes} failed too (${describeOsError(truncateError)}): a reopen may find the refused record`;
    }
    return new StorageFaultError(`${message}; the store refuses writes until it is reopened`, { cause: error, details: { file, offset: this.#goodBytes, cutBack } });
  }

  /** Keeps the first fault and reports it once. */
  #faulted(error: StorageFaultError): StorageFaultError {
    if (this.#fault) return error;
    this.#fault = error;
    clearInterval(this.#timer);
    try { this.#onFault?.(error); } catch { /* the callback's own failure must not hide the fault */ }
    return error;
  }
}

/** Best effort: a generation left behind is removed by the next open. */
function removeGenerationsBefore(files: StoreFiles, dir: string, keep: number): void {
  try {
    for (const name of files.readdirSync(dir)) {
      const m = /^(?:snap|wal)\.(\d+)$/.exec(name);
      if (m && Number(m[1]) < keep) files.unlinkSync(path.join(dir, name));
    }
  } catch { /* left for the next open */ }
}

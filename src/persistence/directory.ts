// A durable store's directory (Node): numbered snapshot/log generations (snap.N, wal.N), the lock,
// and the write path. Every effect is written with a synchronous write before the call that made
// it returns, in every mode, so a killed process loses nothing acknowledged; `durability` only
// decides when the log is fsynced (power loss): 'always' before returning, 'batch' on a timer and on
// flush(), 'none' never. A write or sync that fails leaves the journal faulted: it refuses every
// later write with STORAGE_FAULT until the store is reopened (LevelDB's background error).
import path from 'node:path';
import { ErrorCode, InternalError, InvalidDataError, MemoryCorruptionError, OVMemoryError, StorageFaultError } from '../resilience/errors.js';
import { fsyncDirectory, nodeFiles, readWhole, type StoreFiles, writeAll, writeDurably } from './files.js';
import {
  decodeSnapshot, encodeLogHeader, encodeLogRecord, LOG_FILE_HEADER, newStoreId, readLogHeader, salvageSnapshot, scanLog,
  type LogScan, type SnapshotState, stampSnapshot,
} from './format.js';
import { acquireLock, LOCK } from './lock.js';

export type Durability = 'always' | 'batch' | 'none';

export interface OpenSettings {
  durability: Durability;
  /** Salvage what is intact instead of refusing a damaged directory (the losses go in `recovery.lost`). */
  repair: boolean;
  /** With durability 'batch': how often the log is fsynced. */
  groupCommitMs: number;
  /** The encoded snapshot of a new, empty store (called only when the directory holds none). */
  initial: () => Uint8Array;
  /** The file operations (tests inject faults); node:fs by default. */
  files?: StoreFiles;
  /** Called once, with the first fault, whichever path hit it (the group-commit timer included). */
  onFault?: (error: StorageFaultError) => void;
}

/** One thing `repair` gave up to open a damaged directory. */
export type Loss =
  /** The log from `offset` on (the records after the damage); `copy` keeps those bytes. */
  | { kind: 'log'; file: string; offset: number; bytes: number; reason: string; copy: string }
  /** A snapshot block: its `records` memories, with ids from ids[0] to ids[1]. */
  | { kind: 'snapshot-block'; file: string; offset: number; records: number; ids: [number, number]; reason: string }
  /** The snapshot's meta section: the focus and the saved options. */
  | { kind: 'snapshot-meta'; file: string; offset: number; reason: string }
  /** A whole unusable newest generation: the previous one was opened, `file` renamed to `copy`. */
  | { kind: 'generation'; file: string; reason: string; copy: string };

export interface Recovery {
  /** Bytes of a torn last record that were dropped (never acknowledged). */
  tornBytes: number;
  /** With `repair`: what was lost, when anything was. */
  lost?: Loss[];
}

export interface OpenedDirectory {
  directory: StoreDirectory;
  /** The newest snapshot; undefined for a store created by this open. */
  snapshot: SnapshotState | undefined;
  effects: unknown[];
  recovery: Recovery;
}

const SNAP = /^snap\.(\d+)$/, WAL = /^wal\.(\d+)$/;
/** Names the directory writes: a directory holding none of these (but other files) is not a store. */
const STORE_FILE = /^(?:snap|wal)\.\d+(?:\.tmp|\.damaged(?:\.\d+)?)?$/;
const LOCK_FILE = new RegExp(`^${LOCK}(?:\\..+\\.(?:tmp|stale))?$`);
/** Errors that say the path cannot be a directory at all (the caller's mistake, not the disk's). */
const BAD_PATH = new Set(['ENOTDIR', 'EEXIST', 'EISDIR', 'ENAMETOOLONG', 'ELOOP', 'EINVAL']);

export class StoreDirectory {
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
    prepare(dir, files);
    let release: () => void;
    try {
      release = acquireLock(dir);
    } catch (error) {
      throw typed(error, `could not lock ${dir}`);
    }
    try {
      const { at, snapshot, effects, recovery } = new Loader(dir, files, settings).load();
      const fd = files.openSync(path.join(dir, `wal.${at.generation}`), 'a');
      const directory = new StoreDirectory(dir, settings.durability, at.storeId, files, settings, release, { ...at, fd });
      return { directory, snapshot, effects, recovery };
    } catch (error) {
      release();
      throw typed(error, `could not open the store in ${dir}`);
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
      throw this.#faulted(new StorageFaultError(`could not sync ${this.#walPath()} (${describe(error)}): the store refuses writes until it is reopened`, { cause: error, details: { file: this.#walPath() } }));
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
   * `snapshot` holds everything appended so far; its header is stamped with this store's id.
   */
  checkpoint(snapshot: Uint8Array): void {
    this.#assertWritable('checkpoint');
    const next = this.#generation + 1;
    let fd: number;
    try {
      writeDurably(this.#files, this.dir, `wal.${next}`, encodeLogHeader(this.storeId, next));
      writeDurably(this.#files, this.dir, `snap.${next}`, stampSnapshot(snapshot, this.storeId, next));
      fd = this.#files.openSync(this.#walPath(next), 'a');
    } catch (error) {
      throw this.#faulted(new StorageFaultError(`could not checkpoint ${this.dir} into generation ${next} (${describe(error)}): the store refuses writes until it is reopened`, { cause: error, details: { file: (error as NodeJS.ErrnoException).path ?? this.dir } }));
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
    removeGenerationsBefore(this.#files, this.dir, next - 1);
  }

  /** Syncs and releases the lock, even when faulted; throws only for a failure not reported before. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    let failure: StorageFaultError | undefined;
    try {
      if (!this.#fault && this.#dirty) this.#files.fsyncSync(this.#fd);
    } catch (error) {
      failure = this.#faulted(new StorageFaultError(`could not sync ${this.#walPath()} on close (${describe(error)}): writes since the last sync may be lost on power failure`, { cause: error, details: { file: this.#walPath() } }));
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
    let message = `could not append to ${file} (${describe(error)})`;
    let cutBack = true;
    try {
      this.#files.ftruncateSync(this.#fd, this.#goodBytes);
    } catch (truncateError) {
      cutBack = false;
      message += `, and cutting it back to its last good record at offset ${this.#goodBytes} failed too (${describe(truncateError)}): a reopen may find the refused record`;
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

interface Loaded {
  at: { generation: number; storeId: string; sequence: number; goodBytes: number };
  snapshot: SnapshotState | undefined;
  effects: unknown[];
  recovery: Recovery;
}

/** Reads a locked directory's newest usable generation. */
class Loader {
  readonly #names: string[];
  readonly #snaps: Set<number>;
  readonly #wals: Set<number>;
  readonly #lost: Loss[] = [];
  #tornBytes = 0;

  constructor(readonly dir: string, readonly files: StoreFiles, readonly settings: OpenSettings) {
    this.#names = files.readdirSync(dir);
    this.#snaps = numbered(this.#names, SNAP);
    this.#wals = numbered(this.#names, WAL);
  }

  #path(name: string): string {
    return path.join(this.dir, name);
  }

  load(): Loaded {
    if (this.#snaps.size === 0 && this.#wals.size === 0) return this.#create(newStoreId());
    const newest = Math.max(...this.#snaps, ...this.#wals);
    let generation = newest;
    if (!this.#snaps.has(newest)) {
      const wal = `wal.${newest}`;
      const scan = scanLog(readWhole(this.files, this.#path(wal)), this.#path(wal));
      if (newest === 0 && this.#snaps.size === 0 && scan.effects.length === 0) return this.#create(scan.storeId ?? newStoreId());   // a crash while creating
      const previous = this.#hasPair(newest - 1);
      if (previous && scan.effects.length === 0) {
        generation = newest - 1;   // a checkpoint that crashed between its log and its snapshot
      } else if (previous && this.settings.repair) {
        this.#setAside(wal, `snap.${newest} is missing`);
        generation = newest - 1;
      } else {
        throw corruption(this.#path(wal), 0, `snap.${newest} is missing beside wal.${newest}, which holds ${scan.effects.length} records`);
      }
    }
    return this.#openGeneration(generation);
  }

  #hasPair(generation: number): boolean {
    return generation >= 0 && this.#snaps.has(generation) && this.#wals.has(generation);
  }

  /** A new store: its log first, then its snapshot (so a snapshot never lacks its log). */
  #create(storeId: string): Loaded {
    const snapshot = this.settings.initial();
    writeDurably(this.files, this.dir, 'wal.0', encodeLogHeader(storeId, 0));
    writeDurably(this.files, this.dir, 'snap.0', stampSnapshot(snapshot, storeId, 0));
    return { at: { generation: 0, storeId, sequence: 0, goodBytes: LOG_FILE_HEADER }, snapshot: undefined, effects: [], recovery: { tornBytes: 0 } };
  }

  #openGeneration(generation: number): Loaded {
    const snapName = `snap.${generation}`, walName = `wal.${generation}`;
    const snapPath = this.#path(snapName), walPath = this.#path(walName);
    if (!this.#wals.has(generation)) {
      throw corruption(walPath, 0, `${walName} is missing beside ${snapName}: what was written after that checkpoint is gone (restore ${walName} from a backup)`);
    }
    let snapshot: SnapshotState;
    try {
      snapshot = this.#readSnapshot(snapPath);
    } catch (error) {
      if (!(error instanceof MemoryCorruptionError) || !this.settings.repair || !this.#hasPair(generation - 1)) throw error;
      this.#setAside(snapName, error.message);
      this.#setAside(walName, `${snapName} is unusable`);
      return this.#openGeneration(generation - 1);
    }
    if (snapshot.generation !== generation) {
      throw corruption(snapPath, 24, `${snapName} holds generation ${snapshot.generation} (a snapshot copied in from another generation)`);
    }
    const bytes = readWhole(this.files, walPath);
    const header = readLogHeader(bytes, walPath);
    if (header.generation !== generation) throw corruption(walPath, 8, `${walName} holds generation ${header.generation} (a log copied in from another generation)`);
    if (header.storeId !== snapshot.storeId) throw corruption(walPath, 12, `${walName} belongs to store ${header.storeId}, ${snapName} to store ${snapshot.storeId}`);
    const scan = this.#scan(bytes, walPath);
    this.#cleanUp(generation);
    return {
      at: { generation, storeId: header.storeId!, sequence: scan.lastSequence, goodBytes: scan.validBytes },
      snapshot,
      effects: scan.effects,
      recovery: this.#lost.length > 0 ? { tornBytes: this.#tornBytes, lost: this.#lost } : { tornBytes: this.#tornBytes },
    };
  }

  #readSnapshot(file: string): SnapshotState {
    const bytes = readWhole(this.files, file);
    if (!this.settings.repair) return decodeSnapshot(bytes, file);
    const { state, lost } = salvageSnapshot(bytes, file);
    for (const loss of lost) {
      this.#lost.push(loss.part === 'block' ? { kind: 'snapshot-block', file, offset: loss.offset, records: loss.records, ids: loss.ids, reason: loss.reason }
        : { kind: 'snapshot-meta', file, offset: loss.offset, reason: loss.reason });
    }
    return state;
  }

  /** Scans the log, cuts off a torn tail and, with `repair`, keeps a damaged rest aside and cuts it off too. */
  #scan(bytes: Uint8Array, file: string): LogScan {
    let scan: LogScan;
    let end = bytes.length;
    try {
      scan = scanLog(bytes, file);
    } catch (error) {
      if (!(error instanceof MemoryCorruptionError) || !this.settings.repair) throw error;
      const offset = error.details.offset as number;
      scan = scanLog(bytes.subarray(0, offset), file);
      const copy = this.#keep(path.basename(file), bytes.subarray(offset));
      this.#lost.push({ kind: 'log', file, offset, bytes: bytes.length - offset, reason: error.message, copy });
      end = offset;
    }
    this.#tornBytes = end - scan.validBytes;
    if (scan.validBytes < bytes.length) {
      const fd = this.files.openSync(file, 'a');
      try { this.files.ftruncateSync(fd, scan.validBytes); this.files.fsyncSync(fd); } finally { this.files.closeSync(fd); }
    }
    return scan;
  }

  /** A free name `base.damaged`, `base.damaged.2`, … for what repair sets aside. */
  #damagedName(base: string): string {
    const taken = new Set(this.files.readdirSync(this.dir));
    for (let n = 1; ; n++) {
      const name = n === 1 ? `${base}.damaged` : `${base}.damaged.${n}`;
      if (!taken.has(name)) return name;
    }
  }

  #keep(base: string, bytes: Uint8Array): string {
    const name = this.#damagedName(base);
    writeDurably(this.files, this.dir, name, bytes);
    return this.#path(name);
  }

  /** Renames an unusable file of the newest generation out of the way, and records the loss. */
  #setAside(name: string, reason: string): void {
    if (!this.#names.includes(name)) return;
    const copy = this.#path(this.#damagedName(name));
    this.files.renameSync(this.#path(name), copy);
    fsyncDirectory(this.files, this.dir);
    this.#lost.push({ kind: 'generation', file: this.#path(name), reason, copy });
  }

  /** Drops temporary files, generations before the previous one, and a crashed checkpoint's empty log. */
  #cleanUp(generation: number): void {
    for (const name of this.files.readdirSync(this.dir)) {
      const n = Number(/^(?:snap|wal)\.(\d+)(?:\.tmp)?$/.exec(name)?.[1] ?? NaN);
      if (n < generation - 1 || n > generation || name.endsWith('.tmp')) this.files.unlinkSync(this.#path(name));
    }
  }
}

function numbered(names: string[], pattern: RegExp): Set<number> {
  return new Set(names.flatMap((name) => { const m = pattern.exec(name); return m ? [Number(m[1])] : []; }));
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

/** Creates a missing directory; refuses a path that is not a directory, or one that holds something else. */
function prepare(dir: string, files: StoreFiles): void {
  let names: string[];
  try {
    names = files.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw typed(error, `could not read ${dir}`);
    try { files.mkdirSync(dir); } catch (mkdirError) { throw typed(mkdirError, `could not create ${dir}`); }
    return;
  }
  const foreign = names.filter((name) => !STORE_FILE.test(name) && !LOCK_FILE.test(name));
  if (foreign.length > 0 && !names.some((name) => STORE_FILE.test(name))) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
    throw new InvalidDataError(`${dir} is not an ov-memory store: it holds ${shown} but no snap.N or wal.N; open an empty or new directory`, { details: { dir, found: foreign.slice(0, 10) } });
  }
}

function corruption(file: string, offset: number, what: string): MemoryCorruptionError {
  return new MemoryCorruptionError(`${file}: ${what} at offset ${offset}`, { details: { file, offset } });
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e?.code ? `${e.code}: ${e.message}` : String(e?.message ?? error);
}

/** Every error out of open() is ours: a path that cannot be a directory is the caller's, any other OS error the disk's. */
function typed(error: unknown, context: string): OVMemoryError {
  if (error instanceof OVMemoryError) return error;
  const code = (error as NodeJS.ErrnoException)?.code;
  const file = (error as NodeJS.ErrnoException)?.path;
  if (code && BAD_PATH.has(code)) return new InvalidDataError(`${context}: the path cannot be a store directory (${describe(error)})`, { cause: error, details: { file } });
  if (code) return new StorageFaultError(`${context} (${describe(error)})`, { cause: error, details: { file } });
  return new InternalError(`${context}: ${describe(error)}`, { cause: error });
}

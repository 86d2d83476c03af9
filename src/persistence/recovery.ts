// Opening a locked store directory: which generation to read, the checks that tie a log to its
// snapshot, the crash window of a checkpoint, and what `repair` salvages (reported as losses).
import { InvalidDataError, MemoryCorruptionError } from '../resilience/errors.js';
import { FLOAT_FILE } from './float-file.js';
import { fsyncDirectory, LOCK, readWhole, type StoreFiles, typedOsError, writeDurably } from './files.js';
import {
  encodeLogHeader, LOG_FILE_HEADER, newStoreId, readLogHeader, readSnapshotStream, scanLog, type LogScan, type SnapshotStream, stampSnapshot,
} from './format.js';
import { fileSource } from './snapshot-files.js';

export interface LoadSettings {
  repair: boolean;
  initial: () => Uint8Array;
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

const SNAP = /^snap\.(\d+)$/, WAL = /^wal\.(\d+)$/;
/** Names the directory writes: a directory holding none of these (but other files) is not a store. */
const STORE_FILE = /^(?:snap|wal)\.\d+(?:\.tmp|\.damaged(?:\.\d+)?)?$/;
const LOCK_FILE = new RegExp(`^${LOCK}(?:\\.takeover|\\..+\\.(?:tmp|stale))?$`);

export interface Loaded {
  at: { generation: number; storeId: string; sequence: number; goodBytes: number };
  /** Its blocks are read from the file as they are iterated. */
  snapshot: SnapshotStream | undefined;
  effects: unknown[];
  recovery: Recovery;
}

/** Reads a locked directory's newest usable generation. */
export class Loader {
  readonly #names: string[];
  readonly #snaps: Set<number>;
  readonly #wals: Set<number>;
  readonly #lost: Loss[] = [];
  #tornBytes = 0;

  constructor(readonly dir: string, readonly files: StoreFiles, readonly settings: LoadSettings) {
    this.#names = files.readdirSync(dir);
    this.#snaps = numbered(this.#names, SNAP);
    this.#wals = numbered(this.#names, WAL);
  }

  #path(name: string): string {
    return this.files.join(this.dir, name);
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
    let snapshot: SnapshotStream;
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
    const scan = this.#scan(bytes, walName, walPath);
    this.#cleanUp(generation);
    return {
      at: { generation, storeId: header.storeId!, sequence: scan.lastSequence, goodBytes: scan.validBytes },
      snapshot,
      effects: scan.effects,
      recovery: this.#lost.length > 0 ? { tornBytes: this.#tornBytes, lost: this.#lost } : { tornBytes: this.#tornBytes },
    };
  }

  /** Checks the snapshot block by block now (damage is known before anything is applied); its blocks are read again as they are applied. */
  #readSnapshot(file: string): SnapshotStream {
    const { stream, lost } = readSnapshotStream(fileSource(this.files, file), file, this.settings.repair);
    for (const loss of lost) {
      this.#lost.push(loss.part === 'block' ? { kind: 'snapshot-block', file, offset: loss.offset, records: loss.records, ids: loss.ids, reason: loss.reason }
        : { kind: 'snapshot-meta', file, offset: loss.offset, reason: loss.reason });
    }
    return stream;
  }

  /** Scans the log, cuts off a torn tail and, with `repair`, keeps a damaged rest aside and cuts it off too. */
  #scan(bytes: Uint8Array, name: string, file: string): LogScan {
    let scan: LogScan;
    let end = bytes.length;
    try {
      scan = scanLog(bytes, file);
    } catch (error) {
      if (!(error instanceof MemoryCorruptionError) || !this.settings.repair) throw error;
      const offset = error.details.offset as number;
      scan = scanLog(bytes.subarray(0, offset), file);
      const copy = this.#keep(name, bytes.subarray(offset));
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

  /**
   * Drops temporary files, generations before the previous one, a crashed checkpoint's empty log,
   * and the float32 vectors' file of a process that did not close the store.
   */
  #cleanUp(generation: number): void {
    for (const name of this.files.readdirSync(this.dir)) {
      if (name === FLOAT_FILE) {
        this.files.unlinkSync(this.#path(name));
        continue;
      }
      // Only the store's own temporary files: a `LOCK.….tmp` may be another process's lock record
      // in the making (lock.ts sweeps those of dead processes).
      const temporary = /^(?:snap|wal)\.\d+(?:\.damaged(?:\.\d+)?)?\.tmp$/.test(name);
      const n = Number(/^(?:snap|wal)\.(\d+)$/.exec(name)?.[1] ?? NaN);
      if (temporary || n < generation - 1 || n > generation) this.files.unlinkSync(this.#path(name));
    }
  }
}

function numbered(names: string[], pattern: RegExp): Set<number> {
  return new Set(names.flatMap((name) => { const m = pattern.exec(name); return m ? [Number(m[1])] : []; }));
}

/** Creates a missing directory; refuses a path that is not a directory, or one that holds something else. */
export function prepareDirectory(dir: string, files: StoreFiles): void {
  let names: string[];
  try {
    names = files.readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw typedOsError(error, `could not read ${dir}`);
    try { files.mkdirSync(dir); } catch (mkdirError) { throw typedOsError(mkdirError, `could not create ${dir}`); }
    return;
  }
  const foreign = names.filter((name) => !STORE_FILE.test(name) && !LOCK_FILE.test(name) && name !== FLOAT_FILE);
  if (foreign.length > 0 && !names.some((name) => STORE_FILE.test(name))) {
    const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? ` and ${foreign.length - 3} more` : '');
    throw new InvalidDataError(`${dir} is not an ov-memory store: it holds ${shown} but no snap.N or wal.N; open an empty or new directory`, { details: { dir, found: foreign.slice(0, 10) } });
  }
}

function corruption(file: string, offset: number, what: string): MemoryCorruptionError {
  return new MemoryCorruptionError(`${file}: ${what} at offset ${offset}`, { details: { file, offset } });
}

// What the write path needs of a durable store's journal, whichever keeps it: the store directory
// (Node: synchronous writes and fsync), the browser's OPFS store (a worker writes, so flushing,
// checkpoints and closing are asynchronous there), or a database shared with other processes
// (postgres/journal.ts), whose `append` says 'behind' when another writer committed first: their
// changes are applied by then, and the call is planned again.
import type { FloatRows } from '../engine/rows.js';
import type { ReplicationStatus } from '../observability/metrics.js';
import type { StorageFaultError } from '../resilience/errors.js';
import type { SnapshotStream } from './format.js';
import type { Recovery } from './recovery.js';

export type Durability = 'always' | 'batch' | 'none';

export interface Journal {
  /** Where the store lives, for messages: a directory, or `ov-memory/NAME` in the origin's private file system. */
  readonly dir: string;
  /** Bytes of records in the current log (past a limit, the write path checkpoints). */
  readonly logBytes: number;
  /** N of the current snapshot and log (snap.N, wal.N); a shared store has none. */
  readonly generation?: number;
  /** Writes one record before the call that made it returns (Node), or hands it to the writer (a page). */
  append(effect: unknown): void | 'behind';
  /** Everything appended so far is on disk; a faulted journal throws (rejects with) its fault. */
  flush(): void | Promise<void>;
  /**
   * Starts the next generation from `snapshot` (everything appended so far); `erase` drops every
   * older generation too (after a `forget`, no older file may hold what was forgotten).
   */
  checkpoint?(snapshot: SnapshotStream, options?: { erase?: boolean }): void | Promise<void>;
  /** Where the journal needs no snapshot (the database keeps its own tables): trims its change log instead. */
  compact?(erase: boolean): void;
  /** A shared journal's replication state (metrics and health). */
  status?(): ReplicationStatus;
  /** A shared journal: applies what other writers committed since; true when there was anything. */
  catchUp?(): boolean;
  /**
   * Node's directory: a file to keep a quantized store's float32 vectors in instead of memory,
   * asked for before the first row is stored; `onFault` hears of a write the disk refused.
   */
  floatRows?(dim: number, onFault: (error: StorageFaultError) => void): FloatRows;
  /** Syncs and releases the lock, even when faulted. */
  close(): void | Promise<void>;
}

export interface JournalSettings {
  durability: Durability;
  /** Salvage what is intact instead of refusing a damaged store (the losses go in `recovery.lost`). */
  repair: boolean;
  /** With durability 'batch': how often the log is synced. */
  groupCommitMs: number;
  /** The encoded snapshot of a new, empty store (called only when the store holds none). */
  initial: () => Uint8Array;
  /** Called once, with the first fault, whichever path hit it (the group-commit timer included). */
  onFault?: (error: StorageFaultError) => void;
  /** When another owner holds the store: wait until it closes it (browsers), instead of LOCKED. */
  waitForLock?: boolean;
}

export interface OpenedJournal {
  directory: Journal;
  /** The newest snapshot (its blocks read as they are iterated); undefined for a store created by this open. */
  snapshot: SnapshotStream | undefined;
  effects: unknown[];
  recovery: Recovery;
}

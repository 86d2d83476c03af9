// The messages between a shared store's host thread and its database worker (worker.ts). The host
// asks synchronously (sync-call.ts): one request at a time, each answered once; the worker tells the
// host asynchronously when the database has news (a notification, a reconnection).
import type { SerializedError } from '../resilience/errors.js';
import type { encodeEffects } from '../persistence/effects.js';

export type EncodedEffects = ReturnType<typeof encodeEffects>;

export interface WorkerSettings {
  /** The connection string, without the store's own parameters. */
  connectionString: string;
  schema: string;
  /** How long a connection attempt and a statement may take. */
  connectTimeoutMs: number;
  queryTimeoutMs: number;
  /** The name the connections show in pg_stat_activity. */
  applicationName: string;
}

/** The store's row of `meta` and `head`: what a replica needs to start. */
export interface StoreHead {
  storeId: string;
  dim: number;
  options: Record<string, unknown>;
  seq: number;
  nextId: number;
  /** Each scope's focus, as [scope key, id]. */
  focuses: [string, number][];
  trimmedThrough: number;
}

export interface MemoryRow { id: number; record: Record<string, unknown> }
export interface EdgeRow { source: number; target: number; relevance: number; type: string; createdAt: number }
export interface ChangeRow { seq: number; effects: Uint8Array; committedAt: number }

export type Request =
  /** Creates or migrates the schema; creates the store when it holds none (then `dim` is needed). */
  | { op: 'open'; dim: number | undefined; options: Record<string, unknown> }
  /**
   * Opens a consistent read of the tables (a repeatable-read transaction) with cursors over the
   * memories and edges changed after `since` (all of them without it), and the ids of every memory.
   */
  | { op: 'loadStart'; since: number | undefined }
  | { op: 'loadNext'; cursor: 'memories' | 'edges'; rows: number }
  | { op: 'loadEnd' }
  /** The changes after `after`, in order, at most `rows` of them. */
  | { op: 'pull'; after: number; rows: number }
  /** Appends one call's effects as change `expected + 1`, when the store's head is still at `expected`. */
  | { op: 'commit'; expected: number; token: string; record: EncodedEffects }
  /** Drops the changes older than the newest `keep` (trim_changes). */
  | { op: 'trim'; keep: number }
  | { op: 'close' };

export type Reply =
  | { ok: true; op: 'open'; head: StoreHead; created: boolean }
  | { ok: true; op: 'loadStart'; head: StoreHead; ids: Float64Array }
  /** Memories with their unit vectors end to end in `vectors` (dim floats each), or edges. */
  | { ok: true; op: 'loadNext'; memories?: MemoryRow[]; vectors?: Float32Array; edges?: EdgeRow[] }
  | { ok: true; op: 'pull'; trimmedThrough: number; headSeq: number; changes: ChangeRow[] }
  | { ok: true; op: 'commit'; seq: number; committedAt: number }
  | { ok: true; op: 'trim'; trimmedThrough: number }
  /** Another writer committed first: the head is past `expected`; catch up and plan again. */
  | { ok: true; op: 'behind'; headSeq: number }
  | { ok: true; op: 'loadEnd' | 'close' }
  | { ok: false; error: SerializedError; details?: Record<string, unknown> };

/** What the worker tells the host without being asked. */
export type WorkerEvent =
  /** A change was committed (a notification), or the listener (re)connected: catch up. */
  | { event: 'wake'; seq: number | undefined }
  | { event: 'connected' }
  /** `at`: when (ms since epoch) the worker saw it; a later answer of the database outdates it. */
  | { event: 'disconnected'; message: string; at: number };

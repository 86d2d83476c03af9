// The whole message protocol between a page's durable store (browser-store.ts) and its store
// worker (opfs-worker.ts). The page sends requests in order; the worker carries them out in order.
import type { SerializedError } from '../resilience/errors.js';
import type { Durability } from './journal.js';
import type { Loaded } from './recovery.js';

export type StoreRequest =
  /** Reads the store's folder (creating it with `initial` when it holds nothing), recovers, opens its log. */
  | {
    id: number; op: 'open'; name: string; durability: Durability; repair: boolean; groupCommitMs: number; initial: Uint8Array | undefined;
    /** Where the files go; undefined: OPFS where the worker can open synchronous handles, else IndexedDB. */
    storage: 'opfs' | 'indexeddb' | undefined;
  }
  /** One encoded log record, written at the end of the log; no answer (a failure comes as a fault). */
  | { op: 'append'; record: Uint8Array }
  | { id: number; op: 'flush' }
  /** Writes generation `generation` (its log header, then its snapshot) and switches the log to it; `erase` drops every older one. */
  | { id: number; op: 'checkpoint'; generation: number; log: Uint8Array; snapshot: Uint8Array; erase: boolean }
  | { id: number; op: 'close' };

export type StoreReply =
  /** The worker's script loaded. */
  | { ready: true }
  | { id: number; ok: true; value?: Loaded }
  | { id: number; ok: false; error: SerializedError }
  /** The first failure of the journal (an append or a group commit), sent once, unasked. */
  | { fault: SerializedError };

/** The folder of OPFS under which each store has a folder of its own. */
export const OPFS_ROOT = 'ov-memory';

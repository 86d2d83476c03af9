// The whole message protocol between the host and the scan workers.
import type { SerializedError } from '../resilience/errors.js';

/** What every worker gets once, at start: the compiled kernels and the store's one memory. */
export interface WorkerData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
}

export interface ScanTask {
  request: number;
  /** Where this task's heaps start: one per query, `heapBytes` apart. */
  heaps: number;
  heapBytes: number;
  /** (segment, from, to) triples. */
  pieces: number[];
  /** One query (index `query`) with the single-query kernel, or every query of the request with the batch kernel. */
  batch: boolean;
  query: number;
  /** How many queries (and heaps) the task has. */
  queries: number;
  /**
   * An i32 that decides who owns a queued task: the worker claims it (0 → 1) as it starts, or the
   * host (0 → 2) when the request is cancelled first, and then withdraws it from piscina's queue.
   */
  claim: number;
}

export type ScanResult =
  | { state: 'completed' }
  | { state: 'cancelled' }
  | { state: 'errored'; error: SerializedError };

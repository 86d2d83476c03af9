// Runs one scan task with a set of kernels: the same code on the calling thread and in a worker.
import { serializeError } from '../resilience/errors.js';
import { claimTask, instantiateKernels, isCancelled, type KernelExports, MemoryViews } from './kernels.js';
import type { ScanResult, ScanTask, WorkerData } from './protocol.js';

/**
 * Scans pieces [first, last) of a task; returns false when the request was cancelled. After its last
 * piece, each of the task's heaps is cut to its best k (a heap keeps up to 2k while it scans).
 */
export function runPieces(kernels: KernelExports, task: ScanTask, first: number, last: number): boolean {
  const p = task.pieces;
  for (let i = first; i < last; i++) {
    const segment = p[3 * i]!, from = p[3 * i + 1]!, to = p[3 * i + 2]!;
    const scanned = task.batch
      ? kernels.scanTopKBatch(task.request, segment, from, to, task.heaps, task.heapBytes)
      : kernels.scanTopK(task.request, segment, from, to, task.query, task.heaps);
    if (scanned < 0) return false;
  }
  if (last === pieceCount(task)) kernels.finishHeaps(task.request, task.heaps, task.batch ? task.queries : 1, task.heapBytes);
  return true;
}

export function pieceCount(task: ScanTask): number {
  return task.pieces.length / 3;
}

/**
 * What a scan worker (piscina's or a page's) does with each task, over its own instance of the
 * store's kernels. Everything thrown comes back as data: structured clone drops error classes.
 */
export function createWorkerScan(data: WorkerData): (task: ScanTask) => ScanResult {
  const kernels = instantiateKernels(data.module, data.memory);
  const views = new MemoryViews(data.memory);
  return (task) => {
    try {
      if (!claimTask(views, task.claim, 'worker')) return { state: 'cancelled' };
      if (isCancelled(views, task.request)) return { state: 'cancelled' };
      return runPieces(kernels, task, 0, pieceCount(task)) ? { state: 'completed' } : { state: 'cancelled' };
    } catch (error) {
      return { state: 'errored', error: serializeError(error) };
    }
  };
}

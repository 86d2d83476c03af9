// Runs one scan task with a set of kernels: the same code on the calling thread and in a worker.
import type { KernelExports } from './kernels.js';
import type { ScanTask } from './protocol.js';

/** Scans pieces [first, last) of a task; returns false when the request was cancelled. */
export function runPieces(kernels: KernelExports, task: ScanTask, first: number, last: number): boolean {
  const p = task.pieces;
  for (let i = first; i < last; i++) {
    const segment = p[3 * i]!, from = p[3 * i + 1]!, to = p[3 * i + 2]!;
    const scanned = task.batch
      ? kernels.scanTopKBatch(task.request, segment, from, to, task.heaps, task.heapBytes)
      : kernels.scanTopK(task.request, segment, from, to, task.query, task.heaps);
    if (scanned < 0) return false;
  }
  return true;
}

export function pieceCount(task: ScanTask): number {
  return task.pieces.length / 3;
}

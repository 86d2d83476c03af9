// The inline executor: scans on the calling thread, one piece (at most a segment) at a time, and
// yields to the event loop between pieces, so the deadline timer and the caller's signal can still
// cancel it (a synchronous scan would block the very timer that should stop it).
import { serializeError } from '../resilience/errors.js';
import { type KernelExports, isCancelled, type MemoryViews } from './kernels.js';
import type { ScanExecutor } from './executor.js';
import { yieldToEventLoop } from './executor.js';
import type { ScanResult, ScanTask } from './protocol.js';
import { pieceCount, runPieces } from './scan-task.js';

export class InlineExecutor implements ScanExecutor {
  readonly name = 'inline';
  readonly parallelism = 1;

  constructor(private readonly kernels: KernelExports, private readonly views: MemoryViews) {}

  async run(task: ScanTask): Promise<ScanResult> {
    try {
      const pieces = pieceCount(task);
      for (let i = 0; i < pieces; i++) {
        if (i > 0) await yieldToEventLoop();
        if (isCancelled(this.views, task.request) || !runPieces(this.kernels, task, i, i + 1)) return { state: 'cancelled' };
      }
      return { state: 'completed' };
    } catch (error) {
      return { state: 'errored', error: serializeError(error) };
    }
  }

  async close(): Promise<void> {}
}

// A scan worker: instantiates the store's compiled kernels over the store's shared memory, once, and
// runs scan tasks. Everything thrown is caught and posted as data (structured clone drops classes).
import { workerData } from 'node:worker_threads';
import { serializeError } from '../resilience/errors.js';
import { claimTask, instantiateKernels, isCancelled, MemoryViews, waitForCancel } from './kernels.js';
import type { ScanResult, ScanTask, WorkerData } from './protocol.js';
import { pieceCount, runPieces } from './scan-task.js';

const data = workerData as WorkerData;
const kernels = instantiateKernels(data.module, data.memory);
const views = new MemoryViews(data.memory);

export default function scan(task: ScanTask): ScanResult {
  try {
    if (!claimTask(views, task.claim, 'worker')) return { state: 'cancelled' };
    if (task.fault === 'exit') process.exit(1);
    if (task.fault === 'throw') throw new Error('injected engine fault');
    if (task.fault === 'trap') kernels.scanTopK(0xfffffff0, 0xfffffff0, 0, 1, 0, 0);
    if (task.hold) waitForCancel(views, task.request);
    if (isCancelled(views, task.request)) return { state: 'cancelled' };
    return runPieces(kernels, task, 0, pieceCount(task)) ? { state: 'completed' } : { state: 'cancelled' };
  } catch (error) {
    return { state: 'errored', error: serializeError(error) };
  }
}

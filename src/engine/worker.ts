// A piscina scan worker (Node): the store's kernels over the store's shared memory.
import { workerData } from 'node:worker_threads';
import type { WorkerData } from './protocol.js';
import { createWorkerScan } from './scan-task.js';

export default createWorkerScan(workerData as WorkerData);

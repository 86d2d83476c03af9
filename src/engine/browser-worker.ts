// A page's scan worker: the first message brings the compiled kernels and the shared memory, each
// next one a task; it answers { id, result }.
import type { ScanResult, ScanTask, WorkerData } from './protocol.js';
import { createWorkerScan } from './scan-task.js';

let scan: ((task: ScanTask) => ScanResult) | undefined;
self.onmessage = (event: MessageEvent<{ init: WorkerData } | { id: number; task: ScanTask }>) => {
  const message = event.data;
  if ('init' in message) {
    scan = createWorkerScan(message.init);
    return;
  }
  self.postMessage({ id: message.id, result: scan!(message.task) });
};

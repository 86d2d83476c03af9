// A page's scan worker: the first message brings the compiled kernels and the shared memory, each
// next one a task; it answers the first with { ready: true } and each task with { id, result }.
import type { ScanResult, ScanTask, WorkerData } from './protocol.js';
import { createWorkerScan } from './scan-task.js';

let scan: ((task: ScanTask) => ScanResult) | undefined;
self.onmessage = (event: MessageEvent<{ init: WorkerData } | { id: number; task: ScanTask }>) => {
  const message = event.data;
  if ('init' in message) {
    scan = createWorkerScan(message.init);
    self.postMessage({ ready: true });
    return;
  }
  self.postMessage({ id: message.id, result: scan!(message.task) });
};

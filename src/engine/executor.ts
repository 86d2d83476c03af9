// The interface every scan executor implements: the calling thread, a piscina pool, web workers.
import type { ScanResult, ScanTask } from './protocol.js';

export interface ScanExecutor {
  readonly name: 'inline' | 'pool';
  /** How many tasks a scan is split into. */
  readonly parallelism: number;
  /**
   * Never rejects: a failure comes back as `{ state: 'errored' }`. `withdraw` removes a task that
   * is still queued (its claim already taken by the host).
   */
  run(task: ScanTask, withdraw?: AbortSignal): Promise<ScanResult>;
  close(): Promise<void>;
}

/** Lets timers and I/O run between slices of a scan on the calling thread. */
export function yieldToEventLoop(): Promise<void> {
  if (typeof setImmediate === 'function') return new Promise((resolve) => setImmediate(resolve));
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => { channel.port1.close(); resolve(); };
    channel.port2.postMessage(null);
  });
}

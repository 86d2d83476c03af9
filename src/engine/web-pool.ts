// The Web Worker executor (pages that are cross-origin isolated): one worker per core, each with its
// own instance of the same compiled kernels over the same shared memory. A task waits in a queue
// until a worker is free; a withdrawn task leaves the queue; a worker that dies is replaced and its
// task reported as failed, so the engine can redo it on the calling thread. The executor is ready
// when every worker has loaded its script; one that cannot is UNSUPPORTED, naming the script's URL.
import { serializeError } from '../resilience/errors.js';
import { startModuleWorker, workerReady } from './assets.js';
import type { ScanExecutor } from './executor.js';
import type { PoolSettings } from './pool-settings.js';
import type { ScanResult, ScanTask, WorkerData } from './protocol.js';

const WORKER_SCRIPT = 'browser-worker.js';

interface Job {
  task: ScanTask;
  resolve: (result: ScanResult) => void;
}

interface Slot {
  worker: Worker;
  url: URL;
  job: Job | undefined;
}

export class WebWorkerExecutor implements ScanExecutor {
  readonly name = 'pool';
  readonly parallelism: number;
  readonly #slots: Slot[];
  readonly #queue: Job[] = [];
  #next = 0;

  private constructor(private readonly data: WorkerData, private readonly settings: PoolSettings) {
    this.parallelism = settings.threads;
    this.#slots = Array.from({ length: settings.threads }, () => {
      const slot = { job: undefined } as Slot;
      this.#start(slot);
      return slot;
    });
  }

  /** Starts one worker per thread and waits until each has loaded its script. */
  static async start(data: WorkerData, settings: PoolSettings): Promise<WebWorkerExecutor> {
    const executor = new WebWorkerExecutor(data, settings);
    try {
      await Promise.all(executor.#slots.map((slot) => workerReady(slot.worker, slot.url)));
    } catch (error) {
      await executor.close();
      throw error;
    }
    return executor;
  }

  run(task: ScanTask, withdraw?: AbortSignal): Promise<ScanResult> {
    return new Promise((resolve) => {
      const job: Job = { task, resolve };
      withdraw?.addEventListener('abort', () => {
        const at = this.#queue.indexOf(job);
        if (at >= 0) { this.#queue.splice(at, 1); resolve({ state: 'cancelled' }); }
      }, { once: true });
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  async close(): Promise<void> {
    for (const slot of this.#slots) slot.worker.terminate();
    for (const job of this.#queue.splice(0)) job.resolve({ state: 'cancelled' });
  }

  /** Gives a slot a new worker (at start, and after its worker died). */
  #start(slot: Slot): void {
    // The literal `new Worker(new URL(...), { type: 'module' })` is what Vite and webpack 5 bundle as a worker.
    // `slot.url` only names the script in messages: held in a variable, so no bundler emits it a second time.
    const base = this.settings.assetBase;
    slot.url = new URL(WORKER_SCRIPT, base ?? import.meta.url);
    slot.worker = base ? startModuleWorker(slot.url) : new Worker(new URL('./browser-worker.js', import.meta.url), { type: 'module' });
    slot.worker.onmessage = (event: MessageEvent<{ result?: ScanResult }>) => {
      if (event.data.result) this.#finish(slot, event.data.result);   // not the message that says it is ready
    };
    slot.worker.onerror = (event) => {
      event.preventDefault();
      slot.worker.terminate();
      this.#start(slot);
      this.#finish(slot, { state: 'errored', error: serializeError(new Error(event.message || 'scan worker failed')) });
    };
    slot.worker.postMessage({ init: this.data });
  }

  #finish(slot: Slot, result: ScanResult): void {
    const job = slot.job;
    slot.job = undefined;
    job?.resolve(result);
    this.#dispatch();
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job || this.#queue.length === 0) continue;
      slot.job = this.#queue.shift()!;
      slot.worker.postMessage({ id: this.#next++, task: slot.job.task });
    }
  }
}

// The piscina executor (Node): every worker instantiates the same compiled module over the same
// shared memory. A running scan is cancelled through its request's cancel word, never through
// piscina's abort (which would kill the worker); piscina only ever sees whole tasks.
import { Piscina } from 'piscina';
import { serializeError } from '../resilience/errors.js';
import type { ScanExecutor } from './executor.js';
import type { PoolSettings } from './pool-settings.js';
import type { ScanResult, ScanTask, WorkerData } from './protocol.js';

declare const __WORKER_FILE__: string;


export class PoolExecutor implements ScanExecutor {
  readonly name = 'pool';
  readonly parallelism: number;
  readonly #piscina: Piscina;

  /** `worker` is the script each worker runs (the project's tests run a fixture that injects faults). */
  constructor(data: WorkerData, settings: PoolSettings, worker: URL = new URL(__WORKER_FILE__, import.meta.url)) {
    this.parallelism = settings.threads;
    this.#piscina = new Piscina({
      filename: worker.href,
      workerData: data,
      // One worker per core, kept alive: more would oversubscribe a CPU-bound scan, and piscina's
      // default idle timeout would tear workers down between bursts and re-instantiate the module.
      minThreads: settings.threads,
      maxThreads: settings.threads,
      idleTimeout: Infinity,
      atomics: settings.atomics,
      concurrentTasksPerWorker: 1,
    });
  }

  async run(task: ScanTask, withdraw?: AbortSignal): Promise<ScanResult> {
    try {
      return (await this.#piscina.run(task, { signal: withdraw })) as ScanResult;
    } catch (error) {
      if (withdraw?.aborted) return { state: 'cancelled' };
      // The worker died (piscina replaces it): the task failed, the pool goes on.
      return { state: 'errored', error: serializeError(error) };
    }
  }

  async close(): Promise<void> {
    await this.#piscina.destroy();
  }
}

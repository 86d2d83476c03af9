// Synchronous requests to the database worker: the host thread posts a request and blocks in
// Atomics.wait until the worker's answer is on the reply port (read with receiveMessageOnPort).
// This keeps the store's write methods synchronous (`add()` returns its id) while every write is
// acknowledged only after its transaction committed, as the directory journal's synchronous write is.
// An answer that comes after its deadline is recognised by its id and dropped.
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';
import { deserializeError, StorageFaultError, UnavailableError } from '../resilience/errors.js';
import type { Reply, Request, WorkerEvent, WorkerSettings } from './protocol.js';

export class SyncWorker {
  readonly #worker: Worker;
  readonly #replies: MessagePort;
  readonly #signal = new Int32Array(new SharedArrayBuffer(4));
  #nextId = 0;
  #closed = false;
  #exited: string | undefined;

  constructor(file: URL, settings: WorkerSettings, onEvent: (event: WorkerEvent) => void, private readonly deadlineMs: number) {
    const { port1, port2 } = new MessageChannel();
    this.#replies = port1;
    this.#worker = new Worker(file, { workerData: { settings, replies: port2, signal: this.#signal }, transferList: [port2] });
    this.#worker.on('message', (event: WorkerEvent) => { if (!this.#closed) onEvent(event); });
    this.#worker.on('error', (error) => onEvent({ event: 'disconnected', message: `the database worker failed: ${error.message}`, at: Date.now() }));
    // A worker that is gone answers nothing: later calls fail at once instead of waiting out their deadline.
    this.#worker.on('exit', (code) => { this.#exited ??= `the database worker exited (${code})`; });
    // Neither the worker nor its port keeps the process alive; close() ends them.
    this.#worker.unref();
    this.#replies.unref();
  }

  /** Sends one request and waits for its answer; a failure comes back as our error class. */
  call<R extends Reply & { ok: true }>(request: Request, deadlineMs = this.deadlineMs): R {
    if (this.#closed) throw new UnavailableError('the database worker is closed');
    // Not UNAVAILABLE: nothing brings a dead worker back but a reopen.
    if (this.#exited) throw new StorageFaultError(`${this.#exited}: the store must be reopened`);
    const id = ++this.#nextId;
    this.#worker.postMessage({ id, request });
    const end = performance.now() + deadlineMs;
    for (;;) {
      const seen = Atomics.load(this.#signal, 0);
      for (let m = receiveMessageOnPort(this.#replies); m; m = receiveMessageOnPort(this.#replies)) {
        const { id: answered, reply } = m.message as { id: number; reply: Reply };
        if (answered !== id) continue;
        if (reply.ok) return reply as R;
        const error = deserializeError(reply.error);
        if (reply.details) Object.assign(error.details, reply.details);
        throw error;
      }
      const left = end - performance.now();
      if (left <= 0) throw new UnavailableError(`the database did not answer within ${deadlineMs} ms (${request.op})`, { details: { op: request.op } });
      Atomics.wait(this.#signal, 0, seen, left);
    }
  }

  close(): void {
    if (this.#closed) return;
    try { this.call({ op: 'close' }, 2_000); } catch { /* terminated below either way */ }
    this.#closed = true;
    void this.#worker.terminate();
    this.#replies.close();
  }
}

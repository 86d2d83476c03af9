// A page's durable store: the same snapshot and log files as in Node (snap.N, wal.N), kept in the
// origin private file system under ov-memory/NAME (IndexedDB where the worker has no synchronous
// OPFS handles) and written by a store worker (opfs-worker.ts; only a worker may open a synchronous
// file handle). One page owns a store at a time, through the
// Web Locks API: another gets LOCKED, or waits with `waitForLock`. A write is handed to the worker
// before the call that made it returns and is durable once flush() resolves; a killed tab loses
// at most what was not yet synced (with 'batch', the last group-commit interval).
import { deserializeError, ErrorCode, InvalidDataError, LockedError, OVMemoryError, StorageFaultError } from '../resilience/errors.js';
import { startModuleWorker, workerReady } from '../engine/assets.js';
import { encodeLogHeader, encodeLogRecord, encodeSnapshotStream, LOG_FILE_HEADER, type SnapshotStream } from './format.js';
import type { Journal, JournalSettings, OpenedJournal } from './journal.js';
import type { Loaded } from './recovery.js';
import { OPFS_ROOT, type StoreReply, type StoreRequest } from './store-protocol.js';

export interface BrowserStoreSettings extends JournalSettings {
  /** Where the store worker's script is loaded from; undefined: beside the bundle. */
  assetBase?: URL | undefined;
  /** Where the files go; undefined: OPFS where the worker has synchronous handles, else IndexedDB. */
  storage?: 'opfs' | 'indexeddb' | undefined;
}

/** A request that is answered, before the journal numbers it. */
type Asked = StoreRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

const NAME = /^[\w.-]{1,100}$/;
const WORKER_SCRIPT = 'browser-store-worker.js';

export async function openBrowserStore(name: string, settings: BrowserStoreSettings): Promise<OpenedJournal> {
  if (!NAME.test(name) || name === '.' || name === '..') {
    throw new InvalidDataError(`Expected \`name\` to be a store name of 1 to 100 letters, digits, '_', '-' or '.', got ${JSON.stringify(name)}`, { details: { name } });
  }
  if (!globalThis.navigator?.locks || typeof Worker === 'undefined') {
    throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'OVMemory.open() in a browser needs the Web Locks API and module workers (a secure context: https or localhost)');
  }
  const release = await lockStore(name, settings.waitForLock === true);
  let worker: Worker | undefined;
  try {
    worker = await startStoreWorker(settings.assetBase);
    const journal = new BrowserJournal(`${OPFS_ROOT}/${name}`, worker, settings, release);
    const loaded = await journal.open(name, settings);
    return { directory: journal, snapshot: loaded.snapshot, effects: loaded.effects, recovery: loaded.recovery };
  } catch (error) {
    worker?.terminate();
    release();
    throw error;
  }
}

/** Takes the store's Web Lock; resolves to its release. Held until released, or until the page goes. */
function lockStore(name: string, wait: boolean): Promise<() => void> {
  return new Promise((resolve, reject) => {
    navigator.locks.request(`${OPFS_ROOT}:${name}`, { ifAvailable: !wait }, (lock) => {
      if (!lock) {
        reject(new LockedError(`the store "${name}" is open in another tab or worker of this origin: close it there first, or open with { waitForLock: true } to wait for it`, { details: { name } }));
        return undefined;
      }
      return new Promise<void>((release) => resolve(() => release()));
    }).catch(reject);
  });
}

async function startStoreWorker(base: URL | undefined): Promise<Worker> {
  // The literal `new Worker(new URL(...), { type: 'module' })` is what Vite and webpack 5 bundle as a worker.
  const worker = base ? startModuleWorker(new URL(WORKER_SCRIPT, base))
    : new Worker(new URL('./browser-store-worker.js', import.meta.url), { type: 'module' });
  await workerReady(worker, new URL(WORKER_SCRIPT, base ?? import.meta.url));
  return worker;
}

class BrowserJournal implements Journal {
  readonly #worker: Worker;
  readonly #onFault: ((error: StorageFaultError) => void) | undefined;
  readonly #release: () => void;
  readonly #pending = new Map<number, { resolve: (value: Loaded | undefined) => void; reject: (error: unknown) => void }>();
  #next = 0;
  #storeId = '';
  #generation = 0;
  #sequence = 0;
  #goodBytes = LOG_FILE_HEADER;
  #fault: OVMemoryError | undefined;
  #dead = false;
  #closing: Promise<void> | undefined;

  constructor(readonly dir: string, worker: Worker, settings: BrowserStoreSettings, release: () => void) {
    this.#worker = worker;
    this.#onFault = settings.onFault;
    this.#release = release;
    worker.onmessage = (event: MessageEvent<StoreReply>) => this.#receive(event.data);
    // The worker itself died (out of memory, a crash): the store can no longer write, and nothing it was asked will be answered.
    worker.onerror = (event) => {
      event.preventDefault();
      this.#dead = true;
      this.#faulted(new StorageFaultError(`the store worker of ${dir} failed (${event.message}): the store refuses writes until it is reopened`));
      for (const { reject } of this.#pending.values()) reject(this.#fault);
      this.#pending.clear();
    };
  }

  get logBytes(): number {
    return this.#goodBytes - LOG_FILE_HEADER;
  }

  get generation(): number {
    return this.#generation;
  }

  async open(name: string, settings: BrowserStoreSettings): Promise<Loaded> {
    // A missing dim is reported only if the store turns out to be new.
    let initial: Uint8Array | undefined, initialError: unknown;
    try { initial = settings.initial(); } catch (error) { initialError = error; }
    try {
      const loaded = (await this.#request({ op: 'open', name, durability: settings.durability, repair: settings.repair, groupCommitMs: settings.groupCommitMs, initial, storage: settings.storage }))!;
      this.#storeId = loaded.at.storeId;
      this.#generation = loaded.at.generation;
      this.#sequence = loaded.at.sequence;
      this.#goodBytes = loaded.at.goodBytes;
      return loaded;
    } catch (error) {
      if (initialError && (error as OVMemoryError).details?.initial === 'missing') throw initialError;
      throw error;
    }
  }

  append(effect: unknown): void {
    this.#assertWritable('append');
    const record = encodeLogRecord(this.#sequence + 1, effect);
    this.#worker.postMessage({ op: 'append', record } satisfies StoreRequest, [record.buffer]);
    this.#sequence++;
    this.#goodBytes += record.byteLength;
  }

  async flush(): Promise<void> {
    if (this.#closing) return;
    if (this.#fault) throw this.#fault;
    await this.#request({ op: 'flush' });
  }

  /** A page's stores are small: the snapshot goes to the worker in one buffer. */
  async checkpoint(snapshot: SnapshotStream, options: { erase?: boolean } = {}): Promise<void> {
    this.#assertWritable('checkpoint');
    const generation = this.#generation + 1;
    const request = this.#request({
      op: 'checkpoint', generation, log: encodeLogHeader(this.#storeId, generation), snapshot: encodeSnapshotStream({ ...snapshot, storeId: this.#storeId, generation }),
      erase: options.erase === true,
    });
    // Records appended from here on belong to the next log (the worker writes them after the switch).
    this.#generation = generation;
    this.#sequence = 0;
    this.#goodBytes = LOG_FILE_HEADER;
    await request;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      try {
        if (!this.#dead) await this.#request({ op: 'close' });
      } finally {
        this.#worker.terminate();
        for (const { reject } of this.#pending.values()) reject(new OVMemoryError(ErrorCode.CLOSED, `${this.dir} is closed`));
        this.#release();
      }
    })();
    return this.#closing;
  }

  #assertWritable(operation: string): void {
    if (this.#closing) throw new OVMemoryError(ErrorCode.CLOSED, `${operation}: the store ${this.dir} is closed`);
    if (this.#fault) throw new OVMemoryError(this.#fault.code, `${operation} refused: the journal of ${this.dir} failed earlier (${this.#fault.message})`, { cause: this.#fault, details: this.#fault.details });
  }

  #request(request: Asked): Promise<Loaded | undefined> {
    if (this.#dead) return Promise.reject(this.#fault);
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...request, id } as StoreRequest);
    });
  }

  #receive(reply: StoreReply): void {
    if ('ready' in reply) return;
    if ('fault' in reply) return void this.#faulted(deserializeError(reply.fault));
    const pending = this.#pending.get(reply.id);
    this.#pending.delete(reply.id);
    if (reply.ok) pending?.resolve(reply.value);
    else pending?.reject(deserializeError(reply.error));
  }

  /** Keeps the first fault and reports it once (the write path then refuses every write). */
  #faulted(error: OVMemoryError): void {
    if (this.#fault) return;
    this.#fault = error;
    try { this.#onFault?.(error as StorageFaultError); } catch { /* the callback's own failure must not hide the fault */ }
  }
}

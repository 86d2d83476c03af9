// The store worker of a page's durable store: the one thread that touches the store's files, in the
// origin private file system (IndexedDB where this browser's workers have no synchronous OPFS
// handles). It opens the store with the loader Node uses (over a staged copy of the folder, its
// changes then carried out on the folder), appends each record it is sent at once, syncs by
// `durability` ('always': after each record, 'batch': on a timer, 'none': only on flush()), and
// writes checkpoints as the store directory does. Its first failure is kept and sent to the page
// once; it then refuses everything but close (fails closed).
import { ErrorCode, InvalidDataError, OVMemoryError, serializeError, StorageFaultError } from '../resilience/errors.js';
import type { Durability } from './journal.js';
import { applyStaged, eraseGenerationsBefore, type LogFile, readFolder, removeGenerationsBefore, type StoreFolder, writeDurably } from './folder.js';
import { indexedDbAvailable, indexedDbFolder } from './indexeddb.js';
import { describeFileError as describeOsError, opfsAvailable, opfsFolder } from './opfs.js';
import { Loader, prepareDirectory, type Loaded } from './recovery.js';
import { StagedFiles } from './staged-files.js';
import { OPFS_ROOT, type StoreReply, type StoreRequest } from './store-protocol.js';

interface OpenLog {
  folder: StoreFolder;
  dir: string;
  handle: LogFile;
  durability: Durability;
  generation: number;
  /** The log's length up to the end of its last record. */
  end: number;
  dirty: boolean;
  timer: ReturnType<typeof setInterval> | undefined;
}

let log: OpenLog | undefined;
let fault: StorageFaultError | undefined;
const post = (reply: StoreReply) => self.postMessage(reply);

async function open(request: Extract<StoreRequest, { op: 'open' }>): Promise<Loaded> {
  const dir = `${OPFS_ROOT}/${request.name}`;
  const folder = await storeFolderFor(request);
  const staged = new StagedFiles(dir, await readFolder(folder));
  prepareDirectory(dir, staged);
  const loaded = new Loader(dir, staged, {
    repair: request.repair,
    initial: () => {
      if (!request.initial) throw new InvalidDataError(`${dir} holds no store yet: options.dim is needed to create one`, { details: { initial: 'missing' } });
      return request.initial;
    },
  }).load();
  // The page gets the blocks gathered (a worker's reply is cloned; a page's stores are small).
  if (loaded.snapshot) loaded.snapshot = { ...loaded.snapshot, blocks: [...loaded.snapshot.blocks] };
  await applyStaged(folder, staged.operations);
  const handle = await folder.openLog(`wal.${loaded.at.generation}`);
  log = { folder, dir, handle, durability: request.durability, generation: loaded.at.generation, end: loaded.at.goodBytes, dirty: false, timer: undefined };
  if (request.durability === 'batch') log.timer = setInterval(groupCommit, request.groupCommitMs);
  return loaded;
}

function opened(): OpenLog {
  if (!log) throw new OVMemoryError(ErrorCode.CLOSED, 'the store worker has no open store');
  if (fault) throw fault;
  return log;
}

/** OPFS where this worker can open synchronous handles (or the tests ask for it), else IndexedDB. */
async function storeFolderFor(request: Extract<StoreRequest, { op: 'open' }>): Promise<StoreFolder> {
  if (request.storage !== 'indexeddb' && opfsAvailable()) return opfsFolder(OPFS_ROOT, request.name);
  if (indexedDbAvailable()) return indexedDbFolder(request.name);
  throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'OVMemory.open() in a browser needs the origin private file system with FileSystemSyncAccessHandle (Chromium 108+, Firefox 111+, Safari 16.4+) or IndexedDB');
}

async function append(record: Uint8Array): Promise<void> {
  if (fault || !log) return;   // refused: the fault was sent once already
  const file = `${log.dir}/wal.${log.generation}`;
  try {
    await log.handle.write(record, log.end);
    if (log.durability === 'always') await log.handle.flush();
  } catch (error) {
    let cutBack = true;
    try { await log.handle.truncate(log.end); } catch { cutBack = false; }
    failed(new StorageFaultError(`could not append to ${file} (${describeOsError(error)})${cutBack ? '' : ', and cutting it back failed too'}; the store refuses writes until it is reopened`, { cause: error, details: { file, offset: log.end, cutBack } }));
    return;
  }
  log.end += record.length;
  log.dirty = log.durability !== 'always';
}

async function flush(): Promise<void> {
  const at = opened();
  if (!at.dirty) return;
  try {
    await at.handle.flush();
  } catch (error) {
    throw failed(new StorageFaultError(`could not sync ${at.dir}/wal.${at.generation} (${describeOsError(error)}): the store refuses writes until it is reopened`, { cause: error, details: { file: `${at.dir}/wal.${at.generation}` } }));
  }
  at.dirty = false;
}

/** Joins the queue of requests, so that a sync never runs between the halves of another request. */
function groupCommit(): void {
  queue = queue.then(() => flush()).catch(() => { /* kept as the fault, sent to the page */ });
}

/**
 * As the store directory does: the next log first, then its snapshot, then the switch; the
 * generation before the previous one goes (with `erase`, every older one and what repair set aside).
 */
async function checkpoint(request: Extract<StoreRequest, { op: 'checkpoint' }>): Promise<void> {
  const at = opened();
  const next = request.generation;
  let handle: LogFile;
  try {
    await writeDurably(at.folder, `wal.${next}`, request.log);
    await writeDurably(at.folder, `snap.${next}`, request.snapshot);
    handle = await at.folder.openLog(`wal.${next}`);
  } catch (error) {
    throw failed(new StorageFaultError(`could not checkpoint ${at.dir} into generation ${next} (${describeOsError(error)}): the store refuses writes until it is reopened`, { cause: error, details: { file: at.dir } }));
  }
  try { if (at.dirty) await at.handle.flush(); } catch { /* generation `next` already holds all of it */ }
  at.handle.close();
  Object.assign(at, { handle, generation: next, end: request.log.length, dirty: false });
  if (!request.erase) return removeGenerationsBefore(at.folder, next - 1);
  try {
    await eraseGenerationsBefore(at.folder, next);
  } catch (error) {
    throw new StorageFaultError(`could not remove the older generations of ${at.dir} (${describeOsError(error)}): forgotten memories may remain in them until the next checkpoint`, { cause: error, details: { dir: at.dir } });
  }
}

async function close(): Promise<void> {
  if (!log) return;
  const at = log;
  log = undefined;
  clearInterval(at.timer);
  try {
    if (!fault && at.dirty) await at.handle.flush();
  } finally {
    at.handle.close();
  }
}

/** Keeps the first fault, stops the timer and tells the page once. */
function failed(error: StorageFaultError): StorageFaultError {
  if (fault) return error;
  fault = error;
  if (log) clearInterval(log.timer);
  post({ fault: serializeError(error) });
  return error;
}

async function handle(request: StoreRequest): Promise<void> {
  if (request.op === 'append') return append(request.record);
  try {
    const value = request.op === 'open' ? await open(request)
      : request.op === 'checkpoint' ? await checkpoint(request)
      : request.op === 'flush' ? await flush()
      : await close();
    post(value ? { id: request.id, ok: true, value } : { id: request.id, ok: true });
  } catch (error) {
    post({ id: request.id, ok: false, error: serializeError(error instanceof OVMemoryError ? error : storageFault(error)) });
  }
}

function storageFault(error: unknown): StorageFaultError {
  return new StorageFaultError(`the store worker failed: ${describeOsError(error)}`, { cause: error });
}

// Requests are carried out one after another, in the order the page sent them.
let queue = Promise.resolve();
self.onmessage = (event: MessageEvent<StoreRequest>) => {
  queue = queue.then(() => handle(event.data));
};
post({ ready: true });

// Loading a store: from a durable directory (open), from a database shared with other processes
// (open of a PostgreSQL URL) or from export() bytes (import). Either way the data become effects
// and go through the one `apply`; the store options saved with the data apply under the ones given.
import { DEFAULTS } from './config/defaults.js';
import { checkAssetBase, type InternalOptions } from './config/options.js';
import { savedOptions, withSaved } from './config/saved.js';
import type { Log } from './observability/logger.js';
import type { Recovery } from './persistence/directory.js';
import { decodeEffects } from './persistence/effects.js';
import { bytesSource, encodeSnapshot, readSnapshotStream } from './persistence/format.js';
import { ErrorCode, InvalidDataError, OVMemoryError } from './resilience/errors.js';
import { checkBoolean, checkObject, checkOneOf, checkPositiveInteger, invalid } from './resilience/validation.js';
import { runtime } from './runtime/current.js';
import { restoreEffects } from './store/snapshot.js';
import type { Store } from './store/store.js';
import type { OVMemoryOptions } from './types.js';
import type { WritePath } from './write-path.js';

/** A new store made to be loaded into, with the parts loading needs. */
export interface Loading<M extends { close(): Promise<void> }> {
  memory: M;
  path: WritePath;
  log: Log;
  store: Store;
  setRecovery: (recovery: Recovery) => void;
}

/**
 * Opens the durable store in `dir` (Node), or the store named `dir` in the origin private file
 * system (a page), creating it when it is empty (`options.dim`, or the embedder's, is then
 * required): the newest snapshot, the log after it, and the store's lock. The runtime decides
 * which journal a store gets.
 */
export async function openDirectory<M extends { close(): Promise<void> }>(
  dir: string, options: Partial<OVMemoryOptions>, create: (options: OVMemoryOptions) => Promise<Loading<M>>,
): Promise<M> {
  if (typeof dir !== 'string' || dir.length === 0) throw invalid('dir', 'a directory path', dir);
  checkObject(options, 'options');
  const durability = options.durability === undefined ? DEFAULTS.durability : checkOneOf(options.durability, ['always', 'batch', 'none'], 'durability');
  if (options.repair !== undefined) checkBoolean(options.repair, 'repair');
  if (options.waitForLock !== undefined) checkBoolean(options.waitForLock, 'waitForLock');
  let loading: Loading<M> | undefined;
  const opened = await runtime.openStore(dir, {
    waitForLock: options.waitForLock === true, assetBase: options.assetBase === undefined ? undefined : checkAssetBase(options.assetBase),
    storage: (options as { internal?: InternalOptions }).internal?.storage,
    durability, repair: options.repair === true, groupCommitMs: DEFAULTS.groupCommitMs,
    // A group commit that fails in the background fails the store closed, as a failed append does.
    onFault: (error) => loading?.path.onJournalFault(error),
    initial: () => {
      const dim = checkPositiveInteger(options.dim ?? options.embedder?.dim, 'dim');
      return encodeSnapshot({ dim, nextId: 0, focus: undefined, records: [], edges: [], vectors: new Float32Array(0), options: savedOptions(options) });
    },
  });
  try {
    const stored = opened.snapshot?.dim ?? options.dim ?? options.embedder?.dim;
    if (options.dim !== undefined && options.dim !== stored) {
      throw new InvalidDataError(`${dir} holds vectors of ${stored} dimensions, options.dim is ${options.dim}`, { details: { dir, dim: stored } });
    }
    const { options: merged, overridden } = withSaved(opened.snapshot?.options, options);
    loading = await create({ ...merged, dim: stored! } as OVMemoryOptions);
    const { path, log } = loading;
    if (overridden.length > 0) log.warn('options given to open() differ from the ones saved with the store: the given ones apply', { dir, options: overridden });
    path.options = savedOptions(merged);
    const rows = loading.store.rows;
    if (rows.quantization !== 'none' && opened.directory.floatRows) {
      rows.keepFloatsIn(opened.directory.floatRows(stored!, (error) => log.warn('the disk refused float32 vectors: they stay in memory', { dir, message: error.message })));
    }
    if (opened.snapshot) path.replay(restoreEffects(opened.snapshot), dir);
    opened.effects.forEach((record, i) => {
      const where = `${dir}: log record ${i + 1}`;
      path.replay(decodeEffects(record, where), where);
    });
    path.journal = opened.directory;
    loading.setRecovery(opened.recovery);
    if (opened.recovery.tornBytes > 0 || opened.recovery.lost) log.warn('store recovered', { dir, ...opened.recovery });
    return loading.memory;
  } catch (error) {
    await opened.directory.close();
    await loading?.memory.close();
    throw error;
  }
}

/**
 * A store shared through PostgreSQL (Node, with `pg` installed): the database holds it, this process
 * keeps a full replica, loaded now (a batch at a time) and then following the other writers.
 */
export async function openShared<M extends { close(): Promise<void> }>(
  url: string, options: Partial<OVMemoryOptions>, create: (options: OVMemoryOptions) => Promise<Loading<M>>,
): Promise<M> {
  if (!runtime.loadPostgres) throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'a store on PostgreSQL needs Node');
  checkObject(options, 'options');
  const dim = options.dim === undefined ? undefined : checkPositiveInteger(options.dim, 'dim');
  const { PostgresJournal } = await runtime.loadPostgres();
  const journal = await PostgresJournal.open(url, { dim, options: savedOptions(options) });
  let loading: Loading<M> | undefined;
  try {
    if (dim !== undefined && dim !== journal.dim) throw new InvalidDataError(`${journal.dir} holds vectors of ${journal.dim} dimensions, options.dim is ${dim}`);
    const { options: merged } = withSaved(journal.savedOptions, options);
    loading = await create({ ...merged, dim: journal.dim } as OVMemoryOptions);
    const { path, store, log } = loading;
    path.options = savedOptions(merged);
    const records = store.records;
    await journal.load({
      apply: (effects, where) => path.applyShared(effects, where),
      ids: () => records.ids(), has: (id) => records.has(id), focuses: () => store.focuses,
      get nextId() { return records.nextId; },
    });
    path.journal = journal;
    journal.onBroken = (error) => log.error('the replica could not apply a change: writes are refused until it is reopened', { message: String((error as Error).message) });
    journal.follow();
    return loading.memory;
  } catch (error) {
    journal.close();
    await loading?.memory.close();
    throw error;
  }
}

/** A new in-memory store from export() bytes (any environment). Corrupt bytes: MEMORY_CORRUPTION. */
export async function importSnapshot<M extends { close(): Promise<void> }>(
  bytes: Uint8Array, options: Partial<OVMemoryOptions>, create: (options: OVMemoryOptions) => Promise<Loading<M>>,
): Promise<M> {
  if (!(bytes instanceof Uint8Array)) throw invalid('bytes', 'a Uint8Array from export()', bytes);
  const { stream: state } = readSnapshotStream(bytesSource(bytes), 'import()', false);
  if (options.dim !== undefined && options.dim !== state.dim) throw new InvalidDataError(`the bytes hold vectors of ${state.dim} dimensions, options.dim is ${options.dim}`);
  const { options: merged } = withSaved(state.options, options);
  const { memory, path } = await create({ ...merged, dim: state.dim } as OVMemoryOptions);
  path.options = savedOptions(merged);
  path.replay(restoreEffects(state), 'import()');
  return memory;
}

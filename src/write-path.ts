// The write path: plan → append to the journal → apply. A failed append changes nothing and the
// journal then fails closed: every later write is refused with its first error until the store is
// reopened (LevelDB's background error); reads go on. Checkpoints run after the call that passed
// the log size limit has returned, never on its path.
import { DEFAULTS } from './config/defaults.js';
import type { Log } from './observability/logger.js';
import type { Journal } from './persistence/journal.js';
import { encodeEffects, type Effect } from './persistence/effects.js';
import { ErrorCode, MemoryCorruptionError, OVMemoryError, StorageFaultError, UnavailableError } from './resilience/errors.js';
import { ChangeSet } from './store/changes.js';
import { snapshotStream } from './store/snapshot.js';
import type { Store } from './store/store.js';
import { asLibraryError } from './operations.js';

/** How often a call is planned again because other writers kept committing first. */
const MAX_PLANS = 100;

export class WritePath {
  /** The durable store's journal, when opened with OVMemory.open(). */
  journal: Journal | undefined;
  /** The store options saved in each snapshot (config/saved.ts). */
  options: Record<string, unknown> = {};
  /** Why writes are refused (the journal failed, or memory and journal disagree) until the store is reopened. */
  #fault: OVMemoryError | undefined;
  #checkpointTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** A forget since the last checkpoint: the next one drops the previous generation too. */
  #erased = false;

  constructor(private readonly store: Store, private readonly log: Log, private readonly afterApply: (changes: ChangeSet) => void) {}

  get fault(): OVMemoryError | undefined {
    return this.#fault;
  }

  /** Runs one write: `plan` fills a change set of its own; nothing changes when it throws. */
  write<T>(plan: (changes: ChangeSet) => T): T {
    this.refuseIfFaulted();
    for (let plans = 1; ; plans++) {
      const changes = new ChangeSet(this.store);
      let result: T;
      try {
        result = plan(changes);
      } catch (error) {
        if (plans === 1 && this.#caughtUpAfter(error)) continue;
        throw error;
      }
      if (this.commit(changes) !== 'behind') return result;
      if (plans === MAX_PLANS) throw new UnavailableError(`other writers committed first ${MAX_PLANS} times in a row: the write was not made`);
    }
  }

  /**
   * A shared store's replica may not have seen yet the memory a call names (another process added
   * it a moment ago): on NOT_FOUND it catches up once, and the call is planned again if anything came.
   * With the database away the call keeps its NOT_FOUND: it is what this replica holds.
   */
  #caughtUpAfter(error: unknown): boolean {
    if (!this.journal?.catchUp || !(error instanceof OVMemoryError) || error.code !== ErrorCode.NOT_FOUND) return false;
    try {
      return this.journal.catchUp();
    } catch {
      return false;
    }
  }

  /** 'behind': a shared journal took nothing, because other writers came first (their changes are applied now). */
  commit(changes: ChangeSet): void | 'behind' {
    const effects = changes.effects();
    if (effects.length === 0) return;
    if (this.journal) {
      try {
        if (this.journal.append(encodeEffects(effects)) === 'behind') return 'behind';
      } catch (error) {
        // An unreachable database refuses this write only: the next one may find it back.
        if (error instanceof OVMemoryError && error.code === ErrorCode.UNAVAILABLE) throw error;
        throw this.#journalFailed(error);
      }
    }
    try {
      for (const effect of effects) this.store.apply(effect);
    } catch (error) {
      // The journal holds what memory could not take: refuse writes until a reopen replays the truth.
      this.#fault ??= asLibraryError('apply', error);
      throw this.#fault;
    }
    if (changes.erases) this.#erased = true;
    this.afterApply(changes);
    this.#scheduleCheckpoint();
  }

  refuseIfFaulted(): void {
    const fault = this.#fault;
    if (!fault) return;
    const message = `writes are refused until the store is reopened: ${fault.message}`;
    throw fault.code === ErrorCode.STORAGE_FAULT
      ? new StorageFaultError(message, { cause: fault, details: fault.details })
      : new OVMemoryError(fault.code, message, { cause: fault, details: fault.details });
  }

  /** The journal's group commit failed in the background: the same as a failed append. */
  onJournalFault(error: unknown): void {
    this.#journalFailed(error);
    this.log.error('the journal failed: writes are refused until the store is reopened', { message: this.#fault?.message });
  }

  /** Whether a write would be tried now (a context's accesses are skipped otherwise). */
  get writable(): boolean {
    return !this.#fault && this.journal?.status?.().connected !== false;
  }

  /**
   * Applies another writer's changes to this replica of a shared store. One that does not fit means
   * the replica and the database disagree: writes are refused until a reopen reloads it.
   */
  applyShared(effects: Effect[], where: string): void {
    try {
      this.replay(effects, where);
    } catch (error) {
      this.#fault ??= asLibraryError('apply', error);
      throw this.#fault;
    }
    // Another writer's changes: none of this replica's own evictions to count.
    this.afterApply(new ChangeSet(this.store));
  }

  /** Applies restored or replayed effects; one that does not fit the store is damage, not a bug. */
  replay(effects: Iterable<Effect>, where: string): void {
    try {
      for (const effect of effects) this.store.apply(effect);
    } catch (error) {
      if (error instanceof MemoryCorruptionError) throw error;
      throw new MemoryCorruptionError(`${where}: ${(error as Error).message}`, { cause: error, details: { where } });
    }
  }

  async checkpoint(): Promise<void> {
    this.refuseIfFaulted();
    // Taken before the wait: a forget while a page's checkpoint is being written needs the next one to erase.
    const erase = this.#erased;
    this.#erased = false;
    if (!this.journal!.checkpoint) {
      this.journal!.compact?.(erase);
      return;
    }
    try {
      await this.journal!.checkpoint({ ...snapshotStream(this.store), options: this.options }, { erase });
    } catch (error) {
      this.#erased ||= erase;
      throw error instanceof OVMemoryError && error.code !== ErrorCode.STORAGE_FAULT ? error : this.#journalFailed(error);
    }
  }

  async flush(): Promise<void> {
    try {
      await this.journal?.flush();
    } catch (error) {
      throw this.#journalFailed(error);
    }
  }

  /** Stops the pending checkpoint and closes the journal (which releases its lock even when faulted). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#checkpointTimer);
    try {
      await this.journal?.close();
    } catch (error) {
      this.log.error('the journal did not close cleanly', { error: String(error) });
    }
  }

  #journalFailed(error: unknown): StorageFaultError {
    const fault = error instanceof StorageFaultError
      ? error
      : new StorageFaultError(`the journal could not write: ${String((error as Error)?.message ?? error)}`, { cause: error, details: { dir: this.journal?.dir } });
    this.#fault ??= fault;
    return fault;
  }

  /** Past the log size limit a checkpoint runs soon after the call, never on its path. */
  #scheduleCheckpoint(): void {
    if (!this.journal || this.#checkpointTimer || this.journal.logBytes <= DEFAULTS.autoCheckpointBytes) return;
    this.#checkpointTimer = setTimeout(() => {
      this.#checkpointTimer = undefined;
      // A checkpoint made since (checkpoint() called in between) has already started a short log.
      if (this.#closed || this.#fault || this.journal!.logBytes <= DEFAULTS.autoCheckpointBytes) return;
      this.checkpoint().catch((error: unknown) => {
        this.log.error('automatic checkpoint failed', { code: (error as OVMemoryError).code, message: String((error as Error).message) });
      });
    }, 0);
  }
}

// The write path: plan → append to the journal → apply. A failed append changes nothing and the
// journal then fails closed: every later write is refused with its first error until the store is
// reopened (LevelDB's background error); reads go on. Checkpoints run after the call that passed
// the log size limit has returned, never on its path.
import { DEFAULTS } from './config/defaults.js';
import type { Log } from './observability/logger.js';
import type { StoreDirectory } from './persistence/directory.js';
import { encodeEffects, type Effect } from './persistence/effects.js';
import { encodeSnapshot } from './persistence/format.js';
import { ErrorCode, MemoryCorruptionError, OVMemoryError, StorageFaultError } from './resilience/errors.js';
import { ChangeSet } from './store/changes.js';
import { snapshotState } from './store/snapshot.js';
import type { Store } from './store/store.js';
import { asLibraryError } from './operations.js';

export class WritePath {
  /** The durable store's journal, when opened with OVMemory.open(). */
  journal: StoreDirectory | undefined;
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
    const changes = new ChangeSet(this.store);
    const result = plan(changes);
    this.commit(changes);
    return result;
  }

  commit(changes: ChangeSet): void {
    const effects = changes.effects();
    if (effects.length === 0) return;
    if (this.journal) {
      try {
        this.journal.append(encodeEffects(effects));
      } catch (error) {
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

  /** Applies restored or replayed effects; one that does not fit the store is damage, not a bug. */
  replay(effects: Effect[], where: string): void {
    try {
      for (const effect of effects) this.store.apply(effect);
    } catch (error) {
      if (error instanceof MemoryCorruptionError) throw error;
      throw new MemoryCorruptionError(`${where}: ${(error as Error).message}`, { cause: error, details: { where } });
    }
  }

  checkpoint(): void {
    this.refuseIfFaulted();
    try {
      this.journal!.checkpoint(encodeSnapshot({ ...snapshotState(this.store), options: this.options }), { erase: this.#erased });
      this.#erased = false;
    } catch (error) {
      throw error instanceof OVMemoryError && error.code !== ErrorCode.STORAGE_FAULT ? error : this.#journalFailed(error);
    }
  }

  flush(): void {
    try {
      this.journal?.flush();
    } catch (error) {
      throw this.#journalFailed(error);
    }
  }

  /** Stops the pending checkpoint and closes the journal (which releases its lock even when faulted). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#checkpointTimer);
    try {
      this.journal?.close();
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
      if (this.#closed || this.#fault) return;
      try {
        this.checkpoint();
      } catch (error) {
        this.log.error('automatic checkpoint failed', { code: (error as OVMemoryError).code, message: String((error as Error).message) });
      }
    }, 0);
  }
}

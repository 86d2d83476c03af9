// A shared store's journal on PostgreSQL, on the host thread. Every write is one transaction,
// acknowledged after commit: `append` asks the worker to append the call's effects as the change
// after the head this replica has applied; when another writer came first, it applies their changes
// and says so, and the write path plans the call again (so ids stay unique and increasing across
// writers, and a call sees the state it is committed on). The replica follows the change table:
// woken by LISTEN/NOTIFY and a slow poll, it catches up by sequence, so a missed notification loses
// nothing; a replica that fell behind the trimmed part of the table reloads what changed from the
// tables. Everything is applied through the store's one apply.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import { decodeEffects, type AddedMemory, type Effect } from '../persistence/effects.js';
import type { StoredEdge } from '../persistence/format.js';
import type { ReplicationStatus } from '../observability/metrics.js';
import { ErrorCode, MemoryCorruptionError, OVMemoryError, UnavailableError } from '../resilience/errors.js';
import type { ChangeRow, EdgeRow, EncodedEffects, MemoryRow, Reply, StoreHead, WorkerEvent } from './protocol.js';
import { POSTGRES_DEFAULTS, parseStoreUrl } from './settings.js';
import { SyncWorker } from './sync-call.js';

declare const __PG_WORKER_FILE__: string;

/** What the journal needs of the replica it keeps: applying effects, and which ids are live. */
export interface Replica {
  apply(effects: Effect[], where: string): void;
  ids(): Iterable<number>;
  has(id: number): boolean;
  /** Each scope's focus, as [scope key, id]. */
  focuses(): [string, number][];
  readonly nextId: number;
}

type Ok<K extends string> = Extract<Reply, { ok: true; op: K }>;

export class PostgresJournal {
  readonly dir: string;
  /** The changes live in the database, not in a local log: the write path never checkpoints by size. */
  readonly logBytes = 0;
  readonly #worker: SyncWorker;
  readonly #head: StoreHead;
  #replica: Replica | undefined;
  #applied = 0;
  #known = 0;
  #connected = true;
  #unreachableSince: number | undefined;
  /** When the database last answered: a loss the worker reported before it is old news. */
  #answeredAt = 0;
  #lastError: string | undefined;
  #reloads = 0;
  readonly #lags: number[] = [];
  #poll: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  private constructor(where: string, worker: SyncWorker, head: StoreHead) {
    this.dir = where;
    this.#worker = worker;
    this.#head = head;
  }

  /** Connects, creates or migrates the schema, and reads the store's dimension and saved options. */
  static async open(url: string, init: { dim: number | undefined; options: Record<string, unknown> }): Promise<PostgresJournal> {
    const { settings, where } = parseStoreUrl(url);
    requirePg();
    let journal: PostgresJournal | undefined;
    const worker = new SyncWorker(new URL(__PG_WORKER_FILE__, import.meta.url), settings, (event) => journal?.onEvent(event), POSTGRES_DEFAULTS.answerMs);
    try {
      const reply = worker.call<Ok<'open'>>({ op: 'open', dim: init.dim, options: init.options });
      journal = new PostgresJournal(where, worker, reply.head);
      return journal;
    } catch (error) {
      worker.close();
      throw error;
    }
  }

  get dim(): number { return this.#head.dim; }
  get savedOptions(): Record<string, unknown> { return this.#head.options; }

  /** Loads the whole store into an empty replica, a batch at a time (a large store is never held twice). */
  async load(replica: Replica): Promise<void> {
    this.#replica = replica;
    for (const _batch of this.#reload(undefined)) await yieldToEventLoop();
  }

  /** From now on, follow the change table. */
  follow(): void {
    this.#poll = setInterval(() => this.#quietly(() => this.catchUp()), POSTGRES_DEFAULTS.pollMs);
    this.#poll.unref();
    this.#quietly(() => this.catchUp());
  }

  /**
   * Appends one call's effects. 'behind': another writer committed first, and their changes are
   * applied now; plan the call again. Throws UNAVAILABLE while the database cannot be reached.
   */
  append(record: EncodedEffects): void | 'behind' {
    const reply = this.#call<Ok<'commit'> | Ok<'behind'>>({ op: 'commit', expected: this.#applied, token: randomUUID(), record });
    if (reply.op === 'behind') {
      this.#known = Math.max(this.#known, reply.headSeq);
      this.catchUp();
      return 'behind';
    }
    // The caller applies its own effects as soon as this returns: the change is applied here.
    this.#applied = reply.seq;
    this.#known = Math.max(this.#known, reply.seq);
  }

  /** Applies every change committed after the last one applied here; true when there was any. */
  catchUp(): boolean {
    if (!this.#replica || this.#closed) return false;
    const from = this.#applied;
    for (;;) {
      const reply = this.#call<Ok<'pull'>>({ op: 'pull', after: this.#applied, rows: POSTGRES_DEFAULTS.pullRows });
      this.#known = Math.max(this.#known, reply.headSeq);
      if (this.#applied < reply.trimmedThrough || (reply.changes.length > 0 && reply.changes[0]!.seq !== this.#applied + 1)) {
        // The changes this replica misses were trimmed: what changed is read from the tables instead.
        for (const _batch of this.#reload(this.#applied)) { /* at once: nothing may write in between */ }
        continue;
      }
      for (const change of reply.changes) this.#applyChange(change);
      if (reply.changes.length < POSTGRES_DEFAULTS.pullRows) return this.#applied > from;
    }
  }

  /**
   * A checkpoint of a shared store trims the change table to its newest changes, or empties it
   * after this replica forgot memories, so no change holding them stays in the database.
   */
  compact(erase: boolean): void {
    this.#call({ op: 'trim', keep: erase ? 0 : POSTGRES_DEFAULTS.retainChanges });
  }

  /** The durable copy is the database's: nothing to sync here. */
  flush(): void {}

  /** How far this replica is, for metrics and health. */
  status(): ReplicationStatus {
    const sorted = [...this.#lags].sort((a, b) => a - b);
    const at = (p: number) => (sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!);
    return {
      connected: this.#connected, stale: !this.#connected, unreachableSince: this.#unreachableSince,
      lastSequence: this.#applied, headSequence: Math.max(this.#known, this.#applied),
      lagMs: { last: this.#lags.at(-1) ?? 0, p50: at(0.5), p99: at(0.99) }, reloads: this.#reloads, lastError: this.#lastError,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#poll);
    this.#worker.close();
  }

  onEvent(event: WorkerEvent): void {
    if (event.event === 'disconnected') {
      if (event.at >= this.#answeredAt) this.#lost(event.message);
      return;
    }
    if (event.event === 'wake' && event.seq !== undefined) {
      this.#known = Math.max(this.#known, event.seq);
      if (event.seq <= this.#applied) return;
    }
    if (this.#poll !== undefined) this.#quietly(() => this.catchUp());
  }

  #applyChange(change: ChangeRow): void {
    if (change.seq <= this.#applied) return;
    const where = `change ${change.seq} of ${this.dir}`;
    let record: unknown;
    try {
      record = JSON.parse(new TextDecoder().decode(change.effects));
    } catch (error) {
      throw new MemoryCorruptionError(`${where}: its effects are not JSON`, { cause: error });
    }
    this.#replica!.apply(decodeEffects(record, where), where);
    this.#applied = change.seq;
    this.#lags.push(Math.max(0, Date.now() - change.committedAt));
    if (this.#lags.length > POSTGRES_DEFAULTS.lagSamples) this.#lags.shift();
  }

  /**
   * Brings the replica to the tables' state: all of it on open (`since` undefined), else what
   * changed after `since`, with removals found by the ids the tables no longer hold. A consistent
   * read (one repeatable-read transaction), a batch of memories at a time: it yields after each
   * batch, so that opening can let the event loop run while catching up need not.
   */
  *#reload(since: number | undefined): Generator<void> {
    const replica = this.#replica!;
    const where = `the tables of ${this.dir}`;
    const start = this.#call<Ok<'loadStart'>>({ op: 'loadStart', since });
    try {
      const live = new Set(start.ids);
      const removals: Effect[] = [];
      if (since !== undefined) for (const id of replica.ids()) if (!live.has(id)) removals.push({ op: 'remove', id });
      if (removals.length > 0) replica.apply(removals, where);
      const changed = new Map<number, StoredEdge[]>();
      for (;;) {
        const batch = this.#call<Ok<'loadNext'>>({ op: 'loadNext', cursor: 'memories', rows: POSTGRES_DEFAULTS.loadRows });
        const rows = batch.memories ?? [];
        if (rows.length === 0) break;
        replica.apply(this.#memoryEffects(rows, batch.vectors!, changed, since !== undefined), where);
        yield;
      }
      for (;;) {
        const batch = this.#call<Ok<'loadNext'>>({ op: 'loadNext', cursor: 'edges', rows: POSTGRES_DEFAULTS.loadRows * 4 });
        const rows = batch.edges ?? [];
        if (rows.length === 0) break;
        groupEdges(rows, changed);
      }
      // A node whose edges changed and that has none left gets an empty list.
      const sets = [...changed].filter(([id, edges]) => edges.length > 0 || replica.has(id));
      const head = start.head;
      const tail: Effect[] = [];
      if (sets.length > 0) tail.push({ op: 'edges', sets });
      const kept = new Set(head.focuses.map(([scope]) => scope));
      for (const [scope] of replica.focuses()) if (!kept.has(scope)) tail.push({ op: 'focus', id: undefined, scope });
      for (const [scope, id] of head.focuses) tail.push({ op: 'focus', id, scope });
      tail.push({ op: 'advance', nextId: head.nextId });
      replica.apply(tail, where);
      this.#applied = head.seq;
      this.#known = Math.max(this.#known, head.seq);
      if (since !== undefined) this.#reloads++;
    } finally {
      try { this.#call({ op: 'loadEnd' }); } catch { /* the transaction ends with its connection */ }
    }
  }

  /** A batch of rows as effects: adds for new ids (ascending), updates for memories the replica holds. */
  #memoryEffects(rows: MemoryRow[], vectors: Float32Array, changed: Map<number, StoredEdge[]>, catchingUp: boolean): Effect[] {
    const dim = this.dim;
    const replica = this.#replica!;
    const adds: AddedMemory[] = [];
    const effects: Effect[] = [];
    rows.forEach((row, i) => {
      const unit = vectors.subarray(i * dim, (i + 1) * dim);
      if (catchingUp) changed.set(row.id, []);
      if (replica.has(row.id)) {
        const { weight, metadata, text, norm, validFrom, validTo } = row.record as Extract<Effect, { op: 'update' }>;
        effects.push({
          op: 'update', id: row.id, weight, metadata, text, unit, norm,
          ...(validFrom === undefined ? {} : { validFrom }), ...(validTo === undefined ? {} : { validTo }),
        });
      } else if (row.id >= replica.nextId) {
        adds.push({ ...(row.record as Omit<AddedMemory, 'unit'>), id: row.id, unit });
      } else {
        throw new MemoryCorruptionError(`the tables of ${this.dir} hold memory ${row.id}, which this replica removed: a removed memory never comes back`);
      }
    });
    return adds.length > 0 ? [...effects, { op: 'add', items: adds }] : effects;
  }

  #call<R extends Reply & { ok: true }>(request: Parameters<SyncWorker['call']>[0]): R {
    try {
      const reply = this.#worker.call<R>(request);
      this.#answeredAt = Date.now();
      if (!this.#connected) {
        this.#connected = true;
        this.#unreachableSince = undefined;
      }
      return reply;
    } catch (error) {
      if (error instanceof OVMemoryError && error.code === ErrorCode.UNAVAILABLE) this.#lost(error.message);
      throw error;
    }
  }

  #lost(message: string): void {
    this.#lastError = message;
    if (!this.#connected) return;
    this.#connected = false;
    this.#unreachableSince = Date.now();
  }

  /** Following runs off any caller's path: its failures show in status(), not as exceptions. */
  #quietly(step: () => unknown): void {
    if (this.#closed) return;
    try {
      step();
    } catch (error) {
      this.#lastError = String((error as Error).message ?? error);
      if (!(error instanceof UnavailableError)) this.onBroken?.(error);
    }
  }

  /** Called when following failed for a reason other than the database being away (a change that does not fit). */
  onBroken: ((error: unknown) => void) | undefined;
}

/** pg is an optional peer dependency: without it, say what to install (the worker would only fail to start). */
function requirePg(): void {
  try {
    createRequire(import.meta.url).resolve('pg');
  } catch (error) {
    throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'a store on PostgreSQL needs the `pg` package: npm install pg', { cause: error });
  }
}

function groupEdges(rows: EdgeRow[], into: Map<number, StoredEdge[]>): void {
  for (const e of rows) {
    let list = into.get(e.source);
    if (!list) into.set(e.source, (list = []));
    list.push({ to: e.target, relevance: e.relevance, type: e.type, createdAt: e.createdAt });
  }
}

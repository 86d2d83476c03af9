// OVMemory: the facade, and the composition root — the one file that knows all the parts. Each
// public method parses its arguments and delegates inside one wrapper (operations.ts). A write
// plans its effects into a change set of its own, appends them to the journal, and only then
// applies them: a failed append changes nothing, and then every later write is refused.
import { DEFAULTS } from './config/defaults.js';
import { savedOptions } from './config/saved.js';
import { parseContextOptions, parseRememberOptions, parseSearchOptions } from './config/call-options.js';
import { ErrorLog, type ErrorRecord } from './observability/error-log.js';
import { evaluateHealth, type HealthReport } from './observability/health.js';
import type { MetricsSnapshot, ReplicationStatus } from './observability/metrics.js';
import { encodeSnapshotStream } from './persistence/format.js';
import type { Recovery } from './persistence/directory.js';
import { ErrorCode, OVMemoryError } from './resilience/errors.js';
import { checkKey, checkObject, checkPositiveInteger, checkText, invalid } from './resilience/validation.js';
import { buildContext } from './retrieval/context.js';
import { TextEmbedding } from './retrieval/embed.js';
import { TextQueries } from './retrieval/text-query.js';
import { type RetrievalSource, searchBatched, searchUnits } from './retrieval/search.js';
import { platform } from './platform/current.js';
import { isPostgresUrl } from './postgres/settings.js';
import type { ChangeSet } from './store/changes.js';
import { snapshotStream } from './store/snapshot.js';
import { Store } from './store/store.js';
import { checkId, writeOptions, Writes } from './store/writes.js';
import { forgetIds } from './store/forget.js';
import { checkScope, scopeOption } from './store/scopes.js';
import { Operations, timed, type WorkMeter } from './operations.js';
import { assembleParts, type Parts } from './parts.js';
import { WritePath } from './write-path.js';
import { importSnapshot, type Loading, openDirectory, openShared } from './opening.js';
import { recordOf, sourceOf } from './store/views.js';
import type {
  AddOptions, ContextOptions, ContextResult, ForgetSelector, IngestResult, MemoryInput, MemoryPatch, MemoryRecord, OVMemoryOptions, RememberOptions, SearchHit, SearchOptions,
  Scope, TextInput, Vector,
} from './types.js';

export class OVMemory {
  readonly dim: number;
  readonly #p: Parts;
  readonly #store: Store;
  readonly #writes: Writes;
  readonly #source: RetrievalSource;
  readonly #ops: Operations;
  readonly #embedding: TextEmbedding | undefined;
  readonly #text: TextQueries;
  readonly #errors = new ErrorLog(DEFAULTS.errorLogCapacity);
  readonly #path: WritePath;
  #closing: Promise<void> | undefined;
  /** What opening the store had to recover (a torn log tail, or what `repair` gave up). */
  recovery: Recovery | undefined;

  private constructor(p: Parts) {
    this.#p = p;
    this.dim = p.o.dim;
    this.#store = new Store(p.engine, { recency: p.o.recency, indexed: p.o.indexed });
    this.#writes = new Writes(this.#store, {
      dim: p.o.dim, maxNodes: p.o.maxNodes, maxBytes: p.o.maxBytes, maxTextLength: p.o.maxTextLength,
      maxMetadataBytes: p.o.maxMetadataBytes, halfLifeMs: p.o.halfLifeMs, ttlMs: p.o.ttlMs, onFull: p.o.onFull, clock: p.o.clock,
      warn: (key, message, fields) => this.#p.log.warnOnce(key, message, fields),
    });
    this.#source = sourceOf(this.#store, p.o.halfLifeMs);
    this.#path = new WritePath(this.#store, p.log, (changes) => {
      p.engine.warmUp();
      if (changes.evicted > 0) {
        p.metrics.countEvicted(changes.evicted);
        p.prometheus?.evicted(changes.evicted);
      }
    });
    this.#embedding = p.o.embedder && new TextEmbedding(p.o.embedder, p.o.dim);
    this.#text = new TextQueries(this.#source, this.#store.lexical, this.#embedding, p.o.maxTextLength);
    this.#ops = new Operations({
      metrics: p.metrics, prometheus: p.prometheus, errors: this.#errors, log: p.log, clock: p.o.clock, isClosed: () => this.#closing !== undefined,
    });
  }

  /** A new, empty in-memory store. `options.dim` is required. */
  static async create(options: OVMemoryOptions): Promise<OVMemory> {
    let store: Store | undefined;
    let path: WritePath | undefined;
    const parts = await assembleParts(options, () => store, () => path?.journal?.status?.());
    const memory = new OVMemory(parts);
    store = memory.#store;
    path = memory.#path;
    parts.prometheus?.watchWrites(() => ({ refused: memory.#path.fault !== undefined, journal: memory.#path.journal }));
    memory.#path.options = savedOptions(options);
    const { o, log } = parts;
    log.debug('store created', { dim: o.dim, executor: memory.executor, threads: o.threads, maxNodes: o.maxNodes, maxBytes: o.maxBytes });
    return memory;
  }

  /**
   * Opens the durable store in `dir` (Node), or the store named `dir` in the origin private file
   * system (a page), creating it when it is empty (`options.dim` is then required). It loads the
   * newest snapshot, replays the log after it, and locks the store. A `postgres://` or
   * `postgresql://` URL opens a store shared through PostgreSQL instead (Node).
   */
  static async open(dir: string, options: Partial<OVMemoryOptions> = {}): Promise<OVMemory> {
    if (typeof dir === 'string' && isPostgresUrl(dir)) return openShared(dir, options, OVMemory.#loading);
    return openDirectory(dir, options, OVMemory.#loading);
  }

  /** A new in-memory store from export() bytes (any environment). Corrupt bytes: MEMORY_CORRUPTION. */
  static async import(bytes: Uint8Array, options: Partial<OVMemoryOptions> = {}): Promise<OVMemory> {
    return importSnapshot(bytes, options, OVMemory.#loading);
  }

  /** What opening.ts needs of a store it loads: a new one, and its write path and log. */
  static readonly #loading = async (options: OVMemoryOptions): Promise<Loading<OVMemory>> => {
    const memory = await OVMemory.create(options);
    return { memory, path: memory.#path, log: memory.#p.log, store: memory.#store, setRecovery: (r) => { memory.recovery = r; } };
  };

  /** Where scans of a large store run: 'inline' (the calling thread), 'worker-threads' (Node) or 'web-workers' (a page). */
  get executor(): 'inline' | 'worker-threads' | 'web-workers' {
    if (this.#p.o.threads === 0) return 'inline';
    return platform.name === 'node' ? 'worker-threads' : 'web-workers';
  }

  /** Live memories (past their TTL: not counted). */
  get size(): number {
    this.#ops.assertOpen('size');
    return this.#store.records.live - this.#store.expired(this.#p.o.clock()).length;
  }


  /** Stores one memory and returns its id. */
  add(input: MemoryInput, options?: AddOptions): number {
    return this.#write('add', (changes) => this.#writes.addAll(changes, [input], 'input', writeOptions(options))[0]!.id);
  }

  /** Stores several memories, all or nothing, and returns their ids in order. */
  addMany(inputs: readonly MemoryInput[], options?: AddOptions): number[] {
    return this.#write('addMany', (changes, meter) => {
      if (!Array.isArray(inputs)) throw invalid('inputs', 'an array of memories', inputs);
      meter.items = inputs.length;
      return this.#writes.addAll(changes, inputs, 'inputs', writeOptions(options)).map((r) => r.id);
    });
  }

  /** With an embedder: stores one memory whose `embedding` may be left out (the embedder makes it). */
  remember(input: TextInput, options?: RememberOptions): Promise<number> {
    return this.#ops.runAsync('remember', async (meter) => (await this.#remember([input], options, 'input', meter))[0]!.id);
  }

  /** `remember` for many memories: one batched embedder call, then all or nothing, as `addMany`. */
  rememberMany(inputs: readonly TextInput[], options?: RememberOptions): Promise<number[]> {
    return this.#ops.runAsync('rememberMany', async (meter) => {
      if (!Array.isArray(inputs)) throw invalid('inputs', 'an array of memories', inputs);
      meter.items = inputs.length;
      return (await this.#remember(inputs, options, 'inputs', meter)).map((r) => r.id);
    });
  }

  /**
   * `rememberMany` that says what became of each input: stored, or absorbed by an existing memory
   * of its scope (`deduplicated`, with `options.dedupe`).
   */
  ingest(inputs: readonly TextInput[], options?: RememberOptions): Promise<IngestResult[]> {
    return this.#ops.runAsync('ingest', async (meter) => {
      if (!Array.isArray(inputs)) throw invalid('inputs', 'an array of memories', inputs);
      meter.items = inputs.length;
      return this.#remember(inputs, options, 'inputs', meter);
    });
  }

  /**
   * Stores `input` as what is true now in place of `oldId`: in the old one's scope, valid from
   * `input.validFrom` (default now), linked to it by an edge of type 'supersedes'; the old one's
   * validity ends there. One logged change. Returns the new id.
   */
  supersede(oldId: number, input: MemoryInput, options?: AddOptions): number {
    return this.#write('supersede', (changes) => {
      const old = this.#writes.require(oldId, 'oldId');
      return this.#writes.supersede(changes, old, this.#writes.prepare(input, 'input', new Set()), writeOptions(options).link);
    });
  }

  /**
   * Removes every memory the selector matches (all of its parts: a scope, ids, keys — in that
   * scope — and a filter), with every edge to them, and returns how many. The next `checkpoint()`
   * leaves no byte of them in a durable store's directory: the way to honour an erasure request.
   */
  forget(selector: ForgetSelector): Promise<number> {
    return this.#ops.runAsync('forget', async (meter) => {
      return this.#path.write((changes) => {
        // Inside the plan: a shared store plans again after other writers' changes.
        const ids = forgetIds(this.#store, selector);
        meter.items = ids.length;
        for (const id of ids) changes.remove(id, { erased: true });
        return ids.length;
      });
    });
  }

  /** Every scope of the store with its count of memories. */
  scopes(): { scope: Scope; count: number }[] {
    return this.#ops.run('scopes', () => this.#store.scopes.list());
  }

  /**
   * Stores a memory under its key (`input.key` is required). A memory that held the key before is
   * replaced: the new one gets a new id and keeps the old one's edges (both ways) and access history.
   */
  upsert(input: MemoryInput, options?: AddOptions): number {
    return this.#write('upsert', (changes) => {
      const o = checkObject(input, 'input');
      const previous = this.#store.records.idOfKey(checkKey(o.key, 'input.key'), checkScope(o.scope, 'input.scope'));
      const prepared = this.#writes.prepare(input, 'input', new Set(), previous);
      return this.#writes.add(changes, [prepared], writeOptions(options).link, previous === undefined ? undefined : this.#store.get(previous))[0]!;
    });
  }

  /** Changes a memory's weight, metadata (replaced whole), text, embedding or validity; its id, scope, edges and history stay. */
  update(id: number, patch: MemoryPatch): void {
    this.#write('update', (changes) => this.#writes.update(changes, id, patch));
  }

  /** Removes a memory; false when the id is unknown or already removed. Its id is never reused. */
  remove(id: number): boolean {
    return this.#write('remove', (changes) => this.#writes.remove(changes, checkId(id)));
  }

  /** Removes the memory stored under an external key (in `options.scope`); false when there is none. */
  removeByKey(key: string, options?: { scope?: Scope }): boolean {
    return this.#write('removeByKey', (changes) => {
      const id = this.#store.records.idOfKey(checkKey(key), scopeOption(options));
      return id !== undefined && this.#writes.remove(changes, id);
    });
  }

  /**
   * Sets the edge from → to (default type 'related'): a new edge, or an existing one given this
   * relevance and type. A node keeps at most 6 outgoing edges: on a full node a stronger edge
   * replaces the weakest, a weaker one is refused (false).
   */
  link(from: number, to: number, relevance: number, type = 'related'): boolean {
    return this.#write('link', (changes) => this.#writes.link(changes, from, to, relevance, type));
  }

  /** Removes the edge from → to; false when there was none. */
  unlink(from: number, to: number): boolean {
    return this.#write('unlink', (changes) => this.#writes.unlink(changes, from, to));
  }


  /** A copy of a memory, or undefined for an unknown, removed or expired id. */
  get(id: number, options?: { embedding?: boolean }): MemoryRecord | undefined {
    return this.#ops.run('get', () => {
      checkId(id);
      if (options !== undefined) checkObject(options, 'options');
      const record = this.#store.visible(id, this.#p.o.clock());
      return record && recordOf(this.#store, record, options?.embedding === true);
    });
  }

  /** A copy of the memory stored under an external key (in `options.scope`), or undefined. */
  getByKey(key: string, options?: { scope?: Scope }): MemoryRecord | undefined {
    return this.#ops.run('getByKey', () => {
      const id = this.#store.records.idOfKey(checkKey(key), scopeOption(options));
      const record = id === undefined ? undefined : this.#store.visible(id, this.#p.o.clock());
      return record && recordOf(this.#store, record, false);
    });
  }

  has(id: number): boolean {
    return this.#ops.run('has', () => this.#store.visible(checkId(id), this.#p.o.clock()) !== undefined);
  }

  /** Live ids, ascending (of `options.scope` only, when given; past their TTL: not listed). */
  ids(options?: { scope?: Scope }): IterableIterator<number> {
    return this.#ops.run('ids', () => {
      const mask = this.#store.allowed({ scope: scopeOption(options), at: this.#p.o.clock(), includeExpired: true });
      return mask ? [...this.#store.records.ids()].filter((id) => mask.has(id)).values() : this.#store.records.ids();
    });
  }

  /** The current hubs: the 5 memories of highest centrality (ties: lower id). */
  hubs(): number[] {
    return this.#ops.run('hubs', () => [...this.#source.hubs()]);
  }

  /**
   * The best memories for a query. A vector ranks by priority (default) or plain cosine similarity;
   * a string runs the hybrid search (vectors and the lexical index, fused; see `mode`).
   */
  search(query: Vector | string, options?: SearchOptions): Promise<SearchHit[]> {
    return this.#ops.runAsync('search', async (meter) => {
      const s = { ...this.#searchSettings(options), meter };
      if (typeof query === 'string') return this.#text.search(query, s);
      return (await searchUnits(this.#source, [this.#writes.vector(query, 'query').unit], s))[0]!;
    });
  }

  /** `search` for many queries at once: each stored row is read once for a block of queries. */
  searchMany(queries: readonly (Vector | string)[] | Float32Array, options?: SearchOptions): Promise<SearchHit[][]> {
    return this.#ops.runAsync('searchMany', async (meter) => {
      const s = { ...this.#searchSettings(options), meter };
      meter.items = queries instanceof Float32Array ? queries.length / this.dim : (queries as unknown[]).length;
      if (Array.isArray(queries) && queries.some((q) => typeof q === 'string')) {
        return this.#text.searchEach(queries, s, (q, name) => this.#writes.vector(q, name).unit);
      }
      return searchBatched(this.#source, this.#writes.vectors(queries), s);
    });
  }

  /**
   * Assembles the memories relevant to a query into one text under a token budget: seeds from a
   * priority scan and the closest hub, then a walk over the graph, guarded against drift, loops
   * and redundancy. Injected memories count as accessed (a logged write).
   */
  context(query: Vector | string, options?: ContextOptions): Promise<ContextResult> {
    return this.#ops.runAsync('context', async (meter) => {
      const { settings, unknown } = parseContextOptions(options, this.#p.o.maxTopK, this.#p.o.clock);
      const o = { ...settings, meter, tokens: timed(settings.tokens, meter) };
      if (unknown.length > 0) this.#p.log.warnOnce('unknown-keys:context-options', 'unknown keys ignored', { field: 'options', keys: unknown });
      const unit = typeof query === 'string'
        ? await this.#text.vector(checkText(query, this.#p.o.maxTextLength, 'query'), o)
        : this.#writes.vector(query, 'query').unit;
      const result = await buildContext(this.#source, unit, o);
      for (const [kind, count] of Object.entries(result.blocked) as [keyof ContextResult['blocked'], number][]) {
        for (let i = 0; i < count; i++) {
          this.#p.metrics.countGuardrail(kind);
          this.#p.prometheus?.guardrail(kind);
        }
      }
      // Accesses are state: logged like any write. A store that refuses writes still answers.
      if (result.ids.length > 0 && this.#path.writable) {
        this.#path.write((changes) => {
          // Inside the plan: a shared store plans again after other writers' changes, which may remove some.
          const live = result.ids.filter((id) => this.#store.has(id));
          if (live.length === 0) return;
          changes.access(o.now, live);
          changes.setFocus(live[0]!);
        });
      }
      return result;
    });
  }


  metrics(): MetricsSnapshot {
    this.#ops.assertOpen('metrics');
    const snapshot = this.#p.metrics.snapshot({
      nodes: this.#store.records.live, memoryBytes: this.#store.memoryBytes, memoryLimitBytes: this.#p.o.maxBytes,
      vectorsOutsideBytes: this.#p.engine.rows.outsideBytes, breaker: this.#p.breaker.snapshot(),
    });
    const replication = this.#path.journal?.status?.();
    return replication ? { ...snapshot, replication } : snapshot;
  }

  health(): HealthReport {
    this.#ops.assertOpen('health');
    const fault = this.#path.fault;
    return evaluateHealth({
      window: this.#p.metrics.window(), breaker: this.#p.breaker.state, memoryUsage: this.#store.memoryBytes / this.#p.o.maxBytes,
      storageFault: fault && `the journal failed (${fault.code}): ${fault.message}`,
      stale: staleReason(this.#path.journal?.status?.()),
    });
  }

  /** Recent failures, newest first. */
  errors(limit: number = DEFAULTS.errorLimit): ErrorRecord[] {
    this.#ops.assertOpen('errors');
    return this.#errors.recent(checkPositiveInteger(limit, 'limit', DEFAULTS.errorLogCapacity));
  }

  /** The Prometheus exposition text of this store's metrics (Node only). */
  prometheus(): Promise<string> {
    return this.#ops.runAsync('prometheus', async () => {
      if (!this.#p.prometheus) throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'prometheus() needs Node (prom-client does not run in browsers)');
      return this.#p.prometheus.text();
    });
  }


  /**
   * The whole store in the snapshot format, as bytes (any environment); OVMemory.import() reads it.
   * Past 4 GiB (one buffer's limit) RESOURCE_EXHAUSTION: a store that large lives in a durable directory.
   */
  export(): Promise<Uint8Array> {
    return this.#ops.runAsync('export', async () => encodeSnapshotStream({ ...snapshotStream(this.#store), options: this.#path.options }));
  }

  /** Durable store: writes a snapshot and starts a new log (removed memories are compacted away). */
  checkpoint(): Promise<void> {
    return this.#ops.runAsync('checkpoint', async () => {
      if (!this.#path.journal) throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'checkpoint() needs a store opened with OVMemory.open()');
      this.#sweepExpired();
      await this.#path.checkpoint();
    });
  }

  /** Durable store: everything acknowledged is on disk (fsync). In memory: nothing to do. */
  flush(): Promise<void> {
    return this.#ops.runAsync('flush', async () => this.#path.flush());
  }

  /** Waits for work in flight, stops the workers; afterwards every call fails with CLOSED. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#p.engine.close(DEFAULTS.closeTimeoutMs);
      await this.#path.close();
      this.#p.prometheus?.close();
      this.#p.log.debug('store closed', { nodes: this.#store.records.live });
    })();
    return this.#closing;
  }


  /** Embeds what needs it (one call, under the deadline), then writes as addMany: all or nothing. */
  async #remember(inputs: readonly unknown[], options: RememberOptions | undefined, name: string, meter: WorkMeter): Promise<IngestResult[]> {
    const o = options === undefined ? {} : checkObject(options, 'options');
    const written = writeOptions({ link: o.link, dedupe: o.dedupe });
    const supersedes = o.supersedes === undefined ? undefined : this.#writes.require(o.supersedes, 'options.supersedes');
    if (supersedes && inputs.length !== 1) throw invalid('options.supersedes', 'absent when storing more than one memory', o.supersedes);
    const full = await this.#writes.embedMissing(inputs, name, this.#embedding, { ...parseRememberOptions(o), meter });
    this.#sweepExpired();
    return this.#path.write((changes) => {
      if (!supersedes) return this.#writes.addAll(changes, full, name, written);
      const old = this.#writes.require(supersedes.id, 'options.supersedes');
      return [{ id: this.#writes.supersede(changes, old, this.#writes.prepare(full[0], name, new Set()), written.link), deduplicated: false }];
    });
  }

  #write<T>(operation: string, plan: (changes: ChangeSet, meter: WorkMeter) => T): T {
    return this.#ops.run(operation, (meter) => {
      this.#sweepExpired();
      return this.#path.write((changes) => plan(changes, meter));
    });
  }

  /** Memories past their TTL leave for good before the next write (a logged removal) and before a checkpoint. */
  #sweepExpired(): void {
    if (this.#store.expired(this.#p.o.clock()).length === 0 || this.#path.fault) return;
    this.#path.write((changes) => {
      // Inside the plan: a shared store plans again after other writers' changes, which may have removed some.
      for (const id of this.#store.expired(this.#p.o.clock())) changes.remove(id, { erased: true });
    });
  }

  #searchSettings(options: unknown) {
    const { settings, unknown } = parseSearchOptions(options, this.#p.o.maxTopK, this.#p.o.clock);
    if (unknown.length > 0) this.#p.log.warnOnce('unknown-keys:search-options', 'unknown keys ignored', { field: 'options', keys: unknown });
    return settings;
  }
}

function staleReason(replication: ReplicationStatus | undefined): string | undefined {
  if (!replication?.stale) return undefined;
  return `the database cannot be reached since ${new Date(replication.unreachableSince ?? Date.now()).toISOString()} (${replication.lastError ?? 'no answer'})`;
}

// `await using memory = …` where the platform has Symbol.asyncDispose. Defined at run time, not in
// the class, so the declarations need neither @types/node nor TypeScript's esnext.disposable lib.
const asyncDispose = (Symbol as { asyncDispose?: symbol }).asyncDispose;
if (asyncDispose) {
  Object.defineProperty(OVMemory.prototype, asyncDispose, { value(this: OVMemory) { return this.close(); }, configurable: true });
}

// OVMemory: the facade, and the one place that wires the parts together. Every public operation
// runs through one wrapper that refuses calls after close, records latency, outcome and error
// code, and turns anything thrown into one of the library's error classes.
import type { BreakerState } from './resilience/breaker.js';
import { CircuitBreaker } from './resilience/breaker.js';
import { ScanEngine } from './engine/engine.js';
import { Graph } from './graph/honeycomb.js';
import { platform } from './platform/current.js';
import type { Bitset } from './metadata/bitset.js';
import { type Filter, MetadataIndex } from './metadata/filter.js';
import { decodeSnapshot, encodeSnapshot, type SnapshotState } from './persistence/format.js';
import { type Effect, fromBase64, type StoredRecordLike, toBase64 } from './persistence/effects.js';
import { type ContextSettings, parseContextOptions, parseSearchOptions, type SearchSettings } from './call-options.js';
import type { Recovery, StoreDirectory } from './persistence/directory.js';
import { assembleContext, CONTEXT_RULES, type ContextSource, type Seed } from './retrieval/context.js';
import { metabolicState, type MetabolicState, priorityScore, recencyFactor } from './retrieval/priority.js';
import { type Candidate, ScanMode } from './engine/kernels.js';
import type { ScanParams } from './engine/engine.js';
import { createLogger, type Log } from './observability/logger.js';
import { ErrorLog, type ErrorRecord } from './observability/error-log.js';
import { evaluateHealth, type HealthReport } from './observability/health.js';
import { Metrics, type MetricsSnapshot } from './observability/metrics.js';
import type { PrometheusExporter } from './observability/prometheus.js';
import { DEFAULTS, type OVMemoryOptions, resolveOptions, type ResolvedOptions } from './options.js';
import { type NodeRecord, Records, hostBytes } from './records.js';
import {
  AbortedError,
  EngineFaultError,
  ErrorCode,
  InvalidDataError,
  NotFoundError,
  OVMemoryError,
  ResourceExhaustionError,
} from './resilience/errors.js';
import {
  checkFinite,
  checkKey,
  checkMetadata,
  checkObject,
  checkOneOf,
  checkPositiveInteger,
  checkPositiveNumber,
  checkText,
  checkUnitInterval,
  duplicateKey,
  invalid,
  toUnitVector,
  unknownKeys,
  type Vector,
} from './resilience/validation.js';

export interface MemoryInput {
  embedding: Vector;
  text: string;
  weight?: number;
  metadata?: Record<string, unknown>;
  createdAt?: number;
  key?: string;
}

export interface AddOptions {
  link?: 'focus' | 'none';
}

export interface SearchOptions {
  topK?: number;
  minScore?: number;
  alpha?: number;
  rank?: 'priority' | 'similarity';
  filter?: Filter;
  timeoutMs?: number;
  signal?: AbortSignal;
  now?: number;
}

export interface SearchHit {
  id: number;
  score: number;
  similarity: number;
  text: string;
  metadata: Record<string, unknown>;
  key?: string;
  factors: { similarity: number; centrality: number; recency: number; weight: number; alpha: number };
}

export interface MemoryEdge {
  to: number;
  relevance: number;
  type: string;
  createdAt: number;
}

export interface MemoryRecord {
  id: number;
  text: string;
  weight: number;
  metadata: Record<string, unknown>;
  createdAt: number;
  centrality: number;
  accessCount: number;
  lastAccessedAt: number;
  key?: string;
  edges: MemoryEdge[];
  embedding?: Float32Array;
  norm?: number;
}

export interface ContextOptions {
  maxTokens?: number;
  budget?: { total: number; used: number };
  tokenizer?: (text: string) => number;
  maxHops?: number;
  /** How many best matches of the scan seed the walk (default 8). */
  seeds?: number;
  /** Only memories whose metadata match take part (seeds and walk alike). */
  filter?: Filter;
  now?: number;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface ContextResult {
  context: string;
  ids: number[];
  tokens: number;
  state: MetabolicState;
  blocked: { drift: number; loop: number; redundancy: number };
}

const INPUT_KEYS = ['embedding', 'text', 'weight', 'metadata', 'createdAt', 'key'] as const;
const LN2 = Math.LN2;
/** Queries per engine call of searchMany: enough to keep the 4-query kernel busy, few enough to bound scratch memory. */
const BATCH_QUERIES = 64;


interface PreparedInput {
  unit: Float32Array;
  norm: number;
  text: string;
  weight: number;
  metadata: Record<string, unknown>;
  metadataBytes: number;
  createdAt: number;
  key: string | undefined;
}

export class OVMemory implements AsyncDisposable {
  readonly dim: number;
  readonly #o: ResolvedOptions;
  readonly #engine: ScanEngine;
  readonly #records = new Records();
  readonly #log: Log;
  readonly #metrics: Metrics;
  readonly #breaker: CircuitBreaker;
  readonly #errors = new ErrorLog(DEFAULTS.errorLogCapacity);
  readonly #prometheus: PrometheusExporter | undefined;
  /** Times in the arena are seconds from this instant, so f64 keeps sub-millisecond precision. */
  readonly #baseTime: number;
  readonly #graph: Graph;
  readonly #metadata: MetadataIndex;
  /** The memory new ones link to: the last one added, or the first one the last context injected. */
  #focus: number | undefined;
  #maxLogWeight = 0;
  #closing: Promise<void> | undefined;
  /** The durable store's log, when opened with OVMemory.open(). */
  #journal: StoreDirectory | undefined;
  /** Effects of the call in progress, written as one log record when it succeeds. */
  #pending: Effect[] = [];
  /** Nodes whose outgoing edges the call in progress changed. */
  readonly #edgesChanged = new Set<number>();
  /** What opening the store had to recover (a torn log tail, or what `repair` gave up). */
  recovery: Recovery | undefined;

  private constructor(o: ResolvedOptions, engine: ScanEngine, log: Log, metrics: Metrics, breaker: CircuitBreaker, prometheus: PrometheusExporter | undefined) {
    this.#o = o;
    this.dim = o.dim;
    this.#engine = engine;
    this.#log = log;
    this.#metrics = metrics;
    this.#breaker = breaker;
    this.#prometheus = prometheus;
    this.#baseTime = o.clock();
    this.#metadata = new MetadataIndex(o.indexed);
    this.#graph = new Graph((id, centrality) => {
      const record = this.#records.get(id);
      if (!record) return;
      record.centrality = centrality;
      this.#engine.rows.setLogCentrality(record.row, Math.log(Math.max(0.1, centrality)));
      this.#edgesChanged.add(id);
    });
  }

  /** A new, empty in-memory store. `options.dim` is required. */
  static async create(options: OVMemoryOptions): Promise<OVMemory> {
    const o = resolveOptions(options, await platform.cores());
    const log = createLogger({ logger: o.logger, logLevel: o.logLevel, name: `ov-memory:${o.name}`, clock: o.clock });
    if (o.unknownKeys.length > 0) log.warn('unknown options ignored', { options: o.unknownKeys });
    const shared = platform.canShareMemory();
    if (!shared && o.threads > 0) {
      if (typeof options.threads === 'number') {
        log.warn('threads need a cross-origin isolated page (COOP/COEP headers): scanning on the calling thread', { threads: options.threads });
      }
      o.threads = 0;
    }
    const metrics = new Metrics({ clock: o.clock, windowMs: DEFAULTS.windowMs });
    const breakerLog = log.child('breaker');
    let store: OVMemory | undefined;
    const breaker = new CircuitBreaker({
      ...o.breaker,
      clock: o.clock,
      onTransition: (from: BreakerState, to: BreakerState) => {
        breakerLog[to === 'OPEN' ? 'warn' : 'info']('circuit breaker transition', { from, to });
      },
    });
    const engine = await ScanEngine.create({
      dim: o.dim,
      shared,
      maxBytes: o.maxBytes,
      threads: o.threads,
      flavor: o.kernel,
      segmentRows: o.segmentRows,
      firstSegmentRows: o.firstSegmentRows,
      poolMinRows: o.poolMinRows,
      atomics: o.atomics,
      breaker,
      log: log.child('engine'),
      onEngineFault: () => metrics.countEngineFault(),
      testHooks: o.testHooks,
    });
    const prometheus = platform.loadPrometheus
      ? await (await platform.loadPrometheus()).createPrometheusExporter({
          registry: o.registry,
          name: o.name,
          gauges: () => ({
            nodes: store?.size ?? 0,
            memoryBytes: store ? store.#memoryBytes() : 0,
            breakerState: breaker.state,
          }),
        })
      : undefined;
    store = new OVMemory(o, engine, log, metrics, breaker, prometheus);
    log.debug('store created', { dim: o.dim, executor: store.executor, threads: o.threads, kernel: o.kernel, maxNodes: o.maxNodes, maxBytes: o.maxBytes });
    return store;
  }

  /**
   * Opens the durable store in `dir` (Node), creating it when it is empty (`options.dim` is then
   * required). It loads the newest snapshot, replays the log after it, and locks the directory.
   */
  static async open(dir: string, options: Partial<OVMemoryOptions> = {}): Promise<OVMemory> {
    if (!platform.loadDirectory) throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'OVMemory.open() needs Node: in a browser, keep export() bytes in IndexedDB or OPFS');
    if (typeof dir !== 'string' || dir.length === 0) throw invalid('dir', 'a directory path', dir);
    checkObject(options, 'options');
    const durability = options.durability === undefined ? DEFAULTS.durability : checkOneOf(options.durability, ['always', 'batch', 'none'], 'durability');
    const { StoreDirectory } = await platform.loadDirectory();
    if (options.repair !== undefined && typeof options.repair !== 'boolean') throw invalid('repair', 'true or false', options.repair);
    const opened = StoreDirectory.open(dir, {
      durability, repair: options.repair === true, groupCommitMs: DEFAULTS.groupCommitMs,
      initial: () => {
        const dim = checkPositiveInteger(options.dim, 'dim');
        return encodeSnapshot({ dim, nextId: 0, focus: undefined, records: [], edges: [], vectors: new Float32Array(0) });
      },
    });
    let memory: OVMemory | undefined;
    try {
      const stored = opened.snapshot?.dim ?? options.dim;
      if (options.dim !== undefined && options.dim !== stored) {
        throw new InvalidDataError(`${dir} holds vectors of ${stored} dimensions, options.dim is ${options.dim}`, { details: { dir, dim: stored } });
      }
      memory = await OVMemory.create({ ...options, dim: stored! } as OVMemoryOptions);
      if (opened.snapshot) memory.#restore(opened.snapshot);
      for (const effect of opened.effects) memory.#replay(effect as { e: Effect[] });
      memory.#journal = opened.directory;
      memory.recovery = opened.recovery;
      if (opened.recovery.tornBytes > 0 || opened.recovery.lost) memory.#log.warn('store recovered', { dir, ...opened.recovery });
      return memory;
    } catch (error) {
      opened.directory.close();
      await memory?.close();
      throw error;
    }
  }

  /** A new in-memory store from export() bytes (any environment). Corrupt bytes: MEMORY_CORRUPTION. */
  static async import(bytes: Uint8Array, options: Partial<OVMemoryOptions> = {}): Promise<OVMemory> {
    if (!(bytes instanceof Uint8Array)) throw invalid('bytes', 'a Uint8Array from export()', bytes);
    const state = decodeSnapshot(bytes, 'import()');
    if (options.dim !== undefined && options.dim !== state.dim) {
      throw new InvalidDataError(`the bytes hold vectors of ${state.dim} dimensions, options.dim is ${options.dim}`);
    }
    const memory = await OVMemory.create({ ...options, dim: state.dim } as OVMemoryOptions);
    memory.#restore(state);
    return memory;
  }

  /**
   * Where scans of a large store run: 'inline' (the calling thread: threads 0, or a page that is not
   * cross-origin isolated), 'worker-threads' (Node, piscina) or 'web-workers' (a page).
   */
  get executor(): 'inline' | 'worker-threads' | 'web-workers' {
    if (this.#o.threads === 0) return 'inline';
    return platform.name === 'node' ? 'worker-threads' : 'web-workers';
  }

  /** Live memories. */
  get size(): number {
    return this.#records.live;
  }

  // ---- writes -----------------------------------------------------------------------------------

  /** Stores one memory and returns its id. */
  add(input: MemoryInput, options?: AddOptions): number {
    return this.#sync('add', () => this.#insert([input], options, 'input')[0]!);
  }

  /** Stores several memories, all or nothing, and returns their ids in order. */
  addMany(inputs: readonly MemoryInput[], options?: AddOptions): number[] {
    return this.#sync('addMany', () => {
      if (!Array.isArray(inputs)) throw invalid('inputs', 'an array of memories', inputs);
      return this.#insert(inputs, options, 'inputs');
    });
  }

  /** Changes a memory's weight and/or replaces its metadata. */
  update(id: number, patch: { weight?: number; metadata?: Record<string, unknown> }): void {
    this.#sync('update', () => {
      const record = this.#require(id);
      checkObject(patch, 'patch');
      const weight = patch.weight === undefined ? undefined : checkPositiveNumber(patch.weight, 'patch.weight');
      const metadata = patch.metadata === undefined ? undefined : checkMetadata(patch.metadata, this.#o.maxMetadataBytes, 'patch.metadata');
      this.#warnUnknown('patch', patch, ['weight', 'metadata']);
      if (metadata) this.#checkBytes(metadata.bytes - record.metadataBytes, 0);
      this.#pending.push({ op: 'update', id: record.id, ...(weight === undefined ? {} : { weight }), ...(metadata ? { metadata: metadata.metadata } : {}) });
      this.#patch(record, weight, metadata?.metadata, metadata?.bytes);
    });
  }

  /** Applies a checked patch: the kernel's ln W column and the metadata indexes follow at once. */
  #patch(record: NodeRecord, weight: number | undefined, metadata: Record<string, unknown> | undefined, metadataBytes?: number): void {
    if (weight !== undefined) {
      record.weight = weight;
      this.#engine.rows.setLogWeight(record.row, Math.log(weight));
      this.#maxLogWeight = Math.max(this.#maxLogWeight, Math.log(weight));
    }
    if (metadata) {
      this.#metadata.remove(record.id, record.metadata);
      this.#records.setMetadata(record, metadata, metadataBytes ?? jsonBytes(metadata));
      this.#metadata.add(record.id, record.metadata);
    }
  }

  /** Removes a memory; false when the id is unknown or already removed. Its id is never reused. */
  remove(id: number): boolean {
    return this.#sync('remove', () => this.#remove(checkId(id)));
  }

  /** Removes the memory stored under an external key; false when there is none. */
  removeByKey(key: string): boolean {
    return this.#sync('removeByKey', () => {
      const id = this.#records.idOfKey(checkKey(key));
      return id !== undefined && this.#remove(id);
    });
  }

  /**
   * Stores a memory under its key, replacing the memory that held the key before (which is removed:
   * the new one gets a new id). `input.key` is required. Returns the new id.
   */
  upsert(input: MemoryInput, options?: AddOptions): number {
    return this.#sync('upsert', () => {
      const key = checkKey(checkObject(input, 'input').key, 'input.key');
      const previous = this.#records.idOfKey(key);
      const prepared = this.#prepare(input, 'input', new Set(), previous);
      return this.#insertPrepared([prepared], options, previous)[0]!;
    });
  }

  /**
   * Adds or strengthens the edge from → to (default type 'related'). A node keeps at most 6
   * outgoing edges: on a full node a stronger edge replaces the weakest, a weaker one is refused
   * (false).
   */
  link(from: number, to: number, relevance: number, type = 'related'): boolean {
    return this.#sync('link', () => {
      this.#require(from, 'from');
      this.#require(to, 'to');
      if (from === to) throw invalid('to', `an id other than \`from\` (a memory cannot link to itself)`, to);
      checkUnitInterval(relevance, 'relevance');
      if (typeof type !== 'string' || type.length === 0 || type.length > 64) throw invalid('type', 'a string of 1 to 64 characters', type);
      return this.#graph.link(from, to, relevance, type, this.#o.clock());
    });
  }

  /** Removes the edge from → to; false when there was none. */
  unlink(from: number, to: number): boolean {
    return this.#sync('unlink', () => {
      this.#require(from, 'from');
      this.#require(to, 'to');
      return this.#graph.unlink(from, to);
    });
  }

  // ---- reads ------------------------------------------------------------------------------------

  /** A copy of a memory, or undefined for an unknown or removed id. */
  get(id: number, options?: { embedding?: boolean }): MemoryRecord | undefined {
    return this.#sync('get', () => {
      checkId(id);
      if (options !== undefined) checkObject(options, 'options');
      const record = this.#records.get(id);
      return record && this.#toMemoryRecord(record, options?.embedding === true);
    });
  }

  /** A copy of the memory stored under an external key, or undefined. */
  getByKey(key: string): MemoryRecord | undefined {
    return this.#sync('getByKey', () => {
      const id = this.#records.idOfKey(checkKey(key));
      const record = id === undefined ? undefined : this.#records.get(id);
      return record && this.#toMemoryRecord(record, false);
    });
  }

  has(id: number): boolean {
    return this.#sync('has', () => this.#records.get(checkId(id)) !== undefined);
  }

  /** Live ids, ascending. */
  ids(): IterableIterator<number> {
    return this.#sync('ids', () => this.#records.ids());
  }

  /** The best memories for a query, by priority (default) or by plain cosine similarity. */
  search(query: Vector, options?: SearchOptions): Promise<SearchHit[]> {
    return this.#async('search', async () => {
      const settings = this.#searchSettings(options);
      const unit = this.#queryVector(query, 'query');
      return (await this.#searchUnits([unit], settings))[0]!;
    });
  }

  /** `search` for many queries at once: each stored row is read once for a block of queries. */
  searchMany(queries: readonly Vector[] | Float32Array, options?: SearchOptions): Promise<SearchHit[][]> {
    return this.#async('searchMany', async () => {
      const settings = this.#searchSettings(options);
      const units = this.#queryVectors(queries);
      const started = performance.now();
      const out: SearchHit[][] = [];
      for (let i = 0; i < units.length; i += BATCH_QUERIES) {
        const remaining = settings.timeoutMs - (performance.now() - started);
        out.push(...(await this.#searchUnits(units.slice(i, i + BATCH_QUERIES), { ...settings, timeoutMs: Math.max(0, remaining) })));
      }
      return out;
    });
  }

  /**
   * Assembles the memories relevant to a query into one text under a token budget: seeds from a
   * priority scan and the closest hub, then a walk over the graph, guarded against drift, loops
   * and redundancy. Injected memories count as accessed.
   */
  context(query: Vector, options?: ContextOptions): Promise<ContextResult> {
    return this.#async('context', async () => {
      const o = this.#contextSettings(options);
      const unit = this.#queryVector(query, 'query');
      const { state, alpha } = metabolicState(o.budget);
      const blocked = { drift: 0, loop: 0, redundancy: 0 };
      const allow = this.#allowed(o.filter);
      if (this.#records.live === 0) return { context: '', ids: [], tokens: 0, state, blocked };
      const [candidates] = await this.#engine.topK([unit], this.#scanParams('priority', alpha, o.now, Math.min(o.seeds, this.#engine.rows.count), allow), o);
      const seeds: Seed[] = candidates!.filter((c) => this.#records.has(c.id)).map((c) => ({
        id: c.id, similarity: c.similarity, priority: c.key === -Infinity ? 0 : Math.exp(c.key),
      }));
      const source: ContextSource = {
        hubs: () => this.#graph.hubs(() => this.#records.ids()),
        edges: (id) => this.#graph.edges(id),
        text: (id) => this.#records.get(id)!.text,
        isLive: (id) => this.#records.has(id) && (allow === undefined || allow.has(id)),
        similarity: (id) => this.#engine.rows.dot(this.#records.get(id)!.row, unit),
        priority: (id, similarity) => this.#factors(this.#records.get(id)!, similarity, alpha, o.now).score,
        recentAccesses: (id) => this.#records.get(id)!.accessTimes.filter((t) => o.now - t <= CONTEXT_RULES.loopWindowMs).length,
      };
      const assembled = assembleContext(source, seeds, { maxTokens: o.maxTokens, maxHops: o.maxHops, alpha, tokens: o.tokens });
      for (const id of assembled.ids) this.#access(this.#records.get(id)!, o.now);
      if (assembled.ids.length > 0) {
        this.#focus = assembled.ids[0];
        this.#pending.push({ op: 'focus', id: this.#focus! });
      }
      for (const [kind, count] of Object.entries(assembled.blocked) as [keyof typeof blocked, number][]) {
        for (let i = 0; i < count; i++) {
          this.#metrics.countGuardrail(kind);
          this.#prometheus?.guardrail(kind);
        }
      }
      const tokens = assembled.context.length === 0 ? 0 : o.tokens(assembled.context);
      return { context: assembled.context, ids: assembled.ids, tokens, state, blocked: assembled.blocked };
    });
  }

  /** The current hubs: the 5 memories of highest centrality (ties: lower id). */
  hubs(): number[] {
    return this.#sync('hubs', () => [...this.#graph.hubs(() => this.#records.ids())]);
  }

  // ---- observability ----------------------------------------------------------------------------

  metrics(): MetricsSnapshot {
    this.#assertOpen('metrics');
    return this.#metrics.snapshot({
      nodes: this.size,
      memoryBytes: this.#memoryBytes(),
      memoryLimitBytes: this.#o.maxBytes,
      breaker: this.#breaker.snapshot(),
    });
  }

  health(): HealthReport {
    this.#assertOpen('health');
    return evaluateHealth({
      window: this.#metrics.window(),
      breaker: this.#breaker.state,
      memoryUsage: this.#memoryBytes() / this.#o.maxBytes,
    });
  }

  /** Recent failures, newest first. */
  errors(limit: number = DEFAULTS.errorLimit): ErrorRecord[] {
    this.#assertOpen('errors');
    return this.#errors.recent(checkPositiveInteger(limit, 'limit', DEFAULTS.errorLogCapacity));
  }

  /** The Prometheus exposition text of this store's metrics (Node only). */
  prometheus(): Promise<string> {
    return this.#async('prometheus', async () => {
      if (!this.#prometheus) throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'prometheus() needs Node (prom-client does not run in browsers)');
      return this.#prometheus.text();
    });
  }

  // ---- life cycle -------------------------------------------------------------------------------

  /** The whole store in the snapshot format, as bytes (any environment); OVMemory.import() reads it. */
  export(): Promise<Uint8Array> {
    return this.#async('export', async () => encodeSnapshot(this.#state()));
  }

  /** Durable store: writes a snapshot and starts a new log (removed memories are compacted away). */
  checkpoint(): Promise<void> {
    return this.#async('checkpoint', async () => {
      if (!this.#journal) throw new OVMemoryError(ErrorCode.UNSUPPORTED, 'checkpoint() needs a store opened with OVMemory.open()');
      this.#journal.checkpoint(encodeSnapshot(this.#state()));
    });
  }

  /** Durable store: everything acknowledged is on disk (fsync). In memory: nothing to do. */
  flush(): Promise<void> {
    return this.#async('flush', async () => this.#journal?.flush());
  }

  /** Waits for work in flight, stops the workers; afterwards every call fails with CLOSED. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#engine.close(DEFAULTS.closeTimeoutMs);
      this.#journal?.close();
      this.#prometheus?.close();
      this.#log.debug('store closed', { nodes: this.size });
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- internals --------------------------------------------------------------------------------

  #insert(inputs: readonly unknown[], options: unknown, name: string): number[] {
    this.#addOptions(options);
    const keys = new Set<string>();
    const prepared = inputs.map((input, i) => this.#prepare(input, inputs.length === 1 && name === 'input' ? name : `${name}[${i}]`, keys));
    return this.#insertPrepared(prepared, options);
  }

  /**
   * Writes memories that passed validation: limits first, then every row, record and link.
   * `replacing` (upsert) is removed only once everything is known to fit.
   */
  #insertPrepared(prepared: PreparedInput[], options: unknown, replacing?: number): number[] {
    const link = this.#addOptions(options);
    const old = replacing === undefined ? undefined : this.#records.get(replacing);
    const live = this.#records.live - (old ? 1 : 0);
    if (live + prepared.length > this.#o.maxNodes) {
      throw new ResourceExhaustionError(
        `maxNodes reached: ${live} memories stored, ${prepared.length} more would pass the limit of ${this.#o.maxNodes}`,
        { details: { nodes: live, adding: prepared.length, limit: this.#o.maxNodes } },
      );
    }
    const rows = this.#engine.rows;
    this.#checkBytes(prepared.reduce((sum, p) => sum + hostBytes(p), 0) - (old ? hostBytes(old) : 0), rows.bytesToAppend(prepared.length));
    rows.reserve(prepared.length);
    if (old) this.#remove(old.id);
    const items: Extract<Effect, { op: 'add' }>['items'] = [];
    const ids = prepared.map((p) => {
      const id = this.#records.nextId;
      if (this.#journal) {
        items.push({ id, text: p.text, weight: p.weight, metadata: p.metadata, createdAt: p.createdAt, norm: p.norm, vector: toBase64(p.unit), ...(p.key === undefined ? {} : { key: p.key }) });
      }
      this.#place({
        id, text: p.text, weight: p.weight, metadata: p.metadata, createdAt: p.createdAt, key: p.key, norm: p.norm,
        accessCount: 0, lastAccessedAt: p.createdAt,
      }, p.unit, p.metadataBytes);
      if (link === 'focus' && this.#focus !== undefined) this.#linkToFocus(id, p.unit);
      this.#focus = id;
      return id;
    });
    if (this.#journal) this.#pending.push({ op: 'add', items });
    this.#engine.warmUp();
    return ids;
  }

  /** A new memory and the focus link both ways, relevance clamp01(0.7·S⁺ + 0.3·R of the focus). */
  #linkToFocus(id: number, unit: Float32Array): void {
    const focus = this.#records.get(this.#focus!)!;
    const now = this.#o.clock();
    const similarity = this.#engine.rows.dot(focus.row, unit);
    const { recency } = this.#factors(focus, similarity, 1, now);
    const relevance = Math.min(1, Math.max(0, 0.7 * Math.max(0, similarity) + 0.3 * recency));
    this.#graph.link(id, focus.id, relevance, 'focus', now);
    this.#graph.link(focus.id, id, relevance, 'focus', now);
  }

  /** Validates one input; `replacing` is the id whose key the input may take over (upsert). */
  #prepare(input: unknown, name: string, batchKeys: Set<string>, replacing?: number): PreparedInput {
    const o = checkObject(input, name);
    const { unit, norm, outOfRange } = toUnitVector(o.embedding, this.dim, `${name}.embedding`);
    if (outOfRange) this.#warnOutOfRange(`${name}.embedding`);
    const text = checkText(o.text, this.#o.maxTextLength, `${name}.text`);
    const weight = o.weight === undefined ? 1 : checkPositiveNumber(o.weight, `${name}.weight`);
    const { metadata, bytes } = o.metadata === undefined
      ? { metadata: {}, bytes: 2 }
      : checkMetadata(o.metadata, this.#o.maxMetadataBytes, `${name}.metadata`);
    const createdAt = o.createdAt === undefined ? this.#o.clock() : checkFinite(o.createdAt, `${name}.createdAt`);
    const key = o.key === undefined ? undefined : checkKey(o.key, `${name}.key`);
    if (key !== undefined) {
      const holder = this.#records.idOfKey(key);
      if ((holder !== undefined && holder !== replacing) || batchKeys.has(key)) throw duplicateKey(key);
      batchKeys.add(key);
    }
    this.#warnUnknown(name, o, INPUT_KEYS);
    return { unit, norm, text, weight, metadata, metadataBytes: bytes, createdAt, key };
  }

  #remove(id: number): boolean {
    const record = this.#records.remove(id);
    if (!record) return false;
    this.#engine.rows.setLive(record.row, false);
    this.#metadata.remove(id, record.metadata);
    this.#graph.remove(id);
    // What removing a node does to its neighbours' edges follows from the removal itself.
    this.#edgesChanged.clear();
    if (this.#focus === id) this.#focus = undefined;
    this.#pending.push({ op: 'remove', id });
    return true;
  }

  #addOptions(options: unknown): 'focus' | 'none' {
    if (options === undefined) return 'focus';
    const o = checkObject(options, 'options');
    this.#warnUnknown('options', o, ['link']);
    return o.link === undefined ? 'focus' : checkOneOf(o.link, ['focus', 'none'], 'options.link');
  }

  /** Throws RESOURCE_EXHAUSTION when `hostBytes` more text and `arenaBytes` more arena would pass maxMemoryMB. */
  #checkBytes(hostBytes: number, arenaBytes: number): void {
    const used = this.#memoryBytes();
    if (used + hostBytes + arenaBytes > this.#o.maxBytes) {
      throw new ResourceExhaustionError(
        `maxMemoryMB reached: ${used} bytes in use, ${hostBytes + arenaBytes} more would pass the limit of ${this.#o.maxBytes} bytes`,
        { details: { usedBytes: used, requestedBytes: hostBytes + arenaBytes, limitBytes: this.#o.maxBytes } },
      );
    }
  }

  #memoryBytes(): number {
    return this.#engine.arena.usedBytes + this.#records.textBytes;
  }

  #seconds(ms: number): number {
    return (ms - this.#baseTime) / 1000;
  }

  #searchSettings(options: unknown): SearchSettings {
    const { settings, unknown } = parseSearchOptions(options, this.#o.maxTopK, this.#o.clock);
    if (unknown.length > 0) this.#log.warnOnce('unknown-keys:search-options', 'unknown keys ignored', { field: 'options', keys: unknown });
    return settings;
  }

  #queryVector(query: unknown, name: string): Float32Array {
    const { unit, outOfRange } = toUnitVector(query, this.dim, name);
    if (outOfRange) this.#warnOutOfRange(name);
    return unit;
  }

  #queryVectors(queries: unknown): Float32Array[] {
    if (queries instanceof Float32Array) {
      if (queries.length % this.dim !== 0) {
        throw invalid('queries', `a Float32Array whose length is a multiple of ${this.dim}`, queries, { length: queries.length });
      }
      return Array.from({ length: queries.length / this.dim }, (_, i) =>
        this.#queryVector(queries.subarray(i * this.dim, (i + 1) * this.dim), `queries[${i}]`));
    }
    if (!Array.isArray(queries)) throw invalid('queries', 'an array of vectors or a Float32Array of n × dim values', queries);
    return queries.map((q, i) => this.#queryVector(q, `queries[${i}]`));
  }

  async #searchUnits(units: Float32Array[], s: SearchSettings): Promise<SearchHit[][]> {
    const allow = this.#allowed(s.filter);
    const live = allow ? allow.count() : this.#records.live;
    if (live === 0) return units.map(() => []);
    if (s.topKSet && s.topK > live) {
      this.#log.warnOnce('topK-above-size', 'topK is above the number of memories: fewer hits are returned', { topK: s.topK, size: live });
    }
    const k = Math.min(s.topK, live);
    const params = this.#scanParams(s.rank, s.alpha, s.now, k, allow);
    // A memory removed while the scan ran is dropped here; when that happened, scan again for more
    // (the removed rows' flags are clear by then, so the second scan is exact).
    let want = k;
    for (;;) {
      const lists = await this.#engine.topK(units, { ...params, k: want }, s);
      const alive = lists.map((list) => list.filter((c) => this.#records.has(c.id)));
      const dropped = alive.some((list, i) => list.length < lists[i]!.length);
      if (!dropped || want >= this.#engine.rows.count) {
        return alive.map((list) => list.slice(0, k).map((c) => this.#hit(c, s)).filter((h) => h.score >= s.minScore));
      }
      want = Math.min(this.#engine.rows.count, want * 2);
    }
  }

  /** The filter's matches as an allow-mask over ids; undefined without a filter. */
  #allowed(filter: unknown): Bitset | undefined {
    return filter === undefined ? undefined : this.#metadata.match(filter, this.#records.nextId);
  }

  #scanParams(rank: 'priority' | 'similarity', alpha: number, now: number, k: number, allow?: Bitset): ScanParams {
    return {
      k,
      mode: rank === 'priority' ? ScanMode.PRIORITY : ScanMode.SIMILARITY,
      alpha,
      nowSeconds: this.#seconds(now),
      decayPerSecond: LN2 / (this.#o.halfLifeMs / 1000),
      maxLogWeight: this.#maxLogWeight,
      allow: allow?.words,
    };
  }

  /** C, R and W of a memory at `now`, and the priority they give with this similarity and α. */
  #factors(r: NodeRecord, similarity: number, alpha: number, now: number) {
    const recency = recencyFactor(now, this.#o.recency === 'accessed' ? r.lastAccessedAt : r.createdAt, this.#o.halfLifeMs);
    return { centrality: r.centrality, recency, weight: r.weight, score: priorityScore(similarity, r.centrality, recency, r.weight, alpha) };
  }

  #hit(c: Candidate, s: SearchSettings): SearchHit {
    const r = this.#records.get(c.id)!;
    const { centrality, recency, weight } = this.#factors(r, c.similarity, s.alpha, s.now);
    // The kernel's own key, so that the score is exactly what the hits were ordered by.
    const score = s.rank === 'similarity' ? c.key : c.key === -Infinity ? 0 : Math.exp(c.key);
    return {
      id: c.id,
      score,
      similarity: c.similarity,
      text: r.text,
      metadata: structuredClone(r.metadata),
      ...(r.key === undefined ? {} : { key: r.key }),
      factors: { similarity: c.similarity, centrality, recency, weight, alpha: s.alpha },
    };
  }

  /** Injection into a context is an access: for the loop guardrail, and for `recency: 'accessed'`. */
  #access(r: NodeRecord, now: number): void {
    r.accessCount++;
    r.lastAccessedAt = now;
    r.accessTimes.push(now);
    if (r.accessTimes.length > CONTEXT_RULES.loopAccesses + 1) r.accessTimes.shift();
    if (this.#o.recency === 'accessed') this.#engine.rows.setTime(r.row, this.#seconds(now));
  }

  #contextSettings(options: unknown): ContextSettings {
    const { settings, unknown } = parseContextOptions(options, this.#o.maxTopK, this.#o.clock);
    if (unknown.length > 0) this.#log.warnOnce('unknown-keys:context-options', 'unknown keys ignored', { field: 'options', keys: unknown });
    return settings;
  }

  #toMemoryRecord(r: NodeRecord, withEmbedding: boolean): MemoryRecord {
    const out: MemoryRecord = {
      id: r.id, text: r.text, weight: r.weight, metadata: structuredClone(r.metadata), createdAt: r.createdAt,
      centrality: r.centrality, accessCount: r.accessCount, lastAccessedAt: r.lastAccessedAt,
      edges: this.#graph.edges(r.id).map((e) => ({ ...e })),
    };
    if (r.key !== undefined) out.key = r.key;
    if (withEmbedding) {
      out.embedding = this.#engine.rows.vector(r.row);
      out.norm = r.norm;
    }
    return out;
  }

  #require(id: number, name = 'id'): NodeRecord {
    const record = this.#records.get(checkId(id, name));
    if (!record) throw new NotFoundError(`no memory with id ${id} (\`${name}\`)`, { details: { id } });
    return record;
  }

  #warnOutOfRange(name: string): void {
    this.#log.warnOnce('vector-out-of-range', 'vector values outside [-1, 1]: embeddings are usually normalised; it is stored as a unit vector', { field: name });
  }

  #warnUnknown(name: string, o: object, known: readonly string[]): void {
    const extra = unknownKeys(o, known);
    if (extra.length > 0) this.#log.warnOnce(`unknown-keys:${name}`, 'unknown keys ignored', { field: name, keys: extra });
  }

  #assertOpen(operation: string): void {
    if (this.#closing) throw new OVMemoryError(ErrorCode.CLOSED, `${operation}() was called after close()`);
  }

  #sync<T>(operation: string, run: () => T): T {
    const started = performance.now();
    try {
      this.#assertOpen(operation);
      const result = run();
      this.#commit();
      this.#record(operation, started);
      return result;
    } catch (error) {
      throw this.#failed(operation, started, error);
    }
  }

  async #async<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      this.#assertOpen(operation);
      const result = await run();
      this.#commit();
      this.#record(operation, started);
      return result;
    } catch (error) {
      throw this.#failed(operation, started, error);
    }
  }

  #record(operation: string, started: number, code?: string): void {
    const ms = performance.now() - started;
    this.#metrics.record(operation, ms, code);
    this.#prometheus?.observe(operation, ms / 1000, code);
  }

  /**
   * Writes what the call changed to the log, as one record, before the call returns; past 64 MiB
   * of log, checkpoints. A call that failed was validated before it changed anything: nothing to write.
   */
  #commit(): void {
    if (this.#edgesChanged.size > 0) {
      this.#pending.push({ op: 'edges', sets: [...this.#edgesChanged].filter((id) => this.#records.has(id)).map((id) => [id, [...this.#graph.edges(id)]]) });
    }
    const effects = this.#pending;
    this.#pending = [];
    this.#edgesChanged.clear();
    if (!this.#journal || effects.length === 0) return;
    this.#journal.append({ e: effects });
    if (this.#journal.logBytes > DEFAULTS.autoCheckpointBytes) this.#journal.checkpoint(encodeSnapshot(this.#state()));
  }

  /** The whole store as a snapshot: live records in id order, their vectors, edges and the focus. */
  #state(): SnapshotState {
    const records = [...this.#records.ids()].map((id) => this.#records.get(id)!);
    const vectors = new Float32Array(records.length * this.dim);
    records.forEach((r, i) => vectors.set(this.#engine.rows.vector(r.row), i * this.dim));
    return {
      dim: this.dim,
      nextId: this.#records.nextId,
      focus: this.#focus,
      records: records.map((r) => ({
        id: r.id, text: r.text, weight: r.weight, metadata: r.metadata, createdAt: r.createdAt, key: r.key,
        norm: r.norm, accessCount: r.accessCount, lastAccessedAt: r.lastAccessedAt,
      })),
      edges: [...this.#graph.entries()],
      vectors,
    };
  }

  /** Loads a snapshot into this (empty) store: rows compacted, ids kept. */
  #restore(state: SnapshotState): void {
    this.#engine.rows.reserve(state.records.length);
    state.records.forEach((r, i) => this.#place(r, state.vectors.subarray(i * this.dim, (i + 1) * this.dim)));
    this.#records.skipTo(state.nextId);
    for (const [id, edges] of state.edges) if (this.#records.has(id)) this.#graph.setEdges(id, edges);
    this.#focus = state.focus !== undefined && this.#records.has(state.focus) ? state.focus : undefined;
    this.#pending = [];
    this.#edgesChanged.clear();
  }

  /** Applies one logged record's effects (replay: nothing is logged again). */
  #replay(record: { e: Effect[] }): void {
    for (const effect of record.e) {
      switch (effect.op) {
        case 'add':
          this.#engine.rows.reserve(effect.items.length);
          for (const item of effect.items) {
            this.#place({ ...item, accessCount: 0, lastAccessedAt: item.createdAt }, fromBase64(item.vector));
            this.#focus = item.id;
          }
          break;
        case 'update': this.#patch(this.#records.get(effect.id)!, effect.weight, effect.metadata); break;
        case 'remove': this.#remove(effect.id); break;
        case 'edges': for (const [id, edges] of effect.sets) this.#graph.setEdges(id, edges); break;
        case 'focus': this.#focus = effect.id; break;
      }
    }
    this.#pending = [];
    this.#edgesChanged.clear();
  }

  /** Writes one memory into a row and the host's tables (a new one, or one loaded or replayed). */
  #place(r: StoredRecordLike, unit: Float32Array, metadataBytes = jsonBytes(r.metadata)): void {
    const logWeight = Math.log(r.weight);
    const time = this.#o.recency === 'accessed' ? r.lastAccessedAt : r.createdAt;
    const row = this.#engine.rows.append(unit, { id: r.id, logCentrality: Math.log(0.1), logWeight, time: this.#seconds(time) });
    this.#maxLogWeight = Math.max(this.#maxLogWeight, logWeight);
    this.#records.add({
      id: r.id, row, text: r.text, weight: r.weight, metadata: r.metadata, metadataBytes, createdAt: r.createdAt, key: r.key,
      norm: r.norm, centrality: 0, accessCount: r.accessCount, lastAccessedAt: r.lastAccessedAt, accessTimes: [],
    });
    this.#metadata.add(r.id, r.metadata);
  }

  #failed(operation: string, started: number, thrown: unknown): OVMemoryError {
    this.#pending = [];
    this.#edgesChanged.clear();
    const error = thrown instanceof OVMemoryError
      ? thrown
      : isAbort(thrown)
        ? new AbortedError(`${operation}() was aborted`, { cause: thrown })
        : new EngineFaultError(`${operation}() failed unexpectedly: ${String((thrown as Error)?.message ?? thrown)}`, { cause: thrown });
    this.#record(operation, started, error.code);
    this.#errors.push({ at: this.#o.clock(), operation, code: error.code, message: error.message });
    const level = error.code === ErrorCode.ENGINE_FAULT || error.code === ErrorCode.CIRCUIT_OPEN ? 'error' : 'debug';
    this.#log[level]('operation failed', { operation, code: error.code, message: error.message });
    return error;
  }
}

function checkId(id: unknown, name = 'id'): number {
  if (typeof id !== 'number' || Number.isNaN(id)) throw invalid(name, 'a number', id);
  return id;
}

/** Bytes of a value as UTF-8 JSON, as validation counts metadata against the limits. */
function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === 'AbortError';
}


// The scan engine: the arena and its rows, the request slots, and the executors that scan them.
// It scores rows and knows nothing of edges, text or context. It picks the executor by store size,
// runs the pooled one behind the circuit breaker, and retries a failed part on the calling thread.
// A lone pooled search scans one part on the calling thread, which would otherwise only wait.
import type { CircuitBreaker } from '../resilience/breaker.js';
import {
  AbortedError,
  CircuitOpenError,
  deserializeError,
  EngineFaultError,
  OperationTimeoutError,
  type OVMemoryError,
  type SerializedError,
} from '../resilience/errors.js';
import type { Log } from '../observability/logger.js';
import { Arena } from './arena.js';
import type { ScanExecutor } from './executor.js';
import { InlineExecutor } from './inline.js';
import {
  type Candidate,
  cancelRequest,
  claimTask,
  heapBytes,
  instantiateKernels,
  type KernelExports,
  Layout,
  readHeap,
  ScanMode,
  writeRequest,
} from './kernels.js';
import { bestUnordered, mergeCandidates } from './merge.js';
import { encodeQuery, QUANT_CODE, type Quantization, queryCodeBytes } from './quantize.js';
import { rerank } from './rerank.js';
import type { ScanResult, ScanTask, WorkerData } from './protocol.js';
import type { PoolSettings } from './pool-settings.js';
import { RowStore } from './rows.js';
import { SlotPool } from './slots.js';
import { type KernelFlavor, loadKernelModule } from './wasm.js';
import { startDeadline } from './deadline.js';

/** Rows the exact rerank copies and scores per kernel call. */
const RERANK_CHUNK = 256;

export interface EngineOptions {
  dim: number;
  /** Whether the memory is shared with workers (false in a page that is not cross-origin isolated: threads must be 0). */
  shared: boolean;
  maxBytes: number;
  threads: number;
  flavor: KernelFlavor;
  segmentRows: number;
  firstSegmentRows: number;
  /** Below this many rows a scan runs on the calling thread (measured: see DEFAULTS.poolMinBytes). */
  poolMinRows: number;
  atomics: 'sync' | 'async' | 'disabled';
  /** Where the kernels and a page's worker script are loaded from; undefined: beside the bundle. */
  assetBase: URL | undefined;
  /** Recency halves every `halfLifeMs`; times are stored relative to `baseTimeMs`. */
  halfLifeMs: number;
  baseTimeMs: number;
  breaker: CircuitBreaker;
  log: Log;
  /** An engine fault the fallback absorbed: it counts for health, not as an operation error. */
  onEngineFault: (error: OVMemoryError) => void;
  /** Starts the executor that scans on other threads (handed down by the composition root). */
  startWorkers: (data: WorkerData, settings: PoolSettings) => Promise<ScanExecutor>;
  /** How rows are stored: float32, or int8 or binary codes with the float32 vectors outside the arena. */
  quantization: Quantization;
  /** Quantized rows: candidates scanned per hit wanted, reranked exactly in float32. */
  oversample: number;
  /** Binary rows: candidates per hit wanted that their int8 codes keep for the float32 rerank. */
  refineOversample: number;
  /** Binary rows: the bit scan keeps at least `share` of the rows (at most `max`, and `bytes` of candidates a search). */
  binaryCandidates: { share: number; max: number; bytes: number };
  /** Wraps the calling thread's executor (the project's tests hold or fail scans with it). */
  wrapInline?: ((executor: ScanExecutor, memory: WebAssembly.Memory) => ScanExecutor) | undefined;
}

export interface ScanParams {
  k: number;
  rank: 'priority' | 'similarity';
  alpha: number;
  /** The instant recency is measured at, ms since epoch. */
  nowMs: number;
  /** One bit per id (bit id & 31 of word id >> 5); a clear bit skips the row. Undefined: every live row. */
  allow?: Uint32Array | undefined;
  /** Quantized rows: rerank the candidates exactly (default); false keeps the codes' approximate scores. */
  rerank?: boolean | undefined;
}

/** One scored row: `score` is P in priority mode (0 when S ≤ 0) or S in similarity mode. */
export interface ScanHit {
  id: number;
  similarity: number;
  score: number;
}

export interface ScanControl {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export class ScanEngine {
  readonly arena: Arena;
  readonly rows: RowStore;
  readonly #module: WebAssembly.Module;
  readonly #kernels: KernelExports;
  readonly #inline: ScanExecutor;
  readonly #slots: SlotPool;
  readonly #inFlight = new Set<Promise<unknown>>();
  #pool: Promise<ScanExecutor> | undefined;

  private constructor(module: WebAssembly.Module, private readonly o: EngineOptions) {
    this.#module = module;
    this.arena = new Arena(o.maxBytes, o.shared);
    this.#kernels = instantiateKernels(module, this.arena.memory);
    this.rows = new RowStore(this.arena, o.dim, o.segmentRows, o.firstSegmentRows, o.baseTimeMs, o.quantization);
    const inline = new InlineExecutor(this.#kernels, this.arena.views);
    this.#inline = o.wrapInline ? o.wrapInline(inline, this.arena.memory) : inline;
    this.#slots = new SlotPool(this.arena);
  }

  static async create(o: EngineOptions): Promise<ScanEngine> {
    return new ScanEngine(await loadKernelModule(o.flavor, o.shared, o.assetBase), o);
  }

  #wantsPool(): boolean {
    return this.o.threads > 0 && this.rows.count >= this.o.poolMinRows;
  }

  /**
   * The best `params.k` rows for each query (unit vectors of `dim` values), ordered by score, then
   * similarity, then id. Rejects with OperationTimeoutError or AbortedError when cancelled.
   */
  async topK(queries: readonly Float32Array[], params: ScanParams, control: ScanControl): Promise<ScanHit[][]> {
    const lists = await this.#track(queries, params, control);
    // In priority mode the kernel ranks by ln P; the host speaks P.
    const score = params.rank === 'similarity' ? (key: number) => key : (key: number) => (key === -Infinity ? 0 : Math.exp(key));
    return lists.map((list) => list.map((c) => ({ id: c.id, similarity: c.similarity, score: score(c.key) })));
  }

  #track(queries: readonly Float32Array[], params: ScanParams, control: ScanControl): Promise<Candidate[][]> {
    const run = this.#topK(queries, params, control);
    this.#inFlight.add(run);
    const forget = () => this.#inFlight.delete(run);
    run.then(forget, forget);
    return run;
  }

  async #topK(queries: readonly Float32Array[], params: ScanParams, control: ScanControl): Promise<Candidate[][]> {
    const rowCount = this.rows.count;
    if (rowCount === 0 || queries.length === 0) return queries.map(() => []);
    const executor = await this.#chooseExecutor();
    const quantization = this.o.quantization;
    const coded = quantization !== 'none';
    const stride = this.rows.stride;
    const plans = this.rows.plan(rowCount, executor.parallelism, executor === this.#inline ? this.o.segmentRows : Infinity);
    const kept = this.#candidates(params.k, rowCount, queries.length * plans.length);
    // Binary rows: the kernel scores each kept candidate again by its int8 codes and keeps the best k × refineOversample.
    const refineK = quantization === 'binary' ? Math.ceil(params.k * this.o.refineOversample) : 0;
    const bytesEach = heapBytes(kept, refineK, 8 * this.rows.format.vectorBytes);
    const codeBytesEach = coded ? queryCodeBytes(this.o.dim, quantization) : 0;
    const queryBytes = coded ? queries.length * codeBytesEach : queries.length * stride * 4;
    const heapsBytes = plans.length * queries.length * bytesEach;
    const maskBytes = params.allow?.byteLength ?? 0;
    const slot = this.#slots.acquire(queryBytes + heapsBytes + plans.length * 4 + maskBytes);
    const request = slot.base, queryBase = request + Layout.REQUEST_BYTES, heapBase = queryBase + queryBytes;
    const claimBase = heapBase + heapsBytes, maskBase = claimBase + plans.length * 4;
    const views = this.arena.views;
    for (let i = 0; i < queries.length; i++) {
      if (coded) {
        encodeQuery(queries[i]!, this.o.dim, quantization, views, queryBase + i * codeBytesEach);
        continue;
      }
      const at = (queryBase >>> 2) + i * stride;
      views.f32.set(queries[i]!, at);
      views.f32.fill(0, at + this.o.dim, at + stride);
    }
    if (params.allow) views.u32.set(params.allow, maskBase >>> 2);
    const key = {
      priority: params.rank === 'priority',
      alpha: params.alpha,
      nowSeconds: this.rows.seconds(params.nowMs),
      decayPerSecond: Math.LN2 / (this.o.halfLifeMs / 1000),
    };
    writeRequest(views, request, {
      k: kept,
      mode: key.priority ? ScanMode.PRIORITY : ScanMode.SIMILARITY,
      alpha: key.alpha,
      nowSeconds: key.nowSeconds,
      decayPerSecond: key.decayPerSecond,
      maxLogWeight: this.rows.maxLogWeight,
      stride,
      queries: coded ? 0 : queryBase,
      count: queries.length,
      mask: params.allow ? maskBase : 0,
      codes: coded
        ? {
          quant: QUANT_CODE[quantization], stride: this.rows.format.vectorBytes, queries: queryBase, bytesEach: codeBytesEach,
          refineK, refineStride: this.rows.format.refineBytes, splitBytes: this.rows.format.splitBytes,
        }
        : undefined,
    });
    this.#kernels.startHeaps(request, heapBase, plans.length * queries.length, bytesEach);
    views.i32.fill(0, claimBase >>> 2, (claimBase >>> 2) + plans.length);
    const withdrawals = plans.map(() => new AbortController());

    let reason: 'timeout' | 'abort' | undefined;
    const cancel = (why: 'timeout' | 'abort') => {
      reason ??= why;
      cancelRequest(this.arena.views, request);
      // A task no worker has started yet is withdrawn from the queue; a running one sees the cancel word.
      plans.forEach((_, t) => { if (claimTask(this.arena.views, claimBase + 4 * t, 'host')) withdrawals[t]!.abort(); });
    };
    const stopDeadline = startDeadline(control.timeoutMs, () => cancel('timeout'));
    const onAbort = () => cancel('abort');
    control.signal?.addEventListener('abort', onAbort, { once: true });
    if (control.signal?.aborted) cancel('abort');
    try {
      const tasks = plans.map((pieces, t): ScanTask => ({
        request,
        heaps: heapBase + t * queries.length * bytesEach,
        heapBytes: bytesEach,
        pieces: pieces.flatMap((p) => [p.segment, p.from, p.to]),
        batch: queries.length > 1,
        query: 0,
        queries: queries.length,
        claim: claimBase + 4 * t,
      }));
      const ownPart = this.#ownPart(executor, tasks.length);
      const results = await Promise.all(tasks.map((task, t) => (t === ownPart ? this.#inline : executor).run(task, withdrawals[t]!.signal)));
      await this.#recover(executor, tasks, results, ownPart);
      if (results.some((r) => r.state === 'cancelled')) {
        throw reason === 'abort'
          ? new AbortedError('the search was aborted by its signal', { cause: control.signal?.reason })
          : new OperationTimeoutError(`the search did not finish within ${control.timeoutMs} ms (timeoutMs)`);
      }
      return queries.map((query, q) => {
        const lists = tasks.map((task) => {
          const out: Candidate[] = [];
          readHeap(views, task.heaps + q * bytesEach, out);
          return out;
        });
        if (!coded || params.rerank === false) return mergeCandidates(lists, params.k);
        // The rerank orders what it keeps itself: the candidates need only be the best the heaps hold.
        const candidates = bestUnordered(lists.flat(), refineK || kept);
        return rerank(this.rows, candidates, key, (rows) => this.#exactSimilarities(query, rows), params.k);
      });
    } finally {
      stopDeadline();
      control.signal?.removeEventListener('abort', onAbort);
      this.#slots.release(slot);
    }
  }

  /**
   * Candidates a scan keeps per query and task: k (float32), k × oversample (codes), and for binary
   * rows at least a share of the store, within a byte budget for all `heaps` of the search.
   */
  #candidates(k: number, rows: number, heaps: number): number {
    if (this.o.quantization === 'none') return k;
    const kept = Math.ceil(k * this.o.oversample);
    if (this.o.quantization !== 'binary') return kept;
    const c = this.o.binaryCandidates;
    const affordable = Math.floor(c.bytes / (heaps * 2 * Layout.HEAP_ENTRY_BYTES));
    return Math.max(kept, Math.min(Math.ceil(rows * c.share), c.max, affordable));
  }

  /**
   * Quantized rows: the float32 similarity of the query to each row, by the kernel on this thread
   * over copies of the rows (the float32 vectors live outside the arena), `RERANK_CHUNK` rows at a
   * time in a slot of its own, so the rerank of many candidates needs little arena room.
   */
  #exactSimilarities(query: Float32Array, rows: readonly number[]): Float32Array {
    const stride = this.rows.stride, rowBytes = stride * 4, chunk = Math.min(RERANK_CHUNK, rows.length);
    const out = new Float32Array(rows.length);
    const slot = this.#slots.acquire(rowBytes * (chunk + 1) + 4 * chunk);
    try {
      const f32 = this.arena.views.f32;
      const queryAt = slot.base + Layout.REQUEST_BYTES, rowsAt = queryAt + rowBytes, outAt = rowsAt + chunk * rowBytes;
      // Zero first: the padding past `dim` of the query and of every row must add nothing.
      f32.fill(0, queryAt >>> 2, outAt >>> 2);
      f32.set(query, queryAt >>> 2);
      for (let start = 0; start < rows.length; start += chunk) {
        const count = Math.min(chunk, rows.length - start);
        for (let i = 0; i < count; i++) this.rows.copyVector(rows[start + i]!, f32, (rowsAt >>> 2) + i * stride);
        this.#kernels.dotRows(queryAt, rowsAt, count, stride, outAt);
        out.set(f32.subarray(outAt >>> 2, (outAt >>> 2) + count), start);
      }
      return out;
    } finally {
      this.#slots.release(slot);
    }
  }

  /**
   * The task a lone pooled search scans on the calling thread (−1: none). The calling thread would
   * only wait for the workers otherwise; scanning a part itself hides the pool's round trip (about a
   * millisecond here) behind that part. While other searches run, it stays free for them.
   */
  #ownPart(executor: ScanExecutor, tasks: number): number {
    return executor !== this.#inline && tasks > 1 && this.#inFlight.size === 1 ? tasks - 1 : -1;
  }

  /**
   * Reports the pooled run to the breaker and redoes any failed task on the calling thread. The part
   * the calling thread scanned itself (`ownPart`) says nothing of the pool; when it failed, a worker
   * scans it again.
   */
  async #recover(executor: ScanExecutor, tasks: ScanTask[], results: ScanResult[], ownPart: number): Promise<void> {
    const own = results[ownPart];
    const failed = results.flatMap((r, i) => (r.state === 'errored' && i !== ownPart ? [i] : []));
    if (executor === this.#inline) {
      const first = results[failed[0] ?? -1];
      if (first?.state === 'errored') throw this.#inlineFailure(deserializeError(first.error));
      return;
    }
    if (failed.length === 0) {
      // A scan the caller cancelled says nothing about the engine's health.
      if (results.some((r, i) => r.state === 'cancelled' && i !== ownPart)) this.o.breaker.abandon();
      else this.o.breaker.recordSuccess();
      if (own?.state === 'errored') await this.#redoOwnPart(executor, tasks[ownPart]!, results, ownPart, own.error);
      return;
    }
    this.o.breaker.recordFailure();
    for (const i of failed) {
      const result = results[i]!;
      if (result.state !== 'errored') continue;
      const fault = new EngineFaultError(`a scan worker failed: ${result.error.message}`, { cause: deserializeError(result.error) });
      this.o.log.warn('scan worker failed; retrying its part on the calling thread', { code: fault.code, error: result.error.message });
      this.o.onEngineFault(fault);
      const task = tasks[i]!;
      this.#kernels.startHeaps(task.request, task.heaps, task.queries, task.heapBytes);
      const retry = await this.#inline.run(task);
      results[i] = retry;
      if (retry.state === 'errored') throw this.#inlineFailure(fault);
    }
    // Workers failed and so did the calling thread: nothing is left to fall back on.
    if (own?.state === 'errored') throw this.#inlineFailure(deserializeError(own.error));
  }

  /** The calling thread failed its own part while the workers were sound: a worker scans it. */
  async #redoOwnPart(executor: ScanExecutor, task: ScanTask, results: ScanResult[], ownPart: number, error: SerializedError): Promise<void> {
    this.o.log.warn('the calling thread failed its part of a scan; a worker scans it', { error: error.message });
    this.#kernels.startHeaps(task.request, task.heaps, task.queries, task.heapBytes);
    const retry = await executor.run(task);
    results[ownPart] = retry;
    if (retry.state === 'errored') throw this.#inlineFailure(deserializeError(error));
  }

  /** The calling thread could not scan either: nothing is left to fall back on. */
  #inlineFailure(cause: OVMemoryError): OVMemoryError {
    if (this.o.breaker.state === 'OPEN') {
      return new CircuitOpenError('the circuit breaker is open and the scan failed on the calling thread too', { cause });
    }
    return new EngineFaultError(`the scan failed on the calling thread: ${cause.message}`, { cause });
  }

  /** The pool when the store is big enough and the breaker allows it; the calling thread otherwise. */
  async #chooseExecutor(): Promise<ScanExecutor> {
    if (!this.#wantsPool() || !this.o.breaker.canRequest()) return this.#inline;
    try {
      return await this.#startPool();
    } catch (error) {
      this.#pool = undefined;
      this.o.breaker.recordFailure();
      const fault = new EngineFaultError('the scan worker pool could not start', { cause: error });
      this.o.log.error('scan worker pool failed to start; scanning on the calling thread', { error: String(error) });
      this.o.onEngineFault(fault);
      return this.#inline;
    }
  }

  /** Starts the workers in the background once the store is big enough to need them, so no search waits for them. */
  warmUp(): void {
    if (this.#wantsPool() && !this.#pool) this.#startPool().catch(() => { this.#pool = undefined; });
  }

  #startPool(): Promise<ScanExecutor> {
    this.#pool ??= this.o.startWorkers({ module: this.#module, memory: this.arena.memory }, this.o);
    return this.#pool;
  }

  /** Waits for scans in flight (up to `timeoutMs`), then stops the workers. */
  async close(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    await Promise.race([Promise.allSettled([...this.#inFlight]), deadline]);
    clearTimeout(timer);
    const pool = this.#pool;
    this.#pool = undefined;
    if (pool) await (await pool).close();
  }
}

// Every public type of the library, each field documented where it is declared. Any module may
// import these types; this file imports only types.
import type { Registry } from 'prom-client';
import type { Filter } from './metadata/filter.js';
import type { LoggerLike, LogLevel } from './observability/logger.js';
import type { MetabolicState } from './retrieval/priority.js';
import type { Vector } from './resilience/validation.js';

export type { Filter, LoggerLike, LogLevel, MetabolicState, Vector };
export type { MetricsSnapshot } from './observability/metrics.js';
export type { HealthReport } from './observability/health.js';
export type { ErrorRecord } from './observability/error-log.js';
export type { Recovery } from './persistence/directory.js';

/**
 * Turns texts into vectors (a model in-process, or a client of an embeddings endpoint). With one
 * on the store, `remember` takes texts without vectors and `search`/`context` take a string.
 */
export interface Embedder {
  /** Dimensions of every vector it returns (the store's `dim` defaults to it). */
  readonly dim: number;
  /** One vector per text, in order; sync or async. */
  embed(texts: readonly string[]): readonly Vector[] | Promise<readonly Vector[]>;
}

/**
 * Whose memory it is. A scoped call sees only the memories whose scope has every field it gives
 * (`{ user: 'u1' }` sees all of u1's agents and sessions). Each field: 1 to 256 characters.
 */
export interface Scope {
  user?: string;
  agent?: string;
  session?: string;
}

/** One memory to store. */
export interface MemoryInput {
  /** Its embedding: `dim` finite values, not all zero. Stored unit-normalised. */
  embedding: Vector;
  /** 1 to `maxTextLength` characters, not only white space. */
  text: string;
  /** Intrinsic weight W, finite and > 0. @default 1 */
  weight?: number;
  /** JSON-serialisable, at most 64 KiB as JSON. @default {} */
  metadata?: Record<string, unknown>;
  /** ms since epoch. @default Date.now() (the store's clock) */
  createdAt?: number;
  /** An external id, unique within its scope (the same key may name one memory of each scope). */
  key?: string;
  /** Whose memory it is; it never changes. @default unscoped */
  scope?: Scope;
  /** ms since epoch from which the memory is true (inclusive). @default always */
  validFrom?: number;
  /** ms since epoch at which it stops being true (exclusive). @default never */
  validTo?: number;
  /** After this many ms from `createdAt` the memory is gone (not returned, compacted away). @default the store's `ttlMs` */
  ttlMs?: number;
}

/** A memory for `remember`: as `MemoryInput`, with the embedding made by the store's embedder when left out. */
export type TextInput = Omit<MemoryInput, 'embedding'> & { embedding?: Vector };

export interface RememberOptions extends AddOptions {
  /** The id of the memory this one replaces as true (see `supersede`); one memory only. */
  supersedes?: number;
  /** Bounds the embedder's call. @default 30000 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface AddOptions {
  /** `'focus'` links the new memory to the session focus (and each of a batch to the one before it). @default 'focus' */
  link?: 'focus' | 'none';
  /**
   * Consolidation: a new memory at least this similar (cosine) to one of the same scope, with a
   * near-duplicate text (shingle Jaccard ≥ 0.8), is absorbed by it (its weight and access history)
   * instead of stored. Off by default.
   */
  dedupe?: { threshold: number };
}

/** What `ingest` did with one input: stored as `id`, or absorbed by the existing memory `id`. */
export interface IngestResult {
  id: number;
  deduplicated: boolean;
}

/** What `forget` removes: the memories matching every part given (at least one part). */
export interface ForgetSelector {
  scope?: Scope;
  ids?: number[];
  keys?: string[];
  filter?: Filter;
}

/** What `search`, `context` and `ids` see, beside their filter. */
export interface ViewOptions {
  /** Only memories of this scope. */
  scope?: Scope;
  /** Memories valid at this time (ms since epoch). @default now */
  asOf?: number;
  /** Every memory, whatever its validity (expired TTLs stay gone). @default false */
  includeExpired?: boolean;
}

/** A change to a stored memory; what is not given stays. */
export interface MemoryPatch {
  /** A new intrinsic weight, finite and > 0. */
  weight?: number;
  /** Replaces the metadata whole. */
  metadata?: Record<string, unknown>;
  /** A new text (the memory keeps its id, edges and history). */
  text?: string;
  /** A new embedding (stored unit-normalised in a new row; searches see the old or the new one, never a mix). */
  embedding?: Vector;
  /** A new start of validity (ms since epoch, inclusive). */
  validFrom?: number;
  /** A new end of validity (ms since epoch, exclusive). */
  validTo?: number;
}

export interface SearchOptions extends ViewOptions {
  /** How many hits, 1..maxTopK; above the live count: fewer hits. @default 5 */
  topK?: number;
  /** Drop hits whose score is below it. @default no threshold */
  minScore?: number;
  /** 0..1: the weight of similarity against structure and time. @default 0.75 */
  alpha?: number;
  /**
   * `'priority'` (the 4-factor score) or `'similarity'` (plain cosine), on the vector channel. A
   * string query given a rank searches its embedding that way instead of the hybrid ranking.
   * @default 'priority' for a vector query
   */
  rank?: 'priority' | 'similarity';
  /**
   * A string query's channels: `'hybrid'` (vectors and the lexical index, fused), `'vector'` or
   * `'text'` (the lexical index alone; needs no embedder). Ignored for a vector query.
   * @default 'hybrid' with an embedder, 'text' without
   */
  mode?: 'hybrid' | 'vector' | 'text';
  /**
   * Quantized stores (`quantization` int8 or binary): `false` skips the exact float32 rerank and
   * returns the codes' approximate similarities, each hit marked `approximate: true`. Ignored by a
   * float32 store. @default true
   */
  rerank?: boolean;
  /** A metadata filter, e.g. `{ kind: 'fact', tags: { $in: ['a'] }, year: { $gte: 2020 } }`. */
  filter?: Filter;
  /** The call's deadline in ms (any positive length: a long one never fires early). @default 30000 */
  timeoutMs?: number;
  /** Aborts the call (ABORTED). */
  signal?: AbortSignal;
  /** ms since epoch that recency is measured at. @default Date.now() (the store's clock) */
  now?: number;
}

/** Why a hit ranked where it did: the raw factors and the α used; `score` is the formula applied to them. */
export interface HitFactors {
  similarity: number;
  centrality: number;
  recency: number;
  weight: number;
  alpha: number;
  /** String queries in hybrid or text mode: the BM25 score (0 when the lexical channel did not return it). */
  lexical?: number;
  /** String queries: the 1-based rank in the vector channel, null when it did not return the memory. */
  vectorRank?: number | null;
  /** String queries: the 1-based rank in the lexical channel, null when it did not return the memory. */
  textRank?: number | null;
  /** String queries: the fused score F of the channels, before the graph and the boosts. */
  fused?: number;
  /** String queries: what the memory's best graph neighbour added (γ·F of that neighbour). */
  neighbour?: number;
}

export interface SearchHit {
  id: number;
  score: number;
  similarity: number;
  text: string;
  metadata: Record<string, unknown>;
  key?: string;
  factors: HitFactors;
  /** Present (true) when `similarity` is a quantized code's estimate: a search with `rerank: false`. */
  approximate?: true;
}

export interface MemoryEdge {
  to: number;
  /** In [0, 1]. */
  relevance: number;
  /** `'focus'` for automatic links, `'related'` by default for `link`. */
  type: string;
  createdAt: number;
}

/** A copy of a stored memory. */
export interface MemoryRecord {
  id: number;
  text: string;
  weight: number;
  metadata: Record<string, unknown>;
  createdAt: number;
  centrality: number;
  /** Injections into a context so far. */
  accessCount: number;
  /** The last injection into a context (createdAt before the first). */
  lastAccessedAt: number;
  key?: string;
  /** Its scope, when it has one. */
  scope?: Scope;
  /** Validity bounds, when set (ms since epoch; from inclusive, to exclusive). */
  validFrom?: number;
  validTo?: number;
  /** When its TTL ends (ms since epoch), when it has one. */
  expiresAt?: number;
  /** Outgoing edges, at most 6 (a superseding memory has one of type 'supersedes' to the one it replaced). */
  edges: MemoryEdge[];
  /** With `{ embedding: true }`: the stored unit vector (a copy). */
  embedding?: Float32Array;
  /** With `{ embedding: true }`: the length of the vector as given. */
  norm?: number;
}

export interface ContextOptions extends ViewOptions {
  /** The context's budget in tokens. @default 2000 */
  maxTokens?: number;
  /**
   * The relevance floor: a memory whose cosine similarity to the query is below it is never
   * injected, so a query that matches nothing gets an empty context rather than unrelated memories.
   * Raise it for an embedder whose scores you know (bench/QUALITY.md has the measurement).
   * @default 0.05
   */
  minSimilarity?: number;
  /** The caller's whole token budget; what is left sets the metabolic state. @default none (HEALTHY) */
  budget?: { total: number; used: number };
  /** Counts tokens. @default ceil(length / 4) */
  tokenizer?: (text: string) => number;
  /** How far the walk goes from a seed. @default 4 */
  maxHops?: number;
  /** How many best matches of the scan seed the walk. @default 8 */
  seeds?: number;
  /** Only memories whose metadata match take part (seeds and walk alike). */
  filter?: Filter;
  /** ms since epoch for recency and the loop guardrail. @default Date.now() (the store's clock) */
  now?: number;
  signal?: AbortSignal;
  /** @default 30000 */
  timeoutMs?: number;
}

export interface ContextResult {
  /** The injected texts joined by a newline. */
  context: string;
  ids: number[];
  tokens: number;
  state: MetabolicState;
  /** What each guardrail kept out. */
  blocked: { drift: number; loop: number; redundancy: number };
}

export interface BreakerSettings {
  /** Consecutive engine failures that open the breaker. @default 5 */
  failureThreshold?: number;
  /** ms open before one trial runs half-open. @default 60000 */
  recoveryMs?: number;
  /** Successes in half-open that close it. @default 2 */
  successThreshold?: number;
}

export interface OVMemoryOptions {
  /** Dimensions of every vector (required, unless an embedder gives it or an existing store is opened). */
  dim?: number;
  /** Turns texts into vectors: `remember` then takes texts alone, and `search`/`context` a string. */
  embedder?: Embedder;
  /** @default as many as fit in maxMemoryMB at this dim */
  maxNodes?: number;
  /** Vectors, side columns and text; at most 4095 (wasm32). @default 1024 */
  maxMemoryMB?: number;
  /** @default 10000 */
  maxTextLength?: number;
  /** Scan workers; 0 scans on the calling thread. @default 'auto' (one per core) */
  threads?: number | 'auto';
  /** Recency half-life in ms. @default 86400000 (24 h) */
  halfLifeMs?: number;
  /** Age from `createdAt`, or from the last injection into a context. @default 'created' */
  recency?: 'created' | 'accessed';
  /** With `open()`: fsync per write, group commit every 50 ms, or never. @default 'batch' */
  durability?: 'always' | 'batch' | 'none';
  /** A logger with debug/info/warn/error methods. @default the library's tslog logger */
  logger?: LoggerLike;
  /** @default 'warn' */
  logLevel?: LogLevel;
  breaker?: BreakerSettings;
  /** A prom-client registry to register into (Node). @default a registry of the store's own */
  registry?: Registry;
  /** The `store` label on its metrics. @default 'default' */
  name?: string;
  /** @default 10000 */
  maxTopK?: number;
  /** Metadata fields to index for filters. @default every scalar or array-of-scalar field */
  indexed?: string[];
  /** ms since epoch; tests inject one. @default Date.now */
  clock?: () => number;
  /** With `open()`: salvage what precedes damage, and report what was lost. @default false */
  repair?: boolean;
  /** A TTL for every memory that does not give its own (ms). @default none */
  ttlMs?: number;
  /**
   * At maxNodes or maxMemoryMB: `'reject'` refuses the write (RESOURCE_EXHAUSTION); `'evict'` first removes
   * the memories of lowest priority without a query (centrality · recency · weight). @default 'reject'
   */
  onFull?: 'reject' | 'evict';
  /**
   * The URL of a folder holding the files of `ov-memory/dist/` (the `.wasm` kernels and the
   * `browser-*.js` workers), for a CDN or an app that serves them itself; relative URLs resolve
   * against the page. Another origin must allow CORS (and, for a cross-origin isolated page, CORP).
   * @default beside the bundle, as the bundler emitted them
   */
  assetBase?: string | URL;
  /**
   * With `open()` in a browser: when another tab of the origin has the store open, wait until it
   * closes it instead of failing with `LOCKED` (Node: `UNSUPPORTED`).
   * @default false
   */
  waitForLock?: boolean;
  /**
   * How the scan reads rows: `'none'` scans the float32 vectors; `'int8'` (one byte a dimension) and
   * `'binary'` (one bit) scan codes, then rerank `topK × oversample` candidates exactly in float32,
   * so hits keep their exact similarity. Binary rows also carry int8 codes: the bit scan's
   * candidates are rescored by them in the scan, and the best `topK × 4` reranked in float32.
   * Quantized stores keep the float32 vectors outside the WebAssembly memory (maxMemoryMB then
   * bounds the codes), so they can hold more than 4 GiB of them; a durable store (Node) keeps them on
   * disk, in `vectors.f32` in its directory. Saved with a durable store; codes are rebuilt on open.
   * @default 'none'
   */
  quantization?: 'none' | 'int8' | 'binary';
  /**
   * Quantized stores: candidates the scan keeps per hit wanted, for the rerank. A binary scan keeps
   * at least 1 % of the store's rows (up to 16,384) whatever this says. @default 4 for int8, 128 for binary
   */
  oversample?: number;
}

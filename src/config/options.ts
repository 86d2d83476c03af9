// Options in, resolved options inside: one frozen table of defaults, filled in once by
// `resolveOptions`. Nothing below the facade writes `options.x ?? default` again.
import type { Registry } from 'prom-client';
import type { BreakerSettings, Embedder, OVMemoryOptions } from '../types.js';
import type { LoggerLike, LogLevel } from '../observability/logger.js';
import type { ScanExecutor } from '../engine/executor.js';
import type { PoolSettings } from '../engine/pool-settings.js';
import type { WorkerData } from '../engine/protocol.js';
import { type Quantization, QUANTIZATIONS, rowFormat } from '../engine/quantize.js';
import { DEFAULTS } from './defaults.js';
import {
  checkBoolean,
  checkFinite,
  checkNonNegativeInteger,
  checkObject,
  checkOneOf,
  checkPositiveInteger,
  checkPositiveNumber,
  invalid,
  unknownKeys,
} from '../resilience/validation.js';

/** Settings for tests and benchmarks: not part of the documented API. */
export interface InternalOptions {
  /** The kernel build; default: SIMD where the engine supports it. */
  kernel?: 'simd' | 'scalar';
  poolMinRows?: number;
  segmentRows?: number;
  /** Binary rows: the share of the store a bit scan keeps at least; default DEFAULTS.binaryCandidateShare. */
  binaryCandidateShare?: number;
  atomics?: 'sync' | 'async' | 'disabled';
  executors?: ExecutorOverrides;
  /** A page's durable store: its files in OPFS or in IndexedDB; default OPFS where the worker can. */
  storage?: 'opfs' | 'indexeddb';
}

/** The project's tests swap executors here to hold or fail scans; the product never sets it. */
export interface ExecutorOverrides {
  /** Wraps the calling thread's executor; `memory` is the store's arena. */
  inline?: (executor: ScanExecutor, memory: WebAssembly.Memory) => ScanExecutor;
  /** Starts the pooled executor in place of the platform's. */
  startWorkers?: (data: WorkerData, settings: PoolSettings) => Promise<ScanExecutor>;
}

const KNOWN = [
  'dim', 'maxNodes', 'maxMemoryMB', 'maxTextLength', 'threads', 'halfLifeMs', 'recency', 'durability', 'logger',
  'logLevel', 'breaker', 'registry', 'name', 'maxTopK', 'indexed', 'clock', 'repair', 'embedder', 'internal', 'ttlMs', 'onFull',
  'assetBase', 'waitForLock',
  'quantization', 'oversample',
] as const;

export interface ResolvedOptions {
  dim: number;
  embedder: Embedder | undefined;
  maxNodes: number;
  maxBytes: number;
  maxTextLength: number;
  maxMetadataBytes: number;
  threads: number;
  halfLifeMs: number;
  recency: 'created' | 'accessed';
  durability: 'always' | 'batch' | 'none';
  logger: LoggerLike | undefined;
  logLevel: LogLevel;
  breaker: Required<BreakerSettings>;
  registry: Registry | undefined;
  name: string;
  maxTopK: number;
  indexed: string[] | undefined;
  clock: () => number;
  repair: boolean;
  ttlMs: number | undefined;
  onFull: 'reject' | 'evict';
  quantization: Quantization;
  /** Candidates a quantized scan keeps per hit wanted (1 for float32 rows). */
  oversample: number;
  kernel: 'simd' | 'scalar' | undefined;
  segmentRows: number;
  firstSegmentRows: number;
  poolMinRows: number;
  binaryCandidateShare: number;
  atomics: 'sync' | 'async' | 'disabled';
  executors: ExecutorOverrides;
  /** The folder the wasm files and worker scripts are loaded from; undefined: beside the bundle. */
  assetBase: URL | undefined;
  /** Keys the caller passed that no option has (warned about once the logger exists). */
  unknownKeys: string[];
}

/** Bytes one row takes in the arena: its vector column (or codes), side columns, and any scale and refining codes. */
export function rowBytes(dim: number, quantization: Quantization = 'none'): number {
  const format = rowFormat(dim, quantization);
  return format.vectorBytes + format.refineBytes + 3 * 8 + 4 + 1 + (format.scaled ? 4 : 0) + (format.splitBytes > 0 ? 4 : 0);
}

/** Validates the caller's options (throwing InvalidDataError, naming the option) and fills in defaults. */
export function resolveOptions(input: unknown, cores: number): ResolvedOptions {
  const o = checkObject(input, 'options') as Partial<OVMemoryOptions> & { internal?: InternalOptions };
  const embedder = o.embedder === undefined ? undefined : checkEmbedder(o.embedder);
  const dim = checkPositiveInteger(o.dim ?? embedder?.dim, 'dim', 65_536);
  if (embedder && embedder.dim !== dim) throw invalid('dim', `the embedder's dimension (${embedder.dim}), or left out`, dim);
  const maxMemoryMB = o.maxMemoryMB === undefined ? DEFAULTS.maxMemoryMB : checkPositiveNumber(o.maxMemoryMB, 'maxMemoryMB');
  if (maxMemoryMB > DEFAULTS.maxMemoryMBCap) throw invalid('maxMemoryMB', `at most ${DEFAULTS.maxMemoryMBCap} (wasm32 addresses 4 GiB)`, maxMemoryMB);
  const maxBytes = Math.floor(maxMemoryMB * 1024 * 1024);
  const threads = o.threads === undefined || o.threads === 'auto'
    ? cores
    : checkNonNegativeInteger(o.threads, 'threads', 256);
  const breaker = o.breaker === undefined ? {} : (checkObject(o.breaker, 'breaker') as BreakerSettings);
  const internal = o.internal ?? {};
  const quantization = o.quantization === undefined ? DEFAULTS.quantization : checkOneOf(o.quantization, QUANTIZATIONS, 'quantization');
  const oversample = o.oversample === undefined ? DEFAULTS.oversample[quantization] : checkOversample(o.oversample);
  if (o.clock !== undefined && typeof o.clock !== 'function') throw invalid('clock', 'a function returning ms since epoch', o.clock);
  if (o.logger !== undefined && (typeof o.logger !== 'object' || o.logger === null || typeof o.logger.warn !== 'function')) {
    throw invalid('logger', 'an object with debug, info, warn and error methods', o.logger);
  }
  if (o.indexed !== undefined && (!Array.isArray(o.indexed) || o.indexed.some((f) => typeof f !== 'string'))) {
    throw invalid('indexed', 'an array of field names', o.indexed);
  }
  return {
    dim,
    embedder,
    maxNodes: o.maxNodes === undefined
      ? Math.max(1, Math.floor(maxBytes / (rowBytes(dim, quantization) + DEFAULTS.estimatedTextBytes)))
      : checkPositiveInteger(o.maxNodes, 'maxNodes', 2 ** 32 - 2),
    maxBytes,
    maxTextLength: o.maxTextLength === undefined ? DEFAULTS.maxTextLength : checkPositiveInteger(o.maxTextLength, 'maxTextLength'),
    maxMetadataBytes: DEFAULTS.maxMetadataBytes,
    threads,
    halfLifeMs: o.halfLifeMs === undefined ? DEFAULTS.halfLifeMs : checkPositiveNumber(o.halfLifeMs, 'halfLifeMs'),
    recency: o.recency === undefined ? DEFAULTS.recency : checkOneOf(o.recency, ['created', 'accessed'], 'recency'),
    durability: o.durability === undefined ? DEFAULTS.durability : checkOneOf(o.durability, ['always', 'batch', 'none'], 'durability'),
    logger: o.logger,
    logLevel: o.logLevel === undefined ? DEFAULTS.logLevel : checkOneOf(o.logLevel, ['debug', 'info', 'warn', 'error', 'silent'], 'logLevel'),
    breaker: {
      failureThreshold: breaker.failureThreshold === undefined
        ? DEFAULTS.breaker.failureThreshold : checkPositiveInteger(breaker.failureThreshold, 'breaker.failureThreshold'),
      recoveryMs: breaker.recoveryMs === undefined ? DEFAULTS.breaker.recoveryMs : checkFinite(breaker.recoveryMs, 'breaker.recoveryMs'),
      successThreshold: breaker.successThreshold === undefined
        ? DEFAULTS.breaker.successThreshold : checkPositiveInteger(breaker.successThreshold, 'breaker.successThreshold'),
    },
    registry: o.registry,
    name: o.name === undefined ? DEFAULTS.name : checkOneName(o.name),
    maxTopK: o.maxTopK === undefined ? DEFAULTS.maxTopK : checkPositiveInteger(o.maxTopK, 'maxTopK', 1_000_000),
    indexed: o.indexed,
    clock: o.clock ?? Date.now,
    repair: o.repair === undefined ? false : checkBoolean(o.repair, 'repair'),
    ttlMs: o.ttlMs === undefined ? undefined : checkPositiveNumber(o.ttlMs, 'ttlMs'),
    onFull: o.onFull === undefined ? 'reject' : checkOneOf(o.onFull, ['reject', 'evict'], 'onFull'),
    quantization,
    oversample,
    kernel: internal.kernel,
    segmentRows: internal.segmentRows ?? DEFAULTS.segmentRows,
    firstSegmentRows: firstSegmentRows(maxBytes, rowBytes(dim, quantization), internal.segmentRows ?? DEFAULTS.segmentRows),
    poolMinRows: internal.poolMinRows ?? Math.ceil(DEFAULTS.poolMinBytes / rowFormat(dim, quantization).vectorBytes),
    binaryCandidateShare: internal.binaryCandidateShare ?? DEFAULTS.binaryCandidateShare,
    atomics: internal.atomics ?? DEFAULTS.atomics,
    executors: internal.executors ?? {},
    assetBase: o.assetBase === undefined ? undefined : checkAssetBase(o.assetBase),
    unknownKeys: unknownKeys(o, KNOWN),
  };
}

/** The first segment takes at most an eighth of the memory limit, so a small store can still hold rows. */
function firstSegmentRows(maxBytes: number, bytesPerRow: number, segmentRows: number): number {
  const fit = 2 ** Math.floor(Math.log2(Math.max(1, maxBytes / 8 / bytesPerRow)));
  return Math.max(1, Math.min(segmentRows, DEFAULTS.firstSegmentRows, fit));
}

function checkEmbedder(value: unknown): Embedder {
  const e = value as Partial<Embedder> | null;
  if (typeof e !== 'object' || e === null || typeof e.embed !== 'function') throw invalid('embedder', 'an object with `dim` and an `embed(texts)` method', value);
  checkPositiveInteger(e.dim, 'embedder.dim', 65_536);
  return e as Embedder;
}

function checkOversample(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1 || value > DEFAULTS.maxOversample) {
    throw invalid('oversample', `a number from 1 to ${DEFAULTS.maxOversample}`, value);
  }
  return value;
}

function checkOneName(value: unknown): string {
  if (typeof value !== 'string' || !/^[\w.-]{1,64}$/.test(value)) throw invalid('name', 'a name of 1 to 64 letters, digits, _, . or -', value);
  return value;
}

/** A folder URL, absolute or relative to the page; a missing trailing slash is added (a folder, not a file). */
export function checkAssetBase(value: unknown): URL {
  const text = value instanceof URL ? value.href : value;
  if (typeof text !== 'string' || text.length === 0) throw invalid('assetBase', 'a URL (string or URL) of the folder holding the files of ov-memory/dist/', value);
  let url: URL;
  try {
    url = new URL(text, globalThis.location?.href);
  } catch {
    throw invalid('assetBase', 'a URL (string or URL) of the folder holding the files of ov-memory/dist/', value);
  }
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  return url;
}

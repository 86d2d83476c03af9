// What `ov-memory bench` measures. Cases come in groups that share one resource (a store, a peer's
// index, the number[][] copy of the corpus): a group is opened, its cases are timed, and it is closed
// before the next one opens, so at most one copy of the corpus besides the original is alive at a time.
import v8 from 'node:v8';
import { OVMemory } from '../index.js';
import { simdSupported } from '../engine/wasm.js';
import { DEFAULTS } from '../config/defaults.js';
import { rowBytes, type InternalOptions } from '../config/options.js';
import type { OVMemoryOptions } from '../types.js';
import type { Quantization } from '../engine/quantize.js';
import { jsTopK, langchainTopK, toNumberArrays, type Corpus } from './bench-data.js';

export interface BenchContext {
  corpus: Corpus;
  k: number;
  batch: number;
  threads: number;
  peers: Peers;
}

export interface TimedCase {
  /** The key in the JSON and the chart. */
  id: string;
  label: string;
  /** Queries answered by one call of `run` (the batch size for batch cases). */
  queriesPerCall: number;
  run(): unknown;
  /** The ids this case returns for one query: its correctness check. */
  topK(query: Float32Array): number[] | Promise<number[]>;
  /** An approximate scan (quantized codes): its recall is measured over every query, not one; a batch case answers them in one call. */
  approximate?: boolean;
  topKAll?(queries: readonly Float32Array[]): Promise<number[][]>;
}

export type OpenedGroup = { cases: TimedCase[]; close(): unknown } | { skipped: string };
export type CaseGroup = (context: BenchContext) => Promise<OpenedGroup>;

/** Cycles through a list, so consecutive calls do not hit the same query in cache. */
function cycle<T>(items: readonly T[]): () => T {
  let next = 0;
  return () => items[next++ % items.length]!;
}

/** Similarity ranking, and a deadline no loaded machine reaches (the store's default would cut a slow batch short). */
const SIMILARITY = { rank: 'similarity', timeoutMs: 3_600_000 } as const;

const jsScan: CaseGroup = async ({ corpus, k }) => {
  const query = cycle(corpus.queries);
  return {
    cases: [{
      id: 'js', label: 'plain JavaScript Float32Array loop', queriesPerCall: 1,
      run: () => jsTopK(corpus, query(), k),
      topK: (q) => jsTopK(corpus, q, k),
    }],
    close: () => undefined,
  };
};

const langchainScan: CaseGroup = async ({ corpus, k }) => {
  const needMB = (corpus.n * corpus.dim * 8) / 2 ** 20;
  const heap = v8.getHeapStatistics();
  const freeMB = (heap.heap_size_limit - heap.used_heap_size) / 2 ** 20;
  if (needMB > freeMB / 2) {
    return { skipped: `LangChain-style number[][] scan skipped: its rows need ${needMB.toFixed(0)} MB of JavaScript heap and ${freeMB.toFixed(0)} MB are free (node --max-old-space-size raises it)` };
  }
  const rows = toNumberArrays(corpus);
  const queries = corpus.queries.map((q) => Array.from(q));
  const query = cycle(queries);
  return {
    cases: [{
      id: 'langchain', label: 'LangChain-style number[][] cosine', queriesPerCall: 1,
      run: () => langchainTopK(rows, query(), k),
      topK: (q) => langchainTopK(rows, Array.from(q), k),
    }],
    close: () => { rows.length = 0; },
  };
};

/** Bytes a memory of a one-character text takes besides its row: the text and its lexical index, as the store counts them. */
const HOST_BYTES_PER_ROW = 64;

/** Limits that hold n rows: the segments rounded up, one-character texts, room for request slots. */
export function storeLimits(n: number, dim: number, quantization: Quantization = 'none'): { maxNodes: number; maxMemoryMB: number } {
  const bytes = (n + 2 * DEFAULTS.segmentRows) * rowBytes(dim, quantization) + HOST_BYTES_PER_ROW * n;
  return { maxNodes: n, maxMemoryMB: Math.ceil(bytes / 2 ** 20) + 64 };
}

async function openStore({ corpus }: BenchContext, settings: Pick<OVMemoryOptions, 'threads' | 'quantization'> & { internal?: InternalOptions }): Promise<OVMemory> {
  const { n, dim, data } = corpus;
  const options: OVMemoryOptions & { internal?: InternalOptions } = { dim, ...storeLimits(n, dim, settings.quantization), logLevel: 'error', ...settings };
  const memory = await OVMemory.create(options);
  const chunk = 16_384;
  for (let start = 0; start < n; start += chunk) {
    const rows = Math.min(chunk, n - start);
    memory.addMany(Array.from({ length: rows }, (_, j) => ({
      embedding: data.subarray((start + j) * dim, (start + j + 1) * dim),
      text: 't',
    })), { link: 'none' });
  }
  return memory;
}

function storeCase(memory: OVMemory, context: BenchContext, id: string, label: string): TimedCase {
  const query = cycle(context.corpus.queries), k = context.k;
  return {
    id, label, queriesPerCall: 1,
    run: () => memory.search(query(), { topK: k, ...SIMILARITY }),
    topK: async (q) => (await memory.search(q, { topK: k, ...SIMILARITY })).map((hit) => hit.id),
  };
}

const scalarWasm: CaseGroup = async (context) => {
  const memory = await openStore(context, { threads: 0, internal: { kernel: 'scalar' } });
  return { cases: [storeCase(memory, context, 'scalar', 'ov-memory, scalar WASM, 1 thread')], close: () => memory.close() };
};

const simdWasm: CaseGroup = async (context) => {
  if (!simdSupported()) return { skipped: 'SIMD WASM skipped: this engine has no WebAssembly SIMD' };
  const memory = await openStore(context, { threads: 0 });
  return { cases: [storeCase(memory, context, 'simd', 'ov-memory, SIMD WASM, 1 thread')], close: () => memory.close() };
};

const workerPool: CaseGroup = async (context) => {
  const { threads, batch, k, corpus } = context;
  // poolMinRows 0: the pool scans every size, also those the store would keep on the calling thread.
  const memory = await openStore(context, { threads, internal: { poolMinRows: 0 } });
  const kernel = simdSupported() ? 'SIMD' : 'scalar';
  const batchQueries = Array.from({ length: batch }, (_, i) => corpus.queries[i % corpus.queries.length]!);
  const priorityQuery = cycle(corpus.queries);
  return {
    cases: [
      storeCase(memory, context, 'pool', `ov-memory, ${kernel} WASM, pool of ${threads}`),
      {
        // The same scan ranked by the 4-factor priority: the logarithm per candidate is its extra cost.
        id: 'priority', label: `ov-memory, pool of ${threads}, priority ranking`, queriesPerCall: 1,
        run: () => memory.search(priorityQuery(), { topK: k, rank: 'priority', timeoutMs: SIMILARITY.timeoutMs }),
        topK: async (q) => (await memory.search(q, { topK: k, rank: 'priority' })).map((hit) => hit.id),
      },
      {
        id: 'searchMany', label: `ov-memory searchMany, batch of ${batch}`, queriesPerCall: batch,
        run: () => memory.searchMany(batchQueries, { topK: k, ...SIMILARITY }),
        topK: async (q) => (await memory.searchMany([q, ...batchQueries.slice(1)], { topK: k, ...SIMILARITY }))[0]!.map((hit) => hit.id),
      },
    ],
    close: () => memory.close(),
  };
};

/** Quantized rows in the pool: codes scanned, `k × oversample` candidates reranked exactly in float32. */
function quantizedPool(quantization: Exclude<Quantization, 'none'>): CaseGroup {
  return async (context) => {
    const { threads, batch, k, corpus } = context;
    const memory = await openStore(context, { threads, quantization, internal: { poolMinRows: 0 } });
    const batchQueries = Array.from({ length: batch }, (_, i) => corpus.queries[i % corpus.queries.length]!);
    return {
      cases: [
        { ...storeCase(memory, context, quantization, `ov-memory ${quantization} + rerank, pool of ${threads}`), approximate: true },
        {
          id: `${quantization}Batch`, label: `ov-memory ${quantization} searchMany, batch of ${batch}`, queriesPerCall: batch, approximate: true,
          run: () => memory.searchMany(batchQueries, { topK: k, ...SIMILARITY }),
          topK: async (q) => (await memory.searchMany([q, ...batchQueries.slice(1)], { topK: k, ...SIMILARITY }))[0]!.map((hit) => hit.id),
          topKAll: async (queries) => (await memory.searchMany(queries, { topK: k, ...SIMILARITY })).map((list) => list.map((hit) => hit.id)),
        },
      ],
      close: () => memory.close(),
    };
  };
}

/**
 * What a search costs besides scanning rows — validation, normalising the query, the request slot,
 * the deadline, the merge, metrics and logs — measured on a store of one row: ms per call.
 */
export async function fixedCostPerCall(context: Pick<BenchContext, 'corpus' | 'k'>, budgetMs: number, time: (run: () => unknown, budgetMs: number) => Promise<{ ms: number }>): Promise<number> {
  const { dim, queries } = context.corpus;
  const memory = await OVMemory.create({ dim, threads: 0, logLevel: 'error' });
  try {
    memory.add({ embedding: queries[0]!, text: 't' });
    const query = cycle(queries);
    return (await time(() => memory.search(query(), { topK: context.k }), budgetMs)).ms;
  } finally {
    await memory.close();
  }
}

// ---- peers: native libraries, measured when installed -----------------------------------------

/** The few calls made to usearch. */
interface Usearch {
  MetricKind: { IP: unknown };
  exactSearch(dataset: Float32Array, queries: Float32Array, dimensions: number, count: number, metric: unknown, threads: number): { keys: BigUint64Array };
}

/** The few calls made to hnswlib-node. */
interface BruteforceIndex {
  initIndex(maxElements: number): void;
  addPoint(point: number[], label: number): void;
  searchKnn(query: number[], k: number): { neighbors: number[] };
}
type Hnswlib = { BruteforceSearch: new (space: 'ip', dim: number) => BruteforceIndex };

/** A missing peer measures nothing; loadPeers has already noted it once. */
const NOT_INSTALLED: OpenedGroup = { cases: [], close: () => undefined };

export interface Peers {
  usearch?: Usearch;
  hnswlib?: Hnswlib;
}

/** Imports the optional peers; each one missing or failing to load becomes a note. */
export async function loadPeers(): Promise<{ peers: Peers; notes: string[] }> {
  const notes: string[] = [];
  const load = async (name: string): Promise<Record<string, unknown> | undefined> => {
    try {
      // A variable specifier: the bundler leaves the import to run time, where the peer may be absent.
      return (await import(name)) as Record<string, unknown>;
    } catch (error) {
      const missing = (error as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND';
      notes.push(`${name} ${missing ? 'is not installed' : `could not be loaded (${String((error as Error).message).split('\n')[0]})`}: skipped`);
      return undefined;
    }
  };
  const usearch = await load('usearch');
  const hnswlib = await load('hnswlib-node');
  const peers: Peers = {};
  if (usearch) peers.usearch = usearch as unknown as Usearch;
  if (hnswlib) peers.hnswlib = ('BruteforceSearch' in hnswlib ? hnswlib : hnswlib.default) as Hnswlib;
  return { peers, notes };
}

const usearchScan: CaseGroup = async ({ peers, corpus, k, batch, threads }) => {
  const usearch = peers.usearch;
  if (!usearch) return NOT_INSTALLED;
  const { data, dim, queries } = corpus;
  const search = (q: Float32Array, count = k) => usearch.exactSearch(data, q, dim, count, usearch.MetricKind.IP, threads);
  // usearch ignores a typed array's byte offset: every query it gets is a copy, never a subarray.
  const copies = queries.map((q) => q.slice());
  const query = cycle(copies);
  const batchQueries = new Float32Array(batch * dim);
  for (let i = 0; i < batch; i++) batchQueries.set(queries[i % queries.length]!, i * dim);
  const ids = (keys: BigUint64Array) => Array.from(keys, Number);
  return {
    cases: [
      {
        id: 'usearch', label: `usearch exactSearch (native), ${threads} threads`, queriesPerCall: 1,
        run: () => search(query()),
        topK: (q) => ids(search(q.slice()).keys),
      },
      {
        id: 'usearchBatch', label: `usearch exactSearch, batch of ${batch}`, queriesPerCall: batch,
        run: () => search(batchQueries),
        topK: (q) => {
          const withCheck = batchQueries.slice();
          withCheck.set(q, 0);
          return ids(search(withCheck).keys.subarray(0, k));
        },
      },
    ],
    close: () => undefined,
  };
};

const hnswlibScan: CaseGroup = async ({ peers, corpus, k }) => {
  if (!peers.hnswlib) return NOT_INSTALLED;
  const { data, n, dim, queries } = corpus;
  const index = new peers.hnswlib.BruteforceSearch('ip', dim);
  index.initIndex(n);
  for (let i = 0; i < n; i++) index.addPoint(Array.from(data.subarray(i * dim, (i + 1) * dim)), i);
  const query = cycle(queries.map((q) => Array.from(q)));
  return {
    cases: [{
      id: 'hnswlib', label: 'hnswlib-node BruteforceSearch (native)', queriesPerCall: 1,
      run: () => index.searchKnn(query(), k),
      topK: (q) => index.searchKnn(Array.from(q), k).neighbors,
    }],
    close: () => undefined,
  };
};

/** In table order: the JavaScript scan first, since every other case is compared with it. */
export const CASE_GROUPS: readonly CaseGroup[] = [
  jsScan, langchainScan, scalarWasm, simdWasm, workerPool, quantizedPool('int8'), quantizedPool('binary'), usearchScan, hnswlibScan,
];

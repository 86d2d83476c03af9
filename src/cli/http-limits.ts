// Bounds on what one request may make the service do and answer, so a small body cannot run the
// process out of memory: a batch's queries × topK is capped before it is searched, and an answer's
// size is estimated from its hits' text and metadata before it is serialised. A batch is searched a
// block of queries at a time, so the estimate stops it before the hits (each a copy of its memory's
// text and metadata) can outgrow the limit. Both refusals are 413 (the request asks for too much).
import { DEFAULTS } from '../internal.js';
import type { OVMemory, SearchHit, SearchOptions } from '../index.js';
import { invalidWithStatus } from './http-errors.js';

/** Hits per block of a batch: enough queries per call for the kernel's blocking, few enough copies held at once. */
const BLOCK_HITS = 2_048;

/** JSON a hit carries besides its text and metadata (id, scores, factors, key), rounded up. */
const HIT_OVERHEAD_BYTES = 320;

/** The batch's topK as the library will take it, or undefined for one it will refuse (its message then). */
function effectiveTopK(topK: unknown): number | undefined {
  const k = topK === undefined ? DEFAULTS.topK : topK;
  return typeof k === 'number' && Number.isInteger(k) && k >= 1 ? k : undefined;
}

/** Refuses a batch whose hits (queries × topK) would pass `maxHits`; an invalid topK is left to the library. */
export function checkBatchHits(queries: number, topK: unknown, maxHits: number): void {
  const k = effectiveTopK(topK);
  if (k !== undefined && queries * k > maxHits) {
    throw invalidWithStatus(
      `Expected \`vectors.length\` × \`topK\` to be at most ${maxHits.toLocaleString('en')} hits, got ${queries.toLocaleString('en')} × ${k} = ${(queries * k).toLocaleString('en')}: split the batch, or raise --max-batch-hits`,
      413, { field: 'vectors', queries, topK: k, maxHits },
    );
  }
}

/**
 * `searchMany` a block of queries at a time, each block's answer counted against `maxBytes` before
 * the next runs. The blocks share one deadline: the request's `timeoutMs` (or the library's default).
 */
export async function boundedSearchMany(memory: OVMemory, queries: number[][], options: SearchOptions, maxBytes: number): Promise<SearchHit[][]> {
  const k = effectiveTopK(options.topK);
  // A topK the library refuses: one call, for its message.
  if (k === undefined || queries.length === 0) return memory.searchMany(queries, options);
  const blockQueries = Math.max(4, Math.floor(BLOCK_HITS / k));
  const timeoutMs = options.timeoutMs ?? DEFAULTS.timeoutMs;
  const started = performance.now();
  const budget = new AnswerBudget(maxBytes, queries.length * Math.min(k, memory.size));
  const results: SearchHit[][] = [];
  for (let first = 0; first < queries.length; first += blockQueries) {
    const remainingMs = first === 0 ? timeoutMs : Math.max(1, timeoutMs - (performance.now() - started));
    const block = await memory.searchMany(queries.slice(first, first + blockQueries), { ...options, timeoutMs: remainingMs });
    for (const hits of block) budget.add(hits);
    results.push(...block);
  }
  return results;
}

/** Refuses an answer whose JSON would pass `maxBytes`. */
export function checkAnswerBytes(lists: readonly (readonly SearchHit[])[], maxBytes: number): void {
  const budget = new AnswerBudget(maxBytes, lists.reduce((n, list) => n + list.length, 0));
  for (const hits of lists) budget.add(hits);
}

/**
 * The bytes an answer's hits will take as JSON, summed as they come. Each distinct memory's metadata
 * is measured once (a batch repeats the same memories); over the limit, it throws at once.
 */
class AnswerBudget {
  readonly #metadataBytes = new Map<number, number>();
  #bytes = 0;

  /** `hits`: how many the whole answer holds (at most), for the message. */
  constructor(readonly maxBytes: number, readonly hits: number) {}

  add(hits: readonly SearchHit[]): void {
    const { maxBytes } = this;
    for (const hit of hits) {
      let metadata = this.#metadataBytes.get(hit.id);
      if (metadata === undefined) {
        metadata = Buffer.byteLength(JSON.stringify(hit.metadata));
        this.#metadataBytes.set(hit.id, metadata);
      }
      this.#bytes += HIT_OVERHEAD_BYTES + Buffer.byteLength(hit.text) + metadata;
      if (this.#bytes > maxBytes) {
        throw invalidWithStatus(
          `the answer (up to ${this.hits.toLocaleString('en')} hits with their text and metadata) would be over ${(maxBytes / 2 ** 20).toFixed(0)} MiB: ask for fewer hits (topK, fewer vectors, a filter), or raise --max-answer-mb`,
          413, { maxBytes },
        );
      }
    }
  }
}

// Bounds on what one request may make the service do and answer, so a small body cannot run the
// process out of memory: a batch's queries × topK is capped before it is searched, and an answer's
// size is estimated from its hits' text and metadata before it is serialised. Both refusals are 413
// (the request asks for too much) and leave the service as it was.
import { DEFAULTS } from '../internal.js';
import type { SearchHit } from '../index.js';
import { invalidWithStatus } from './http-errors.js';

/** JSON a hit carries besides its text and metadata (id, scores, factors, key), rounded up. */
const HIT_OVERHEAD_BYTES = 320;

/** Refuses a batch whose hits (queries × topK) would pass `maxHits`; an invalid topK is left to the library. */
export function checkBatchHits(queries: number, topK: unknown, maxHits: number): void {
  const k = topK === undefined ? DEFAULTS.topK : topK;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) return;
  if (queries * k > maxHits) {
    throw invalidWithStatus(
      `Expected \`vectors.length\` × \`topK\` to be at most ${maxHits.toLocaleString('en')} hits, got ${queries.toLocaleString('en')} × ${k} = ${(queries * k).toLocaleString('en')}: split the batch, or raise --max-batch-hits`,
      413, { field: 'vectors', queries, topK: k, maxHits },
    );
  }
}

/**
 * Refuses an answer whose JSON would pass `maxBytes`. Each distinct memory's metadata is measured
 * once (a batch repeats the same memories), and the walk stops as soon as the sum is over.
 */
export function checkAnswerBytes(lists: readonly (readonly SearchHit[])[], maxBytes: number): void {
  const metadataBytes = new Map<number, number>();
  let bytes = 0;
  for (const hits of lists) {
    for (const hit of hits) {
      let metadata = metadataBytes.get(hit.id);
      if (metadata === undefined) {
        metadata = Buffer.byteLength(JSON.stringify(hit.metadata));
        metadataBytes.set(hit.id, metadata);
      }
      bytes += HIT_OVERHEAD_BYTES + Buffer.byteLength(hit.text) + metadata;
      if (bytes > maxBytes) {
        const hitCount = lists.reduce((n, list) => n + list.length, 0);
        throw invalidWithStatus(
          `the answer (${hitCount.toLocaleString('en')} hits with their text and metadata) would be over ${(maxBytes / 2 ** 20).toFixed(0)} MiB: ask for fewer hits (topK, fewer vectors, a filter), or raise --max-answer-mb`,
          413, { maxBytes },
        );
      }
    }
  }
}

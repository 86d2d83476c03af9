// Texts into vectors through the store's embedder: one batched call per operation, held to the
// call's deadline and signal, its answer checked (one vector per text, `dim` finite values, not
// zero). An embedder that throws, rejects or runs past the deadline is EMBEDDER_FAULT; an answer of
// the wrong shape is INVALID_DATA naming it. Query embeddings are kept in a small LRU cache.
import { startDeadline } from '../engine/deadline.js';
import { AbortedError, EmbedderFaultError, InvalidDataError, OperationTimeoutError } from '../resilience/errors.js';
import { toUnitVector } from '../resilience/validation.js';
import type { Embedder } from '../types.js';

export interface EmbedControl {
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** Time in the embedder (the caller's code) is added here, for health to leave out. */
  meter?: { callerMs: number } | undefined;
}

const QUERY_CACHE_SIZE = 256;

export class TextEmbedding {
  /** Query text → unit vector, most recently used last (a Map keeps insertion order). */
  readonly #cache = new Map<string, Float32Array>();

  constructor(private readonly embedder: Embedder, readonly dim: number) {}

  /** Unit vectors (and the lengths as given) for `texts`, in order. */
  async embed(texts: readonly string[], control: EmbedControl): Promise<{ unit: Float32Array; norm: number }[]> {
    if (texts.length === 0) return [];
    const answer = await this.#call(texts, control);
    if (!Array.isArray(answer) || answer.length !== texts.length) {
      throw new InvalidDataError(`\`embedder.embed()\` returned ${Array.isArray(answer) ? `${answer.length} vectors` : typeof answer} for ${texts.length} texts, expected one vector per text`, { details: { field: 'embedder' } });
    }
    return answer.map((vector, i) => {
      const { unit, norm } = toUnitVector(vector, this.dim, `embedder.embed()[${i}]`);
      return { unit, norm };
    });
  }

  /** A query's unit vector, from the cache when the same text was embedded lately. */
  async query(text: string, control: EmbedControl): Promise<Float32Array> {
    const cached = this.#cache.get(text);
    if (cached) {
      this.#cache.delete(text);
      this.#cache.set(text, cached);
      return cached;
    }
    const { unit } = (await this.embed([text], control))[0]!;
    this.#cache.set(text, unit);
    if (this.#cache.size > QUERY_CACHE_SIZE) this.#cache.delete(this.#cache.keys().next().value!);
    return unit;
  }

  /** The embedder's answer, or the deadline's or the signal's error, whichever comes first. */
  #call(texts: readonly string[], control: EmbedControl): Promise<unknown> {
    if (control.signal?.aborted) return Promise.reject(new AbortedError('the call was aborted by its signal', { cause: control.signal.reason }));
    return new Promise((resolve, reject) => {
      const stop = startDeadline(control.timeoutMs, () => {
        done();
        reject(new EmbedderFaultError(`the embedder did not answer within ${control.timeoutMs} ms (timeoutMs)`, {
          cause: new OperationTimeoutError('embedder timed out'), details: { field: 'embedder' },
        }));
      });
      const onAbort = () => {
        done();
        reject(new AbortedError('the call was aborted by its signal', { cause: control.signal?.reason }));
      };
      const started = performance.now();
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        if (control.meter) control.meter.callerMs += performance.now() - started;
        stop();
        control.signal?.removeEventListener('abort', onAbort);
      };
      control.signal?.addEventListener('abort', onAbort, { once: true });
      let pending: unknown;
      try {
        pending = this.embedder.embed(texts);
      } catch (cause) {
        done();
        reject(fault(cause));
        return;
      }
      Promise.resolve(pending).then(
        (value) => { done(); resolve(value); },
        (cause: unknown) => { done(); reject(fault(cause)); },
      );
    });
  }
}

function fault(cause: unknown): EmbedderFaultError {
  return new EmbedderFaultError(`the embedder failed: ${String((cause as Error)?.message ?? cause)}`, { cause, details: { field: 'embedder' } });
}

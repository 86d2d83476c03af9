// `ov-memory/embedders/openai`: any OpenAI-compatible `POST {baseURL}/embeddings` endpoint (OpenAI,
// Ollama, vLLM, LM Studio, llama.cpp's server). Texts go in batches, one request at a time; a 408,
// 409, 429 or 5xx answer, a network error or a timed-out request is retried with exponential backoff
// and full jitter (or after the server's Retry-After), as OpenAI's own SDK does. Every failure is an
// `EmbedderFaultError` carrying the status and the cause. Uses only `fetch`: Node 20 and browsers.
import { AbortedError, EmbedderFaultError } from 'ov-memory';

import { checkTexts, invalid, nonNegativeInteger, positiveInteger, type TextEmbedder } from './checks.js';

export interface OpenAIEmbedderOptions {
  /** The API's base, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`; requests go to `{baseURL}/embeddings`. */
  baseURL: string;
  /** The embedding model, e.g. `text-embedding-3-small` or `nomic-embed-text`. */
  model: string;
  /** Sent as `Authorization: Bearer …` when given. */
  apiKey?: string;
  /**
   * The vector length: sent to the API as `dimensions` (models that can shorten their output), and
   * the embedder's `dim`. Without it, one request embeds a probe text to learn the model's length.
   */
  dimensions?: number;
  /** @default 64 texts per request */
  batchSize?: number;
  /** Retries of one request after a retryable failure. @default 2 */
  maxRetries?: number;
  /** Deadline of one request (each retry has its own). @default 30000 */
  timeoutMs?: number;
  /** The first retry's backoff ceiling, doubled for each next one, capped at 8 s. @default 500 */
  retryDelayMs?: number;
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
  /** How to wait between retries. @default a timer */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface EmbedOptions {
  /** Cancels the requests in flight and every retry still to come. */
  signal?: AbortSignal;
}

export interface OpenAICompatibleEmbedder extends TextEmbedder {
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
}

const MAX_DELAY_MS = 8_000;
const MAX_RETRY_AFTER_MS = 60_000;

function timer(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(id); reject(signal!.reason); };
    const id = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retry-After (seconds or an HTTP date) or retry-after-ms, when it is reasonable; else undefined. */
function retryAfterMs(headers: Headers): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (ms >= 0 && ms <= MAX_RETRY_AFTER_MS) return ms;
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  const seconds = Number(value);
  const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now();
  return wait >= 0 && wait <= MAX_RETRY_AFTER_MS ? wait : undefined;
}

const retryable = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500;

/** A failed attempt: whether to try again, and after how long at least. */
class AttemptError extends EmbedderFaultError {
  constructor(message: string, readonly retry: boolean, readonly status?: number, readonly waitMs?: number, cause?: unknown) {
    super(message, { cause, details: status === undefined ? {} : { status } });
  }
}

function parseVectors(body: unknown, count: number, dim: number | undefined, url: string): Float32Array[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== count) {
    throw new AttemptError(`The embeddings endpoint ${url} answered ${Array.isArray(data) ? data.length : 'no'} vectors for ${count} texts`, false);
  }
  const out = new Array<Float32Array>(count);
  data.forEach((item: { index?: unknown; embedding?: unknown }, position) => {
    const index = typeof item?.index === 'number' ? item.index : position;
    const values = item?.embedding;
    if (!Array.isArray(values) || !(index >= 0 && index < count) || out[index]) {
      throw new AttemptError(`The embeddings endpoint ${url} answered a malformed item at data[${position}]`, false);
    }
    if (dim !== undefined && values.length !== dim) {
      throw new AttemptError(`The embeddings endpoint ${url} answered a vector of ${values.length} values at data[${position}], expected ${dim}`, false);
    }
    const bad = values.findIndex((x) => typeof x !== 'number' || !Number.isFinite(x));
    if (bad >= 0) throw new AttemptError(`The embeddings endpoint ${url} answered a non-finite value at data[${position}].embedding[${bad}]`, false);
    out[index] = Float32Array.from(values as number[]);
  });
  return out;
}

/** An embedder over an OpenAI-compatible endpoint; resolves once its dimension is known. */
export async function openAIEmbedder(options: OpenAIEmbedderOptions): Promise<OpenAICompatibleEmbedder> {
  if (typeof options !== 'object' || options === null) throw invalid('options', 'an object', options);
  let base: URL;
  try {
    base = new URL(String(options.baseURL));
  } catch {
    throw invalid('baseURL', 'an http(s) URL', options.baseURL);
  }
  if (typeof options.baseURL !== 'string' || (base.protocol !== 'http:' && base.protocol !== 'https:')) throw invalid('baseURL', 'an http(s) URL', options.baseURL);
  if (typeof options.model !== 'string' || options.model.trim() === '') throw invalid('model', 'a model name', options.model);
  if (options.apiKey !== undefined && typeof options.apiKey !== 'string') throw invalid('apiKey', 'a string', options.apiKey);
  const dimensions = options.dimensions === undefined ? undefined : positiveInteger(options.dimensions, 'dimensions', 0);
  const batchSize = positiveInteger(options.batchSize, 'batchSize', 64);
  const maxRetries = nonNegativeInteger(options.maxRetries, 'maxRetries', 2);
  const timeoutMs = positiveInteger(options.timeoutMs, 'timeoutMs', 30_000);
  const retryDelayMs = nonNegativeInteger(options.retryDelayMs, 'retryDelayMs', 500);
  const fetchFn = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? timer;
  if (typeof fetchFn !== 'function') throw invalid('fetch', 'a function', fetchFn);
  if (typeof sleep !== 'function') throw invalid('sleep', 'a function', sleep);
  const url = `${options.baseURL.replace(/\/+$/, '')}/embeddings`;
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

  async function attempt(input: readonly string[], dim: number | undefined, signal?: AbortSignal): Promise<Float32Array[]> {
    const deadline = new AbortController();
    const timeout = setTimeout(() => deadline.abort(), timeoutMs);
    const onAbort = () => deadline.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      let response: Response;
      let text: string;
      try {
        response = await fetchFn(url, {
          method: 'POST',
          headers,
          body: JSON.stringify({ model: options.model, input, encoding_format: 'float', ...(dimensions === undefined ? {} : { dimensions }) }),
          signal: deadline.signal,
        });
        text = await response.text();
      } catch (error) {
        if (signal?.aborted) throw error;
        const timedOut = deadline.signal.aborted;
        throw new AttemptError(timedOut ? `The embeddings endpoint ${url} did not answer within ${timeoutMs} ms` : `The embeddings endpoint ${url} could not be reached`, true, undefined, undefined, error);
      }
      if (!response.ok) {
        const detail = text.length > 200 ? `${text.slice(0, 200)}…` : text;
        throw new AttemptError(`The embeddings endpoint ${url} answered ${response.status} ${response.statusText}${detail ? `: ${detail}` : ''}`,
          retryable(response.status), response.status, retryAfterMs(response.headers));
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new AttemptError(`The embeddings endpoint ${url} answered with invalid JSON`, false, response.status, undefined, error);
      }
      return parseVectors(body, input.length, dim, url);
    } finally {
      clearTimeout(timeout);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async function request(input: readonly string[], dim: number | undefined, signal?: AbortSignal): Promise<Float32Array[]> {
    for (let tries = 0; ; tries++) {
      try {
        if (signal?.aborted) throw signal.reason;
        return await attempt(input, dim, signal);
      } catch (error) {
        if (signal?.aborted) throw new AbortedError('The embedding request was aborted', { cause: error });
        const last = !(error instanceof AttemptError) || !error.retry || tries >= maxRetries;
        if (last) {
          if (!(error instanceof AttemptError)) throw new EmbedderFaultError(`The embeddings endpoint ${url} failed`, { cause: error });
          const details = { ...error.details, attempts: tries + 1, url };
          throw new EmbedderFaultError(error.message, { cause: error.cause, details });
        }
        // Full jitter over an exponential ceiling, never shorter than what the server asked for.
        const backoff = Math.random() * Math.min(MAX_DELAY_MS, retryDelayMs * 2 ** tries);
        try {
          await sleep(Math.max(error.waitMs ?? 0, backoff), signal);
        } catch (cause) {
          throw new AbortedError('The embedding request was aborted', { cause });
        }
      }
    }
  }

  const dim = dimensions ?? (await request(['dimension probe'], undefined))[0]!.length;
  if (dim === 0) throw new EmbedderFaultError(`The embeddings endpoint ${url} answered an empty vector`, { details: { url } });
  return {
    dim,
    async embed(texts, embedOptions = {}) {
      checkTexts(texts);
      const out: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        out.push(...(await request(texts.slice(start, start + batchSize), dim, embedOptions.signal)));
      }
      return out;
    },
  };
}

// The options of a search or a context, checked and filled in from DEFAULTS. Unknown keys are
// returned, not thrown: a typo gets a warning, not an outage.
import type { Filter } from '../metadata/filter.js';
import { DEFAULTS } from './defaults.js';
import { checkScope } from '../store/scopes.js';
import type { ContextPlan } from '../retrieval/context.js';
import type { ViewPlan } from '../retrieval/search.js';
import { InvalidDataError } from '../resilience/errors.js';
import {
  checkBoolean, checkFinite, checkNonNegativeInteger, checkObject, checkOneOf, checkPositiveInteger, checkPositiveNumber,
  checkUnitInterval, invalid, unknownKeys,
} from '../resilience/validation.js';

const VIEW_KEYS = ['filter', 'scope', 'asOf', 'includeExpired', 'now'] as const;
const SEARCH_KEYS = ['topK', 'minScore', 'alpha', 'rank', 'mode', 'rerank', 'timeoutMs', 'signal', ...VIEW_KEYS] as const;
const CONTEXT_KEYS = ['maxTokens', 'minSimilarity', 'budget', 'tokenizer', 'maxHops', 'seeds', 'signal', 'timeoutMs', ...VIEW_KEYS] as const;

/** What a read sees: its filter, scope and the time validity is judged at. */
export type ViewSettings = ViewPlan & { filter: Filter | undefined };

export interface SearchSettings extends ViewSettings {
  topK: number;
  minScore: number;
  alpha: number;
  rank: 'priority' | 'similarity';
  /** Whether the caller chose `rank` (a string query then ranks by it, on the vector channel). */
  rankSet: boolean;
  /** The channels of a string query; undefined: hybrid with an embedder, text without. */
  mode: 'hybrid' | 'vector' | 'text' | undefined;
  /** Quantized stores: rerank the candidates exactly (false: the codes' approximate similarities). */
  rerank: boolean;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

export type ContextSettings = ContextPlan & { filter: Filter | undefined };

/** A cosine similarity threshold, in [−1, 1]. */
function checkSimilarity(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= -1 && value <= 1)) throw invalid(name, 'a cosine similarity in [-1, 1]', value);
  return value;
}

function checkSignal(value: unknown): AbortSignal | undefined {
  if (value !== undefined && !(value instanceof AbortSignal)) throw invalid('signal', 'an AbortSignal', value);
  return value;
}

/** The view options of a search, a context or `ids`. */
export function parseView(o: Record<string, unknown>, clock: () => number): ViewSettings {
  return {
    filter: o.filter as Filter | undefined,
    scope: checkScope(o.scope, 'scope'),
    asOf: o.asOf === undefined ? undefined : checkFinite(o.asOf, 'asOf'),
    includeExpired: o.includeExpired === undefined ? false : checkBoolean(o.includeExpired, 'includeExpired'),
    now: o.now === undefined ? clock() : checkFinite(o.now, 'now'),
  };
}

export function parseSearchOptions(options: unknown, maxTopK: number, clock: () => number): { settings: SearchSettings; unknown: string[] } {
  const o = options === undefined ? {} : checkObject(options, 'options');
  const settings: SearchSettings = {
    ...parseView(o, clock),
    topK: o.topK === undefined ? DEFAULTS.topK : checkPositiveInteger(o.topK, 'topK', maxTopK),
    minScore: o.minScore === undefined ? -Infinity : checkFinite(o.minScore, 'minScore'),
    alpha: o.alpha === undefined ? DEFAULTS.alpha : checkUnitInterval(o.alpha, 'alpha'),
    rank: o.rank === undefined ? DEFAULTS.rank : checkOneOf(o.rank, ['priority', 'similarity'], 'rank'),
    rankSet: o.rank !== undefined,
    mode: o.mode === undefined ? undefined : checkOneOf<'hybrid' | 'vector' | 'text'>(o.mode, ['hybrid', 'vector', 'text'], 'mode'),
    rerank: o.rerank === undefined ? true : checkBoolean(o.rerank, 'rerank'),
    timeoutMs: o.timeoutMs === undefined ? DEFAULTS.timeoutMs : checkPositiveNumber(o.timeoutMs, 'timeoutMs'),
    signal: checkSignal(o.signal),
  };
  return { settings, unknown: unknownKeys(o, SEARCH_KEYS) };
}

export function parseContextOptions(options: unknown, maxTopK: number, clock: () => number): { settings: ContextSettings; unknown: string[] } {
  const o = options === undefined ? {} : checkObject(options, 'options');
  if (o.tokenizer !== undefined && typeof o.tokenizer !== 'function') throw invalid('tokenizer', 'a function from text to a token count', o.tokenizer);
  let budget: ContextSettings['budget'];
  if (o.budget !== undefined) {
    const b = checkObject(o.budget, 'budget');
    const used = b.used;
    if (typeof used !== 'number' || !Number.isFinite(used) || used < 0) throw invalid('budget.used', 'a finite number ≥ 0', used);
    budget = { total: checkPositiveNumber(b.total, 'budget.total'), used };
  }
  const tokenizer = o.tokenizer as ((text: string) => number) | undefined;
  const settings: ContextSettings = {
    ...parseView(o, clock),
    maxTokens: o.maxTokens === undefined ? DEFAULTS.context.maxTokens : checkPositiveInteger(o.maxTokens, 'maxTokens'),
    minSimilarity: o.minSimilarity === undefined ? DEFAULTS.context.minSimilarity : checkSimilarity(o.minSimilarity, 'minSimilarity'),
    maxHops: o.maxHops === undefined ? DEFAULTS.context.maxHops : checkNonNegativeInteger(o.maxHops, 'maxHops', 64),
    seeds: o.seeds === undefined ? DEFAULTS.context.seeds : checkPositiveInteger(o.seeds, 'seeds', maxTopK),
    budget,
    tokens: tokenizer ? (text) => countTokens(tokenizer, text) : (text) => Math.ceil(text.length / 4),
    timeoutMs: o.timeoutMs === undefined ? DEFAULTS.timeoutMs : checkPositiveNumber(o.timeoutMs, 'timeoutMs'),
    signal: checkSignal(o.signal),
  };
  return { settings, unknown: unknownKeys(o, CONTEXT_KEYS) };
}

/** A user's tokenizer, held to returning a count; what it throws is the caller's error, not the engine's. */
function countTokens(tokenizer: (text: string) => number, text: string): number {
  let n: unknown;
  try {
    n = tokenizer(text);
  } catch (cause) {
    throw new InvalidDataError(`\`tokenizer\` threw: ${(cause as Error)?.message ?? String(cause)}`, { cause, details: { field: 'tokenizer' } });
  }
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) throw invalid('tokenizer(text)', 'a finite number ≥ 0', n);
  return n;
}

/** The deadline and signal of `remember`/`rememberMany` (they bound the embedder's call). */
export function parseRememberOptions(o: Record<string, unknown>): { timeoutMs: number; signal: AbortSignal | undefined } {
  return {
    timeoutMs: o.timeoutMs === undefined ? DEFAULTS.timeoutMs : checkPositiveNumber(o.timeoutMs, 'timeoutMs'),
    signal: checkSignal(o.signal),
  };
}

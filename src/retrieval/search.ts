// Search orchestration: the allow-mask, the scan, the liveness re-check of hits, and the hits with
// their factors. It sees the store only through `RetrievalSource`.
import type { ScanEngine, ScanHit } from '../engine/engine.js';
import type { Edge } from '../graph/honeycomb.js';
import type { Bitset } from '../metadata/bitset.js';
import type { Scope, SearchHit } from '../types.js';
import { priorityScore, recencyFactor } from './priority.js';

/** A stored memory as retrieval reads it. */
export interface RetrievedMemory {
  readonly id: number;
  readonly row: number;
  readonly text: string;
  readonly weight: number;
  readonly metadata: Record<string, unknown>;
  readonly createdAt: number;
  readonly key: string | undefined;
  readonly centrality: number;
  readonly lastAccessedAt: number;
  readonly accessTimes: readonly number[];
}

/** What retrieval needs of the store, and nothing more. */
export interface RetrievalSource {
  readonly engine: ScanEngine;
  readonly live: number;
  get(id: number): RetrievedMemory | undefined;
  edges(id: number): readonly Edge[];
  hubs(): readonly number[];
  /** What a read may see, as an allow-mask; undefined: every live memory. */
  allowed(view: View): Bitset | undefined;
  recencyTime(memory: RetrievedMemory): number;
  readonly halfLifeMs: number;
}

/** What a read sees beside its filter: a scope, and the memories valid at `at` (every one with `includeExpired`). */
export interface View {
  filter?: unknown;
  scope?: Scope | undefined;
  at: number;
  includeExpired?: boolean;
}

/** A read's filter, scope and validity. */
export interface ViewPlan {
  filter: unknown;
  scope: Scope | undefined;
  /** The time validity is judged at; undefined: `now`. */
  asOf: number | undefined;
  includeExpired: boolean;
  now: number;
}

export function viewOf(s: ViewPlan): View {
  return { filter: s.filter, scope: s.scope, at: s.asOf ?? s.now, includeExpired: s.includeExpired };
}

export interface SearchPlan extends ViewPlan {
  topK: number;
  minScore: number;
  alpha: number;
  rank: 'priority' | 'similarity';
  /** Quantized stores: false keeps the codes' approximate similarities (no exact rerank). */
  rerank: boolean;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/** C, R and W of a memory at `now`, and the priority they give with this similarity and α. */
export function factorsOf(source: RetrievalSource, m: RetrievedMemory, similarity: number, alpha: number, now: number) {
  const recency = recencyFactor(now, source.recencyTime(m), source.halfLifeMs);
  return { centrality: m.centrality, recency, weight: m.weight, score: priorityScore(similarity, m.centrality, recency, m.weight, alpha) };
}

/**
 * The best hits for each query (unit vectors). A memory removed while the scan ran is dropped;
 * when that happened, the scan runs again for more (the removed rows' flags are clear by then).
 */
export async function searchUnits(source: RetrievalSource, units: Float32Array[], s: SearchPlan): Promise<SearchHit[][]> {
  const allow = source.allowed(viewOf(s));
  const live = allow ? allow.count() : source.live;
  if (live === 0) return units.map(() => []);
  const k = Math.min(s.topK, live);
  const rows = () => source.engine.rows.count;
  for (let want = k; ; want = Math.min(rows(), want * 2)) {
    const lists = await source.engine.topK(units, { k: want, rank: s.rank, alpha: s.alpha, nowMs: s.now, allow: allow?.words, rerank: s.rerank }, s);
    const alive = lists.map((list) => liveOnce(source, list));
    const dropped = alive.some((list, i) => list.length < lists[i]!.length);
    if (!dropped || want >= rows()) {
      return alive.map((list) => list.slice(0, k).map((c) => toHit(source, c, s)).filter((h) => h.score >= s.minScore));
    }
  }
}

/** Queries per engine call of searchMany: enough to keep the 4-query kernel busy, few enough to bound scratch memory. */
const BATCH_QUERIES = 64;

/** `searchUnits` for many queries, a block at a time, all under the one deadline. */
export async function searchBatched(source: RetrievalSource, units: Float32Array[], s: SearchPlan): Promise<SearchHit[][]> {
  const started = performance.now();
  const out: SearchHit[][] = [];
  for (let i = 0; i < units.length; i += BATCH_QUERIES) {
    const timeoutMs = Math.max(0, s.timeoutMs - (performance.now() - started));
    out.push(...(await searchUnits(source, units.slice(i, i + BATCH_QUERIES), { ...s, timeoutMs })));
  }
  return out;
}

/** Hits whose memory is live, each id once (an updated embedding may briefly sit in two rows). */
function liveOnce(source: RetrievalSource, list: ScanHit[]): ScanHit[] {
  const seen = new Set<number>();
  return list.filter((c) => {
    if (seen.has(c.id) || !source.get(c.id)) return false;
    seen.add(c.id);
    return true;
  });
}

function toHit(source: RetrievalSource, c: ScanHit, s: SearchPlan): SearchHit {
  const m = source.get(c.id)!;
  const { centrality, recency, weight } = factorsOf(source, m, c.similarity, s.alpha, s.now);
  return {
    id: c.id,
    // The engine's own score, so that it is exactly what the hits were ordered by.
    score: c.score,
    similarity: c.similarity,
    text: m.text,
    metadata: structuredClone(m.metadata),
    ...(m.key === undefined ? {} : { key: m.key }),
    factors: { similarity: c.similarity, centrality, recency, weight, alpha: s.alpha },
    ...(approximate(source, s) ? { approximate: true as const } : {}),
  };
}

/** Whether a search's similarities are the codes' estimates: a quantized store searched with `rerank: false`. */
export function approximate(source: RetrievalSource, s: SearchPlan): boolean {
  return !s.rerank && source.engine.rows.quantization !== 'none';
}

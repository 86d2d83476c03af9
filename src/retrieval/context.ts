// JIT context assembly: seeds from a priority scan (and the hub closest to the query), then a
// breadth-first walk over outgoing edges. Seeds go in unless a guardrail blocks them; a node reached
// over an edge goes in only when a trigger fires. Guardrails: drift (far out and off topic), loop
// (accessed too often lately), redundancy (its text is already in the context).
import type { Edge } from '../graph/honeycomb.js';
import type { ContextResult } from '../types.js';
import { metabolicState } from './priority.js';
import { factorsOf, type RetrievalSource, viewOf, type ViewPlan } from './search.js';
import { ShingleIndex, shingles } from './shingles.js';

export const CONTEXT_RULES = Object.freeze({
  resonance: 0.85,       // S above it: inject whatever the route
  bridgeSimilarity: 0.5, // a hub next to the previous context node, S above it
  driftHops: 3,          // more hops out than this, and…
  driftSimilarity: 0.5,  // …S below this: drift
  loopAccesses: 3,       // more accesses than this…
  loopWindowMs: 10_000,  // …in this window: loop
  redundancy: 0.95,      // shingle overlap above it: redundant
});

export interface Seed {
  id: number;
  similarity: number;
  priority: number;
}

/** What the walk needs to know about the store, and nothing more. */
export interface ContextSource {
  hubs(): readonly number[];
  edges(id: number): readonly Edge[];
  text(id: number): string;
  isLive(id: number): boolean;
  /** Cosine similarity of the query and a memory. */
  similarity(id: number): number;
  priority(id: number, similarity: number): number;
  recentAccesses(id: number): number;
}

export interface ContextSettings {
  maxTokens: number;
  maxHops: number;
  /** The metabolic α: the metabolic trigger fires for P above it. */
  alpha: number;
  tokens: (text: string) => number;
  /** The relevance floor: a memory less similar to the query than this is never injected. */
  minSimilarity: number;
}

export interface Assembled {
  ids: number[];
  context: string;
  blocked: { drift: number; loop: number; redundancy: number };
}

const byPriority = (a: Seed, b: Seed) => b.priority - a.priority || b.similarity - a.similarity || a.id - b.id;

export function assembleContext(source: ContextSource, seeds: readonly Seed[], s: ContextSettings): Assembled {
  const ordered = [...seeds];
  const hub = closestHub(source);
  if (hub !== undefined && !ordered.some((seed) => seed.id === hub)) {
    const similarity = source.similarity(hub);
    ordered.push({ id: hub, similarity, priority: source.priority(hub, similarity) });
  }
  ordered.sort(byPriority);

  const ids: number[] = [];
  const blocked = { drift: 0, loop: 0, redundancy: 0 };
  const seen = new ShingleIndex();
  let context = '';
  const hubs = new Set(source.hubs());

  const offer = (id: number, hops: number, similarity: number) => {
    // Below the floor nothing goes in, whatever the route (a walk may still pass through it).
    if (similarity < s.minSimilarity) return;
    if (hops > CONTEXT_RULES.driftHops && similarity < CONTEXT_RULES.driftSimilarity) { blocked.drift++; return; }
    if (source.recentAccesses(id) > CONTEXT_RULES.loopAccesses) { blocked.loop++; return; }
    const text = source.text(id);
    const own = shingles(text);
    if (seen.overlap(own) > CONTEXT_RULES.redundancy) { blocked.redundancy++; return; }
    const next = context.length === 0 ? text : `${context}\n${text}`;
    if (s.tokens(next) > s.maxTokens) return;   // does not fit: skipped, the walk goes on
    context = next;
    seen.add(own);
    ids.push(id);
  };

  const visited = new Set(ordered.map((seed) => seed.id));
  for (const seed of ordered) offer(seed.id, 0, seed.similarity);

  let frontier = ordered.map((seed) => seed.id);
  for (let hops = 1; hops <= s.maxHops && frontier.length > 0; hops++) {
    const next: number[] = [];
    for (const from of frontier) {
      for (const edge of strongestFirst(source.edges(from))) {
        const id = edge.to;
        if (visited.has(id) || !source.isLive(id)) continue;
        visited.add(id);
        next.push(id);
        const similarity = source.similarity(id);
        const previous = ids[ids.length - 1];
        const resonance = similarity > CONTEXT_RULES.resonance;
        const bridge = hubs.has(id) && previous !== undefined && adjacent(source, previous, id) && similarity > CONTEXT_RULES.bridgeSimilarity;
        const metabolic = source.priority(id, similarity) > s.alpha;
        if (resonance || bridge || metabolic) offer(id, hops, similarity);
      }
    }
    frontier = next;
  }
  return { ids, context, blocked };
}

function closestHub(source: ContextSource): number | undefined {
  let best: number | undefined, bestSimilarity = -Infinity;
  for (const id of source.hubs()) {
    if (!source.isLive(id)) continue;
    const similarity = source.similarity(id);
    if (similarity > bestSimilarity) { best = id; bestSimilarity = similarity; }
  }
  return best;
}

function adjacent(source: ContextSource, a: number, b: number): boolean {
  return source.edges(a).some((e) => e.to === b) || source.edges(b).some((e) => e.to === a);
}

/** Edges in walk order: strongest first, then lower id, so every walk is reproducible. */
function strongestFirst(edges: readonly Edge[]): Edge[] {
  return [...edges].sort((a, b) => b.relevance - a.relevance || a.to - b.to);
}

export interface ContextPlan extends ViewPlan {
  maxTokens: number;
  minSimilarity: number;
  maxHops: number;
  seeds: number;
  budget: { total: number; used: number } | undefined;
  tokens: (text: string) => number;
  timeoutMs: number;
  signal: AbortSignal | undefined;
}

/**
 * Seeds from a priority scan with the metabolic α, then the walk. The injected ids are returned
 * first to last; counting them as accessed, and moving the focus, is the caller's write.
 */
export async function buildContext(source: RetrievalSource, unit: Float32Array, o: ContextPlan): Promise<ContextResult> {
  const { state, alpha } = metabolicState(o.budget);
  const allow = source.allowed(viewOf(o));
  if ((allow ? allow.count() : source.live) === 0) return { context: '', ids: [], tokens: 0, state, blocked: { drift: 0, loop: 0, redundancy: 0 } };
  const k = Math.min(o.seeds, source.engine.rows.count);
  const [candidates] = await source.engine.topK([unit], { k, rank: 'priority', alpha, nowMs: o.now, allow: allow?.words }, o);
  const seeds: Seed[] = candidates!.filter((c) => source.get(c.id)).map((c) => ({ id: c.id, similarity: c.similarity, priority: c.score }));
  const memory = (id: number) => source.get(id)!;
  const walk: ContextSource = {
    hubs: () => source.hubs(),
    edges: (id) => source.edges(id),
    text: (id) => memory(id).text,
    isLive: (id) => source.get(id) !== undefined && (allow === undefined || allow.has(id)),
    similarity: (id) => source.engine.rows.dot(memory(id).row, unit),
    priority: (id, similarity) => factorsOf(source, memory(id), similarity, alpha, o.now).score,
    recentAccesses: (id) => memory(id).accessTimes.filter((t) => o.now - t <= CONTEXT_RULES.loopWindowMs).length,
  };
  const assembled = assembleContext(walk, seeds, { maxTokens: o.maxTokens, maxHops: o.maxHops, alpha, tokens: o.tokens, minSimilarity: o.minSimilarity });
  const tokens = assembled.context.length === 0 ? 0 : o.tokens(assembled.context);
  return { context: assembled.context, ids: assembled.ids, tokens, state, blocked: assembled.blocked };
}

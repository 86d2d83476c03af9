// The honeycomb: a bounded-degree directed graph over memory ids. Each node keeps at most six
// outgoing edges; a full node swaps out its weakest edge only for a stronger one (the "fractal
// swap"). Centrality = 0.6·(degree / 6) + 0.4·(mean relevance of outgoing edges), kept up to date
// edge by edge; the hubs (top 5 by centrality, ties to the lower id) are found lazily, only after a
// change and only when asked, so linking never scans the store.

export const MAX_DEGREE = 6;
export const HUB_COUNT = 5;

export interface Edge {
  to: number;
  relevance: number;
  type: string;
  createdAt: number;
}

/**
 * A node's edges after linking it to `to`: an existing pair takes the new relevance and type; a full
 * node replaces its weakest edge (lowest relevance, then oldest, then highest id) only when the new
 * edge is stronger. Undefined when the edge is refused. `edges` is not changed.
 */
export function linked(edges: readonly Edge[], to: number, relevance: number, type: string, createdAt: number): Edge[] | undefined {
  const at = edges.findIndex((e) => e.to === to);
  if (at >= 0) return edges.map((e, i) => (i === at ? { ...e, relevance, type } : { ...e }));
  if (edges.length < MAX_DEGREE) return [...edges.map((e) => ({ ...e })), { to, relevance, type, createdAt }];
  let weakest = 0;
  edges.forEach((e, i) => {
    const w = edges[weakest]!;
    if (e.relevance < w.relevance || (e.relevance === w.relevance && (e.createdAt < w.createdAt || (e.createdAt === w.createdAt && e.to > w.to)))) weakest = i;
  });
  if (relevance <= edges[weakest]!.relevance) return undefined;
  return edges.map((e, i) => (i === weakest ? { to, relevance, type, createdAt } : { ...e }));
}

/** A node's edges without the one to `to`; undefined when there was none. */
export function unlinked(edges: readonly Edge[], to: number): Edge[] | undefined {
  return edges.some((e) => e.to === to) ? edges.filter((e) => e.to !== to).map((e) => ({ ...e })) : undefined;
}

export class Graph {
  readonly #out = new Map<number, Edge[]>();
  /** Who points at a node: what `remove` must clean up on the other side. */
  readonly #in = new Map<number, Set<number>>();
  #hubs: number[] | undefined = [];

  /** Called whenever a node's centrality changes (the kernel's ln C column follows it). */
  constructor(private readonly onCentrality: (id: number, centrality: number) => void) {}

  edges(id: number): readonly Edge[] {
    return this.#out.get(id) ?? [];
  }

  /** The nodes with an edge to `id`. */
  incoming(id: number): readonly number[] {
    return [...(this.#in.get(id) ?? [])];
  }

  centrality(id: number): number {
    const edges = this.#out.get(id);
    if (!edges || edges.length === 0) return 0;
    let sum = 0;
    for (const e of edges) sum += e.relevance;
    return 0.6 * (edges.length / MAX_DEGREE) + 0.4 * (sum / edges.length);
  }

  /** Sets a node's outgoing edges (every change of edges comes through here, planned by `linked`/`unlinked`). */
  setEdges(id: number, edges: readonly Edge[]): void {
    for (const e of this.#out.get(id) ?? []) this.#in.get(e.to)?.delete(id);
    this.#out.set(id, edges.map((e) => ({ ...e })));
    for (const e of edges) this.#incoming(e.to).add(id);
    this.#changed(id);
  }

  /** Every node with edges, and its edges (copies). */
  *entries(): IterableIterator<[number, Edge[]]> {
    for (const [id, edges] of this.#out) if (edges.length > 0) yield [id, edges.map((e) => ({ ...e }))];
  }

  /** Every node with edges, in the order of `entries()` (without copying them). */
  *nodes(): IterableIterator<number> {
    for (const [id, edges] of this.#out) if (edges.length > 0) yield id;
  }

  /** Drops a node and every edge to or from it. */
  remove(id: number): void {
    for (const e of this.#out.get(id) ?? []) this.#in.get(e.to)?.delete(id);
    this.#out.delete(id);
    for (const from of this.#in.get(id) ?? []) {
      const edges = this.#out.get(from)!;
      edges.splice(edges.findIndex((e) => e.to === id), 1);
      this.#changed(from);
    }
    this.#in.delete(id);
    this.#hubs = undefined;
  }

  /**
   * The top 5 memories by centrality, ties to the lower id. Fewer than 5 with edges: the rest are
   * memories of centrality 0, lowest ids first, taken from `ids` (every live id, ascending).
   */
  hubs(ids: () => Iterable<number>): readonly number[] {
    if (!this.#hubs) {
      const ranked: { id: number; c: number }[] = [];
      for (const id of this.#out.keys()) {
        const c = this.centrality(id);
        if (c <= 0) continue;
        ranked.push({ id, c });
        if (ranked.length > HUB_COUNT * 8) this.#trim(ranked);
      }
      this.#trim(ranked);
      this.#hubs = ranked.map((r) => r.id);
    }
    if (this.#hubs.length === HUB_COUNT) return this.#hubs;
    const hubs = [...this.#hubs];
    for (const id of ids()) {
      if (hubs.length === HUB_COUNT) break;
      if (!hubs.includes(id)) hubs.push(id);
    }
    return hubs;
  }

  #trim(ranked: { id: number; c: number }[]): void {
    ranked.sort((a, b) => b.c - a.c || a.id - b.id);
    ranked.length = Math.min(ranked.length, HUB_COUNT);
  }

  #incoming(id: number): Set<number> {
    let set = this.#in.get(id);
    if (!set) this.#in.set(id, (set = new Set()));
    return set;
  }

  #changed(id: number): void {
    this.#hubs = undefined;
    this.onCentrality(id, this.centrality(id));
  }
}

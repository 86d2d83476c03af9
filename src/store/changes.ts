// One call's change set: the effects it plans, in order, with an overlay of the edges and ids it
// has planned so far, so that a call sees its own plan before anything is applied. Nothing of a
// call in progress lives on the store: a call that fails drops its change set and that is all.
import { type Edge, linked, unlinked } from '../graph/honeycomb.js';
import type { AddedMemory, Effect } from '../persistence/effects.js';
import type { Scope } from '../types.js';
import { scopeKey } from './scopes.js';
import type { Store } from './store.js';

export class ChangeSet {
  readonly #effects: Effect[] = [];
  /** Outgoing edges as planned, for each node whose edges this call changes. */
  readonly #edges = new Map<number, Edge[]>();
  readonly #added = new Map<number, AddedMemory>();
  readonly #removed = new Set<number>();
  #nextId: number;
  /** The focus of each scope this call moves, by scope key. */
  readonly #focus = new Map<string, number>();
  /** Memories of the store this call removes, the host bytes that frees, and how many of them were evicted. */
  removedFromStore = 0;
  freedHostBytes = 0;
  evicted = 0;
  /** A `forget` (or an expiry): the next checkpoint must not keep the previous generation. */
  erases = false;

  constructor(readonly store: Store) {
    this.#nextId = store.records.nextId;
  }

  /** The id the next memory of this call gets. */
  get nextId(): number {
    return this.#nextId;
  }

  /** Live as planned: live in the store and not removed by this call, or added by it. */
  isLive(id: number): boolean {
    return (this.store.has(id) && !this.#removed.has(id)) || this.#added.has(id);
  }

  /** The focus of a scope as planned. */
  focusOf(scope: Scope | undefined): number | undefined {
    const planned = this.#focus.get(scopeKey(scope));
    if (planned !== undefined) return planned;
    const stored = this.store.focusOf(scope);
    return stored !== undefined && this.#removed.has(stored) ? undefined : stored;
  }

  add(items: Omit<AddedMemory, 'id'>[]): number[] {
    const memories = items.map((item) => ({ ...item, id: this.#nextId++ }));
    for (const memory of memories) this.#added.set(memory.id, memory);
    this.#effects.push({ op: 'add', items: memories });
    // Adding moves each scope's focus to its last memory added (apply does the same).
    for (const m of memories) this.#focus.set(scopeKey(m.scope), m.id);
    return memories.map((m) => m.id);
  }

  update(effect: Extract<Effect, { op: 'update' }>): void {
    this.#effects.push(effect);
  }

  remove(id: number, why?: { evicted?: boolean; erased?: boolean; hostBytes?: number }): void {
    if (this.store.has(id) && !this.#removed.has(id)) this.removedFromStore++;
    this.freedHostBytes += why?.hostBytes ?? 0;
    if (why?.evicted) this.evicted++;
    if (why?.erased) this.erases = true;
    this.#removed.add(id);
    this.#edges.delete(id);
    // Edges to the removed node go with it when the removal is applied; drop them from the plan too.
    for (const [from, edges] of this.#edges) this.#edges.set(from, edges.filter((e) => e.to !== id));
    this.#effects.push({ op: 'remove', id });
  }

  edgesOf(id: number): readonly Edge[] {
    return this.#edges.get(id) ?? (this.#added.has(id) ? [] : this.store.edges(id));
  }

  /** Plans the edge from → to under the swap rule; false when a full node refuses it. */
  link(from: number, to: number, relevance: number, type: string, createdAt: number): boolean {
    const next = linked(this.edgesOf(from), to, relevance, type, createdAt);
    if (!next) return false;
    this.#edges.set(from, next);
    return true;
  }

  unlink(from: number, to: number): boolean {
    const next = unlinked(this.edgesOf(from), to);
    if (!next) return false;
    this.#edges.set(from, next);
    return true;
  }

  /** Plans a node's whole outgoing edge list (edges carried over to a replacing memory). */
  setEdges(id: number, edges: Edge[]): void {
    this.#edges.set(id, edges);
  }

  /** Plans a new focus for the memory's scope (a context's first injected memory). */
  setFocus(id: number): void {
    this.#focus.set(scopeKey(this.store.get(id)?.scope), id);
    this.#effects.push({ op: 'focus', id });
  }

  access(at: number, ids: number[]): void {
    if (ids.length > 0) this.#effects.push({ op: 'access', at, ids });
  }

  /** Everything planned, in the order it is to be applied: the edges after the memories they join. */
  effects(): Effect[] {
    const effects = [...this.#effects];
    const sets = [...this.#edges].filter(([id]) => this.isLive(id));
    if (sets.length > 0) effects.push({ op: 'edges', sets });
    return effects;
  }
}

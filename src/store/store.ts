// The host's memories, kept consistent: records and keys, the arena's rows, the graph, the metadata
// index, the scopes, validity and TTLs, and the focus. Every change — a live write, a snapshot restore, a log replay — goes
// through `apply(effect)`, so the three can never disagree. The store knows no journal and no
// metrics; an effect that does not fit the store is a bug of the caller (INTERNAL), or damage when
// it comes from a log (the replay turns it into MEMORY_CORRUPTION).
import type { ScanEngine } from '../engine/engine.js';
import { type Edge, Graph } from '../graph/honeycomb.js';
import { Bitset } from '../metadata/bitset.js';
import { MetadataIndex } from '../metadata/filter.js';
import type { AddedMemory, Effect } from '../persistence/effects.js';
import { InternalError } from '../resilience/errors.js';
import { CONTEXT_RULES } from '../retrieval/context.js';
import { LexicalIndex } from '../retrieval/lexical.js';
import type { View } from '../retrieval/search.js';
import { type NodeRecord, Records } from './records.js';
import { ScopeIndex, scopeKey } from './scopes.js';
import type { Scope } from '../types.js';

/** Valid at t: validFrom ≤ t < validTo, unbounded sides always hold. */
export function validAt(r: { validFrom: number | undefined; validTo: number | undefined }, t: number): boolean {
  return (r.validFrom === undefined || r.validFrom <= t) && (r.validTo === undefined || t < r.validTo);
}

/** Not yet past its TTL at t. */
export function unexpired(r: { expiresAt: number | undefined }, t: number): boolean {
  return r.expiresAt === undefined || t < r.expiresAt;
}

export interface StoreSettings {
  /** What recency counts from: the creation time, or the last injection into a context. */
  recency: 'created' | 'accessed';
  /** Metadata fields to index (undefined: every scalar or array-of-scalar field). */
  indexed: string[] | undefined;
}

export class Store {
  readonly records = new Records();
  readonly graph: Graph;
  readonly metadata: MetadataIndex;
  /** BM25 over the texts: the lexical channel of a string query. */
  readonly lexical = new LexicalIndex();
  readonly scopes = new ScopeIndex();
  /** Live ids, so that a view can start from them without a pass over the records. */
  readonly #live = new Bitset(0);
  /** Ids with a validity bound or a TTL: the only ones a view at some time has to check one by one. */
  readonly #timed = new Set<number>();
  /**
   * The memory new ones link to, one per exact scope (keyed by scopeKey; '' unscoped): the last
   * one added there, or the first one the last context injected. One tenant's memories never link
   * to another's.
   */
  readonly #focus = new Map<string, number>();

  constructor(readonly engine: ScanEngine, readonly settings: StoreSettings) {
    this.metadata = new MetadataIndex(settings.indexed);
    this.graph = new Graph((id, centrality) => {
      const record = this.records.get(id);
      if (!record) return;
      record.centrality = centrality;
      engine.rows.setCentrality(record.row, centrality);
    });
  }

  /** The focus of a scope (unscoped by default). */
  focusOf(scope: Scope | undefined = undefined): number | undefined {
    return this.#focus.get(scopeKey(scope));
  }

  /** Every scope's focus, as [scopeKey, id]. */
  get focuses(): [string, number][] {
    return [...this.#focus];
  }

  get rows() {
    return this.engine.rows;
  }

  /** The live record of an id, or undefined. */
  get(id: number): NodeRecord | undefined {
    return this.records.get(id);
  }

  has(id: number): boolean {
    return this.records.has(id);
  }

  edges(id: number): readonly Edge[] {
    return this.graph.edges(id);
  }

  /**
   * What a read may see, as an allow-mask over ids: the filter's matches, the scope's members, less
   * the memories not valid at `view.at` or past their TTL. Undefined when it is every live memory.
   */
  allowed(view: View): Bitset | undefined {
    const bits = this.records.nextId;
    let mask = view.filter === undefined ? undefined : this.metadata.match(view.filter, bits);
    if (view.scope) mask = mask ? mask.and(this.scopes.match(view.scope, bits)) : this.scopes.match(view.scope, bits);
    for (const id of this.#timed) {
      const r = this.records.get(id)!;
      if (unexpired(r, view.at) && (view.includeExpired || validAt(r, view.at))) continue;
      mask ??= this.#liveCopy();
      mask.clear(id);
    }
    return mask;
  }

  /** Live and, at `at`, not past its TTL: what `get`, `has` and `ids` show. */
  visible(id: number, at: number): NodeRecord | undefined {
    const r = this.records.get(id);
    return r && unexpired(r, at) ? r : undefined;
  }

  /** Ids whose TTL has ended by `at`, ascending. */
  expired(at: number): number[] {
    return [...this.#timed].filter((id) => !unexpired(this.records.get(id)!, at)).sort((a, b) => a - b);
  }

  #liveCopy(): Bitset {
    const out = new Bitset(this.records.nextId);
    out.words.set(this.#live.words.subarray(0, out.words.length));
    return out;
  }

  /** The time a memory's recency counts from. */
  recencyTime(r: NodeRecord): number {
    return this.settings.recency === 'accessed' ? r.lastAccessedAt : r.createdAt;
  }

  /** The arena, text, metadata and keys, and both indexes: what maxMemoryMB bounds. */
  get memoryBytes(): number {
    return this.engine.arena.usedBytes + this.records.textBytes + this.metadata.bytes + this.lexical.bytes + this.scopes.bytes;
  }

  /** The one way state changes. */
  apply(effect: Effect): void {
    switch (effect.op) {
      case 'add':
        this.rows.reserve(effect.items.length);
        for (const item of effect.items) {
          this.#add(item);
          this.#focus.set(scopeKey(item.scope), item.id);
        }
        break;
      case 'update': this.#update(effect); break;
      case 'remove': this.#remove(effect.id); break;
      case 'edges':
        for (const [id, edges] of effect.sets) {
          this.#require(id, 'edges');
          for (const e of edges) this.#require(e.to, 'an edge to');
          this.graph.setEdges(id, edges);
        }
        break;
      case 'focus': {
        const record = effect.id === undefined ? undefined : this.#require(effect.id, 'focus');
        const scope = record ? scopeKey(record.scope) : effect.scope ?? '';
        if (effect.scope !== undefined && effect.scope !== scope) throw mismatch(`a focus on id ${effect.id} of another scope`);
        if (record) this.#focus.set(scope, record.id);
        else this.#focus.delete(scope);
        break;
      }
      case 'access':
        for (const id of effect.ids) this.#access(this.#require(id, 'access'), effect.at);
        break;
      case 'advance':
        if (effect.nextId < this.records.nextId) throw mismatch(`the next id ${effect.nextId} is below ${this.records.nextId}`);
        this.records.skipTo(effect.nextId);
        break;
      default:
        throw mismatch(`an effect of unknown operation ${JSON.stringify((effect as { op: unknown }).op)}`);
    }
  }

  #add(item: AddedMemory): void {
    if (!Number.isInteger(item.id) || item.id < this.records.nextId) throw mismatch(`an add of id ${item.id}, below the next id ${this.records.nextId}`);
    if (item.key !== undefined && this.records.idOfKey(item.key, item.scope) !== undefined) throw mismatch(`an add of key ${JSON.stringify(item.key)}, which is held`);
    const lastAccessedAt = item.lastAccessedAt ?? item.createdAt;
    const time = this.settings.recency === 'accessed' ? lastAccessedAt : item.createdAt;
    const row = this.rows.append(item.unit, { id: item.id, centrality: 0, weight: item.weight, timeMs: time });
    this.records.add({
      id: item.id, row, text: item.text, weight: item.weight, metadata: item.metadata, metadataBytes: jsonBytes(item.metadata),
      createdAt: item.createdAt, key: item.key, norm: item.norm, centrality: 0,
      accessCount: item.accessCount ?? 0, lastAccessedAt, accessTimes: [],
      scope: item.scope, validFrom: item.validFrom, validTo: item.validTo, expiresAt: item.expiresAt,
    });
    this.metadata.add(item.id, item.metadata);
    this.lexical.add(item.id, item.text);
    this.scopes.add(item.id, item.scope);
    this.#live.set(item.id);
    this.#noteTimed(this.records.get(item.id)!);
  }

  #update(effect: Extract<Effect, { op: 'update' }>): void {
    const record = this.#require(effect.id, 'update');
    if (effect.weight !== undefined) {
      record.weight = effect.weight;
      this.rows.setWeight(record.row, effect.weight);
    }
    if (effect.metadata !== undefined) {
      this.metadata.remove(record.id, record.metadata);
      this.records.setMetadata(record, effect.metadata, jsonBytes(effect.metadata));
      this.metadata.add(record.id, record.metadata);
    }
    if (effect.text !== undefined) {
      this.records.setText(record, effect.text);
      this.lexical.replace(record.id, effect.text);
    }
    if (effect.validFrom !== undefined) record.validFrom = effect.validFrom;
    if (effect.validTo !== undefined) record.validTo = effect.validTo;
    this.#noteTimed(record);
    if (effect.unit !== undefined) {
      // A new row, then the old one cleared: rows never change under a scan that reads them.
      this.rows.reserve(1);
      const row = this.rows.append(effect.unit, { id: record.id, centrality: record.centrality, weight: record.weight, timeMs: this.recencyTime(record) });
      this.rows.setLive(record.row, false);
      record.row = row;
      record.norm = effect.norm ?? record.norm;
    }
  }

  #remove(id: number): void {
    const record = this.records.remove(id);
    if (!record) throw mismatch(`a removal of id ${id}, which is not live`);
    this.rows.setLive(record.row, false);
    this.metadata.remove(id, record.metadata);
    this.lexical.remove(id);
    this.scopes.remove(id, record.scope);
    this.#live.clear(id);
    this.#timed.delete(id);
    this.graph.remove(id);
    const scope = scopeKey(record.scope);
    if (this.#focus.get(scope) === id) this.#focus.delete(scope);
  }

  #noteTimed(r: NodeRecord): void {
    if (r.validFrom !== undefined || r.validTo !== undefined || r.expiresAt !== undefined) this.#timed.add(r.id);
    else this.#timed.delete(r.id);
  }

  /** An injection into a context: for the loop guardrail, and for `recency: 'accessed'`. */
  #access(r: NodeRecord, at: number): void {
    r.accessCount++;
    r.lastAccessedAt = Math.max(r.lastAccessedAt, at);
    r.accessTimes.push(at);
    if (r.accessTimes.length > CONTEXT_RULES.loopAccesses + 1) r.accessTimes.shift();
    if (this.settings.recency === 'accessed') this.rows.setTime(r.row, r.lastAccessedAt);
  }

  #require(id: number, what: string): NodeRecord {
    const record = this.records.get(id);
    if (!record) throw mismatch(`${what} id ${id}, which is not live`);
    return record;
  }
}

function mismatch(message: string): InternalError {
  return new InternalError(`an effect that does not fit the store: ${message}`);
}

/** Bytes of a value as UTF-8 JSON, as validation counts metadata against the limits. */
export function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length;
}

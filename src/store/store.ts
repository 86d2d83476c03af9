// The host's memories, kept consistent: records and keys, the arena's rows, the graph, the metadata
// index and the focus. Every change — a live write, a snapshot restore, a log replay — goes
// through `apply(effect)`, so the three can never disagree. The store knows no journal and no
// metrics; an effect that does not fit the store is a bug of the caller (INTERNAL), or damage when
// it comes from a log (the replay turns it into MEMORY_CORRUPTION).
import type { ScanEngine } from '../engine/engine.js';
import { type Edge, Graph } from '../graph/honeycomb.js';
import type { Bitset } from '../metadata/bitset.js';
import { MetadataIndex } from '../metadata/filter.js';
import type { AddedMemory, Effect } from '../persistence/effects.js';
import { InternalError } from '../resilience/errors.js';
import { CONTEXT_RULES } from '../retrieval/context.js';
import { LexicalIndex } from '../retrieval/lexical.js';
import { type NodeRecord, Records } from './records.js';

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
  /** The memory new ones link to: the last one added, or the first one the last context injected. */
  #focus: number | undefined;

  constructor(readonly engine: ScanEngine, readonly settings: StoreSettings) {
    this.metadata = new MetadataIndex(settings.indexed);
    this.graph = new Graph((id, centrality) => {
      const record = this.records.get(id);
      if (!record) return;
      record.centrality = centrality;
      engine.rows.setCentrality(record.row, centrality);
    });
  }

  get focus(): number | undefined {
    return this.#focus;
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

  /** The filter's matches as an allow-mask over ids; undefined without a filter. */
  allowed(filter: unknown): Bitset | undefined {
    return filter === undefined ? undefined : this.metadata.match(filter, this.records.nextId);
  }

  /** The time a memory's recency counts from. */
  recencyTime(r: NodeRecord): number {
    return this.settings.recency === 'accessed' ? r.lastAccessedAt : r.createdAt;
  }

  /** The arena, text, metadata and keys, and both indexes: what maxMemoryMB bounds. */
  get memoryBytes(): number {
    return this.engine.arena.usedBytes + this.records.textBytes + this.metadata.bytes + this.lexical.bytes;
  }

  /** The one way state changes. */
  apply(effect: Effect): void {
    switch (effect.op) {
      case 'add':
        this.rows.reserve(effect.items.length);
        for (const item of effect.items) this.#add(item);
        this.#focus = effect.items.at(-1)?.id ?? this.#focus;
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
      case 'focus':
        if (effect.id !== undefined) this.#require(effect.id, 'focus');
        this.#focus = effect.id;
        break;
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
    if (item.key !== undefined && this.records.idOfKey(item.key) !== undefined) throw mismatch(`an add of key ${JSON.stringify(item.key)}, which is held`);
    const lastAccessedAt = item.lastAccessedAt ?? item.createdAt;
    const time = this.settings.recency === 'accessed' ? lastAccessedAt : item.createdAt;
    const row = this.rows.append(item.unit, { id: item.id, centrality: 0, weight: item.weight, timeMs: time });
    this.records.add({
      id: item.id, row, text: item.text, weight: item.weight, metadata: item.metadata, metadataBytes: jsonBytes(item.metadata),
      createdAt: item.createdAt, key: item.key, norm: item.norm, centrality: 0,
      accessCount: item.accessCount ?? 0, lastAccessedAt, accessTimes: [],
    });
    this.metadata.add(item.id, item.metadata);
    this.lexical.add(item.id, item.text);
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
    this.graph.remove(id);
    if (this.#focus === id) this.#focus = undefined;
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

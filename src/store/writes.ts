// Plans each kind of write into a change set: checks its input and the limits against the store as
// it is, then records the effects. Nothing here changes the store; `Store.apply` does, after the
// journal has the effects.
import type { Edge } from '../graph/honeycomb.js';
import { NotFoundError, ResourceExhaustionError } from '../resilience/errors.js';
import {
  checkFinite, checkKey, checkMetadata, checkObject, checkOneOf, checkPositiveNumber, checkText, checkUnitInterval, duplicateKey, invalid,
  toUnitVector, unknownKeys,
} from '../resilience/validation.js';
import type { EmbedControl, TextEmbedding } from '../retrieval/embed.js';
import { priorityScore, recencyFactor } from '../retrieval/priority.js';
import type { ChangeSet } from './changes.js';
import type { IngestResult, Scope } from '../types.js';
import { hostBytes, type NodeRecord } from './records.js';
import { dot, duplicateOf, type Kept } from './dedupe.js';
import { checkScope, scopeKey } from './scopes.js';
import { shingles } from '../retrieval/shingles.js';
import { lifecycleOf } from './snapshot.js';
import type { Store } from './store.js';

export interface WriteSettings {
  dim: number;
  maxNodes: number;
  maxBytes: number;
  maxTextLength: number;
  maxMetadataBytes: number;
  halfLifeMs: number;
  /** The TTL of a memory that gives none; undefined: none. */
  ttlMs: number | undefined;
  /** At a limit: refuse, or evict the memories of lowest priority first. */
  onFull: 'reject' | 'evict';
  clock: () => number;
  /** A rate-limited warning (unknown keys, values outside [−1, 1]). */
  warn: (key: string, message: string, fields: Record<string, unknown>) => void;
}

/** A memory that passed validation, before it has an id. */
export interface PreparedInput {
  unit: Float32Array;
  norm: number;
  text: string;
  weight: number;
  metadata: Record<string, unknown>;
  metadataBytes: number;
  createdAt: number;
  key: string | undefined;
  scope: Scope | undefined;
  validFrom: number | undefined;
  validTo: number | undefined;
  expiresAt: number | undefined;
}

const INPUT_KEYS = ['embedding', 'text', 'weight', 'metadata', 'createdAt', 'key', 'scope', 'validFrom', 'validTo', 'ttlMs'] as const;
const PATCH_KEYS = ['weight', 'metadata', 'text', 'embedding', 'validFrom', 'validTo'] as const;

export class Writes {
  constructor(private readonly store: Store, private readonly s: WriteSettings) {}

  /** Validates one input; `replacing` is the id whose key the input may take over (upsert). */
  prepare(input: unknown, name: string, batchKeys: Set<string>, replacing?: number): PreparedInput {
    const o = checkObject(input, name);
    const { unit, norm } = this.vector(o.embedding, `${name}.embedding`);
    const text = checkText(o.text, this.s.maxTextLength, `${name}.text`);
    const weight = o.weight === undefined ? 1 : checkPositiveNumber(o.weight, `${name}.weight`);
    const { metadata, bytes } = o.metadata === undefined
      ? { metadata: {}, bytes: 2 }
      : checkMetadata(o.metadata, this.s.maxMetadataBytes, `${name}.metadata`);
    const createdAt = o.createdAt === undefined ? this.s.clock() : checkFinite(o.createdAt, `${name}.createdAt`);
    const key = o.key === undefined ? undefined : checkKey(o.key, `${name}.key`);
    const scope = checkScope(o.scope, `${name}.scope`);
    if (key !== undefined) {
      const holder = this.store.records.idOfKey(key, scope);
      const scoped = `${scopeKey(scope)}\u0000${key}`;
      if ((holder !== undefined && holder !== replacing) || batchKeys.has(scoped)) throw duplicateKey(key);
      batchKeys.add(scoped);
    }
    const { validFrom, validTo } = checkValidity(o.validFrom, o.validTo, name, undefined);
    const ttlMs = o.ttlMs === undefined ? this.s.ttlMs : checkPositiveNumber(o.ttlMs, `${name}.ttlMs`);
    this.warnUnknown(name, o, INPUT_KEYS);
    return {
      unit, norm, text, weight, metadata, metadataBytes: bytes, createdAt, key, scope, validFrom, validTo,
      expiresAt: ttlMs === undefined ? undefined : createdAt + ttlMs,
    };
  }

  /** `remember`'s inputs with every missing embedding made by the embedder (one batched call). */
  async embedMissing(inputs: readonly unknown[], name: string, embedding: TextEmbedding | undefined, control: EmbedControl): Promise<unknown[]> {
    const itemName = (i: number) => (inputs.length === 1 && name === 'input' ? name : `${name}[${i}]`);
    const missing = inputs.flatMap((input, i) => {
      const item = checkObject(input, itemName(i));
      return item.embedding === undefined ? [{ i, text: checkText(item.text, this.s.maxTextLength, `${itemName(i)}.text`) }] : [];
    });
    if (missing.length === 0) return [...inputs];
    if (!embedding) throw invalid(`${itemName(missing[0]!.i)}.embedding`, 'a vector: the store has no `embedder` to make one', undefined);
    const vectors = await embedding.embed(missing.map((m) => m.text), control);
    const full = [...inputs];
    missing.forEach((m, j) => { full[m.i] = { ...(inputs[m.i] as object), embedding: vectors[j]!.unit }; });
    return full;
  }

  /**
   * Validates every input (named `name[i]`, or `input` for remember's one), then plans them all as
   * `add`. With `dedupe`, an input that duplicates a memory of its scope — in the
   * store or earlier in the call — is absorbed by it (its weight added, one access counted) instead
   * of stored. An input with a key is always stored: a key is an identity of its own.
   */
  addAll(changes: ChangeSet, inputs: readonly unknown[], name: string, options: WriteOptions): IngestResult[] {
    const keys = new Set<string>();
    const itemName = (i: number) => (inputs.length === 1 && name === 'input' ? name : `${name}[${i}]`);
    const prepared = inputs.map((input, i) => this.prepare(input, itemName(i), keys));
    const { link, dedupe: threshold } = options;
    if (threshold === undefined) return this.add(changes, prepared, link).map((id) => ({ id, deduplicated: false }));
    const now = this.s.clock();
    const kept: Kept[] = [];
    const fresh: PreparedInput[] = [];
    const absorbed = new Map<number, number>();
    const results = prepared.map((p): IngestResult => {
      const duplicate = p.key === undefined ? duplicateOf(this.store, changes, p, threshold, now, kept) : undefined;
      if (duplicate !== undefined) {
        absorbed.set(duplicate, (absorbed.get(duplicate) ?? 0) + p.weight);
        return { id: duplicate, deduplicated: true };
      }
      // Ids are handed out in order: the next fresh memory gets the next id.
      const id = changes.nextId + fresh.length;
      fresh.push(p);
      kept.push({ id, unit: p.unit, scope: scopeKey(p.scope), shingles: shingles(p.text) });
      return { id, deduplicated: false };
    });
    // The memories that absorb inputs must not be evicted to make room for the others.
    if (fresh.length > 0) this.add(changes, fresh, link, undefined, new Set(absorbed.keys()));
    for (const [id, weight] of absorbed) {
      const base = this.store.get(id)?.weight ?? fresh[kept.findIndex((k) => k.id === id)]!.weight;
      changes.update({ op: 'update', id, weight: base + weight });
    }
    changes.access(now, [...absorbed.keys()]);
    return results;
  }

  /** A query or stored vector, checked and made unit length. */
  vector(value: unknown, name: string): { unit: Float32Array; norm: number } {
    const { unit, norm, outOfRange } = toUnitVector(value, this.s.dim, name);
    if (outOfRange) this.s.warn('vector-out-of-range', 'vector values outside [-1, 1]: embeddings are usually normalised; it is stored as a unit vector', { field: name });
    return { unit, norm };
  }

  /** Queries as an array of vectors, or one Float32Array of n × dim values. */
  vectors(queries: unknown): Float32Array[] {
    const dim = this.s.dim;
    if (queries instanceof Float32Array) {
      if (queries.length % dim !== 0) throw invalid('queries', `a Float32Array whose length is a multiple of ${dim}`, queries, { length: queries.length });
      return Array.from({ length: queries.length / dim }, (_, i) => this.vector(queries.subarray(i * dim, (i + 1) * dim), `queries[${i}]`).unit);
    }
    if (!Array.isArray(queries)) throw invalid('queries', 'an array of vectors or a Float32Array of n × dim values', queries);
    return queries.map((q, i) => this.vector(q, `queries[${i}]`).unit);
  }

  /**
   * Plans memories that passed validation: limits first, then the memories and their links (to the
   * focus, each one to the one before it). `replacing` (upsert) hands its edges and access history
   * over to the new memory and is removed.
   */
  add(changes: ChangeSet, prepared: PreparedInput[], link: 'focus' | 'none', replacing?: NodeRecord, keep?: ReadonlySet<number>): number[] {
    this.#checkLimits(changes, prepared, replacing, keep);
    // Segments are allocated now, so that applying the effects cannot run out of memory.
    this.store.rows.reserve(prepared.length);
    const carried = replacing && this.#carriedEdges(changes, replacing);
    if (replacing) changes.remove(replacing.id);
    // Each memory links to the one before it in its own scope, the first to its scope's focus.
    const previous = new Map<string, { id: number; unit: Float32Array; time: number } | undefined>();
    for (const p of prepared) {
      const scope = scopeKey(p.scope);
      if (!previous.has(scope)) previous.set(scope, this.#focusOf(changes, p.scope));
    }
    const ids = changes.add(prepared.map((p) => ({
      text: p.text, weight: p.weight, metadata: p.metadata, createdAt: p.createdAt, key: p.key, norm: p.norm, unit: p.unit, ...lifecycleOf(p),
      ...(replacing ? { accessCount: replacing.accessCount, lastAccessedAt: replacing.lastAccessedAt } : {}),
    })));
    if (carried) carried(changes, ids[0]!);
    const now = this.s.clock();
    ids.forEach((id, i) => {
      const p = prepared[i]!;
      const scope = scopeKey(p.scope);
      const before = previous.get(scope);
      if (link === 'focus' && before) {
        const similarity = dot(before.unit, p.unit);
        const recency = recencyFactor(now, before.time, this.s.halfLifeMs);
        const relevance = Math.min(1, Math.max(0, 0.7 * Math.max(0, similarity) + 0.3 * recency));
        changes.link(id, before.id, relevance, 'focus', now);
        changes.link(before.id, id, relevance, 'focus', now);
      }
      previous.set(scope, { id, unit: p.unit, time: p.createdAt });
    });
    return ids;
  }

  /** Plans a patch of weight, metadata (replaced whole), text or embedding. */
  update(changes: ChangeSet, id: number, patch: unknown): void {
    const record = this.require(id);
    const o = checkObject(patch, 'patch');
    if (o.key !== undefined) throw invalid('patch.key', 'absent: a key never changes (upsert stores a memory under a key)', o.key);
    const weight = o.weight === undefined ? undefined : checkPositiveNumber(o.weight, 'patch.weight');
    const metadata = o.metadata === undefined ? undefined : checkMetadata(o.metadata, this.s.maxMetadataBytes, 'patch.metadata');
    const text = o.text === undefined ? undefined : checkText(o.text, this.s.maxTextLength, 'patch.text');
    const vector = o.embedding === undefined ? undefined : this.vector(o.embedding, 'patch.embedding');
    if (o.scope !== undefined) throw invalid('patch.scope', 'absent: a memory\'s scope never changes', o.scope);
    const validity = checkValidity(o.validFrom, o.validTo, 'patch', record);
    this.warnUnknown('patch', o, PATCH_KEYS);
    const moreHost = (metadata ? metadata.bytes - record.metadataBytes : 0) + (text === undefined ? 0 : 2 * (text.length - record.text.length));
    this.#checkBytes(moreHost, vector ? this.store.rows.bytesToAppend(1) : 0);
    if (vector) this.store.rows.reserve(1);
    changes.update({
      op: 'update', id: record.id,
      ...(weight === undefined ? {} : { weight }),
      ...(metadata ? { metadata: metadata.metadata } : {}),
      ...(text === undefined ? {} : { text }),
      ...(vector ? { unit: vector.unit, norm: vector.norm } : {}),
      ...(o.validFrom === undefined ? {} : { validFrom: validity.validFrom }),
      ...(o.validTo === undefined ? {} : { validTo: validity.validTo }),
    });
  }

  /**
   * Plans `prepared` as the memory that replaces `old` as true: the same scope (the old one's when
   * the input gives none), valid from its `validFrom` (default now), with an edge of type
   * 'supersedes' to the old one, whose validity ends where the new one's begins.
   */
  supersede(changes: ChangeSet, old: NodeRecord, prepared: PreparedInput, link: 'focus' | 'none'): number {
    if (prepared.scope && scopeKey(prepared.scope) !== scopeKey(old.scope)) {
      throw invalid('input.scope', `the scope of the memory it supersedes (${scopeKey(old.scope) || 'none'}) or absent`, prepared.scope);
    }
    const from = prepared.validFrom ?? this.s.clock();
    if (old.validFrom !== undefined && from <= old.validFrom) {
      throw invalid('input.validFrom', `a time after the superseded memory's validFrom (${old.validFrom})`, from);
    }
    // The old memory must not be evicted to make room for the new one: its validity ends here.
    const [id] = this.add(changes, [{ ...prepared, scope: old.scope, validFrom: from }], link, undefined, new Set([old.id]));
    changes.update({ op: 'update', id: old.id, validTo: Math.min(old.validTo ?? Infinity, from) });
    changes.link(id!, old.id, 1, 'supersedes', this.s.clock());
    return id!;
  }

  /** Plans a removal; false for an unknown or removed id. */
  remove(changes: ChangeSet, id: number): boolean {
    if (!changes.isLive(id)) return false;
    changes.remove(id);
    return true;
  }

  link(changes: ChangeSet, from: number, to: number, relevance: unknown, type: unknown): boolean {
    this.require(from, 'from');
    this.require(to, 'to');
    if (from === to) throw invalid('to', 'an id other than `from` (a memory cannot link to itself)', to);
    checkUnitInterval(relevance, 'relevance');
    if (typeof type !== 'string' || type.length === 0 || type.length > 64) throw invalid('type', 'a string of 1 to 64 characters', type);
    return changes.link(from, to, relevance as number, type, this.s.clock());
  }

  unlink(changes: ChangeSet, from: number, to: number): boolean {
    this.require(from, 'from');
    this.require(to, 'to');
    return changes.unlink(from, to);
  }

  /** The live record of an id that a write names: INVALID_DATA for a non-id, NOT_FOUND for an unknown one. */
  require(id: unknown, name = 'id'): NodeRecord {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw invalid(name, 'a memory id (an integer ≥ 0)', id);
    const record = this.store.get(id);
    if (!record) throw new NotFoundError(`no memory with id ${String(id)} (\`${name}\`)`, { details: { id } });
    return record;
  }

  warnUnknown(name: string, o: object, known: readonly string[]): void {
    const extra = unknownKeys(o, known);
    if (extra.length > 0) this.s.warn(`unknown-keys:${name}`, 'unknown keys ignored', { field: name, keys: extra });
  }

  /** The focus a new memory links to, with what its relevance needs. */
  #focusOf(changes: ChangeSet, scope: Scope | undefined): { id: number; unit: Float32Array; time: number } | undefined {
    const id = changes.focusOf(scope);
    const record = id === undefined ? undefined : this.store.get(id);
    if (!record || !changes.isLive(record.id)) return undefined;
    return { id: record.id, unit: this.store.rows.vector(record.row), time: this.store.recencyTime(record) };
  }

  /**
   * What upsert keeps: the old memory's outgoing edges become the new one's, and every edge that
   * pointed at the old memory points at the new one. Returns the plan to run once the new id is known.
   */
  #carriedEdges(changes: ChangeSet, old: NodeRecord): (changes: ChangeSet, id: number) => void {
    const outgoing = changes.edgesOf(old.id).map((e) => ({ ...e }));
    const incoming = this.store.graph.incoming(old.id).filter((from) => changes.isLive(from))
      .map((from) => [from, changes.edgesOf(from).map((e) => ({ ...e }))] as [number, Edge[]]);
    return (plan, id) => {
      plan.setEdges(id, outgoing.filter((e) => e.to !== old.id));
      for (const [from, edges] of incoming) plan.setEdges(from, edges.map((e) => (e.to === old.id ? { ...e, to: id } : e)));
    };
  }

  #checkLimits(changes: ChangeSet, prepared: PreparedInput[], replacing: NodeRecord | undefined, keep: ReadonlySet<number> | undefined): void {
    if (this.s.onFull === 'evict') this.#evictForRoom(changes, prepared, replacing, keep);
    const live = this.store.records.live - (replacing ? 1 : 0) - changes.removedFromStore;
    if (live + prepared.length > this.s.maxNodes) {
      throw new ResourceExhaustionError(
        `maxNodes reached: ${live} memories stored, ${prepared.length} more would pass the limit of ${this.s.maxNodes}`,
        { details: { nodes: live, adding: prepared.length, limit: this.s.maxNodes } },
      );
    }
    this.#checkBytes(this.#hostBytesToAdd(changes, prepared, replacing), this.store.rows.bytesToAppend(prepared.length));
  }

  /** Host bytes the write adds, less what it frees (a replaced or evicted memory's text and metadata). */
  #hostBytesToAdd(changes: ChangeSet, prepared: PreparedInput[], replacing: NodeRecord | undefined): number {
    // A batch's new metadata fields are counted once per item: an over-estimate, on the safe side.
    const added = prepared.reduce((sum, p) => sum + hostBytes(p) + this.store.metadata.bytesToAdd(p.metadata), 0);
    return added - (replacing ? hostBytes(replacing) : 0) - changes.freedHostBytes;
  }

  /**
   * `onFull: 'evict'`: plans the removal of the memories of lowest priority without a query
   * (max(0.1, C) · max(0.1, R) · W, ties to the older id) until the write fits. When even all of
   * them would not make room, nothing is evicted and the limit refuses the write as usual.
   */
  #evictForRoom(changes: ChangeSet, prepared: PreparedInput[], replacing: NodeRecord | undefined, keep: ReadonlySet<number> | undefined): void {
    const nodesOver = this.store.records.live - (replacing ? 1 : 0) + prepared.length - this.s.maxNodes;
    const bytesOver = () => this.store.memoryBytes + this.#hostBytesToAdd(changes, prepared, replacing) + this.store.rows.bytesToAppend(prepared.length) - this.s.maxBytes;
    if (nodesOver <= 0 && bytesOver() <= 0) return;
    const now = this.s.clock();
    const order = [...this.store.records.ids()]
      .filter((id) => id !== replacing?.id && !keep?.has(id) && changes.isLive(id))
      .map((id) => {
        const r = this.store.get(id)!;
        // The priority with α = 0: similarity does not count, the structure alone does.
        return { r, priority: priorityScore(0, r.centrality, recencyFactor(now, this.store.recencyTime(r), this.s.halfLifeMs), r.weight, 0) };
      })
      .sort((a, b) => a.priority - b.priority || a.r.id - b.r.id);
    for (const { r } of order) {
      if (this.store.records.live - (replacing ? 1 : 0) - changes.removedFromStore + prepared.length <= this.s.maxNodes && bytesOver() <= 0) return;
      changes.remove(r.id, { evicted: true, hostBytes: hostBytes(r) });
    }
  }

  /** Throws RESOURCE_EXHAUSTION when `host` more bytes of text and `arena` more of arena would pass maxMemoryMB. */
  #checkBytes(host: number, arena: number): void {
    const used = this.store.memoryBytes;
    if (used + host + arena > this.s.maxBytes) {
      throw new ResourceExhaustionError(
        `maxMemoryMB reached: ${used} bytes in use, ${host + arena} more would pass the limit of ${this.s.maxBytes} bytes`,
        { details: { usedBytes: used, requestedBytes: host + arena, limitBytes: this.s.maxBytes } },
      );
    }
  }
}

/** validFrom and validTo as given (or the record's), with validFrom < validTo. */
function checkValidity(from: unknown, to: unknown, name: string, record: NodeRecord | undefined): { validFrom: number | undefined; validTo: number | undefined } {
  const validFrom = from === undefined ? record?.validFrom : checkFinite(from, `${name}.validFrom`);
  const validTo = to === undefined ? record?.validTo : checkFinite(to, `${name}.validTo`);
  if (validFrom !== undefined && validTo !== undefined && validTo <= validFrom) {
    throw invalid(`${name}.validTo`, `a time after validFrom (${validFrom}): validity runs from validFrom (inclusive) to validTo (exclusive)`, validTo);
  }
  return { validFrom, validTo };
}

export interface WriteOptions {
  link: 'focus' | 'none';
  /** The similarity at which a new memory is absorbed by an existing one; undefined: off. */
  dedupe: number | undefined;
}

/** `options.link` and `options.dedupe` of add, addMany, upsert and remember. */
export function writeOptions(options: unknown): WriteOptions {
  const o = options === undefined ? {} : checkObject(options, 'options');
  let dedupe: number | undefined;
  if (o.dedupe !== undefined) dedupe = checkUnitInterval(checkObject(o.dedupe, 'options.dedupe').threshold, 'options.dedupe.threshold');
  return { link: o.link === undefined ? 'focus' : checkOneOf(o.link, ['focus', 'none'], 'options.link'), dedupe };
}

export function checkId(id: unknown, name = 'id'): number {
  if (typeof id !== 'number' || Number.isNaN(id)) throw invalid(name, 'a number', id);
  return id;
}


// `ov-memory/langgraph`: an ov-memory store as LangGraph's long-term memory, a `BaseStore` that a
// graph gets at compile time (`graph.compile({ store })`) and its nodes reach as `config.store`.
//
// An item is one memory. Its namespace and key are kept in the memory's metadata; the leading labels
// of the namespace fill the scope fields named by `scopes`, in order, so that a user's items are that
// user's memories for every other use of the store (`memory.forget({ scope })`, the AI SDK tools);
// the rest of the namespace and the key make the memory's key within that scope. Its value is in
// the metadata too (under `value`, where filters look), and its text is what `index` embedded: the
// texts at the index fields, joined, or the value as JSON when nothing is indexed. Everything lives
// in the store, so the items are as durable as the store is (`OVMemory.open`).
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { GetOperation, Item, ListNamespacesOperation, MatchCondition, Operation, OperationResults, PutOperation, SearchItem, SearchOperation } from '@langchain/langgraph-checkpoint';
import { EmbedderFaultError, OVMemory, type MemoryRecord, type Scope, type SearchHit } from 'ov-memory';

import { invalid } from '../embedders/checks.js';
import { asLangChainEmbeddings, type AnyEmbeddings } from './embeddings.js';
import { importPeer } from './peer.js';
import { within } from './scopes.js';
import { checkValueFilter, matches, metadataFilter, type ValueFilter } from './value-filter.js';

const { BaseStore, getTextAtPath, validateNamespace } = await importPeer(
  () => import('@langchain/langgraph-checkpoint'),
  '@langchain/langgraph-checkpoint',
  '@langchain/langgraph',
  'ov-memory/langgraph',
);

export type ScopeField = keyof Scope;

export interface OVMemoryStoreIndex {
  /** Embeds the indexed texts and the queries: a LangChain `Embeddings` or an ov-memory embedder. */
  embeddings: AnyEmbeddings;
  /** The vectors' dimension, when given checked against the store's. @default the store's `dim` */
  dims?: number;
  /** The paths of a value that are embedded (`'$'`: the whole value as JSON); `put(…, index)` may name others. @default ['$'] */
  fields?: string[];
}

export interface OVMemoryStoreOptions {
  /** The store the items live in (`OVMemory.create`, or `OVMemory.open` for a durable one). */
  memory: OVMemory;
  /** What makes items searchable by a query; without it a query is ignored, as in LangGraph's own stores. */
  index?: OVMemoryStoreIndex;
  /**
   * The scope fields the leading labels of a namespace fill, in order: with `['user']` the namespace
   * `['alice', 'memories']` is the scope `{ user: 'alice' }` and the key prefix `['memories']`.
   * @default [] (the whole namespace is part of the key)
   */
  scopes?: readonly ScopeField[];
  /** ms since epoch, for the items' times. @default Date.now */
  clock?: () => number;
}

/** What an item's memory holds in its metadata. */
interface ItemMetadata {
  namespace: string[];
  /** Each leading part of the namespace, joined by ':' (which no label holds): prefix searches match one. */
  prefixes: string[];
  value: Record<string, unknown>;
  /** Whether the item has a vector of its texts (an unindexed one has a placeholder, never searched). */
  indexed: boolean;
  /** ms since epoch: the item's first put, and its latest. */
  createdAt: number;
  updatedAt: number;
}

const SEPARATOR = ':';
const DEFAULT_LIMIT = 10;
const SCOPE_FIELDS: readonly ScopeField[] = ['user', 'agent', 'session'];

export class OVMemoryStore extends BaseStore {
  readonly memory: OVMemory;
  readonly #embeddings: EmbeddingsInterface | undefined;
  readonly #fields: string[];
  readonly #scopes: readonly ScopeField[];
  readonly #clock: () => number;
  /** The vector of an item with nothing to embed: a memory needs one; searches leave these out. */
  readonly #placeholder: Float32Array;

  constructor(options: OVMemoryStoreOptions) {
    super();
    if (options === null || typeof options !== 'object') throw invalid('options', 'an object with `memory`', options);
    if (!(options.memory instanceof OVMemory)) throw invalid('options.memory', 'an OVMemory', options.memory);
    this.memory = options.memory;
    const { index, scopes = [], clock = Date.now } = options;
    if (index !== undefined) {
      if (index === null || typeof index !== 'object') throw invalid('options.index', 'an object with `embeddings`', index);
      this.#embeddings = asLangChainEmbeddings(index.embeddings, 'options.index.embeddings');
      if (index.dims !== undefined && index.dims !== this.memory.dim) throw invalid('options.index.dims', `the store's dimension ${this.memory.dim}`, index.dims);
    }
    this.#fields = checkFields(index?.fields ?? ['$'], 'options.index.fields');
    if (!Array.isArray(scopes) || scopes.some((s) => !SCOPE_FIELDS.includes(s)) || new Set(scopes).size !== scopes.length) {
      throw invalid('options.scopes', `an array of distinct scope fields (${SCOPE_FIELDS.join(', ')})`, scopes);
    }
    this.#scopes = [...scopes];
    if (typeof clock !== 'function') throw invalid('options.clock', 'a function', clock);
    this.#clock = clock;
    this.#placeholder = new Float32Array(this.memory.dim);
    this.#placeholder[0] = 1;
  }

  /**
   * Runs the operations as LangGraph's stores do: every read sees the store as it was before the
   * batch, then the writes are applied in order (the last write of an item wins).
   */
  async batch<Op extends Operation[]>(operations: Op): Promise<OperationResults<Op>> {
    if (!Array.isArray(operations)) throw invalid('operations', 'an array of operations', operations);
    const writes = new Map<string, PutOperation>();
    const reads = operations.map((op, i): Promise<unknown> | null => {
      if (op === null || typeof op !== 'object') throw invalid(`operations[${i}]`, 'an operation', op);
      if ('value' in op) {
        this.#checkPut(op, i);
        writes.delete(itemId(op.namespace, op.key));
        writes.set(itemId(op.namespace, op.key), op);
        return null; // a put answers null, as in LangGraph's own stores
      }
      if ('namespacePrefix' in op) return this.#search(op, i);
      if ('matchConditions' in op || 'limit' in op) return Promise.resolve(this.#listNamespaces(op as ListNamespacesOperation));
      if ('namespace' in op && 'key' in op) return Promise.resolve(this.#get(op as GetOperation));
      throw invalid(`operations[${i}]`, 'a get, put, search or list-namespaces operation', op);
    });
    const results = await Promise.all(reads);
    await this.#write([...writes.values()]);
    return results as OperationResults<Op>;
  }

  #get({ namespace, key }: GetOperation): Item | null {
    validateNamespace(namespace, { allowEmpty: true, allowReservedRoot: true });
    const record = this.#record(namespace, key);
    return record ? itemOf(record) : null;
  }

  async #search(op: SearchOperation, i: number): Promise<SearchItem[]> {
    const prefix = op.namespacePrefix;
    if (!Array.isArray(prefix)) throw invalid(`operations[${i}].namespacePrefix`, 'an array of labels', prefix);
    if (prefix.length > 0) validateNamespace(prefix, { allowReservedRoot: true });
    const filter = checkValueFilter(op.filter, `operations[${i}].filter`);
    const limit = count(op.limit, `operations[${i}].limit`, DEFAULT_LIMIT);
    const offset = count(op.offset, `operations[${i}].offset`, 0);
    if (op.query !== undefined && typeof op.query !== 'string') throw invalid(`operations[${i}].query`, 'a string', op.query);
    const scope = this.#scopeOf(prefix).scope;
    const listed = () => this.#list(prefix, scope, filter);
    if (!op.query || !this.#embeddings || limit === 0) return page(listed(), offset, limit).map((r) => ({ ...itemOf(r), score: undefined }));

    const query = await this.#embeddings.embedQuery(op.query);
    const hits: SearchHit[] = await this.memory.search(query, {
      topK: offset + limit,
      rank: 'similarity',
      ...within(scope),
      filter: { $and: [{ indexed: true }, ...(prefix.length > 0 ? [{ prefixes: prefix.join(SEPARATOR) }] : []), ...metadataFilter(filter)] },
    });
    const scored: SearchItem[] = hits.slice(offset).map((hit) => ({ ...itemOf(hit), score: hit.similarity }));
    // Items with nothing indexed follow the scored ones, unscored, as in LangGraph's in-memory store.
    if (scored.length < limit) {
      const unindexed = page(listed().filter((r) => !(r.metadata as unknown as ItemMetadata).indexed), 0, limit - scored.length);
      scored.push(...unindexed.map((r) => ({ ...itemOf(r), score: undefined })));
    }
    return scored;
  }

  #listNamespaces(op: ListNamespacesOperation): string[][] {
    const conditions = op.matchConditions ?? [];
    const limit = count(op.limit, 'limit', Number.MAX_SAFE_INTEGER);
    const offset = count(op.offset, 'offset', 0);
    if (op.maxDepth !== undefined) count(op.maxDepth, 'maxDepth', 0);
    const seen = new Map<string, string[]>();
    for (const record of this.#records(undefined)) {
      let namespace = (record.metadata as unknown as ItemMetadata).namespace;
      if (!conditions.every((c) => conditionHolds(c, namespace))) continue;
      if (op.maxDepth !== undefined) namespace = namespace.slice(0, op.maxDepth);
      seen.set(namespace.join(SEPARATOR), namespace);
    }
    const sorted = [...seen.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, ns]) => ns);
    return sorted.slice(offset, offset + limit);
  }

  /** Embeds what the puts index (one call), then applies them in order. */
  async #write(puts: PutOperation[]): Promise<void> {
    const texts = puts.map((op) => (op.value === null ? [] : this.#texts(op)));
    const toEmbed = texts.filter((t) => t.length > 0).map((t) => t.join('\n'));
    const vectors = toEmbed.length > 0 && this.#embeddings ? await this.#embeddings.embedDocuments(toEmbed) : [];
    if (!Array.isArray(vectors) || vectors.length !== toEmbed.length) {
      throw new EmbedderFaultError(`The embeddings returned ${Array.isArray(vectors) ? vectors.length : 'no array of'} vectors for ${toEmbed.length} texts`);
    }
    let next = 0;
    for (const [i, op] of puts.entries()) {
      const { scope, key } = this.#scopeOf(op.namespace, op.key);
      const previous = this.memory.getByKey(key, within(scope));
      if (op.value === null) {
        if (previous) this.memory.removeByKey(key, within(scope));
        continue;
      }
      const indexed = texts[i]!.length > 0 && this.#embeddings !== undefined;
      const now = this.#clock();
      const metadata: ItemMetadata = {
        namespace: [...op.namespace],
        prefixes: op.namespace.map((_, n) => op.namespace.slice(0, n + 1).join(SEPARATOR)),
        value: op.value,
        indexed,
        createdAt: previous ? (previous.metadata as unknown as ItemMetadata).createdAt : now,
        updatedAt: now,
      };
      const input = {
        embedding: indexed ? vectors[next++]! : this.#placeholder,
        text: indexed ? texts[i]!.join('\n') : JSON.stringify(op.value),
        metadata: metadata as unknown as Record<string, unknown>,
        createdAt: now,
        key,
        ...within(scope),
      };
      if (previous) this.memory.upsert(input);
      else this.memory.add(input);
    }
  }

  /** The texts an item's put embeds: those at its index fields (the store's, or its own). */
  #texts(op: PutOperation): string[] {
    if (op.index === false || !this.#embeddings) return [];
    const fields = op.index === undefined ? this.#fields : checkFields(op.index, 'index');
    return fields.flatMap((path) => (path === '$' ? [JSON.stringify(op.value, null, 2)] : getTextAtPath(op.value, path)));
  }

  #checkPut(op: PutOperation, i: number): void {
    validateNamespace(op.namespace, { allowReservedRoot: true });
    if (typeof op.key !== 'string' || op.key === '') throw invalid(`operations[${i}].key`, 'a non-empty string', op.key);
    if (op.value !== null && (typeof op.value !== 'object' || Array.isArray(op.value))) {
      throw invalid(`operations[${i}].value`, 'an object, or null to delete', op.value);
    }
    if (op.index !== undefined && op.index !== false) checkFields(op.index, `operations[${i}].index`);
  }

  /**
   * The scope a namespace's leading labels fill, and the memory key of `key` within it: the rest of
   * the namespace and the key, as JSON (labels and keys may hold any character but ':').
   */
  #scopeOf(namespace: string[], key?: string): { scope: Scope; key: string } {
    const scope: Scope = {};
    this.#scopes.forEach((field, n) => {
      if (n < namespace.length) scope[field] = namespace[n]!;
    });
    return { scope, key: JSON.stringify([...namespace.slice(this.#scopes.length), key]) };
  }

  #record(namespace: string[], key: string): MemoryRecord | undefined {
    const { scope, key: memoryKey } = this.#scopeOf(namespace, key);
    return this.memory.getByKey(memoryKey, within(scope));
  }

  /** The item memories under `prefix` that pass `filter`, in the order they were last written. */
  #list(prefix: string[], scope: Scope, filter: ValueFilter): MemoryRecord[] {
    const joined = prefix.join(SEPARATOR);
    return this.#records(scope).filter((r) => {
      const m = r.metadata as unknown as ItemMetadata;
      return (prefix.length === 0 || m.prefixes.includes(joined)) && matches(m.value, filter);
    });
  }

  #records(scope: Scope | undefined): MemoryRecord[] {
    const out: MemoryRecord[] = [];
    for (const id of this.memory.ids(scope === undefined ? undefined : within(scope))) {
      const record = this.memory.get(id);
      if (record && isItem(record)) out.push(record);
    }
    return out;
  }
}

function itemId(namespace: string[], key: string): string {
  return JSON.stringify([namespace, key]);
}

/** Whether a memory is one of this adapter's items (a store may hold other memories too). */
function isItem(record: MemoryRecord): boolean {
  const m = record.metadata as Partial<ItemMetadata>;
  return Array.isArray(m.namespace) && Array.isArray(m.prefixes) && m.value !== null && typeof m.value === 'object';
}

function itemOf(record: MemoryRecord | SearchHit): Item {
  const m = record.metadata as unknown as ItemMetadata;
  const key = JSON.parse(record.key!) as string[];
  return { namespace: m.namespace, key: key[key.length - 1]!, value: m.value, createdAt: new Date(m.createdAt), updatedAt: new Date(m.updatedAt) };
}

function conditionHolds({ matchType, path }: MatchCondition, namespace: string[]): boolean {
  if (path.length > namespace.length) return false;
  const start = matchType === 'suffix' ? namespace.length - path.length : 0;
  return path.every((label, n) => label === '*' || label === namespace[start + n]);
}

function page<T>(list: T[], offset: number, limit: number): T[] {
  return list.slice(offset, offset + limit);
}

function count(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(name, 'a non-negative integer', value);
  return value;
}

function checkFields(fields: unknown, name: string): string[] {
  if (!Array.isArray(fields) || fields.some((f) => typeof f !== 'string' || f === '')) throw invalid(name, 'an array of field paths', fields);
  return fields as string[];
}

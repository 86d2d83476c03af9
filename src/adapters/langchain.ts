// `ov-memory/langchain`: an ov-memory store as a LangChain.js `VectorStore`, so retrievers, chains and
// agents built on LangChain read and write it unchanged. A document is one memory: `pageContent` its
// text, `metadata` its metadata (filters are the library's Mongo-style language, passed through),
// `id` its key — the caller's id, or a random UUID when the document has none.
import type { Callbacks } from '@langchain/core/callbacks/manager';
import type { DocumentInterface } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import type { MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores';
import { OVMemory, type Filter, type MemoryInput, type OVMemoryOptions, type Scope, type SearchHit } from 'ov-memory';

import { invalid, positiveInteger } from '../embedders/checks.js';
import { asLangChainEmbeddings, type AnyEmbeddings } from './embeddings.js';
import { importPeer } from './peer.js';
import { checkScope, within } from './scopes.js';

export type { AnyEmbeddings } from './embeddings.js';

const load = <T>(importer: () => Promise<T>) => importPeer(importer, '@langchain/core', '@langchain/core@^1', 'ov-memory/langchain');
const [{ VectorStore }, { Document }, { maximalMarginalRelevance }] = await Promise.all([
  load(() => import('@langchain/core/vectorstores')),
  load(() => import('@langchain/core/documents')),
  load(() => import('@langchain/core/utils/math')),
]);

export interface OVMemoryVectorStoreArgs {
  /** The store the documents live in (`OVMemory.create`, or `OVMemory.open` for a durable one). */
  memory: OVMemory;
  /**
   * How searches rank: `'similarity'` (cosine, the score other vector stores return) or
   * `'priority'` (ov-memory's 4-factor score: similarity, centrality, recency and weight).
   * @default 'similarity'
   */
  rank?: 'similarity' | 'priority';
  /**
   * The metadata key under which documents returned by a search carry `{ id, score, factors }` (why
   * they ranked where they did); `false` leaves their metadata exactly as stored.
   * @default 'ovMemory'
   */
  factorsKey?: string | false;
  /** How added documents join the graph (ov-memory's `AddOptions.link`). @default 'focus' */
  link?: 'focus' | 'none';
  /**
   * Whose documents these are: added documents get this scope, and searches, `getByIds` and
   * `delete` see only the documents of it (ids are unique within a scope). @default unscoped
   */
  scope?: Scope;
}

/** `fromTexts` / `fromDocuments`: a store of one's own, or a new in-process one made with `options`. */
export type OVMemoryVectorStoreConfig = Omit<OVMemoryVectorStoreArgs, 'memory'> &
  ({ memory: OVMemory; options?: never } | { memory?: never; options?: Partial<OVMemoryOptions> });

/** What `addVectors` and `addDocuments` take besides the documents. */
export interface AddDocumentOptions {
  /** The documents' ids (kept as the memories' keys), in place of `document.id`. */
  ids?: string[];
}

/** LangChain's `MaxMarginalRelevanceSearchOptions` defaults, as its other stores use them. */
const MMR_FETCH_K = 20;
const MMR_LAMBDA = 0.5;

export class OVMemoryVectorStore extends VectorStore {
  declare FilterType: Filter;
  readonly memory: OVMemory;
  readonly #rank: 'similarity' | 'priority';
  readonly #factorsKey: string | false;
  readonly #link: 'focus' | 'none';
  readonly #scope: { scope?: Scope };

  /** `embeddings`: any LangChain `Embeddings`, or one of ov-memory's embedders. */
  constructor(embeddings: AnyEmbeddings, args: OVMemoryVectorStoreArgs) {
    super(asLangChainEmbeddings(embeddings, 'embeddings'), {});
    if (args === null || typeof args !== 'object') throw invalid('args', 'an object with `memory`', args);
    if (!(args.memory instanceof OVMemory)) throw invalid('args.memory', 'an OVMemory', args.memory);
    this.memory = args.memory;
    this.#rank = oneOf(args.rank, 'args.rank', ['similarity', 'priority'], 'similarity');
    this.#link = oneOf(args.link, 'args.link', ['focus', 'none'], 'focus');
    const key = args.factorsKey ?? 'ovMemory';
    if (key !== false && (typeof key !== 'string' || key === '')) throw invalid('args.factorsKey', 'a non-empty string or false', key);
    this.#factorsKey = key;
    this.#scope = args.scope === undefined ? {} : within(checkScope(args.scope, 'args.scope'));
  }

  _vectorstoreType(): string {
    return 'ov-memory';
  }

  /** Embeds the documents' texts with the store's embeddings and adds them; returns their ids. */
  async addDocuments(documents: DocumentInterface[], options?: AddDocumentOptions): Promise<string[]> {
    checkDocuments(documents);
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.addVectors(vectors, documents, options);
  }

  /**
   * Adds documents with their vectors; returns their ids. A document whose id is already stored
   * replaces it (adding the same documents twice keeps one copy of each).
   */
  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: AddDocumentOptions): Promise<string[]> {
    checkDocuments(documents);
    if (!Array.isArray(vectors) || vectors.length !== documents.length) {
      throw invalid('vectors', `an array of ${documents.length} vectors (one per document)`, vectors);
    }
    const dim = this.memory.dim;
    vectors.forEach((v, i) => {
      if (!Array.isArray(v) || v.length !== dim) throw invalid(`vectors[${i}]`, `an array of ${dim} numbers`, v);
    });
    const ids = idsOf(documents, options);
    const inputs: MemoryInput[] = documents.map((d, i) => ({ embedding: vectors[i]!, text: d.pageContent, metadata: d.metadata ?? {}, key: ids[i]!, ...this.#scope }));
    const stored = new Set(inputs.filter((input) => this.memory.getByKey(input.key!, this.#scope) !== undefined));
    // The new documents in one all-or-nothing write, then each stored one replaced under its key.
    const fresh = inputs.filter((input) => !stored.has(input));
    if (fresh.length > 0) this.memory.addMany(fresh, { link: this.#link });
    for (const input of stored) this.memory.upsert(input, { link: this.#link });
    return ids;
  }

  /**
   * Removes the documents of these ids (unknown ones are skipped), or those whose metadata match
   * `filter`, or with both, those of the ids that match; one write, erased from a durable store at
   * its next checkpoint.
   */
  override async delete(params?: { ids?: string[]; filter?: Filter }): Promise<void> {
    const { ids, filter } = params ?? {};
    if (ids === undefined && filter === undefined) throw invalid('params', 'an object with `ids` or `filter`', params);
    if (ids !== undefined && (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))) throw invalid('params.ids', 'an array of strings', ids);
    await this.memory.forget({ ...this.#scope, ...(ids === undefined ? {} : { keys: ids }), ...(filter === undefined ? {} : { filter }) });
  }

  /** The stored documents of these ids, in the order asked; unknown ids are skipped. */
  async getByIds(ids: string[]): Promise<DocumentInterface[]> {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string')) throw invalid('ids', 'an array of strings', ids);
    return ids.flatMap((id) => {
      const record = this.memory.getByKey(id, this.#scope);
      return record ? [new Document({ pageContent: record.text, metadata: record.metadata, id })] : [];
    });
  }

  async similaritySearchVectorWithScore(query: number[], k: number, filter?: Filter): Promise<[DocumentInterface, number][]> {
    const hits = await this.#search(query, k, filter);
    return hits.map((hit) => [this.#document(hit), hit.score]);
  }

  /**
   * Fetches `fetchK` candidates (default 20), then picks `k` of them that are relevant to the query
   * and unlike each other (`lambda` 1: relevance only, 0: diversity only; default 0.5).
   */
  override async maxMarginalRelevanceSearch(
    query: string,
    options: MaxMarginalRelevanceSearchOptions<Filter>,
    _callbacks?: Callbacks,
  ): Promise<DocumentInterface[]> {
    const { fetchK = MMR_FETCH_K, lambda = MMR_LAMBDA, filter } = options ?? ({} as Partial<MaxMarginalRelevanceSearchOptions<Filter>>);
    const k = positiveInteger(options?.k, 'options.k', 4);
    if (typeof lambda !== 'number' || !(lambda >= 0 && lambda <= 1)) throw invalid('options.lambda', 'a number from 0 to 1', lambda);
    const queryVector = await this.embeddings.embedQuery(query);
    const hits = await this.#search(queryVector, Math.max(positiveInteger(fetchK, 'options.fetchK', MMR_FETCH_K), k), filter);
    const vectors = hits.map((hit) => Array.from(this.memory.get(hit.id, { embedding: true })!.embedding!));
    return maximalMarginalRelevance(queryVector, vectors, lambda, k).map((i) => this.#document(hits[i]!));
  }

  static override async fromTexts(
    texts: string[],
    metadatas: object[] | object,
    embeddings: AnyEmbeddings,
    config: OVMemoryVectorStoreConfig = {},
  ): Promise<OVMemoryVectorStore> {
    if (!Array.isArray(texts)) throw invalid('texts', 'an array of strings', texts);
    const documents = texts.map((pageContent, i) => new Document({
      pageContent,
      metadata: { ...(Array.isArray(metadatas) ? metadatas[i] : metadatas) },
    }));
    return OVMemoryVectorStore.fromDocuments(documents, embeddings, config);
  }

  /** A store holding `documents`: in `config.memory`, or in a new in-process store of their vectors' dimension. */
  static override async fromDocuments(
    documents: DocumentInterface[],
    embeddings: AnyEmbeddings,
    config: OVMemoryVectorStoreConfig = {},
  ): Promise<OVMemoryVectorStore> {
    checkDocuments(documents);
    const e: EmbeddingsInterface = asLangChainEmbeddings(embeddings, 'embeddings');
    const vectors = await e.embedDocuments(documents.map((d) => d.pageContent));
    const { options, memory, ...args } = config;
    const dim = vectors[0]?.length ?? (embeddings as { dim?: number }).dim;
    const store = new OVMemoryVectorStore(e, { ...args, memory: memory ?? (await OVMemory.create({ ...options, ...(dim === undefined ? {} : { dim }) })) });
    await store.addVectors(vectors, documents);
    return store;
  }

  #search(query: number[], k: number, filter: Filter | undefined): Promise<SearchHit[]> {
    return this.memory.search(query, { topK: k, rank: this.#rank, ...this.#scope, ...(filter === undefined ? {} : { filter }) });
  }

  #document(hit: SearchHit): DocumentInterface {
    const metadata = this.#factorsKey === false
      ? hit.metadata
      : { ...hit.metadata, [this.#factorsKey]: { id: hit.id, score: hit.score, factors: hit.factors } };
    return new Document({ pageContent: hit.text, metadata, ...(hit.key === undefined ? {} : { id: hit.key }) });
  }
}

function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw invalid(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  return value as T;
}

function checkDocuments(documents: unknown): asserts documents is DocumentInterface[] {
  if (!Array.isArray(documents)) throw invalid('documents', 'an array of documents', documents);
  documents.forEach((d, i) => {
    if (d === null || typeof d !== 'object' || typeof (d as DocumentInterface).pageContent !== 'string') {
      throw invalid(`documents[${i}]`, 'a document with a string `pageContent`', d);
    }
  });
}

/** Each document's id: the one given in `options.ids`, else its own, else a new UUID; all distinct. */
function idsOf(documents: DocumentInterface[], options: AddDocumentOptions | undefined): string[] {
  const given = options?.ids;
  if (given !== undefined && (!Array.isArray(given) || given.length !== documents.length)) {
    throw invalid('options.ids', `an array of ${documents.length} ids (one per document)`, given);
  }
  const ids = documents.map((d, i) => given?.[i] ?? d.id ?? globalThis.crypto.randomUUID());
  const seen = new Set<string>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string' || id === '') throw invalid(`ids[${i}]`, 'a non-empty string', id);
    if (seen.has(id)) throw invalid(`ids[${i}]`, 'an id not given twice in one call', id);
    seen.add(id);
  });
  return ids;
}

// ov-memory/langchain driven by LangChain's own classes: a suite after LangChain's standard
// `VectorStoreIntegrationTests` (add, get by ids, delete, search with and without scores, ids kept,
// metadata round trip, an empty store, adding after deleting), then filters, MMR, the retriever in a
// runnable chain with the testing module's chat model, and ov-memory's own embedder. Expected
// rankings come from float64 cosines of the same embeddings (LangChain's `cosineSimilarity`).
import { Document } from '@langchain/core/documents';
import { StringOutputParser } from '@langchain/core/output_parsers';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { RunnablePassthrough, RunnableSequence } from '@langchain/core/runnables';
import { FakeChatModel, SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { cosineSimilarity } from '@langchain/core/utils/math';
import type { DocumentInterface } from '@langchain/core/documents';
import { describe, expect, it } from 'vitest';
import { hashingEmbedder, OVMemory, type Filter } from '../dist/index.js';
import { OVMemoryVectorStore } from '../dist/adapters/langchain.js';
import { storeTracker } from './helpers/stores.js';

const { track } = storeTracker();
const DIM = 6;
const embeddings = new SyntheticEmbeddings({ vectorSize: DIM });
const NOW = Date.UTC(2026, 0, 1);
const clock = () => NOW;

async function emptyStore(args: { factorsKey?: string | false; rank?: 'similarity' | 'priority' } = {}) {
  const memory = await track(OVMemory.create({ dim: DIM, threads: 0, logLevel: 'silent', clock }));
  return new OVMemoryVectorStore(embeddings, { memory, factorsKey: false, ...args });
}

const plain = (docs: DocumentInterface[]) => docs.map((d) => ({ pageContent: d.pageContent, metadata: d.metadata, id: d.id }));

/** The k texts closest to `query` by float64 cosine of the same embeddings, best first. */
async function expectedOrder(texts: string[], query: string, k: number): Promise<string[]> {
  const [q, rows] = await Promise.all([embeddings.embedQuery(query), embeddings.embedDocuments(texts)]);
  const sims = cosineSimilarity([q], rows)[0]!;
  return texts.map((text, i) => ({ text, sim: sims[i]! })).sort((a, b) => b.sim - a.sim).slice(0, k).map((r) => r.text);
}

describe('OVMemoryVectorStore: the standard vector store suite', () => {
  it('an empty store finds nothing', async () => {
    const store = await emptyStore();
    expect(await store.similaritySearch('foo', 1)).toEqual([]);
    expect(await store.similaritySearchWithScore('foo', 1)).toEqual([]);
    expect(await store.maxMarginalRelevanceSearch('foo', { k: 2 })).toEqual([]);
  });

  it('addDocuments returns an id per document, and search returns the documents with them', async () => {
    const store = await emptyStore();
    const ids = await store.addDocuments([
      new Document({ pageContent: 'foo', metadata: { id: 1 } }),
      new Document({ pageContent: 'bar', metadata: { id: 2 } }),
    ]);
    expect(ids).toHaveLength(2);
    expect(new Set(ids).size).toBe(2);
    expect(plain(await store.similaritySearch('bar', 2))).toEqual([
      { pageContent: 'bar', metadata: { id: 2 }, id: ids[1] },
      { pageContent: 'foo', metadata: { id: 1 }, id: ids[0] },
    ]);
  });

  it('caller ids are kept: given in options, or on the documents', async () => {
    const store = await emptyStore();
    expect(await store.addDocuments([new Document({ pageContent: 'foo' }), new Document({ pageContent: 'bar' })], { ids: ['1', 'b'] })).toEqual(['1', 'b']);
    expect(await store.addDocuments([new Document({ pageContent: 'baz', id: 'own' })])).toEqual(['own']);
    expect(store.memory.getByKey('own')?.text).toBe('baz');
    expect((await store.similaritySearch('baz', 1))[0]!.id).toBe('own');
  });

  it('getByIds returns the stored documents in the order asked, skipping unknown ids', async () => {
    const store = await emptyStore();
    await store.addDocuments([new Document({ pageContent: 'foo', metadata: { n: 1 } }), new Document({ pageContent: 'bar', metadata: { n: 2 } })], { ids: ['a', 'b'] });
    expect(plain(await store.getByIds(['b', 'missing', 'a']))).toEqual([
      { pageContent: 'bar', metadata: { n: 2 }, id: 'b' },
      { pageContent: 'foo', metadata: { n: 1 }, id: 'a' },
    ]);
    expect(await store.getByIds(['missing'])).toEqual([]);
  });

  it('metadata round-trips exactly, nested values and all', async () => {
    const store = await emptyStore();
    const metadata = { source: 'notes.md', page: 3, tags: ['a', 'b'], nested: { deep: { ok: true } }, nothing: null };
    const [id] = await store.addDocuments([new Document({ pageContent: 'round trip', metadata })]);
    expect((await store.getByIds([id!]))[0]!.metadata).toEqual(metadata);
    expect((await store.similaritySearch('round trip', 1))[0]!.metadata).toEqual(metadata);
  });

  it('delete removes the given documents; unknown ids are ignored; the store can then be empty', async () => {
    const store = await emptyStore();
    await store.addDocuments([new Document({ pageContent: 'foo' }), new Document({ pageContent: 'bar' }), new Document({ pageContent: 'baz' })], { ids: ['1', '2', '3'] });
    await store.delete({ ids: ['1', 'missing'] });
    expect((await store.similaritySearch('foo', 3)).map((d) => d.id).sort()).toEqual(['2', '3']);
    await store.delete({ ids: ['2', '3'] });
    expect(await store.similaritySearch('foo', 3)).toEqual([]);
    expect(store.memory.size).toBe(0);
  });

  it('adding after deleting: a deleted id can be used again', async () => {
    const store = await emptyStore();
    await store.addDocuments([new Document({ pageContent: 'foo' })], { ids: ['1'] });
    await store.delete({ ids: ['1'] });
    await store.addDocuments([new Document({ pageContent: 'bar', metadata: { again: true } })], { ids: ['1'] });
    expect(plain(await store.getByIds(['1']))).toEqual([{ pageContent: 'bar', metadata: { again: true }, id: '1' }]);
    expect(plain(await store.similaritySearch('bar', 5))).toEqual([{ pageContent: 'bar', metadata: { again: true }, id: '1' }]);
  });

  it('adding the same ids twice is idempotent; a changed document replaces the stored one', async () => {
    const store = await emptyStore();
    const docs = [new Document({ pageContent: 'foo', metadata: { v: 1 } }), new Document({ pageContent: 'bar', metadata: { v: 1 } })];
    await store.addDocuments(docs, { ids: ['1', '2'] });
    await store.addDocuments(docs, { ids: ['1', '2'] });
    expect(store.memory.size).toBe(2);
    await store.addDocuments([new Document({ pageContent: 'new foo', metadata: { v: 2 } }), new Document({ pageContent: 'qux' })], { ids: ['1', '3'] });
    expect(store.memory.size).toBe(3);
    expect(plain(await store.getByIds(['1', '2', '3']))).toEqual([
      { pageContent: 'new foo', metadata: { v: 2 }, id: '1' },
      { pageContent: 'bar', metadata: { v: 1 }, id: '2' },
      { pageContent: 'qux', metadata: {}, id: '3' },
    ]);
  });

  it('search with scores: the float64 cosine order, and the cosines as scores', async () => {
    const store = await emptyStore();
    const texts = ['the cat sat', 'dogs bark loudly', 'a cat naps', 'stock prices fell', 'kittens play', 'rain tomorrow'];
    await store.addDocuments(texts.map((t) => new Document({ pageContent: t })));
    const results = await store.similaritySearchWithScore('cat', 4);
    expect(results.map(([d]) => d.pageContent)).toEqual(await expectedOrder(texts, 'cat', 4));
    const [q, rows] = await Promise.all([embeddings.embedQuery('cat'), embeddings.embedDocuments(results.map(([d]) => d.pageContent))]);
    cosineSimilarity([q], rows)[0]!.forEach((sim, i) => expect(results[i]![1]).toBeCloseTo(sim, 5));
    // Without scores: the same documents.
    expect((await store.similaritySearch('cat', 4)).map((d) => d.pageContent)).toEqual(results.map(([d]) => d.pageContent));
  });

  it('similaritySearchVectorWithScore takes a vector', async () => {
    const store = await emptyStore();
    await store.addVectors([[1, 0, 0, 0, 0, 0], [0, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0]], ['x', 'y', 'xy'].map((t) => new Document({ pageContent: t })));
    const results = await store.similaritySearchVectorWithScore([1, 0.1, 0, 0, 0, 0], 3);
    expect(results.map(([d]) => d.pageContent)).toEqual(['x', 'xy', 'y']);
    expect(results[0]![1]).toBeCloseTo(1 / Math.sqrt(1.01), 5);
  });
});

describe('OVMemoryVectorStore: filters, MMR, factors', () => {
  const pets = [
    { pageContent: 'cats chase mice', metadata: { topic: 'pets', year: 2021 } },
    { pageContent: 'cats sleep all day', metadata: { topic: 'pets', year: 2024 } },
    { pageContent: 'cats in the stock market', metadata: { topic: 'finance', year: 2024 } },
    { pageContent: 'dogs fetch sticks', metadata: { topic: 'pets', year: 2019 } },
  ].map((d) => new Document(d));

  it('Mongo-style filters are passed through to the store', async () => {
    const store = await emptyStore();
    await store.addDocuments(pets);
    const texts = async (filter: Filter) => (await store.similaritySearch('cats', 10, filter)).map((d) => d.pageContent).sort();
    expect(await texts({ topic: 'finance' })).toEqual(['cats in the stock market']);
    expect(await texts({ topic: 'pets', year: { $gte: 2021 } })).toEqual(['cats chase mice', 'cats sleep all day']);
    expect(await texts({ $or: [{ year: 2019 }, { topic: 'finance' }] })).toEqual(['cats in the stock market', 'dogs fetch sticks']);
    expect(await texts({ topic: { $nin: ['pets', 'finance'] } })).toEqual([]);
  });

  it('a malformed filter is INVALID_DATA from the store', async () => {
    const store = await emptyStore();
    await store.addDocuments(pets);
    await expect(store.similaritySearch('cats', 2, { year: { $near: 3 } } as never)).rejects.toMatchObject({ code: 'INVALID_DATA' });
  });

  it('maxMarginalRelevanceSearch trades a near-duplicate for a different document', async () => {
    const store = await emptyStore();
    const vectors = [[1, 0.1, 0, 0, 0, 0], [1, 0.11, 0, 0, 0, 0], [0.7, 0, 0.7, 0, 0, 0], [0, 0, 0, 1, 0, 0]];
    await store.addVectors(vectors, ['a', 'a twin', 'b', 'far'].map((t) => new Document({ pageContent: t })));
    // The query embeds near `a`: the store's embeddings are replaced by a fixed query vector.
    const fixed = new OVMemoryVectorStore({ embedDocuments: async (t) => t.map(() => [1, 0, 0, 0, 0, 0]), embedQuery: async () => [1, 0, 0, 0, 0, 0] }, { memory: store.memory, factorsKey: false });
    expect((await fixed.similaritySearch('q', 2)).map((d) => d.pageContent)).toEqual(['a', 'a twin']);
    expect((await fixed.maxMarginalRelevanceSearch('q', { k: 2, fetchK: 4, lambda: 0.5 })).map((d) => d.pageContent)).toEqual(['a', 'b']);
    // lambda 1 is relevance alone: the similarity order.
    expect((await fixed.maxMarginalRelevanceSearch('q', { k: 2, fetchK: 4, lambda: 1 })).map((d) => d.pageContent)).toEqual(['a', 'a twin']);
    expect((await fixed.maxMarginalRelevanceSearch('q', { k: 3, filter: { missing: { $exists: true } } }))).toEqual([]);
  });

  it('returned documents carry the id, score and priority factors under factorsKey', async () => {
    const store = await emptyStore({ factorsKey: 'ovMemory', rank: 'priority' });
    await store.addDocuments(pets.slice(0, 2));
    const [[doc, score]] = (await store.similaritySearchWithScore('cats chase mice', 1)) as [[DocumentInterface, number]];
    const { ovMemory, ...rest } = doc.metadata;
    expect(rest).toEqual({ topic: 'pets', year: 2021 });
    expect(ovMemory).toMatchObject({ id: 0, score, factors: { similarity: expect.any(Number), centrality: expect.any(Number), recency: expect.any(Number), weight: 1, alpha: 0.75 } });
    const hit = (await store.memory.search(await embeddings.embedQuery('cats chase mice'), { topK: 1 }))[0]!;
    expect(ovMemory.factors).toEqual(hit.factors);
    expect(score).toBeCloseTo(hit.score, 6);
    // Stored metadata is untouched.
    expect((await store.getByIds([doc.id!]))[0]!.metadata).toEqual({ topic: 'pets', year: 2021 });
  });
});

describe('OVMemoryVectorStore: delete by filter, scopes', () => {
  it('delete by filter, and by ids that match a filter', async () => {
    const store = await emptyStore();
    await store.addDocuments(['a', 'b', 'c', 'd'].map((t, i) => new Document({ pageContent: t, metadata: { n: i } })), { ids: ['a', 'b', 'c', 'd'] });
    await store.delete({ filter: { n: { $gte: 2 } } });
    expect((await store.getByIds(['a', 'b', 'c', 'd'])).map((d) => d.id)).toEqual(['a', 'b']);
    await store.delete({ ids: ['a', 'b'], filter: { n: 1 } });
    expect((await store.getByIds(['a', 'b'])).map((d) => d.id)).toEqual(['a']);
  });

  it("a scoped store sees only its own documents; the same id may be used in each scope", async () => {
    const memory = await track(OVMemory.create({ dim: DIM, threads: 0, logLevel: 'silent', clock }));
    const alice = new OVMemoryVectorStore(embeddings, { memory, scope: { user: 'alice' }, factorsKey: false });
    const bob = new OVMemoryVectorStore(embeddings, { memory, scope: { user: 'bob' }, factorsKey: false });
    await alice.addDocuments([new Document({ pageContent: 'alice likes tea' })], { ids: ['pref'] });
    await bob.addDocuments([new Document({ pageContent: 'bob likes coffee' })], { ids: ['pref'] });
    expect((await alice.similaritySearch('likes', 5)).map((d) => d.pageContent)).toEqual(['alice likes tea']);
    expect((await bob.getByIds(['pref']))[0]!.pageContent).toBe('bob likes coffee');
    await bob.delete({ ids: ['pref'] });
    expect(await bob.getByIds(['pref'])).toEqual([]);
    expect((await alice.getByIds(['pref']))[0]!.pageContent).toBe('alice likes tea');
    expect(memory.scopes()).toEqual([{ scope: { user: 'alice' }, count: 1 }]);
    expect(() => new OVMemoryVectorStore(embeddings, { memory, scope: { team: 'x' } as never })).toThrow(/`args.scope`/);
  });
});

describe('OVMemoryVectorStore: retrievers and chains', () => {
  const notes = [
    { pageContent: 'Alice feeds her cat tuna on Fridays', metadata: { user: 'alice' } },
    { pageContent: 'Alice walks to work', metadata: { user: 'alice' } },
    { pageContent: 'Bob feeds his cat chicken', metadata: { user: 'bob' } },
  ].map((d) => new Document(d));

  it('asRetriever() with k and a filter, inside a runnable chain with the testing chat model', async () => {
    const store = await emptyStore();
    await store.addDocuments(notes);
    const retriever = store.asRetriever({ k: 1, filter: { user: 'alice' } });
    const prompt = ChatPromptTemplate.fromTemplate('Answer from the context only.\nContext:\n{context}\nQuestion: {question}');
    const chain = RunnableSequence.from([
      { context: retriever.pipe((docs: DocumentInterface[]) => docs.map((d) => d.pageContent).join('\n')), question: new RunnablePassthrough() },
      prompt,
      new FakeChatModel({}),
      new StringOutputParser(),
    ]);
    // The testing chat model answers with its prompt: the answer is built from the retrieved text.
    const answer = await chain.invoke('what does the cat eat');
    const expected = (await store.similaritySearch('what does the cat eat', 1, { user: 'alice' }))[0]!.pageContent;
    expect(answer).toContain(`Context:\n${expected}\nQuestion: what does the cat eat`);
    expect(answer).not.toContain('Bob');
    expect(await retriever.invoke('cat')).toHaveLength(1);
  });

  it("asRetriever({ searchType: 'mmr' }) answers as maxMarginalRelevanceSearch", async () => {
    const store = await emptyStore();
    await store.addDocuments(notes);
    const retriever = store.asRetriever({ k: 2, searchType: 'mmr', searchKwargs: { fetchK: 3, lambda: 0.3 } });
    const direct = await store.maxMarginalRelevanceSearch('cat food', { k: 2, fetchK: 3, lambda: 0.3 });
    expect(plain(await retriever.invoke('cat food'))).toEqual(plain(direct));
    expect(direct).toHaveLength(2);
  });

  it('retriever.addDocuments writes through to the store', async () => {
    const store = await emptyStore();
    await store.asRetriever().addDocuments([new Document({ pageContent: 'through the retriever', id: 'r1' })]);
    expect(store.memory.getByKey('r1')?.text).toBe('through the retriever');
  });
});

describe('OVMemoryVectorStore: construction', () => {
  it('fromTexts makes an in-process store of the embeddings dimension', async () => {
    const store = await OVMemoryVectorStore.fromTexts(['foo', 'bar'], [{ n: 1 }, { n: 2 }], embeddings, { factorsKey: false, options: { threads: 0, logLevel: 'silent' } });
    await track(Promise.resolve(store.memory));
    expect(store.memory.dim).toBe(DIM);
    expect(plain(await store.similaritySearch('foo', 1))).toEqual([{ pageContent: 'foo', metadata: { n: 1 }, id: expect.any(String) }]);
  });

  it('fromTexts with one metadata object for all texts, into a given store', async () => {
    const memory = await track(OVMemory.create({ dim: DIM, threads: 0, logLevel: 'silent' }));
    const store = await OVMemoryVectorStore.fromTexts(['foo', 'bar'], { shared: true }, embeddings, { memory });
    expect(store.memory).toBe(memory);
    expect([...memory.ids()].map((id) => memory.get(id)!.metadata)).toEqual([{ shared: true }, { shared: true }]);
  });

  it('fromDocuments keeps the documents ids', async () => {
    const memory = await track(OVMemory.create({ dim: DIM, threads: 0, logLevel: 'silent' }));
    const store = await OVMemoryVectorStore.fromDocuments([new Document({ pageContent: 'foo', id: 'f' })], embeddings, { memory });
    expect((await store.getByIds(['f']))[0]!.pageContent).toBe('foo');
  });

  it("works with ov-memory's own embedder", async () => {
    const embedder = hashingEmbedder({ dim: 64 });
    const store = await OVMemoryVectorStore.fromTexts(
      ['the lighthouse keeper', 'a recipe for bread', 'ships near the lighthouse'],
      {},
      embedder,
      { factorsKey: false, options: { threads: 0, logLevel: 'silent' } },
    );
    await track(Promise.resolve(store.memory));
    expect(store.memory.dim).toBe(64);
    const [top] = await store.similaritySearch('lighthouse keeper', 1);
    expect(top!.pageContent).toBe('the lighthouse keeper');
    expect(await store.embeddings.embedQuery('x')).toEqual(Array.from(embedder.embed(['x'])[0]!));
  });
});

describe('OVMemoryVectorStore: bad input is INVALID_DATA and changes nothing', () => {
  it.each([
    ['no memory', () => new OVMemoryVectorStore(embeddings, {} as never), /`args.memory`/],
    ['no embeddings', () => new OVMemoryVectorStore({} as never, { memory: undefined as never }), /`embeddings`/],
  ])('constructor: %s', (_name, make, message) => {
    expect(make).toThrow(message);
    try {
      make();
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_DATA' });
    }
  });

  it('constructor: a bad rank, link or factorsKey', async () => {
    const memory = await track(OVMemory.create({ dim: DIM, threads: 0, logLevel: 'silent' }));
    expect(() => new OVMemoryVectorStore(embeddings, { memory, rank: 'cosine' as never })).toThrow(/Expected `args.rank` to be one of 'similarity', 'priority', got "cosine"/);
    expect(() => new OVMemoryVectorStore(embeddings, { memory, link: 'all' as never })).toThrow(/`args.link`/);
    expect(() => new OVMemoryVectorStore(embeddings, { memory, factorsKey: '' })).toThrow(/`args.factorsKey`/);
  });

  it('addVectors: a count or dimension that does not match, duplicate ids, bad ids', async () => {
    const store = await emptyStore();
    const doc = new Document({ pageContent: 'foo' });
    const v = [1, 0, 0, 0, 0, 0];
    await expect(store.addVectors([v, v], [doc])).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`vectors`/) });
    await expect(store.addVectors([[1, 0]], [doc])).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`vectors\[0\]` to be an array of 6 numbers/) });
    await expect(store.addVectors([v, v], [doc, doc], { ids: ['x', 'x'] })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`ids\[1\]` to be an id not given twice/) });
    await expect(store.addVectors([v], [doc], { ids: ['a', 'b'] })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`options.ids`/) });
    await expect(store.addVectors([v], [doc], { ids: [''] })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(store.addVectors([[0, 0, 0, 0, 0, 0]], [doc])).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(store.addDocuments([{ metadata: {} } as never])).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`documents\[0\]`/) });
    await expect(store.addDocuments('foo' as never)).rejects.toMatchObject({ code: 'INVALID_DATA' });
    expect(store.memory.size).toBe(0);
  });

  it("an ov-memory embedder that answers the wrong number of vectors is EMBEDDER_FAULT", async () => {
    const memory = await track(OVMemory.create({ dim: 2, threads: 0, logLevel: 'silent' }));
    const store = new OVMemoryVectorStore({ dim: 2, embed: () => [[1, 0]] }, { memory });
    await expect(store.addDocuments([new Document({ pageContent: 'a' }), new Document({ pageContent: 'b' })])).rejects.toMatchObject({
      code: 'EMBEDDER_FAULT', message: 'The embedder returned 1 vectors for 2 texts',
    });
    expect(memory.size).toBe(0);
  });

  it('delete and getByIds need an array of ids; MMR a lambda in [0, 1] and positive k', async () => {
    const store = await emptyStore();
    await store.addDocuments([new Document({ pageContent: 'foo' })], { ids: ['1'] });
    await expect(store.delete()).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`params` to be an object with `ids` or `filter`/) });
    await expect(store.delete({ filter: { a: { $bad: 1 } } as never })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(store.delete({ ids: [1] as never })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(store.getByIds('1' as never)).rejects.toMatchObject({ code: 'INVALID_DATA' });
    await expect(store.maxMarginalRelevanceSearch('foo', { k: 1, lambda: 2 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`options.lambda`/) });
    await expect(store.maxMarginalRelevanceSearch('foo', { k: 0 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`options.k`/) });
    await expect(store.similaritySearch('foo', -1)).rejects.toMatchObject({ code: 'INVALID_DATA' });
    expect(store.memory.size).toBe(1);
  });
});

// ov-memory/langgraph driven by LangGraph itself: a StateGraph compiled with the store, whose nodes
// write and read memories through `runtime.store`; then the same operations against LangGraph's own
// InMemoryStore, which must give the same answers wherever both define them; a durable store
// reopened; the filter of a search with a query (the store's engine) against one without (the
// adapter's own evaluation); and every refusal.
import { Annotation, END, InMemoryStore, START, StateGraph, type BaseStore, type Item, type Operation } from '@langchain/langgraph';
import { SyntheticEmbeddings } from '@langchain/core/utils/testing';
import { describe, expect, it } from 'vitest';
import { hashingEmbedder, OVMemory } from '../dist/index.js';
import { OVMemoryStore } from '../dist/adapters/langgraph.js';
import { storeTracker, tempRoot } from './helpers/stores.js';

const { track, release } = storeTracker();
const { freshDir } = tempRoot('ov-memory-langgraph-');
const DIM = 6;
const embeddings = new SyntheticEmbeddings({ vectorSize: DIM });
let now = Date.UTC(2026, 0, 1);
const clock = () => now;

async function newMemory(dim = DIM) {
  return track(OVMemory.create({ dim, threads: 0, logLevel: 'silent', clock }));
}

async function ovStore(options: { fields?: string[]; index?: boolean } = {}) {
  const memory = await newMemory();
  return new OVMemoryStore({ memory, clock, ...(options.index === false ? {} : { index: { dims: DIM, embeddings, fields: options.fields ?? ['text'] } }) });
}

const referenceStore = (fields = ['text']) => new InMemoryStore({ index: { dims: DIM, embeddings, fields } });
const view = (items: (Item | null)[]) => items.map((i) => i && { namespace: i.namespace, key: i.key, value: i.value });
const byKey = <T extends { key: string } | null>(items: T[]) => [...items].sort((a, b) => `${a?.key}`.localeCompare(`${b?.key}`));

describe('OVMemoryStore in a StateGraph', () => {
  const State = Annotation.Root({
    user: Annotation<string>,
    message: Annotation<string>,
    recalled: Annotation<string[]>,
  });

  /** A graph that stores each message under the user and recalls the user's two closest memories. */
  const graph = (store: BaseStore) => new StateGraph(State)
    .addNode('remember', async (state, runtime) => {
      const n = (await runtime.store!.search([state.user, 'memories'], { limit: 100 })).length;
      await runtime.store!.put([state.user, 'memories'], `m${n}`, { text: state.message });
      return {};
    })
    .addNode('recall', async (state, runtime) => {
      const items = await runtime.store!.search([state.user, 'memories'], { query: state.message, limit: 2 });
      return { recalled: items.map((item) => item.value.text as string) };
    })
    .addEdge(START, 'remember')
    .addEdge('remember', 'recall')
    .addEdge('recall', END)
    .compile({ store });

  it('nodes write and read through the store given at compile time, per user', async () => {
    const store = await ovStore();
    const app = graph(store);
    await app.invoke({ user: 'alice', message: 'my cat is called tom' });
    await app.invoke({ user: 'bob', message: 'my dog is called rex' });
    const out = await app.invoke({ user: 'alice', message: 'what is my cat called' });
    expect(out.recalled).toHaveLength(2);
    expect(out.recalled).toContain('my cat is called tom');
    expect(out.recalled).not.toContain('my dog is called rex');
    expect((await store.get(['alice', 'memories'], 'm0'))?.value).toEqual({ text: 'my cat is called tom' });
    expect(await store.listNamespaces()).toEqual([['alice', 'memories'], ['bob', 'memories']]);
  });

  it('the same graph over InMemoryStore ends in the same state', async () => {
    const ours = graph(await ovStore());
    const theirs = graph(referenceStore());
    const messages = [['alice', 'i like green tea'], ['alice', 'my sister lives in paris'], ['bob', 'i like coffee'], ['alice', 'what tea do i like']];
    for (const [user, message] of messages) {
      const [a, b] = await Promise.all([ours.invoke({ user, message }), theirs.invoke({ user, message })]);
      expect(a.recalled).toEqual(b.recalled);
    }
  });
});

describe('OVMemoryStore against InMemoryStore', () => {
  /** Runs one operation list on both stores and returns both answers. */
  async function both(ops: Operation[], setup: Operation[] = [], fields?: string[]): Promise<[unknown[], unknown[]]> {
    const ours = await ovStore({ fields });
    const theirs = referenceStore(fields);
    if (setup.length > 0) await Promise.all([ours.batch(setup), theirs.batch(setup)]);
    return Promise.all([ours.batch(ops) as Promise<unknown[]>, theirs.batch(ops) as Promise<unknown[]>]);
  }

  const notes: Operation[] = [
    { namespace: ['users', 'alice'], key: 'tea', value: { text: 'green tea in the morning', kind: 'drink', rank: 3 } },
    { namespace: ['users', 'alice'], key: 'city', value: { text: 'lives in lisbon', kind: 'place', rank: 1 } },
    { namespace: ['users', 'alice', 'work'], key: 'job', value: { text: 'writes compilers', kind: 'work', rank: 2 } },
    { namespace: ['users', 'bob'], key: 'tea', value: { text: 'black tea with milk', kind: 'drink', rank: 5 } },
    { namespace: ['teams', 'core'], key: 'lead', value: { text: 'alice leads the core team', kind: 'work', rank: 4 } },
  ];

  it('get: stored items, missing ones, and a put and a delete in the same batch', async () => {
    const [ours, theirs] = await both([
      { namespace: ['users', 'alice'], key: 'tea' },
      { namespace: ['users', 'alice'], key: 'missing' },
      { namespace: ['users'], key: 'tea' },
      { namespace: ['users', 'bob'], key: 'tea', value: null },
      { namespace: ['users', 'bob'], key: 'tea' },
    ], notes);
    expect(view(ours as (Item | null)[])).toEqual(view(theirs as (Item | null)[]));
    // Reads see the store as it was before the batch's writes.
    expect((ours[4] as Item).value.text).toBe('black tea with milk');
  });

  it('search with a query: the same items in the same order, with the same scores', async () => {
    for (const [prefix, query] of [[['users'], 'tea'], [['users', 'alice'], 'where does she live'], [[], 'compilers and teams']] as const) {
      const [[ours], [theirs]] = await both([{ namespacePrefix: [...prefix], query, limit: 3 }], notes);
      expect(view(ours as Item[])).toEqual(view(theirs as Item[]));
      (ours as { score?: number }[]).forEach((item, i) => expect(item.score).toBeCloseTo((theirs as { score: number }[])[i]!.score, 5));
    }
  });

  it('search with filters, limit and offset', async () => {
    const searches: Operation[] = [
      { namespacePrefix: ['users'], query: 'tea', filter: { kind: 'drink' }, limit: 10 },
      { namespacePrefix: [], query: 'work', filter: { rank: { $gte: 2 }, kind: { $ne: 'drink' } }, limit: 10 },
      { namespacePrefix: [], query: 'tea', filter: { kind: { $in: ['place', 'work'] } }, limit: 2, offset: 1 },
      { namespacePrefix: ['users'], query: 'tea', limit: 2, offset: 2 },
      { namespacePrefix: [], query: 'tea', filter: { rank: { $lt: 0 } }, limit: 10 },
    ];
    const [ours, theirs] = await both(searches, notes);
    ours.forEach((answer, i) => expect(view(answer as Item[]), `search ${i}`).toEqual(view(theirs[i] as Item[])));
    expect((ours[0] as Item[]).map((i) => i.key)).toEqual(['tea', 'tea']);
  });

  it('search without a query lists the items under the prefix that pass the filter', async () => {
    const [ours, theirs] = await both([
      { namespacePrefix: ['users'], limit: 10 },
      { namespacePrefix: ['users', 'alice'], filter: { kind: 'work' }, limit: 10 },
      { namespacePrefix: [], filter: { rank: { $gt: 1, $lte: 4 } }, limit: 10 },
      { namespacePrefix: ['nobody'], limit: 10 },
    ], notes);
    ours.forEach((answer, i) => expect(byKey(view(answer as Item[])), `search ${i}`).toEqual(byKey(view(theirs[i] as Item[]))));
    expect((ours[0] as { score?: number }[]).every((i) => i.score === undefined)).toBe(true);
  });

  it('items put with index: false are found after the scored ones, without a score', async () => {
    const setup: Operation[] = [
      ...notes.slice(0, 2),
      { namespace: ['users', 'alice'], key: 'secret', value: { text: 'tea tea tea' }, index: false },
    ];
    const [[ours], [theirs]] = await both([{ namespacePrefix: ['users'], query: 'tea', limit: 10 }], setup);
    expect(view(ours as Item[])).toEqual(view(theirs as Item[]));
    expect((ours as { score?: number }[]).at(-1)).toMatchObject({ key: 'secret', score: undefined });
  });

  it('put with its own index fields, and the whole value by default', async () => {
    const setup: Operation[] = [
      { namespace: ['docs'], key: 'a', value: { title: 'cats', body: 'about felines' }, index: ['body'] },
      { namespace: ['docs'], key: 'b', value: { title: 'dogs', body: 'about canines' } },
    ];
    for (const query of ['felines', 'dogs canines']) {
      const [[ours], [theirs]] = await both([{ namespacePrefix: ['docs'], query, limit: 2 }], setup, ['$']);
      expect(view(ours as Item[])).toEqual(view(theirs as Item[]));
    }
  });

  it('an overwrite keeps createdAt and moves updatedAt; delete removes', async () => {
    const store = await ovStore();
    now = Date.UTC(2026, 0, 1);
    await store.put(['n'], 'k', { text: 'first' });
    now += 60_000;
    await store.put(['n'], 'k', { text: 'second' });
    const item = (await store.get(['n'], 'k'))!;
    expect(item.value).toEqual({ text: 'second' });
    expect(item.createdAt).toEqual(new Date(Date.UTC(2026, 0, 1)));
    expect(item.updatedAt).toEqual(new Date(Date.UTC(2026, 0, 1) + 60_000));
    expect(store.memory.size).toBe(1);
    await store.delete(['n'], 'k');
    expect(await store.get(['n'], 'k')).toBeNull();
    expect(await store.search(['n'], { query: 'second' })).toEqual([]);
    expect(store.memory.size).toBe(0);
    await store.delete(['n'], 'never there');
  });

  it('listNamespaces: prefix, suffix, wildcards, maxDepth, limit and offset', async () => {
    // InMemoryStore answers a list operation only when it has a `matchConditions` key.
    const lists: Operation[] = [
      { matchConditions: undefined, limit: 100, offset: 0 },
      { matchConditions: [{ matchType: 'prefix', path: ['users'] }], limit: 100, offset: 0 },
      { matchConditions: [{ matchType: 'suffix', path: ['alice'] }], limit: 100, offset: 0 },
      { matchConditions: [{ matchType: 'prefix', path: ['users', '*', 'work'] }], limit: 100, offset: 0 },
      { matchConditions: undefined, maxDepth: 1, limit: 100, offset: 0 },
      { matchConditions: [{ matchType: 'prefix', path: ['users'] }], maxDepth: 2, limit: 1, offset: 1 },
    ];
    const [ours, theirs] = await both(lists, notes);
    expect(ours).toEqual(theirs);
    expect(ours[0]).toEqual([['teams', 'core'], ['users', 'alice'], ['users', 'alice', 'work'], ['users', 'bob']]);
  });

  it("works with ov-memory's own embedder", async () => {
    const memory = await newMemory(64);
    const store = new OVMemoryStore({ memory, index: { embeddings: hashingEmbedder({ dim: 64 }), fields: ['text'] } });
    await store.put(['u'], 'a', { text: 'the lighthouse keeper' });
    await store.put(['u'], 'b', { text: 'a recipe for bread' });
    expect((await store.search(['u'], { query: 'lighthouse', limit: 1 }))[0]!.key).toBe('a');
  });

  it('without an index a query is ignored, as in InMemoryStore', async () => {
    const store = await ovStore({ index: false });
    await store.put(['u'], 'a', { text: 'x' });
    const reference = new InMemoryStore();
    await reference.put(['u'], 'a', { text: 'x' });
    expect(view(await store.search(['u'], { query: 'anything' }))).toEqual(view(await reference.search(['u'], { query: 'anything' })));
  });
});

describe('OVMemoryStore: filters with and without a query agree', () => {
  it('the engine and the listing pick the same items for each filter', async () => {
    const store = await ovStore();
    const values = [
      { text: 'a', n: 1, s: 'x', tags: ['red', 'blue'], flag: true },
      { text: 'b', n: 2, s: 'y', tags: ['blue'], flag: false },
      { text: 'c', n: 3, s: 'z', tags: [], nested: { deep: 1 } },
      { text: 'd', n: '3', s: null },
      { text: 'e' },
    ];
    await store.batch(values.map((value, i) => ({ namespace: ['f'], key: `k${i}`, value })));
    const filters = [
      { n: 3 }, { n: '3' }, { n: { $gt: 1 } }, { n: { $gte: 1, $lt: 3 } }, { n: { $ne: 2 } }, { s: null }, { s: { $ne: null } },
      { s: { $in: ['x', 'z'] } }, { s: { $nin: ['x'] } }, { tags: 'blue' }, { tags: { $in: ['red'] } }, { tags: { $nin: ['blue'] } },
      { flag: true }, { flag: { $ne: true } }, { 'nested.deep': 1 }, { nested: null }, { s: { $gt: 'x' } }, { text: { $lte: 'b' } },
    ];
    for (const filter of filters) {
      const listed = (await store.search(['f'], { filter, limit: 10 })).map((i) => i.key).sort();
      const scanned = (await store.search(['f'], { filter, query: 'a b c d e', limit: 10 })).map((i) => i.key).sort();
      expect(scanned, JSON.stringify(filter)).toEqual(listed);
    }
    expect((await store.search(['f'], { filter: { tags: 'blue' } })).map((i) => i.key).sort()).toEqual(['k0', 'k1']);
  });
});

describe('OVMemoryStore: namespaces onto scopes', () => {
  it("with scopes ['user'], a namespace's first label is the user of its memories", async () => {
    const memory = await newMemory();
    const store = new OVMemoryStore({ memory, scopes: ['user'], index: { embeddings, fields: ['text'] } });
    await store.put(['alice', 'memories'], 'm1', { text: 'alice likes tea' });
    await store.put(['alice', 'prefs'], 'm1', { text: 'alice prefers mornings' });
    await store.put(['bob', 'memories'], 'm1', { text: 'bob likes tea' });
    await store.put(['shared'], 'readme', { text: 'for everyone' });
    expect(memory.scopes()).toEqual(expect.arrayContaining([{ scope: { user: 'alice' }, count: 2 }, { scope: { user: 'bob' }, count: 1 }, { scope: { user: 'shared' }, count: 1 }]));
    expect((await store.search(['alice'], { query: 'likes tea', limit: 10 })).map((i) => i.value.text).sort()).toEqual(['alice likes tea', 'alice prefers mornings']);
    expect((await store.search(['alice', 'memories'], { limit: 10 })).map((i) => i.value.text)).toEqual(['alice likes tea']);
    expect((await store.get(['bob', 'memories'], 'm1'))?.value).toEqual({ text: 'bob likes tea' });
    expect((await store.search([], { query: 'likes tea', limit: 10 })).length).toBe(4);
    // The store's own scoped calls see the same split: erasing a user removes that user's items.
    expect((await memory.search(await embeddings.embedQuery('likes tea'), { scope: { user: 'bob' } })).map((h) => h.text)).toEqual(['bob likes tea']);
    expect(await memory.forget({ scope: { user: 'alice' } })).toBe(2);
    expect(await store.listNamespaces()).toEqual([['bob', 'memories'], ['shared']]);
    expect(await store.get(['alice', 'memories'], 'm1')).toBeNull();
  });

  it('answers as InMemoryStore does, scopes or not', async () => {
    const ops: Operation[] = [
      { namespace: ['u1', 's1', 'notes'], key: 'a', value: { text: 'green tea' } },
      { namespace: ['u1', 's2', 'notes'], key: 'a', value: { text: 'black coffee' } },
      { namespace: ['u2', 's1', 'notes'], key: 'a', value: { text: 'herbal tea' } },
      { namespace: ['u1'], key: 'top', value: { text: 'top level tea' } },
    ];
    const reads: Operation[] = [
      { namespacePrefix: ['u1'], query: 'tea', limit: 10 },
      { namespacePrefix: ['u1', 's1'], query: 'tea', limit: 10 },
      { namespacePrefix: ['u1', 's2', 'notes'], limit: 10 },
      { namespace: ['u1', 's2', 'notes'], key: 'a' },
      { namespace: ['u1'], key: 'top' },
      { matchConditions: [{ matchType: 'suffix', path: ['s1', 'notes'] }], limit: 10, offset: 0 },
    ];
    const reference = referenceStore();
    await reference.batch(ops);
    const expected = (await reference.batch(reads)) as unknown[];
    for (const scopes of [['user'], ['user', 'session'], []] as const) {
      const store = new OVMemoryStore({ memory: await newMemory(), scopes, index: { embeddings, fields: ['text'] } });
      await store.batch(ops);
      const answers = (await store.batch(reads)) as unknown[];
      answers.forEach((answer, i) => {
        const strip = (a: unknown) => (Array.isArray(a) && a.every((x) => Array.isArray(x)) ? a : Array.isArray(a) ? view(a as Item[]) : view([a as Item])[0]);
        expect(strip(answer), `${scopes.join('+')}: read ${i}`).toEqual(strip(expected[i]));
      });
    }
  });
});

describe('OVMemoryStore over a durable store', () => {
  it('items written through a graph survive a reopen', async () => {
    const dir = freshDir();
    const first = await track(OVMemory.open(dir, { dim: DIM, threads: 0, logLevel: 'silent' }));
    const store = new OVMemoryStore({ memory: first, index: { embeddings, fields: ['text'] } });
    const app = new StateGraph(Annotation.Root({ note: Annotation<string> }))
      .addNode('write', async (state, runtime) => {
        await runtime.store!.put(['notes'], 'n1', { text: state.note });
        return {};
      })
      .addEdge(START, 'write')
      .compile({ store });
    await app.invoke({ note: 'kept across restarts' });
    await release(first);
    const reopened = new OVMemoryStore({ memory: await track(OVMemory.open(dir, { threads: 0, logLevel: 'silent' })), index: { embeddings, fields: ['text'] } });
    expect((await reopened.get(['notes'], 'n1'))?.value).toEqual({ text: 'kept across restarts' });
    expect((await reopened.search(['notes'], { query: 'kept across restarts', limit: 1 }))[0]!.score).toBeCloseTo(1, 5);
    expect(await reopened.listNamespaces()).toEqual([['notes']]);
  });
});

describe('OVMemoryStore: refusals', () => {
  it('bad options are INVALID_DATA naming the option', async () => {
    const memory = await newMemory();
    expect(() => new OVMemoryStore({} as never)).toThrow(/`options.memory`/);
    expect(() => new OVMemoryStore({ memory, index: { embeddings: {} as never } })).toThrow(/`options.index.embeddings`/);
    expect(() => new OVMemoryStore({ memory, index: { embeddings, dims: 7 } })).toThrow(/`options.index.dims` to be the store's dimension 6, got 7/);
    expect(() => new OVMemoryStore({ memory, index: { embeddings, fields: [''] } })).toThrow(/`options.index.fields`/);
    expect(() => new OVMemoryStore({ memory, scopes: ['tenant'] as never })).toThrow(/`options.scopes`/);
    expect(() => new OVMemoryStore({ memory, scopes: ['user', 'user'] })).toThrow(/`options.scopes`/);
    try {
      new OVMemoryStore({ memory, clock: 5 as never });
    } catch (error) {
      expect(error).toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`options.clock`/) });
    }
    expect.assertions(7);
  });

  it('bad operations are refused before anything is written', async () => {
    const store = await ovStore();
    const refused = (ops: unknown[], message: RegExp) => expect(store.batch(ops as Operation[])).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(message) });
    const good = { namespace: ['n'], key: 'ok', value: { text: 'fine' } };
    await refused([good, { namespace: ['n'], key: 5, value: {} }], /`operations\[1\].key`/);
    await refused([good, { namespace: ['n'], key: 'k', value: [1, 2] }], /`operations\[1\].value` to be an object, or null/);
    await refused([good, { namespace: ['n'], key: 'k', value: {}, index: 'text' }], /`operations\[1\].index`/);
    await refused([good, { namespacePrefix: ['n'], filter: { n: { $regex: 'x' } } }], /`operations\[1\].filter.n.\$regex`/);
    await refused([good, { namespacePrefix: ['n'], filter: { n: { $in: 'x' } } }], /`operations\[1\].filter.n.\$in` to be an array of scalars/);
    await refused([good, { namespacePrefix: ['n'], limit: -1 }], /`operations\[1\].limit`/);
    await refused([good, { namespacePrefix: ['n'], query: 7 }], /`operations\[1\].query`/);
    await refused([good, { bogus: true }], /`operations\[1\]`/);
    await expect(store.batch('ops' as never)).rejects.toMatchObject({ code: 'INVALID_DATA' });
    expect(store.memory.size).toBe(0);
  });

  it('namespace rules are LangGraph’s own (InvalidNamespaceError), in put and in batch alike', async () => {
    const store = await ovStore();
    await expect(store.put(['a.b'], 'k', { text: 'x' })).rejects.toMatchObject({ name: 'InvalidNamespaceError' });
    await expect(store.batch([{ namespace: ['a:b'], key: 'k', value: { text: 'x' } }])).rejects.toMatchObject({ name: 'InvalidNamespaceError' });
    await expect(store.batch([{ namespace: [], key: 'k', value: { text: 'x' } }])).rejects.toMatchObject({ name: 'InvalidNamespaceError' });
    expect(store.memory.size).toBe(0);
  });

  it('an embedder that fails writes nothing', async () => {
    const memory = await newMemory();
    const failing = { embedDocuments: async () => { throw new Error('quota'); }, embedQuery: async () => [1, 0, 0, 0, 0, 0] };
    const store = new OVMemoryStore({ memory, index: { embeddings: failing, fields: ['text'] } });
    await expect(store.put(['n'], 'k', { text: 'x' })).rejects.toThrow('quota');
    const short = new OVMemoryStore({ memory, index: { embeddings: { embedDocuments: async () => [], embedQuery: async () => [1, 0, 0, 0, 0, 0] }, fields: ['text'] } });
    await expect(short.put(['n'], 'k', { text: 'x' })).rejects.toMatchObject({ code: 'EMBEDDER_FAULT', message: 'The embeddings returned 0 vectors for 1 texts' });
    expect(memory.size).toBe(0);
  });
});

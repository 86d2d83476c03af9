// ov-memory/mcp in-process: the SDK's own Client over linked in-memory transports, against a durable
// store in a temporary directory. Every tool, the resource, and every error path: an unknown entity
// or memory, arguments of the wrong shape, oversized input; a failed call changes nothing.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { ResourceUpdatedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { hashingEmbedder, OVMemory } from '../dist/index.js';
import { createMcpServer, ERROR_META, MAX_INPUT_ELEMENTS, RESOURCE_URI, SharedStore, TOOL_NAMES } from '../dist/mcp.js';
import { tempRoot } from './helpers/stores.js';

const { freshDir } = tempRoot('ov-memory-mcp-');
const open: { close(): Promise<void> }[] = [];
async function closeAll() {
  for (const item of open.splice(0).reverse()) await item.close();
}
afterEach(closeAll);

async function connect(dir = freshDir()) {
  const shared = await SharedStore.open({ dir, embedder: hashingEmbedder({ dim: 512 }), store: { threads: 0 } });
  open.push(shared);
  const server = createMcpServer(shared, { name: 'ov-memory', version: 'test' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(clientSide);
  open.push(client);
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { client, call, dir, shared };
}

const structured = (r: CallToolResult) => r.structuredContent as Record<string, any>;
const errorOf = (r: CallToolResult) => ({ isError: r.isError, ...(r._meta?.[ERROR_META] as { code: string; message: string } | undefined) });

const alice = { name: 'Alice', entityType: 'person', observations: ['Drinks coffee every morning', 'Works on databases'] };
const acme = { name: 'Acme', entityType: 'company', observations: ['Makes anvils'] };

describe('ov-memory/mcp in-process', () => {
  it('lists the nine reference tools and the six of its own, each with input and output schemas', async () => {
    const { client } = await connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOL_NAMES].sort());
    expect(TOOL_NAMES).toHaveLength(15);
    for (const tool of tools) {
      expect(tool.inputSchema.type).toBe('object');
      expect(tool.outputSchema?.type).toBe('object');
      expect(tool.description!.length).toBeGreaterThan(20);
    }
  });

  it('create_entities, add_observations, create_relations, read_graph and open_nodes answer as the reference does', async () => {
    const { call } = await connect();
    const created = await call('create_entities', { entities: [alice, acme, { ...alice, entityType: 'again' }] });
    expect(structured(created)).toEqual({ entities: [alice, acme] });
    expect(JSON.parse((created.content[0] as { text: string }).text)).toEqual([alice, acme]);
    expect(structured(await call('create_entities', { entities: [alice] }))).toEqual({ entities: [] });

    const added = await call('add_observations', { observations: [{ entityName: 'Alice', contents: ['Likes tea', 'Works on databases'] }] });
    expect(structured(added)).toEqual({ results: [{ entityName: 'Alice', addedObservations: ['Likes tea'] }] });

    const relation = { from: 'Alice', to: 'Acme', relationType: 'works_at' };
    const dangling = { from: 'Acme', to: 'Nobody', relationType: 'sues' };
    expect(structured(await call('create_relations', { relations: [relation, dangling, relation] }))).toEqual({ relations: [relation, dangling] });
    expect(structured(await call('create_relations', { relations: [relation] }))).toEqual({ relations: [] });

    const graph = structured(await call('read_graph'));
    expect(graph).toEqual({
      entities: [{ ...alice, observations: [...alice.observations, 'Likes tea'] }, acme],
      relations: [relation, dangling],
    });
    expect(structured(await call('open_nodes', { names: ['Acme', 'Missing'] }))).toEqual({ entities: [acme], relations: [relation, dangling] });
  });

  it('keeps relations as typed edges between the entities\' memories, and observations linked to their entity', async () => {
    const { call, dir } = await connect();
    await call('create_entities', { entities: [alice, acme] });
    await call('create_relations', { relations: [{ from: 'Alice', to: 'Acme', relationType: 'works_at' }] });
    await closeAll();
    const memory = await OVMemory.open(dir, { threads: 0 });
    try {
      const entity = memory.getByKey('entity:Alice')!;
      const company = memory.getByKey('entity:Acme')!;
      expect(entity.metadata).toEqual({ kg: 'entity', name: 'Alice', entityType: 'person', observations: alice.observations });
      expect(entity.edges).toEqual([expect.objectContaining({ to: company.id, type: 'works_at' })]);
      const observations = [...memory.ids()].map((id) => memory.get(id)!).filter((r) => r.metadata.kg === 'observation' && r.metadata.entity === 'Alice');
      expect(observations.map((r) => r.text)).toEqual(alice.observations);
      for (const o of observations) expect(o.edges).toEqual([expect.objectContaining({ to: entity.id, type: 'observation' })]);
    } finally {
      await memory.close();
    }
  });

  it('delete_observations, delete_relations and delete_entities remove what they name, and relations that name a deleted entity', async () => {
    const { call } = await connect();
    await call('create_entities', { entities: [alice, acme, { name: 'Bob', entityType: 'person', observations: [] }] });
    await call('create_relations', { relations: [
      { from: 'Alice', to: 'Acme', relationType: 'works_at' }, { from: 'Bob', to: 'Acme', relationType: 'works_at' }, { from: 'Bob', to: 'Alice', relationType: 'knows' },
    ] });
    const observationsDeleted = await call('delete_observations', { deletions: [{ entityName: 'Alice', observations: ['Works on databases'] }, { entityName: 'Ghost', observations: ['x'] }] });
    expect(structured(observationsDeleted)).toEqual({ success: true, message: 'Observations deleted successfully' });
    expect((observationsDeleted.content[0] as { text: string }).text).toBe('Observations deleted successfully');
    expect(structured(await call('delete_relations', { relations: [{ from: 'Bob', to: 'Acme', relationType: 'works_at' }] }))).toEqual({ success: true, message: 'Relations deleted successfully' });
    expect(structured(await call('delete_entities', { entityNames: ['Acme', 'Ghost'] }))).toEqual({ success: true, message: 'Entities deleted successfully' });
    expect(structured(await call('read_graph'))).toEqual({
      entities: [{ ...alice, observations: ['Drinks coffee every morning'] }, { name: 'Bob', entityType: 'person', observations: [] }],
      relations: [{ from: 'Bob', to: 'Alice', relationType: 'knows' }],
    });
    // A deleted observation is gone from search too.
    expect(structured(await call('recall', { query: 'databases', mode: 'text' })).hits).toEqual([]);
  });

  it('search_nodes answers the reference\'s substring matches first, then more entities ranked by hybrid search', async () => {
    const { call } = await connect();
    await call('create_entities', { entities: [alice, acme, { name: 'Carol', entityType: 'person', observations: ['Drinks coffee at night'] }] });
    await call('create_relations', { relations: [{ from: 'Alice', to: 'Acme', relationType: 'works_at' }] });
    const exact = structured(await call('search_nodes', { query: 'COFFEE' }));
    expect(exact.entities.map((e: { name: string }) => e.name)).toEqual(['Alice', 'Carol']);
    expect(exact.relations).toEqual([{ from: 'Alice', to: 'Acme', relationType: 'works_at' }]);
    // No entity holds "coffee drinker" as written: the reference finds nothing; the words still match.
    const ranked = structured(await call('search_nodes', { query: 'coffee drinker' }));
    expect(ranked.entities.map((e: { name: string }) => e.name).sort()).toEqual(['Alice', 'Carol']);
    expect(ranked.relations).toEqual([{ from: 'Alice', to: 'Acme', relationType: 'works_at' }]);
  });

  it('serves the resource memory://knowledge-graph as the reference does', async () => {
    const { client, call } = await connect();
    await call('create_entities', { entities: [acme] });
    const { contents } = await client.readResource({ uri: RESOURCE_URI });
    expect(contents).toEqual([{ uri: RESOURCE_URI, mimeType: 'application/json', text: JSON.stringify({ entities: [acme], relations: [] }, null, 2) }]);
  });

  it('tells a client subscribed to the resource of the changes its calls make, as the reference does', async () => {
    const { client, call } = await connect();
    expect(client.getServerCapabilities()?.resources?.subscribe).toBe(true);
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push(n.params.uri); });
    await call('create_entities', { entities: [acme] });
    expect(updates).toEqual([]);
    await client.subscribeResource({ uri: RESOURCE_URI });
    await call('read_graph');
    await call('create_entities', { entities: [alice] });
    await call('add_observations', { observations: [{ entityName: 'Nobody', contents: ['x'] }] });
    await client.unsubscribeResource({ uri: RESOURCE_URI });
    await call('delete_entities', { entityNames: ['Acme'] });
    expect(updates).toEqual([RESOURCE_URI]);
  });

  it('forget of an entity\'s memory by id drops it from the graph; creating it again takes over its observations', async () => {
    const { call } = await connect();
    await call('create_entities', { entities: [alice] });
    const entityId = structured(await call('recall', { query: 'Alice person', mode: 'text', filter: { kg: 'entity' } })).hits[0].id;
    expect(structured(await call('forget', { ids: [entityId] }))).toEqual({ removed: 1 });
    expect(structured(await call('read_graph'))).toEqual({ entities: [], relations: [] });
    expect(structured(await call('create_entities', { entities: [alice] }))).toEqual({ entities: [alice] });
    expect(structured(await call('recall', { query: 'databases', mode: 'text', filter: { kg: 'observation' } })).hits).toHaveLength(1);
    await call('delete_entities', { entityNames: ['Alice'] });
    expect(structured(await call('recall', { query: 'databases coffee', mode: 'text' })).hits).toEqual([]);
  });

  it('keeps the graph across a restart', async () => {
    const first = await connect();
    await first.call('create_entities', { entities: [alice] });
    await first.call('create_relations', { relations: [{ from: 'Alice', to: 'Alice', relationType: 'admires' }] });
    await closeAll();
    const second = await connect(first.dir);
    expect(structured(await second.call('read_graph'))).toEqual({ entities: [alice], relations: [{ from: 'Alice', to: 'Alice', relationType: 'admires' }] });
  });

  it('remember, recall, build_context, update_memory, supersede_memory and forget', async () => {
    const { call } = await connect();
    const remembered = await call('remember', { text: 'The office moved to Lisbon in 2024', weight: 2, metadata: { topic: 'office' }, key: 'office' });
    const id = structured(remembered).id as number;
    expect((remembered.content[0] as { text: string }).text).toBe(`Remembered as memory ${id}.`);
    await call('remember', { text: 'Lunch is at noon', metadata: { topic: 'food' } });

    const recalled = structured(await call('recall', { query: 'where is the office', topK: 1 })).hits;
    expect(recalled).toEqual([expect.objectContaining({ id, text: 'The office moved to Lisbon in 2024', metadata: { topic: 'office' }, key: 'office' })]);
    expect(recalled[0].factors).toEqual(expect.objectContaining({ weight: 2, alpha: expect.any(Number), similarity: expect.any(Number) }));
    expect(structured(await call('recall', { query: 'office', filter: { topic: 'food' }, mode: 'text' })).hits).toEqual([]);

    const context = await call('build_context', { query: 'office Lisbon', maxTokens: 100 });
    expect(structured(context)).toEqual(expect.objectContaining({ ids: expect.arrayContaining([id]), state: 'HEALTHY' }));
    expect((context.content[0] as { text: string }).text).toContain('Lisbon');

    expect(structured(await call('update_memory', { id, text: 'The office moved to Porto in 2024' }))).toEqual({ id });
    expect(structured(await call('recall', { query: 'Porto', topK: 1, mode: 'vector' })).hits[0].id).toBe(id);

    const superseded = structured(await call('supersede_memory', { id, text: 'The office moved to Madrid in 2025' }));
    expect(superseded).toEqual({ id: expect.any(Number), supersedes: id });
    const newer = structured(await call('recall', { query: 'Madrid office', topK: 1 })).hits[0];
    expect(newer.id).toBe(superseded.id);

    expect(structured(await call('forget', { ids: [superseded.id] }))).toEqual({ removed: 1 });
    expect(structured(await call('forget', { keys: ['office', 'no-such-key'] }))).toEqual({ removed: 1 });
    expect(structured(await call('recall', { query: 'office', mode: 'text' })).hits).toEqual([]);
  });

  it('scopes and validity: a scoped recall sees its scope only, asOf sees the past, supersede_memory ends the old fact, forget takes a scope', async () => {
    const { call, dir } = await connect();
    const ann = structured(await call('remember', { text: 'Ann prefers tea', scope: { user: 'ann' } })).id;
    await call('remember', { text: 'Bob prefers tea', scope: { user: 'bob' } });
    const hits = async (args: Record<string, unknown>) => structured(await call('recall', { query: 'who prefers tea', mode: 'text', ...args })).hits.map((h: { text: string }) => h.text);
    expect(await hits({ scope: { user: 'ann' } })).toEqual(['Ann prefers tea']);
    expect((await hits({})).sort()).toEqual(['Ann prefers tea', 'Bob prefers tea']);

    const past = Date.now() - 60_000;
    await call('remember', { text: 'Ann lived in Oslo', scope: { user: 'ann' }, validFrom: past - 60_000, validTo: past });
    expect(await hits({ query: 'Oslo', scope: { user: 'ann' } })).not.toContain('Ann lived in Oslo');
    expect((await hits({ query: 'Oslo', scope: { user: 'ann' }, asOf: past - 1_000 }))[0]).toBe('Ann lived in Oslo');

    const coffee = structured(await call('supersede_memory', { id: ann, text: 'Ann prefers coffee now' })).id;
    expect(await hits({ query: 'Ann prefers', scope: { user: 'ann' } })).toEqual(['Ann prefers coffee now']);
    expect(structured(await call('forget', { scope: { user: 'ann' } }))).toEqual({ removed: 3 });
    expect(await hits({})).toEqual(['Bob prefers tea']);
    await closeAll();
    const memory = await OVMemory.open(dir, { threads: 0 });
    try {
      expect(memory.get(coffee)).toBeUndefined();
      expect(memory.scopes()).toEqual([{ scope: { user: 'bob' }, count: 1 }]);
    } finally {
      await memory.close();
    }
  });

  describe('errors come back as tool errors with the library\'s code, and change nothing', () => {
    it('an unknown entity in add_observations is NOT_FOUND with the reference\'s message', async () => {
      const { call } = await connect();
      await call('create_entities', { entities: [acme] });
      const r = await call('add_observations', { observations: [{ entityName: 'Acme', contents: ['new'] }, { entityName: 'Nobody', contents: ['x'] }] });
      expect(errorOf(r)).toEqual({ isError: true, code: 'NOT_FOUND', message: 'Entity with name Nobody not found' });
      expect((r.content[0] as { text: string }).text).toBe('NOT_FOUND: Entity with name Nobody not found');
      expect(structured(await call('read_graph')).entities).toEqual([acme]);
    });

    it('arguments of the wrong shape are refused before anything runs', async () => {
      const { call } = await connect();
      for (const [tool, args] of [
        ['create_entities', { entities: 'Alice' }], ['create_relations', { relations: [{ from: 'a' }] }], ['search_nodes', {}],
        ['remember', { text: '' }], ['recall', { query: 'x', topK: 0 }], ['update_memory', { id: -1 }], ['forget', { ids: ['1'] }],
      ] as const) {
        const r = await call(tool, args);
        expect(r.isError, tool).toBe(true);
        expect((r.content[0] as { text: string }).text, tool).toMatch(/Input validation error: Invalid arguments for tool/);
      }
      expect(structured(await call('read_graph'))).toEqual({ entities: [], relations: [] });
    });

    it('an observation over the store\'s text limit is INVALID_DATA naming it, and creates nothing', async () => {
      const { call } = await connect();
      const r = await call('create_entities', { entities: [acme, { name: 'Big', entityType: 't', observations: ['ok', 'x'.repeat(10_001)] }] });
      expect(errorOf(r)).toMatchObject({ isError: true, code: 'INVALID_DATA' });
      expect(errorOf(r).message).toContain('`entities[1].observations[1]`');
      expect(structured(await call('read_graph'))).toEqual({ entities: [], relations: [] });
      await call('create_entities', { entities: [acme] });
      const grow = await call('add_observations', { observations: [{ entityName: 'Acme', contents: ['y'.repeat(10_001)] }] });
      expect(errorOf(grow)).toMatchObject({ isError: true, code: 'INVALID_DATA' });
      expect(errorOf(grow).message).toContain('`observations[0].contents[0]`');
      expect(structured(await call('read_graph')).entities).toEqual([acme]);
    });

    it('observations past an entity\'s 64 KiB of metadata are INVALID_DATA, and the entity keeps its list', async () => {
      const { call } = await connect();
      await call('create_entities', { entities: [acme] });
      const many = Array.from({ length: 10 }, (_, i) => `${i} ${'z'.repeat(9_000)}`);
      const r = await call('add_observations', { observations: [{ entityName: 'Acme', contents: many }] });
      expect(errorOf(r)).toMatchObject({ isError: true, code: 'INVALID_DATA' });
      expect(structured(await call('read_graph')).entities).toEqual([acme]);
      expect(structured(await call('recall', { query: 'zzz', mode: 'text' })).hits).toEqual([]);
    });

    it('a call with more than the maximum of elements is refused', async () => {
      const { call } = await connect();
      const r = await call('delete_entities', { entityNames: Array.from({ length: MAX_INPUT_ELEMENTS + 1 }, (_, i) => `e${i}`) });
      expect(r.isError).toBe(true);
      expect((r.content[0] as { text: string }).text).toContain(`more than the maximum of ${MAX_INPUT_ELEMENTS} elements`);
    });

    it('the own tools: unknown ids, graph memories, empty selectors, bad filters, duplicate keys', async () => {
      const { call } = await connect();
      await call('create_entities', { entities: [acme] });
      expect(errorOf(await call('update_memory', { id: 999, weight: 2 }))).toMatchObject({ code: 'NOT_FOUND', message: 'No memory has the id 999' });
      expect(errorOf(await call('supersede_memory', { id: 999, text: 'x' }))).toMatchObject({ code: 'NOT_FOUND' });
      expect(errorOf(await call('update_memory', { id: 0, weight: 2 }))).toMatchObject({ code: 'INVALID_DATA', message: expect.stringContaining('belongs to the knowledge graph') });
      expect(errorOf(await call('forget', {}))).toMatchObject({ code: 'INVALID_DATA', message: expect.stringContaining('at least one of scope, ids, keys, filter') });
      expect(errorOf(await call('recall', { query: 'x', filter: { n: { $gte: 'a', $bogus: 1 } } }))).toMatchObject({ code: 'INVALID_DATA' });
      await call('remember', { text: 'one', key: 'k' });
      expect(errorOf(await call('remember', { text: 'two', key: 'k' }))).toMatchObject({ code: 'DUPLICATE_KEY' });
      expect(errorOf(await call('remember', { text: 'w'.repeat(10_001) }))).toMatchObject({ code: 'INVALID_DATA' });
      expect(structured(await call('recall', { query: 'two', mode: 'text' })).hits).toEqual([]);
    });

    it('an unknown tool is an error, not a crash', async () => {
      const { call } = await connect();
      const r = await call('no_such_tool');
      expect(r.isError).toBe(true);
      expect((r.content[0] as { text: string }).text).toContain('Tool no_such_tool not found');
      expect(structured(await call('read_graph'))).toEqual({ entities: [], relations: [] });
    });
  });
});

describe('SharedStore: one writer per directory', () => {
  const embedder = hashingEmbedder({ dim: 512 });
  const shared = async (dir: string, connectTimeoutMs?: number) => {
    const store = await SharedStore.open({ dir, embedder, store: { threads: 0 }, connectTimeoutMs });
    open.push(store);
    return store;
  };

  it('a second store on the directory forwards to the first; when the first closes, the second takes the store over', async () => {
    const dir = freshDir();
    const first = await shared(dir);
    const second = await shared(dir);
    expect([await first.role(), await second.role()]).toEqual(['owner', 'follower']);
    expect(await second.call('create_entities', { entities: [acme] })).toMatchObject({ ok: true, structured: { entities: [acme] } });
    expect(await first.call('read_graph', {})).toMatchObject({ ok: true, structured: { entities: [acme] } });
    // A forwarded error keeps its code.
    expect(await second.call('add_observations', { observations: [{ entityName: 'Nobody', contents: [] }] })).toEqual({ ok: false, code: 'NOT_FOUND', message: 'Entity with name Nobody not found' });
    await first.close();
    expect(await second.call('read_graph', {})).toMatchObject({ ok: true, structured: { entities: [acme] } });
    expect(await second.role()).toBe('owner');
    expect(await first.call('read_graph', {})).toMatchObject({ ok: false, code: 'CLOSED' });
  });

  it('a directory held by a process that is no MCP server is LOCKED, naming it, once the wait is over', async () => {
    const dir = freshDir();
    const memory = await OVMemory.open(dir, { dim: 512, threads: 0 });
    try {
      await expect(SharedStore.open({ dir, embedder, store: { threads: 0 }, connectTimeoutMs: 100 })).rejects.toMatchObject({
        code: 'LOCKED', message: expect.stringContaining('no MCP server of that process answered'),
      });
    } finally {
      await memory.close();
    }
  });

  it('a store of another dimension is INVALID_DATA, not a hang', async () => {
    const dir = freshDir();
    await (await OVMemory.open(dir, { dim: 8, threads: 0 })).close();
    await expect(SharedStore.open({ dir, embedder, store: { threads: 0 } })).rejects.toMatchObject({ code: 'INVALID_DATA' });
  });
});

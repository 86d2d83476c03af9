// Differential: the reference memory server (@modelcontextprotocol/server-memory, spawned over stdio
// with its file in a temporary directory) and `ov-memory mcp` (the built command, over stdio) get
// the same seeded sequence of calls to the nine tools, and every answer must match: structured
// content, text and errors; search_nodes on the reference's matches, which come first in ours.
import { createRequire } from 'node:module';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { random } from './helpers/data.js';
import { tempRoot } from './helpers/stores.js';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
const REFERENCE = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-memory/dist/index.js');
const GRAPH_TOOLS = ['create_entities', 'create_relations', 'add_observations', 'delete_entities', 'delete_observations', 'delete_relations', 'read_graph', 'search_nodes', 'open_nodes'];
const { root, freshDir } = tempRoot('ov-memory-mcp-ref-');

async function spawnClient(args: string[], env: Record<string, string> = {}): Promise<Client> {
  const transport = new StdioClientTransport({ command: process.execPath, args, env: { ...process.env as Record<string, string>, ...env }, stderr: 'ignore' });
  const client = new Client({ name: 'differential', version: '1' });
  await client.connect(transport);
  return client;
}

let reference: Client;
let ours: Client;
beforeAll(async () => {
  reference = await spawnClient([REFERENCE], { MEMORY_FILE_PATH: path.join(root, 'memory.jsonl') });
  ours = await spawnClient([CLI, 'mcp', '--dir', freshDir(), '--embedder', 'hashing']);
});
afterAll(async () => {
  await reference?.close();
  await ours?.close();
});

type Call = { name: string; arguments: Record<string, unknown> };

/** A seeded sequence over few names and texts, so calls collide: duplicates, unknown entities, repeats. */
function sequence(seed: number, length: number): Call[] {
  const rand = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const some = <T>(items: readonly T[], max: number): T[] => Array.from({ length: 1 + Math.floor(rand() * max) }, () => pick(items));
  const distinct = <T>(items: T[], key: (t: T) => string) => items.filter((t, i) => items.findIndex((u) => key(u) === key(t)) === i);
  const names = ['Alice', 'Bob', 'Carol', 'Dave', 'Eve', 'Frank', 'grace', 'Héloïse'];
  const types = ['person', 'company', 'Project', 'city'];
  const texts = ['likes coffee', 'Works at Acme', 'lives in Lisbon', 'speaks French', 'born in 1990', 'LIKES tea', 'has a cat', 'plays chess', 'écrit des poèmes', 'uses vim'];
  const relationTypes = ['knows', 'works_with', 'manages'];
  const relation = () => ({ from: pick(names), to: pick(names), relationType: pick(relationTypes) });
  const relationKey = (r: { from: string; to: string; relationType: string }) => `${r.from}|${r.to}|${r.relationType}`;
  const makers: (() => Call)[] = [
    // Each name at most once per batch: the reference would store a name given twice in one call twice.
    () => ({ name: 'create_entities', arguments: { entities: distinct(some(names, 3), (n) => n).map((name) => ({ name, entityType: pick(types), observations: some(texts, 3) })) } }),
    () => ({ name: 'create_relations', arguments: { relations: distinct(some([0, 1, 2, 3], 3).map(relation), relationKey) } }),
    () => ({ name: 'add_observations', arguments: { observations: some(names, 2).map((entityName) => ({ entityName, contents: some(texts, 3) })) } }),
    () => ({ name: 'delete_entities', arguments: { entityNames: some(names, 1) } }),
    () => ({ name: 'delete_observations', arguments: { deletions: some(names, 2).map((entityName) => ({ entityName, observations: some(texts, 2) })) } }),
    () => ({ name: 'delete_relations', arguments: { relations: some([0, 1], 2).map(relation) } }),
    () => ({ name: 'read_graph', arguments: {} }),
    () => {
      const source = pick([...names, ...types, ...texts]);
      const start = Math.floor(rand() * source.length);
      return { name: 'search_nodes', arguments: { query: pick([source.slice(start, start + 1 + Math.floor(rand() * 5)).toUpperCase(), source, 'zzz']) } };
    },
    () => ({ name: 'open_nodes', arguments: { names: some([...names, 'Nobody'], 3) } }),
    () => pick([
      { name: 'create_entities', arguments: { entities: [{ name: 'x' }] } },
      { name: 'add_observations', arguments: { observations: 'none' } },
      { name: 'open_nodes', arguments: {} },
    ]),
  ];
  // Creations weigh more, so the graph grows before the deletions thin it.
  const weights = [4, 3, 4, 1, 2, 2, 1, 3, 2, 1];
  const total = weights.reduce((a, b) => a + b, 0);
  return Array.from({ length }, () => {
    let r = rand() * total;
    const i = weights.findIndex((w) => (r -= w) < 0);
    return makers[i]!();
  });
}

const text = (r: CallToolResult) => (r.content[0] as { text: string }).text;

describe('ov-memory mcp against the reference memory server', () => {
  it('lists the nine tools with the reference\'s titles, descriptions, schemas and annotations', async () => {
    const theirs = (await reference.listTools()).tools;
    const mine = new Map((await ours.listTools()).tools.map((t) => [t.name, t]));
    expect(theirs.map((t) => t.name).sort()).toEqual([...GRAPH_TOOLS].sort());
    for (const tool of theirs) expect(mine.get(tool.name), tool.name).toEqual(tool);
  });

  it('answers a seeded sequence of 300 calls exactly as the reference does', async () => {
    const calls = sequence(20261202, 300);
    let searched = 0;
    for (const [i, call] of calls.entries()) {
      const where = `call ${i}: ${JSON.stringify(call)}`;
      const expected = (await reference.callTool(call)) as CallToolResult;
      const actual = (await ours.callTool(call)) as CallToolResult;
      expect(Boolean(actual.isError), where).toBe(Boolean(expected.isError));
      if (expected.isError) {
        // Ours names the library's code first: "NOT_FOUND: Entity with name X not found".
        expect(text(actual).replace(/^[A-Z_]+: /, ''), where).toBe(text(expected));
        continue;
      }
      if (call.name !== 'search_nodes') {
        expect(actual.structuredContent, where).toEqual(expected.structuredContent);
        expect(text(actual), where).toBe(text(expected));
        continue;
      }
      const want = expected.structuredContent as { entities: unknown[]; relations: unknown[] };
      const got = actual.structuredContent as { entities: unknown[]; relations: unknown[] };
      expect(got.entities.slice(0, want.entities.length), where).toEqual(want.entities);
      expect(got.relations.slice(0, want.relations.length), where).toEqual(want.relations);
      if (want.entities.length > 0) searched++;
    }
    // The sequence is not degenerate: it searched with matches, failed calls and built a graph.
    expect(searched).toBeGreaterThan(10);
    const graph = (await reference.callTool({ name: 'read_graph', arguments: {} })).structuredContent as { entities: unknown[]; relations: unknown[] };
    expect(graph.entities.length).toBeGreaterThan(2);
    expect(graph.relations.length).toBeGreaterThan(2);
    expect(calls.filter((c) => c.name === 'add_observations').length).toBeGreaterThan(20);
  });

  it('reads the resource memory://knowledge-graph as the reference does', async () => {
    const expected = await reference.readResource({ uri: 'memory://knowledge-graph' });
    expect(await ours.readResource({ uri: 'memory://knowledge-graph' })).toEqual(expected);
  });
});

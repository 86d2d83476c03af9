// The tools run against the store by the one process that holds it. Every answer is data (a
// `ToolAnswer`): what came back, or the library's error code and message — never a stack — so an
// answer crosses the local socket unchanged. Writes run one at a time, in arrival order.
import { InvalidDataError, NotFoundError, OVMemoryError } from 'ov-memory';
import type { ContextOptions, Embedder, OVMemory, SearchHit, SearchOptions, TextInput } from 'ov-memory';
import { z } from 'zod';

import { GraphStore } from './graph.js';
import { TOOL_SHAPES, type ToolName } from './schemas.js';

export type ToolAnswer =
  | { ok: true; structured: Record<string, unknown>; text: string }
  | { ok: false; code: string; message: string };

export interface ToolCaller {
  call(tool: ToolName, args: unknown): Promise<ToolAnswer>;
}

type Result = { structured: Record<string, unknown>; text?: string };
type Run = (args: never) => Result | Promise<Result>;

const json = (value: unknown) => JSON.stringify(value, null, 2);
/** As the reference: the text is the list itself, the structured content names it. */
const listed = (name: string, list: unknown[]): Result => ({ structured: { [name]: list }, text: json(list) });
const deleted = (what: string): Result => ({ structured: { success: true, message: `${what} deleted successfully` }, text: `${what} deleted successfully` });

export class LocalExecutor implements ToolCaller {
  readonly graph: GraphStore;
  #writes: Promise<unknown> = Promise.resolve();
  readonly #runs: Record<ToolName, Run>;
  readonly #parsers = new Map<ToolName, z.ZodType>();

  constructor(readonly memory: OVMemory, private readonly embedder: Embedder) {
    this.graph = new GraphStore(memory);
    const g = this.graph;
    this.#runs = {
      create_entities: async ({ entities }: { entities: Parameters<GraphStore['createEntities']>[0] }) => listed('entities', await g.createEntities(entities)),
      create_relations: async ({ relations }: { relations: Parameters<GraphStore['createRelations']>[0] }) => listed('relations', await g.createRelations(relations)),
      add_observations: async ({ observations }: { observations: Parameters<GraphStore['addObservations']>[0] }) => listed('results', await g.addObservations(observations)),
      delete_entities: ({ entityNames }: { entityNames: string[] }) => (g.deleteEntities(entityNames), deleted('Entities')),
      delete_observations: ({ deletions }: { deletions: Parameters<GraphStore['deleteObservations']>[0] }) => (g.deleteObservations(deletions), deleted('Observations')),
      delete_relations: ({ relations }: { relations: Parameters<GraphStore['deleteRelations']>[0] }) => (g.deleteRelations(relations), deleted('Relations')),
      read_graph: () => ({ structured: { ...g.readGraph() } }),
      search_nodes: async ({ query }: { query: string }) => ({ structured: { ...(await g.searchNodes(query)) } }),
      open_nodes: ({ names }: { names: string[] }) => ({ structured: { ...g.openNodes(names) } }),
      remember: (args: RememberArgs) => this.#rememberTool(args),
      recall: (args: RecallArgs) => this.#recall(args),
      build_context: (args: ContextArgs) => this.#context(args),
      forget: (args: ForgetArgs) => this.#forget(args),
      update_memory: (args: UpdateArgs) => this.#update(args),
      supersede_memory: (args: SupersedeArgs) => this.#supersede(args),
    };
  }

  /** Checks the arguments against the tool's schema (a forwarded call is checked here too), then runs it. */
  async call(tool: ToolName, args: unknown): Promise<ToolAnswer> {
    const shape = TOOL_SHAPES[tool];
    if (shape === undefined) return { ok: false, code: 'INVALID_DATA', message: `Expected \`tool\` to be one of the server's tools, got ${JSON.stringify(tool)}` };
    const run = async () => {
      const parsed = this.#parser(tool).safeParse(args ?? {});
      if (!parsed.success) throw new InvalidDataError(`Invalid arguments for tool ${tool}: ${z.prettifyError(parsed.error)}`);
      const result = await this.#runs[tool](parsed.data as never);
      return { ok: true as const, structured: result.structured, text: result.text ?? json(result.structured) };
    };
    try {
      if (shape.annotations.readOnlyHint) return await run();
      const next = this.#writes.then(run, run);
      this.#writes = next.catch(() => undefined);
      return await next;
    } catch (error) {
      return failure(error);
    }
  }

  #parser(tool: ToolName): z.ZodType {
    let parser = this.#parsers.get(tool);
    if (!parser) this.#parsers.set(tool, (parser = z.object(TOOL_SHAPES[tool].input)));
    return parser;
  }

  async #rememberTool(args: RememberArgs): Promise<Result> {
    const id = await this.memory.remember(args as TextInput);
    return { structured: { id }, text: `Remembered as memory ${id}.` };
  }

  async #recall({ query, topK, mode, filter, scope, asOf }: RecallArgs): Promise<Result> {
    const hits = (await this.memory.search(query, defined({ topK, mode, filter, scope, asOf }) as SearchOptions)).map(plainHit);
    const lines = hits.map((h, i) => `${i + 1}. [id ${h.id}, score ${h.score.toFixed(3)}] ${h.text}`);
    return { structured: { hits }, text: hits.length === 0 ? 'No memory matches.' : lines.join('\n') };
  }

  async #context({ query, maxTokens, budget, filter, scope }: ContextArgs): Promise<Result> {
    const result = await this.memory.context(query, defined({ maxTokens, budget, filter, scope }) as ContextOptions);
    return { structured: { ...result }, text: result.context.length === 0 ? 'No memory is relevant.' : result.context };
  }

  async #forget({ ids, keys, filter, scope }: ForgetArgs): Promise<Result> {
    // The store refuses an empty selector: forgetting everything is asked for by name.
    const removed = await this.memory.forget(defined({ ids, keys, filter, scope }) as Parameters<OVMemory['forget']>[0]);
    // A removed memory may have been part of the knowledge graph.
    if (removed > 0) this.graph.reindex();
    return { structured: { removed }, text: `Forgot ${removed} ${removed === 1 ? 'memory' : 'memories'}.` };
  }

  async #update({ id, text, weight, metadata, validTo }: UpdateArgs): Promise<Result> {
    this.#ownMemory(id, 'id');
    const embedding = text === undefined ? undefined : (await this.embedder.embed([text]))[0];
    this.memory.update(id, defined({ text, embedding, weight, metadata, validTo }));
    return { structured: { id }, text: `Updated memory ${id}.` };
  }

  async #supersede({ id, text, weight, metadata, key }: SupersedeArgs): Promise<Result> {
    this.#ownMemory(id, 'id');
    const newId = await this.memory.remember(defined({ text, weight, metadata, key }), { supersedes: id, link: 'none' });
    return { structured: { id: newId, supersedes: id }, text: `Stored memory ${newId}, superseding memory ${id}.` };
  }

  /** A memory that exists and is not part of the knowledge graph (whose own tools keep it consistent). */
  #ownMemory(id: number, field: string): void {
    const record = this.memory.get(id);
    if (record === undefined) throw new NotFoundError(`No memory has the id ${id}`, { details: { field, id } });
    if (GraphStore.isGraphMemory(record.metadata)) {
      throw new InvalidDataError(`Memory ${id} belongs to the knowledge graph: change it with add_observations, delete_observations or delete_entities`, { details: { field, id } });
    }
  }
}

type RememberArgs = { text: string; weight?: number; metadata?: Record<string, unknown>; key?: string; scope?: Record<string, string>; validFrom?: number; validTo?: number; ttlMs?: number };
type RecallArgs = { query: string; topK?: number; mode?: 'hybrid' | 'vector' | 'text'; filter?: Record<string, unknown>; scope?: Record<string, string>; asOf?: number };
type ContextArgs = { query: string; maxTokens?: number; budget?: { total: number; used: number }; filter?: Record<string, unknown>; scope?: Record<string, string> };
type ForgetArgs = { ids?: number[]; keys?: string[]; filter?: Record<string, unknown>; scope?: Record<string, string> };
type UpdateArgs = { id: number; text?: string; weight?: number; metadata?: Record<string, unknown>; validTo?: number };
type SupersedeArgs = { id: number; text: string; weight?: number; metadata?: Record<string, unknown>; key?: string };

/** The library's code and message; anything else is INTERNAL, its message only. */
export function failure(error: unknown): ToolAnswer {
  if (error instanceof OVMemoryError) return { ok: false, code: error.code, message: error.message };
  return { ok: false, code: 'INTERNAL', message: `internal error: ${error instanceof Error ? error.message : String(error)}` };
}

/** Drops the fields left out, so the library sees only what the caller gave. */
function defined<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** A hit as plain JSON (no class instances, no typed arrays). */
function plainHit(hit: SearchHit): SearchHit {
  return defined({ id: hit.id, score: hit.score, similarity: hit.similarity, text: hit.text, metadata: hit.metadata, key: hit.key, factors: { ...hit.factors } });
}

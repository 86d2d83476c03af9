// `ov-memory/ai-sdk`: a store's memory as AI SDK tools (`remember`, `recall`, `forget`, and
// `build_context` when asked for), made with the SDK's `tool()` and zod schemas, for `generateText`,
// `streamText` and agents. Every tool works inside one scope fixed by the caller, never chosen by the
// model: an agent given one user's tools cannot read, change or learn of another user's memories.
// Texts are embedded by the store's own embedder (`OVMemory.create({ embedder })`).
import type { Tool } from 'ai';
import { OVMemory, type Scope } from 'ov-memory';

import { invalid, positiveInteger } from '../embedders/checks.js';
import { importPeer } from './peer.js';
import { checkScope, within } from './scopes.js';

// zod first: the SDK itself needs it, so a missing zod is named as such rather than as a broken `ai`.
const { z } = await importPeer(() => import('zod'), 'zod', 'zod@^4', 'ov-memory/ai-sdk');
const { tool } = await importPeer(() => import('ai'), 'ai', 'ai@^6', 'ov-memory/ai-sdk');

export interface MemoryToolsOptions {
  /**
   * The memories the tools reach: `remember` stores into this scope, and `recall`, `forget` and
   * `build_context` see only memories whose scope matches every field given. Required, so that a
   * tool set is never shared by accident; `{}` reaches the whole store.
   */
  scope: Scope;
  /** Adds the `build_context` tool (the store's JIT context: the relevant memories as one text). @default false */
  buildContext?: boolean;
  /** The most memories one `recall` returns (the model may ask for fewer). @default 5 */
  maxResults?: number;
  /** The token budget of one `build_context` (the model may ask for less). @default 1000 */
  maxTokens?: number;
}

const DEFAULT_MAX_RESULTS = 5;
const DEFAULT_MAX_TOKENS = 1000;

/** The tools over `memory`; with `{ buildContext: true }` also `build_context`. */
export function memoryTools<O extends MemoryToolsOptions>(memory: OVMemory, options: O): MemoryTools & (O['buildContext'] extends true ? ContextTool : unknown) {
  if (!(memory instanceof OVMemory)) throw invalid('memory', 'an OVMemory', memory);
  if (options === null || typeof options !== 'object') throw invalid('options', 'an object with `scope`', options);
  const inScope = within(checkScope(options.scope, 'options.scope'));
  const maxResults = positiveInteger(options.maxResults, 'options.maxResults', DEFAULT_MAX_RESULTS);
  const maxTokens = positiveInteger(options.maxTokens, 'options.maxTokens', DEFAULT_MAX_TOKENS);
  if (options.buildContext !== undefined && typeof options.buildContext !== 'boolean') throw invalid('options.buildContext', 'a boolean', options.buildContext);

  const tools: MemoryTools = {
    remember: tool({
      description: 'Store a fact, preference or event about the user or the task so that it can be recalled in later conversations.',
      inputSchema: z.object({
        text: z.string().trim().min(1).describe('The memory, as one self-contained sentence.'),
        tags: z.array(z.string().min(1)).max(16).optional().describe('Short labels to recall it by.'),
      }),
      execute: async ({ text, tags }) => {
        const id = await memory.remember({ text, metadata: tags === undefined ? {} : { tags }, ...inScope });
        return { id, text };
      },
    }),
    recall: tool({
      description: 'Search long-term memory for what is relevant to a query; returns the best memories first.',
      inputSchema: z.object({
        query: z.string().trim().min(1).describe('What to look for.'),
        limit: z.number().int().min(1).max(maxResults).optional().describe(`How many memories, at most ${maxResults}.`),
      }),
      execute: async ({ query, limit }) => {
        const hits = await memory.search(query, { topK: limit ?? maxResults, ...inScope });
        return { memories: hits.map((h) => ({ id: h.id, text: h.text, score: h.score, ...(h.metadata.tags === undefined ? {} : { tags: h.metadata.tags }) })) };
      },
    }),
    forget: tool({
      description: 'Delete memories by their ids (as returned by remember or recall) when they are wrong or no longer wanted.',
      inputSchema: z.object({ ids: z.array(z.number().int().min(0)).min(1).max(100).describe('The ids of the memories to delete.') }),
      execute: async ({ ids }) => ({ forgotten: await memory.forget({ ...inScope, ids }) }),
    }),
  };
  if (options.buildContext !== true) return tools as MemoryTools & (O['buildContext'] extends true ? ContextTool : unknown);
  const context: ContextTool = {
    build_context: tool({
      description: 'Assemble the memories relevant to a query into one text, within a token budget, to answer from.',
      inputSchema: z.object({
        query: z.string().trim().min(1).describe('What the context is for.'),
        maxTokens: z.number().int().min(1).max(maxTokens).optional().describe(`The budget in tokens, at most ${maxTokens}.`),
      }),
      execute: async ({ query, maxTokens: budget }) => {
        const { context: text, ids, tokens } = await memory.context(query, { maxTokens: budget ?? maxTokens, ...inScope });
        return { context: text, ids, tokens };
      },
    }),
  };
  return { ...tools, ...context };
}

/** A type, not an interface, so that it is a `ToolSet` (which has an index signature). */
export type MemoryTools = {
  remember: Tool<{ text: string; tags?: string[] | undefined }, { id: number; text: string }>;
  recall: Tool<{ query: string; limit?: number | undefined }, { memories: { id: number; text: string; score: number; tags?: unknown }[] }>;
  forget: Tool<{ ids: number[] }, { forgotten: number }>;
};

export type ContextTool = {
  build_context: Tool<{ query: string; maxTokens?: number | undefined }, { context: string; ids: number[]; tokens: number }>;
};

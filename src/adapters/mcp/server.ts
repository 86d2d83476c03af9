// One MCP server (the SDK's McpServer) over a ToolCaller: the tools of schemas.ts, each answer as
// text and structured content, each failure as a tool error carrying the library's code, and the
// reference's resource `memory://knowledge-graph`.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SubscribeRequestSchema, UnsubscribeRequestSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';

import type { ToolAnswer, ToolCaller } from './executor.js';
import { TOOL_NAMES, TOOL_SHAPES } from './schemas.js';

export const RESOURCE_URI = 'memory://knowledge-graph';
/** The `_meta` field of a tool error that holds `{ code, message }`. */
export const ERROR_META = 'ov-memory/error';

/** The most array elements and object members one call's arguments may hold (a larger call is refused before it runs). */
export const MAX_INPUT_ELEMENTS = 100_000;

export interface ServerInfo { name: string; version: string }

/** A server whose tools all go through `caller`; connect it to a transport. */
export function createMcpServer(caller: ToolCaller, info: ServerInfo): McpServer {
  const server = new McpServer(info, {
    maxToolInputElements: MAX_INPUT_ELEMENTS,
    instructions: 'Long-term memory. The knowledge-graph tools (create_entities … open_nodes) match the reference memory server; ' +
      'remember, recall, build_context, forget, update_memory and supersede_memory work with memories as plain text.',
  });
  // As the reference: a client may subscribe to the graph, and hears of the changes its own calls make.
  const subscribed = new Set<string>();
  for (const name of TOOL_NAMES) {
    const shape = TOOL_SHAPES[name];
    server.registerTool(name, {
      title: shape.title,
      description: shape.description,
      inputSchema: shape.input,
      outputSchema: shape.output,
      annotations: shape.annotations,
    }, async (args: unknown) => {
      const answer = await caller.call(name, args);
      if (answer.ok && !shape.annotations.readOnlyHint && subscribed.has(RESOURCE_URI)) await server.server.sendResourceUpdated({ uri: RESOURCE_URI });
      return toolResult(answer);
    });
  }
  server.registerResource('knowledge-graph', RESOURCE_URI, {
    title: 'Knowledge Graph',
    description: 'The full knowledge graph with all entities and relations',
    mimeType: 'application/json',
  }, async (uri) => {
    const answer = await caller.call('read_graph', {});
    if (!answer.ok) throw new Error(`${answer.code}: ${answer.message}`);
    return { contents: [{ uri: uri.href, mimeType: 'application/json', text: answer.text }] };
  });
  server.server.registerCapabilities({ resources: { subscribe: true } });
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    subscribed.add(request.params.uri);
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    subscribed.delete(request.params.uri);
    return {};
  });
  return server;
}

/**
 * A tool error names the code first ("NOT_FOUND: …") and carries it in `_meta` too: not in
 * structured content, which clients check against the tool's output schema even for errors.
 */
export function toolResult(answer: ToolAnswer): CallToolResult {
  if (answer.ok) return { content: [{ type: 'text', text: answer.text }], structuredContent: answer.structured };
  return {
    isError: true,
    content: [{ type: 'text', text: `${answer.code}: ${answer.message}` }],
    _meta: { [ERROR_META]: { code: answer.code, message: answer.message } },
  };
}

// `ov-memory/mcp`: the store as a Model Context Protocol server — the reference memory server's
// nine knowledge-graph tools and resource, and ov-memory's own tools — over stdio or Streamable
// HTTP, on a directory that several server processes may share (one holds it, the others forward).
// Needs the optional peers @modelcontextprotocol/sdk and zod.
import { createRequire } from 'node:module';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { Embedder, OVMemoryOptions } from 'ov-memory';

import { listenHttp, type HttpOptions } from './http.js';
import { createMcpServer, type ServerInfo } from './server.js';
import { SharedStore } from './shared-store.js';

export { chooseEmbedder, EMBEDDER_NAMES, type ChosenEmbedder, type EmbedderName, type OpenAIChoice } from './embedder.js';
export { LocalExecutor, type ToolAnswer, type ToolCaller } from './executor.js';
export { GraphStore, type Entity, type KnowledgeGraph, type Relation } from './graph.js';
export { HTTP_DEFAULTS, MCP_PATH, type HttpOptions } from './http.js';
export { importReferenceFile, type ImportReport, type SkippedLine } from './import.js';
export { TOOL_NAMES, TOOL_SHAPES, type ToolName } from './schemas.js';
export { createMcpServer, ERROR_META, MAX_INPUT_ELEMENTS, RESOURCE_URI, type ServerInfo } from './server.js';
export { SharedStore, type SharedStoreOptions } from './shared-store.js';

export interface McpServerOptions {
  /** The store's directory (created when empty); other servers on it share it. */
  dir: string;
  /** Turns texts into vectors; see `chooseEmbedder` for the built-in ones. */
  embedder: Embedder;
  /** `'stdio'` (the process's stdin and stdout) or Streamable HTTP. @default 'stdio' */
  transport?: 'stdio' | { http: HttpOptions };
  /** Further options for OVMemory.open. */
  store?: Partial<OVMemoryOptions>;
  /** How the server introduces itself. @default { name: 'ov-memory', version: the package's } */
  info?: ServerInfo;
  /** Told when this process becomes the store's owner or forwards to the owner. */
  onRole?: (role: 'owner' | 'follower') => void;
}

export interface RunningMcpServer {
  /** The HTTP endpoint (http://127.0.0.1:8421/mcp); undefined over stdio. */
  url: string | undefined;
  /** Resolves when a stdio client disconnects (stdin ends); never for HTTP. */
  done: Promise<void>;
  /** Stops serving and closes the store (or the link to its owner). Idempotent. */
  close(): Promise<void>;
}

export async function startMcpServer(options: McpServerOptions): Promise<RunningMcpServer> {
  const info = options.info ?? { name: 'ov-memory', version: packageVersion() };
  const shared = await SharedStore.open({ dir: options.dir, embedder: options.embedder, store: options.store, onRole: options.onRole });
  const transport = options.transport ?? 'stdio';
  let closing: Promise<void> | undefined;
  if (transport === 'stdio') {
    const server = createMcpServer(shared, info);
    const stdio = new StdioServerTransport();
    const done = new Promise<void>((resolve) => {
      stdio.onclose = () => resolve();
      process.stdin.once('end', () => resolve());
    });
    await server.connect(stdio);
    return { url: undefined, done, close: () => closing ??= server.close().finally(() => shared.close()) };
  }
  let http: Awaited<ReturnType<typeof listenHttp>>;
  try {
    http = await listenHttp(shared, info, transport.http);
  } catch (error) {
    await shared.close();
    throw error;
  }
  return { url: http.url, done: new Promise(() => undefined), close: () => closing ??= http.close().finally(() => shared.close()) };
}

/** The version in the package's package.json (dist/mcp.js sits one folder below it). */
function packageVersion(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

// `ov-memory mcp`: the store as an MCP server (ov-memory/mcp) over stdio or Streamable HTTP, and
// `ov-memory mcp import FILE`: the reference memory server's file into a store.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import type * as Mcp from '../adapters/mcp/index.js';
import { InvalidDataError } from '../index.js';
import { importOptional } from './optional-dependency.js';
import { readTokens } from './serve.js';
import { expected } from './serve-options.js';

const USAGE = `usage: ov-memory mcp --dir DIR [options]
       ov-memory mcp import FILE --dir DIR [--embedder E]

Serves the store in DIR to one MCP client over stdio (the default), or over Streamable HTTP at
/mcp with --http. Several servers may share DIR: the first holds the store, the others forward to
it, and one takes over when it exits. The import form reads the reference memory server's
memory.jsonl into DIR, skipping and reporting the lines it cannot use.

  --dir DIR                 the store's directory (created when empty)
  --embedder E              hashing, use (the Universal Sentence Encoder) or openai;
                            default: use when its packages are installed, else hashing
  --openai-base-url URL     with --embedder openai: the API's base, e.g. http://localhost:11434/v1
  --openai-model M          with --embedder openai: the embedding model (key: $OPENAI_API_KEY)
  --openai-dimensions N     with --embedder openai: the vectors' length, for models that can shorten it
  --http                    Streamable HTTP instead of stdio
  --port N                  with --http: default 8421; 0 picks a free port
  --host H                  with --http: default 127.0.0.1; any other needs --token-file
  --token-file FILE         with --http: a file holding the bearer token every request then needs
  --durability D            always, batch (default) or none`;

const OPTIONS = {
  dir: { type: 'string' },
  embedder: { type: 'string' },
  'openai-base-url': { type: 'string' },
  'openai-model': { type: 'string' },
  'openai-dimensions': { type: 'string' },
  http: { type: 'boolean' },
  port: { type: 'string' },
  host: { type: 'string' },
  'token-file': { type: 'string' },
  durability: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Loads ov-memory/mcp; a missing SDK or zod is one line naming what to install. */
async function loadAdapter(): Promise<typeof Mcp> {
  const load = () => import('ov-memory/mcp' as string) as Promise<typeof Mcp>;
  const sdk = () => importOptional(load, '@modelcontextprotocol/sdk', '@modelcontextprotocol/sdk@^1 zod@^4', 'the MCP server');
  return importOptional(sdk, 'zod', 'zod@^4', 'the MCP server');
}

export async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  let positionals: string[];
  try {
    ({ values, positionals } = parse(argv));
  } catch (error) {
    return fail(error);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const isImport = positionals[0] === 'import';
    if (positionals.length > (isImport ? 2 : 0) || (isImport && positionals.length !== 2)) {
      throw usage(isImport ? `import takes one FILE, got ${positionals.length - 1}` : `unexpected argument ${JSON.stringify(positionals[0])}: the only subcommand is import FILE`);
    }
    if (typeof values.dir !== 'string') throw expected('--dir', 'the store\'s directory', undefined);
    const mcp = await loadAdapter();
    const chosen = await mcp.chooseEmbedder(values.embedder as Mcp.EmbedderName | undefined, openaiChoice(values));
    console.error(`ov-memory mcp: embedder ${chosen.name} (${chosen.reason})`);
    const store = values.durability === undefined ? {} : { durability: values.durability as 'always' | 'batch' | 'none' };
    if (isImport) return await runImport(mcp, positionals[1]!, values.dir, chosen.embedder, store);
    return await serve(mcp, values, chosen.embedder, store);
  } catch (error) {
    return fail(error);
  }
}

function parse(argv: string[]) {
  return parseArgs({ args: argv, strict: true, allowPositionals: true, options: OPTIONS });
}

type Values = ReturnType<typeof parse>['values'];

async function serve(mcp: typeof Mcp, values: Values, embedder: Mcp.ChosenEmbedder['embedder'], store: object): Promise<number> {
  const http = values.http === true
    ? { http: { port: values.port === undefined ? undefined : integer('--port', values.port), host: values.host, token: values['token-file'] === undefined ? undefined : readToken(values['token-file']) } }
    : undefined;
  if (http === undefined && (values.port !== undefined || values.host !== undefined || values['token-file'] !== undefined)) {
    throw usage('--port, --host and --token-file go with --http');
  }
  const server = await mcp.startMcpServer({
    dir: values.dir!, embedder, store, transport: http ?? 'stdio', info: { name: 'ov-memory', version: version() },
    onRole: (role) => console.error(role === 'owner' ? `ov-memory mcp: serving ${values.dir}` : `ov-memory mcp: ${values.dir} is held by another server: forwarding to it`),
  });
  if (server.url !== undefined) console.error(`ov-memory mcp: listening on ${server.url}`);
  const signalled = new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGTERM', stop).off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop).on('SIGINT', stop);
  });
  await Promise.race([signalled, server.done]);
  await server.close();
  return 0;
}

async function runImport(mcp: typeof Mcp, file: string, dir: string, embedder: Mcp.ChosenEmbedder['embedder'], store: object): Promise<number> {
  const shared = await mcp.SharedStore.open({ dir, embedder, store });
  try {
    const report = await mcp.importReferenceFile(file, shared);
    for (const { line, reason } of report.skipped) console.error(`${file}:${line}: skipped: ${reason}`);
    console.log(`imported ${report.entities} entities and ${report.relations} relations from ${file}; ${report.skipped.length} lines skipped`);
    return 0;
  } finally {
    await shared.close();
  }
}

function openaiChoice(values: Values): Mcp.OpenAIChoice | undefined {
  const baseURL = values['openai-base-url'];
  const model = values['openai-model'];
  if (baseURL === undefined && model === undefined) return undefined;
  if (baseURL === undefined || model === undefined) throw usage('--openai-base-url and --openai-model go together');
  const dimensions = values['openai-dimensions'];
  return {
    baseURL, model,
    ...(process.env.OPENAI_API_KEY ? { apiKey: process.env.OPENAI_API_KEY } : {}),
    ...(dimensions === undefined ? {} : { dimensions: integer('--openai-dimensions', dimensions) }),
  };
}

function integer(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw expected(flag, 'a whole number', text);
  return Number(text);
}

/** The one token of the whole store that --token-file holds (scoped tokens are `serve`'s). */
function readToken(file: string): string {
  const grants = readTokens(file);
  if (grants.length !== 1 || grants[0]!.scope !== undefined) throw usage(`--token-file of ov-memory mcp holds one token, for the whole store, got ${grants.length} in ${file}${grants.some((g) => g.scope) ? ' with a scope' : ''}`);
  return grants[0]!.token;
}

/** A usage error (exit 2), for rules between flags that no single flag's check can word. */
function usage(message: string): InvalidDataError {
  return new InvalidDataError(message);
}

function version(): string {
  return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
}

/** One line on stderr; bad flags exit 2, anything else 1. */
function fail(error: unknown): number {
  console.error(`ov-memory mcp: ${(error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, ' ')}`);
  // By code, not class: the adapter's errors are the package entry's classes, not this bundle's.
  const code = String((error as { code?: unknown }).code ?? '');
  const usage = code === 'INVALID_DATA' || code.startsWith('ERR_PARSE_ARGS');
  return usage ? 2 : 1;
}

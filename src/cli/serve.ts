// `ov-memory serve`: the command around `startServer` (./server.ts): flags to options, the URL on
// stdout, and a graceful shutdown on SIGTERM or SIGINT.
import { readFileSync } from 'node:fs';
import { parseTokenFile, type TokenGrant } from './http-auth.js';
import { parseArgs } from 'node:util';
import { OVMemoryError } from '../index.js';
import type { OVMemoryOptions } from '../index.js';
import { renameFields, type FieldRename } from './http-errors.js';
import { startServer, type RunningServer } from './server.js';
import { expected, SERVE_DEFAULTS, type ServeOptions } from './serve-options.js';

/** A flag, the option it sets (of startServer, or of the store), and how its text is read. */
interface Flag {
  flag: string;
  option: string;
  store?: true;
  read: (flag: string, text: string) => unknown;
  help: string;
}

const asText = (_flag: string, text: string) => text;
const asNumber = (flag: string, text: string) => {
  if (!/^-?\d+(\.\d+)?(e\d+)?$/i.test(text)) throw expected(flag, 'a number', text);
  return Number(text);
};
const asList = (_flag: string, text: string) => text.split(',').map((field) => field.trim()).filter((field) => field.length > 0);
const asThreads = (flag: string, text: string) => (text === 'auto' ? 'auto' : asNumber(flag, text));

const FLAGS: readonly Flag[] = [
  { flag: '--dim', option: 'dim', read: asNumber, help: 'the vectors\' dimension: needed only when DIR holds no store yet' },
  { flag: '--port', option: 'port', read: asNumber, help: `default ${SERVE_DEFAULTS.port}; 0 picks a free port` },
  { flag: '--host', option: 'host', read: asText, help: `default ${SERVE_DEFAULTS.host}; any other than a loopback address needs --token-file` },
  { flag: '--durability', option: 'durability', read: asText, help: 'always, batch (default) or none' },
  { flag: '--log-level', option: 'logLevel', read: asText, help: 'debug, info (default), warn, error or silent' },
  { flag: '--body-limit', option: 'bodyLimit', read: asNumber, help: `the largest request body in bytes (default ${SERVE_DEFAULTS.bodyLimit}: 32 MiB)` },
  { flag: '--max-batch-hits', option: 'maxBatchHits', read: asNumber, help: `the most queries × topK in one POST /search/batch (default ${SERVE_DEFAULTS.maxBatchHits})` },
  { flag: '--max-answer-mb', option: 'maxAnswerMB', read: asNumber, help: `the largest search answer, in MiB (default ${SERVE_DEFAULTS.maxAnswerMB})` },
  { flag: '--headers-timeout-ms', option: 'headersTimeoutMs', read: asNumber, help: `the time to send a request's headers (default ${SERVE_DEFAULTS.headersTimeoutMs})` },
  { flag: '--request-timeout-ms', option: 'requestTimeoutMs', read: asNumber, help: `the time to send a whole request, body included (default ${SERVE_DEFAULTS.requestTimeoutMs})` },
  { flag: '--shutdown-timeout-ms', option: 'shutdownTimeoutMs', read: asNumber, help: `how long requests in flight may finish at shutdown (default ${SERVE_DEFAULTS.shutdownTimeoutMs})` },
  { flag: '--max-memory-mb', option: 'maxMemoryMB', store: true, read: asNumber, help: 'the store\'s memory limit (default 1024, at most 4095)' },
  { flag: '--max-nodes', option: 'maxNodes', store: true, read: asNumber, help: 'the most memories (default: what fits in --max-memory-mb)' },
  { flag: '--name', option: 'name', store: true, read: asText, help: 'the store\'s name: the `store` label on its metrics' },
  { flag: '--recency', option: 'recency', store: true, read: asText, help: 'created (default) or accessed' },
  { flag: '--half-life-ms', option: 'halfLifeMs', store: true, read: asNumber, help: 'the recency factor\'s half-life' },
  { flag: '--indexed', option: 'indexed', store: true, read: asList, help: 'metadata fields to index for filters, a,b,c (default: every scalar field)' },
  { flag: '--threads', option: 'threads', store: true, read: asThreads, help: 'scan workers (default one per core; 0: the service\'s own thread)' },
];

/** Messages from startServer and the store name their options; the command's user knows the flags. */
const FLAG_NAMES: readonly FieldRename[] = FLAGS.map(({ flag, option }) => [new RegExp(`^${option}(?=$|\\[)`), flag] as const);

const USAGE = `usage: ov-memory serve --dir DIR [options]

Serves the durable store in DIR over HTTP until SIGTERM or SIGINT, then shuts down gracefully.
Prints the URL on stdout once listening; logs are JSON lines on stderr.

  --dir DIR                the store's directory (created when empty)
  --token-file FILE        bearer tokens every route but /healthz then needs: a line each,
                           TOKEN for the whole store, or TOKEN user=…,agent=…,session=… for one scope
${FLAGS.map(({ flag, help }) => `  ${`${flag} ${flag === '--indexed' ? 'A,B' : 'X'}`.padEnd(24)} ${help}`).join('\n')}`;

/** `ov-memory serve`: runs until SIGTERM or SIGINT, then shuts down gracefully. Returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  let server: RunningServer;
  try {
    server = await startServer(parseServeArgs(argv));
  } catch (error) {
    // One line: parseArgs's own messages run over several.
    console.error(`ov-memory serve: ${renameFields(errorMessage(error), FLAG_NAMES).replace(/\s*\n\s*/g, ' ')}`);
    // Bad flags (the store's own checks included, e.g. a missing --dim) exit 2; anything else 1.
    return isUsageError(error) ? 2 : 1;
  }
  const signalled = new Promise<void>((resolve) => {
    // Once: a second signal during the shutdown gets the default handling (the process ends at once).
    const stop = () => {
      process.off('SIGTERM', stop).off('SIGINT', stop);
      resolve();
    };
    process.on('SIGTERM', stop).on('SIGINT', stop);
  });
  // Printed once the handlers are in place: whoever reads the URL may signal at once.
  console.log(server.url);
  await signalled;
  await server.close();
  return 0;
}

/** The command's flags as startServer options; throws INVALID_DATA naming the flag. */
function parseServeArgs(argv: string[]): ServeOptions {
  const { values }: { values: Record<string, string | boolean | undefined> } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: 'string' },
      'token-file': { type: 'string' },
      ...Object.fromEntries(FLAGS.map(({ flag }) => [flag.slice(2), { type: 'string' as const }])),
    },
  });
  const dir = values.dir;
  if (typeof dir !== 'string') throw expected('--dir', 'the store\'s directory', undefined);
  const options: Record<string, unknown> = { dir };
  const store: Partial<Record<keyof OVMemoryOptions, unknown>> = {};
  for (const { flag, option, store: isStore, read } of FLAGS) {
    const text = values[flag.slice(2)];
    if (typeof text !== 'string') continue;
    if (isStore) store[option as keyof OVMemoryOptions] = read(flag, text);
    else options[option] = read(flag, text);
  }
  const tokenFile = values['token-file'];
  if (typeof tokenFile === 'string') options.tokens = readTokens(tokenFile);
  // The values are checked where they are used, by startServer and the store, which name them.
  return { ...options, store } as unknown as ServeOptions;
}

function readTokens(file: string): TokenGrant[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw expected('--token-file', `a readable file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`, file);
  }
  if (text.trim().length === 0) throw expected('--token-file', 'a file holding a token', `${file} (empty)`);
  return parseTokenFile(text, file, (why) => expected('--token-file', 'lines of `TOKEN [user=…,agent=…,session=…]`', why));
}

function isUsageError(error: unknown): boolean {
  if (error instanceof OVMemoryError) return error.code === 'INVALID_DATA';
  return String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// `ov-memory serve`: a durable store behind an HTTP API (fastify 5). Bodies are checked for their JSON
// shape by schemas; everything else (dimensions, ranges, filters) is validated by the library itself,
// exactly as in-process. Every error answers `{ error: { code, message } }`, never a stack trace.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { parseArgs } from 'node:util';
import Fastify, { type FastifyReply } from 'fastify';
import { InvalidDataError, NotFoundError, OVMemory, OVMemoryError } from '../index.js';
import type { ContextOptions, LoggerLike, LogLevel, MemoryInput, OVMemoryOptions, SearchOptions } from '../index.js';
import { createLogger } from '../observability/logger.js';

export interface ServeOptions {
  /** The store's directory; created when it holds no store yet. */
  dir: string;
  /** The vectors' dimension: needed only when `dir` holds no store yet. */
  dim?: number;
  /** Default 8420; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. Any other than a loopback address needs a `token`. */
  host?: string;
  /** When set, every route but /healthz needs `Authorization: Bearer <token>`. */
  token?: string;
  durability?: 'always' | 'batch' | 'none';
  /** The largest request body in bytes (default 32 MiB); a larger one is answered 413. */
  bodyLimit?: number;
  /** How long close() lets requests in flight finish before cutting their connections (default 10 s). */
  shutdownTimeoutMs?: number;
  logger?: LoggerLike;
  logLevel?: LogLevel;
  /** Further options for OVMemory.open (threads, limits, name, …). */
  store?: Partial<OVMemoryOptions>;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8420 */
  url: string;
  /** Stops accepting, lets requests in flight finish (up to the deadline), then closes the store. Idempotent. */
  close(): Promise<void>;
}

const SERVE_DEFAULTS = Object.freeze({
  port: 8420,
  host: '127.0.0.1',
  bodyLimit: 32 * 1024 * 1024,
  shutdownTimeoutMs: 10_000,
  logLevel: 'info' as const,
});

/** Open without a token: orchestrators probe it. */
const HEALTH_ROUTE = '/healthz';

/** The HTTP status for each library error code; any other code is a 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  INVALID_DATA: 400,
  NOT_FOUND: 404,
  DUPLICATE_KEY: 409,
  RESOURCE_EXHAUSTION: 503,
  CIRCUIT_OPEN: 503,
  CLOSED: 503,
  TIMEOUT: 504,
  // nginx's "client closed request": only a client that went away aborts its own request.
  ABORTED: 499,
});

// ---- request bodies: JSON shape only -------------------------------------------------------------

const number = { type: 'number' } as const;
const string = { type: 'string' } as const;
const object = { type: 'object' } as const;
const vector = { type: 'array', items: number } as const;
const strict = (properties: Record<string, unknown>, required: string[] = []) =>
  ({ type: 'object', properties, required, additionalProperties: false }) as const;

const memoryInput = strict({ embedding: vector, text: string, weight: number, metadata: object, createdAt: number, key: string }, ['embedding', 'text']);
const searchOptions = { topK: number, alpha: number, rank: string, filter: object, minScore: number, timeoutMs: number };
const SCHEMAS = {
  // One memory, or { memories: [...], link? } for many.
  add: { if: { type: 'object', required: ['memories'] }, then: strict({ memories: { type: 'array', items: memoryInput }, link: string }, ['memories']), else: memoryInput },
  patch: strict({ weight: number, metadata: object }),
  link: strict({ from: number, to: number, relevance: number, type: string }, ['from', 'to', 'relevance']),
  search: strict({ vector, ...searchOptions }, ['vector']),
  searchBatch: strict({ vectors: { type: 'array', items: vector }, ...searchOptions }, ['vectors']),
  context: strict({
    vector, maxTokens: number, budget: strict({ total: number, used: number }, ['total', 'used']),
    maxHops: number, seeds: number, filter: object, timeoutMs: number,
  }, ['vector']),
};

type AddBody = MemoryInput | { memories: MemoryInput[]; link?: 'focus' | 'none' };
type SearchBody = Omit<SearchOptions, 'signal' | 'now'> & { vector: number[] };
type SearchBatchBody = Omit<SearchOptions, 'signal' | 'now'> & { vectors: number[][] };
type ContextBody = Omit<ContextOptions, 'signal' | 'now' | 'tokenizer'> & { vector: number[] };
type IdParams = { Params: { id: string } };

/** Starts the service on a durable store; resolves once it is listening. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? SERVE_DEFAULTS.host;
  const token = options.token;
  if (token !== undefined && token.length === 0) throw expected('token', 'a non-empty string', token);
  if (token === undefined && !isLoopback(host)) {
    throw new InvalidDataError(
      `refusing to listen on ${host} without a token: a non-loopback address lets anyone who reaches it read and change the store; give a token (--token-file FILE) or bind 127.0.0.1`,
      { details: { field: 'host', host } },
    );
  }
  const shutdownTimeoutMs = options.shutdownTimeoutMs ?? SERVE_DEFAULTS.shutdownTimeoutMs;
  const log = createLogger({ logger: options.logger, logLevel: options.logLevel ?? SERVE_DEFAULTS.logLevel, name: 'ov-memory:serve', clock: Date.now });
  const memory = await OVMemory.open(options.dir, {
    logger: log,
    ...options.store,
    ...(options.dim === undefined ? {} : { dim: options.dim }),
    ...(options.durability === undefined ? {} : { durability: options.durability }),
  });

  const app = Fastify({
    // Our logger speaks for the service; fastify's (pino) stays silent.
    logger: false,
    bodyLimit: options.bodyLimit ?? SERVE_DEFAULTS.bodyLimit,
    // Requests that arrive on a kept-alive connection while draining are served (with Connection: close),
    // so every answer has our error shape.
    return503OnClosing: false,
    // No coercion ("1" stays a string) and no silent removal of unknown fields: a body means what it says.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    schemaErrorFormatter: (errors, dataVar) => new Error(errors.filter((e) => e.keyword !== 'if').map((e) => {
      const extra = e.params.additionalProperty ?? e.params.missingProperty;
      return `${dataVar}${e.instancePath} ${e.message ?? 'is invalid'}${e.keyword === 'additionalProperties' ? `: ${String(extra)}` : ''}`;
    }).join('; ')),
  });

  if (token !== undefined) {
    const tokenHash = sha256(token);
    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.url === HEALTH_ROUTE) return;
      const presented = /^Bearer +(.*)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
      // Hashing both sides gives equal lengths, so the comparison takes the same time for any token.
      if (!timingSafeEqual(sha256(presented), tokenHash)) {
        return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('UNAUTHORIZED', 'missing or wrong bearer token'));
      }
    });
  }
  app.addHook('onResponse', async (request, reply) => {
    log.debug('request', { method: request.method, url: request.url, status: reply.statusCode, ms: Number(reply.elapsedTime.toFixed(2)) });
  });
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${request.url}`));
  });
  app.setErrorHandler((error, request, reply) => {
    const { status, code, message } = toHttpError(error);
    if (status >= 500) log.error('request failed', { method: request.method, url: request.url, status, code, error: errorMessage(error) });
    reply.code(status).send(errorBody(code, message));
  });

  app.post<{ Body: AddBody }>('/memories', { schema: { body: SCHEMAS.add } }, async (request) => {
    const body = request.body;
    return { ids: 'memories' in body ? memory.addMany(body.memories, { link: body.link }) : [memory.add(body)] };
  });
  app.get<IdParams>('/memories/:id', async (request) => {
    const id = memoryId(request.params.id);
    const record = memory.get(id);
    if (!record) throw new NotFoundError(`no memory with id ${id}`, { details: { id } });
    return record;
  });
  app.patch<IdParams & { Body: { weight?: number; metadata?: Record<string, unknown> } }>(
    '/memories/:id', { schema: { body: SCHEMAS.patch } }, async (request) => {
      const id = memoryId(request.params.id);
      memory.update(id, request.body);
      return memory.get(id);
    },
  );
  app.delete<IdParams>('/memories/:id', async (request, reply) => {
    const id = memoryId(request.params.id);
    if (!memory.remove(id)) throw new NotFoundError(`no memory with id ${id}`, { details: { id } });
    return reply.code(204).send();
  });
  app.post<{ Body: { from: number; to: number; relevance: number; type?: string } }>('/links', { schema: { body: SCHEMAS.link } }, async (request) => {
    const { from, to, relevance, type } = request.body;
    return { linked: memory.link(from, to, relevance, type) };
  });
  app.post<{ Body: SearchBody }>('/search', { schema: { body: SCHEMAS.search } }, async (request, reply) => {
    const { vector: query, ...rest } = request.body;
    return { hits: await memory.search(query, { ...rest, signal: disconnectSignal(reply) }) };
  });
  app.post<{ Body: SearchBatchBody }>('/search/batch', { schema: { body: SCHEMAS.searchBatch } }, async (request, reply) => {
    const { vectors, ...rest } = request.body;
    return { results: await memory.searchMany(vectors, { ...rest, signal: disconnectSignal(reply) }) };
  });
  app.post<{ Body: ContextBody }>('/context', { schema: { body: SCHEMAS.context } }, async (request, reply) => {
    const { vector: query, ...rest } = request.body;
    return memory.context(query, { ...rest, signal: disconnectSignal(reply) });
  });
  app.get('/metrics', async (_request, reply) => {
    reply.type('text/plain; version=0.0.4; charset=utf-8');
    return memory.prometheus();
  });
  // Rejected input only warns, so a misbehaving client never turns this into a 503.
  app.get(HEALTH_ROUTE, async (_request, reply) => {
    const report = memory.health();
    return reply.code(report.status === 'CRITICAL' ? 503 : 200).send(report);
  });

  let url: string;
  try {
    url = await app.listen({ port: options.port ?? SERVE_DEFAULTS.port, host });
  } catch (error) {
    await memory.close();
    throw error;
  }
  log.info('listening', { url, dir: options.dir, dim: memory.dim, memories: memory.size, auth: token !== undefined });

  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => closing ??= (async () => {
      log.info('shutting down', { deadlineMs: shutdownTimeoutMs });
      // Past the deadline, cut the connections still open: their requests' searches abort.
      const deadline = setTimeout(() => app.server.closeAllConnections(), shutdownTimeoutMs);
      try {
        await app.close();
      } finally {
        clearTimeout(deadline);
        await memory.close();
      }
      log.info('stopped', { memories: memory.size });
    })(),
  };
}

const USAGE = `usage: ov-memory serve --dir DIR [--dim N] [--port ${SERVE_DEFAULTS.port}] [--host ${SERVE_DEFAULTS.host}]
                        [--token-file FILE] [--durability always|batch|none]

Serves the durable store in DIR over HTTP until SIGTERM or SIGINT, then shuts down gracefully.
--dim is needed only when DIR holds no store yet; a host other than a loopback address needs
--token-file (a file holding the bearer token). Prints the URL on stdout once listening.`;

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
    console.error(`ov-memory serve: ${errorMessage(error)}`);
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
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      dir: { type: 'string' }, dim: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' },
      'token-file': { type: 'string' }, durability: { type: 'string' },
    },
  });
  if (values.dir === undefined) throw expected('--dir', 'the store\'s directory', undefined);
  const options: ServeOptions = { dir: values.dir };
  if (values.dim !== undefined) options.dim = integerFlag('--dim', values.dim, 65_536);
  if (values.port !== undefined) options.port = integerFlag('--port', values.port, 65_535);
  if (values.host !== undefined) options.host = values.host;
  // The store validates the mode itself, naming `durability`.
  if (values.durability !== undefined) options.durability = values.durability as ServeOptions['durability'];
  if (values['token-file'] !== undefined) options.token = readToken(values['token-file']);
  return options;
}

// ---- helpers ------------------------------------------------------------------------------------

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function readToken(file: string): string {
  let token: string;
  try {
    token = readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw expected('--token-file', `a readable file (${errorMessage(error)})`, file);
  }
  if (token.length === 0) throw expected('--token-file', 'a file holding a token', `${file} (empty)`);
  return token;
}

function integerFlag(name: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max) throw expected(name, `an integer from 0 to ${max}`, value);
  return Number(value);
}

function memoryId(param: string): number {
  if (!/^\d{1,10}$/.test(param)) throw expected('id', 'a memory id (a non-negative integer)', param);
  return Number(param);
}

/** The library's wording for a rejected value: "Expected `--port` to be …, got "abc"". */
function expected(name: string, what: string, value: string | undefined): InvalidDataError {
  return new InvalidDataError(`Expected \`${name}\` to be ${what}, got ${value === undefined ? 'nothing' : JSON.stringify(value)}`, { details: { field: name } });
}

/**
 * Aborted when the client goes away before its answer is sent. The response's `close` is the reliable
 * sign: the request's own `close` fires as soon as its body has been read.
 */
function disconnectSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  const gone = () => controller.abort(new Error('the client closed the connection'));
  if (reply.raw.destroyed) gone();
  else reply.raw.once('close', () => { if (!reply.raw.writableFinished) gone(); });
  return controller.signal;
}

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** Our errors by their code; fastify's own client errors (schema, JSON, size, media type) as INVALID_DATA. */
function toHttpError(error: unknown): { status: number; code: string; message: string } {
  if (error instanceof OVMemoryError) return { status: STATUS_BY_CODE[error.code] ?? 500, code: error.code, message: error.message };
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: status === 404 ? 'NOT_FOUND' : 'INVALID_DATA', message: errorMessage(error) };
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

function isUsageError(error: unknown): boolean {
  if (error instanceof OVMemoryError) return error.code === 'INVALID_DATA';
  return String((error as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}


// The HTTP service (the `ov-memory/serve` entry, and what `ov-memory serve` runs): a durable store
// behind fastify 5. Bodies are checked for their JSON shape by schemas; everything else (dimensions,
// ranges, filters) is validated by the library itself, exactly as in-process. Every answer that is not
// a success is `{ error: { code, message } }`, never a stack trace.
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidDataError, NotFoundError, OVMemory } from '../index.js';
import type { ContextOptions, MemoryInput, SearchOptions } from '../index.js';
import { createLogger } from '../internal.js';
import { clientErrorHandler, errorBody, formatSchemaErrors, frameworkErrors, toHttpError, type FieldRename } from './http-errors.js';
import { boundedSearchMany, checkAnswerBytes, checkBatchHits } from './http-limits.js';
import { importOptional } from './optional-dependency.js';
import { expected, resolveServeOptions, type ResolvedServeOptions, type ServeOptions } from './serve-options.js';

export { SERVE_DEFAULTS, type ServeOptions } from './serve-options.js';

export interface RunningServer {
  /** e.g. http://127.0.0.1:8420 */
  url: string;
  /** Stops accepting, lets requests in flight finish (up to the deadline), then closes the store. Idempotent. */
  close(): Promise<void>;
}

/** Open without a token: orchestrators probe it. */
const HEALTH_ROUTE = '/healthz';

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
    vector, maxTokens: number, minSimilarity: number, budget: strict({ total: number, used: number }, ['total', 'used']),
    maxHops: number, seeds: number, filter: object, timeoutMs: number,
  }, ['vector']),
};

// ---- the library's parameter names → the body's fields, per route --------------------------------

const RENAMES = {
  add: [[/^input\./, ''], [/^input$/, 'body'], [/^inputs(?=\[)/, 'memories']],
  patch: [[/^patch\./, ''], [/^patch$/, 'body']],
  query: [[/^query$/, 'vector']],
  batch: [[/^queries(?=\[|$)/, 'vectors']],
} satisfies Record<string, FieldRename[]>;

type AddBody = MemoryInput | { memories: MemoryInput[]; link?: 'focus' | 'none' };
type SearchBody = Omit<SearchOptions, 'signal' | 'now'> & { vector: number[] };
type SearchBatchBody = Omit<SearchOptions, 'signal' | 'now'> & { vectors: number[][] };
type ContextBody = Omit<ContextOptions, 'signal' | 'now' | 'tokenizer'> & { vector: number[] };
type IdParams = { Params: { id: string } };

/** Starts the service on a durable store; resolves once it is listening. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const limits = resolveServeOptions(options);
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) throw expected('token', 'a non-empty string', token);
  if (token === undefined && !isLoopback(limits.host)) {
    throw new InvalidDataError(
      `refusing to listen on ${limits.host} without a token: a non-loopback address lets anyone who reaches it read and change the store; give a token (--token-file FILE) or bind 127.0.0.1`,
      { details: { field: 'host', host: limits.host } },
    );
  }
  const { default: Fastify } = await importOptional(() => import('fastify'), 'fastify', 'fastify@^5', 'the HTTP service');
  const { default: secureJson } = await importOptional(() => import('secure-json-parse'), 'secure-json-parse', 'secure-json-parse@^4', 'the HTTP service');
  const logLevel = limits.logLevel;
  const log = createLogger({ logger: options.logger, logLevel, name: 'ov-memory:serve' });
  const memory = await OVMemory.open(options.dir, {
    logger: log,
    logLevel,
    ...options.store,
    ...(options.dim === undefined ? {} : { dim: options.dim }),
    ...(options.durability === undefined ? {} : { durability: options.durability }),
  });
  let app: FastifyInstance;
  let url: string;
  try {
    app = buildApp({ memory, limits, token, log, Fastify, secureJson });
    url = await app.listen({ port: limits.port, host: limits.host });
  } catch (error) {
    await memory.close();
    throw error;
  }
  log.info('listening', { url, dir: options.dir, dim: memory.dim, memories: memory.size, auth: token !== undefined });

  let closing: Promise<void> | undefined;
  return {
    url,
    close: () => closing ??= (async () => {
      log.info('shutting down', { deadlineMs: limits.shutdownTimeoutMs });
      // Past the deadline, cut the connections still open: their requests' searches abort.
      const deadline = setTimeout(() => app.server.closeAllConnections(), limits.shutdownTimeoutMs);
      const memories = memory.size;
      try {
        await app.close();
      } finally {
        clearTimeout(deadline);
        await memory.close();
      }
      log.info('stopped', { memories });
    })(),
  };
}

/** What buildApp needs: the open store, the checked options, and the loaded optional packages. */
interface AppParts {
  memory: OVMemory;
  limits: ResolvedServeOptions;
  token: string | undefined;
  log: ReturnType<typeof createLogger>;
  Fastify: typeof import('fastify').default;
  secureJson: typeof import('secure-json-parse');
}

/** The fastify app: parsers, error handling, auth and the routes over `memory`. */
function buildApp({ memory, limits, token, log, Fastify, secureJson }: AppParts): FastifyInstance {

  const app = Fastify({
    // Our logger speaks for the service; fastify's (pino) stays silent.
    logger: false,
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    // Node checks its deadlines on an interval (30 s by default): often enough for the shortest one.
    http: { headersTimeout: limits.headersTimeoutMs, connectionsCheckingInterval: Math.max(25, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))) },
    clientErrorHandler: clientErrorHandler(limits),
    frameworkErrors,
    // Requests that arrive on a kept-alive connection while draining are served (with Connection: close),
    // so every answer has our error shape.
    return503OnClosing: false,
    // No coercion ("1" stays a string) and no silent removal of unknown fields: a body means what it says.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    schemaErrorFormatter: formatSchemaErrors,
  });
  // JSON only (any other body, text/plain included, is 415), parsed by secure-json-parse (fastify's
  // own parser) called here, so that a prototype-changing key gets an answer that says so: fastify's
  // would call it "not valid JSON".
  app.removeContentTypeParser(['application/json', 'text/plain']);
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, checkBodyDepth(secureJson.parse(text as string, undefined, { protoAction: 'error', constructorAction: 'error' })));
    } catch (error) {
      if (error instanceof InvalidDataError) return done(error, undefined);
      const message = (error as Error).message;
      done(new InvalidDataError(message.startsWith('Object contains forbidden')
        ? 'the body has a `__proto__` key, or a `constructor` key holding `prototype`: refused, as they could change the prototype of the objects they reach'
        : `the body is not valid JSON (${message})`), undefined);
    }
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
    reply.code(404).send(errorBody('NOT_FOUND', `no route ${request.method} ${routePath(request)}`));
  });
  app.setErrorHandler((error, request, reply) => {
    const renames = (request.routeOptions.config as { renames?: FieldRename[] } | undefined)?.renames ?? [];
    const { status, code, message } = toHttpError(error, renames);
    if (status >= 500) log.error('request failed', { method: request.method, route: request.routeOptions.url, status, code, error: errorMessage(error) });
    reply.code(status).send(errorBody(code, message));
  });

  app.post<{ Body: AddBody }>('/memories', { schema: { body: SCHEMAS.add }, config: { renames: RENAMES.add } }, async (request) => {
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
    '/memories/:id', { schema: { body: SCHEMAS.patch }, config: { renames: RENAMES.patch } }, async (request) => {
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
  app.post<{ Body: SearchBody }>('/search', { schema: { body: SCHEMAS.search }, config: { renames: RENAMES.query } }, async (request, reply) => {
    const { vector: query, ...rest } = request.body;
    const hits = await memory.search(query, { ...rest, signal: disconnectSignal(reply) });
    checkAnswerBytes([hits], limits.maxAnswerMB * 2 ** 20);
    return { hits };
  });
  app.post<{ Body: SearchBatchBody }>('/search/batch', { schema: { body: SCHEMAS.searchBatch }, config: { renames: RENAMES.batch } }, async (request, reply) => {
    const { vectors, ...rest } = request.body;
    checkBatchHits(vectors.length, rest.topK, limits.maxBatchHits);
    return { results: await boundedSearchMany(memory, vectors, { ...rest, signal: disconnectSignal(reply) }, limits.maxAnswerMB * 2 ** 20) };
  });
  app.post<{ Body: ContextBody }>('/context', { schema: { body: SCHEMAS.context }, config: { renames: RENAMES.query } }, async (request, reply) => {
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

  return app;
}

// ---- helpers ------------------------------------------------------------------------------------

/** No route's body nests deeper than a filter's few levels; deeper is refused before the library recurses into it. */
const MAX_BODY_DEPTH = 64;

/** Refuses a body nested past MAX_BODY_DEPTH; walks with a stack of its own, so any depth is safe to check. */
function checkBodyDepth(body: unknown): unknown {
  const pending: [unknown, number][] = [[body, 1]];
  while (pending.length > 0) {
    const [value, depth] = pending.pop()!;
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_BODY_DEPTH) throw new InvalidDataError(`the body nests deeper than ${MAX_BODY_DEPTH} levels of objects and arrays`);
    for (const child of Array.isArray(value) ? value : Object.values(value)) {
      if (typeof child === 'object' && child !== null) pending.push([child, depth + 1]);
    }
  }
  return body;
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIPv4(host) && host.startsWith('127.'));
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** A memory id as the library writes it: no sign, no leading zero ("01" is not memory 1), 32 bits. */
function memoryId(param: string): number {
  if (!/^(?:0|[1-9]\d{0,9})$/.test(param) || Number(param) > 0xffff_ffff) {
    throw expected('id', 'a memory id (a non-negative integer without leading zeros)', param.length > 24 ? `${param.slice(0, 24)}…` : param);
  }
  return Number(param);
}

/** The request's path, cut short: a 404 names the route asked for without echoing a long URL. */
function routePath(request: FastifyRequest): string {
  const path = request.url.split('?')[0] ?? '';
  return path.length > 64 ? `${path.slice(0, 64)}…` : path;
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

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

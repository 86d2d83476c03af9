// The HTTP service (the `ov-memory/serve` entry, and what `ov-memory serve` runs): a durable store
// behind fastify 5. Bodies are checked for their JSON shape by schemas; everything else (dimensions,
// ranges, filters) is validated by the library itself, exactly as in-process. Every answer that is not
// a success is `{ error: { code, message } }`, never a stack trace.
import { isIPv4 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidDataError, OVMemory } from '../index.js';
import type { ContextOptions, ForgetSelector, MemoryInput, Scope, SearchOptions } from '../index.js';
import { authenticator, type Grant, narrow, noMemory, reaches, requireWholeStore, type TokenGrant } from './http-auth.js';
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

const scope = strict({ user: string, agent: string, session: string });
const memoryInput = strict({
  embedding: vector, text: string, weight: number, metadata: object, createdAt: number, key: string, scope, validFrom: number, validTo: number, ttlMs: number,
}, ['embedding', 'text']);
const view = { filter: object, scope, asOf: number, includeExpired: { type: 'boolean' } };
const searchOptions = { topK: number, alpha: number, rank: string, minScore: number, timeoutMs: number, ...view };
const SCHEMAS = {
  // One memory, or { memories: [...], link? } for many.
  add: {
    if: { type: 'object', required: ['memories'] },
    then: strict({ memories: { type: 'array', items: memoryInput }, link: string, dedupe: strict({ threshold: number }, ['threshold']) }, ['memories']),
    else: memoryInput,
  },
  patch: strict({ weight: number, metadata: object, validFrom: number, validTo: number }),
  supersede: memoryInput,
  forget: strict({ scope, ids: { type: 'array', items: number }, keys: { type: 'array', items: string }, filter: object }),
  link: strict({ from: number, to: number, relevance: number, type: string }, ['from', 'to', 'relevance']),
  search: strict({ vector, ...searchOptions }, ['vector']),
  searchBatch: strict({ vectors: { type: 'array', items: vector }, ...searchOptions }, ['vectors']),
  context: strict({
    vector, maxTokens: number, minSimilarity: number, budget: strict({ total: number, used: number }, ['total', 'used']),
    maxHops: number, seeds: number, timeoutMs: number, ...view,
  }, ['vector']),
};

// ---- the library's parameter names → the body's fields, per route --------------------------------

const RENAMES = {
  add: [[/^input\./, ''], [/^input$/, 'body'], [/^inputs(?=\[)/, 'memories']],
  patch: [[/^patch\./, ''], [/^patch$/, 'body']],
  query: [[/^query$/, 'vector']],
  batch: [[/^queries(?=\[|$)/, 'vectors']],
  forget: [[/^selector\./, ''], [/^selector$/, 'body']],
} satisfies Record<string, FieldRename[]>;

type AddBody = MemoryInput | { memories: MemoryInput[]; link?: 'focus' | 'none'; dedupe?: { threshold: number } };
type SearchBody = Omit<SearchOptions, 'signal' | 'now'> & { vector: number[] };
type SearchBatchBody = Omit<SearchOptions, 'signal' | 'now'> & { vectors: number[][] };
type ContextBody = Omit<ContextOptions, 'signal' | 'now' | 'tokenizer'> & { vector: number[] };
type IdParams = { Params: { id: string } };
type ScopeQuery = { Querystring: Scope };

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request's token may reach (the whole store without tokens). */
    grant: Grant;
  }
}

/** Starts the service on a durable store; resolves once it is listening. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const limits = resolveServeOptions(options);
  const token = options.token;
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) throw expected('token', 'a non-empty string', token);
  const tokens = options.tokens ?? (token === undefined ? undefined : [{ token }]);
  if (tokens !== undefined && (!Array.isArray(tokens) || tokens.length === 0 || tokens.some((t) => typeof t?.token !== 'string' || t.token.length === 0))) {
    throw expected('tokens', 'a non-empty array of { token, scope? }', tokens);
  }
  if (tokens === undefined && !isLoopback(limits.host)) {
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
    app = buildApp({ memory, limits, tokens, log, Fastify, secureJson });
    url = await app.listen({ port: limits.port, host: limits.host });
  } catch (error) {
    await memory.close();
    throw error;
  }
  log.info('listening', { url, dir: options.dir, dim: memory.dim, memories: memory.size, auth: tokens !== undefined, scopedTokens: tokens?.filter((t) => t.scope).length ?? 0 });

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
  tokens: TokenGrant[] | undefined;
  log: ReturnType<typeof createLogger>;
  Fastify: typeof import('fastify').default;
  secureJson: typeof import('secure-json-parse');
}

/** The fastify app: parsers, error handling, auth and the routes over `memory`. */
function buildApp({ memory, limits, tokens, log, Fastify, secureJson }: AppParts): FastifyInstance {

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

  app.decorateRequest('grant', null as unknown as Grant);
  const authenticate = tokens && authenticator(tokens);
  app.addHook('onRequest', async (request, reply) => {
    request.grant = { scope: undefined };
    if (!authenticate || request.routeOptions.url === HEALTH_ROUTE) return;
    const presented = /^Bearer +(.*)$/i.exec(request.headers.authorization ?? '')?.[1] ?? '';
    const grant = authenticate(presented);
    if (!grant) return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('UNAUTHORIZED', 'missing or wrong bearer token'));
    request.grant = grant;
  });
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

  // A memory of another scope is answered as one that does not exist.
  const reachable = (grant: Grant, id: number) => {
    const record = memory.get(id);
    if (!record || !reaches(grant, record.scope)) throw noMemory(id);
    return record;
  };
  const scoped = (grant: Grant, input: MemoryInput, field = 'scope') => ({ ...input, scope: narrow(grant, input.scope, field) as Scope });

  app.post<{ Body: AddBody }>('/memories', { schema: { body: SCHEMAS.add }, config: { renames: RENAMES.add } }, async (request) => {
    const { body, grant } = request;
    if (!('memories' in body)) return { ids: [memory.add(scoped(grant, body))] };
    const inputs = body.memories.map((m, i) => scoped(grant, m, `memories[${i}].scope`));
    if (!body.dedupe) return { ids: memory.addMany(inputs, { link: body.link }) };
    const results = await memory.ingest(inputs, { link: body.link, dedupe: body.dedupe });
    return { ids: results.map((r) => r.id), deduplicated: results.map((r) => r.deduplicated) };
  });
  app.get<ScopeQuery>('/memories', async (request) => ({ ids: [...memory.ids({ scope: narrow(request.grant, scopeQuery(request.query as Record<string, unknown>)) as Scope })] }));
  app.get<IdParams>('/memories/:id', async (request) => reachable(request.grant, memoryId(request.params.id)));
  app.patch<IdParams & { Body: { weight?: number; metadata?: Record<string, unknown>; validFrom?: number; validTo?: number } }>(
    '/memories/:id', { schema: { body: SCHEMAS.patch }, config: { renames: RENAMES.patch } }, async (request) => {
      const id = reachable(request.grant, memoryId(request.params.id)).id;
      memory.update(id, request.body);
      return memory.get(id);
    },
  );
  app.delete<IdParams>('/memories/:id', async (request, reply) => {
    const id = reachable(request.grant, memoryId(request.params.id)).id;
    memory.remove(id);
    return reply.code(204).send();
  });
  app.post<IdParams & { Body: MemoryInput }>(
    '/memories/:id/supersede', { schema: { body: SCHEMAS.supersede }, config: { renames: RENAMES.add } }, async (request) => {
      const old = reachable(request.grant, memoryId(request.params.id));
      return { id: memory.supersede(old.id, request.body.scope === undefined ? request.body : scoped(request.grant, request.body)) };
    },
  );
  app.post<{ Body: ForgetSelector }>('/forget', { schema: { body: SCHEMAS.forget }, config: { renames: RENAMES.forget } }, async (request) => {
    const selector = request.grant.scope ? { ...request.body, scope: narrow(request.grant, request.body.scope, 'scope') as Scope } : request.body;
    return { forgotten: await memory.forget(selector) };
  });
  app.get('/scopes', async (request) => ({ scopes: memory.scopes().filter((s) => reaches(request.grant, s.scope)) }));
  app.post<{ Body: { from: number; to: number; relevance: number; type?: string } }>('/links', { schema: { body: SCHEMAS.link } }, async (request) => {
    const { from, to, relevance, type } = request.body;
    reachable(request.grant, from);
    reachable(request.grant, to);
    return { linked: memory.link(from, to, relevance, type) };
  });
  app.post<{ Body: SearchBody }>('/search', { schema: { body: SCHEMAS.search }, config: { renames: RENAMES.query } }, async (request, reply) => {
    const { vector: query, ...rest } = request.body;
    const hits = await memory.search(query, { ...rest, scope: narrow(request.grant, rest.scope) as Scope, signal: disconnectSignal(reply) });
    checkAnswerBytes([hits], limits.maxAnswerMB * 2 ** 20);
    return { hits };
  });
  app.post<{ Body: SearchBatchBody }>('/search/batch', { schema: { body: SCHEMAS.searchBatch }, config: { renames: RENAMES.batch } }, async (request, reply) => {
    const { vectors, ...rest } = request.body;
    checkBatchHits(vectors.length, rest.topK, limits.maxBatchHits);
    const options = { ...rest, scope: narrow(request.grant, rest.scope) as Scope, signal: disconnectSignal(reply) };
    return { results: await boundedSearchMany(memory, vectors, options, limits.maxAnswerMB * 2 ** 20) };
  });
  app.post<{ Body: ContextBody }>('/context', { schema: { body: SCHEMAS.context }, config: { renames: RENAMES.query } }, async (request, reply) => {
    const { vector: query, ...rest } = request.body;
    return memory.context(query, { ...rest, scope: narrow(request.grant, rest.scope) as Scope, signal: disconnectSignal(reply) });
  });
  // Metrics count every scope's memories: only a token of the whole store reads them.
  app.get('/metrics', async (request, reply) => {
    requireWholeStore(request.grant, '/metrics');
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

/** `?user=…&agent=…&session=…` as a scope; undefined when none is given. */
function scopeQuery(query: Record<string, unknown>): Scope | undefined {
  const extra = Object.keys(query).filter((k) => !['user', 'agent', 'session'].includes(k));
  if (extra.length > 0) throw expected(extra[0]!, 'absent: the query string takes only user, agent and session', query[extra[0]!]);
  return Object.keys(query).length === 0 ? undefined : (query as Scope);
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

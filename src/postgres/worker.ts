// The shared store's database worker: it holds the connections (pg) and answers the host thread's
// synchronous requests (sync-call.ts), one at a time, while the host waits; a second connection
// LISTENs for commits and wakes the host. A dropped connection is reconnected in the background
// with a growing pause; while there is none, requests that need the database are answered at once
// with UNAVAILABLE, so the host never waits on a database that is gone.
import { randomUUID } from 'node:crypto';
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import pg from 'pg';
import { decodeEffects } from '../persistence/effects.js';
import { ErrorCode, InternalError, InvalidDataError, MemoryCorruptionError, OVMemoryError, serializeError, UnavailableError } from '../resilience/errors.js';
import { materialise } from './materialise.js';
import type { EdgeRow, MemoryRow, Reply, Request, StoreHead, WorkerEvent, WorkerSettings } from './protocol.js';
import { channelOf, migrations, SCHEMA_VERSION } from './schema.js';

interface Data { settings: WorkerSettings; replies: MessagePort; signal: Int32Array }
const { settings, replies, signal } = workerData as Data;
const s = `"${settings.schema}"`;
const RECONNECT_MS = { first: 50, max: 2_000 };

const tell = (event: WorkerEvent) => parentPort!.postMessage(event);

function newClient(role: string): pg.Client {
  return new pg.Client({
    connectionString: settings.connectionString, application_name: `${settings.applicationName} ${role}`,
    connectionTimeoutMillis: settings.connectTimeoutMs, query_timeout: settings.queryTimeoutMs, keepAlive: true,
  });
}

/** One connection kept open: reconnected after it drops, with `onConnect` run on each new one. */
class Connection {
  client: pg.Client | undefined;
  #connecting: Promise<pg.Client> | undefined;
  #pause = RECONNECT_MS.first;
  #closed = false;
  lastError = '';

  constructor(private readonly role: string, private readonly onConnect: (client: pg.Client) => Promise<void>, private readonly onLost: (message: string) => void) {}

  /** The open connection, or one attempt to make it; throws UNAVAILABLE when the database cannot be reached. */
  async get(): Promise<pg.Client> {
    if (this.client) return this.client;
    this.#connecting ??= this.#connect().finally(() => { this.#connecting = undefined; });
    return this.#connecting;
  }

  async #connect(): Promise<pg.Client> {
    const client = newClient(this.role);
    client.on('error', (error) => this.#lost(client, error));
    client.on('end', () => this.#lost(client, new Error('the connection ended')));
    try {
      await client.connect();
      await this.onConnect(client);
    } catch (error) {
      client.removeAllListeners('end');
      void client.end().catch(() => {});
      this.lastError = describe(error);
      this.#retryLater();
      throw unavailable(error);
    }
    this.client = client;
    this.#pause = RECONNECT_MS.first;
    return client;
  }

  #lost(client: pg.Client, error: unknown): void {
    if (this.client !== client) return;
    this.client = undefined;
    this.lastError = describe(error);
    this.onLost(this.lastError);
    this.#retryLater();
  }

  #retryLater(): void {
    if (this.#closed) return;
    const pause = this.#pause;
    this.#pause = Math.min(RECONNECT_MS.max, pause * 2);
    setTimeout(() => { if (!this.#closed && !this.client) this.get().catch(() => {}); }, pause).unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

function describe(error: unknown): string {
  const e = error as { message?: string; code?: string };
  return e?.code ? `${e.message} (${e.code})` : String(e?.message ?? error);
}

/** A failure of the connection itself (refused, dropped, timed out, the server shutting down). */
function isConnectionError(error: unknown): boolean {
  const code = (error as { code?: string })?.code ?? '';
  const message = String((error as Error)?.message ?? '');
  return /^(08|57P)/.test(code) || /^E[A-Z]+$/.test(code) || /Connection terminated|timeout|not queryable|Client was closed/i.test(message);
}

function unavailable(error: unknown): UnavailableError {
  if (error instanceof UnavailableError) return error;
  return new UnavailableError(`the database cannot be reached: ${describe(error)}`, { cause: error });
}

let loading: pg.Client | undefined;
let loadingDim = 0;
const writer = new Connection('writer', async () => {}, (message) => tell({ event: 'disconnected', message, at: Date.now() }));
// The listener wakes the host on every commit, and once on every (re)connection: a notification
// missed while it was away costs nothing, since the host catches up by sequence.
const listener = new Connection('listener', async (client) => {
  client.on('notification', (n) => tell({ event: 'wake', seq: n.payload ? Number(n.payload) : undefined }));
  await client.query(`LISTEN "${channelOf(settings.schema)}"`);
  tell({ event: 'connected' });
}, () => {});

async function readHead(client: pg.Client): Promise<StoreHead> {
  const meta = (await client.query(`SELECT store_id, dim, options FROM ${s}.meta`)).rows[0];
  const head = (await client.query(`SELECT seq, next_id, trimmed_through FROM ${s}.head`)).rows[0];
  const focuses = (await client.query(`SELECT scope, id FROM ${s}.focus ORDER BY scope`)).rows.map((r): [string, number] => [r.scope, Number(r.id)]);
  return {
    storeId: String(meta.store_id), dim: Number(meta.dim), options: meta.options as Record<string, unknown>,
    seq: Number(head.seq), nextId: Number(head.next_id), focuses, trimmedThrough: Number(head.trimmed_through),
  };
}

async function open(client: pg.Client, request: Extract<Request, { op: 'open' }>): Promise<Reply> {
  await client.query('BEGIN');
  try {
    // One opener at a time creates or migrates the schema.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ov-memory:${settings.schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
    const exists = (await client.query('SELECT to_regclass($1) AS t', [`${s}.meta`])).rows[0].t !== null;
    const version = exists ? Number((await client.query(`SELECT version FROM ${s}.meta`)).rows[0]?.version ?? 0) : 0;
    if (version > SCHEMA_VERSION) {
      throw new OVMemoryError(ErrorCode.UNSUPPORTED, `schema ${settings.schema} holds a store of version ${version}; this version of ov-memory reads up to ${SCHEMA_VERSION}`);
    }
    const created = version === 0;
    if (created && request.dim === undefined) {
      throw new InvalidDataError(`schema ${settings.schema} holds no store yet: Expected \`dim\` to create one, got undefined`);
    }
    for (const step of migrations(settings.schema).slice(version)) for (const statement of step) await client.query(statement);
    if (created) {
      await client.query(`INSERT INTO ${s}.meta (version, store_id, dim, options) VALUES ($1, $2, $3, $4)`, [SCHEMA_VERSION, randomUUID().replaceAll('-', ''), request.dim, JSON.stringify(request.options)]);
      await client.query(`INSERT INTO ${s}.head DEFAULT VALUES`);
    } else {
      await client.query(`UPDATE ${s}.meta SET version = $1`, [SCHEMA_VERSION]);
    }
    const head = await readHead(client);
    await client.query('COMMIT');
    return { ok: true, op: 'open', head, created };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

async function loadStart(client: pg.Client, since: number | undefined): Promise<Reply> {
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    loading = client;
    return await openCursors(client, since);
  } catch (error) {
    loading = undefined;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

async function openCursors(client: pg.Client, since: number | undefined): Promise<Reply> {
  const head = await readHead(client);
  loadingDim = head.dim;
  const changed = since === undefined ? '' : `WHERE changed_seq > ${Number(since)}`;
  await client.query(`DECLARE memories NO SCROLL CURSOR FOR SELECT id, record, vector FROM ${s}.memories ${changed} ORDER BY id`);
  await client.query(`DECLARE edges NO SCROLL CURSOR FOR SELECT e.source, e.target, e.relevance, e.type, e.created_at FROM ${s}.edges e
    ${since === undefined ? '' : `JOIN ${s}.memories m ON m.id = e.source AND m.changed_seq > ${Number(since)}`} ORDER BY e.source, e.position`);
  // Every live id, only when catching up from the tables: the ones missing were removed.
  const ids = since === undefined ? new Float64Array(0) : Float64Array.from((await client.query(`SELECT id FROM ${s}.memories ORDER BY id`)).rows, (r) => Number(r.id));
  return { ok: true, op: 'loadStart', head, ids };
}

async function loadNext(client: pg.Client, cursor: 'memories' | 'edges', rows: number): Promise<Reply> {
  if (loading !== client) throw new UnavailableError('the connection was lost while the store was being read');
  const result = await client.query(`FETCH ${Math.max(1, Math.floor(rows))} FROM ${cursor}`);
  if (cursor === 'memories') {
    // One array for the batch's vectors, so the answer copies each vector once and nothing else of pg's buffers.
    const dim = loadingDim;
    const vectors = new Float32Array(result.rows.length * dim);
    const bytes = new Uint8Array(vectors.buffer);
    const memories: MemoryRow[] = result.rows.map((r, i) => {
      const vector = r.vector as Buffer;
      if (vector.byteLength !== dim * 4) throw new MemoryCorruptionError(`${s}.memories: memory ${r.id} holds a vector of ${vector.byteLength} bytes, the store's dimension ${dim} needs ${dim * 4}`);
      bytes.set(vector, i * dim * 4);
      return { id: Number(r.id), record: r.record };
    });
    return { ok: true, op: 'loadNext', memories, vectors };
  }
  const edges: EdgeRow[] = result.rows.map((r) => ({ source: Number(r.source), target: Number(r.target), relevance: r.relevance, type: r.type, createdAt: r.created_at }));
  return { ok: true, op: 'loadNext', edges };
}

async function pull(client: pg.Client, after: number, rows: number): Promise<Reply> {
  const head = (await client.query(`SELECT seq, trimmed_through FROM ${s}.head`)).rows[0];
  const result = await client.query(
    `SELECT seq, effects, extract(epoch FROM committed_at) * 1000 AS at FROM ${s}.changes WHERE seq > $1 ORDER BY seq LIMIT $2`, [after, rows],
  );
  return {
    ok: true, op: 'pull', trimmedThrough: Number(head.trimmed_through), headSeq: Number(head.seq),
    // A copy of each: a view would clone the whole of pg's buffer behind it.
    changes: result.rows.map((r) => ({ seq: Number(r.seq), effects: new Uint8Array(r.effects as Buffer), committedAt: Number(r.at) })),
  };
}

async function commit(client: pg.Client, request: Extract<Request, { op: 'commit' }>): Promise<Reply> {
  const effects = decodeEffects(request.record, 'a write');
  await client.query('BEGIN');
  let committing = false;
  try {
    // The head row is the store's one lock: writers append one after another, each from the head it saw.
    const seq = Number((await client.query(`SELECT seq FROM ${s}.head FOR UPDATE`)).rows[0].seq);
    if (seq !== request.expected) {
      await client.query('ROLLBACK');
      return { ok: true, op: 'behind', headSeq: seq };
    }
    const next = seq + 1;
    const inserted = await client.query(
      `INSERT INTO ${s}.changes (seq, token, effects) VALUES ($1, $2, $3) RETURNING extract(epoch FROM committed_at) * 1000 AS at`,
      [next, request.token, Buffer.from(JSON.stringify(request.record))],
    );
    await materialise((text, values) => client.query(text, values), settings.schema, effects, next);
    await client.query(`UPDATE ${s}.head SET seq = $1`, [next]);
    await client.query('SELECT pg_notify($1, $2)', [channelOf(settings.schema), String(next)]);
    committing = true;
    await client.query('COMMIT');
    return { ok: true, op: 'commit', seq: next, committedAt: Number(inserted.rows[0].at) };
  } catch (error) {
    if (!committing) await client.query('ROLLBACK').catch(() => {});
    if (committing && isConnectionError(error)) return resolveCommit(request.token, error);
    throw error;
  }
}

/**
 * The connection dropped while COMMIT was under way: the change may or may not be in. A new
 * connection looks for its token; when none can be made, the write is reported UNAVAILABLE with
 * its outcome unknown (the change then reaches this replica as any other when it was committed).
 */
async function resolveCommit(token: string, error: unknown): Promise<Reply> {
  try {
    const client = await writer.get();
    const found = await client.query(`SELECT seq, extract(epoch FROM committed_at) * 1000 AS at FROM ${s}.changes WHERE token = $1`, [token]);
    if (found.rows.length > 0) return { ok: true, op: 'commit', seq: Number(found.rows[0].seq), committedAt: Number(found.rows[0].at) };
    throw unavailable(error);
  } catch (lookup) {
    if (lookup instanceof UnavailableError && lookup.cause === error) throw lookup;
    throw new UnavailableError(`the connection was lost during COMMIT and the outcome could not be checked: the write may appear once the database is back (${describe(error)})`, { cause: error, details: { outcome: 'unknown', token } });
  }
}

async function handle(request: Request): Promise<Reply> {
  if (request.op === 'close') {
    await Promise.all([writer.close(), listener.close()]);
    return { ok: true, op: 'close' };
  }
  const client = await writer.get();
  try {
    switch (request.op) {
      case 'open': {
        const reply = await open(client, request);
        listener.get().catch(() => {});
        return reply;
      }
      case 'loadStart': return await loadStart(client, request.since);
      case 'loadNext': return await loadNext(client, request.cursor, request.rows);
      case 'loadEnd':
        loading = undefined;
        await client.query('COMMIT');
        return { ok: true, op: 'loadEnd' };
      case 'pull': return await pull(client, request.after, request.rows);
      case 'commit': return await commit(client, request);
      case 'trim': {
        const result = await client.query(`SELECT ${s}.trim_changes($1) AS through`, [request.keep]);
        return { ok: true, op: 'trim', trimmedThrough: Number(result.rows[0].through) };
      }
    }
  } catch (error) {
    if (error instanceof OVMemoryError) throw error;
    if (isConnectionError(error)) throw unavailable(error);
    throw new InternalError(`the database refused a request of the shared store (${request.op}): ${describe(error)}`, { cause: error });
  }
}

function answer(id: number, reply: Reply): void {
  replies.postMessage({ id, reply });
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}

parentPort!.on('message', ({ id, request }: { id: number; request: Request }) => {
  handle(request).then(
    (reply) => answer(id, reply),
    (error) => answer(id, { ok: false, error: serializeError(error), details: (error as OVMemoryError).details }),
  );
});

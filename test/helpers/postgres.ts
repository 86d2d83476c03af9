// A throwaway PostgreSQL for a test file (scripts/start-postgres.mjs: initdb and pg_ctl in a
// temporary directory, a Unix socket only), a database per test, and the two views the tests compare:
// a replica as the public API shows it, and the database's own tables read with pg.
import { afterAll, beforeAll } from 'vitest';
import pg from 'pg';
import type { OVMemory } from '../../dist/index.js';
// @ts-expect-error: a plain script without declarations
import { startPostgres } from '../../scripts/start-postgres.mjs';

export interface Cluster {
  url: string;
  database(name: string): string;
  sql(statement: string, database?: string): string;
  restart(): void;
  stopServer(): void;
  start(): void;
  stop(): void;
}

/** Starts a cluster before the file's tests and stops it (deleting its directory) after them. */
export function postgresCluster(): { readonly cluster: Cluster; freshDatabase(): { url: string; name: string } } {
  let cluster: Cluster | undefined;
  let n = 0;
  beforeAll(async () => { cluster = await startPostgres(); }, 120_000);
  afterAll(() => cluster?.stop());
  return {
    get cluster() { return cluster!; },
    freshDatabase() {
      const name = `t${process.pid}_${n++}`;
      return { url: cluster!.database(name), name };
    },
  };
}

/** One memory as both views give it, comparable with toEqual. */
export interface MemoryView {
  id: number;
  text: string;
  weight: number;
  metadata: Record<string, unknown>;
  key: string | undefined;
  createdAt: number;
  accessCount: number;
  edges: { to: number; relevance: number; type: string }[];
  scope: Record<string, string> | undefined;
  validFrom: number | undefined;
  validTo: number | undefined;
  /** The stored unit vector's float32 bytes, as hex. */
  vector: string;
}

const hex = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');

export function replicaView(memory: OVMemory): MemoryView[] {
  return [...memory.ids()].map((id) => {
    const r = memory.get(id, { embedding: true })!;
    return {
      id, text: r.text, weight: r.weight, metadata: r.metadata, key: r.key, createdAt: r.createdAt, accessCount: r.accessCount,
      edges: r.edges.map(({ to, relevance, type }) => ({ to, relevance, type })),
      scope: r.scope as Record<string, string> | undefined, validFrom: r.validFrom, validTo: r.validTo, vector: hex(r.embedding!),
    };
  });
}

/** The tables of the store's schema, read directly. */
export async function databaseView(url: string, schema = 'ov_memory'): Promise<{ memories: MemoryView[]; seq: number; nextId: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const memories = (await client.query(`SELECT id, record, vector FROM "${schema}".memories ORDER BY id`)).rows;
    const edges = (await client.query(`SELECT source, target, relevance, type FROM "${schema}".edges ORDER BY source, position`)).rows;
    const head = (await client.query(`SELECT seq, next_id FROM "${schema}".head`)).rows[0];
    return {
      seq: Number(head.seq),
      nextId: Number(head.next_id),
      memories: memories.map((m) => ({
        id: Number(m.id), text: m.record.text, weight: m.record.weight, metadata: m.record.metadata, key: m.record.key ?? undefined,
        createdAt: m.record.createdAt, accessCount: m.record.accessCount ?? 0,
        edges: edges.filter((e) => Number(e.source) === Number(m.id)).map((e) => ({ to: Number(e.target), relevance: e.relevance, type: e.type })),
        scope: m.record.scope ?? undefined, validFrom: m.record.validFrom ?? undefined, validTo: m.record.validTo ?? undefined,
        vector: (m.vector as Buffer).toString('hex'),
      })),
    };
  } finally {
    await client.end();
  }
}

/** Waits (a bounded time, checking every 20 ms) until `done` holds; the assertion after it says what did not. */
export async function eventually(done: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await done()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return done();
}

/** Waits until the replica has applied everything the database holds. */
export async function caughtUp(memory: OVMemory, url: string): Promise<boolean> {
  const { seq } = await databaseView(url);
  return eventually(() => memory.metrics().replication!.lastSequence >= seq);
}

// A shared store's faults, each scripted against the real server: the database stopped and
// restarted (`pg_ctl`), its connections cut (`pg_terminate_backend`), a writer killed (-9) in the
// middle of its transaction, and a replica away while others wrote (and trimmed the change table).
// Each recovers by itself with nothing lost or applied twice; while the database is away, writes
// are refused with UNAVAILABLE, reads go on from the replica, and health and metrics say so.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { OVMemory } from '../dist/index.js';
import { childTracker } from './helpers/children.js';
import { caughtUp, databaseView, eventually, postgresCluster, replicaView } from './helpers/postgres.js';
import { storeTracker } from './helpers/stores.js';

const pgc = postgresCluster();
const { track } = storeTracker();
const startChild = childTracker();
const open = (url: string, options: Record<string, unknown> = {}) => track(OVMemory.open(url, { threads: 0, logLevel: 'silent', ...options }));
const v = (i: number) => Array.from({ length: 8 }, (_, j) => Math.cos(i * 0.9 + j) + (j === i % 8 ? 2 : 0));

/** Tries the write until the database takes it; every failure on the way must be UNAVAILABLE. */
async function writeWhenBack<T>(write: () => T): Promise<T> {
  let result: T | undefined;
  const ok = await eventually(() => {
    try {
      result = write();
      return true;
    } catch (error) {
      expect(error).toMatchObject({ code: 'UNAVAILABLE' });
      return false;
    }
  }, 30_000);
  expect(ok).toBe(true);
  return result!;
}

describe('a shared store when things go wrong', () => {
  it('the database stopped: writes refused with UNAVAILABLE, reads served and flagged stale; restarted: it all comes back', async () => {
    const { url } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    a.addMany(Array.from({ length: 20 }, (_, i) => ({ embedding: v(i), text: `m${i}` })));
    await caughtUp(b, url);

    pgc.cluster.stopServer();
    expect(() => a.add({ embedding: v(100), text: 'refused' })).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
    expect(() => b.update(3, { weight: 9 })).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
    expect((await a.search(v(4), { topK: 3, rank: 'similarity' }))[0]!.id).toBe(4);
    expect(b.get(3)?.weight).toBe(1);
    expect(a.metrics().replication).toMatchObject({ connected: false, stale: true, lastSequence: 1 });
    expect(a.health()).toMatchObject({ status: 'WARNING', reasons: expect.arrayContaining([expect.stringMatching(/stale.*cannot be reached/)]) });
    // A context still answers; its accesses are not written while the database is away.
    expect((await a.context(v(5), { maxTokens: 20 })).ids.length).toBeGreaterThan(0);

    pgc.cluster.start();
    // The refused add used no id.
    expect(await writeWhenBack(() => a.add({ embedding: v(101), text: 'after' }))).toBe(20);
    expect(await eventually(() => b.has(20))).toBe(true);
    expect(a.metrics().replication).toMatchObject({ connected: true, stale: false });
    expect(await eventually(() => a.health().status !== 'WARNING')).toBe(true);

    pgc.cluster.restart();
    const id = await writeWhenBack(() => b.add({ embedding: v(102), text: 'after the restart' }));
    expect(id).toBe(21);
    expect(await caughtUp(a, url)).toBe(true);
    const db = await databaseView(url);
    expect(db.seq).toBe(3);
    expect(replicaView(a)).toEqual(db.memories);
    expect(replicaView(b)).toEqual(db.memories);
  });

  it('connections cut with pg_terminate_backend: the writer and the listener reconnect and catch up', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    a.add({ embedding: v(0), text: 'zero' });
    await caughtUp(b, url);
    const cut = pgc.cluster.sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'ov-memory %'", name);
    expect(Number(cut)).toBe(4);
    await writeWhenBack(() => b.add({ embedding: v(1), text: 'one' }));
    expect(await eventually(() => a.has(1))).toBe(true);
    await writeWhenBack(() => a.link(0, 1, 0.8, 'after'));
    expect(await caughtUp(b, url)).toBe(true);
    const db = await databaseView(url);
    expect(db.seq).toBe(3);
    expect(replicaView(a)).toEqual(db.memories);
    expect(replicaView(b)).toEqual(db.memories);
  });

  it('a writer killed (-9) in the middle of its transaction: it is rolled back, the head is free, nothing of it remains', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    a.add({ embedding: v(0), text: 'updated by the child' });
    const child = spawn(process.execPath, [path.resolve(import.meta.dirname, 'fixtures/pg-updater.mjs'), url], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: number[] = [];
    createInterface({ input: child.stdout }).on('line', (line) => acked.push(JSON.parse(line).weight));
    const blocker = new pg.Client({ connectionString: url });
    blocker.on('error', () => {});
    try {
      expect(await eventually(() => acked.length >= 3)).toBe(true);
      // Holding memory 0's row stops the child's next transaction half way: after it locked the
      // head and appended its change, before it could update the row.
      await blocker.connect();
      await blocker.query('BEGIN');
      await blocker.query('SELECT * FROM ov_memory.memories WHERE id = 0 FOR UPDATE');
      const waiting = () => pgc.cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ov-memory writer' AND wait_event_type = 'Lock'", name) === '1';
      expect(await eventually(waiting)).toBe(true);
      child.kill('SIGKILL');
      // 'close' comes after its output is read to the end: every acknowledged weight is in.
      await new Promise((r) => child.once('close', r));
      // A backend waiting for a lock notices its client is gone only when it next talks to it:
      // once the row is free, it finds no COMMIT coming and rolls back.
      await blocker.query('ROLLBACK');
      const gone = () => pgc.cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'ov-memory writer'", name) === '1';
      expect(await eventually(gone)).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await blocker.end().catch(() => {});
    }
    const before = await databaseView(url);
    // One change per acknowledged update, plus the add; the killed one left nothing.
    expect(before.seq).toBe(1 + acked.length);
    expect(Number(pgc.cluster.sql('SELECT count(*) FROM ov_memory.changes', name))).toBe(before.seq);
    expect(before.memories[0]!.weight).toBe(acked.at(-1));
    expect(await caughtUp(a, url)).toBe(true);
    a.update(0, { text: 'the head is free' });
    const after = await databaseView(url);
    expect(after.seq).toBe(before.seq + 1);
    expect(replicaView(a)).toEqual(after.memories);
  });

  it('a replica away (SIGSTOP) while others wrote catches up by sequence, or reloads when the change table was trimmed', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    a.addMany(Array.from({ length: 10 }, (_, i) => ({ embedding: v(i), text: `m${i}` })));
    const away = startChild([url, '9', '0', '1']);
    await away.line((l) => l.done === true);

    away.process.kill('SIGSTOP');
    for (let i = 0; i < 30; i++) a.add({ embedding: v(100 + i), text: `while away ${i}` });
    a.remove(3);
    away.process.kill('SIGCONT');
    let db = await databaseView(url);
    let dump = await away.dump(db.seq);
    expect(dump.view).toEqual(db.memories);
    expect(dump.replication).toMatchObject({ lastSequence: db.seq, reloads: 0 });

    away.process.kill('SIGSTOP');
    a.update(4, { text: 'rewritten while away', weight: 2 });
    a.remove(5);
    a.link(6, 7, 0.9, 'while away');
    for (let i = 0; i < 20; i++) a.add({ embedding: v(200 + i), text: `trimmed ${i}` });
    expect(Number(pgc.cluster.sql('SELECT ov_memory.trim_changes(5)', name))).toBe(db.seq + 23 - 5);
    away.process.kill('SIGCONT');
    db = await databaseView(url);
    dump = await away.dump(db.seq);
    expect(dump.view).toEqual(db.memories);
    expect(dump.replication).toMatchObject({ lastSequence: db.seq, reloads: 1, connected: true });
    await away.close();
  });
});

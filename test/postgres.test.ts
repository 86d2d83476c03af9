// OVMemory.open('postgres://…'): several replicas of one store in this process, each with its own
// database worker, against a real PostgreSQL this file starts. Each replica is compared with the
// database's tables read directly.
import { describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { caughtUp, databaseView, eventually, postgresCluster, replicaView } from './helpers/postgres.js';
import { storeTracker } from './helpers/stores.js';

const pgc = postgresCluster();
const { track } = storeTracker();
const open = (url: string, options: Record<string, unknown> = {}) => track(OVMemory.open(url, { threads: 0, logLevel: 'silent', ...options }));
const v = (i: number) => Array.from({ length: 8 }, (_, j) => Math.sin(i * 1.3 + j) + (j === i % 8 ? 2 : 0));

describe("OVMemory.open('postgres://…')", () => {
  it('creates the schema (version 1) and keeps the tables equal to the replica', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    expect(pgc.cluster.sql('SELECT version, dim FROM ov_memory.meta', name)).toBe('1|8');
    const first = a.add({ embedding: v(0), text: 'zero', key: 'z', metadata: { kind: 'fact' } });
    const [second, third] = a.addMany([{ embedding: v(1), text: 'one' }, { embedding: v(2), text: 'two', weight: 3 }]);
    a.update(first, { metadata: { kind: 'event' }, weight: 2 });
    a.link(second!, first, 0.4, 'cites');
    expect(a.remove(third!)).toBe(true);
    await a.context(v(0), { maxTokens: 50 });
    const db = await databaseView(url);
    expect(db.memories).toEqual(replicaView(a));
    expect(db.nextId).toBe(3);
    expect(db.memories.find((m) => m.id === first)?.accessCount).toBeGreaterThan(0);
  });

  it('a second replica loads the store on open and then follows the other writer', async () => {
    const { url } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    a.addMany(Array.from({ length: 2_500 }, (_, i) => ({ embedding: v(i), text: `m${i}`, metadata: { i } })));
    a.link(7, 3, 0.9);
    const b = await open(url);
    expect(b.dim).toBe(8);
    expect(replicaView(b)).toEqual(replicaView(a));
    const id = a.add({ embedding: v(9_000), text: 'late' });
    a.remove(5);
    expect(await eventually(() => b.has(id) && !b.has(5))).toBe(true);
    expect((await b.search(v(5), { topK: 10, rank: 'similarity' })).map((h) => h.id)).not.toContain(5);
    expect(replicaView(b)).toEqual(replicaView(a));
    expect(b.metrics().replication).toMatchObject({ connected: true, stale: false, lastSequence: a.metrics().replication!.lastSequence });
    const text = await b.prometheus();
    expect(text).toMatch(new RegExp(`ov_memory_replication_sequence\\{store="[^"]*"\\} ${a.metrics().replication!.lastSequence}\\b`));
    expect(text).toMatch(/ov_memory_replication_connected\{store="[^"]*"\} 1\b/);
    expect(text).toMatch(/ov_memory_replication_lag_seconds\{store="[^"]*"\} \d/);
  });

  it('ids stay unique and increasing across writers: a writer that is behind catches up and plans again', async () => {
    const { url } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    // No turn of the event loop between them: b has not seen a's writes when it writes.
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) ids.push((i % 2 === 0 ? a : b).add({ embedding: v(i), text: `w${i}` }));
    expect(ids).toEqual(Array.from({ length: 20 }, (_, i) => i));
    // a has not seen b's last write until it follows.
    expect(await caughtUp(a, url)).toBe(true);
    expect(replicaView(b)).toEqual(replicaView(a));
    expect((await databaseView(url)).memories).toEqual(replicaView(a));
  });

  it("a call rejected after catching up uses no id: another writer's key, another writer's removal", async () => {
    const { url } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    a.add({ embedding: v(0), text: 'keyed', key: 'k' });
    expect(() => b.add({ embedding: v(1), text: 'same key', key: 'k' })).toThrow(expect.objectContaining({ code: 'DUPLICATE_KEY' }));
    a.remove(0);
    expect(() => b.update(0, { weight: 2 })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => b.update(7, { weight: 2 })).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(b.add({ embedding: v(2), text: 'next' })).toBe(1);
    expect((await databaseView(url)).nextId).toBe(2);
  });

  it("a call naming a memory this replica has not seen yet catches up first: another writer's add is found", async () => {
    const { url } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    const id = a.add({ embedding: v(0), text: 'just added' });
    // No turn of the event loop: b has not followed yet.
    b.update(id, { weight: 3 });
    expect(b.link(id, a.add({ embedding: v(1), text: 'also just added' }), 0.5)).toBe(true);
    expect(await caughtUp(a, url)).toBe(true);
    expect(a.get(id)?.weight).toBe(3);
    expect(replicaView(a)).toEqual((await databaseView(url)).memories);
  });

  it('a replica behind the trimmed part of the change table reloads what changed from the tables', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    a.addMany(Array.from({ length: 10 }, (_, i) => ({ embedding: v(i), text: `m${i}` })));
    const b = await open(url);
    await caughtUp(b, url);
    // All at once, with no turn of the event loop: b cannot follow until it writes itself.
    a.remove(2);
    a.update(3, { text: 'three, rewritten', embedding: v(33), weight: 4 });
    a.link(4, 6, 0.7, 'later');
    a.unlink(4, 6);
    a.link(5, 6, 0.6, 'kept');
    a.add({ embedding: v(10), text: 'new', key: 'n' });
    pgc.cluster.sql('SELECT ov_memory.trim_changes(0)', name);
    expect(b.add({ embedding: v(11), text: 'from b' })).toBe(11);
    expect(b.metrics().replication!.reloads).toBe(1);
    const { memories } = await databaseView(url);
    // Access counts are not carried by a reload of changed memories; nothing here was accessed.
    expect(replicaView(b)).toEqual(memories);
    expect(await caughtUp(a, url)).toBe(true);
    expect(replicaView(a)).toEqual(memories);
  });

  it('a missed notification loses nothing: the replica catches up by sequence', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    a.add({ embedding: v(0), text: 'zero' });
    expect(await eventually(() => b.has(0))).toBe(true);
    // The listeners are cut and the next commit is made before they can come back: its notification is lost.
    pgc.cluster.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ov-memory listener'", name);
    a.add({ embedding: v(1), text: 'one' });
    expect(await eventually(() => b.has(1))).toBe(true);
    expect(replicaView(b)).toEqual(replicaView(a));
  });

  it('scopes, validity, supersession and forgetting are shared: keys per scope, each scope its focus', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    const alice = { user: 'alice' }, bob = { user: 'bob' };
    const old = a.add({ embedding: v(0), text: 'alice lives in Paris', scope: alice, key: 'home', validFrom: 1_000 });
    a.add({ embedding: v(1), text: 'bob lives in Rome', scope: bob, key: 'home' });
    a.add({ embedding: v(2), text: 'unscoped' });
    const moved = b.supersede(old, { embedding: v(3), text: 'alice lives in Lyon', scope: alice, validFrom: 2_000 });
    expect(moved).toBe(3);
    expect(await eventually(() => a.has(moved))).toBe(true);
    expect(a.get(old)?.validTo).toBe(2_000);
    expect(a.getByKey('home', { scope: bob })?.text).toBe('bob lives in Rome');
    // Each scope links its new memories to its own focus.
    const next = a.add({ embedding: v(4), text: 'alice likes tea', scope: alice });
    expect(a.get(next)?.edges.map((e) => e.to)).toEqual([moved]);
    expect(pgc.cluster.sql('SELECT count(*) FROM ov_memory.focus', name)).toBe('3');
    expect(await b.forget({ scope: bob })).toBe(1);
    expect(await eventually(() => a.getByKey('home', { scope: bob }) === undefined)).toBe(true);
    const c = await open(url);
    const db = await databaseView(url);
    for (const m of [a, b, c]) {
      await caughtUp(m, url);
      expect(replicaView(m)).toEqual(db.memories);
    }
    expect(db.memories.find((m) => m.id === moved)).toMatchObject({ scope: alice, validFrom: 2_000 });
    expect(c.add({ embedding: v(5), text: 'alice again', scope: alice })).toBe(5);
    expect(c.get(5)?.edges.map((e) => e.to)).toEqual([next]);
  });

  it('checkpoint() after a forget empties the change table: nothing forgotten stays in the database; the others reload', async () => {
    const { url, name } = pgc.freshDatabase();
    const a = await open(url, { dim: 8 });
    const b = await open(url);
    a.add({ embedding: v(0), text: 'a secret of carol', scope: { user: 'carol' } });
    a.add({ embedding: v(1), text: 'public' });
    await caughtUp(b, url);
    const holding = () => pgc.cluster.sql("SELECT count(*) FROM ov_memory.changes WHERE position('secret' IN convert_from(effects, 'UTF8')) > 0", name);
    expect(holding()).toBe('1');
    // Both run at once (no turn of the event loop between them), so b cannot follow the forget.
    const forgotten = a.forget({ scope: { user: 'carol' } });
    const checkpointed = a.checkpoint();
    expect(await forgotten).toBe(1);
    await checkpointed;
    expect(holding()).toBe('0');
    expect(pgc.cluster.sql('SELECT count(*) FROM ov_memory.changes', name)).toBe('0');
    // b was one change behind the trim: it reloads what changed from the tables.
    b.add({ embedding: v(2), text: 'after' });
    expect(b.metrics().replication!.reloads).toBe(1);
    expect(replicaView(b)).toEqual((await databaseView(url)).memories);
  });

  it('refuses what cannot be a store with a typed error, changing nothing', async () => {
    const { url, name } = pgc.freshDatabase();
    await expect(OVMemory.open(url, { threads: 0 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/dim/) });
    await expect(OVMemory.open(`${url}&schema=Bad-Name`, { dim: 8 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/schema/) });
    const a = await open(url, { dim: 8 });
    await expect(OVMemory.open(url, { dim: 16, threads: 0 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/8 dimensions/) });
    pgc.cluster.sql('UPDATE ov_memory.meta SET version = 99', name);
    await expect(OVMemory.open(url, { threads: 0 })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/version 99/) });
    pgc.cluster.sql('UPDATE ov_memory.meta SET version = 1', name);
    const missing = url.replace(/\/t\d+_\d+\?/, '/no_such_database?');
    await expect(OVMemory.open(missing, { dim: 8, threads: 0 })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: expect.stringMatching(/no_such_database/) });
    expect(a.size).toBe(0);
  });

  it('two stores in one database, each in its own schema', async () => {
    const { url } = pgc.freshDatabase();
    const a = await open(`${url}&schema=first`, { dim: 8 });
    const b = await open(`${url}&schema=second`, { dim: 4 });
    a.add({ embedding: v(0), text: 'a' });
    expect(b.size).toBe(0);
    expect((await databaseView(url, 'first')).memories).toHaveLength(1);
    expect((await databaseView(url, 'second')).memories).toHaveLength(0);
  });
});

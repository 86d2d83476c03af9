// Two and three processes sharing one store on PostgreSQL, writing and searching at the same time
// for a bounded count of operations: at the end every replica equals the database, and the
// database equals the model of the writes they acknowledged (applied in the order of their
// sequences, which must be unique, with ids increasing along them).
import { describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { childTracker, modelOf, projection } from './helpers/children.js';
import { databaseView, postgresCluster } from './helpers/postgres.js';

const pgc = postgresCluster();
const start = childTracker();

async function shareAndCompare(processes: number, operations: number) {
  const { url } = pgc.freshDatabase();
  // The store exists before the writers start, so none of them races to create it.
  await (await OVMemory.open(url, { dim: 8, threads: 0, logLevel: 'silent' })).close();
  const children = Array.from({ length: processes }, (_, w) => start([url, String(w), String(operations), String(1000 + w)]));
  await Promise.all(children.map((c) => c.line((l) => l.done === true, 0, 120_000)));
  const db = await databaseView(url);
  const dumps = await Promise.all(children.map((c) => c.dump(db.seq)));
  for (const dump of dumps) {
    expect(dump.seq).toBe(db.seq);
    expect(dump.view).toEqual(db.memories);
    expect(dump.replication).toMatchObject({ connected: true, stale: false, lastSequence: db.seq });
  }
  const acks = children.flatMap((c, w) => c.acks().map((a) => ({ ...a, writer: w })));
  const { model, problems } = modelOf(acks);
  expect(problems).toEqual([]);
  expect(projection(db.memories)).toEqual(model);
  // Every write was acknowledged by one of them, and each one's writes interleaved with the others'.
  expect(acks.length).toBe(db.seq);
  for (const c of children) expect(c.acks().length).toBeGreaterThan(operations / 3);
  const order = [...acks].sort((a, b) => a.seq - b.seq);
  const switches = order.filter((a, i) => i > 0 && a.writer !== order[i - 1]!.writer).length;
  expect(switches).toBeGreaterThan(10);
  await Promise.all(children.map((c) => c.close()));
}

describe('one store shared by several processes', () => {
  it('two processes', async () => {
    await shareAndCompare(2, 150);
  }, 180_000);

  it('three processes', async () => {
    await shareAndCompare(3, 120);
  }, 180_000);
});

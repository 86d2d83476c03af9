// The durable store: reopening, checkpoints, the lock, torn and damaged files, export/import, and
// crash tests with real processes killed by SIGKILL.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { storeTracker, tempRoot } from './helpers/stores.js';
import { hashingEmbedder, MemoryCorruptionError, OVMemory } from '../dist/index.js';
import { random, randomVectors } from './helpers/data.js';

const { root, freshDir } = tempRoot('ov-memory-durable-');
const { track, release: closeStore } = storeTracker();
const openStore = (dir: string, options: Record<string, unknown> = {}) => track(OVMemory.open(dir, { dim: 6, threads: 0, logLevel: 'silent', ...options }));

/** Everything a user can observe of a store, for comparing a reopened store with the live one. */
async function observe(memory: OVMemory) {
  const ids = [...memory.ids()];
  const q = randomVectors(3, 6, 99);
  return {
    size: memory.size,
    records: ids.map((id) => { const r = memory.get(id, { embedding: true })!; return { ...r, accessCount: 0, lastAccessedAt: 0, embedding: Array.from(r.embedding!) }; }),
    hits: await Promise.all(q.map((v) => memory.search(v, { topK: 5, now: 2e12 }))),
    hubs: memory.hubs(),
  };
}

/** A store with every kind of effect in its log. */
async function populate(memory: OVMemory, seed = 1) {
  const rand = random(seed);
  const vectors = randomVectors(40, 6, seed);
  memory.addMany(vectors.slice(0, 20).map((embedding, i) => ({ embedding, text: `a${i}`, weight: 0.5 + rand(), metadata: { i, tag: i % 3 }, key: `key-${i}`, createdAt: 1e12 + i })));
  for (let i = 20; i < 40; i++) memory.add({ embedding: vectors[i]!, text: `b${i}`, createdAt: 1e12 + i });
  memory.link(3, 7, 0.8, 'cause');
  memory.unlink(21, 20);
  memory.update(5, { weight: 3, metadata: { replaced: true } });
  memory.remove(9);
  memory.removeByKey('key-11');
  memory.upsert({ embedding: vectors[0]!, text: 'a0 again', key: 'key-0' });
  await memory.context(vectors[2]!, { seeds: 2, now: 2e12 });
  return vectors;
}

describe('OVMemory.open()', () => {
  it('a new directory needs dim; a reopened one keeps everything and goes on with the next id', async () => {
    const dir = freshDir();
    await expect(OVMemory.open(dir)).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`dim`/) });
    const memory = await openStore(dir);
    await populate(memory);
    const before = await observe(memory);
    await closeStore(memory);
    const reopened = await openStore(dir);
    expect(await observe(reopened)).toEqual(before);
    // The focus survived (the context moved it): a new memory links to the same node as before.
    expect(reopened.add({ embedding: [1, 0, 0, 0, 0, 0], text: 'next' })).toBe(41);
    expect(reopened.getByKey('key-0')!.text).toBe('a0 again');
    expect(reopened.getByKey('key-11')).toBeUndefined();
  });

  it('checkpoint() compacts removed rows away, keeps ids, and replays the log written after it', async () => {
    const dir = freshDir();
    const memory = await openStore(dir);
    const vectors = await populate(memory);
    await memory.checkpoint();
    memory.add({ embedding: vectors[1]!, text: 'after the checkpoint' });
    memory.remove(12);
    const before = await observe(memory);
    await closeStore(memory);
    // The previous generation stays until the next checkpoint succeeds.
    expect(fs.readdirSync(dir).sort()).toEqual(['snap.0', 'snap.1', 'wal.0', 'wal.1']);
    const reopened = await openStore(dir);
    expect(await observe(reopened)).toEqual(before);
    expect(reopened.get(9)).toBeUndefined();
    expect(reopened.add({ embedding: vectors[2]!, text: 'x' })).toBe(42);
  });

  it('dim must match the stored one', async () => {
    const dir = freshDir();
    await closeStore(await openStore(dir));
    await expect(OVMemory.open(dir, { dim: 7 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/holds vectors of 6 dimensions, options.dim is 7/) });
    // The failed open released the lock.
    await closeStore(await openStore(dir));
  });

  it('a new directory takes dim from the embedder; waitForLock is for browsers only', async () => {
    const dir = freshDir();
    const embedder = hashingEmbedder({ dim: 16 });
    const memory = await track(OVMemory.open(dir, { embedder, threads: 0, logLevel: 'silent' }));
    expect(memory.dim).toBe(16);
    await memory.remember({ text: 'kept with an embedder' });
    await closeStore(memory);
    const again = await track(OVMemory.open(dir, { embedder, threads: 0, logLevel: 'silent' }));
    expect(again.size).toBe(1);
    await closeStore(again);
    await expect(OVMemory.open(dir, { waitForLock: true })).rejects.toMatchObject({ code: 'UNSUPPORTED', message: expect.stringContaining('`waitForLock` needs the Web Locks API') });
    await expect(OVMemory.open(dir, { waitForLock: 'yes' as never })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringContaining('`waitForLock`') });
  });

  it('one process at a time: a second open is LOCKED; a stale lock is taken over', async () => {
    const dir = freshDir();
    const memory = await openStore(dir);
    await expect(OVMemory.open(dir, { dim: 6 })).rejects.toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/in use by this process/) });
    await closeStore(memory);
    // A dead process's lock.
    const child = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => child.on('exit', r));
    fs.writeFileSync(path.join(dir, 'LOCK'), JSON.stringify({ host: os.hostname(), pid: child.pid, startTime: 1 }));
    const again = await openStore(dir);
    expect(again.size).toBe(0);
  });

  it('a foreign file is left alone; a missing log is MEMORY_CORRUPTION and nothing is written', async () => {
    const dir = freshDir();
    const memory = await openStore(dir);
    memory.add({ embedding: [1, 0, 0, 0, 0, 0], text: 'kept' });
    await memory.checkpoint();
    await closeStore(memory);
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const reopened = await openStore(dir);
    expect(reopened.get(0)!.text).toBe('kept');
    expect(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8')).toBe('mine');
    await closeStore(reopened);
    fs.rmSync(path.join(dir, 'wal.1'));
    const listing = fs.readdirSync(dir).sort();
    await expect(OVMemory.open(dir, { dim: 6 })).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION', message: expect.stringMatching(/wal\.1 is missing beside snap\.1/) });
    await expect(OVMemory.open(dir, { dim: 6, repair: true })).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION' });
    expect(fs.readdirSync(dir).sort()).toEqual(listing);
  });
});

describe('damaged files', () => {
  /** A closed store whose log holds 3 records; returns where the last one starts. */
  async function threeRecords() {
    const dir = freshDir();
    const memory = await openStore(dir, { durability: 'always' });
    memory.add({ embedding: [1, 0, 0, 0, 0, 0], text: 'one' });
    memory.add({ embedding: [0, 1, 0, 0, 0, 0], text: 'two' });
    const before = fs.statSync(path.join(dir, 'wal.0')).size;
    memory.add({ embedding: [0, 0, 1, 0, 0, 0], text: 'three' });
    await closeStore(memory);
    return { dir, wal: path.join(dir, 'wal.0'), lastStart: before };
  }

  it('a torn last record of any length is dropped and the log truncated there', async () => {
    const { dir, wal, lastStart } = await threeRecords();
    const full = fs.readFileSync(wal);
    for (let cut = lastStart + 1; cut < full.length; cut += 7) {
      fs.writeFileSync(wal, full.subarray(0, cut));
      const memory = await openStore(dir);
      expect([...memory.ids()]).toEqual([0, 1]);
      expect(memory.recovery).toEqual({ tornBytes: cut - lastStart });
      expect(fs.statSync(wal).size).toBe(lastStart);
      await closeStore(memory);
    }
  });

  it('a flipped byte anywhere in a complete record is MEMORY_CORRUPTION naming the file and offset, and nothing changes on disk', async () => {
    const { dir, wal, lastStart } = await threeRecords();
    const full = fs.readFileSync(wal);
    for (let at = 0; at < full.length; at += 3) {
      const damaged = Buffer.from(full);
      damaged[at]! ^= 0x10;
      fs.writeFileSync(wal, damaged);
      const error = await OVMemory.open(dir, { dim: 6 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MemoryCorruptionError);
      expect((error as Error).message).toMatch(/wal\.0: .* at offset \d+/);
      expect(fs.readFileSync(wal).equals(damaged)).toBe(true);
    }
    // repair salvages what precedes the damage, and says what was lost.
    const damaged = Buffer.from(full);
    damaged[full.length - 10]! ^= 0x10;
    fs.writeFileSync(wal, damaged);
    const repaired = await openStore(dir, { repair: true });
    expect([...repaired.ids()]).toEqual([0, 1]);
    const lost = full.length - lastStart;
    expect(repaired.recovery!.lost).toEqual([{ kind: 'log', file: wal, offset: full.length - lost, bytes: lost, reason: expect.stringMatching(/checksum/), copy: `${wal}.damaged` }]);
    // The truncated bytes are kept.
    expect(fs.readFileSync(`${wal}.damaged`).equals(damaged.subarray(full.length - lost))).toBe(true);
  });

  it('a damaged, truncated or future snapshot is MEMORY_CORRUPTION; a version-1 one is UNSUPPORTED', async () => {
    const { dir } = await threeRecords();
    const memory = await openStore(dir);
    await memory.checkpoint();
    await closeStore(memory);
    const snap = path.join(dir, 'snap.1');
    const full = fs.readFileSync(snap);
    const flip = (at: number) => { const b = Buffer.from(full); b[at]! ^= 1; return b; };
    const crc = (await import('crc-32/crc32c.js')).default;
    const withVersion = (version: number) => { const b = Buffer.from(full); b.writeUInt32LE(version, 4); b.writeUInt32LE(crc.buf(b.subarray(0, 52)) >>> 0, 52); return b; };
    const cases: [string, Buffer, RegExp, string][] = [
      ['magic', Buffer.concat([Buffer.from('XXXX'), full.subarray(4)]), /bad magic/, 'MEMORY_CORRUPTION'],
      ['header', flip(12), /header checksum/, 'MEMORY_CORRUPTION'],
      ['block table', flip(60), /block table checksum/, 'MEMORY_CORRUPTION'],
      ['vectors', flip(full.length - 12), /block checksum/, 'MEMORY_CORRUPTION'],
      ['truncated', full.subarray(0, full.length - 5), /truncated snapshot/, 'MEMORY_CORRUPTION'],
      ['future version', withVersion(3), /format version 3 is newer/, 'MEMORY_CORRUPTION'],
      ['version 1', withVersion(1), /format version 1 .* is no longer read/, 'UNSUPPORTED'],
    ];
    for (const [, bytes, message, code] of cases) {
      fs.writeFileSync(snap, bytes);
      await expect(OVMemory.open(dir, { dim: 6 })).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
      await expect(OVMemory.open(dir, { dim: 6 })).rejects.toMatchObject({ message: expect.stringMatching(/snap\.1/) });
      await expect(OVMemory.import(new Uint8Array(bytes))).rejects.toMatchObject({ code });
      expect(fs.readFileSync(snap).equals(bytes)).toBe(true);
    }
  });
});

describe('export() and import()', () => {
  it('round-trip a store in memory', async () => {
    const memory = await track(OVMemory.create({ dim: 6, threads: 0, logLevel: 'silent' }));
    await populate(memory, 3);
    const copy = await track(OVMemory.import(await memory.export(), { threads: 0 }));
    expect(await observe(copy)).toEqual(await observe(memory));
    await expect(OVMemory.import(new Uint8Array([1, 2, 3]))).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION' });
    await expect(memory.checkpoint()).rejects.toMatchObject({ code: 'UNSUPPORTED' });
  });
});

describe('crashes', () => {
  it('a process killed at random moments loses nothing it acknowledged under durability always', async () => {
    const dir = freshDir();
    const rand = random(2026);
    const project = path.join(root, 'project');
    fs.mkdirSync(path.join(project, 'node_modules'), { recursive: true });
    fs.symlinkSync(path.resolve(__dirname, '..'), path.join(project, 'node_modules', 'ov-memory'));
    fs.copyFileSync(path.join(__dirname, 'fixtures/crash-writer.mjs'), path.join(project, 'crash-writer.mjs'));
    const acknowledged = new Map<number, number>();   // id → i
    let next = 0;
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, [path.join(project, 'crash-writer.mjs'), dir, String(next)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let buffered = '';
      const writing = new Promise((r) => child.stdout.once('data', r));
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) { const [id, i] = line.split(' ').map(Number); acknowledged.set(id!, i!); next = i! + 1; }
      });
      // Kill it after it has written for a random while (its start-up time varies with the machine's load).
      await writing;
      await new Promise((r) => setTimeout(r, rand() * 300));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const memory = await openStore(dir, { dim: 8, durability: 'always' });
      for (const [id, i] of acknowledged) {
        const record = memory.get(id);
        expect(record, `id ${id} (item ${i}) was acknowledged`).toBeDefined();
        expect(record!.metadata.i).toBe(i);
        expect(record!.weight).toBe(record!.metadata.twin ? 1 : 1 + (i % 3));
      }
      next = Math.max(next, ...[...memory.ids()].map((id) => memory.get(id)!.metadata.i as number + 1));
      await closeStore(memory);
    }
    expect(acknowledged.size).toBeGreaterThan(20);
  });
});

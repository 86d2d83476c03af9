// The store directory's shape: what open() accepts and refuses, generations tied by store id, the
// crash window of a checkpoint, what repair salvages (and says it lost), and the versioned formats.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeTracker, tempRoot } from './helpers/stores.js';
import { OVMemory } from '../dist/index.js';
import {
  crc32c, decodeSnapshot, encodeLogRecord, encodeSnapshot, LOG_FILE_HEADER, nodeFiles, salvageSnapshot, scanLog, StoreDirectory, streamOfState,
  type SnapshotState, type StoreFiles,
} from '../dist/internal.js';

const { root, freshDir } = tempRoot('ov-memory-directory-');
const { track, release: closeStore } = storeTracker();
const openStore = (dir: string, options: Record<string, unknown> = {}) => track(OVMemory.open(dir, { dim: 4, threads: 0, logLevel: 'silent', ...options }));
const vector = (i: number) => [Math.cos(i), Math.sin(i), Math.cos(2 * i) + 1.5, 0.5];
/** Every file of a directory with its bytes, to show that nothing changed. */
const contents = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((name) => [name, fs.readFileSync(path.join(dir, name)).toString('base64')]));
const emptyState = (): SnapshotState => ({ dim: 4, nextId: 0, focus: undefined, records: [], edges: [], vectors: new Float32Array(0) });
const initial = () => encodeSnapshot(emptyState());

/** A closed store: `count` memories in snap.1, then `after` more in wal.1 (gen 0 kept beside it). */
async function checkpointed(count: number, after = 0) {
  const dir = freshDir();
  const memory = await openStore(dir);
  memory.addMany(Array.from({ length: count }, (_, i) => ({ embedding: vector(i), text: `m${i}`, metadata: { i } })));
  memory.link(0, Math.min(count - 1, 1500), 0.9);
  await memory.checkpoint();
  for (let i = count; i < count + after; i++) memory.add({ embedding: vector(i), text: `m${i}`, metadata: { i } });
  await closeStore(memory);
  return dir;
}

describe('open(): what can be a store', () => {
  it('creates a missing or empty directory; refuses one that holds something else, naming it, and leaves it alone', async () => {
    const nested = path.join(freshDir(), 'a', 'b');
    await closeStore(await openStore(nested));
    expect(fs.readdirSync(nested).sort()).toEqual(['snap.0', 'wal.0']);
    const emptyDir = freshDir();
    fs.mkdirSync(emptyDir);
    await closeStore(await openStore(emptyDir));
    const typo = freshDir();
    fs.mkdirSync(typo);
    fs.writeFileSync(path.join(typo, 'notes.txt'), 'mine');
    fs.mkdirSync(path.join(typo, 'photos'));
    await expect(OVMemory.open(typo, { dim: 4 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/is not an ov-memory store: it holds (notes\.txt, photos|photos, notes\.txt) but no snap\.N or wal\.N/) });
    expect(fs.readdirSync(typo).sort()).toEqual(['notes.txt', 'photos']);
  });

  it('a path that is a file, or runs through one, is INVALID_DATA', async () => {
    const file = freshDir();
    fs.writeFileSync(file, 'x');
    await expect(OVMemory.open(file, { dim: 4 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/cannot be a store directory \(ENOTDIR/) });
    await expect(OVMemory.open(path.join(file, 'store'), { dim: 4 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/ENOTDIR/) });
    expect(fs.readFileSync(file, 'utf8')).toBe('x');
  });

  it('an OS failure (EACCES, EIO) is STORAGE_FAULT with the OS error as its cause', () => {
    for (const code of ['EACCES', 'EPERM', 'EIO']) {
      const files: StoreFiles = { ...nodeFiles, readdirSync: () => { throw Object.assign(new Error(`${code}: injected`), { code }); } };
      let error: (Error & { code?: string; cause?: { code?: string } }) | undefined;
      try { StoreDirectory.open(freshDir(), { durability: 'none', repair: false, groupCommitMs: 50, initial, files }); } catch (e) { error = e as typeof error; }
      expect(error).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(new RegExp(code)) });
      expect(error!.cause!.code).toBe(code);
    }
  });

  const readOnly = path.join(root, 'read-only');
  fs.mkdirSync(readOnly);
  let mounted = false;
  try { execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', readOnly], { stdio: 'ignore' }); mounted = true; } catch { /* not root: skipped */ }
  afterAll(() => { if (mounted) execFileSync('umount', [readOnly]); });
  (mounted ? it : it.skip)('a read-only file system is STORAGE_FAULT (EROFS), needs permission to mount a tmpfs', async () => {
    await expect(OVMemory.open(path.join(readOnly, 'store'), { dim: 4 })).rejects.toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/EROFS/) });
  });
});

describe('generations', () => {
  it('a checkpoint keeps the previous generation; the next one drops it', async () => {
    const dir = await checkpointed(3, 1);
    expect(fs.readdirSync(dir).sort()).toEqual(['snap.0', 'snap.1', 'wal.0', 'wal.1']);
    const memory = await openStore(dir);
    await memory.checkpoint();
    await closeStore(memory);
    expect(fs.readdirSync(dir).sort()).toEqual(['snap.1', 'snap.2', 'wal.1', 'wal.2']);
  });

  it('both headers carry the store id and the generation', async () => {
    const dir = await checkpointed(3, 1);
    const snap = decodeSnapshot(new Uint8Array(fs.readFileSync(path.join(dir, 'snap.1'))), 'snap.1');
    const wal = scanLog(new Uint8Array(fs.readFileSync(path.join(dir, 'wal.1'))), 'wal.1');
    expect(snap.storeId).toMatch(/^[0-9a-f]{32}$/);
    expect(wal.storeId).toBe(snap.storeId);
    expect([snap.generation, wal.generation]).toEqual([1, 1]);
    expect(scanLog(new Uint8Array(fs.readFileSync(path.join(dir, 'wal.0'))), 'wal.0')).toMatchObject({ storeId: snap.storeId, generation: 0 });
    const other = await checkpointed(3);
    expect(decodeSnapshot(new Uint8Array(fs.readFileSync(path.join(other, 'snap.1'))), 'snap.1').storeId).not.toBe(snap.storeId);
  });

  it('a log or snapshot of another generation or store is MEMORY_CORRUPTION, and nothing on disk changes', async () => {
    const other = await checkpointed(3, 1);
    const cases: [string, (dir: string) => void, RegExp][] = [
      ['an old wal.0 restored as wal.1', (dir) => fs.copyFileSync(path.join(dir, 'wal.0'), path.join(dir, 'wal.1')), /wal\.1 holds generation 0 .*at offset 8/],
      ['a stale snapshot under a newer log', (dir) => fs.copyFileSync(path.join(dir, 'snap.0'), path.join(dir, 'snap.1')), /snap\.1 holds generation 0 .*at offset 24/],
      ['another store\'s log', (dir) => fs.copyFileSync(path.join(other, 'wal.1'), path.join(dir, 'wal.1')), /wal\.1 belongs to store [0-9a-f]{32}, snap\.1 to store [0-9a-f]{32}/],
    ];
    for (const [what, damage, message] of cases) {
      const dir = await checkpointed(3, 1);
      damage(dir);
      const before = contents(dir);
      await expect(OVMemory.open(dir, { dim: 4 }), what).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION', message: expect.stringMatching(message) });
      expect(contents(dir)).toEqual(before);
    }
  });

  it('a missing snap.N beside a wal.N that holds records is MEMORY_CORRUPTION, with nothing written', async () => {
    for (const [count, after, gone] of [[3, 1, 'snap.1'], [3, 0, 'snap.0']] as const) {
      const dir = await checkpointed(count, after);
      if (gone === 'snap.0') for (const name of ['snap.1', 'wal.1']) fs.rmSync(path.join(dir, name));
      fs.rmSync(path.join(dir, gone));
      const before = contents(dir);
      await expect(OVMemory.open(dir, { dim: 4 })).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION', message: expect.stringMatching(new RegExp(`${gone.replace('.', '\\.')} is missing beside wal\\.\\d, which holds \\d+ records`)) });
      expect(contents(dir)).toEqual(before);
    }
  });

  it('a checkpoint that crashed after its log and before its snapshot opens the previous generation, losing nothing', async () => {
    const dir = freshDir();
    // Writes fail once the new log's header is in place: snap.1 is never completed.
    let budget = Infinity;
    const files: StoreFiles = { ...nodeFiles, writeSync: (fd, b, o, l) => { if (budget <= 0) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }); const t = Math.min(l, budget); budget -= t; return nodeFiles.writeSync(fd, b, o, t); } };
    const { directory } = StoreDirectory.open(dir, { durability: 'always', repair: false, groupCommitMs: 50, initial, files });
    directory.append({ e: [{ op: 'focus', id: 0 }] });
    budget = LOG_FILE_HEADER;
    expect(() => directory.checkpoint(streamOfState(emptyState()))).toThrow(/generation 1/);
    directory.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['snap.0', 'snap.1.tmp', 'wal.0', 'wal.1']);
    const again = StoreDirectory.open(dir, { durability: 'always', repair: false, groupCommitMs: 50, initial });
    expect(again.directory.generation).toBe(0);
    expect(again.effects).toEqual([{ e: [{ op: 'focus', id: 0 }] }]);
    again.directory.close();
    expect(fs.readdirSync(dir).sort()).toEqual(['snap.0', 'wal.0']);
  });

  it('a record of an unknown version is MEMORY_CORRUPTION naming the file and offset', async () => {
    const dir = freshDir();
    await closeStore(await openStore(dir));
    const wal = path.join(dir, 'wal.0');
    const record = encodeLogRecord(1, { e: [] });
    const view = new DataView(record.buffer);
    view.setUint32(4, 7, true);
    view.setUint32(20, crc32c(record.subarray(0, 20)), true);
    fs.appendFileSync(wal, record);
    await expect(OVMemory.open(dir, { dim: 4 })).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION', message: expect.stringMatching(new RegExp(`wal\\.0: record format version 7 is unknown .* at offset ${LOG_FILE_HEADER}`)), details: { file: wal, offset: LOG_FILE_HEADER } });
  });
});

describe('repair', () => {
  it('salvages every intact snapshot block and says which ids were lost; without repair nothing changes', async () => {
    const dir = await checkpointed(2500);
    const intact = await openStore(dir);
    expect(intact.get(0)!.edges.map((e) => e.to)).toContain(1500);
    await closeStore(intact);
    const snap = path.join(dir, 'snap.1');
    const bytes = fs.readFileSync(snap);
    // The middle block (ids 1024..2047) holds the vectors around the middle of the file.
    const at = Math.floor(bytes.length / 2);
    bytes[at]! ^= 0x40;
    fs.writeFileSync(snap, bytes);
    const before = contents(dir);
    await expect(OVMemory.open(dir, { dim: 4 })).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION', message: expect.stringMatching(/snap\.1: block checksum mismatch at offset \d+/) });
    expect(contents(dir)).toEqual(before);
    const memory = await openStore(dir, { repair: true });
    expect(memory.recovery).toEqual({ tornBytes: 0, lost: [{ kind: 'snapshot-block', file: snap, offset: expect.any(Number), records: 1024, ids: [1024, 2047], reason: 'block checksum mismatch' }] });
    expect(memory.size).toBe(2500 - 1024);
    expect(memory.has(1023) && !memory.has(1024) && !memory.has(2047) && memory.has(2048)).toBe(true);
    expect(memory.get(2048)!.text).toBe('m2048');
    // The edge into a lost memory went with it; ids are never handed out again.
    expect(memory.get(0)!.edges.map((e) => e.to)).not.toContain(1500);
    expect(memory.add({ embedding: vector(1), text: 'next' })).toBe(2500);
  });

  it('falls back to the previous generation when the newest snapshot is unusable, setting the newest aside', async () => {
    const dir = await checkpointed(5, 2);
    const snap = path.join(dir, 'snap.1'), wal = path.join(dir, 'wal.1');
    const bytes = fs.readFileSync(snap);
    bytes[10]! ^= 1;   // the header: nothing of this snapshot can be trusted
    fs.writeFileSync(snap, bytes);
    const before = contents(dir);
    await expect(OVMemory.open(dir, { dim: 4 })).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION', message: expect.stringMatching(/snap\.1: header checksum mismatch/) });
    expect(contents(dir)).toEqual(before);
    const memory = await openStore(dir, { repair: true });
    expect(memory.recovery!.lost).toEqual([
      { kind: 'generation', file: snap, reason: expect.stringMatching(/header checksum mismatch/), copy: `${snap}.damaged` },
      { kind: 'generation', file: wal, reason: 'snap.1 is unusable', copy: `${wal}.damaged` },
    ]);
    // Generation 0 holds everything up to the checkpoint; the two memories after it are lost.
    expect([...memory.ids()]).toEqual([0, 1, 2, 3, 4]);
    expect(fs.readFileSync(`${snap}.damaged`).equals(bytes)).toBe(true);
  });

  it('a damaged meta section loses only the focus and the saved options', () => {
    const state: SnapshotState = { dim: 2, nextId: 3, focus: 2, records: [0, 1, 2].map((id) => record(id)), edges: [], vectors: new Float32Array([1, 0, 0, 1, 0.6, 0.8]), options: { recency: 'accessed' } };
    const bytes = encodeSnapshot(state, 2);
    const metaAt = 56 + 2 * 36 + 4;
    bytes[metaAt + 3]! ^= 1;
    expect(() => decodeSnapshot(bytes, 'x')).toThrow(/meta section checksum mismatch/);
    const { state: salvaged, lost } = salvageSnapshot(bytes, 'x');
    expect(lost).toEqual([{ part: 'meta', offset: metaAt, reason: 'meta section checksum mismatch' }]);
    expect(salvaged.records).toEqual(state.records);
    expect([salvaged.focus, salvaged.options]).toEqual([undefined, undefined]);
  });
});

function record(id: number) {
  return { id, text: `r${id}`, weight: 1, metadata: { id }, createdAt: 1e12 + id, norm: 1, accessCount: 0, lastAccessedAt: 1e12 + id };
}

describe('the snapshot format', () => {
  const state: SnapshotState = {
    dim: 3, nextId: 9, focus: 4, storeId: '0123456789abcdef0123456789abcdef', generation: 7, options: { recency: 'accessed', halfLifeMs: 1000, indexed: ['kind'] },
    records: [0, 1, 4, 5, 8].map(record),
    edges: [[0, [{ to: 4, relevance: 0.5, type: 'related', createdAt: 1 }]], [8, [{ to: 1, relevance: 0.7, type: 'cause', createdAt: 2 }]]],
    vectors: Float32Array.from({ length: 15 }, (_, i) => i / 15),
  };

  it('round-trips the store id, the generation and the options, in blocks of any size', () => {
    for (const blockRecords of [1, 2, 5, 1024]) expect(decodeSnapshot(encodeSnapshot(state, blockRecords), 's')).toEqual(state);
    const fresh = decodeSnapshot(encodeSnapshot({ ...state, storeId: undefined, generation: undefined, options: undefined }), 's');
    expect([fresh.storeId, fresh.generation, fresh.options]).toEqual([undefined, 0, undefined]);
  });

  it('salvage keeps the other blocks with their own vectors and drops edges into the lost ones', () => {
    const bytes = encodeSnapshot(state, 2);   // blocks: ids 0,1 · 4,5 · 8
    const blocks = Array.from({ length: 3 }, (_, b) => new DataView(bytes.buffer).getFloat64(56 + b * 36, true));
    bytes[blocks[1]! + 6]! ^= 1;
    expect(() => decodeSnapshot(bytes, 's')).toThrow(/s: block checksum mismatch at offset/);
    const { state: salvaged, lost } = salvageSnapshot(bytes, 's');
    expect(lost).toEqual([{ part: 'block', offset: blocks[1], records: 2, ids: [4, 5], reason: 'block checksum mismatch' }]);
    expect(salvaged.records.map((r) => r.id)).toEqual([0, 1, 8]);
    expect(Array.from(salvaged.vectors)).toEqual(Array.from(state.vectors.subarray(0, 6)).concat(Array.from(state.vectors.subarray(12, 15))));
    expect(salvaged.edges).toEqual([[0, []], [8, [{ to: 1, relevance: 0.7, type: 'cause', createdAt: 2 }]]]);
    expect(salvaged.nextId).toBe(9);
  });
});

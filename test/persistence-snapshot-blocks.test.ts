// Snapshots written and read a block at a time: against a store written by the one-buffer encoder
// (test/fixtures/store-v2, made by its make.mjs), byte for byte; a damaged block; a checkpoint that
// fails between its temporary file and the rename; one buffer's limit for export().
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { storeTracker, tempRoot } from './helpers/stores.js';
import { OVMemory } from '../dist/index.js';
import {
  decodeSnapshot, encodeSnapshot, encodeSnapshotStream, fileSource, nodeFiles, readSnapshotStream, stampSnapshot, StoreDirectory,
  streamOfState, writeSnapshotDurably, type SnapshotState, type StoreFiles,
} from '../dist/internal.js';
import { randomVectors } from './helpers/data.js';

const { freshDir } = tempRoot('ov-memory-blocks-');
const { track, release } = storeTracker();
const fixture = (name: string) => new Uint8Array(zlib.gunzipSync(fs.readFileSync(new URL(`./fixtures/store-v2/${name}.gz`, import.meta.url))));
const FIXTURE_SNAP = fixture('snap.1');
const openStore = (dir: string, options: Record<string, unknown> = {}) => track(OVMemory.open(dir, { threads: 0, logLevel: 'silent', clock: () => 1_700_000_000_000, ...options }));

/** A copy of the fixture store in a new directory. */
function fixtureDir(): string {
  const dir = freshDir();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'snap.1'), FIXTURE_SNAP);
  fs.writeFileSync(path.join(dir, 'wal.1'), fixture('wal.1'));
  return dir;
}

/** The fixture's block table, read with a DataView (offset, bytes, records, first and last id of each block). */
function blockTable(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: view.getUint32(28, true) }, (_, b) => {
    const at = 56 + b * 36;
    return { offset: view.getFloat64(at, true), bytes: view.getUint32(at + 8, true), records: view.getUint32(at + 12, true), ids: [view.getFloat64(at + 16, true), view.getFloat64(at + 24, true)] };
  });
}

/** The same snapshot bytes with another store id and generation in the header. */
const restamped = (bytes: Uint8Array, storeId: string | undefined, generation: number) => stampSnapshot(bytes.slice(), storeId, generation);

const fixtureStoreId = () => decodeSnapshot(FIXTURE_SNAP, 'snap.1').storeId;

describe('snapshot blocks', () => {
  it('a store written by the one-buffer encoder opens block by block, and its checkpoint and export() write the same bytes', async () => {
    const table = blockTable(FIXTURE_SNAP);
    expect(table.map((b) => b.records)).toEqual([1024, 1024, 442]);
    const dir = fixtureDir();
    const memory = await openStore(dir);
    // What make.mjs wrote: 2,500 memories less the ten removed, chained by addMany, one link and one update.
    expect(memory.size).toBe(2490);
    expect(memory.has(9) && !memory.has(10) && !memory.has(19) && memory.has(20)).toBe(true);
    expect(memory.get(2499)!.text).toBe('memory 2499');
    expect(memory.getByKey('k100')!.id).toBe(100);
    expect(memory.get(5)).toMatchObject({ weight: 3, metadata: { replaced: true } });
    expect(memory.get(0)!.edges).toContainEqual(expect.objectContaining({ to: 2000, relevance: 0.9, type: 'cause' }));
    // Memories 0, 250, 500, … are of scope u0: each links to the one before it in its scope.
    expect(memory.get(1500)!.edges.map((e) => e.to).sort()).toEqual([1250, 1750]);
    expect(memory.get(1501)!.edges.map((e) => e.to).sort()).toEqual([1499, 1502]);

    await memory.checkpoint();
    const written = new Uint8Array(fs.readFileSync(path.join(dir, 'snap.2')));
    expect(Buffer.from(written).equals(restamped(FIXTURE_SNAP, fixtureStoreId(), 2))).toBe(true);
    const exported = await memory.export();
    expect(Buffer.from(exported).equals(restamped(FIXTURE_SNAP, undefined, 0))).toBe(true);
    await release(memory);
  });

  it('reads a snapshot file one block at a time, giving what the whole-buffer decoder gives', () => {
    const dir = fixtureDir();
    const file = path.join(dir, 'snap.1');
    const reads: number[] = [];
    const counting: StoreFiles = { ...nodeFiles, readSync: (fd, buffer, offset, length, position) => { reads.push(length); return nodeFiles.readSync(fd, buffer, offset, length, position); } };
    const { stream, lost } = readSnapshotStream(fileSource(counting, file), file, false);
    expect(lost).toEqual([]);
    const blocks = [...stream.blocks];
    expect(blocks.map((b) => b.records.length)).toEqual([1024, 1024, 442]);
    const whole = decodeSnapshot(FIXTURE_SNAP, file);
    expect(blocks.flatMap((b) => b.records)).toEqual(whole.records);
    expect([...stream.orphanEdges, ...blocks.flatMap((b) => b.edges)]).toEqual(whole.edges);
    const vectors = new Float32Array(whole.vectors.length);
    blocks.forEach((b, i) => vectors.set(b.vectors, i * 1024 * whole.dim));
    expect(vectors).toEqual(whole.vectors);
    // No read is larger than the largest block: the file is never held whole.
    expect(Math.max(...reads)).toBe(Math.max(...blockTable(FIXTURE_SNAP).map((b) => b.bytes)));
    expect(Math.max(...reads)).toBeLessThan(FIXTURE_SNAP.length / 2);
  });

  it('a snapshot written from a stream equals the one-buffer encoding, at any block size', () => {
    const dim = 5, vectors = randomVectors(7, dim, 3);
    const state: SnapshotState = {
      dim, nextId: 9, focus: 8, scopeFocus: [['["u",null,null]', 4]], storeId: 'ab'.repeat(16), generation: 3, options: { recency: 'accessed' },
      records: [0, 1, 2, 4, 5, 6, 8].map((id) => ({ id, text: `t${id}`, weight: 1, metadata: { id }, createdAt: id, norm: 1, accessCount: id, lastAccessedAt: id, ...(id === 4 ? { scope: { user: 'u' } } : {}) })),
      // Node 3 has no record: its edges go in the meta section, read back first.
      edges: [[3, [{ to: 8, relevance: 0.2, type: 'r', createdAt: 2 }]], [0, [{ to: 5, relevance: 0.7, type: 'focus', createdAt: 3 }]], [5, [{ to: 0, relevance: 0.5, type: 'r', createdAt: 1 }]]],
      vectors: Float32Array.from(vectors.flatMap((v) => Array.from(v))),
    };
    const dir = freshDir();
    fs.mkdirSync(dir);
    for (const blockRecords of [1, 2, 3, 7, 1024]) {
      writeSnapshotDurably(nodeFiles, dir, `snap.${blockRecords}`, streamOfState(state, blockRecords));
      const file = new Uint8Array(fs.readFileSync(path.join(dir, `snap.${blockRecords}`)));
      expect(Buffer.from(file).equals(encodeSnapshot(state, blockRecords))).toBe(true);
      expect(decodeSnapshot(file, 's')).toEqual(state);
    }
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('a flipped byte in one block of an old store: repair loses that block only; without repair MEMORY_CORRUPTION and nothing changes', async () => {
    const dir = fixtureDir();
    const file = path.join(dir, 'snap.1');
    const middle = blockTable(FIXTURE_SNAP)[1]!;
    const bytes = FIXTURE_SNAP.slice();
    bytes[middle.offset + middle.bytes - 7]! ^= 0x10;   // a vector of the middle block
    fs.writeFileSync(file, bytes);
    await expect(OVMemory.open(dir, { threads: 0, logLevel: 'silent' })).rejects.toMatchObject({ code: 'MEMORY_CORRUPTION', details: { file, offset: middle.offset } });
    expect(Buffer.from(fs.readFileSync(file)).equals(bytes)).toBe(true);
    expect(fs.readdirSync(dir).sort()).toEqual(['snap.1', 'wal.1']);

    const memory = await openStore(dir, { repair: true });
    expect(memory.recovery).toEqual({ tornBytes: 0, lost: [{ kind: 'snapshot-block', file, offset: middle.offset, records: 1024, ids: middle.ids, reason: 'block checksum mismatch' }] });
    expect(memory.size).toBe(2490 - 1024);
    const [first, last] = middle.ids as [number, number];
    expect(memory.has(first - 1) && !memory.has(first) && !memory.has(last) && memory.has(last + 1)).toBe(true);
    expect(memory.get(last + 1)!.text).toBe(`memory ${last + 1}`);
    // The chain's edge into the lost block went with it.
    expect(memory.get(first - 1)!.edges.map((e) => e.to)).not.toContain(first);
    expect(memory.add({ embedding: randomVectors(1, 8, 5)[0]!, text: 'next' })).toBe(2500);
  });

  it('a checkpoint that fails between its temporary snapshot and the rename, or part way through a block, leaves the previous generation', async () => {
    const failures: [string, (files: StoreFiles) => StoreFiles][] = [
      ['the rename', (files) => ({ ...files, renameSync: (from, to) => { if (from.endsWith('snap.2.tmp')) throw Object.assign(new Error('EIO: injected'), { code: 'EIO', path: from }); files.renameSync(from, to); } })],
      ['a write in the second block', (files) => {
        let written = 0;
        const limit = blockTable(FIXTURE_SNAP)[1]!.offset + 100;
        return {
          ...files,
          openSync: (file, flags) => { if (file.endsWith('snap.2.tmp')) written = 0; return files.openSync(file, flags); },
          writeSync: (fd, buffer, offset, length) => {
            const take = Math.min(length, limit - written);
            if (take <= 0) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
            written += take;
            return files.writeSync(fd, buffer, offset, take);
          },
        };
      }],
    ];
    for (const [where, inject] of failures) {
      const dir = fixtureDir();
      const opened = StoreDirectory.open(dir, { durability: 'always', repair: false, groupCommitMs: 50, initial: () => FIXTURE_SNAP, files: inject(nodeFiles) });
      expect(() => opened.directory.checkpoint(opened.snapshot!), where).toThrow(expect.objectContaining({ code: 'STORAGE_FAULT' }));
      opened.directory.close();
      expect(fs.readdirSync(dir).sort(), where).toEqual(['snap.1', 'snap.2.tmp', 'wal.1', 'wal.2']);
      const memory = await openStore(dir);
      expect(memory.size, where).toBe(2490);
      expect(Buffer.from(await memory.export()).equals(restamped(FIXTURE_SNAP, undefined, 0)), where).toBe(true);
      await release(memory);
      expect(fs.readdirSync(dir).sort(), where).toEqual(['snap.1', 'wal.1']);
    }
  });

  it('one buffer holds at most 4 GiB: past its limit a snapshot in one buffer is RESOURCE_EXHAUSTION', () => {
    const whole = decodeSnapshot(FIXTURE_SNAP, 'snap.1');
    // The vectors alone pass the limit: refused before anything is encoded.
    expect(() => encodeSnapshotStream(streamOfState(whole), 2490 * 8 * 4 - 1)).toThrow(expect.objectContaining({ code: 'RESOURCE_EXHAUSTION', message: expect.stringMatching(/2490 memories of 8 dimensions .*OVMemory\.open\(dir\)/) }));
    // The records' JSON passes it: refused once the block that passes it is encoded.
    expect(() => encodeSnapshotStream(streamOfState(whole), FIXTURE_SNAP.length - 1)).toThrow(expect.objectContaining({ code: 'RESOURCE_EXHAUSTION', details: { maxBytes: FIXTURE_SNAP.length - 1, bytes: expect.any(Number) } }));
    expect(encodeSnapshotStream(streamOfState(whole), FIXTURE_SNAP.length)).toHaveLength(FIXTURE_SNAP.length);
  });
});

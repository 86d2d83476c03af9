// Erasure: after forget + checkpoint no byte of a forgotten text, metadata or vector remains in the
// store's directory — old logs and snapshots included. The same scan finds them before the
// forget, and without the checkpoint (the README's rule), so it can fail.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { randomVectors } from './helpers/data.js';
import { storeTracker, tempRoot } from './helpers/stores.js';

const { track, release } = storeTracker();
const { freshDir } = tempRoot('ov-memory-erasure-');
const DIM = 16;

/** Every file under `dir`, as one list of buffers. */
function files(dir: string): Buffer[] {
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => fs.readFileSync(path.join(e.parentPath, e.name)));
}

/**
 * The needles of a memory: its text, a metadata value, and its stored vector's float32 bytes as a
 * snapshot holds them (8 bytes from the middle: two values, too long to occur by chance) and as a
 * log record holds them (base64).
 */
function needles(text: string, secret: string, stored: Float32Array): Buffer[] {
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  return [Buffer.from(text), Buffer.from(secret), bytes.subarray(16, 24), Buffer.from(bytes.toString('base64').slice(8, 40))];
}

const found = (dir: string, wanted: Buffer[]) => wanted.filter((n) => files(dir).some((f) => f.includes(n)));

describe('forget + checkpoint', () => {
  it('leaves no byte of a forgotten memory in the directory', async () => {
    const dir = freshDir();
    const vectors = randomVectors(30, DIM, 4);
    let memory = await track(OVMemory.open(dir, { dim: DIM, threads: 0 }));
    const victim: Buffer[] = [];
    vectors.forEach((v, i) => {
      const own = i % 3 === 0;
      const text = own ? `victim diary entry number ${i}, zebra-${i * 7919}` : `someone else, entry ${i}`;
      const secret = own ? `passport-${i * 104729}` : `other-${i}`;
      const id = memory.add({ embedding: v, text, metadata: { secret }, scope: { user: own ? 'victim' : 'other' } });
      if (own) victim.push(...needles(text, secret, memory.get(id, { embedding: true })!.embedding!));
    });
    await memory.flush();
    // The log holds texts, metadata and base64 vectors; the snapshots will hold the vectors' bytes.
    const binary = victim.filter((_, i) => i % 4 === 2);
    expect(found(dir, victim.filter((n) => !binary.includes(n))).length).toBe(victim.length - binary.length);
    await memory.checkpoint();
    expect(found(dir, binary).length).toBe(binary.length);
    memory.update(0, { text: 'victim diary entry number 0, zebra-0, edited' });
    victim.push(Buffer.from('zebra-0, edited'));
    await memory.checkpoint();
    memory.add({ embedding: randomVectors(1, DIM, 77)[0]!, text: 'victim late entry, zebra-late', scope: { user: 'victim' } });
    victim.push(Buffer.from('zebra-late'));
    await memory.flush();

    expect(await memory.forget({ scope: { user: 'victim' } })).toBe(11);
    await memory.flush();
    // Not yet erased: the log and the previous snapshots still hold them (the README says so).
    expect(found(dir, victim).length).toBeGreaterThan(0);
    await memory.checkpoint();
    expect(found(dir, victim).map(String)).toEqual([]);

    // The others are all there, on disk and after a reopen.
    await release(memory);
    memory = await track(OVMemory.open(dir, { threads: 0 }));
    expect(memory.size).toBe(20);
    expect(memory.scopes()).toEqual([{ scope: { user: 'other' }, count: 20 }]);
    expect(found(dir, [Buffer.from('someone else, entry 1,')])).toHaveLength(0);
    expect(found(dir, [Buffer.from('someone else, entry 1')])).toHaveLength(1);
  });

  it('after an erasing checkpoint only the newest generation is left', async () => {
    const dir = freshDir();
    const memory = await track(OVMemory.open(dir, { dim: 2, threads: 0 }));
    memory.add({ embedding: [1, 0], text: 'a', scope: { user: 'x' } });
    await memory.checkpoint();
    await memory.checkpoint();
    expect(fs.readdirSync(dir).filter((f) => /^(snap|wal)\./.test(f)).length).toBe(4);
    await memory.forget({ scope: { user: 'x' } });
    await memory.checkpoint();
    expect(fs.readdirSync(dir).filter((f) => /^(snap|wal)\./.test(f)).sort()).toEqual(['snap.3', 'wal.3']);
    await memory.checkpoint();
    expect(fs.readdirSync(dir).filter((f) => /^(snap|wal)\./.test(f)).length).toBe(4);
  });
});

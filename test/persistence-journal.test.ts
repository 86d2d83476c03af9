// The journal fails closed: StoreDirectory driven directly, with a file layer that fails a write at a
// chosen byte or fails an fsync, and on a real full disk (a 2 MiB tmpfs, where mounting is allowed).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { encodeSnapshot, nodeFiles, streamOfState, scanLog, StoreDirectory, type OpenSettings, type StoreFiles } from '../dist/internal.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-journal-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => path.join(root, `store-${n++}`);
const opened: StoreDirectory[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const d of opened.splice(0)) try { d.close(); } catch { /* a test's own failure */ }
});

const emptyState = () => ({ dim: 4, nextId: 0, focus: undefined, records: [], edges: [], vectors: new Float32Array(0) });
const empty = () => encodeSnapshot(emptyState());

function open(dir: string, settings: Partial<OpenSettings> = {}) {
  const result = StoreDirectory.open(dir, { durability: 'always', repair: false, groupCommitMs: 50, initial: empty, ...settings });
  opened.push(result.directory);
  return result;
}

function osError(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

/** node:fs, except that writes stop after `writeBudget` bytes (ENOSPC) and fsync or truncate can fail (EIO). */
function faultyFiles() {
  const faults = { writeBudget: Infinity, failFsync: false, failTruncate: false, fsyncs: 0 };
  const files: StoreFiles = {
    ...nodeFiles,
    writeSync(fd, buffer, offset, length) {
      if (faults.writeBudget <= 0) throw osError('ENOSPC');
      const take = Math.min(length, faults.writeBudget);
      faults.writeBudget -= take;
      return nodeFiles.writeSync(fd, buffer, offset, take);
    },
    fsyncSync(fd) {
      faults.fsyncs++;
      if (faults.failFsync) throw osError('EIO');
      nodeFiles.fsyncSync(fd);
    },
    ftruncateSync(fd, length) {
      if (faults.failTruncate) throw osError('EIO');
      nodeFiles.ftruncateSync(fd, length);
    },
  };
  return { files, faults };
}

/** The error `run` throws; fails the test when it throws nothing. */
function thrown(run: () => unknown): Error & { code?: string; details?: Record<string, unknown>; cause?: unknown } {
  try {
    run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a throw');
}

const effect = (i: number) => ({ e: [{ op: 'focus', id: i }], pad: 'x'.repeat(40) });
const logOf = (dir: string) => scanLog(new Uint8Array(fs.readFileSync(path.join(dir, 'wal.0'))), 'wal.0');

describe('StoreDirectory: a failed append', () => {
  it('is cut back to the last good record at any byte of the record, and faults the directory', () => {
    const recordBytes = (() => { const dir = freshDir(); const { directory } = open(dir); directory.append(effect(0)); return directory.logBytes; })();
    for (const at of [0, 1, 12, 23, 24, 30, recordBytes - 1]) {
      const dir = freshDir();
      const { files, faults } = faultyFiles();
      const { directory } = open(dir, { files });
      directory.append(effect(0));
      directory.append(effect(1));
      faults.writeBudget = at;
      const error = thrown(() => directory.append(effect(2)));
      expect(error, `failing at byte ${at}`).toMatchObject({ code: 'STORAGE_FAULT', details: { file: path.join(dir, 'wal.0'), cutBack: true } });
      expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
      expect(directory.fault).toBe(error);
      const log = logOf(dir);
      expect(log.effects).toEqual([effect(0), effect(1)]);
      expect(log.validBytes).toBe(fs.statSync(path.join(dir, 'wal.0')).size);
      // Every later write is refused with the same code, naming the first reason, even with room again.
      faults.writeBudget = Infinity;
      expect(thrown(() => directory.append(effect(3)))).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/failed earlier .*ENOSPC/) });
      expect(thrown(() => directory.checkpoint(streamOfState(emptyState())))).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/ENOSPC/) });
      expect(directory.fault).toBe(error);
      expect(logOf(dir).effects).toHaveLength(2);
      // close() releases the lock; a reopen holds exactly what was acknowledged.
      directory.close();
      expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
      const again = open(dir);
      expect(again.effects).toEqual([effect(0), effect(1)]);
      expect(again.recovery).toEqual({ tornBytes: 0 });
    }
  });

  it('an fsync failure under durability always is cut back too', () => {
    const dir = freshDir();
    const { files, faults } = faultyFiles();
    const { directory } = open(dir, { files });
    directory.append(effect(0));
    faults.failFsync = true;
    const error = thrown(() => directory.append(effect(1)));
    expect(error).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/wal\.0.*EIO/) });
    expect((error.cause as NodeJS.ErrnoException).code).toBe('EIO');
    expect(logOf(dir).effects).toEqual([effect(0)]);
    expect(() => directory.close()).not.toThrow();
  });

  it('a cut-back that fails too leaves the directory faulted and says so', () => {
    const dir = freshDir();
    const { files, faults } = faultyFiles();
    const { directory } = open(dir, { files });
    directory.append(effect(0));
    faults.writeBudget = 10;
    faults.failTruncate = true;
    const error = thrown(() => directory.append(effect(1)));
    expect(error).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/cutting it back .* failed too .*reopen may find the refused record/), details: { cutBack: false } });
    expect(directory.fault).toBe(error);
    expect(thrown(() => directory.append(effect(2)))).toMatchObject({ code: 'STORAGE_FAULT' });
    directory.close();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    // The 10 bytes left behind are a torn tail, never a corruption.
    expect(open(dir).recovery).toEqual({ tornBytes: 10 });
  });

  it('a failed checkpoint faults the directory; a reopen has every acknowledged record', () => {
    const dir = freshDir();
    const { files, faults } = faultyFiles();
    const { directory } = open(dir, { files });
    directory.append(effect(0));
    faults.writeBudget = 5;
    expect(thrown(() => directory.checkpoint(streamOfState(emptyState())))).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/checkpoint .*generation 1.*ENOSPC/) });
    expect(thrown(() => directory.append(effect(1)))).toMatchObject({ code: 'STORAGE_FAULT' });
    directory.close();
    const again = open(dir);
    expect(again.directory.generation).toBe(0);
    expect(again.effects).toEqual([effect(0)]);
    expect(fs.readdirSync(dir).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('StoreDirectory: group commit', () => {
  it('syncs on its timer only what is dirty', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { files, faults } = faultyFiles();
    const { directory } = open(freshDir(), { files, durability: 'batch', groupCommitMs: 50 });
    const base = faults.fsyncs;
    directory.append(effect(0));
    expect(faults.fsyncs).toBe(base);
    vi.advanceTimersByTime(50);
    expect(faults.fsyncs).toBe(base + 1);
    vi.advanceTimersByTime(500);
    expect(faults.fsyncs).toBe(base + 1);
  });

  it('an fsync failure on the timer never throws: it faults the directory, goes to onFault once, and flush() throws it', () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const dir = freshDir();
    const { files, faults } = faultyFiles();
    const onFault = vi.fn();
    const { directory } = open(dir, { files, durability: 'batch', groupCommitMs: 50, onFault });
    directory.append(effect(0));
    faults.failFsync = true;
    expect(() => vi.advanceTimersByTime(50)).not.toThrow();
    expect(onFault).toHaveBeenCalledTimes(1);
    const fault = onFault.mock.calls[0]![0] as Error & { code: string; cause: NodeJS.ErrnoException };
    expect(fault).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/could not sync .*wal\.0.*EIO/), details: { file: path.join(dir, 'wal.0') } });
    expect(fault.cause.code).toBe('EIO');
    expect(directory.fault).toBe(fault);
    expect(thrown(() => directory.flush())).toBe(fault);
    expect(thrown(() => directory.append(effect(1)))).toMatchObject({ code: 'STORAGE_FAULT' });
    vi.advanceTimersByTime(500);
    expect(onFault).toHaveBeenCalledTimes(1);
    // Already reported: close() does not throw it again, and releases the lock.
    expect(() => directory.close()).not.toThrow();
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });

  it('close() throws a sync failure it meets first, and still releases the lock', () => {
    const dir = freshDir();
    const { files, faults } = faultyFiles();
    const { directory } = open(dir, { files, durability: 'batch', groupCommitMs: 60_000 });
    directory.append(effect(0));
    faults.failFsync = true;
    expect(thrown(() => directory.close())).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/on close/) });
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    expect(() => directory.close()).not.toThrow();
  });
});

describe('a real full disk', () => {
  const mountPoint = path.join(root, 'tmpfs');
  fs.mkdirSync(mountPoint);
  let mounted = false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint], { stdio: 'ignore' });
    mounted = true;
  } catch {
    // Mounting needs root (or CAP_SYS_ADMIN): the tests below are skipped.
  }
  afterAll(() => { if (mounted) execFileSync('umount', [mountPoint]); });
  const onTmpfs = mounted ? it : it.skip;
  if (!mounted) it.skip('needs permission to mount a tmpfs (run the suite as root)', () => {});

  onTmpfs('StoreDirectory: writes until ENOSPC; the log holds exactly the acknowledged records and reopens cleanly', () => {
    const dir = path.join(mountPoint, 'directory');
    const { directory } = open(dir);
    const acknowledged: unknown[] = [];
    let error: (Error & { code?: string; cause?: unknown }) | undefined;
    for (let i = 0; !error; i++) {
      const e = { e: [{ op: 'focus', id: i }], text: `${i} `.repeat(800) };
      try { directory.append(e); acknowledged.push(e); } catch (caught) { error = caught as Error; }
    }
    expect(error).toMatchObject({ code: 'STORAGE_FAULT' });
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(acknowledged.length).toBeGreaterThan(100);
    expect(logOf(dir).effects).toEqual(acknowledged);
    directory.close();
    const again = open(dir);
    expect(again.effects).toEqual(acknowledged);
    expect(again.recovery).toEqual({ tornBytes: 0 });
    again.directory.close();
    fs.rmSync(dir, { recursive: true });
  });

  onTmpfs('OVMemory: adds until the disk is full; a reopen holds every acknowledged memory and nothing else', async () => {
    const dir = path.join(mountPoint, 'store');
    const memory = await OVMemory.open(dir, { dim: 16, threads: 0, logLevel: 'silent', durability: 'always' });
    const acknowledged: number[] = [];
    let error: unknown;
    for (let i = 0; error === undefined; i++) {
      try {
        acknowledged.push(memory.add({ embedding: Array.from({ length: 16 }, (_, j) => Math.cos(i + j)), text: `memory ${i} `.repeat(150), metadata: { i } }));
      } catch (caught) { error = caught; }
    }
    expect(error).toMatchObject({ code: 'STORAGE_FAULT' });
    await memory.close().catch(() => undefined);
    const reopened = await OVMemory.open(dir, { threads: 0, logLevel: 'silent' });
    expect([...reopened.ids()]).toEqual(acknowledged);
    for (const id of acknowledged) expect(reopened.get(id)!.metadata.i).toBe(id);
    await reopened.close();
  });
});

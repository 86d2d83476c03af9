// OVMemory.open(name) in real Chromium: the same snapshot and log files as in Node, kept in the
// origin private file system by the store worker. What flush() acknowledged survives a reload and
// a killed browser; a torn tail is dropped, a flipped byte is MEMORY_CORRUPTION; one page owns a
// store at a time (LOCKED, or waitForLock); the files and export() bytes cross between Node and a page.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { serveStatic } from '../scripts/static-server.mjs';
import { launchChromium, startWithProfile } from './helpers/chromium.js';

const root = path.resolve(__dirname, '..');
type Lib = typeof import('ov-memory');
interface Hooks {
  read(name: string): Promise<Record<string, number[]>>;
  write(name: string, files: Record<string, number[]>): Promise<void>;
  append(name: string, file: string, bytes: number[]): Promise<void>;
  flip(name: string, file: string, offset: number): Promise<void>;
  names(name: string): Promise<string[]>;
  block(name: string, entry: string): Promise<void>;
  unblock(name: string, entry: string): Promise<void>;
}
declare global {
  interface Window { ov: Lib; opfs: Hooks; idb: Pick<Hooks, 'read' | 'flip' | 'append'>; ovReady?: boolean; store?: import('ov-memory').OVMemory; opening?: Promise<unknown> }
}

let server: { url: string; close(): Promise<void> };
let browser: Browser;
beforeAll(async () => {
  server = await serveStatic(root, false, 0, ['dist', 'test/fixtures/browser']);
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const PAGE = () => `${server.url}/test/fixtures/browser/store.html`;
const unit = (i: number) => Array.from({ length: 8 }, (_, j) => Math.cos(i * 7 + j));

async function load(page: Page, url = PAGE()): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => window.ovReady === true);
}

/** Opens `name` in the page (left in window.store); answers the error's code and message when it fails. */
function openIn(page: Page, name: string, options: Record<string, unknown> = { dim: 8 }) {
  return page.evaluate(async ({ name, options }) => {
    try {
      window.store = await window.ov.OVMemory.open(name, { logLevel: 'silent', ...options });
      return { ok: true as const, size: window.store.size, recovery: window.store.recovery };
    } catch (e) {
      const err = e as { code: string; message: string; details: Record<string, unknown> };
      return { ok: false as const, code: err.code, message: err.message, details: err.details };
    }
  }, { name, options });
}

/** Adds memories `from` to `to - 1` (text `m<i>`) to the open store; flushes when asked. */
function addIn(page: Page, from: number, to: number, flush: boolean) {
  return page.evaluate(async ({ from, to, flush, vectors }) => {
    for (let i = from; i < to; i++) window.store!.add({ embedding: vectors[i - from]!, text: `m${i}` }, { link: 'none' });
    if (flush) await window.store!.flush();
  }, { from, to, flush, vectors: Array.from({ length: to - from }, (_, k) => unit(from + k)) });
}

const textsIn = (page: Page) => page.evaluate(() => [...window.store!.ids()].map((id) => window.store!.get(id)!.text));
const closeIn = (page: Page) => page.evaluate(() => window.store?.close());
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `m${from + i}`);

describe('OVMemory.open() in a page', () => {
  it('keeps what flush() acknowledged across a reload, with the log and snapshot files of Node', async () => {
    const page = await browser.newPage();
    try {
      await load(page);
      expect(await openIn(page, 'reload')).toMatchObject({ ok: true, size: 0 });
      await addIn(page, 0, 25, true);
      await page.reload();
      await page.waitForFunction(() => window.ovReady === true);
      expect(await openIn(page, 'reload', {})).toMatchObject({ ok: true, size: 25, recovery: { tornBytes: 0 } });
      expect(await textsIn(page)).toEqual(range(0, 25));
      await closeIn(page);
      expect(await page.evaluate(() => window.opfs.names('reload'))).toEqual(['snap.0', 'wal.0']);
    } finally {
      await page.close();
    }
  });

  it('lets one page own a store: a second gets LOCKED, or waits with waitForLock, and opens once the first closes', async () => {
    // Two pages of one browser context: the same origin's storage and locks.
    const context = await browser.newContext();
    const first = await context.newPage(), second = await context.newPage();
    try {
      await load(first);
      await load(second);
      expect(await openIn(first, 'owned')).toMatchObject({ ok: true });
      await addIn(first, 0, 3, true);
      const refused = await openIn(second, 'owned');
      expect(refused).toMatchObject({ ok: false, code: 'LOCKED', details: { name: 'owned' } });
      expect(refused.ok === false && refused.message).toContain('open in another tab or worker of this origin');
      // Waiting: the open resolves only after the first page closes the store.
      await second.evaluate(() => { window.opening = window.ov.OVMemory.open('owned', { waitForLock: true, logLevel: 'silent' }).then((m) => { window.store = m; return m.size; }); });
      expect(await second.evaluate(() => Promise.race([window.opening, new Promise((r) => setTimeout(() => r('waiting'), 300))]))).toBe('waiting');
      await closeIn(first);
      expect(await second.evaluate(() => window.opening)).toBe(3);
      await closeIn(second);
      expect(await openIn(first, 'owned', {})).toMatchObject({ ok: true, size: 3 });
      await closeIn(first);
    } finally {
      await context.close();
    }
  });
});

describe('a page\'s store on damaged files', () => {
  it('checkpoints, drops a torn tail, refuses a flipped byte with MEMORY_CORRUPTION and salvages it with repair', async () => {
    const page = await browser.newPage();
    try {
      await load(page);
      expect(await openIn(page, 'damaged')).toMatchObject({ ok: true });
      await addIn(page, 0, 10, true);
      await page.evaluate(() => window.store!.checkpoint());
      await addIn(page, 10, 15, true);
      await closeIn(page);
      // Generation 1 is the newest; generation 0 stays as the fallback, as in Node.
      expect(await page.evaluate(() => window.opfs.names('damaged'))).toEqual(['snap.0', 'snap.1', 'wal.0', 'wal.1']);
      const wal = (await page.evaluate(() => window.opfs.read('damaged')))['wal.1']!;
      expect(await openIn(page, 'damaged', {})).toMatchObject({ ok: true, size: 15, recovery: { tornBytes: 0 } });
      expect(await textsIn(page)).toEqual(range(0, 15));
      await closeIn(page);

      // A record cut short at the end (a write that never finished): dropped, the log cut back.
      const first = wal.slice(32);
      const length = 24 + new DataView(Uint8Array.from(first).buffer).getUint32(8, true) + 4;
      await page.evaluate(({ bytes }) => window.opfs.append('damaged', 'wal.1', bytes), { bytes: first.slice(0, length - 3) });
      expect(await openIn(page, 'damaged', {})).toMatchObject({ ok: true, size: 15, recovery: { tornBytes: length - 3 } });
      await closeIn(page);
      expect((await page.evaluate(() => window.opfs.read('damaged')))['wal.1']).toEqual(wal);

      // One flipped bit pattern in the first record's payload: the store refuses to open, naming the file and offset.
      await page.evaluate(() => window.opfs.flip('damaged', 'wal.1', 32 + 24 + 2));
      const refused = await openIn(page, 'damaged', {});
      expect(refused).toMatchObject({ ok: false, code: 'MEMORY_CORRUPTION', details: { file: 'ov-memory/damaged/wal.1', offset: 32 } });
      expect(refused.ok === false && refused.message).toContain('ov-memory/damaged/wal.1: record payload checksum mismatch at offset 32');
      // repair: what precedes the damage (the snapshot of generation 1) opens; the rest is kept aside and reported.
      const repaired = await openIn(page, 'damaged', { repair: true });
      expect(repaired).toMatchObject({ ok: true, size: 10, recovery: { lost: [{ kind: 'log', file: 'ov-memory/damaged/wal.1', offset: 32, copy: 'ov-memory/damaged/wal.1.damaged' }] } });
      expect(await textsIn(page)).toEqual(range(0, 10));
      await closeIn(page);
      expect(await page.evaluate(() => window.opfs.names('damaged'))).toContain('wal.1.damaged');
    } finally {
      await page.close();
    }
  });

  it('forgets for good: after forget() the next checkpoint leaves no file holding the forgotten text', async () => {
    const page = await browser.newPage();
    try {
      await load(page);
      await openIn(page, 'erase');
      await page.evaluate(async ({ vectors }) => {
        const m = window.store!;
        m.add({ embedding: vectors[0]!, text: 'an ordinary note', scope: { user: 'ann' } }, { link: 'none' });
        m.add({ embedding: vectors[1]!, text: 'SECRET of bob', scope: { user: 'bob' } }, { link: 'none' });
        await m.checkpoint();   // generation 1: both memories in the snapshot, generation 0 kept as the fallback
        if (await m.forget({ scope: { user: 'bob' } }) !== 1) throw new Error('forget() should remove one memory');
        await m.checkpoint();
        await m.close();
      }, { vectors: [unit(1), unit(2)] });
      const files = await page.evaluate(() => window.opfs.read('erase'));
      expect(Object.keys(files).sort()).toEqual(['snap.2', 'wal.2']);
      const secret = [...new TextEncoder().encode('SECRET')];
      for (const [name, bytes] of Object.entries(files)) expect(Buffer.from(bytes).includes(Buffer.from(secret)), name).toBe(false);
      expect(await openIn(page, 'erase', {})).toMatchObject({ ok: true, size: 1 });
      expect(await textsIn(page)).toEqual(['an ordinary note']);
      await closeIn(page);
    } finally {
      await page.close();
    }
  });

  it('fails closed when the store worker cannot write: STORAGE_FAULT for every later write, reads go on, a reopen writes again', async () => {
    const page = await browser.newPage();
    try {
      await load(page);
      await openIn(page, 'faulty');
      await addIn(page, 0, 3, true);
      // A folder where the checkpoint's temporary file must go: OPFS refuses to make the file.
      await page.evaluate(() => window.opfs.block('faulty', 'wal.1.tmp'));
      const after = await page.evaluate(async ({ vector }) => {
        const m = window.store!;
        const code = (run: () => unknown) => Promise.resolve().then(run).then(() => 'ok', (e: { code: string }) => e.code);
        return {
          checkpoint: await code(() => m.checkpoint()),
          add: await code(() => m.add({ embedding: vector, text: 'refused' })),
          flush: await code(() => m.flush()),
          size: m.size,
          hits: (await m.search(vector, { topK: 1 })).length,
          health: m.health().status,
        };
      }, { vector: unit(5) });
      expect(after).toEqual({ checkpoint: 'STORAGE_FAULT', add: 'STORAGE_FAULT', flush: 'STORAGE_FAULT', size: 3, hits: 1, health: 'CRITICAL' });
      await closeIn(page);
      await page.evaluate(() => window.opfs.unblock('faulty', 'wal.1.tmp'));
      expect(await openIn(page, 'faulty', {})).toMatchObject({ ok: true, size: 3 });
      await addIn(page, 3, 4, true);
      await page.evaluate(() => window.store!.checkpoint());
      await closeIn(page);
      expect(await openIn(page, 'faulty', {})).toMatchObject({ ok: true, size: 4 });
      await closeIn(page);
    } finally {
      await page.close();
    }
  });

  it('refuses a name that cannot be a store, and a new store without dim, with INVALID_DATA', async () => {
    const page = await browser.newPage();
    try {
      await load(page);
      expect(await openIn(page, 'a/b')).toMatchObject({ ok: false, code: 'INVALID_DATA', message: expect.stringContaining('Expected `name` to be a store name') });
      expect(await openIn(page, '..')).toMatchObject({ ok: false, code: 'INVALID_DATA' });
      expect(await openIn(page, 'fresh', {})).toMatchObject({ ok: false, code: 'INVALID_DATA', message: expect.stringContaining('`dim`') });
      expect(await openIn(page, 'fresh', { dim: 8, waitForLock: 'yes' })).toMatchObject({ ok: false, code: 'INVALID_DATA', message: expect.stringContaining('`waitForLock`') });
      // Nothing was left locked or half made: the store opens now.
      expect(await openIn(page, 'fresh')).toMatchObject({ ok: true, size: 0 });
      await closeIn(page);
    } finally {
      await page.close();
    }
  });
});

describe('one format between Node and a page', () => {
  const dirs: string[] = [];
  afterAll(() => { for (const dir of dirs) rmSync(dir, { recursive: true, force: true }); });
  const tmp = () => { const dir = mkdtempSync(path.join(os.tmpdir(), 'ov-opfs-')); dirs.push(dir); return dir; };
  const nodeTexts = (memory: OVMemory) => [...memory.ids()].map((id) => memory.get(id)!.text);

  it('Node opens the files a page wrote, and imports its export()', async () => {
    const page = await browser.newPage();
    try {
      await load(page);
      await openIn(page, 'to-node');
      await addIn(page, 0, 6, true);
      const exported = await page.evaluate(async () => Array.from(await window.store!.export()));
      await closeIn(page);
      const files = await page.evaluate(() => window.opfs.read('to-node'));
      const dir = tmp();
      for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), Uint8Array.from(bytes));
      const opened = await OVMemory.open(dir, { logLevel: 'silent' });
      expect(nodeTexts(opened)).toEqual(range(0, 6));
      const norm = Math.hypot(...unit(3));
      Array.from(opened.get(3, { embedding: true })!.embedding!).forEach((v, j) => expect(v).toBeCloseTo(unit(3)[j]! / norm, 6));
      await opened.close();
      const imported = await OVMemory.import(Uint8Array.from(exported), { logLevel: 'silent' });
      expect(nodeTexts(imported)).toEqual(range(0, 6));
      await imported.close();
    } finally {
      await page.close();
    }
  });

  it('a page opens the files Node wrote, and imports its export()', async () => {
    const dir = tmp();
    const memory = await OVMemory.open(dir, { dim: 8, logLevel: 'silent' });
    for (let i = 0; i < 7; i++) memory.add({ embedding: unit(i), text: `m${i}` }, { link: 'none' });
    await memory.checkpoint();
    memory.add({ embedding: unit(7), text: 'm7' }, { link: 'none' });
    const exported = Array.from(await memory.export());
    await memory.close();
    const files = Object.fromEntries(readdirSync(dir).filter((name) => name !== 'LOCK').map((name) => [name, Array.from(readFileSync(path.join(dir, name)))]));
    const page = await browser.newPage();
    try {
      await load(page);
      await page.evaluate(({ files }) => window.opfs.write('from-node', files), { files });
      expect(await openIn(page, 'from-node', {})).toMatchObject({ ok: true, size: 8 });
      expect(await textsIn(page)).toEqual(range(0, 8));
      // It goes on writing in the same files.
      await addIn(page, 8, 9, true);
      await closeIn(page);
      const imported = await page.evaluate(async ({ bytes }) => {
        const m = await window.ov.OVMemory.import(Uint8Array.from(bytes), { logLevel: 'silent' });
        return [...m.ids()].map((id) => m.get(id)!.text);
      }, { bytes: exported });
      expect(imported).toEqual(range(0, 8));
    } finally {
      await page.close();
    }
  });
});

describe('a page\'s store when the browser is killed', () => {
  it('opens again on the same profile with every flushed memory, and no hole after them', async () => {
    const profile = mkdtempSync(path.join(os.tmpdir(), 'ov-profile-'));
    try {
      let chromium = await startWithProfile(profile);
      let page = await chromium.browser.contexts()[0]!.newPage();
      await load(page);
      expect(await openIn(page, 'crash')).toMatchObject({ ok: true });
      await addIn(page, 0, 20, true);
      // Writes go on, never flushed, until the browser is killed under them.
      await page.evaluate(({ vector }) => {
        let i = 20;
        setInterval(() => { window.store!.add({ embedding: vector, text: `m${i++}` }, { link: 'none' }); }, 1);
      }, { vector: unit(99) });
      await page.waitForFunction(() => window.store!.size >= 60);
      await chromium.kill();

      chromium = await startWithProfile(profile);
      page = await chromium.browser.contexts()[0]!.newPage();
      await load(page);
      const reopened = await openIn(page, 'crash', {});
      expect(reopened).toMatchObject({ ok: true });
      const texts = await textsIn(page);
      expect(texts.length).toBeGreaterThanOrEqual(20);
      expect(texts).toEqual(range(0, texts.length));
      await closeIn(page);
      await chromium.kill();
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

describe('the demo page (npm run demo:web)', () => {
  it('keeps a memory added in the page across a reload', async () => {
    const demo = await serveStatic(root, true, 0, ['demo', 'dist']);
    const page = await browser.newPage();
    try {
      await page.goto(`${demo.url}/demo/index.html`);
      await page.waitForFunction(() => (window as { __ready?: boolean }).__ready === true, undefined, { timeout: 60_000 });
      expect(await page.textContent('#status')).toMatch(/^5,008 memories \(kept in this browser\)/);
      await page.fill('#text', 'the user parks the bicycle in the courtyard');
      await page.click('#add button');
      await page.waitForFunction(() => (window as { __added?: number }).__added === 1);
      await page.reload();
      await page.waitForFunction(() => (window as { __ready?: boolean }).__ready === true, undefined, { timeout: 60_000 });
      expect(await page.textContent('#status')).toMatch(/^5,009 memories \(kept in this browser\)/);
      await page.fill('#query', 'where is the bicycle parked?');
      await page.click('#search button');
      await page.waitForSelector('#hits tbody tr');
      expect(await page.textContent('#hits tbody tr:first-child td:nth-child(2)')).toBe('the user parks the bicycle in the courtyard');
    } finally {
      await page.close();
      await demo.close();
    }
  });
});

describe('a page\'s store in IndexedDB (where workers have no synchronous OPFS handles)', () => {
  const idb = { dim: 8, internal: { storage: 'indexeddb' } };
  const again = { internal: { storage: 'indexeddb' } };

  it('keeps what flush() acknowledged across a reload and checkpoints; one page owns it', async () => {
    const context = await browser.newContext();
    const page = await context.newPage(), other = await context.newPage();
    try {
      await load(page);
      await load(other);
      expect(await openIn(page, 'kept', idb)).toMatchObject({ ok: true, size: 0 });
      await addIn(page, 0, 10, true);
      await page.evaluate(() => window.store!.checkpoint());
      await addIn(page, 10, 14, true);
      expect(await openIn(other, 'kept', again)).toMatchObject({ ok: false, code: 'LOCKED' });
      await page.reload();
      await page.waitForFunction(() => window.ovReady === true);
      expect(await openIn(page, 'kept', again)).toMatchObject({ ok: true, size: 14, recovery: { tornBytes: 0 } });
      expect(await textsIn(page)).toEqual(range(0, 14));
      await closeIn(page);
      // Nothing went to OPFS; generation 1 is the newest, 0 its fallback.
      expect(Object.keys(await page.evaluate(() => window.idb.read('kept'))).sort()).toEqual(['snap.0', 'snap.1', 'wal.0', 'wal.1']);
      expect(await page.evaluate(() => window.opfs.names('kept').then(() => 'in OPFS', () => 'not in OPFS'))).toBe('not in OPFS');
    } finally {
      await context.close();
    }
  });

  it('drops a torn tail, refuses a flipped byte with MEMORY_CORRUPTION, and Node opens the files it holds', async () => {
    const page = await browser.newPage();
    try {
      await load(page);
      await openIn(page, 'checked', idb);
      await addIn(page, 0, 5, true);
      await closeIn(page);
      const files = await page.evaluate(() => window.idb.read('checked'));
      const dir = mkdtempSync(path.join(os.tmpdir(), 'ov-idb-'));
      try {
        for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(dir, name), Uint8Array.from(bytes));
        const opened = await OVMemory.open(dir, { logLevel: 'silent' });
        expect([...opened.ids()].map((id) => opened.get(id)!.text)).toEqual(range(0, 5));
        await opened.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      const wal = files['wal.0']!;
      await page.evaluate(({ bytes }) => window.idb.append('checked', 'wal.0', bytes), { bytes: wal.slice(32, 32 + 30) });
      expect(await openIn(page, 'checked', again)).toMatchObject({ ok: true, size: 5, recovery: { tornBytes: 30 } });
      await closeIn(page);
      expect((await page.evaluate(() => window.idb.read('checked')))['wal.0']).toEqual(wal);
      await page.evaluate(() => window.idb.flip('checked', 'wal.0', 32 + 24 + 2));
      expect(await openIn(page, 'checked', again)).toMatchObject({ ok: false, code: 'MEMORY_CORRUPTION', details: { file: 'ov-memory/checked/wal.0', offset: 32 } });
    } finally {
      await page.close();
    }
  });
});

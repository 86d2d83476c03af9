// OVMemory.open(name) in real Chromium: the same snapshot and log files as in Node, kept in the
// origin private file system by the store worker. What flush() acknowledged survives a reload and
// a killed browser; a torn tail is dropped, a flipped byte is MEMORY_CORRUPTION; one page owns a
// store at a time (LOCKED, or waitForLock); the files and export() bytes cross between Node and a page.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { serveStatic } from '../scripts/static-server.mjs';
import { CHROMIUM, launchChromium } from './helpers/chromium.js';

const root = path.resolve(__dirname, '..');
type Lib = typeof import('ov-memory');
interface Hooks {
  read(name: string): Promise<Record<string, number[]>>;
  write(name: string, files: Record<string, number[]>): Promise<void>;
  append(name: string, file: string, bytes: number[]): Promise<void>;
  flip(name: string, file: string, offset: number): Promise<void>;
  names(name: string): Promise<string[]>;
}
declare global {
  interface Window { ov: Lib; opfs: Hooks; ovReady?: boolean; store?: import('ov-memory').OVMemory; opening?: Promise<unknown> }
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

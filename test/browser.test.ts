// The browser bundle in real Chromium (Debian's, driven by playwright-core), served twice: with the
// COOP/COEP headers (cross-origin isolated: Web Workers over one shared memory) and without (the
// unshared kernels on the page's thread). Results are compared with a float64 scan in Node.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSameHits, randomVectors, referenceSearch } from './helpers/data.js';
import { serveStatic } from '../scripts/static-server.mjs';

const CHROMIUM = '/usr/bin/chromium';
const root = path.resolve(__dirname, '..');
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`Chromium is missing at ${CHROMIUM}: run scripts/install-chromium.sh (as root), which .ci/run does`);
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
  });
});
afterAll(async () => {
  await browser?.close();
});

async function runPage(isolated: boolean) {
  const server = await serveStatic(root, isolated, 0, ['dist', 'test/fixtures/browser']);
  const page = await browser.newPage();
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  page.on('pageerror', (e) => logs.push(String(e)));
  try {
    await page.goto(`${server.url}/test/fixtures/browser/page.html`);
    await page.waitForFunction(() => (window as { __result?: unknown }).__result !== undefined, undefined, { timeout: 120_000 });
    const result = await page.evaluate(() => (window as { __result?: unknown }).__result) as Record<string, unknown>;
    if (result.failed) throw new Error(`${result.failed}\n${logs.join('\n')}`);
    return result as {
      crossOriginIsolated: boolean; executor: string; size: number; health: string; breaker: unknown;
      searches: { id: number; score: number; similarity: number }[][]; batch: number[][]; scoped: { id: number; score: number; similarity: number }[][];
      errors: Record<string, { name: string; code: string; ours: boolean; invalid: boolean; message: string } | null>;
    };
  } finally {
    await page.close();
    await server.close();
  }
}

const corpus = randomVectors(20_000, 384, 11);
const rows = corpus.map((vector, id) => ({ id, vector }));
const queries = randomVectors(5, 384, 12);

for (const isolated of [true, false]) {
  describe(`browser (${isolated ? 'cross-origin isolated: web workers' : 'not isolated: inline'})`, () => {
    it('searches 20k × 384 like a float64 scan, scoped too, with the same errors as Node', async () => {
      const r = await runPage(isolated);
      expect(r.crossOriginIsolated).toBe(isolated);
      expect(r.executor).toBe(isolated ? 'web-workers' : 'inline');
      // No scan fell back to the page's thread: the workers (when there are some) did the work.
      expect(r.breaker).toEqual({ state: 'CLOSED', failures: 0, opens: 0 });
      expect(r.size).toBe(20_000);
      queries.forEach((q, i) => {
        const want = referenceSearch(rows, q, { rank: 'similarity', k: 11 });
        expectSameHits(r.searches[i]!, want);
        expect(r.batch[i]).toEqual(r.searches[i]!.map((h) => h.id));
        expectSameHits(r.scoped[i]!, referenceSearch(rows.filter((row) => row.id % 2 === 0), q, { rank: 'similarity', k: 11 }));
      });
      expect(r.errors.zeroVector).toMatchObject({ code: 'INVALID_DATA', name: 'InvalidDataError', ours: true, invalid: true });
      expect(r.errors.wrongLength).toMatchObject({ code: 'INVALID_DATA', message: '`query` has 3 values, expected 384' });
      expect(r.errors.open).toMatchObject({ code: 'UNSUPPORTED', ours: true });
      expect(r.errors.prometheus).toMatchObject({ code: 'UNSUPPORTED' });
      expect(r.health).toBe('WARNING');   // the rejected calls above only warn
    });
  });
}

describe('browser bundle', () => {
  it('holds no Node built-in, piscina, prom-client or the durable store', () => {
    const bundle = readFileSync(path.join(root, 'dist/browser.js'), 'utf8');
    expect(bundle).not.toMatch(/from\s*["'](node:|fs|path|os|worker_threads|piscina|prom-client)["']/);
    expect(bundle).not.toMatch(/import\(\s*["'](node:|piscina|prom-client)/);
    // A require() outside eval'd strings (hdr-histogram-js keeps an eval'd zlib path it never takes here).
    expect(bundle.replace(/eval\('[^']*'\)/g, '')).not.toMatch(/\brequire\(["']/);
    expect(bundle).not.toMatch(/class StoreDirectory|new Piscina|fsyncSync|availableParallelism/);
  });
});

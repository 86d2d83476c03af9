// A tiny app (test/fixtures/bundler-app) built as a user builds it, with Vite and with esbuild plus
// ovMemoryAssets(), served with and without cross-origin isolation in real Chromium: the store
// works, its scans run on Web Workers when the page is isolated, and every wasm file and worker
// script the page fetched came from the bundle's own output. A file that is not there is
// UNSUPPORTED, naming its URL and what to configure.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_ASSETS } from 'ov-memory/esbuild';
import { serveStatic } from '../scripts/static-server.mjs';
import { buildApp, type BuiltApp, type Bundler } from './helpers/bundled-app.js';
import { launchChromium } from './helpers/chromium.js';

let browser: Browser;
beforeAll(async () => { browser = await launchChromium(); });
afterAll(async () => { await browser?.close(); });

/** Opens the built app and waits until it has loaded the library. */
async function openApp(page: Page, url: string): Promise<void> {
  await page.goto(url);
  await page.waitForFunction(() => (window as { ovReady?: boolean }).ovReady === true, undefined, { timeout: 60_000 });
}

for (const bundler of ['vite', 'esbuild'] as Bundler[]) {
  describe(`an app built with ${bundler}`, () => {
    let app: BuiltApp;
    beforeAll(async () => { app = await buildApp(bundler); }, 120_000);
    afterAll(() => app?.remove());

    for (const isolated of [true, false]) {
      it(`creates, adds and searches ${isolated ? 'on Web Workers (cross-origin isolated)' : 'on the page\'s thread (not isolated)'}, with its files served from the bundle`, async () => {
        const server = await serveStatic(app.dir, isolated, 0, ['out']);
        const page = await browser.newPage();
        const fetched: { url: string; status: number }[] = [];
        page.on('response', (r) => fetched.push({ url: r.url(), status: r.status() }));
        const problems: string[] = [];
        page.on('pageerror', (e) => problems.push(String(e)));
        try {
          await openApp(page, `${server.url}/out/index.html`);
          const result = await page.evaluate(async () => {
            const { OVMemory, hashingEmbedder } = (window as unknown as { ov: typeof import('ov-memory') }).ov;
            const embedder = hashingEmbedder({ dim: 64 });
            // poolMinRows 1: even this small store scans on the workers when it may.
            const memory = await OVMemory.create({ embedder, logLevel: 'silent', internal: { poolMinRows: 1 } } as never);
            await memory.rememberMany([
              { text: 'the cat sleeps on the warm windowsill' },
              { text: 'quarterly revenue grew by twelve percent' },
              { text: 'a dog chases the ball across the park' },
            ]);
            const hits = await memory.search('where does the cat sleep', { topK: 2 });
            const out = {
              crossOriginIsolated, executor: memory.executor, size: memory.size, top: hits[0]?.text,
              breaker: memory.metrics().breaker, reopened: 0,
            };
            await memory.close();
            // The durable store's worker comes from the bundle too.
            const durable = await OVMemory.open('app', { embedder, logLevel: 'silent' });
            await durable.remember({ text: 'kept in the origin private file system' });
            await durable.close();
            const again = await OVMemory.open('app', { embedder, logLevel: 'silent' });
            out.reopened = again.size;
            await again.close();
            return out;
          });
          expect(problems).toEqual([]);
          expect(result).toMatchObject({ crossOriginIsolated: isolated, executor: isolated ? 'web-workers' : 'inline', size: 3, top: 'the cat sleeps on the warm windowsill', reopened: 1 });
          expect(result.breaker).toMatchObject({ state: 'CLOSED', failures: 0 });
          const own = (url: string) => url.startsWith(`${server.url}/out/`);
          const wasm = fetched.filter((r) => /\.wasm(\?|$)/.test(r.url));
          // The SIMD build: shared when isolated, unshared otherwise.
          expect(wasm.map((r) => path.basename(new URL(r.url).pathname))).toEqual([expect.stringMatching(isolated ? /^ov-memory(-[\w-]{8})?\.wasm$/ : /^ov-memory-unshared(-[\w-]{8})?\.wasm$/)]);
          expect(wasm.every((r) => own(r.url) && r.status === 200)).toBe(true);
          const workers = fetched.filter((r) => /browser-worker/.test(r.url));
          if (isolated) expect(workers.length).toBeGreaterThan(0);
          expect(workers.every((r) => own(r.url) && r.status === 200)).toBe(true);
          const storeWorker = fetched.filter((r) => /browser-store-worker/.test(r.url));
          expect(storeWorker.length).toBeGreaterThan(0);
          expect(storeWorker.every((r) => own(r.url) && r.status === 200)).toBe(true);
          expect(fetched.filter((r) => r.status >= 400)).toEqual([]);
        } finally {
          await page.close();
          await server.close();
        }
      });
    }

    it('reports a kernel the server does not have as UNSUPPORTED, naming its URL and what to configure', async () => {
      const kernel = bundler === 'esbuild' ? 'ov-memory-unshared.wasm' : undefined;
      if (kernel) rmSync(path.join(app.dir, 'out', kernel));
      const server = await serveStatic(app.dir, false, 0, ['out']);
      const page = await browser.newPage();
      try {
        await openApp(page, `${server.url}/out/index.html`);
        const error = await page.evaluate(async (missingBase) => {
          const { OVMemory, OVMemoryError } = (window as unknown as { ov: typeof import('ov-memory') }).ov;
          // With Vite the files are all there: point assetBase at a folder that holds none.
          const options = missingBase ? { dim: 8, assetBase: missingBase } : { dim: 8 };
          try {
            await OVMemory.create(options);
            return null;
          } catch (e) {
            const err = e as InstanceType<typeof OVMemoryError>;
            return { ours: err instanceof OVMemoryError, code: err.code, message: err.message, url: err.details.url };
          }
        }, kernel ? undefined : `${server.url}/nowhere/`);
        const url = kernel ? `${server.url}/out/${kernel}` : `${server.url}/nowhere/ov-memory-unshared.wasm`;
        expect(error).toMatchObject({ ours: true, code: 'UNSUPPORTED', url });
        expect(error!.message).toContain(`cannot load ${url} (HTTP 404)`);
        expect(error!.message).toMatch(/ovMemoryAssets\(\) plugin of ov-memory\/esbuild.*`assetBase`/);
      } finally {
        await page.close();
        await server.close();
      }
    });
  });
}

describe('assets from another origin (a CDN)', () => {
  it('loads the kernels and both workers from assetBase, also cross-origin isolated', async () => {
    const root = path.resolve(__dirname, '..');
    const page = await browser.newPage();
    const site = await serveStatic(root, true, 0, ['dist', 'test/fixtures/browser']);
    const cdn = await serveStatic(root, false, 0, ['dist'], true);
    const fetched: string[] = [];
    page.on('response', (r) => { if (/\.wasm|worker/.test(r.url())) fetched.push(`${r.status()} ${r.url()}`); });
    try {
      await page.goto(`${site.url}/test/fixtures/browser/store.html`);
      await page.waitForFunction(() => (window as { ovReady?: boolean }).ovReady === true);
      const result = await page.evaluate(async (assetBase) => {
        const { OVMemory } = (window as unknown as { ov: typeof import('ov-memory') }).ov;
        const memory = await OVMemory.open('from-cdn', { dim: 4, assetBase, logLevel: 'silent', internal: { poolMinRows: 1 } } as never);
        memory.add({ embedding: [1, 0, 0, 0], text: 'north' });
        memory.add({ embedding: [0, 1, 0, 0], text: 'east' });
        const hits = await memory.search([0.9, 0.1, 0, 0], { topK: 1 });
        await memory.flush();
        const out = { executor: memory.executor, top: hits[0]?.text, breaker: memory.metrics().breaker.state };
        await memory.close();
        return out;
      }, `${cdn.url}/dist`);   // no trailing slash: it names a folder all the same
      expect(result).toEqual({ executor: 'web-workers', top: 'north', breaker: 'CLOSED' });
      expect(fetched).toEqual(expect.arrayContaining([
        `200 ${cdn.url}/dist/ov-memory.wasm`, `200 ${cdn.url}/dist/browser-worker.js`, `200 ${cdn.url}/dist/browser-store-worker.js`,
      ]));
      expect(fetched.filter((line) => line.includes(site.url))).toEqual([]);
    } finally {
      await page.close();
      await site.close();
      await cdn.close();
    }
  });

  it('reports a store worker that does not load as UNSUPPORTED naming its URL, and leaves the store unlocked', async () => {
    const root = path.resolve(__dirname, '..');
    const site = await serveStatic(root, false, 0, ['dist', 'test/fixtures/browser']);
    const page = await browser.newPage();
    try {
      await page.goto(`${site.url}/test/fixtures/browser/store.html`);
      await page.waitForFunction(() => (window as { ovReady?: boolean }).ovReady === true);
      const result = await page.evaluate(async (assetBase) => {
        const { OVMemory } = (window as unknown as { ov: typeof import('ov-memory') }).ov;
        const error = await OVMemory.open('no-worker', { dim: 4, assetBase, logLevel: 'silent' }).then(() => null, (e: { code: string; message: string; details: Record<string, unknown> }) => ({ code: e.code, message: e.message, url: e.details.url }));
        const memory = await OVMemory.open('no-worker', { dim: 4, logLevel: 'silent' });
        await memory.close();
        return error;
      }, `${site.url}/nowhere/`);
      expect(result).toMatchObject({ code: 'UNSUPPORTED', url: `${site.url}/nowhere/browser-store-worker.js`, message: expect.stringContaining('the worker script did not start') });
    } finally {
      await page.close();
      await site.close();
    }
  });

  it('refuses an assetBase that is no URL, and an esbuild build with nowhere to copy to, with INVALID_DATA', async () => {
    const { OVMemory } = await import('../dist/index.js');
    await expect(OVMemory.create({ dim: 4, assetBase: 42 as never })).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringContaining('Expected `assetBase` to be a URL') });
    await expect(OVMemory.create({ dim: 4, assetBase: 'http://[' })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    const { ovMemoryAssets } = await import('ov-memory/esbuild');
    expect(() => ovMemoryAssets().setup({ initialOptions: {}, onEnd: () => undefined })).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: expect.stringContaining('`outdir` or `outfile`') }));
  });
});

describe('the README\'s browser section', () => {
  const readme = readFileSync(path.resolve(__dirname, '../README.md'), 'utf8');
  /** The fenced js block that starts with the comment `// NAME`. */
  const block = (name: string) => {
    const m = new RegExp('```js\\n(// ' + name.replace('.', '\\.') + '\\n[\\s\\S]*?)```').exec(readme);
    if (!m) throw new Error(`README has no js block starting with // ${name}`);
    return m[1]!;
  };

  it('its Vite example works as written: built, and on the dev server; the store survives a reload', async () => {
    const root = path.resolve(__dirname, '..');
    const dir = mkdtempSync(path.join(os.tmpdir(), 'ov-readme-vite-'));
    try {
      // As `npm create vite` (vanilla) and `npm install ov-memory` leave it: the package copied in, not linked.
      writeFileSync(path.join(dir, 'index.html'), '<!doctype html>\n<div id="app"></div>\n<script type="module" src="/main.js"></script>\n');
      writeFileSync(path.join(dir, 'main.js'), block('main.js'));
      writeFileSync(path.join(dir, 'vite.config.js'), block('vite.config.js'));
      mkdirSync(path.join(dir, 'node_modules/ov-memory'), { recursive: true });
      cpSync(path.join(root, 'package.json'), path.join(dir, 'node_modules/ov-memory/package.json'));
      cpSync(path.join(root, 'dist'), path.join(dir, 'node_modules/ov-memory/dist'), { recursive: true });
      symlinkSync(path.join(root, 'node_modules/vite'), path.join(dir, 'node_modules/vite'), 'dir');
      const vite = await import('vite');
      await vite.build({ root: dir, logLevel: 'error' });
      const served = await serveStatic(path.join(dir, 'dist'), true, 0, ['.']);
      const dev = await vite.createServer({ root: dir, logLevel: 'error', server: { port: 0, host: '127.0.0.1' } });
      await dev.listen();
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const appText = () => page.waitForFunction(() => /memories/.test(document.querySelector('#app')!.textContent ?? '')).then(() => page.textContent('#app'));
        await page.goto(`${served.url}/index.html`);
        expect(await appText()).toBe('1 memories; best: The user’s cat is called Miso');
        await page.reload();
        expect(await appText()).toBe('1 memories; best: The user’s cat is called Miso');
        await page.close();
        const devPage = await context.newPage();
        const address = dev.httpServer!.address() as { port: number };
        await devPage.goto(`http://127.0.0.1:${address.port}/`);
        await devPage.waitForFunction(() => /memories/.test(document.querySelector('#app')!.textContent ?? ''), undefined, { timeout: 60_000 });
        expect(await devPage.textContent('#app')).toBe('1 memories; best: The user’s cat is called Miso');
        // Vite's dev server answers a file it does not have with index.html (HTTP 200): still UNSUPPORTED, naming the URL.
        // (A string: vitest would rewrite an import() inside a function.)
        const wrong = await devPage.evaluate(`import('/node_modules/ov-memory/dist/browser.js')
          .then(({ OVMemory }) => OVMemory.create({ dim: 4, assetBase: '/nowhere/' }))
          .then(() => null, (e) => ({ code: e.code, message: e.message }))`);
        expect(wrong).toMatchObject({ code: 'UNSUPPORTED', message: expect.stringMatching(/^cannot load http:\/\/127\.0\.0\.1:\d+\/nowhere\/ov-memory(-unshared)?\.wasm \(not a WebAssembly file/) });
      } finally {
        await context.close();
        await served.close();
        await dev.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('lists the bytes of each file a page loads, within 10 % of the build', () => {
    const table = new Map([...readme.matchAll(/^\| `([\w.-]+)` \| ([\d,]+) \| ([\d,]+) \|/gm)].map((m) => [m[1]!, Number(m[2]!.replace(/,/g, ''))]));
    for (const file of ['browser.js', ...BROWSER_ASSETS]) {
      const built = statSync(path.resolve(__dirname, '../dist', file)).size;
      expect(table.get(file), file).toBeDefined();
      expect(Math.abs(table.get(file)! - built) / built, `${file}: README says ${table.get(file)}, the build has ${built}`).toBeLessThanOrEqual(0.1);
    }
  });
});

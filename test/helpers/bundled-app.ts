// Builds test/fixtures/bundler-app as a user's project would: in a folder of its own whose
// node_modules/ov-memory is this package (a link to the project root, built into dist/), with Vite or
// with esbuild and the ovMemoryAssets() plugin. Returns the folder the built app is served from.
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');

export type Bundler = 'vite' | 'esbuild';

export interface BuiltApp {
  /** The folder holding the app's sources and its build (`out/`). */
  dir: string;
  remove(): void;
}

export async function buildApp(bundler: Bundler): Promise<BuiltApp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `ov-app-${bundler}-`));
  cpSync(path.join(root, 'test/fixtures/bundler-app'), dir, { recursive: true });
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(root, path.join(dir, 'node_modules/ov-memory'), 'dir');
  const out = path.join(dir, 'out');
  const remove = () => rmSync(dir, { recursive: true, force: true });
  try {
    await bundle(bundler, dir, out);
  } catch (error) {
    remove();   // a failed build leaves nothing behind
    throw error;
  }
  return { dir, remove };
}

async function bundle(bundler: Bundler, dir: string, out: string): Promise<void> {
  if (bundler === 'vite') {
    const { build } = await import('vite');
    // base './': the app is served from a sub-folder; nothing else is configured.
    await build({ root: dir, base: './', configFile: false, logLevel: 'error', build: { outDir: out, emptyOutDir: true } });
  } else {
    const { build } = await import('esbuild');
    const { ovMemoryAssets } = await import('ov-memory/esbuild');
    await build({
      absWorkingDir: dir, entryPoints: ['main.js'], bundle: true, format: 'esm', platform: 'browser', outdir: 'out',
      logLevel: 'error', plugins: [ovMemoryAssets()],
    });
    cpSync(path.join(dir, 'index.html'), path.join(out, 'index.html'));
  }
}

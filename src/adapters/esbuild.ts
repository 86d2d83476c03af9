// `ov-memory/esbuild`: a plugin that puts the files ov-memory loads at run time (the wasm kernels
// and the page's worker scripts) beside esbuild's output. esbuild bundles the library's code but
// follows no `new URL('./file', import.meta.url)`, so without this the page fetches them from a
// folder that does not hold them. Vite and webpack 5 need nothing: they emit the files themselves.
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidDataError } from 'ov-memory';

/** The files of dist/ that the browser build loads at run time. */
export const BROWSER_ASSETS = [
  'ov-memory.wasm', 'ov-memory-unshared.wasm', 'ov-memory-scalar.wasm', 'ov-memory-scalar-unshared.wasm',
  'browser-worker.js', 'browser-store-worker.js',
] as const;

/** The part of esbuild's plugin interface this plugin uses (so its types need no esbuild installed). */
export interface EsbuildPlugin {
  name: string;
  setup(build: {
    initialOptions: { outdir?: string; outfile?: string; absWorkingDir?: string };
    onEnd(callback: (result: { errors: unknown[] }) => void): void;
  }): void;
}

export interface AssetsOptions {
  /** Where to copy the files; a path relative to esbuild's working directory. @default the folder of the output (outdir, or the folder of outfile) */
  to?: string;
}

/** Copies the wasm kernels and the worker scripts beside the bundle at the end of every successful build. */
export function ovMemoryAssets(options: AssetsOptions = {}): EsbuildPlugin {
  return {
    name: 'ov-memory-assets',
    setup(build) {
      const { outdir, outfile, absWorkingDir = process.cwd() } = build.initialOptions;
      const folder = options.to ?? outdir ?? (outfile === undefined ? undefined : path.dirname(outfile));
      if (folder === undefined) throw new InvalidDataError('ovMemoryAssets() needs to know where the bundle goes: set esbuild\'s `outdir` or `outfile`, or the plugin\'s `to` option');
      const target = path.resolve(absWorkingDir, folder);
      const source = path.dirname(fileURLToPath(import.meta.url));
      build.onEnd((result) => {
        if (result.errors.length > 0) return;
        mkdirSync(target, { recursive: true });
        for (const file of BROWSER_ASSETS) copyFileSync(path.join(source, file), path.join(target, file));
      });
    },
  };
}

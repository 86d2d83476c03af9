// The files shipped beside the bundle (the four kernel builds; the page's workers are named where
// they start). Each is written as a literal `new URL('./file', import.meta.url)`: the one form Vite
// and webpack 5 follow to emit the file and rewrite its URL (a name held in a variable leaves the
// file behind). esbuild follows no `new URL` at all: `ov-memory/esbuild` copies the files instead.
// With `assetBase` (a CDN, or files served from a folder of the app's choosing) they come from there.
import { ErrorCode, OVMemoryError } from '../resilience/errors.js';

export type KernelFile = 'ov-memory.wasm' | 'ov-memory-unshared.wasm' | 'ov-memory-scalar.wasm' | 'ov-memory-scalar-unshared.wasm';

const bundled: Record<KernelFile, () => URL> = {
  'ov-memory.wasm': () => new URL('./ov-memory.wasm', import.meta.url),
  'ov-memory-unshared.wasm': () => new URL('./ov-memory-unshared.wasm', import.meta.url),
  'ov-memory-scalar.wasm': () => new URL('./ov-memory-scalar.wasm', import.meta.url),
  'ov-memory-scalar-unshared.wasm': () => new URL('./ov-memory-scalar-unshared.wasm', import.meta.url),
};

/** Where a kernel build is loaded from: beside the bundle, or under `base` when one is given. */
export function kernelUrl(file: KernelFile, base: URL | undefined): URL {
  return base ? new URL(file, base) : bundled[file]();
}

/** What a user can do about a file that did not load, in one sentence. */
const REMEDY = 'serve the files of ov-memory/dist/ with the page: Vite and webpack 5 emit them from the package, '
  + 'with esbuild add the ovMemoryAssets() plugin of ov-memory/esbuild; or set the `assetBase` option to the URL of a folder that holds them';

/** A shipped file that could not be loaded: UNSUPPORTED, naming its URL and what to configure. */
export function assetError(url: URL | string, why: string, cause?: unknown): OVMemoryError {
  const href = typeof url === 'string' ? url : url.href;
  return new OVMemoryError(ErrorCode.UNSUPPORTED, `cannot load ${href} (${why}): ${REMEDY}`, { cause, details: { url: href } });
}

/** Starts a module worker; one from another origin (a CDN) starts through a same-origin blob that imports it. */
export function startModuleWorker(url: URL): Worker {
  if (globalThis.location === undefined || url.origin === globalThis.location.origin) return new Worker(url, { type: 'module' });
  const blob = new Blob([`import ${JSON.stringify(url.href)};`], { type: 'text/javascript' });
  return new Worker(URL.createObjectURL(blob), { type: 'module' });
}

/**
 * Resolves once `worker` says it is ready (its first message), or rejects with UNSUPPORTED naming
 * `url` when its script does not load (a 404, a server answering with another file, a blocked origin).
 */
export function workerReady(worker: Worker, url: URL | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => { worker.removeEventListener('message', onMessage); worker.removeEventListener('error', onError); };
    const onMessage = () => { done(); resolve(); };
    const onError = (event: ErrorEvent) => {
      event.preventDefault();
      done();
      worker.terminate();
      reject(assetError(url, `the worker script did not start${event.message ? `: ${event.message}` : ''}`));
    };
    worker.addEventListener('message', onMessage);
    worker.addEventListener('error', onError);
  });
}

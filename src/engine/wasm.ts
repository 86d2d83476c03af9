// Finds and compiles the kernel module. The wasm files sit next to the built bundle in dist/ (see
// assets.ts); the CommonJS build has no `import.meta`, so the build defines `import.meta.url` from
// `__filename` there.
import { platform } from '../platform/current.js';
import { ResourceExhaustionError } from '../resilience/errors.js';
import { assetError, type KernelFile, kernelUrl } from './assets.js';

export type KernelFlavor = 'simd' | 'scalar';

/** Four builds of one source: SIMD or scalar, over a shared memory (threads) or an unshared one. */
const files: Record<KernelFlavor, { shared: KernelFile; unshared: KernelFile }> = {
  simd: { shared: 'ov-memory.wasm', unshared: 'ov-memory-unshared.wasm' },
  scalar: { shared: 'ov-memory-scalar.wasm', unshared: 'ov-memory-scalar-unshared.wasm' },
};


/** A tiny module using v128 instructions: if it validates, this engine runs the SIMD kernels. */
const simdProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported(): boolean {
  return WebAssembly.validate(simdProbe);
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Compiles a kernel build once per process (and per `assetBase`); the same Module is then
 * instantiated on every thread. A file that does not load is UNSUPPORTED, naming its URL.
 */
export function loadKernelModule(flavor: KernelFlavor, shared = true, assetBase?: URL): Promise<WebAssembly.Module> {
  const url = kernelUrl(files[flavor][shared ? 'shared' : 'unshared'], assetBase);
  let module = compiled.get(url.href);
  if (!module) {
    module = compileAsset(url);
    module.catch(() => compiled.delete(url.href));
    compiled.set(url.href, module);
  }
  return module;
}

const WASM_MAGIC = [0, 0x61, 0x73, 0x6d];

async function compileAsset(url: URL): Promise<WebAssembly.Module> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await platform.readAsset(url));
  } catch (cause) {
    throw assetError(url, String((cause as Error)?.message ?? cause), cause);
  }
  if (!WASM_MAGIC.every((byte, i) => bytes[i] === byte)) {
    throw assetError(url, `not a WebAssembly file but ${bytes.length} bytes of something else, as a server answers for a file it does not have`);
  }
  try {
    return await WebAssembly.compile(bytes as BufferSource);
  } catch (cause) {
    throw assetError(url, `this engine cannot compile it: ${String((cause as Error)?.message ?? cause)}`, cause);
  }
}

/** The store's one memory; `maximum` reserves address space, not RAM. */
export function createMemory(initialBytes: number, maximumBytes: number, shared: boolean): WebAssembly.Memory {
  const page = 65536;
  try {
    return new WebAssembly.Memory({
      initial: Math.ceil(initialBytes / page),
      maximum: Math.ceil(maximumBytes / page),
      shared,
    });
  } catch (cause) {
    throw new ResourceExhaustionError(`cannot reserve a memory of ${maximumBytes} bytes`, { cause });
  }
}

// Finds and compiles the kernel module. The wasm files sit next to the built bundle in dist/; the
// CommonJS build has no `import.meta`, so the build defines `import.meta.url` from `__filename` there.
import { platform } from '../platform/current.js';
import { ResourceExhaustionError } from '../resilience/errors.js';

export type KernelFlavor = 'simd' | 'scalar';

/** Four builds of one source: SIMD or scalar, over a shared memory (threads) or an unshared one. */
const files: Record<KernelFlavor, { shared: string; unshared: string }> = {
  simd: { shared: 'ov-memory.wasm', unshared: 'ov-memory-unshared.wasm' },
  scalar: { shared: 'ov-memory-scalar.wasm', unshared: 'ov-memory-scalar-unshared.wasm' },
};

/** A file shipped beside the bundle (the wasm modules, the worker script). */
export function assetUrl(name: string): URL {
  return new URL(name, import.meta.url);
}


/** A tiny module using v128 instructions: if it validates, this engine runs the SIMD kernels. */
const simdProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported(): boolean {
  return WebAssembly.validate(simdProbe);
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles a kernel build once per process; the same Module is then instantiated on every thread. */
export function loadKernelModule(flavor: KernelFlavor, shared = true): Promise<WebAssembly.Module> {
  const file = files[flavor][shared ? 'shared' : 'unshared'];
  let module = compiled.get(file);
  if (!module) {
    module = platform.readAsset(assetUrl(file)).then((bytes) => WebAssembly.compile(bytes as BufferSource));
    module.catch(() => compiled.delete(file));
    compiled.set(file, module);
  }
  return module;
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

// Finds and compiles the kernel module. The wasm files sit next to the built bundle in dist/; the
// CommonJS build has no `import.meta`, so the build defines `import.meta.url` from `__filename` there.
import { ResourceExhaustionError } from '../resilience/errors.js';

export type KernelFlavor = 'simd' | 'scalar';

const files: Record<KernelFlavor, string> = { simd: 'ov-memory.wasm', scalar: 'ov-memory-scalar.wasm' };

/** A file shipped beside the bundle (the wasm modules, the worker script). */
export function assetUrl(name: string): URL {
  return new URL(name, import.meta.url);
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

async function readAsset(name: string): Promise<ArrayBuffer | Uint8Array> {
  const url = assetUrl(name);
  if (isNode && url.protocol === 'file:') {
    const { readFile } = await import('node:fs/promises');
    return readFile(url);
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`cannot load ${url.href}: HTTP ${response.status}`);
  return response.arrayBuffer();
}

/** A tiny module using v128 instructions: if it validates, this engine runs the SIMD kernels. */
const simdProbe = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

export function simdSupported(): boolean {
  return WebAssembly.validate(simdProbe);
}

export function sharedMemorySupported(): boolean {
  return typeof SharedArrayBuffer !== 'undefined';
}

const compiled = new Map<KernelFlavor, Promise<WebAssembly.Module>>();

/** Compiles a kernel flavour once per process; the same Module is then instantiated on every thread. */
export function loadKernelModule(flavor: KernelFlavor): Promise<WebAssembly.Module> {
  let module = compiled.get(flavor);
  if (!module) {
    module = readAsset(files[flavor]).then((bytes) => WebAssembly.compile(bytes as BufferSource));
    module.catch(() => compiled.delete(flavor));
    compiled.set(flavor, module);
  }
  return module;
}

/** One shared memory for the whole store; `maximum` reserves address space, not RAM. */
export function createSharedMemory(initialBytes: number, maximumBytes: number): WebAssembly.Memory {
  const page = 65536;
  try {
    return new WebAssembly.Memory({
      initial: Math.ceil(initialBytes / page),
      maximum: Math.ceil(maximumBytes / page),
      shared: true,
    });
  } catch (cause) {
    throw new ResourceExhaustionError(`cannot reserve a shared memory of ${maximumBytes} bytes`, { cause });
  }
}

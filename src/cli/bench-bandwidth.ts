// The ceiling of a single-query scan: the streaming read bandwidth of the store's kind of memory (one
// shared WebAssembly memory, read with f32x4 loads by the kernels' readProbe), on one thread and
// split over worker threads.
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { Arena } from '../engine/arena.js';
import { instantiateKernels } from '../engine/kernels.js';
import { loadKernelModule, simdSupported } from '../engine/wasm.js';
import { median } from './bench-timing.js';

const ROUNDS = 7;

// The command is one bundled file with no worker script beside it, so the probe thread travels as
// source. It instantiates the same compiled module over the same memory and reads its share on each message.
const PROBE_THREAD = `
const { parentPort, workerData: { module, memory, ptr, bytes } } = require('node:worker_threads');
const { readProbe } = new WebAssembly.Instance(module, { env: { memory } }).exports;
parentPort.on('message', () => { readProbe(ptr, bytes); parentPort.postMessage('done'); });
parentPort.postMessage('ready');
`;

export interface Bandwidth {
  /** Bytes read in each round. */
  bytes: number;
  threads: number;
  oneThreadGBps: number;
  allThreadsGBps: number;
}

export async function measureBandwidth(requestedBytes: number, threads: number): Promise<Bandwidth> {
  // readProbe reads whole 64-byte blocks; every thread gets an equal share.
  const bytes = Math.floor(requestedBytes / (64 * threads)) * 64 * threads;
  const arena = new Arena(bytes + (1 << 20));
  const ptr = arena.alloc(bytes);
  // Written once so that every page is really there: untouched pages would all read the zero page.
  arena.views.f32.fill(1, ptr >>> 2, (ptr + bytes) >>> 2);
  const module = await loadKernelModule(simdSupported() ? 'simd' : 'scalar');

  const { readProbe } = instantiateKernels(module, arena.memory);
  const single: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const started = performance.now();
    readProbe(ptr, bytes);
    single.push(performance.now() - started);
  }

  const share = bytes / threads;
  const workers = Array.from({ length: threads }, (_, i) => new Worker(PROBE_THREAD, {
    eval: true,
    workerData: { module, memory: arena.memory, ptr: ptr + i * share, bytes: share },
  }));
  try {
    await Promise.all(workers.map((worker) => once(worker, 'message')));
    const parallel: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const started = performance.now();
      await Promise.all(workers.map((worker) => {
        const done = once(worker, 'message');
        worker.postMessage('go');
        return done;
      }));
      parallel.push(performance.now() - started);
    }
    return {
      bytes,
      threads,
      oneThreadGBps: bytes / median(single) / 1e6,
      allThreadsGBps: bytes / median(parallel) / 1e6,
    };
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
  }
}

// One thread of the bandwidth probe: reads its part of the shared memory on each 'go'.
import { parentPort, workerData } from 'node:worker_threads';
import { instantiateKernels } from '../dist/internal.js';

const { module, memory, ptr, bytes } = workerData;
const kernels = instantiateKernels(module, memory);
parentPort.on('message', () => { kernels.readProbe(ptr, bytes); parentPort.postMessage('done'); });
parentPort.postMessage('ready');

// Quantized durable stores: how long a reopen takes when the codes are rebuilt from the snapshot's
// float32 vectors (what the store does), against a float32 store of the same rows, and what the
// rebuild itself costs (encoding every row); the difference is the most that persisting codes could
// save. Settings: d = 768, N from QUANT_OPEN_SIZES (default 100000), the bench's mixture (seed 42);
// each open is the median of 3. Run with `node bench/quantized-open.mjs`.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OVMemory } from '../dist/index.js';
import { encodeInt8Row, encodeSignBits, codeStride } from '../dist/internal.js';
import { corpus } from './lib.mjs';

const DIM = 768;
const SIZES = (process.env.QUANT_OPEN_SIZES ?? '100000').split(',').map(Number);
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-quant-open-'));
const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
const lines = [`Machine: ${os.cpus()[0]?.model}, ${os.cpus().length} cores, Node ${process.version}. Command: \`node bench/quantized-open.mjs\` (QUANT_OPEN_SIZES=${SIZES.join(',')}).`, ''];
lines.push('| N × 768 | quantization | open ms (snapshot) | × float32 open | encoding every row, ms | share of the open |', '|---:|---|---:|---:|---:|---:|');

try {
  for (const n of SIZES) {
    const { data } = corpus(n, DIM, 1, 42);
    let float32Ms = 0;
    for (const quantization of ['none', 'int8', 'binary']) {
      const dir = path.join(root, `${quantization}-${n}`);
      const options = { dim: DIM, quantization, maxNodes: n, maxMemoryMB: Math.min(4095, Math.ceil((n * DIM * 4 * 1.2) / 2 ** 20) + 64), durability: 'none', threads: 0, logLevel: 'error' };
      const memory = await OVMemory.open(dir, options);
      for (let s = 0; s < n; s += 16_384) {
        memory.addMany(Array.from({ length: Math.min(16_384, n - s) }, (_, j) => ({ embedding: data.subarray((s + j) * DIM, (s + j + 1) * DIM), text: 't' })), { link: 'none' });
      }
      await memory.checkpoint();
      await memory.close();
      const opens = [];
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        const reopened = await OVMemory.open(dir, { threads: 0, logLevel: 'error' });
        opens.push(performance.now() - t);
        await reopened.close();
      }
      const openMs = median(opens);
      if (quantization === 'none') float32Ms = openMs;
      let encodeMs = 0;
      if (quantization !== 'none') {
        const stride = codeStride(DIM, quantization), codes = new Int8Array(stride), bits = new Uint8Array(stride);
        const t = performance.now();
        for (let i = 0; i < n; i++) {
          const row = data.subarray(i * DIM, (i + 1) * DIM);
          if (quantization === 'int8') encodeInt8Row(row, DIM, codes, 0, stride);
          else encodeSignBits(row, DIM, bits, 0, stride);
        }
        encodeMs = performance.now() - t;
      }
      lines.push(`| ${n.toLocaleString('en')} | ${quantization} | ${openMs.toFixed(0)} | ${(openMs / float32Ms).toFixed(2)} | ${quantization === 'none' ? '—' : encodeMs.toFixed(0)} | ${quantization === 'none' ? '—' : `${((encodeMs / openMs) * 100).toFixed(0)} %`} |`);
      console.log(lines.at(-1));
    }
  }
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
fs.mkdirSync(new URL('./out/', import.meta.url), { recursive: true });
fs.writeFileSync(new URL('./out/quantized-open.md', import.meta.url), `${lines.join('\n')}\n`);
console.log(lines.join('\n'));

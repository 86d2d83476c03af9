// What a hybrid search costs beside a vector search of the same store, through the public API.
//
//   npm run build && node bench/hybrid-cost.mjs [N]          (default N = 100,000; results: bench/out/hybrid-cost.json)
//
// The store: N memories, the LoCoMo dev turns (../shared/data/locomo-dev/, read from there) cycled
// with a distinct marker word each, embedded by hashingEmbedder (384); without the data, synthetic
// sentences. Queries: 200 dev questions, each embedded once beforehand (the store's query cache), then
// searched with `mode: 'vector'` and with the default hybrid, alternating, 3 passes; medians per mode.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import { hashingEmbedder, OVMemory } from '../dist/index.js';

const N = Number(process.argv[2] ?? 100_000);
const dataDir = new URL('../../shared/data/locomo-dev/', import.meta.url);
let turns = [], questions = [];
if (existsSync(dataDir)) {
  // The LoCoMo loader of `ov-memory eval`, bundled from source.
  const kitFile = new URL('out/hybrid-cost-kit.mjs', import.meta.url);
  await build({
    stdin: { contents: "export { parseEvalFile } from './src/cli/eval-data.ts';", resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'ts' },
    bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: fileURLToPath(kitFile), logLevel: 'warning',
  });
  const { parseEvalFile } = await import(kitFile.href);
  for (const file of readdirSync(dataDir).filter((f) => f.endsWith('.json'))) {
    for (const c of parseEvalFile(JSON.parse(readFileSync(new URL(file, dataDir), 'utf8')), file)) {
      turns.push(...c.memories.map((m) => m.text));
      questions.push(...c.questions.map((q) => q.text));
    }
  }
} else {
  console.log('no ../shared/data/locomo-dev/: synthetic sentences instead');
  const words = 'cat car tuna marathon kitchen yellow highway sleep paint train river book garden music'.split(' ');
  turns = Array.from({ length: 3_000 }, (_, i) => Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '));
  questions = Array.from({ length: 200 }, (_, i) => `what about the ${words[i % words.length]} and ${words[(i * 5) % words.length]}?`);
}
questions = questions.slice(0, 200);

const embedder = hashingEmbedder();
const memory = await OVMemory.create({ embedder, logLevel: 'error' });
for (let start = 0; start < N; start += 10_000) {
  const texts = Array.from({ length: Math.min(10_000, N - start) }, (_, i) => `${turns[(start + i) % turns.length]} m${start + i}`);
  await memory.rememberMany(texts.map((text) => ({ text })), { link: 'none' });
}
for (const q of questions) await memory.search(q, { mode: 'vector' });   // warm: the query cache and the pool

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times = { vector: [], text: [], hybrid: [] };
for (let pass = 0; pass < 3; pass++) {
  for (const q of questions) {
    for (const mode of ['vector', 'text', 'hybrid']) {
      const started = performance.now();
      await memory.search(q, { mode, topK: 10 });
      times[mode].push(performance.now() - started);
    }
  }
}
const ms = Object.fromEntries(Object.entries(times).map(([mode, xs]) => [mode, +median(xs).toFixed(3)]));
const result = {
  cpu: cpus()[0]?.model, cores: cpus().length, memories: memory.size, queries: questions.length, executor: memory.executor,
  msPerQuery: ms,
  hybridOverVector: +(ms.hybrid / ms.vector).toFixed(2),
  textOverVector: +(ms.text / ms.vector).toFixed(2),
};
await memory.close();
mkdirSync(new URL('out/', import.meta.url), { recursive: true });
writeFileSync(new URL('out/hybrid-cost.json', import.meta.url), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));

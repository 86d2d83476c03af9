// The lexical channel's cost at 100k memories: memory per text byte and time per query of the
// project's BM25 index (src/retrieval/lexical.ts) beside MiniSearch 7, and beside a vector search
// of a store of the same size (d = 384, the hashing embedder's dimension, and 512, USE's).
//
// Texts: the LoCoMo dev turns (../shared/data/locomo-dev/), cycled to 100,000 with a distinct
// marker word each, so the dictionary grows as a real store's does; queries: the dev questions.
// Without the data, synthetic sentences from a small vocabulary are used instead (say so).
//
//   npm run build && node --expose-gc bench/recall-lexical.mjs [N]     (results: bench/out/recall-lexical.json)
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import MiniSearch from 'minisearch';

const N = Number(process.argv[2] ?? 100_000);
const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = new URL('../../shared/data/locomo-dev/', import.meta.url);
const outDir = new URL('out/', import.meta.url);
mkdirSync(outDir, { recursive: true });
if (typeof globalThis.gc !== 'function') {
  console.error('run with node --expose-gc (memory figures need a collection before each reading)');
  process.exit(2);
}

const kitFile = new URL('recall-lexical-kit.mjs', outDir);
await build({
  stdin: { contents: "export { LexicalIndex } from './src/retrieval/lexical.ts';", resolveDir: root, loader: 'ts' },
  bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: fileURLToPath(kitFile), logLevel: 'warning',
});
const { LexicalIndex } = await import(kitFile.href);
const { OVMemory, hashingEmbedder } = await import('ov-memory');

let turns;
let questions;
let source;
if (existsSync(dataDir)) {
  const convs = readdirSync(dataDir).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(readFileSync(new URL(f, dataDir), 'utf8')));
  turns = convs.flatMap((c) => Object.keys(c).filter((k) => /^session_\d+$/.test(k)).flatMap((k) => c[k].map((t) => `${t.speaker}: ${t.text}`)));
  questions = convs.flatMap((c) => c.qa.map((q) => q.question)).slice(0, 200);
  source = 'LoCoMo dev turns, cycled';
} else {
  const words = 'dog cat walk river painting concert city friend school work garden book music trip family dinner'.split(' ');
  turns = Array.from({ length: 3000 }, (_, i) => Array.from({ length: 12 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' '));
  questions = turns.slice(0, 200).map((t) => t.split(' ').slice(0, 5).join(' '));
  source = 'synthetic (no ../shared data here)';
}
// Flat strings (a template literal makes a rope that the first read would flatten, charged to the index).
const texts = JSON.parse(JSON.stringify(Array.from({ length: N }, (_, i) => `${turns[i % turns.length]} m${i.toString(36)}`)));
const textBytes = texts.reduce((s, t) => s + Buffer.byteLength(t), 0);

const heap = () => { globalThis.gc(); const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; }
function timeQueries(fn, rounds = 3) {
  const perRound = [];
  for (let r = 0; r < rounds; r++) {
    const t = performance.now();
    for (const q of questions) fn(q);
    perRound.push((performance.now() - t) / questions.length);
  }
  return median(perRound);
}

const results = { cpu: cpus()[0]?.model, n: N, source, textBytes, lexical: {}, vector: {} };

{
  const before = heap();
  let t = performance.now();
  const index = new LexicalIndex();
  texts.forEach((text, id) => index.add(id, text));
  const buildMs = performance.now() - t;
  index.search(questions[0], 10); // sizes the score buffer
  const bytes = heap() - before;
  results.lexical.ov = { buildMs, bytes, bytesPerTextByte: bytes / textBytes, estimate: index.bytes, msPerQuery: timeQueries((q) => index.search(q, 100)) };
  t = performance.now();
  for (let id = 0; id < 1000; id++) index.replace(id, texts[(id + 1) % N]);
  results.lexical.ov.replaceMs = (performance.now() - t) / 1000;
}
{
  const before = heap();
  const t = performance.now();
  const mini = new MiniSearch({ fields: ['text'] });
  mini.addAll(texts.map((text, id) => ({ id, text })));
  const buildMs = performance.now() - t;
  const bytes = heap() - before;
  // One round: MiniSearch scores every matching document with per-term objects, which takes long here.
  results.lexical.minisearch = { buildMs, bytes, bytesPerTextByte: bytes / textBytes, msPerQuery: timeQueries((q) => mini.search(q).slice(0, 100), 1) };
}
for (const dim of [384, 512]) {
  const memory = await OVMemory.create({ dim, maxNodes: N, threads: 'auto' });
  const embedder = hashingEmbedder({ dim });
  for (let start = 0; start < N; start += 10_000) {
    memory.addMany(embedder.embed(texts.slice(start, start + 10_000)).map((embedding, i) => ({ embedding, text: texts[start + i] })), { link: 'none' });
  }
  const queryVectors = embedder.embed(questions);
  await memory.search(queryVectors[0], { topK: 100, rank: 'similarity' });
  const perRound = [];
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    for (const v of queryVectors) await memory.search(v, { topK: 100, rank: 'similarity' });
    perRound.push((performance.now() - t) / queryVectors.length);
  }
  results.vector[dim] = { msPerQuery: median(perRound) };
  await memory.close();
}

writeFileSync(new URL('recall-lexical.json', outDir), JSON.stringify(results, null, 2));
const f = (x, d = 2) => x.toFixed(d);
console.log(`${N} memories (${source}), ${(textBytes / 1e6).toFixed(1)} MB of text; CPU ${results.cpu}`);
console.log(`ov-memory BM25: ${f(results.lexical.ov.bytesPerTextByte)} B per text byte (estimate ${f(results.lexical.ov.estimate / textBytes)}), build ${f(results.lexical.ov.buildMs, 0)} ms, ${f(results.lexical.ov.msPerQuery, 3)} ms/query, replace ${f(results.lexical.ov.replaceMs, 3)} ms`);
console.log(`MiniSearch 7:   ${f(results.lexical.minisearch.bytesPerTextByte)} B per text byte, build ${f(results.lexical.minisearch.buildMs, 0)} ms, ${f(results.lexical.minisearch.msPerQuery, 3)} ms/query`);
for (const [dim, v] of Object.entries(results.vector)) {
  console.log(`vector search d=${dim}: ${f(v.msPerQuery, 3)} ms/query → BM25 adds ${f(results.lexical.ov.msPerQuery / v.msPerQuery)}× of it`);
}

// How similar a question is to its evidence, against how similar a nonsense query is to anything:
// the measurement behind `context`'s default relevance floor (`minSimilarity`).
//
//   npm run build && node bench/context-floor.mjs [hashing|use]
//
// On the LoCoMo conversations in ../shared/data/locomo-dev/ (read from there, never copied): for
// every question, the cosine of the question and its best evidence turn; for 200 nonsense queries
// (shuffled letters of real words) and for 40 real questions from another conversation, the best
// cosine over the whole conversation. Prints percentiles
// of both and, for candidate floors, the share of questions whose evidence the floor would keep out
// and the share of nonsense queries it would stop. Seeded; results go to bench/out/context-floor.json.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';

import { hashingEmbedder } from '../dist/index.js';
import { random } from './lib.mjs';

const embedderName = process.argv[2] ?? 'hashing';
const dataDir = new URL('../../shared/data/locomo-dev/', import.meta.url);
if (!existsSync(dataDir)) {
  console.log('bench/context-floor.mjs: no ../shared/data/locomo-dev/ beside the project; nothing to measure');
  process.exit(0);
}
// The LoCoMo loader of `ov-memory eval`, bundled from source.
const kitFile = new URL('out/context-floor-kit.mjs', import.meta.url);
await build({
  stdin: { contents: "export { parseEvalFile } from './src/cli/eval-data.ts';", resolveDir: fileURLToPath(new URL('..', import.meta.url)), loader: 'ts' },
  bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: fileURLToPath(kitFile), logLevel: 'warning',
});
const { parseEvalFile } = await import(kitFile.href);
const embedder = embedderName === 'use'
  ? await (await import('ov-memory/embedders/use')).universalSentenceEncoder()
  : hashingEmbedder();

const rand = random(7);
const dot = (a, b) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };
const unit = (v) => { const n = Math.hypot(...v); return Float32Array.from(v, (x) => x / n); };

/** The conversations as memories ("Speaker: text [shares caption]") and questions with evidence indexes. */
function load(file) {
  return parseEvalFile(JSON.parse(readFileSync(new URL(file, dataDir), 'utf8')), file);
}

const evidence = [], nonsense = [], offTopic = [];
const conversations = readdirSync(dataDir).filter((f) => f.endsWith('.json')).flatMap(load);
for (const [index, c] of conversations.entries()) {
  {
    const vectors = (await embedder.embed(c.memories.map((m) => m.text))).map(unit);
    const questions = (await embedder.embed(c.questions.map((q) => q.text))).map(unit);
    c.questions.forEach((q, i) => evidence.push(Math.max(...q.evidence.map((e) => dot(questions[i], vectors[e])))));
    const words = c.memories.flatMap((m) => m.text.split(/\s+/)).filter((w) => w.length > 3);
    const queries = Array.from({ length: 40 }, () => Array.from({ length: 6 }, () => {
      const w = [...words[Math.floor(rand() * words.length)]];
      for (let i = w.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [w[i], w[j]] = [w[j], w[i]]; }
      return w.join('');
    }).join(' '));
    for (const q of (await embedder.embed(queries)).map(unit)) nonsense.push(Math.max(...vectors.map((v) => dot(q, v))));
    // Real questions about someone else: another conversation's, 40 of them.
    const other = conversations[(index + 1) % conversations.length].questions.slice(0, 40).map((q) => q.text);
    for (const q of (await embedder.embed(other)).map(unit)) offTopic.push(Math.max(...vectors.map((v) => dot(q, v))));
  }
}

const quantile = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };
const share = (xs, f) => xs.filter(f).length / xs.length;
const floors = [0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
const result = {
  embedder: embedderName,
  cpu: cpus()[0]?.model,
  questions: evidence.length,
  nonsenseQueries: nonsense.length,
  evidence: Object.fromEntries([0.01, 0.05, 0.1, 0.5].map((p) => [`p${p * 100}`, +quantile(evidence, p).toFixed(3)])),
  nonsense: Object.fromEntries([0.01, 0.5, 0.9].map((p) => [`p${p * 100}`, +quantile(nonsense, p).toFixed(3)])),
  offTopic: Object.fromEntries([0.01, 0.5, 0.9].map((p) => [`p${p * 100}`, +quantile(offTopic, p).toFixed(3)])),
  floors: floors.map((f) => ({
    floor: f,
    evidenceKeptOut: +share(evidence, (s) => s < f).toFixed(3),
    nonsenseStopped: +share(nonsense, (s) => s < f).toFixed(3),
    offTopicStopped: +share(offTopic, (s) => s < f).toFixed(3),
  })),
};
mkdirSync(new URL('out/', import.meta.url), { recursive: true });
writeFileSync(new URL('out/context-floor.json', import.meta.url), JSON.stringify(result, null, 2));
console.log(JSON.stringify(result, null, 2));

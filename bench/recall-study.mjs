// Which retrieval defaults find the evidence on LoCoMo: cosine, BM25, their fusions, the seed's
// 4-factor priority against recency as a bounded boost, and neighbour expansion along the
// conversation graph, with Universal Sentence Encoder (512) and hashingEmbedder (384) vectors.
//
// Data: the five dev conversations in ../shared/data/locomo-dev/ (CC BY-NC 4.0, read from there,
// never copied). Each turn is a memory "Speaker: text" (+ " [shares caption]"), created at its
// session's time; now = one day after the last session; questions of categories 1–4.
// Metrics: recall_any@1/5/10, NDCG@10 over all questions, and a leave-one-conversation-out check
// (the configuration chosen on four conversations, scored on the fifth).
// USE vectors are computed once and cached in bench/out/use-vectors.json (git ignores bench/out/).
//
//   npm run build && node bench/recall-study.mjs            (results: bench/out/recall-study.json)
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

import { build } from 'esbuild';
import MiniSearch from 'minisearch';

const root = fileURLToPath(new URL('..', import.meta.url));
const dataDir = new URL('../../shared/data/locomo-dev/', import.meta.url);
const outDir = new URL('out/', import.meta.url);
if (!existsSync(dataDir)) {
  console.log('recall-study: no data (../shared/data/locomo-dev/ is not here); nothing to measure');
  process.exit(0);
}
mkdirSync(outDir, { recursive: true });

// The project's own modules, bundled from source (the library itself stays external: `ov-memory`).
const kitFile = new URL('recall-kit.mjs', outDir);
await build({
  stdin: {
    contents: [
      "export { LexicalIndex, tokenize } from './src/retrieval/lexical.ts';",
      "export { expandNeighbours, fuse, hybridScore } from './src/retrieval/fusion.ts';",
      "export { parseLoCoMo } from './src/cli/eval-data.ts';",
      "export { recallAny, ndcg } from './src/cli/eval-metrics.ts';",
      "export { universalSentenceEncoder } from './src/embedders/use.ts';",
    ].join('\n'),
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile: fileURLToPath(kitFile), logLevel: 'warning',
});
const kit = await import(kitFile.href);
const { hashingEmbedder } = await import('ov-memory');

const DAY = 86_400_000;
const DEPTH = 100; // candidates each channel hands to fusion

const conversations = readdirSync(dataDir).filter((f) => f.endsWith('.json')).sort()
  .map((f) => kit.parseLoCoMo(JSON.parse(readFileSync(new URL(f, dataDir), 'utf8')), f.replace('.json', '')));

// ---- vectors ---------------------------------------------------------------------------------
async function useVectors(texts) {
  const cacheFile = new URL('use-vectors.json', outDir);
  const cache = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
  const missing = [...new Set(texts.filter((t) => !(t in cache)))];
  if (missing.length > 0) {
    console.error(`embedding ${missing.length} texts with the Universal Sentence Encoder…`);
    const use = await kit.universalSentenceEncoder({ batchSize: 32 });
    const vectors = await use.embed(missing);
    missing.forEach((t, i) => { cache[t] = Buffer.from(vectors[i].buffer).toString('base64'); });
    writeFileSync(cacheFile, JSON.stringify(cache));
  }
  return texts.map((t) => { const b = Buffer.from(cache[t], 'base64'); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); });
}
const unit = (v) => { let s = 0; for (const x of v) s += x * x; const n = Math.sqrt(s); return Float32Array.from(v, (x) => x / n); };
const dot = (a, b) => { let s = 0; for (let i = 0; i < a.length; i++) s += a[i] * b[i]; return s; };

const allTexts = conversations.flatMap((c) => [...c.memories.map((m) => m.text), ...c.questions.map((q) => q.text)]);
const embedders = {
  use: await useVectors(allTexts),
  hashing: hashingEmbedder({ dim: 384 }).embed(allTexts),
};

// ---- per conversation: the channels, the graph, the factors ------------------------------------
function prepare(c, vectors) {
  const n = c.memories.length;
  const mem = vectors.slice(0, n).map(unit);
  // The store links each new memory to the previous one (the focus), both ways, relevance
  // 0.7·S⁺ + 0.3·R(focus) — R is 0 for memories dated years before the clock; C = 0.6·deg/6 + 0.4·mean relevance.
  const rel = Array.from({ length: n }, (_, i) => (i === 0 ? 0 : 0.7 * Math.max(0, dot(mem[i], mem[i - 1]))));
  const centrality = Array.from({ length: n }, (_, i) => {
    const edges = [i > 0 ? rel[i] : null, i + 1 < n ? rel[i + 1] : null].filter((x) => x !== null);
    return edges.length === 0 ? 0 : 0.6 * (edges.length / 6) + 0.4 * (edges.reduce((a, b) => a + b, 0) / edges.length);
  });
  const neighbours = Array.from({ length: n }, (_, i) => [i - 1, i + 1].filter((j) => j >= 0 && j < n));
  const ageDays = c.memories.map((m) => (c.now - m.createdAt) / DAY);
  return { n, mem, centrality, neighbours, ageDays };
}

// Lexical channels: the analyzer (stop words, Porter stems) and BM25's k1, b (Lucene's 1.2/0.75, Anserini's 0.9/0.4).
const lucene = { k1: 1.2, b: 0.75 };
const analyzers = {
  'plain, k1 1.2 b 0.75': { analyzer: { stopWords: false, stem: false }, ...lucene },
  'stop words, k1 1.2 b 0.75': { analyzer: { stopWords: true, stem: false }, ...lucene },
  'stems, k1 1.2 b 0.75': { analyzer: { stopWords: false, stem: true }, ...lucene },
  'stop words + stems, k1 1.2 b 0.75': { analyzer: { stopWords: true, stem: true }, ...lucene },
  'stems, k1 1.5 b 0.9': { analyzer: { stopWords: false, stem: true }, k1: 1.5, b: 0.9 },
  'stems, k1 0.9 b 0.4 (default)': {},
};
const LUCENE = 'stems, k1 1.2 b 0.75';
const DEFAULT = 'stems, k1 0.9 b 0.4 (default)';

// ---- ranking methods: (question context) → hits { id, score }, best first ----------------------
const order = (a, b) => b.score - a.score || a.id - b.id;
const byScore = (scores) => scores.map((score, id) => ({ id, score })).sort(order);
const boost = (hits, factor) => hits.map((h) => ({ id: h.id, score: h.score * factor(h.id) })).sort(order);
const recency = (ageDays, halfLifeDays) => (ageDays <= 0 ? 1 : 0.5 ** (ageDays / halfLifeDays));
/** The seed's priority: P = S⁺^α · max(0.1, C)^(1−α) · max(0.1, R)^(1−α) (W = 1 here). */
const priority = (s, c, r, alpha) => (s <= 0 ? 0 : s ** alpha * (Math.max(0.1, c) * Math.max(0.1, r)) ** (1 - alpha));

function methods(ctx) {
  const { cos, sim, text, g } = ctx;
  const vector = cos.slice(0, DEPTH);
  const neighbours = (hits, gamma) => kit.expandNeighbours(hits, (id) => g.neighbours[id], gamma);
  const rrf = (lexical, k, tw = 1) => kit.fuse(vector, text[lexical], { method: 'rrf', k, vectorWeight: 1, textWeight: tw });
  const score = (lexical, lambda) => kit.fuse(vector, text[lexical], { method: 'score', textWeight: lambda });
  const R = (id, h) => recency(g.ageDays[id], h);
  const m = {
    'cosine (rank: similarity)': () => cos,
    'MiniSearch 7, default settings': () => ctx.minisearch,
  };
  for (const a of Object.keys(analyzers)) m[`BM25, ${a}`] = () => text[a];
  // The seed's priority over cosine, at its defaults and at longer half-lives.
  m['priority α0.75 h1d (seed default)'] = () => byScore(sim.map((s, id) => priority(s, g.centrality[id], R(id, 1), 0.75)));
  for (const h of [7, 30, 365]) for (const alpha of [0.75, 0.9]) {
    m[`priority α${alpha} h${h}d`] = () => byScore(sim.map((s, id) => priority(s, g.centrality[id], R(id, h), alpha)));
  }
  // Fusions (lexical channel: stems, Lucene's k1/b, then the default).
  for (const k of [10, 30, 60]) m[`RRF k${k}`] = () => rrf(LUCENE, k);
  for (const tw of [0.5, 2]) m[`weighted RRF k60, text ×${tw}`] = () => rrf(LUCENE, 60, tw);
  for (const lambda of [0.3, 0.5, 0.7, 0.8]) m[`score fusion λ${lambda}`] = () => score(LUCENE, lambda);
  for (const lambda of [0.5, 0.6, 0.7, 0.8]) m[`score fusion λ${lambda}, BM25 k1 0.9 b 0.4`] = () => score(DEFAULT, lambda);
  // Recency and centrality as bounded boosts, and the priority applied to a fused score.
  for (const beta of [0.05, 0.1, 0.2]) for (const h of [1, 7, 30]) m[`RRF k60 ·(1 + ${beta}·R) h${h}d`] = () => boost(rrf(LUCENE, 60), (id) => 1 + beta * R(id, h));
  for (const beta of [0.1, 0.25]) m[`RRF k60 ·(1 + ${beta}·C)`] = () => boost(rrf(LUCENE, 60), (id) => 1 + beta * g.centrality[id]);
  m['RRF k60, then priority α0.75 h1d on F/max F'] = () => {
    const f = rrf(LUCENE, 60);
    return f.map((h) => ({ id: h.id, score: priority(h.score / f[0].score, g.centrality[h.id], R(h.id, 1), 0.75) })).sort(order);
  };
  // Neighbour expansion along the conversation graph.
  for (const gamma of [0.1, 0.25, 0.5]) m[`RRF k60 + neighbours γ${gamma}`] = () => neighbours(rrf(LUCENE, 60), gamma);
  for (const lambda of [0.5, 0.6, 0.7, 0.8]) for (const gamma of [0.25, 0.5, 0.75, 1]) {
    m[`score fusion λ${lambda}, BM25 k1 0.9 b 0.4 + neighbours γ${gamma}`] = () => neighbours(score(DEFAULT, lambda), gamma);
  }
  for (const gamma of [0.25, 0.5]) m[`cosine + neighbours γ${gamma}`] = () => neighbours(vector, gamma);
  // The recommended rule, S = F' · (1 + (1 − α)·(R + C)/2) · W, at several α and half-lives.
  const rule = (hits, alpha, h) => hits.map((x) => ({ id: x.id, score: kit.hybridScore(x.score, { recency: R(x.id, h), centrality: g.centrality[x.id], weight: 1 }, alpha) })).sort(order);
  for (const alpha of [0.5, 0.75, 0.9, 1]) for (const h of [1, 7, 30]) {
    m[`RULE, hybrid, α${alpha} h${h}d`] = () => rule(neighbours(score(DEFAULT, 0.7), 0.5), alpha, h);
  }
  // The same rule for a vector query (no text channel): F = cosine min-max normalised over its candidates.
  for (const gamma of [0.25, 0.5]) m[`RULE, vector query, γ${gamma} α0.75 h1d`] = () => rule(neighbours(kit.fuse(vector, [], { method: 'score', textWeight: 0 }), gamma), 0.75, 1);
  return m;
}

// ---- run ---------------------------------------------------------------------------------------
const results = {}; // embedder → method → conversation → { n, any1, any5, any10, ndcg }
const byCategory = {}; // embedder → method → category → the same
let offset = 0;
const offsets = conversations.map((c) => { const o = offset; offset += c.memories.length + c.questions.length; return o; });
for (const [name, vectors] of Object.entries(embedders)) {
  results[name] = {};
  conversations.forEach((c, ci) => {
    const vs = vectors.slice(offsets[ci], offsets[ci] + c.memories.length + c.questions.length);
    const g = prepare(c, vs);
    const indexes = Object.fromEntries(Object.entries(analyzers).map(([a, analyzer]) => {
      const index = new kit.LexicalIndex(analyzer);
      c.memories.forEach((m, id) => index.add(id, m.text));
      return [a, index];
    }));
    const mini = new MiniSearch({ fields: ['text'] });
    mini.addAll(c.memories.map((m, id) => ({ id, text: m.text })));
    c.questions.forEach((q, qi) => {
      const qv = unit(vs[c.memories.length + qi]);
      const sim = g.mem.map((v) => dot(v, qv));
      const ctx = {
        g, sim,
        cos: byScore(sim),
        text: Object.fromEntries(Object.entries(indexes).map(([a, index]) => [a, index.search(q.text, DEPTH)])),
        minisearch: mini.search(q.text).slice(0, DEPTH).map((r) => ({ id: r.id, score: r.score })),
      };
      const evidence = new Set(q.evidence);
      for (const [method, rank] of Object.entries(methods(ctx))) {
        const ranked = rank().slice(0, 10).map((h) => h.id);
        for (const cell of [
          ((results[name][method] ??= {})[c.name] ??= { n: 0, any1: 0, any5: 0, any10: 0, ndcg: 0 }),
          (((byCategory[name] ??= {})[method] ??= {})[q.category] ??= { n: 0, any1: 0, any5: 0, any10: 0, ndcg: 0 }),
        ]) {
          cell.n++;
          cell.any1 += kit.recallAny(ranked, evidence, 1);
          cell.any5 += kit.recallAny(ranked, evidence, 5);
          cell.any10 += kit.recallAny(ranked, evidence, 10);
          cell.ndcg += kit.ndcg(ranked, evidence, 10);
        }
      }
    });
  });
}

const pooled = (cells) => {
  const t = { n: 0, any1: 0, any5: 0, any10: 0, ndcg: 0 };
  for (const c of cells) for (const k of Object.keys(t)) t[k] += c[k];
  return { n: t.n, any1: t.any1 / t.n, any5: t.any5 / t.n, any10: t.any10 / t.n, ndcg: t.ndcg / t.n };
};
// The selection objective: the mean of recall_any@5, recall_any@10 and NDCG@10.
const objective = (s) => (s.any5 + s.any10 + s.ndcg) / 3;
const fmt = (x) => x.toFixed(3);

const report = { cpu: cpus()[0]?.model, conversations: conversations.map((c) => c.name), questions: conversations.reduce((s, c) => s + c.questions.length, 0), embedders: {} };
for (const [name, byMethod] of Object.entries(results)) {
  const rows = Object.entries(byMethod).map(([method, cells]) => ({ method, ...pooled(Object.values(cells)) }));
  // Leave one conversation out: choose on four, score the fifth.
  const loco = conversations.map((c) => {
    const train = Object.entries(byMethod).map(([method, cells]) => ({ method, s: pooled(conversations.filter((o) => o !== c).map((o) => cells[o.name])) }));
    const best = train.reduce((a, b) => (objective(b.s) > objective(a.s) ? b : a));
    return { heldOut: c.name, chosen: best.method, heldOutScore: pooled([byMethod[best.method][c.name]]) };
  });
  report.embedders[name] = { rows, loco, locoPooled: pooled(loco.map((l) => byMethod[l.chosen][l.heldOut])) };
  console.log(`\n## ${name}\n\n| method | @1 | @5 | @10 | NDCG@10 |\n|---|---:|---:|---:|---:|`);
  for (const r of rows) console.log(`| ${r.method} | ${fmt(r.any1)} | ${fmt(r.any5)} | ${fmt(r.any10)} | ${fmt(r.ndcg)} |`);
  console.log(`\nleave-one-conversation-out (${name}):`);
  for (const l of loco) console.log(`  held out ${l.heldOut}: chose "${l.chosen}" → @5 ${fmt(l.heldOutScore.any5)} @10 ${fmt(l.heldOutScore.any10)} NDCG ${fmt(l.heldOutScore.ndcg)}`);
  const lp = report.embedders[name].locoPooled;
  console.log(`  pooled held-out: @1 ${fmt(lp.any1)} @5 ${fmt(lp.any5)} @10 ${fmt(lp.any10)} NDCG ${fmt(lp.ndcg)}`);
  const keyMethods = ['cosine (rank: similarity)', `BM25, ${DEFAULT}`, 'RULE, hybrid, α0.75 h1d'];
  report.embedders[name].byCategory = Object.fromEntries(keyMethods.map((m) => [m, Object.fromEntries(Object.entries(byCategory[name][m]).map(([cat, cell]) => [cat, pooled([cell])]))]));
  console.log(`\nper category (${name}), recall_any@5 / @10:\n\n| method | ${Object.keys(byCategory[name][keyMethods[0]]).join(' | ')} |\n|---|${'---:|'.repeat(4)}`);
  for (const m of keyMethods) {
    console.log(`| ${m} | ${Object.values(report.embedders[name].byCategory[m]).map((s) => `${fmt(s.any5)} / ${fmt(s.any10)}`).join(' | ')} |`);
  }
}
writeFileSync(new URL('recall-study.json', outDir), JSON.stringify(report, null, 2));
console.log(`\nCPU: ${report.cpu}; ${report.questions} questions over ${conversations.length} conversations`);

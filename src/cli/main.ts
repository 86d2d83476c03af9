// The `ov-memory` command. For now one job, `demo` (what `npm start` runs): a generated corpus,
// a few searches, the results and the timings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { OVMemory } from '../index.js';

const DIM = 384;
const CLUSTERS = 50;

/** A seeded generator (mulberry32), so every run shows the same corpus. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gaussian(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Embedding models return unit vectors; so does this demo's generator. */
function unit(v: Float32Array): Float32Array {
  const norm = Math.hypot(...v);
  return v.map((x) => x / norm);
}

async function demo(count: number): Promise<void> {
  const rand = random(42);
  const centres = Array.from({ length: CLUSTERS }, () => Float32Array.from({ length: DIM }, () => gaussian(rand)));
  const topics = ['weather', 'travel', 'cooking', 'music', 'finance', 'health', 'sport', 'science', 'history', 'code'];
  const memory = await OVMemory.create({ dim: DIM, logLevel: 'warn' });
  try {
    let started = performance.now();
    const batch = 10_000;
    const now = Date.now();
    for (let i = 0; i < count; i += batch) {
      memory.addMany(Array.from({ length: Math.min(batch, count - i) }, (_, j) => {
        const id = i + j, c = id % CLUSTERS, centre = centres[c]!;
        return {
          embedding: unit(Float32Array.from(centre, (x) => x + 0.6 * gaussian(rand))),
          text: `memory ${id}: a note about ${topics[c % topics.length]} (cluster ${c})`,
          weight: 0.5 + rand(),
          createdAt: now - rand() * 7 * 24 * 3600_000,
        };
      }), { link: 'none' });
    }
    console.log(`stored ${memory.size.toLocaleString()} memories of ${DIM} dimensions in ${(performance.now() - started).toFixed(0)} ms`);

    for (const c of [0, 7, 23]) {
      const query = unit(Float32Array.from(centres[c]!, (x) => x + 0.3 * gaussian(rand)));
      started = performance.now();
      const hits = await memory.search(query, { topK: 3 });
      const ms = performance.now() - started;
      console.log(`\nquery near cluster ${c}: ${ms.toFixed(2)} ms`);
      for (const h of hits) {
        console.log(`  #${h.id}  score ${h.score.toFixed(4)}  similarity ${h.similarity.toFixed(4)}  recency ${h.factors.recency.toFixed(3)}  ${h.text}`);
      }
    }

    const queries = Array.from({ length: 200 }, (_, i) => unit(Float32Array.from(centres[i % CLUSTERS]!, (x) => x + 0.3 * gaussian(rand))));
    started = performance.now();
    await memory.searchMany(queries, { topK: 10 });
    const perQuery = (performance.now() - started) / queries.length;
    console.log(`\nsearchMany: 200 queries, ${perQuery.toFixed(2)} ms per query`);
    const m = memory.metrics();
    console.log(`search latency p50 ${m.operations.search?.latencyMs.p50.toFixed(2)} ms, p99 ${m.operations.search?.latencyMs.p99.toFixed(2)} ms; health ${memory.health().status}`);
  } finally {
    await memory.close();
  }
}

/** A durable store survives a restart: write, close, reopen, search. */
async function durableDemo(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ov-memory-demo-'));
  try {
    const rand = random(7);
    const vector = () => unit(Float32Array.from({ length: DIM }, () => gaussian(rand)));
    const first = await OVMemory.open(dir, { dim: DIM, durability: 'always', logLevel: 'warn' });
    const notes = ['the user prefers tea', 'the meeting moved to Friday', 'the API key rotates monthly'];
    const embeddings = notes.map(() => vector());
    first.addMany(notes.map((text, i) => ({ embedding: embeddings[i]!, text, key: `note-${i}` })));
    await first.close();
    const reopened = await OVMemory.open(dir);
    const [hit] = await reopened.search(embeddings[1]!, { topK: 1 });
    console.log(`\ndurable store in ${dir}: wrote ${notes.length} memories, closed, reopened: ${reopened.size} memories; the best match for note 1 is "${hit?.text}" (${hit?.key})`);
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [command = 'demo', ...rest] = process.argv.slice(2);
if (command === 'demo') {
  const count = Number(rest[0] ?? 100_000);
  await demo(Number.isInteger(count) && count > 0 ? count : 100_000);
  await durableDemo();
} else {
  console.error(`unknown command ${JSON.stringify(command)}; usage: ov-memory demo [count]`);
  process.exitCode = 2;
}

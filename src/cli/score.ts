// `ov-memory score`: the top-k of every query against a corpus file. The corpus streams through the
// engine a chunk of rows at a time (bounded memory, past wasm32's 4 GiB too); each chunk's top-k
// are merged into the running top-k. The output is written to a temporary file and renamed at the
// end, so a failed or interrupted run leaves no partial output.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { OVMemory, OVMemoryError } from '../index.js';
import { rowBytes } from '../config/options.js';
import { importOptional } from './optional-dependency.js';
import { checkOutputPath } from './output-path.js';
import { quantizationFlags, type QuantizationSettings } from './quantization-flags.js';
import { openVectorFile, VectorFileError } from './vector-files.js';

const HELP = `usage: ov-memory score --corpus FILE --queries FILE --top-k K --out FILE [options]

  --corpus FILE       vectors to score: .npy (float32, 2-D), .fvecs, .f32 (with --dim) or .jsonl ("embedding", optional "id")
  --queries FILE      the queries, in any of the same formats
  --top-k K           hits per query
  --out FILE          JSONL output, one line per query: { "query", "ids", "scores" }
  --rank R            similarity (cosine, default) or priority
  --threads N         scan workers (default: one per core; 0: this thread)
  --dim D             the dimension of raw .f32 files
  --chunk-rows R      corpus rows per chunk (default: 256 MiB of vectors)
  --quantization Q    none (default), int8 or binary: scan codes, rerank top-k × oversample exactly in float32
  --oversample F      with --quantization: candidates per hit (default 4 for int8, 128 for binary)
  --quiet             no progress (a bar on a terminal, else a line a second)`;

/** Off a terminal, progress is a plain line at most this often (the first after the first chunk). */
const PROGRESS_LINE_MS = 1_000;

interface Hit {
  row: number;
  id: string | number;
  score: number;
}

export async function run(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        corpus: { type: 'string' }, queries: { type: 'string' }, 'top-k': { type: 'string' }, out: { type: 'string' },
        rank: { type: 'string', default: 'similarity' }, threads: { type: 'string' }, dim: { type: 'string' },
        'chunk-rows': { type: 'string' }, quantization: { type: 'string', default: 'none' }, oversample: { type: 'string' }, quiet: { type: 'boolean', default: false }, help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    console.error(`ov-memory score: ${(error as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(HELP);
    return 0;
  }
  const usage = (problem: string) => { console.error(`ov-memory score: ${problem} (see ov-memory score --help)`); return 2; };
  if (!args.corpus || !args.queries || !args.out || !args['top-k']) return usage('--corpus, --queries, --top-k and --out are required');
  const topK = integer(args['top-k'], 1), threads = args.threads === undefined ? undefined : integer(args.threads, 0);
  const dim = args.dim === undefined ? undefined : integer(args.dim, 1);
  const chunkRowsOption = args['chunk-rows'] === undefined ? undefined : integer(args['chunk-rows'], 1);
  if (topK === undefined) return usage(`--top-k must be a positive integer, got ${args['top-k']}`);
  if (args.threads !== undefined && threads === undefined) return usage(`--threads must be a non-negative integer, got ${args.threads}`);
  if (args.dim !== undefined && dim === undefined) return usage(`--dim must be a positive integer, got ${args.dim}`);
  if (args['chunk-rows'] !== undefined && chunkRowsOption === undefined) return usage(`--chunk-rows must be a positive integer, got ${args['chunk-rows']}`);
  if (args.rank !== 'similarity' && args.rank !== 'priority') return usage(`--rank must be similarity or priority, got ${args.rank}`);
  const rank: 'similarity' | 'priority' = args.rank;
  const quantized = quantizationFlags(args.quantization, args.oversample);
  if ('problem' in quantized) return usage(quantized.problem);
  const scan: ScanSettings = { topK, rank, threads, ...quantized };
  const outProblem = checkOutputPath(args.out, [args.corpus, args.queries]);
  if (outProblem !== undefined) return usage(outProblem);

  const partial = `${args.out}.partial-${process.pid}`;
  const interrupted = () => { rmSync(partial, { force: true }); process.exit(130); };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const started = performance.now();
  try {
    const corpus = await openVectorFile(args.corpus, { dim });
    const queryFile = await openVectorFile(args.queries, { dim: corpus.dim });
    if (queryFile.dim !== corpus.dim) throw new VectorFileError(queryFile.file, `dimension ${queryFile.dim}, the corpus has ${corpus.dim}`);
    const queries: Float32Array[] = [], queryIds: (string | number)[] = [];
    for await (const chunk of queryFile.chunks(4096)) {
      for (let i = 0; i < chunk.count; i++) {
        queries.push(chunk.rows.slice(i * corpus.dim, (i + 1) * corpus.dim));
        queryIds.push(chunk.ids?.[i] ?? chunk.first + i);
      }
    }
    const chunkRows = chunkRowsOption ?? Math.max(1, Math.floor((256 * 2 ** 20) / (corpus.dim * 4)));
    const best: Hit[][] = queries.map(() => []);
    const bar = args.quiet || !process.stderr.isTTY ? undefined : await progressBar();
    bar?.start(corpus.rows ?? 0, 0, { speed: 0 });
    const printLines = !args.quiet && bar === undefined;
    let rows = 0, lastLine = -Infinity;
    for await (const chunk of corpus.chunks(chunkRows)) {
      const hits = await scoreChunk(chunk.rows, chunk.count, corpus.dim, queries, scan);
      hits.forEach((list, q) => {
        const merged = best[q]!.concat(list.map((h) => ({ row: chunk.first + h.id, id: chunk.ids?.[h.id] ?? chunk.first + h.id, score: h.score })));
        best[q] = merged.sort((a, b) => b.score - a.score || a.row - b.row).slice(0, topK);
      });
      rows += chunk.count;
      bar?.update(rows, { speed: Math.round(rows / ((performance.now() - started) / 1000)) });
      if (printLines && performance.now() - lastLine >= PROGRESS_LINE_MS) {
        lastLine = performance.now();
        console.error(`scoring: ${rows.toLocaleString('en')}${corpus.rows === undefined ? '' : ` of ${corpus.rows.toLocaleString('en')}`} rows`);
      }
      // Every step above can settle as promise jobs alone: let timers and signals (Ctrl-C) run.
      await new Promise((resolve) => setImmediate(resolve));
    }
    bar?.stop();
    const fd = openSync(partial, 'w');
    try {
      best.forEach((list, q) => writeSync(fd, `${JSON.stringify({ query: queryIds[q], ids: list.map((h) => h.id), scores: list.map((h) => h.score) })}\n`));
    } finally {
      closeSync(fd);
    }
    renameSync(partial, args.out);
    const seconds = (performance.now() - started) / 1000;
    const gigabytes = (rows * corpus.dim * 4 * queries.length) / 1e9;
    console.error(`scored ${rows.toLocaleString('en')} rows × ${queries.length.toLocaleString('en')} queries in ${seconds.toFixed(2)} s (${(gigabytes / seconds).toFixed(1)} GB/s effective) → ${args.out}`);
    return 0;
  } catch (error) {
    rmSync(partial, { force: true });
    if (error instanceof VectorFileError || error instanceof OVMemoryError) {
      console.error(`ov-memory score: ${error.message}`);
      return 1;
    }
    // The output could not be written (a full disk, a permission): one line, no stack.
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('E')) {
      console.error(`ov-memory score: cannot write ${args.out} (${code})`);
      return 1;
    }
    throw error;
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
}

/** cli-progress's bar, or none (with one line saying what to install) where the package is missing. */
async function progressBar() {
  try {
    const { default: cliProgress } = await importOptional(() => import('cli-progress'), 'cli-progress', 'cli-progress@^3', 'the progress bar');
    return new cliProgress.SingleBar({
      format: 'scoring |{bar}| {percentage}% · {value}/{total} rows · {speed} rows/s · ETA {eta_formatted}',
      stream: process.stderr,
    }, cliProgress.Presets.shades_classic);
  } catch (error) {
    if (!(error instanceof OVMemoryError)) throw error;
    console.error(`ov-memory score: ${error.message} (scoring without it)`);
    return undefined;
  }
}

interface ScanSettings extends QuantizationSettings {
  topK: number;
  rank: 'similarity' | 'priority';
  threads: number | undefined;
}

/** One chunk's top-k for every query, through a store of its own that lives for the chunk. */
async function scoreChunk(rows: Float32Array, count: number, dim: number, queries: Float32Array[], s: ScanSettings) {
  const { topK, rank, threads, quantization, oversample } = s;
  const bytes = count * rowBytes(dim, quantization);
  const memory = await OVMemory.create({
    dim, maxNodes: count, maxMemoryMB: Math.min(4095, Math.ceil((bytes * 1.2) / 2 ** 20) + 64), logLevel: 'error', quantization,
    ...(threads === undefined ? {} : { threads }),
    ...(oversample === undefined ? {} : { oversample }),
  });
  try {
    for (let i = 0; i < count; i += 16_384) {
      memory.addMany(Array.from({ length: Math.min(16_384, count - i) }, (_, j) => ({
        embedding: rows.subarray((i + j) * dim, (i + j + 1) * dim), text: '-', createdAt: 0,
      })), { link: 'none' });
    }
    const hits = await memory.searchMany(queries, { topK: Math.min(topK, count), rank, now: 0, timeoutMs: 3_600_000 });
    return hits.map((list) => list.map((h) => ({ id: h.id, score: h.score })));
  } finally {
    await memory.close();
  }
}

function integer(text: string, min: number): number | undefined {
  const n = Number(text);
  return Number.isInteger(n) && n >= min ? n : undefined;
}

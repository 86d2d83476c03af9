// `ov-memory bench`: how fast exact top-k search runs on this machine, every case side by side in one
// run: the memory bandwidth (the ceiling of a single query), the scans people write by hand, the
// store's scalar and SIMD kernels, its worker pool and batch search, and native peers when installed.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { DEFAULTS } from '../config/defaults.js';
import { measureBandwidth, type Bandwidth } from './bench-bandwidth.js';
import { CASE_GROUPS, fixedCostPerCall, loadPeers, storeLimits, type Peers, type TimedCase } from './bench-cases.js';
import { throughputChart, type Series } from './bench-chart.js';
import { exactTopK, gaussianMixture, recall } from './bench-data.js';
import { timePerCall } from './bench-timing.js';

const SEED = 42;
const QUERIES = 20;
/** The bandwidth probe reads at least this much, well past any CPU cache, and at most this much. */
const PROBE_BYTES = { min: 256 * 2 ** 20, max: 2 ** 30 };
/** Time per case for a corpus of 64 MiB or more; smaller corpora get a proportionally smaller share. */
const BUDGET_MS = { full: 2_000, quick: 500 };
const FULL_BUDGET_BYTES = 64 * 2 ** 20;
/** Cases drawn in the chart, besides the bandwidth. */
const CHART_CASES = ['js', 'scalar', 'simd', 'pool', 'searchMany', 'usearch'];

const HELP = `usage: ov-memory bench [options]

Measures exact top-k search on this machine, side by side: the memory bandwidth, plain JavaScript
scans, ov-memory's kernels, worker pool and searchMany, and usearch and hnswlib-node when installed.

  --quick        a short run (default n 20,000, d 384): under a minute on two cores
  --n N          rows in the corpus (default 100,000); several sizes: --n 10000,100000
  --dim D        dimensions (default 768)
  --k K          hits per query (default 10)
  --batch B      queries per searchMany call (default 200)
  --threads T    pool workers and bandwidth threads (default: one per core)
  --json FILE    write the machine, the settings and every figure as JSON
  --svg FILE     draw GB/s against N (one size given: also runs N/10 and N/3, --quick N/10)`;

interface Settings {
  sizes: number[];
  dim: number;
  k: number;
  batch: number;
  threads: number;
  quick: boolean;
  /** A fixed time per case (the hidden --budget-ms, for tests); otherwise scaled by corpus size. */
  budgetMs: number | undefined;
  json: string | undefined;
  svg: string | undefined;
}

interface CaseResult {
  id: string;
  label: string;
  queriesPerCall: number;
  msPerQuery: number;
  /** Corpus bytes / time per query; for a batch, the effective figure. */
  gbPerSecond: number;
  fractionOfBandwidth: number;
  timesJsScan: number;
  /** Recall@k of one query against a float64 scan. */
  recall: number;
  samples: number;
}

interface SizeResult {
  n: number;
  dim: number;
  corpusBytes: number;
  budgetMs: number;
  bandwidth: Bandwidth;
  cases: CaseResult[];
  notes: string[];
  /** ms per search on a 1-row store: the cost of everything but the scan. */
  fixedCostMs: number;
}

export async function run(argv: string[]): Promise<number> {
  const parsed = parseSettings(argv);
  if (parsed === 'help') {
    console.log(HELP);
    return 0;
  }
  if (typeof parsed === 'string') {
    console.error(`ov-memory bench: ${parsed} (see ov-memory bench --help)`);
    return 2;
  }
  const settings = parsed;
  try {
    const machine = describeMachine();
    console.log(`${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`);
    const { peers, notes } = await loadPeers();
    for (const note of notes) console.log(note);
    const runs: SizeResult[] = [];
    for (const n of settings.sizes) runs.push(await benchSize(n, settings, peers));

    const series = settings.svg ? chartSeries(runs, settings.threads) : [];
    if (settings.json) {
      const { sizes, dim, k, batch, threads, quick, budgetMs, svg } = settings;
      const chart = svg ? { file: svg, series: series.map(({ id, label }) => ({ id, label })) } : undefined;
      const shown = { sizes, dim, k, batch, threads, quick, budgetMs, seed: SEED, queries: QUERIES };
      const report = { date: new Date().toISOString(), machine, settings: shown, notes, runs, chart };
      writeFileSync(settings.json, `${JSON.stringify(report, null, 2)}\n`);
    }
    if (settings.svg) {
      writeFileSync(settings.svg, throughputChart(series, `Exact top-${settings.k}, d = ${settings.dim}: ${machine.cpu}, ${machine.cores} cores`));
    }
    return 0;
  } catch (error) {
    console.error(`ov-memory bench: ${(error as Error).message}`);
    return 1;
  }
}

function parseSettings(argv: string[]): Settings | 'help' | string {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false }, n: { type: 'string' }, dim: { type: 'string' }, k: { type: 'string' },
        batch: { type: 'string' }, threads: { type: 'string' }, json: { type: 'string' }, svg: { type: 'string' },
        'budget-ms': { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (error) {
    return (error as Error).message;
  }
  if (values.help) return 'help';
  const quick = values.quick;
  const problems: string[] = [];
  const integer = (flag: string, text: string | undefined, fallback: number, max: number): number => {
    if (text === undefined) return fallback;
    const value = /^\d[\d_]*$/.test(text) ? Number(text.replaceAll('_', '')) : NaN;
    if (!(value >= 1 && value <= max)) problems.push(`--${flag} must be an integer from 1 to ${max.toLocaleString('en')}, got ${text}`);
    return value;
  };
  const requested = (values.n ?? String(quick ? 20_000 : 100_000)).split(',').map((text) => integer('n', text, 0, 2 ** 32 - 2));
  const dim = integer('dim', values.dim, quick ? 384 : 768, 65_536);
  const k = integer('k', values.k, 10, DEFAULTS.maxTopK);
  const batch = integer('batch', values.batch, 200, 100_000);
  const threads = integer('threads', values.threads, os.availableParallelism(), 256);
  const budgetMs = values['budget-ms'] === undefined ? undefined : integer('budget-ms', values['budget-ms'], 0, 600_000);
  if (problems.length > 0) return problems[0]!;

  const largest = Math.max(...requested), smallest = Math.min(...requested);
  const { maxMemoryMB } = storeLimits(largest, dim);
  if (maxMemoryMB > DEFAULTS.maxMemoryMBCap) {
    return `--n ${largest} at --dim ${dim} needs ${maxMemoryMB} MB, past the ${DEFAULTS.maxMemoryMBCap} MB that wasm32 addresses`;
  }
  if (k > smallest) return `--k ${k} is more than the ${smallest} rows of the smallest corpus`;
  // A chart needs several sizes: around a single one, smaller runs are added (those of at least k rows).
  const extra = values.svg && requested.length === 1 ? (quick ? [largest / 10] : [largest / 10, largest / 3]) : [];
  const sizes = [...new Set([...requested, ...extra.map(Math.round).filter((n) => n >= k)])].sort((a, b) => a - b);
  return { sizes, dim, k, batch, threads, quick, budgetMs, json: values.json, svg: values.svg };
}

async function benchSize(n: number, settings: Settings, peers: Peers): Promise<SizeResult> {
  const { dim, k, batch, threads, quick } = settings;
  const corpusBytes = n * dim * 4;
  console.log(`\nN = ${n.toLocaleString('en')} × d = ${dim}: ${(corpusBytes / 1e6).toFixed(1)} MB of float32`);
  const corpus = gaussianMixture(n, dim, QUERIES, SEED);
  const bandwidth = await measureBandwidth(Math.min(PROBE_BYTES.max, Math.max(PROBE_BYTES.min, corpusBytes)), threads);
  console.log(`memory bandwidth (f32x4 read of ${(bandwidth.bytes / 1e6).toFixed(0)} MB): ${bandwidth.oneThreadGBps.toFixed(1)} GB/s on 1 thread, `
    + `${bandwidth.allThreadsGBps.toFixed(1)} GB/s on ${threads} threads\n`);
  const budgetMs = settings.budgetMs
    ?? BUDGET_MS[quick ? 'quick' : 'full'] * Math.min(1, Math.max(0.05, corpusBytes / FULL_BUDGET_BYTES));
  const checkQuery = corpus.queries[0]!;
  const reference = exactTopK(corpus, checkQuery, k);
  // Approximate cases are checked against every query's float64 top k, computed once when first needed.
  let references: number[][] | undefined;
  const meanRecall = async (c: TimedCase) => {
    references ??= corpus.queries.map((q, i) => (i === 0 ? reference : exactTopK(corpus, q, k)));
    const found = c.topKAll ? await c.topKAll(corpus.queries) : await Promise.all(corpus.queries.map((q) => c.topK(q)));
    return found.reduce((sum, ids, i) => sum + recall(ids, references![i]!), 0) / corpus.queries.length;
  };

  console.log(`${'case'.padEnd(46)}${'ms/query'.padStart(10)}${'GB/s'.padStart(9)}${'of bandwidth'.padStart(14)}${'× JS'.padStart(8)}${'recall'.padStart(8)}`);
  const cases: CaseResult[] = [], notes: string[] = [];
  for (const openGroup of CASE_GROUPS) {
    const group = await openGroup({ corpus, k, batch, threads, peers });
    if ('skipped' in group) {
      notes.push(group.skipped);
      console.log(group.skipped);
      continue;
    }
    try {
      for (const c of group.cases) {
        const found = await c.topK(checkQuery);
        const timing = await timePerCall(c.run, budgetMs);
        const msPerQuery = timing.ms / c.queriesPerCall;
        const jsMs = cases.find((done) => done.id === 'js')?.msPerQuery ?? msPerQuery;
        const result: CaseResult = {
          id: c.id,
          label: c.label,
          queriesPerCall: c.queriesPerCall,
          msPerQuery,
          gbPerSecond: corpusBytes / msPerQuery / 1e6,
          fractionOfBandwidth: corpusBytes / msPerQuery / 1e6 / bandwidth.allThreadsGBps,
          timesJsScan: jsMs / msPerQuery,
          recall: c.approximate ? await meanRecall(c) : recall(found, reference),
          samples: timing.samples,
        };
        cases.push(result);
        console.log(formatRow(result));
      }
    } finally {
      await group.close();
    }
  }
  if (cases.some((c) => c.queriesPerCall > 1)) console.log('* a batch: time per query of the batch, and the effective GB/s (each row is read once for several queries)');
  const fixedCostMs = await fixedCostPerCall({ corpus, k }, Math.min(budgetMs, 500), timePerCall);
  const pool = cases.find((c) => c.id === 'pool'), priority = cases.find((c) => c.id === 'priority');
  if (pool && priority) console.log(`priority ranking against similarity ranking (pool): ${((priority.msPerQuery / pool.msPerQuery - 1) * 100).toFixed(1)} %`);
  for (const line of quantizedSummary(cases)) console.log(line);
  console.log(`fixed cost of a call (validation, slot, deadline, merge, metrics, logs; a 1-row store): ${(fixedCostMs * 1000).toFixed(1)} µs`
    + (pool ? `, ${((fixedCostMs / pool.msPerQuery) * 100).toFixed(2)} % of the pool's search` : ''));
  return { n, dim, corpusBytes, budgetMs, bandwidth, cases, notes, fixedCostMs };
}

/** Each quantized case as ratios to its float32 counterparts of the same run: the pool, usearch exactSearch. */
function quantizedSummary(cases: readonly CaseResult[]): string[] {
  const ms = (id: string) => cases.find((c) => c.id === id)?.msPerQuery;
  const lines: string[] = [];
  for (const q of ['int8', 'binary']) {
    for (const [id, pool, peer, what] of [[q, 'pool', 'usearch', 'single query'], [`${q}Batch`, 'searchMany', 'usearchBatch', 'batch']] as const) {
      const mine = ms(id), found = cases.find((c) => c.id === id);
      if (mine === undefined || !found) continue;
      const vs = (other: string | undefined, name: string) => (other === undefined ? [] : [`${(ms(other)! / mine).toFixed(2)}× ${name}`]);
      const parts = [...vs(ms(pool) === undefined ? undefined : pool, `the float32 ${pool}`), ...vs(ms(peer) === undefined ? undefined : peer, peer)];
      lines.push(`${q} + rerank, ${what}: ${parts.join(', ')}; recall@k ${found.recall.toFixed(4)} over ${QUERIES} queries`);
    }
  }
  return lines;
}

function formatRow(c: CaseResult): string {
  const ms = c.msPerQuery >= 1000 ? c.msPerQuery.toFixed(0) : c.msPerQuery.toPrecision(4);
  const gbps = `${c.gbPerSecond.toFixed(1)}${c.queriesPerCall > 1 ? '*' : ' '}`;
  return `${c.label.padEnd(46)}${ms.padStart(10)}${gbps.padStart(10)}${`${(c.fractionOfBandwidth * 100).toFixed(0)} %`.padStart(13)}`
    + `${c.timesJsScan.toFixed(1).padStart(8)}${c.recall.toFixed(2).padStart(8)}`;
}

function describeMachine() {
  return {
    cpu: os.cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: os.availableParallelism(),
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The main cases' GB/s at each size, and the measured all-core bandwidth as a dashed reference. */
function chartSeries(runs: readonly SizeResult[], threads: number): Series[] {
  const series: Series[] = [];
  for (const id of CHART_CASES) {
    const points = runs.flatMap((r) => r.cases.filter((c) => c.id === id).map((c) => ({ n: r.n, gbps: c.gbPerSecond })));
    const label = runs.flatMap((r) => r.cases).find((c) => c.id === id)?.label;
    if (label !== undefined) series.push({ id, label: id === 'searchMany' ? `${label} (effective)` : label, points });
  }
  series.push({
    id: 'bandwidth',
    label: `memory read bandwidth, ${threads} threads`,
    points: runs.map((r) => ({ n: r.n, gbps: r.bandwidth.allThreadsGBps })),
    dashed: true,
  });
  return series;
}

// A store shared through PostgreSQL against the same store in a local directory: the time and peak
// memory (RSS) of opening it, as ratios, and the replication lag another process sees, at idle and
// under write load. Settings: 100,000 × 768 (POSTGRES_OPEN_N to change it), the same gaussian-mixture
// corpus in both, written with addMany in batches of 1,000 (the directory store then checkpointed,
// as a running one would be); each open runs in a fresh process, 3 times each, alternating, and the
// medians are reported. Lag: a writer process adds one memory every 50 ms for 10 s (idle), then
// three writer processes add as fast as they can for 10 s (load), while this process follows; the
// lag is the replica's own figure (the database's commit time to the apply here, one clock).
// PostgreSQL is a throwaway cluster (scripts/start-postgres.mjs). Run with `node bench/postgres-open.mjs`.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OVMemory } from '../dist/index.js';
import { startPostgres } from '../scripts/start-postgres.mjs';
import { corpus } from './lib.mjs';

const DIM = 768, BATCH = 1_000;
const N = Number(process.env.POSTGRES_OPEN_N ?? 100_000);
const self = fileURLToPath(import.meta.url);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const quiet = { threads: 0, logLevel: 'error' };

// Child modes: open a store and report the time and peak RSS; or write for a while.
if (process.argv[2] === 'open') {
  const t = performance.now();
  const memory = await OVMemory.open(process.argv[3], quiet);
  const ms = performance.now() - t;
  const size = memory.size;
  await memory.close();
  console.log(JSON.stringify({ ms, size, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(0);
}
if (process.argv[2] === 'write') {
  const [, , , url, periodMs, seconds, offset] = process.argv;
  const memory = await OVMemory.open(url, quiet);
  const { data } = corpus(1_000, DIM, 1, Number(offset));
  const end = Date.now() + Number(seconds) * 1000;
  let n = 0;
  while (Date.now() < end) {
    memory.add({ embedding: data.subarray((n % 1_000) * DIM, ((n % 1_000) + 1) * DIM), text: `written ${offset}:${n}` }, { link: 'none' });
    n++;
    await new Promise((r) => (Number(periodMs) > 0 ? setTimeout(r, Number(periodMs)) : setImmediate(r)));
  }
  await memory.close();
  console.log(JSON.stringify({ writes: n }));
  process.exit(0);
}

function child(args) {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [self, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1))) : reject(new Error(`${args[0]} exited ${code}`))));
  });
}

const pg = await startPostgres();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-bench-pg-'));
// Interrupted, the cluster and the directory go too.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => { pg.stop(); fs.rmSync(root, { recursive: true, force: true }); process.exit(130); });
try {
  const url = pg.database('bench');
  const dir = path.join(root, 'store');
  const { data } = corpus(N, DIM, 1, 42);
  const shared = await OVMemory.open(url, { dim: DIM, ...quiet });
  const local = await OVMemory.open(dir, { dim: DIM, durability: 'none', ...quiet });
  let t = performance.now();
  for (let i = 0; i < N; i += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, N - i) }, (_, j) => ({ embedding: data.subarray((i + j) * DIM, (i + j + 1) * DIM), text: `memory ${i + j}`, metadata: { i: i + j } }));
    shared.addMany(batch);
    local.addMany(batch);
  }
  const fillMs = performance.now() - t;
  await local.checkpoint();
  await Promise.all([shared.close(), local.close()]);
  const tableBytes = pg.sql("SELECT pg_total_relation_size('ov_memory.memories') + pg_total_relation_size('ov_memory.edges')", 'bench');
  const changeBytes = pg.sql("SELECT pg_total_relation_size('ov_memory.changes')", 'bench');

  const opens = { directory: [], postgres: [] };
  for (let r = 0; r < 3; r++) {
    opens.directory.push(await child(['open', dir]));
    opens.postgres.push(await child(['open', url]));
  }
  const time = (k) => median(opens[k].map((o) => o.ms));
  const rss = (k) => median(opens[k].map((o) => o.maxRssMB));

  // Lag: this process follows while writers in other processes add.
  const follower = await OVMemory.open(url, quiet);
  const lagOver = async (writers) => {
    const before = follower.metrics().replication.lastSequence;
    const results = await Promise.all(writers);
    await new Promise((r) => setTimeout(r, 500));
    const rep = follower.metrics().replication;
    return { changes: rep.lastSequence - before, writes: results.reduce((s, x) => s + x.writes, 0), p50: rep.lagMs.p50, p99: rep.lagMs.p99 };
  };
  const idle = await lagOver([child(['write', url, '50', '10', '1'])]);
  // The replica keeps its last 1,000 lags: the load's figures are the load's alone.
  const load = await lagOver([1, 2, 3].map((w) => child(['write', url, '0', '10', String(10 + w)])));
  await follower.close();

  const cpu = execFileSync('sh', ['-c', "lscpu | grep 'Model name' | sed 's/Model name: *//'"], { encoding: 'utf8' }).trim();
  const lines = [
    `## Sharing one memory: opening from PostgreSQL, replication lag`,
    '',
    `Machine: ${cpu}, ${os.cpus().length} cores, Node ${process.version}, PostgreSQL ${pg.sql('SHOW server_version')} (a throwaway cluster on a Unix socket, fsync off).`,
    `Command: \`node bench/postgres-open.mjs\`${N === 100_000 ? '' : ` (POSTGRES_OPEN_N=${N})`}. Filling both stores with ${N.toLocaleString('en')} × ${DIM} took ${(fillMs / 1000).toFixed(0)} s;`,
    `the tables hold ${(Number(tableBytes) / 2 ** 20).toFixed(0)} MiB, the change table ${(Number(changeBytes) / 2 ** 20).toFixed(0)} MiB (until it is trimmed).`,
    '',
    '| open of 100k × 768 | ms (median of 3) | peak RSS MiB | time ratio | memory ratio |',
    '|---|---:|---:|---:|---:|',
    `| local directory (snapshot) | ${time('directory').toFixed(0)} | ${rss('directory').toFixed(0)} | 1.00 | 1.00 |`,
    `| PostgreSQL (tables, streamed) | ${time('postgres').toFixed(0)} | ${rss('postgres').toFixed(0)} | ${(time('postgres') / time('directory')).toFixed(2)} | ${(rss('postgres') / rss('directory')).toFixed(2)} |`,
    '',
    '| replication lag (commit → applied in another process) | changes | p50 ms | p99 ms |',
    '|---|---:|---:|---:|',
    `| idle: one writer, a write every 50 ms | ${idle.changes} | ${idle.p50.toFixed(1)} | ${idle.p99.toFixed(1)} |`,
    `| under write load: three writers as fast as they can | ${load.changes} | ${load.p50.toFixed(1)} | ${load.p99.toFixed(1)} |`,
    '',
  ];
  console.log(lines.join('\n'));
  fs.mkdirSync(path.join(path.dirname(self), 'out'), { recursive: true });
  fs.writeFileSync(path.join(path.dirname(self), 'out', 'postgres-open.md'), lines.join('\n'));
} finally {
  pg.stop();
  fs.rmSync(root, { recursive: true, force: true });
}

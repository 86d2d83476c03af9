// The operations kit end to end: a real Prometheus (Debian's) on loopback scrapes a real `ov-memory
// serve` every second with the shipped rules loaded, their `for:` durations cut to 2 s so that the
// test is short (the thresholds and expressions are as shipped; ov-memory.rules.test.yml checks the
// shipped durations). The test drives the service, from outside, into what it can reach: memories
// and bytes near their limits, and a burst of rejected input. It reads ALERTS from Prometheus's API
// (bounded polling), and evaluates every PromQL query of the Grafana dashboard, each of which must
// return data. Engine faults and an open breaker cannot be caused over HTTP: a second target, the
// same service started in process by startServer() with the tests' fault-injecting scan workers,
// reaches those; a store slow per item cannot be made in a short test, and promtool's unit tests
// cover that alert.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../dist/serve.js';
import { testExecutors } from './fixtures/executors.js';
import { randomVectors } from './helpers/data.js';
import { dashboardQueries, loadDashboard, prometheusBinary, ROOT, RULES } from './helpers/prometheus.js';

const CLI = path.join(ROOT, 'dist/cli.js');
const DIM = 8;
const STORE = 'e2e';
const MAX_NODES = 120;
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-ops-'));

interface Started { child: ChildProcess; exited: Promise<unknown>; url: string }
const FAULTY = 'faulty';
let service: Started;
let faulty: RunningServer;
let prometheus: Started;

/** Probes until it gives a value, every 250 ms, for at most `ms`; the error names what never came. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function started(child: ChildProcess, url: Promise<string>): Promise<Started> {
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return url.then((u) => ({ child, exited, url: u }));
}

async function stop(s: Started | undefined): Promise<void> {
  if (!s || s.child.exitCode !== null || s.child.signalCode !== null) return;
  s.child.kill('SIGTERM');
  const killer = setTimeout(() => s.child.kill('SIGKILL'), 10_000);
  await s.exited;
  clearTimeout(killer);
}

interface Sample { metric: Record<string, string>; value: [number, string] }

/** An instant query against the Prometheus the test started. */
async function query(expr: string): Promise<Sample[]> {
  const res = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = await res.json() as { status: string; error?: string; data: { resultType: string; result: Sample[] | [number, string] } };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  // A scalar answers as [time, value]: one sample without labels.
  return body.data.resultType === 'scalar' ? [{ metric: {}, value: body.data.result as [number, string] }] : body.data.result as Sample[];
}

const firing = (alertname: string, store = STORE) => query(`ALERTS{alertname="${alertname}", alertstate="firing", store="${store}"}`);

async function call(method: string, route: string, body?: unknown, url = service.url): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${url}${route}`, {
    method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
}

/** The store's own gauges, read from its /metrics. */
async function gauge(name: string): Promise<number> {
  const text = await (await fetch(`${service.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{store="${STORE}"} `));
  if (line === undefined) throw new Error(`no ${name} in /metrics`);
  return Number(line.split(' ')[1]);
}

const vectors = randomVectors(600, DIM, 22).map((v) => Array.from(v));
const vector = (i: number) => vectors[i]!;

beforeAll(async () => {
  const binary = prometheusBinary('prometheus');
  const serve = spawn(process.execPath, [CLI, 'serve', '--dir', path.join(root, 'store'), '--dim', String(DIM), '--port', '0', '--threads', '0',
    '--max-memory-mb', '1', '--max-nodes', String(MAX_NODES), '--name', STORE, '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  serve.stderr!.resume();
  service = await started(serve, new Promise((resolve, reject) => {
    let out = '';
    serve.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    serve.on('exit', () => reject(new Error('the service exited before listening')));
  }));

  // Every pooled scan of this one throws; the calling thread redoes it, and 20 faults open the breaker.
  faulty = await startServer({
    dir: path.join(root, 'faulty'), dim: DIM, port: 0, logLevel: 'silent',
    store: {
      name: FAULTY, threads: 2, breaker: { failureThreshold: 20, recoveryMs: 60_000, successThreshold: 2 },
      internal: { poolMinRows: 0, executors: testExecutors({ fault: 'throw' }) },
    } as never,
  });

  // The shipped rules, with every `for:` cut to 2 s.
  fs.writeFileSync(path.join(root, 'rules.yml'), fs.readFileSync(RULES, 'utf8').replace(/^(\s+for: )\S+$/gm, '$12s'));
  fs.writeFileSync(path.join(root, 'prometheus.yml'), [
    'global:',
    '  scrape_interval: 1s',
    '  scrape_timeout: 1s',
    '  evaluation_interval: 1s',
    'rule_files: [rules.yml]',
    'scrape_configs:',
    '  - job_name: ov-memory',
    `    static_configs: [{ targets: ['${new URL(service.url).host}', '${new URL(faulty.url).host}'] }]`,
    '',
  ].join('\n'));
  const port = await freePort();
  let log = '';
  const child = spawn(binary, [`--config.file=${path.join(root, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(root, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d) => { log += d; });
  prometheus = await started(child, Promise.resolve(`http://127.0.0.1:${port}`));
  await until('Prometheus ready', async () => {
    if (child.exitCode !== null) throw new Error(`Prometheus exited: ${log}`);
    return (await fetch(`${prometheus.url}/-/ready`)).ok || undefined;
  });
}, 60_000);

afterAll(async () => {
  await stop(prometheus);
  await stop(service);
  await faulty?.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe('Prometheus with the shipped rules, scraping ov-memory serve', () => {
  it('scrapes the service: the target is up and the series carry the store\'s name', async () => {
    const up = await until('both targets up', async () => { const u = await query('up{job="ov-memory"} == 1'); return u.length === 2 ? u : undefined; });
    expect(up.map((u) => u.metric.instance).sort()).toEqual([new URL(service.url).host, new URL(faulty.url).host].sort());
    const limit = await until('the node limit scraped', async () => (await query(`ov_memory_nodes_limit{store="${STORE}"}`))[0]);
    expect(Number(limit.value[1])).toBe(MAX_NODES);
    expect(Number((await query(`ov_memory_memory_limit_bytes{store="${STORE}"}`))[0]!.value[1])).toBe(2 ** 20);
  });

  it('engine faults in the pool: OVMemoryEngineFaultRate fires as warning and critical, OVMemoryBreakerOpen as critical', async () => {
    const memories = Array.from({ length: 50 }, (_, i) => ({ embedding: vector(i), text: `memory ${i}` }));
    expect((await call('POST', '/memories', { memories }, faulty.url)).status).toBe(200);
    // Each search's pooled scan fails and is redone on the calling thread: the answers stay right.
    // Twenty failed scans open the breaker; the scrapes (calls too) take the share down only slowly.
    for (let i = 0; i < 24; i++) {
      const answer = await call('POST', '/search', { vector: vector(i), topK: 1, rank: 'similarity' }, faulty.url);
      expect(answer).toMatchObject({ status: 200, body: { hits: [{ id: i }] } });
    }
    const health = await call('GET', '/healthz', undefined, faulty.url);
    expect(health).toMatchObject({ status: 503, body: { status: 'CRITICAL', breaker: 'OPEN' } });

    const breaker = await until('OVMemoryBreakerOpen firing', async () => { const a = await firing('OVMemoryBreakerOpen', FAULTY); return a.length > 0 ? a : undefined; });
    expect(breaker.map((a) => a.metric.severity)).toEqual(['critical']);
    const faults = await until('OVMemoryEngineFaultRate firing twice', async () => {
      const a = await firing('OVMemoryEngineFaultRate', FAULTY);
      return a.length === 2 ? a : undefined;
    });
    expect(faults.map((a) => a.metric.severity).sort()).toEqual(['critical', 'warning']);
    // The store that only had rejected input has no engine fault alert.
    expect(await firing('OVMemoryEngineFaultRate')).toEqual([]);
  });

  it('memories and bytes past 80 % of their limits: OVMemoryNodesNearLimit and OVMemoryBytesNearLimit fire as warnings', async () => {
    // Memories with long texts, two at a time, until they take 84 % of the 1 MiB; then short ones up
    // to 100 of the 120 memories.
    let added = 0;
    const usage = async () => await gauge('ov_memory_memory_bytes') / await gauge('ov_memory_memory_limit_bytes');
    while (await usage() <= 0.84 && added < 80) {
      const long = [0, 1].map((i) => ({ embedding: vector(added + i), text: `memory ${added + i} ${'lorem ipsum dolor '.repeat(500)}` }));
      expect((await call('POST', '/memories', { memories: long })).status).toBe(200);
      added += 2;
    }
    const short = Array.from({ length: 100 - added }, (_, i) => ({ embedding: vector(100 + i), text: `note ${i}` }));
    expect((await call('POST', '/memories', { memories: short })).status).toBe(200);
    // The store's own view, the reference for the alerts.
    const bytes = await gauge('ov_memory_memory_bytes') / await gauge('ov_memory_memory_limit_bytes');
    const nodes = await gauge('ov_memory_nodes') / await gauge('ov_memory_nodes_limit');
    expect(bytes).toBeGreaterThan(0.8);
    expect(bytes).toBeLessThan(1);
    expect(nodes).toBeCloseTo(100 / MAX_NODES, 9);
    const health = await call('GET', '/healthz');
    expect(health.body).toMatchObject({ status: 'WARNING' });

    for (const name of ['OVMemoryNodesNearLimit', 'OVMemoryBytesNearLimit']) {
      const alerts = await until(`${name} firing`, async () => { const a = await firing(name); return a.length > 0 ? a : undefined; });
      expect(alerts.map((a) => a.metric.severity)).toEqual(['warning']);
    }
    const [ratio] = await query(`ov_memory:nodes:ratio{store="${STORE}"}`);
    expect(Number(ratio!.value[1])).toBeCloseTo(nodes, 9);
  });

  it('a burst of rejected input fires OVMemoryRejectedInput, a warning and never critical', async () => {
    // A vector of the wrong length passes the body's schema and is refused by the store: INVALID_DATA.
    const bad = async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, () => call('POST', '/search', { vector: [1, 2, 3] })));
      for (const a of answers) expect(a).toMatchObject({ status: 400, body: { error: { code: 'INVALID_DATA' } } });
    };
    const alerts = await until('OVMemoryRejectedInput firing', async () => {
      await bad();
      const a = await firing('OVMemoryRejectedInput');
      return a.length > 0 ? a : undefined;
    });
    expect(alerts.map((a) => a.metric.severity)).toEqual(['warning']);
    // Nothing the burst did is critical, in Prometheus or in the service's own health.
    expect(await query('ALERTS{alertname="OVMemoryRejectedInput", severity!="warning"}')).toEqual([]);
    expect(await query(`ALERTS{severity="critical", store!="${FAULTY}"}`)).toEqual([]);
    const health = await call('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'WARNING' });
    expect((health.body as { reasons: string[] }).reasons.join(' ')).toMatch(/rejected-input rate/);
    const [share] = await query(`ov_memory:errors:ratio_rate5m{store="${STORE}", class="rejected"}`);
    expect(Number(share!.value[1])).toBeGreaterThan(0.05);
    expect(await query(`ov_memory:engine_faults:ratio_rate5m{store="${STORE}"} > 0`)).toEqual([]);
  });

  it('every query of the dashboard returns data for the store, and its `store` variable lists it', async () => {
    // A context with two memories of one text: the second is kept out by the redundancy guardrail.
    const twins = [0, 1].map((i) => ({ embedding: vector(500).map((x, d) => x + (d === i ? 1e-3 : 0)), text: 'the release is on friday at noon' }));
    expect((await call('POST', '/memories', { memories: twins })).status).toBe(200);
    expect((await call('POST', '/context', { vector: vector(500), maxTokens: 200 })).status).toBe(200);
    await until('the guardrail block scraped', async () => (await query(`ov_memory_guardrail_blocks_total{store="${STORE}"}`))[0]);

    const dashboard = loadDashboard();
    const values = await (await fetch(`${prometheus.url}/api/v1/label/store/values?match[]=ov_memory_nodes`)).json() as { data: string[] };
    expect(values.data).toContain(STORE);
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThanOrEqual(15);
    for (const q of queries) {
      // Grafana's variables as Grafana would fill them in over a few minutes' range.
      const expr = q.expr.replaceAll('$store', STORE).replaceAll('$__rate_interval', '1m').replaceAll('$__range', '5m');
      const result = await until(`data for "${q.panel}": ${expr}`, async () => { const r = await query(expr); return r.length > 0 ? r : undefined; }, 10_000);
      expect(result.length, q.panel).toBeGreaterThan(0);
    }
  });
});

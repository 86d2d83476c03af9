// The shipped alert rules (ops/prometheus/ov-memory.rules.yml) checked by Debian's promtool, which
// also runs their unit tests on synthetic series (ov-memory.rules.test.yml: every alert fires just past
// its threshold, not at or below it, with its severity). Around that: the error classes of the rules are
// classifyError()'s, what a client can cause only warns, every alert names its value and a runbook
// section that exists, and the dashboard is a Grafana model with a `store` variable on every query.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { classifyError, type ErrorClass } from '../src/observability/metrics.js';
import { ErrorCode } from '../src/resilience/errors.js';
import { dashboardQueries, headingAnchors, loadDashboard, loadRules, promtool, RULES, RUNBOOK, type Rule } from './helpers/prometheus.js';

const rules = loadRules().flatMap((g) => g.rules);
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);

describe('promtool', () => {
  it('check rules: the file is valid and lint-clean', () => {
    expect(promtool(['check', 'rules', RULES])).toMatch(/SUCCESS: \d+ rules found/);
  });

  it('test rules: every alert on synthetic series', () => {
    expect(promtool(['test', 'rules', 'ov-memory.rules.test.yml'])).toMatch(/SUCCESS/);
  });

  it('test rules fails when a threshold is off: the unit tests can fail', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-rules-'));
    try {
      fs.writeFileSync(`${dir}/ov-memory.rules.yml`, fs.readFileSync(RULES, 'utf8').replace('ratio_rate5m{class="rejected"} > 0.05', 'ratio_rate5m{class="rejected"} > 0.06'));
      fs.copyFileSync(RULES.replace('.rules.yml', '.rules.test.yml'), `${dir}/ov-memory.rules.test.yml`);
      expect(() => promtool(['test', 'rules', `${dir}/ov-memory.rules.test.yml`])).toThrow(/FAILED[\s\S]*OVMemoryRejectedInput/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ov-memory.rules.yml', () => {
  /** The PromQL matcher of each class's recording rule, as a JavaScript test of a code (RE2 matchers are anchored). */
  const classMatchers = new Map<string, (code: string) => boolean>();
  for (const r of rules.filter((r) => r.record === 'ov_memory:errors:rate5m')) {
    const [, op, pattern] = /code(=~|!~)"([^"]+)"/.exec(r.expr)!;
    const re = new RegExp(`^(?:${pattern})$`);
    classMatchers.set(r.labels!.class!, (code) => re.test(code) === (op === '=~'));
  }

  it('sorts every error code into the class classifyError() gives it, and an unknown code into internal', () => {
    const classes: ErrorClass[] = ['rejected', 'caller', 'engine', 'embedder', 'storage', 'internal'];
    expect([...classMatchers.keys()].sort()).toEqual([...classes].sort());
    for (const code of [...Object.values(ErrorCode), 'SOMETHING_NEW']) {
      const matched = classes.filter((c) => classMatchers.get(c)!(code));
      expect(matched, code).toEqual([classifyError(code)]);
    }
  });

  it('counts engine faults from the engine class\'s codes and the absorbed faults', () => {
    const engine = rules.find((r) => r.record === 'ov_memory:errors:rate5m' && r.labels?.class === 'engine')!;
    const faults = rules.find((r) => r.record === 'ov_memory:engine_faults:rate5m')!;
    expect(faults.expr).toContain(/code=~"[^"]+"/.exec(engine.expr)![0]);
    expect(faults.expr).toContain('ov_memory_engine_fallbacks_total');
  });

  it('gives every alert a severity, a summary, a description with its value and a runbook section that exists', () => {
    const anchors = headingAnchors(fs.readFileSync(RUNBOOK, 'utf8'));
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const a of alerts) {
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toContain('$value');
      const [file, anchor] = (a.annotations?.runbook_url ?? '').split('#');
      expect(file, a.alert).toBe('docs/RUNBOOK.md');
      expect(anchors.has(anchor!), `${a.alert}: #${anchor} in docs/RUNBOOK.md`).toBe(true);
      expect(anchor, a.alert).toBe(a.alert.toLowerCase());
    }
  });

  it('lets what a client can cause (rejected input, its embedder, input that reaches a bug) only warn', () => {
    const clientCaused = alerts.filter((a) => /class="(rejected|embedder|internal)"/.test(a.expr));
    expect(clientCaused.map((a) => a.alert).sort()).toEqual(['OVMemoryEmbedderFaults', 'OVMemoryInternalErrors', 'OVMemoryRejectedInput']);
    for (const a of clientCaused) expect(a.labels?.severity, a.alert).toBe('warning');
  });

  it('escalates what the guide calls critical: engine faults past 10 %, p95 past 5 s, an open breaker', () => {
    const critical = (name: string) => alerts.find((a) => a.alert === name && a.labels?.severity === 'critical')?.expr;
    expect(critical('OVMemoryEngineFaultRate')).toMatch(/> 0\.10?$/);
    expect(critical('OVMemoryLatencyHigh')).toMatch(/> 5$/);
    expect(critical('OVMemoryBreakerOpen')).toMatch(/>= 2$/);
  });
});

describe('ov-memory.json (the Grafana dashboard)', () => {
  const dashboard = loadDashboard();

  it('has a multi-valued `store` variable from the metrics\' labels', () => {
    const store = dashboard.templating.list.find((v) => v.name === 'store')!;
    expect(store).toMatchObject({ type: 'query', multi: true, includeAll: true });
    const query = typeof store.query === 'string' ? store.query : store.query!.query;
    expect(query).toMatch(/^label_values\(ov_memory_\w+, store\)$/);
  });

  it('lays its panels out on Grafana\'s 24-column grid without overlaps, each with a unique id', () => {
    const taken = new Set<string>();
    const ids = new Set<number>();
    for (const p of dashboard.panels) {
      expect(ids.has(p.id), `${p.title}: id ${p.id}`).toBe(false);
      ids.add(p.id);
      const { x, y, w, h } = p.gridPos;
      expect(x + w, p.title).toBeLessThanOrEqual(24);
      for (let i = x; i < x + w; i++) for (let j = y; j < y + h; j++) {
        expect(taken.has(`${i},${j}`), `${p.title} overlaps at ${i},${j}`).toBe(false);
        taken.add(`${i},${j}`);
      }
    }
  });

  it('filters every query by that variable, and covers what an operator watches', () => {
    const queries = dashboardQueries(dashboard);
    for (const q of queries) expect(q.expr, q.panel).toContain('store=~"$store"');
    const all = queries.map((q) => q.expr).join('\n');
    for (const metric of ['ov_memory_operations_total', 'ov_memory_operation_duration_seconds_bucket', 'ov_memory_errors_total', 'ov_memory_breaker_state',
      'ov_memory_memory_limit_bytes', 'ov_memory_nodes_limit', 'ov_memory_guardrail_blocks_total', 'ov_memory_journal_log_bytes', 'ov_memory_writes_refused']) {
      expect(all, metric).toContain(metric);
    }
  });
});

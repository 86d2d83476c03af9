// Debian's Prometheus for the tests of the operations kit (ops/): where its binaries are, the shipped
// files, and the queries the tests make of its HTTP API.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const RULES = path.join(ROOT, 'ops/prometheus/ov-memory.rules.yml');
export const RULE_TESTS = path.join(ROOT, 'ops/prometheus/ov-memory.rules.test.yml');
export const DASHBOARD = path.join(ROOT, 'ops/grafana/ov-memory.json');
export const RUNBOOK = path.join(ROOT, 'docs/RUNBOOK.md');

/** The path of a Prometheus binary (`prometheus`, `promtool`); throws, saying how to install it, when missing. */
export function prometheusBinary(name: 'prometheus' | 'promtool'): string {
  for (const dir of ['/usr/bin', '/usr/local/bin']) {
    const file = path.join(dir, name);
    if (fs.existsSync(file)) return file;
  }
  throw new Error(`${name} is missing: run scripts/install-prometheus.sh (as root), which .ci/run does`);
}

export interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export function loadRules(file = RULES): { name: string; rules: Rule[] }[] {
  return (parse(fs.readFileSync(file, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups;
}

/** Runs promtool; resolves with its output, or throws with it. */
export function promtool(args: string[]): string {
  return execFileSync(prometheusBinary('promtool'), args, { cwd: path.dirname(RULES), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

interface Panel { id: number; type: string; title: string; gridPos: { x: number; y: number; w: number; h: number }; targets?: { expr: string }[]; panels?: Panel[] }
export interface Dashboard {
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: string | { query: string }; multi?: boolean; includeAll?: boolean }[] };
}

export function loadDashboard(): Dashboard {
  return JSON.parse(fs.readFileSync(DASHBOARD, 'utf8')) as Dashboard;
}

/** Every PromQL expression of the dashboard's panels (rows included), with its panel's title. */
export function dashboardQueries(dashboard: Dashboard): { panel: string; expr: string }[] {
  const out: { panel: string; expr: string }[] = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** GitHub's anchor for a Markdown heading: lower case, punctuation dropped, spaces as hyphens. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of markdown.matchAll(/^#{1,6} +(.+)$/gm)) {
    anchors.add(heading!.trim().toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-'));
  }
  return anchors;
}

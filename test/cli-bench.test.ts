// `ov-memory bench` as a user runs it: the built command in a child process, its JSON and its chart.
// No timing is asserted (the machines are shared and noisy), only shapes and correctness.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const dir = mkdtempSync(path.join(tmpdir(), 'ov-memory-bench-'));
const jsonFile = path.join(dir, 'bench.json');
const svgFile = path.join(dir, 'bench.svg');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bench(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [path.join(root, 'dist/cli.js'), 'bench', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
}

interface Report {
  machine: { cpu: string; cores: number; memoryGiB: number; node: string };
  settings: { sizes: number[]; dim: number; k: number; batch: number; threads: number; quick: boolean };
  runs: {
    n: number;
    bandwidth: { oneThreadGBps: number; allThreadsGBps: number };
    cases: { id: string; msPerQuery: number; gbPerSecond: number; fractionOfBandwidth: number; timesJsScan: number; recall: number }[];
  }[];
  chart: { series: { id: string; label: string }[] };
}

/** Every number anywhere in a JSON value, with its path. */
function numbers(value: unknown, at = '$'): [string, number][] {
  if (typeof value === 'number') return [[at, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => numbers(v, `${at}[${i}]`));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => numbers(v, `${at}.${k}`));
  return [];
}

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
}

/**
 * A small XML well-formedness check: one root, balanced tags, quoted attributes, no stray `<` or
 * bare `&`. Returns the elements in document order.
 */
function parseXml(text: string): XmlElement[] {
  const token = /<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<\/([\w:-]+)\s*>|<([\w:-]+)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/y;
  const badEntity = /&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[\da-f]+);)/i;
  const elements: XmlElement[] = [], open: string[] = [];
  while (token.lastIndex < text.length) {
    const at = token.lastIndex;
    const m = token.exec(text);
    if (!m) throw new Error(`not XML at offset ${at}: ${JSON.stringify(text.slice(at, at + 40))}`);
    const [, closing, opening, attributeText, selfClosing, chars] = m;
    if (chars !== undefined) {
      if (open.length === 0 && chars.trim() !== '') throw new Error(`text outside the root at offset ${at}`);
      if (badEntity.test(chars)) throw new Error(`a bare & at offset ${at}`);
    } else if (closing !== undefined) {
      const expected = open.pop();
      if (expected !== closing) throw new Error(`</${closing}> at offset ${at} does not close <${expected ?? 'nothing'}>`);
    } else if (opening !== undefined) {
      if (open.length === 0 && elements.length > 0) throw new Error(`a second root <${opening}> at offset ${at}`);
      const attributes: Record<string, string> = {};
      for (const [, name, value] of (attributeText ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) {
        if (name! in attributes) throw new Error(`attribute ${name} twice at offset ${at}`);
        if (badEntity.test(value!)) throw new Error(`a bare & in attribute ${name} at offset ${at}`);
        attributes[name!] = value!;
      }
      elements.push({ name: opening, attributes });
      if (!selfClosing) open.push(opening);
    }
  }
  if (open.length > 0) throw new Error(`<${open.at(-1)}> is never closed`);
  if (elements.length === 0) throw new Error('no root element');
  return elements;
}

describe('ov-memory bench', () => {
  let result: SpawnSyncReturns<string>;
  let report: Report;

  beforeAll(() => {
    result = bench(['--quick', '--n', '2000', '--dim', '64', '--json', jsonFile, '--svg', svgFile]);
    if (result.status === 0) report = JSON.parse(readFileSync(jsonFile, 'utf8')) as Report;
  }, 120_000);

  it('bench --quick at a small size exits 0 and prints a table per size', () => {
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/memory bandwidth .* GB\/s on 1 thread/);
    expect(result.stdout).toMatch(/plain JavaScript Float32Array loop/);
    expect(result.stdout.match(/^N = /gm)).toHaveLength(2);
  });

  it('--json: the machine, the settings, and the runs at N/10 and N (--quick adds no N/3)', () => {
    expect(report.machine).toEqual(expect.objectContaining({ cpu: expect.any(String), node: process.version }));
    expect(report.settings).toEqual(expect.objectContaining({ sizes: [200, 2000], dim: 64, k: 10, batch: 200, quick: true }));
    expect(report.runs.map((r) => r.n)).toEqual([200, 2000]);
    for (const run of report.runs) {
      expect(run.cases.map((c) => c.id)).toEqual(expect.arrayContaining(['js', 'langchain', 'scalar', 'simd', 'pool', 'searchMany', 'int8', 'int8Batch', 'binary', 'binaryBatch']));
      expect(run.cases.find((c) => c.id === 'js')?.timesJsScan).toBe(1);
      for (const c of run.cases) {
        expect(Object.keys(c)).toEqual(expect.arrayContaining(['msPerQuery', 'gbPerSecond', 'fractionOfBandwidth', 'timesJsScan', 'recall']));
      }
    }
  });

  it('--json: every figure is a positive finite number', () => {
    const figures = numbers(report);
    expect(figures.length).toBeGreaterThan(50);
    for (const [at, value] of figures) expect({ at, value, ok: Number.isFinite(value) && value > 0 }).toEqual({ at, value, ok: true });
  });

  it('scalar, SIMD and pool scans and searchMany return the float64 top-k (recall 1)', () => {
    for (const run of report.runs) {
      for (const id of ['scalar', 'simd', 'pool', 'searchMany']) {
        expect({ n: run.n, id, recall: run.cases.find((c) => c.id === id)?.recall }).toEqual({ n: run.n, id, recall: 1 });
      }
    }
  });

  it('--svg: well-formed XML with an <svg> root and one polyline per series', () => {
    const elements = parseXml(readFileSync(svgFile, 'utf8'));
    expect(elements[0]?.name).toBe('svg');
    expect(elements[0]?.attributes.xmlns).toBe('http://www.w3.org/2000/svg');
    const drawn = elements.filter((e) => e.name === 'polyline').map((e) => e.attributes['data-series']);
    const series = report.chart.series.map((s) => s.id);
    expect(series).toEqual(expect.arrayContaining(['js', 'scalar', 'simd', 'pool', 'searchMany', 'bandwidth']));
    expect(drawn).toEqual(series);
    for (const polyline of elements.filter((e) => e.name === 'polyline')) {
      expect(polyline.attributes.points?.trim().split(/\s+/)).toHaveLength(report.runs.length);
    }
  });

  it.each([
    [['--nope'], /Unknown option '--nope'/],
    [['--n', 'many'], /--n must be an integer/],
    [['--k', '0'], /--k must be an integer/],
    [['--n', '100', '--k', '500'], /--k 500 is more than the 100 rows/],
    [['--n', '5000000', '--dim', '1024'], /past the 4095 MB that wasm32 addresses/],
  ])('bad flags %j: exit 2 with one line on stderr', (args, message) => {
    const bad = bench(args);
    expect(bad.status).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(message);
  });
});

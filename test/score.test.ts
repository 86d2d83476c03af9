// `ov-memory score` on small files of every format against a float64 scan, across chunk
// boundaries, and every bad input: one line naming the file and the problem, a non-zero exit, and no
// output file.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomVectors } from './helpers/data.js';

const cli = path.resolve(__dirname, '../dist/cli.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-score-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const file = (name: string) => path.join(dir, name);

function npy(rows: Float32Array[], descr = '<f4', shape = `(${rows.length}, ${rows[0]!.length})`): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header), ...rows.map((r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength))]);
}
const fvecs = (rows: Float32Array[]) => Buffer.concat(rows.flatMap((r) => {
  const d = Buffer.alloc(4);
  d.writeInt32LE(r.length);
  return [d, Buffer.from(r.buffer, r.byteOffset, r.byteLength)];
}));
const f32 = (rows: Float32Array[]) => Buffer.concat(rows.map((r) => Buffer.from(r.buffer, r.byteOffset, r.byteLength)));
const jsonl = (rows: Float32Array[], ids = true) => rows.map((r, i) => JSON.stringify({ ...(ids ? { id: `doc-${i}` } : {}), embedding: Array.from(r), text: `t${i}` })).join('\n');

function score(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'score', '--quiet', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stderr: r.stderr.trim() };
}

/** The float64 cosine top-k, ties to the lower row. */
function reference(corpus: Float32Array[], q: Float32Array, k: number): number[] {
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return corpus.map((r, i) => ({ i, s: r.reduce((s, x, j) => s + x * q[j]!, 0) / (norm(r) * norm(q)) }))
    .sort((a, b) => b.s - a.s || a.i - b.i).slice(0, k).map((h) => h.i);
}

const DIM = 13;
const corpus = randomVectors(300, DIM, 31);
const queries = randomVectors(9, DIM, 32);

describe('ov-memory score', () => {
  const formats: [string, Buffer | string, string[]][] = [
    ['corpus.npy', npy(corpus), []],
    ['corpus.fvecs', fvecs(corpus), []],
    ['corpus.f32', f32(corpus), ['--dim', String(DIM)]],
    ['corpus.jsonl', jsonl(corpus, false), []],
  ];
  for (const [name, bytes, extra] of formats) {
    it(`scores a ${path.extname(name)} corpus like a float64 scan, across chunks`, () => {
      fs.writeFileSync(file(name), bytes);
      fs.writeFileSync(file('queries.fvecs'), fvecs(queries));
      const out = file(`${name}.out.jsonl`);
      const r = score('--corpus', file(name), '--queries', file('queries.fvecs'), '--top-k', '5', '--out', out, '--chunk-rows', '64', '--threads', '0', ...extra);
      expect(r).toMatchObject({ code: 0 });
      expect(r.stderr).toMatch(/^scored 300 rows × 9 queries in/);
      const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength(9);
      lines.forEach((line, q) => {
        expect(line.query).toBe(q);
        expect(line.ids).toEqual(reference(corpus, queries[q]!, 5));
        expect(line.scores.every((s: number, i: number) => i === 0 || line.scores[i - 1] >= s)).toBe(true);
      });
    });
  }

  it('carries .jsonl ids through to the output', () => {
    fs.writeFileSync(file('ids.jsonl'), jsonl(corpus));
    fs.writeFileSync(file('q.jsonl'), jsonl(queries.slice(0, 2)));
    const out = file('ids.out.jsonl');
    expect(score('--corpus', file('ids.jsonl'), '--queries', file('q.jsonl'), '--top-k', '3', '--out', out, '--rank', 'priority').code).toBe(0);
    const [first] = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(first.query).toBe('doc-0');
    expect(first.ids).toEqual(reference(corpus, queries[0]!, 3).map((i) => `doc-${i}`));
  });

  const nan = corpus.map((r) => Float32Array.from(r));
  nan[200]![4] = Number.NaN;
  const bad: [string, string, Buffer | string, RegExp, string[]][] = [
    ['bad magic', 'magic.npy', Buffer.from('not a numpy file at all'), /magic\.npy: bad magic/, []],
    ['wrong dtype', 'dtype.npy', npy(corpus, '<f8'), /dtype\.npy: wrong dtype <f8/, []],
    ['3-D array', 'shape.npy', npy(corpus, '<f4', '(300, 13, 1)'), /shape\.npy: shape \(300, 13, 1\): expected 2-D/, []],
    ['truncated .npy', 'short.npy', npy(corpus).subarray(0, 500), /short\.npy: truncated/, []],
    ['truncated .fvecs', 'short.fvecs', fvecs(corpus).subarray(0, 1000), /short\.fvecs: truncated/, []],
    ['.f32 without --dim', 'raw.f32', f32(corpus), /raw\.f32: raw \.f32 needs --dim/, []],
    ['NaN in a row', 'nan.npy', npy(nan), /nan\.npy: row 200 has NaN at column 4/, []],
    ['dimension mismatch', 'wide.npy', npy(randomVectors(10, 14, 1)), /queries\.fvecs: dimension 13, the corpus has 14/, []],
    ['a .jsonl line without an embedding', 'broken.jsonl', `${JSON.stringify({ embedding: Array.from(corpus[0]!) })}\n{"text":"x"}\n`, /broken\.jsonl: line 2 has no "embedding"/, []],
    ['an unknown format', 'corpus.csv', '1,2,3', /corpus\.csv: unknown format/, []],
  ];
  for (const [name, fileName, bytes, message, extra] of bad) {
    it(`${name}: one line naming the file, exit 1, no output`, () => {
      fs.writeFileSync(file(fileName), bytes);
      fs.writeFileSync(file('queries.fvecs'), fvecs(queries));
      const out = file(`${fileName}.out`);
      const r = score('--corpus', file(fileName), '--queries', file('queries.fvecs'), '--top-k', '3', '--out', out, '--chunk-rows', '64', ...extra);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.split('\n')).toHaveLength(1);
      expect(fs.existsSync(out)).toBe(false);
      expect(fs.readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
    });
  }

  it('bad flags exit 2 with a usage line', () => {
    expect(score('--corpus', 'x.npy')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--corpus, --queries, --top-k and --out are required/) });
    expect(score('--corpus', 'a', '--queries', 'b', '--out', 'c', '--top-k', '0')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--top-k must be a positive integer/) });
    expect(score('--colour', 'red')).toMatchObject({ code: 2 });
  });

  it('an interrupted run leaves no output file', async () => {
    // 600,000 rows in chunks of 1,000 take seconds; the signal comes at 300 ms.
    const big = new Float32Array(600_000 * 64).map((_, i) => Math.sin(i * 0.37) + 0.01);
    fs.writeFileSync(file('big.f32'), Buffer.from(big.buffer));
    fs.writeFileSync(file('bq.f32'), Buffer.from(big.buffer, 0, 50 * 64 * 4));
    const out = file('interrupted.jsonl');
    const child = spawn(process.execPath, [cli, 'score', '--quiet', '--corpus', file('big.f32'), '--queries', file('bq.f32'), '--dim', '64', '--top-k', '5', '--out', out, '--chunk-rows', '1000']);
    const exited = new Promise((r) => child.on('exit', (c, signal) => r(c ?? signal)));
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });
});

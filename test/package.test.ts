// The built package as a user meets it: both module formats, the wasm build, and a clean exit.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(__dirname, '..');
const project = mkdtempSync(path.join(tmpdir(), 'ov-memory-package-'));
mkdirSync(path.join(project, 'node_modules'));
symlinkSync(root, path.join(project, 'node_modules', 'ov-memory'));
afterAll(() => rmSync(project, { recursive: true, force: true }));

/** Runs a script as a user's file in a project that depends on ov-memory; returns its output. */
function runScript(name: string, source: string): string {
  const file = path.join(project, name);
  writeFileSync(file, source);
  return execFileSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 30_000 });
}

const usage = (load: string) => `
${load}
(async () => {
  const memory = await OVMemory.create({ dim: 3, threads: 2, internal: { poolMinRows: 0 } });
  memory.addMany([{ embedding: [1, 0, 0], text: 'x' }, { embedding: [0, 1, 0], text: 'y' }]);
  const hits = await memory.search([0.1, 1, 0], { rank: 'similarity' });
  console.log(JSON.stringify(hits.map((h) => h.text)));
  await memory.close();
})();
`;

describe('package', () => {
  it('works through import (ESM), with a worker pool', () => {
    expect(runScript('esm.mjs', usage("import { OVMemory } from 'ov-memory';")).trim()).toBe('["y","x"]');
  });

  it('works through require (CommonJS), with a worker pool', () => {
    expect(runScript('cjs.cjs', usage("const { OVMemory } = require('ov-memory');")).trim()).toBe('["y","x"]');
  });

  it('a store that is never closed does not keep the process alive', () => {
    const out = runScript('unclosed.mjs', `
      import { OVMemory } from 'ov-memory';
      const memory = await OVMemory.create({ dim: 3, threads: 2, internal: { poolMinRows: 0 } });
      memory.add({ embedding: [1, 2, 3], text: 'kept' });
      await memory.search([1, 2, 3], { timeoutMs: 60_000 });
      console.log('done');
    `);
    expect(out.trim()).toBe('done');
  });

  it('the release kernel really uses SIMD, the scalar one does not, and neither has data segments', () => {
    const simd = readFileSync(path.join(root, 'dist/ov-memory.wat'), 'utf8');
    const scalar = readFileSync(path.join(root, 'dist/ov-memory-scalar.wat'), 'utf8');
    expect(simd).toMatch(/f32x4\.mul/);
    expect(simd).toMatch(/v128\.load/);
    expect(scalar).not.toMatch(/v128|f32x4/);
    for (const wat of [simd, scalar]) {
      expect(wat).not.toMatch(/\(data\b/);
      expect(wat).toMatch(/\(import "env" "memory" \(memory \$\d+ \d+ 65536 shared\)\)/);
    }
  });
});

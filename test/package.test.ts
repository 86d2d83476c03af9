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
    // The int8 rows' kernel: codes loaded sign-extended into i16 lanes, then i16 dot products.
    expect(simd).toMatch(/i32x4\.dot_i16x8_s/);
    expect(simd).toMatch(/v128\.load8x8_s/);
    expect(scalar).not.toMatch(/v128|f32x4/);
    for (const wat of [simd, scalar]) {
      expect(wat).not.toMatch(/\(data\b/);
      expect(wat).toMatch(/\(import "env" "memory" \(memory \$\d+ \d+ 65536 shared\)\)/);
    }
  });
});

describe('the type declarations', () => {
  it('compile in a strict project without @types/node, without esnext.disposable and without skipLibCheck', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'ov-memory-types-'));
    try {
      mkdirSync(path.join(dir, 'node_modules'));
      symlinkSync(root, path.join(dir, 'node_modules', 'ov-memory'));
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: [], noEmit: true, skipLibCheck: false },
        files: ['main.ts'],
      }));
      writeFileSync(path.join(dir, 'main.ts'), [
        "import { OVMemory, type Filter, type Recovery, type SearchHit } from 'ov-memory';",
        "const filter: Filter = { tags: { $in: ['a'] }, year: { $gte: 2020 } };",
        'export async function run(): Promise<[SearchHit[], Recovery | undefined]> {',
        '  const memory = await OVMemory.create({ dim: 4 });',
        '  const hits = await memory.search([1, 0, 0, 0], { filter });',
        '  await memory.close();',
        '  return [hits, memory.recovery];',
        '}',
      ].join('\n'));
      // Throws (with tsc's messages) when the declarations do not compile there.
      execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the packed package', () => {
  it('ships every file the README links to, and no .wat text', () => {
    const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: root, encoding: 'utf8' })) as [{ files: { path: string }[] }];
    const shipped = new Set(pack.files.map((f) => f.path));
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#\s]+)\)/g)].map((m) => m[1]!).filter((href) => !/^[a-z]+:/.test(href));
    expect(links.length).toBeGreaterThan(0);
    for (const href of links) expect(shipped.has(href), `README links to ${href}`).toBe(true);
    expect([...shipped].filter((f) => f.endsWith('.wat'))).toEqual([]);
  });
});

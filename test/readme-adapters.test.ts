// The README's framework examples run as written: each ```ts block of its "Framework adapters"
// section is stripped of its types (esbuild) and run by Node as a user's file in a project that
// depends on ov-memory and the frameworks; what it prints must be what its `// → …` comments say.
// The same blocks type-check in a strict project against the shipped declarations.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { transformSync } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');
const readme = fs.readFileSync(path.join(repo, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Framework adapters\n'), readme.indexOf('\n## ', readme.indexOf('\n## Framework adapters\n') + 1));
const blocks = [...section.matchAll(/\n### ([^\n]+)[\s\S]*?```ts\n([\s\S]*?)```/g)].map((m) => ({ title: m[1]!, code: m[2]! }));

const project = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-readme-'));
fs.mkdirSync(path.join(project, 'node_modules'));
fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ type: 'module' }));
fs.symlinkSync(repo, path.join(project, 'node_modules', 'ov-memory'));
for (const entry of fs.readdirSync(path.join(repo, 'node_modules'))) {
  if (!entry.startsWith('.')) fs.symlinkSync(path.join(repo, 'node_modules', entry), path.join(project, 'node_modules', entry));
}
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

describe('README: framework adapters', () => {
  it('has one example per adapter', () => {
    expect(blocks.map((b) => b.title)).toEqual(['LangChain.js: `ov-memory/langchain`', 'LangGraph: `ov-memory/langgraph`', 'AI SDK: `ov-memory/ai-sdk`']);
  });

  it.each(blocks)('$title runs and prints what it says', ({ title, code }) => {
    const expected = [...code.matchAll(/\/\/ → (.*)$/gm)].map((m) => m[1]!);
    expect(expected.length, title).toBeGreaterThan(0);
    const file = path.join(project, `${title.replace(/\W+/g, '-')}.mjs`);
    fs.writeFileSync(file, transformSync(code, { loader: 'ts', format: 'esm', target: 'es2022' }).code);
    const r = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split('\n')).toEqual(expected);
  });

  it('the examples type-check (strict, NodeNext) against the shipped declarations', () => {
    const files = blocks.map((b, i) => {
      fs.writeFileSync(path.join(project, `example-${i}.ts`), b.code);
      return `example-${i}.ts`;
    });
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023', 'DOM'], types: ['node'], noEmit: true, skipLibCheck: true },
      files,
    }));
    const r = spawnSync(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', project], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});

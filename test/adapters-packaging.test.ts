// The adapters as packaged: the core entry loads none of the frameworks (every module Node resolves
// while a store is used is recorded), and in an install without them each adapter's entry fails
// with one UNSUPPORTED error naming the package to install. Real processes over dist/.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');
const FRAMEWORKS = ['@langchain', 'ai', 'zod', '@ai-sdk'];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-adapters-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function node(cwd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A project of dist/ and package.json beside a node_modules of links to the repo's, less `missing`. */
function projectWithout(name: string, missing: string[]): string {
  const dir = path.join(scratch, name);
  fs.mkdirSync(path.join(dir, 'node_modules'), { recursive: true });
  fs.cpSync(path.join(repo, 'dist'), path.join(dir, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(dir, 'package.json'));
  for (const entry of fs.readdirSync(path.join(repo, 'node_modules'))) {
    if (!missing.includes(entry) && !entry.startsWith('.')) fs.symlinkSync(path.join(repo, 'node_modules', entry), path.join(dir, 'node_modules', entry));
  }
  return dir;
}

describe('the core entry', () => {
  it('loads no framework, though all of them are installed', () => {
    const log = path.join(scratch, 'resolutions.txt');
    const script = `import { OVMemory, hashingEmbedder } from 'ov-memory';
      const m = await OVMemory.create({ embedder: hashingEmbedder({ dim: 16 }), threads: 0, logLevel: 'silent' });
      await m.remember({ text: 'a memory' });
      console.log((await m.search('memory'))[0].text);
      await m.close();`;
    const r = node(repo, ['--import', './test/fixtures/record-resolutions.mjs', '--input-type=module', '-e', script], { OV_MEMORY_RESOLUTIONS: log });
    expect(r).toMatchObject({ code: 0, stdout: 'a memory\n' });
    const resolved = fs.readFileSync(log, 'utf8').trim().split('\n');
    expect(resolved).toContain(`file://${repo}/dist/index.js`);
    const packages = [...new Set(resolved.flatMap((url) => url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? []))];
    expect(packages.length).toBeGreaterThan(0); // the library's own dependencies are seen, so the hook works
    expect(packages.filter((p) => FRAMEWORKS.some((f) => p === f || p.startsWith(`${f}/`)))).toEqual([]);
  });

  it('an adapter loads its framework (the check above would see one)', () => {
    const log = path.join(scratch, 'resolutions-langchain.txt');
    const r = node(repo, ['--import', './test/fixtures/record-resolutions.mjs', '--input-type=module', '-e', "await import('ov-memory/langchain');"], { OV_MEMORY_RESOLUTIONS: log });
    expect(r.code).toBe(0);
    expect(fs.readFileSync(log, 'utf8')).toMatch(/node_modules\/@langchain\/core\//);
  });
});

describe('without the frameworks installed', () => {
  let project: string;
  beforeAll(() => {
    project = projectWithout('none', FRAMEWORKS);
  });

  it('they are really absent, and the library works', () => {
    for (const name of ['@langchain/core', '@langchain/langgraph-checkpoint', 'ai', 'zod']) {
      expect(node(project, ['--input-type=module', '-e', `await import('${name}')`]).code, name).not.toBe(0);
    }
    const script = `import { OVMemory } from 'ov-memory';
      const m = await OVMemory.create({ dim: 2, threads: 0 });
      m.add({ embedding: [1, 0], text: 'ok' });
      console.log((await m.search([1, 0]))[0].text);
      await m.close();`;
    expect(node(project, ['--input-type=module', '-e', script])).toMatchObject({ code: 0, stdout: 'ok\n' });
  });

  it.each([
    ['ov-memory/langchain', '@langchain/core', 'ov-memory/langchain needs @langchain/core, an optional peer dependency: npm install @langchain/core@^1'],
    ['ov-memory/langgraph', '@langchain/langgraph-checkpoint', 'ov-memory/langgraph needs @langchain/langgraph-checkpoint, an optional peer dependency: npm install @langchain/langgraph'],
    ['ov-memory/ai-sdk', 'zod', 'ov-memory/ai-sdk needs zod, an optional peer dependency: npm install zod@^4'],
  ])('importing %s is UNSUPPORTED, naming %s', (entry, pkg, message) => {
    const script = `await import('${entry}').then(() => console.log('loaded'), (e) => console.log(e.code, e.message, e.details.package));`;
    const r = node(project, ['--input-type=module', '-e', script]);
    expect(r.stdout.trim()).toBe(`UNSUPPORTED ${message} ${pkg}`);
  });

  it('ov-memory/ai-sdk with zod but not ai names ai', () => {
    const dir = projectWithout('no-ai', ['ai', '@ai-sdk']);
    const r = node(dir, ['--input-type=module', '-e', "await import('ov-memory/ai-sdk').catch((e) => console.log(e.code, e.message));"]);
    expect(r.stdout.trim()).toBe('UNSUPPORTED ov-memory/ai-sdk needs ai, an optional peer dependency: npm install ai@^6');
  });
});

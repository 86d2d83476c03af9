// The command's own dependencies are optional peers: in an install without fastify, secure-json-parse,
// cli-progress and pg, the library and `score` work, `serve` ends with one line saying what to install,
// and a store on PostgreSQL is UNSUPPORTED naming pg.
// Built as real files: a copy of dist/ beside a node_modules of links to every installed package but those.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(import.meta.dirname, '..');
const OPTIONAL = ['fastify', 'secure-json-parse', 'cli-progress', '@modelcontextprotocol', 'zod', 'pg'];
const project = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-no-peers-'));

beforeAll(() => {
  fs.cpSync(path.join(repo, 'dist'), path.join(project, 'dist'), { recursive: true });
  fs.copyFileSync(path.join(repo, 'package.json'), path.join(project, 'package.json'));
  fs.mkdirSync(path.join(project, 'node_modules'));
  for (const name of fs.readdirSync(path.join(repo, 'node_modules'))) {
    if (!OPTIONAL.includes(name) && !name.startsWith('.')) fs.symlinkSync(path.join(repo, 'node_modules', name), path.join(project, 'node_modules', name));
  }
});
afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

function node(args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: project, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('without the optional peers', () => {
  it('they are really absent', () => {
    for (const name of OPTIONAL.map((n) => (n === '@modelcontextprotocol' ? '@modelcontextprotocol/sdk' : n))) {
      expect(node(['-e', `import('${name}').then(() => process.exit(0), () => process.exit(3))`]).code).toBe(3);
    }
  });

  it('the library works', () => {
    const script = `import { OVMemory } from './dist/index.js';
      const m = await OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent' });
      m.add({ embedding: [1, 0, 0, 0], text: 'a' });
      console.log((await m.search([1, 0, 0, 0]))[0].text);
      await m.close();`;
    expect(node(['--input-type=module', '-e', script])).toMatchObject({ code: 0, stdout: 'a\n' });
  });

  it('OVMemory.open of a PostgreSQL URL rejects with UNSUPPORTED, naming pg', () => {
    const script = `import { OVMemory } from './dist/index.js';
      await OVMemory.open('postgres://localhost/agents', { dim: 4 }).catch((e) => console.log(e.code, e.message));`;
    expect(node(['--input-type=module', '-e', script]).stdout).toMatch(/^UNSUPPORTED a store on PostgreSQL needs the `pg` package: npm install pg/);
  });

  it('ov-memory serve says which package to install, in one line, exit 1', () => {
    const r = node(['dist/cli.js', 'serve', '--dir', path.join(project, 'store'), '--dim', '4', '--port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['ov-memory serve: the HTTP service needs fastify, an optional peer dependency: npm install fastify@^5']);
    expect(fs.existsSync(path.join(project, 'store'))).toBe(false);
  });

  it('startServer from ov-memory/serve rejects with UNSUPPORTED', () => {
    const script = `import { startServer } from './dist/serve.js';
      await startServer({ dir: 'store', dim: 4, port: 0 }).catch((e) => console.log(e.code, e.message));`;
    expect(node(['--input-type=module', '-e', script]).stdout).toMatch(/^UNSUPPORTED the HTTP service needs fastify/);
  });

  it('ov-memory mcp says which packages to install, in one line, exit 1', () => {
    const r = node(['dist/cli.js', 'mcp', '--dir', path.join(project, 'mcp-store'), '--embedder', 'hashing']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['ov-memory mcp: the MCP server needs @modelcontextprotocol/sdk, an optional peer dependency: npm install @modelcontextprotocol/sdk@^1 zod@^4']);
    expect(fs.existsSync(path.join(project, 'mcp-store'))).toBe(false);
  });

  it('ov-memory score runs (no progress bar is needed off a terminal)', () => {
    const rows = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]);
    fs.writeFileSync(path.join(project, 'c.f32'), Buffer.from(rows.buffer));
    const r = node(['dist/cli.js', 'score', '--corpus', 'c.f32', '--queries', 'c.f32', '--dim', '4', '--top-k', '1', '--out', 'hits.jsonl', '--threads', '0']);
    expect(r.code).toBe(0);
    expect(fs.readFileSync(path.join(project, 'hits.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).ids)).toEqual([[0], [1], [2]]);
  });
});

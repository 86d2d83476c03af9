// `ov-memory mcp`, the built command in child processes: the SDK's clients over stdio and over
// Streamable HTTP (with and without a token), its flags, `mcp import` of a reference memory file
// with bad lines, and several processes on one directory: concurrent writers lose nothing, and
// killing the process that holds the store hands it over without losing an acknowledged write.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { tempRoot } from './helpers/stores.js';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
const REFERENCE = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-memory/dist/index.js');
const { root, freshDir } = tempRoot('ov-memory-mcp-cmd-');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A client of a stdio server process; `stderr()` is what the process printed there so far. */
async function stdioClient(args: string[], env: Record<string, string> = {}) {
  const transport = new StdioClientTransport({ command: process.execPath, args, env: { ...process.env as Record<string, string>, ...env }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'test', version: '1' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  const call = async (name: string, args: Record<string, unknown> = {}) => (await client.callTool({ name, arguments: args })) as CallToolResult;
  return { client, call, transport, stderr: () => stderr, pid: transport.pid! };
}

const ourServer = (dir: string, ...flags: string[]) => stdioClient([CLI, 'mcp', '--dir', dir, '--embedder', 'hashing', ...flags]);

/** Runs the command to its end. */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `ov-memory mcp --http` and resolves with its URL once it listens. */
function httpServer(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'mcp', '--http', '--port', '0', '--embedder', 'hashing', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  cleanups.push(() => new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  }));
  return new Promise((resolve, reject) => {
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => {
      stderr += c.toString();
      const url = /listening on (\S+)/.exec(stderr)?.[1];
      if (url) resolve({ url, child });
    });
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${stderr}`)));
  });
}

const structured = (r: CallToolResult) => r.structuredContent as Record<string, any>;

/** Every memory's text in a closed store directory, with how often each occurs. */
async function textCounts(dir: string): Promise<Map<string, number>> {
  const memory = await OVMemory.open(dir, { threads: 0 });
  try {
    const counts = new Map<string, number>();
    for (const id of memory.ids()) {
      const text = memory.get(id)!.text;
      counts.set(text, (counts.get(text) ?? 0) + 1);
    }
    return counts;
  } finally {
    await memory.close();
  }
}

describe('ov-memory mcp over stdio', () => {
  it('serves every tool to the SDK\'s client, and says on stderr which embedder it uses', async () => {
    const { call, client, stderr } = await ourServer(freshDir());
    expect((await client.listTools()).tools).toHaveLength(15);
    expect(structured(await call('create_entities', { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }] })).entities).toHaveLength(1);
    expect(structured(await call('search_nodes', { query: 'program' })).entities[0].name).toBe('Ada');
    const { id } = structured(await call('remember', { text: 'The build runs on Node 20' }));
    expect(structured(await call('recall', { query: 'which Node runs the build' })).hits[0].id).toBe(id);
    const failed = await call('add_observations', { observations: [{ entityName: 'Nobody', contents: ['x'] }] });
    expect(failed.isError).toBe(true);
    expect((failed.content[0] as { text: string }).text).toBe('NOT_FOUND: Entity with name Nobody not found');
    expect(stderr()).toContain('ov-memory mcp: embedder hashing (as asked)');
  });

  it('refuses bad flags with one line and exit code 2', async () => {
    const scopedTokens = path.join(root, 'scoped-tokens');
    fs.writeFileSync(scopedTokens, 'sesame user=ann\n');
    for (const [args, message] of [
      [['mcp', '--dir', freshDir(), '--http', '--embedder', 'hashing', '--token-file', scopedTokens], 'holds one token, for the whole store, got 1'],
      [['mcp'], 'Expected `--dir` to be the store\'s directory, got nothing'],
      [['mcp', '--dir', freshDir(), '--embedder', 'bert'], 'Expected `embedder` to be one of hashing, use, openai, got "bert"'],
      [['mcp', '--dir', freshDir(), '--port', '9'], '--port, --host and --token-file go with --http'],
      [['mcp', '--dir', freshDir(), '--embedder', 'openai', '--openai-model', 'm'], '--openai-base-url and --openai-model go together'],
      [['mcp', 'serve', '--dir', freshDir()], 'unexpected argument "serve": the only subcommand is import FILE'],
      [['mcp', '--dir', freshDir(), '--http', '--host', '0.0.0.0', '--embedder', 'hashing'], 'refusing to listen on 0.0.0.0 without a token'],
      [['mcp', '--dir', freshDir(), '--bogus'], 'Unknown option \'--bogus\''],
      [['mcp', 'import', '--dir', freshDir()], 'import takes one FILE, got 0'],
    ] as const) {
      const { code, stderr } = await runCli([...args]);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr.trim().split('\n').at(-1), args.join(' ')).toContain(message);
    }
  });
});

describe('ov-memory mcp --http', () => {
  it('serves the SDK\'s Streamable HTTP client on loopback', async () => {
    const { url } = await httpServer(['--dir', freshDir()]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url)));
    cleanups.push(() => client.close());
    await client.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Ada', entityType: 'person', observations: [] }] } });
    expect((await client.callTool({ name: 'read_graph', arguments: {} })).structuredContent).toEqual({ entities: [{ name: 'Ada', entityType: 'person', observations: [] }], relations: [] });
    const bad = (await client.callTool({ name: 'remember', arguments: { text: 42 } })) as CallToolResult;
    expect(bad.isError).toBe(true);
  });

  it('with a token file, needs the bearer token; on loopback, refuses a foreign Host header', async () => {
    const tokenFile = path.join(root, 'token');
    fs.writeFileSync(tokenFile, 'sesame\n');
    const { url } = await httpServer(['--dir', freshDir(), '--token-file', tokenFile]);
    const anonymous = new Client({ name: 'test', version: '1' });
    await expect(anonymous.connect(new StreamableHTTPClientTransport(new URL(url)))).rejects.toThrow(/Unauthorized: send Authorization: Bearer <token>/);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: 'Bearer sesame' } } }));
    cleanups.push(() => client.close());
    expect((await client.callTool({ name: 'read_graph', arguments: {} })).structuredContent).toEqual({ entities: [], relations: [] });

    const open = await httpServer(['--dir', freshDir()]);
    const status = await new Promise<number>((resolve, reject) => {
      const { port } = new URL(open.url);
      http.request({ host: '127.0.0.1', port, path: '/mcp', method: 'POST', headers: { host: 'evil.example:80', 'content-type': 'application/json' } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject).end('{}');
    });
    expect(status).toBe(403);
  });
});

describe('the README', () => {
  it('its client configuration works as written, with the package installed globally as it says', async () => {
    const readme = fs.readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### The MCP server'));
    const config = JSON.parse(/```json\n([\s\S]*?)\n```/.exec(section)![1]!) as { mcpServers: { memory: { command: string; args: string[] } } };
    const { command, args } = config.mcpServers.memory;
    expect([command, ...args.slice(0, 3)]).toEqual(['npx', 'ov-memory', 'mcp', '--dir']);
    // A global install (npm install -g) in a prefix of its own: the package is this checkout.
    const prefix = path.join(root, 'global');
    fs.mkdirSync(path.join(prefix, 'lib', 'node_modules'), { recursive: true });
    fs.mkdirSync(path.join(prefix, 'bin'), { recursive: true });
    fs.symlinkSync(path.resolve(import.meta.dirname, '..'), path.join(prefix, 'lib', 'node_modules', 'ov-memory'));
    fs.symlinkSync('../lib/node_modules/ov-memory/dist/cli.js', path.join(prefix, 'bin', 'ov-memory'));
    const cwd = fs.mkdtempSync(path.join(root, 'elsewhere-'));
    const dir = freshDir();
    const transport = new StdioClientTransport({
      command, args: [...args.slice(0, 3), dir], cwd, stderr: 'pipe',
      env: { ...process.env as Record<string, string>, npm_config_prefix: prefix, npm_config_offline: 'true' },
    });
    let stderr = '';
    transport.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const client = new Client({ name: 'desktop', version: '1' });
    await client.connect(transport);
    cleanups.push(() => client.close());
    await client.callTool({ name: 'create_entities', arguments: { entities: [{ name: 'Ada', entityType: 'person', observations: ['wrote the first program'] }] } });
    const found = (await client.callTool({ name: 'search_nodes', arguments: { query: 'first program' } })).structuredContent as { entities: { name: string }[] };
    expect(found.entities.map((e) => e.name)).toEqual(['Ada']);
    // The Universal Sentence Encoder's packages are development dependencies here.
    expect(stderr).toContain('ov-memory mcp: embedder use (its packages are installed)');
  });
});

describe('ov-memory mcp import', () => {
  it('imports a reference memory file, skipping and reporting bad lines; the graph reads as the reference reads the good ones', async () => {
    const good = [
      { type: 'entity', name: 'Ada', entityType: 'person', observations: ['wrote the first program', 'born 1815'] },
      { type: 'entity', name: 'Engine', entityType: 'machine', observations: [] },
      { type: 'relation', from: 'Ada', to: 'Engine', relationType: 'programmed' },
      { type: 'relation', from: 'Ada', to: 'Nobody', relationType: 'knows' },
    ].map((line) => JSON.stringify(line));
    const bad = ['{"type":"entity","name":"Half"', '{"type":"note","text":"x"}', '{"type":"entity","name":"Ada","entityType":"again","observations":[]}', '[1,2]', '{"type":"relation","from":"Ada"}'];
    const file = path.join(root, 'memory.jsonl');
    fs.writeFileSync(file, [good[0], bad[0], good[1], bad[1], '', good[2], bad[2], bad[3], good[3], bad[4]].join('\n'));
    const dir = freshDir();
    const { code, stdout, stderr } = await runCli(['mcp', 'import', file, '--dir', dir, '--embedder', 'hashing']);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe(`imported 2 entities and 2 relations from ${file}; 5 lines skipped`);
    const skipped = stderr.split('\n').filter((l) => l.includes(': skipped: '));
    expect(skipped.map((l) => Number(/:(\d+): skipped/.exec(l)?.[1]))).toEqual([2, 4, 7, 8, 10]);
    expect(skipped[2]).toContain('the entity "Ada" exists already');

    const goodFile = path.join(root, 'good.jsonl');
    fs.writeFileSync(goodFile, good.join('\n'));
    const reference = await stdioClient([REFERENCE], { MEMORY_FILE_PATH: goodFile });
    const ours = await ourServer(dir);
    expect((await ours.call('read_graph')).structuredContent).toEqual((await reference.call('read_graph')).structuredContent);
    // The reference itself cannot read the file with bad lines.
    const broken = await stdioClient([REFERENCE], { MEMORY_FILE_PATH: file });
    expect((await broken.call('read_graph')).isError).toBe(true);
  });

  it('a missing file is an error with exit code 1', async () => {
    const { code, stderr } = await runCli(['mcp', 'import', path.join(root, 'none.jsonl'), '--dir', freshDir(), '--embedder', 'hashing']);
    expect(code).toBe(1);
    expect(stderr).toContain('ENOENT');
  });
});

describe('several servers on one directory', () => {
  const WRITES = 80;
  const write = async (server: Awaited<ReturnType<typeof ourServer>>, writer: string, acknowledged: string[], count = WRITES) => {
    for (let i = 0; i < count; i++) {
      const text = `writer ${writer} wrote note ${i}`;
      const r = await server.call('remember', { text });
      if (!r.isError) acknowledged.push(text);
    }
  };

  it('two processes, each with its own client, write at once: one holds the store, the other forwards, nothing is lost or doubled', async () => {
    const dir = freshDir();
    const a = await ourServer(dir);
    const b = await ourServer(dir);
    const acked: string[] = [];
    await Promise.all([write(a, 'A', acked), write(b, 'B', acked), a.call('create_entities', { entities: [{ name: 'X', entityType: 't', observations: [] }] })]);
    expect(acked).toHaveLength(2 * WRITES);
    // Both see every write, whichever holds the store.
    expect(structured(await b.call('read_graph')).entities).toHaveLength(1);
    expect(structured(await a.call('recall', { query: 'writer B wrote note 7', mode: 'text', topK: 1 })).hits[0].text).toBe('writer B wrote note 7');
    expect(a.stderr()).toContain(`serving ${dir}`);
    expect(b.stderr()).toContain('held by another server: forwarding to it');
    await Promise.all(cleanups.splice(0).map((c) => c()));
    const counts = await textCounts(dir);
    for (const text of acked) expect(counts.get(text), text).toBe(1);
  });

  it('killing the process that holds the store mid-run hands it over without losing an acknowledged write', async () => {
    const dir = freshDir();
    const owner = await ourServer(dir);
    const follower = await ourServer(dir);
    const third = await ourServer(dir);
    const acked: string[] = [];
    const ownerAcked: string[] = [];
    await write(owner, 'O', ownerAcked, 10);
    const writing = Promise.all([write(follower, 'F', acked), write(third, 'T', acked)]);
    // Kill the owner once the others' writes are under way.
    while (acked.length < 20) await new Promise((resolve) => setImmediate(resolve));
    process.kill(owner.pid, 'SIGKILL');
    await writing;
    // At most the one call in flight at the kill, per follower, may have gone unanswered.
    expect(acked.length).toBeGreaterThanOrEqual(2 * WRITES - 2);
    expect(follower.stderr() + third.stderr()).toContain(`serving ${dir}`);
    const after = await follower.call('remember', { text: 'after the handover' });
    expect(after.isError).toBeFalsy();
    await Promise.all(cleanups.splice(0).map((c) => c()));
    const counts = await textCounts(dir);
    for (const text of [...ownerAcked, ...acked, 'after the handover']) expect(counts.get(text), text).toBe(1);
  });
});

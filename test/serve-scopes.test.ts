// The service with tokens held to scopes: a scoped token reads and writes its own scope only. A
// request that names another scope is 403; another scope's memories answer exactly as memories
// that do not exist, so a token cannot learn whether they do. Then the command with a token file.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type RunningServer } from '../dist/serve.js';
import { randomVectors } from './helpers/data.js';
import { tempRoot } from './helpers/stores.js';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
const DIM = 4;
const { root, freshDir } = tempRoot('ov-memory-serve-scopes-');
const vectors = randomVectors(20, DIM, 3).map((v) => Array.from(v));
const running: RunningServer[] = [];
afterEach(async () => { await Promise.all(running.splice(0).map((s) => s.close())); });

async function call(url: string, token: string, method: string, route: string, body?: unknown) {
  const response = await fetch(url + route, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function tenants() {
  const server = await startServer({
    dir: freshDir(), dim: DIM, port: 0, logLevel: 'silent', store: { threads: 0 },
    tokens: [{ token: 'admin' }, { token: 'alice', scope: { user: 'alice' } }, { token: 'bob', scope: { user: 'bob' } }],
  });
  running.push(server);
  const as = (token: string) => (method: string, route: string, body?: unknown) => call(server.url, token, method, route, body);
  const alice = as('alice'), bob = as('bob'), admin = as('admin');
  const a = (await alice('POST', '/memories', { embedding: vectors[0], text: 'alice secret', key: 'profile' })).body.ids[0];
  const b = (await bob('POST', '/memories', { memories: [{ embedding: vectors[1], text: 'bob note', key: 'profile' }, { embedding: vectors[0], text: 'bob twin', scope: { session: 's' } }] })).body.ids;
  return { alice, bob, admin, a, b };
}

describe('scoped tokens', () => {
  it('write into their own scope and see only it', async () => {
    const { alice, bob, admin, a, b } = await tenants();
    expect((await admin('GET', `/memories/${a}`)).body.scope).toEqual({ user: 'alice' });
    expect((await admin('GET', `/memories/${b[1]}`)).body.scope).toEqual({ user: 'bob', session: 's' });
    const bobSearch = (await bob('POST', '/search', { vector: vectors[0], topK: 10 })).body.hits.map((h: { id: number }) => h.id);
    expect(bobSearch.sort()).toEqual([...b].sort());
    expect((await bob('POST', '/search/batch', { vectors: [vectors[0]], topK: 10 })).body.results[0].map((h: { id: number }) => h.id).sort()).toEqual([...b].sort());
    expect((await bob('POST', '/context', { vector: vectors[0], minSimilarity: -1 })).body.ids).not.toContain(a);
    expect((await bob('GET', '/memories')).body.ids).toEqual(b);
    expect((await bob('GET', '/memories?session=s')).body.ids).toEqual([b[1]]);
    expect((await bob('GET', '/scopes')).body.scopes).toEqual([{ scope: { user: 'bob' }, count: 1 }, { scope: { user: 'bob', session: 's' }, count: 1 }]);
    expect((await admin('GET', '/scopes')).body.scopes).toHaveLength(3);
    expect((await admin('POST', '/search', { vector: vectors[0], topK: 10 })).body.hits).toHaveLength(3);
  });

  it('cannot read, change, link, supersede or delete another scope\'s memory, nor tell it from a missing one', async () => {
    const { alice, bob, a } = await tenants();
    const missing = 999;
    for (const [method, route, body] of [
      ['GET', '/memories/ID'], ['PATCH', '/memories/ID', { weight: 2 }], ['DELETE', '/memories/ID'],
      ['POST', '/memories/ID/supersede', { embedding: vectors[2], text: 'hijack' }],
    ] as [string, string, unknown?][]) {
      const theirs = await bob(method, route.replace('ID', String(a)), body);
      const none = await bob(method, route.replace('ID', String(missing)), body);
      expect(theirs.status, `${method} ${route}`).toBe(404);
      expect(theirs.body).toEqual({ error: { code: 'NOT_FOUND', message: `no memory with id ${a}` } });
      expect(none.body).toEqual({ error: { code: 'NOT_FOUND', message: `no memory with id ${missing}` } });
    }
    expect((await bob('POST', '/links', { from: 1, to: a, relevance: 0.5 })).status).toBe(404);
    expect((await alice('GET', `/memories/${a}`)).body).toMatchObject({ text: 'alice secret', weight: 1 });
  });

  it('naming another scope is 403, for reads, writes and forget', async () => {
    const { alice, bob, a } = await tenants();
    const other = { user: 'alice' };
    const refused = [
      await bob('POST', '/search', { vector: vectors[0], scope: other }),
      await bob('POST', '/search/batch', { vectors: [vectors[0]], scope: other }),
      await bob('POST', '/context', { vector: vectors[0], scope: other }),
      await bob('GET', '/memories?user=alice'),
      await bob('POST', '/memories', { embedding: vectors[3], text: 'planted', scope: other }),
      await bob('POST', '/memories', { memories: [{ embedding: vectors[3], text: 'planted', scope: other }] }),
      await bob('POST', '/forget', { scope: other }),
      await bob('GET', '/metrics'),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(403);
      expect(answer.body.error.code).toBe('FORBIDDEN');
    }
    // Forget without a scope forgets only the token's own; alice's memory stays.
    expect((await bob('POST', '/forget', { keys: ['profile'] })).body).toEqual({ forgotten: 1 });
    expect((await bob('POST', '/forget', { ids: [a] })).body).toEqual({ forgotten: 0 });
    expect((await alice('GET', `/memories/${a}`)).status).toBe(200);
  });

  it('a wrong token is 401', async () => {
    const { alice } = await tenants();
    const url = running[0]!.url;
    expect((await call(url, 'carol', 'GET', '/memories')).status).toBe(401);
    expect((await alice('GET', '/memories')).status).toBe(200);
  });
});

describe('ov-memory serve --token-file with scopes', () => {
  async function runServe(tokenFile: string) {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--dir', freshDir(), '--dim', String(DIM), '--threads', '0', '--token-file', tokenFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const url = await new Promise<string | undefined>((resolve) => {
      let out = '';
      child.stdout.on('data', (d) => { out += d; if (out.includes('\n')) resolve(out.split('\n')[0]!); });
      child.on('exit', () => resolve(undefined));
    });
    return { url, child, exited, stderr: () => stderr };
  }

  it('reads `TOKEN scope` lines', async () => {
    const file = path.join(root, 'tokens');
    fs.writeFileSync(file, '# tenants\nroot-token\nt-alice user=alice  # her own\nt-bot user=alice,agent=bot\n');
    const { url, child, exited } = await runServe(file);
    const added = await call(url!, 't-bot', 'POST', '/memories', { embedding: vectors[0], text: 'from the bot' });
    expect((await call(url!, 'root-token', 'GET', `/memories/${added.body.ids[0]}`)).body.scope).toEqual({ user: 'alice', agent: 'bot' });
    expect((await call(url!, 't-alice', 'GET', '/memories')).body.ids).toEqual([0]);
    expect((await call(url!, 't-bot', 'POST', '/search', { vector: vectors[0], scope: { agent: 'other' } })).status).toBe(403);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it.each([
    ['a bad scope', 'tok tenant=x\n', /tenant=x/],
    ['a token given twice', 'a\na user=x\n', /twice/],
    ['too many fields', 'a user=x extra\n', /TOKEN/],
  ])('refuses %s with one line and exit code 2', async (_name, text, message) => {
    const file = path.join(root, `tokens-${Math.random()}`);
    fs.writeFileSync(file, text);
    const { url, exited, stderr } = await runServe(file);
    expect(url).toBeUndefined();
    expect(await exited).toBe(2);
    expect(stderr().trim().split('\n')).toHaveLength(1);
    expect(stderr()).toMatch(message);
  });
});

// `ov-memory serve --store postgres://…`: two services started as the README says share one memory.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually, postgresCluster } from './helpers/postgres.js';

const CLI = path.resolve(import.meta.dirname, '../dist/cli.js');
const pgc = postgresCluster();
const running: ReturnType<typeof spawn>[] = [];
afterEach(() => { for (const child of running.splice(0)) child.kill('SIGKILL'); });

async function serve(args: string[]): Promise<{ url: string; child: ReturnType<typeof spawn> }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--log-level', 'error', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.on('exit', (code) => reject(new Error(`the service exited (${code}) before listening: ${stderr}`)));
  });
  return { url, child };
}

async function call(url: string, method: string, route: string, body?: unknown) {
  const response = await fetch(url + route, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text.length > 0 ? JSON.parse(text) : undefined };
}

const v = (i: number) => Array.from({ length: 8 }, (_, j) => Math.sin(i + j * 0.5) + (j === i % 8 ? 1 : 0));

describe('ov-memory serve --store postgres://…', () => {
  it('two services share one memory; with the database away, writes answer 503 UNAVAILABLE and reads go on', async () => {
    const { url: store } = pgc.freshDatabase();
    const one = await serve(['--store', store, '--dim', '8']);
    const two = await serve(['--store', store]);
    expect(await call(one.url, 'POST', '/memories', { embedding: v(0), text: 'written through one' })).toEqual({ status: 200, body: { ids: [0] } });
    expect(await call(two.url, 'POST', '/memories', { embedding: v(1), text: 'written through two' })).toEqual({ status: 200, body: { ids: [1] } });
    expect(await eventually(async () => (await call(one.url, 'GET', '/memories/1')).status === 200)).toBe(true);
    const hits = await call(two.url, 'POST', '/search', { vector: v(0), topK: 2, rank: 'similarity' });
    expect(hits.body.hits.map((h: { text: string }) => h.text)).toEqual(['written through one', 'written through two']);

    pgc.cluster.stopServer();
    const refused = await call(one.url, 'POST', '/memories', { embedding: v(2), text: 'refused' });
    expect(refused).toMatchObject({ status: 503, body: { error: { code: 'UNAVAILABLE' } } });
    expect((await call(one.url, 'GET', '/memories/1')).status).toBe(200);
    expect(await call(one.url, 'GET', '/healthz')).toMatchObject({ body: { status: 'WARNING', reasons: [expect.stringMatching(/stale/)] } });
    pgc.cluster.start();
    expect(await eventually(async () => (await call(one.url, 'POST', '/memories', { embedding: v(3), text: 'after' })).status === 200)).toBe(true);
    expect(await eventually(async () => (await call(two.url, 'GET', '/memories/2')).status === 200)).toBe(true);

    for (const { child } of [one, two]) {
      child.kill('SIGTERM');
      expect(await new Promise((r) => child.once('exit', r))).toBe(0);
    }
  });

  it('--dir and --store together are refused (exit 2)', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', '--dir', 'X', '--store', 'postgres://localhost/x'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    expect(await new Promise((r) => child.once('exit', r))).toBe(2);
    expect(stderr).toMatch(/`--store`/);
  });
});

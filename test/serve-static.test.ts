// scripts/static-server.mjs (what `npm run demo:web` and the browser tests serve with): real requests
// over loopback, sent with their raw paths (fetch would normalise `..` away), against a scratch tree
// holding secrets beside, above and under the allowed folders.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../scripts/static-server.mjs';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-static-'));
const write = (file: string, text: string) => {
  fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  fs.writeFileSync(path.join(root, file), text);
};
write('demo/index.html', '<p>demo</p>');
write('dist/browser.js', 'export {};');
write('.git/config', 'SECRET git config');
write('secret.txt', 'SECRET at the root');
write('demo-old/notes.txt', 'SECRET in a sibling with the same prefix');
fs.symlinkSync(path.join(root, 'secret.txt'), path.join(root, 'demo/escape.txt'));

let server: { url: string; close: () => Promise<void> };
beforeAll(async () => { server = await serveStatic(root, true); });
afterAll(async () => {
  await server.close();
  fs.rmSync(root, { recursive: true, force: true });
});

/** GET with the path exactly as given. */
function get(rawPath: string, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const request = http.request(`${server.url}/`, { method, path: rawPath }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (d) => { body += d; }).on('end', () => resolve({ status: response.statusCode!, headers: response.headers, body }));
    });
    request.on('error', reject).end();
  });
}

describe('serveStatic()', () => {
  it('serves files under demo/ and dist/, cross-origin isolated', async () => {
    const page = await get('/demo/index.html');
    expect(page).toMatchObject({ status: 200, body: '<p>demo</p>' });
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cross-origin-embedder-policy']).toBe('require-corp');
    expect(await get('/dist/browser.js?v=1')).toMatchObject({ status: 200, body: 'export {};' });
    expect(await get('/demo/%69ndex.html')).toMatchObject({ status: 200, body: '<p>demo</p>' });
    expect(await get('/dist/browser.js', 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it.each([
    ['the repository\'s .git', '/.git/config'],
    ['a file at the root', '/secret.txt'],
    ['a raw ..', '/demo/../secret.txt'],
    ['an encoded separator', '/demo/..%2Fsecret.txt'],
    ['an encoded separator in the folder', '/demo%2F..%2Fsecret.txt'],
    ['an encoded backslash', '/demo/..%5Csecret.txt'],
    ['encoded dots', '/demo/%2e%2e/secret.txt'],
    ['a sibling folder with the same prefix', '/demo-old/notes.txt'],
    ['a way into that sibling', '/demo/../demo-old/notes.txt'],
    ['a double-encoded ..', '/demo/%252e%252e/secret.txt'],
    ['a NUL', '/demo/index.html%00.txt'],
    ['a bad percent-encoding', '/demo/%E0%A4%A'],
    ['a link out of the folder', '/demo/escape.txt'],
    ['a folder', '/demo'],
  ])('refuses %s (404, nothing of the file)', async (_name, rawPath) => {
    const answer = await get(rawPath);
    expect(answer.status).toBe(404);
    expect(answer.body).not.toMatch(/SECRET/);
  });

  it('refuses a write method', async () => {
    expect((await get('/demo/index.html', 'DELETE')).status).toBe(404);
    expect(fs.existsSync(path.join(root, 'demo/index.html'))).toBe(true);
  });
});

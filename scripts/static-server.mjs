// A tiny static file server on loopback for the browser tests and the demo page, with or without
// the COOP/COEP headers that make a page cross-origin isolated (and so able to share memory). It
// serves files under the allowed folders only: the path is decoded once, refused if it holds `..`, a
// NUL or an encoded separator, then resolved (links too) and required to lie inside an allowed folder.
import { createReadStream, realpathSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.wasm': 'application/wasm', '.map': 'application/json', '.css': 'text/css', '.png': 'image/png',
};

/** The real file a request path names inside one of `folders` (real paths), or undefined. */
export function resolveInside(root, folders, requestUrl) {
  const raw = (requestUrl ?? '/').split('?')[0];
  // An encoded separator would become a separator only after the checks below.
  if (!raw.startsWith('/') || /%(2f|5c)/i.test(raw)) return undefined;
  let decoded;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\') || decoded.split('/').includes('..')) return undefined;
  let file;
  try {
    file = realpathSync(path.resolve(root, `.${decoded}`));
    if (!statSync(file).isFile()) return undefined;
  } catch {
    return undefined;
  }
  // A separator after the folder: `demo-old/` is not inside `demo`.
  return folders.some((folder) => file.startsWith(folder + path.sep)) ? file : undefined;
}

/**
 * Serves the `allow` folders of `root` (relative to it) on 127.0.0.1 (port 0: any free one);
 * resolves to { url, close }. With `cdn`, as a CDN does: any origin may fetch and embed the files.
 */
export async function serveStatic(root, isolated, port = 0, allow = ['demo', 'dist'], cdn = false) {
  const folders = allow.map((folder) => realpathSync(path.resolve(root, folder)));
  const server = createServer((req, res) => {
    const file = resolveInside(root, folders, req.url);
    if (file === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    const headers = { 'content-type': types[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
    if (isolated) {
      headers['cross-origin-opener-policy'] = 'same-origin';
      headers['cross-origin-embedder-policy'] = 'require-corp';
    }
    if (cdn) {
      headers['access-control-allow-origin'] = '*';
      headers['cross-origin-resource-policy'] = 'cross-origin';
    }
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${server.address().port}`, close: () => new Promise((resolve) => server.close(resolve)) };
}

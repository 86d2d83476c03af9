// Streamable HTTP at /mcp, stateless: each POST gets a server and a transport of its own (the
// tools hold no session state), answered as JSON. As `ov-memory serve`: loopback only unless a
// token is given, and then every request needs `Authorization: Bearer <token>`. On loopback, the
// Host header must name a loopback host too, so a web page cannot reach the server by rebinding DNS.
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { isIPv4 } from 'node:net';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { InvalidDataError } from 'ov-memory';

import type { ToolCaller } from './executor.js';
import { createMcpServer, type ServerInfo } from './server.js';

export interface HttpOptions {
  /** @default 8421 (0 picks a free port) */
  port?: number;
  /** Any other than a loopback address needs a `token`. @default '127.0.0.1' */
  host?: string;
  token?: string;
  /** The largest request body in bytes. @default 4194304 (4 MiB) */
  maxBodyBytes?: number;
}

export const HTTP_DEFAULTS = Object.freeze({ port: 8421, host: '127.0.0.1', maxBodyBytes: 4 * 1024 * 1024 });
export const MCP_PATH = '/mcp';

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'));
}

export async function listenHttp(caller: ToolCaller, info: ServerInfo, options: HttpOptions): Promise<{ url: string; close(): Promise<void> }> {
  const host = options.host ?? HTTP_DEFAULTS.host;
  const port = options.port ?? HTTP_DEFAULTS.port;
  const token = options.token;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidDataError(`Expected \`port\` to be an integer from 0 to 65,535, got ${String(port)} (${typeof port})`, { details: { field: 'port' } });
  }
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) {
    throw new InvalidDataError('Expected `token` to be a non-empty string', { details: { field: 'token' } });
  }
  if (token === undefined && !isLoopback(host)) {
    throw new InvalidDataError(
      `refusing to listen on ${host} without a token: a non-loopback address lets anyone who reaches it read and change the memory; give a token (--token-file FILE) or bind 127.0.0.1`,
      { details: { field: 'host', host } },
    );
  }
  const expected = token === undefined ? undefined : createHash('sha256').update(token).digest();
  const authorized = (header: string | undefined) => {
    if (expected === undefined) return true;
    const given = /^Bearer (.+)$/.exec(header ?? '')?.[1];
    return given !== undefined && timingSafeEqual(createHash('sha256').update(given).digest(), expected);
  };
  const refuse = (res: http.ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json', ...(status === 401 ? { 'www-authenticate': 'Bearer' } : {}) }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== MCP_PATH) return refuse(res, 404, `Not found: the MCP endpoint is ${MCP_PATH}`);
    if (!authorized(req.headers.authorization)) return refuse(res, 401, 'Unauthorized: send Authorization: Bearer <token>');
    if (token === undefined && !isLoopback((req.headers.host ?? '').replace(/:\d+$/, ''))) {
      return refuse(res, 403, 'Forbidden: the Host header must name a loopback host');
    }
    const mcp = createMcpServer(caller, info);
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: true,
      maxRequestBodySize: options.maxBodyBytes ?? HTTP_DEFAULTS.maxBodyBytes,
    });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    try {
      await mcp.connect(transport);
      await transport.handleRequest(req, res);
    } catch {
      if (!res.headersSent) refuse(res, 500, 'Internal error');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as { port: number };
  const shown = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${address.port}${MCP_PATH}`,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

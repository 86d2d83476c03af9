// How the service answers when something goes wrong: one shape, `{ error: { code, message } }`, for
// the library's errors, fastify's (schemas, JSON, sizes, routing) and Node's HTTP parser (malformed
// requests, oversized headers, slow clients), which never reach a route. Messages name the body's own
// fields, never the library's parameter names, and never echo a URL, a stack or a path.
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { InvalidDataError, OVMemoryError } from '../index.js';

/** The HTTP status for each library error code; any other code is a 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  INVALID_DATA: 400,
  NOT_FOUND: 404,
  DUPLICATE_KEY: 409,
  RESOURCE_EXHAUSTION: 503,
  CIRCUIT_OPEN: 503,
  CLOSED: 503,
  TIMEOUT: 504,
  // nginx's "client closed request": only a client that went away aborts its own request.
  ABORTED: 499,
});

export interface HttpError {
  status: number;
  code: string;
  message: string;
}

/** A library field name and what the body calls it: `[/^query(?=$|\[)/, 'vector']`. */
export type FieldRename = readonly [RegExp, string];

export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** An INVALID_DATA answered with a status other than 400 (413: the request asks for too much). */
export function invalidWithStatus(message: string, status: number, details: Record<string, unknown> = {}): InvalidDataError {
  return new InvalidDataError(message, { details: { ...details, httpStatus: status } });
}

/**
 * Our errors by their code (with the route's field names); fastify's own client errors (schema, JSON,
 * size, media type) keep their 4xx status as INVALID_DATA; anything else is a 500 that says nothing.
 */
export function toHttpError(error: unknown, renames: readonly FieldRename[] = []): HttpError {
  if (error instanceof OVMemoryError) {
    const status = typeof error.details.httpStatus === 'number' ? error.details.httpStatus : STATUS_BY_CODE[error.code] ?? 500;
    return { status, code: error.code, message: renameFields(error.message, renames) };
  }
  const status = (error as { statusCode?: unknown }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, code: status === 404 ? 'NOT_FOUND' : status === 403 ? 'FORBIDDEN' : 'INVALID_DATA', message: (error as Error).message };
  }
  return { status: 500, code: 'INTERNAL', message: 'internal error' };
}

/** Rewrites each `field` quoted in a message by the first rename whose pattern matches it. */
export function renameFields(message: string, renames: readonly FieldRename[]): string {
  if (renames.length === 0) return message;
  return message.replace(/`([^`]+)`/g, (quoted, field: string) => {
    const rename = renames.find(([pattern]) => pattern.test(field));
    return rename ? `\`${field.replace(rename[0], rename[1])}\`` : quoted;
  });
}

/**
 * Fastify's schema errors in the body's terms: "`vector[0]` must be number", "unknown field
 * `topk`", "`memories[2].text` is required".
 */
export function formatSchemaErrors(errors: readonly { keyword: string; instancePath: string; message?: string; params: Record<string, unknown> }[]): Error {
  const lines = errors.filter((e) => e.keyword !== 'if').map((e) => {
    const at = bodyPath(e.instancePath);
    if (e.keyword === 'additionalProperties') return `unknown field \`${join(at, String(e.params.additionalProperty))}\``;
    if (e.keyword === 'required') return `\`${join(at, String(e.params.missingProperty))}\` is required`;
    return `\`${at || 'body'}\` ${e.message ?? 'is invalid'}`;
  });
  return new Error(lines.join('; '));
}

/** '/memories/2/text' → 'memories[2].text' */
function bodyPath(instancePath: string): string {
  return instancePath.split('/').slice(1).reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : join(path, part)), '');
}

function join(path: string, field: string): string {
  return path === '' ? field : `${path}.${field}`;
}

/**
 * Errors fastify raises before routing, which would otherwise answer in its own shape: a
 * percent-encoding that does not decode, a path parameter over the length limit (no URL echoed).
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    reply.code(414).send(errorBody('INVALID_DATA', 'Expected a path parameter (a memory id) of at most 100 characters'));
  } else if (error.code === 'FST_ERR_BAD_URL') {
    reply.code(400).send(errorBody('INVALID_DATA', 'Expected a URL whose percent-encoding decodes'));
  } else {
    reply.code(500).send(errorBody('INTERNAL', 'internal error'));
  }
}

/** Node's HTTP parser codes and what they answer. */
function clientErrorAnswer(code: string | undefined, timeouts: { headersTimeoutMs: number; requestTimeoutMs: number }): HttpError {
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return { status: 408, code: 'TIMEOUT', message: `the request did not arrive in time (headers within ${timeouts.headersTimeoutMs} ms, the whole request within ${timeouts.requestTimeoutMs} ms)` };
  }
  if (code === 'HPE_HEADER_OVERFLOW') return { status: 431, code: 'INVALID_DATA', message: 'the request\'s headers are over 16 KiB' };
  return { status: 400, code: 'INVALID_DATA', message: `malformed HTTP request (${parserProblem(code)})` };
}

function parserProblem(code: string | undefined): string {
  switch (code) {
    case 'HPE_INVALID_CHUNK_SIZE': return 'a bad chunk size';
    case 'HPE_UNEXPECTED_CONTENT_LENGTH': return 'Content-Length together with Transfer-Encoding, or twice';
    case 'HPE_INVALID_CONTENT_LENGTH': return 'a bad Content-Length';
    case 'HPE_INVALID_METHOD': return 'an unknown method';
    case 'HPE_INVALID_TRANSFER_ENCODING': return 'a bad Transfer-Encoding';
    default: return 'the request line or headers could not be parsed';
  }
}

/**
 * Node's `clientError`: writes our JSON answer straight on the socket (no response object exists yet),
 * unless an answer has already started on it, then closes the connection.
 */
export function clientErrorHandler(timeouts: { headersTimeoutMs: number; requestTimeoutMs: number }) {
  return (error: NodeJS.ErrnoException, socket: Socket): void => {
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const { status, code, message } = clientErrorAnswer(error.code, timeouts);
      const body = JSON.stringify(errorBody(code, message));
      socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  };
}

// The service's options: what `startServer` takes, its defaults, and their checks. Store options
// (limits, name, recency, …) go to `OVMemory.open` as they are, and the library checks them.
import { InvalidDataError } from '../index.js';
import type { LoggerLike, LogLevel, OVMemoryOptions } from '../index.js';
import type { TokenGrant } from './http-auth.js';

export interface ServeOptions {
  /** The store's directory; created when it holds no store yet. */
  dir: string;
  /** The vectors' dimension: needed only when `dir` holds no store yet. */
  dim?: number;
  /** @default 8420 (0 picks a free port) */
  port?: number;
  /** Any other than a loopback address needs a `token`. @default '127.0.0.1' */
  host?: string;
  /** When set, every route but /healthz needs `Authorization: Bearer <token>`. */
  token?: string;
  /** Several tokens, each of the whole store or held to one scope (a `--token-file` of `token scope` lines). */
  tokens?: TokenGrant[];
  durability?: 'always' | 'batch' | 'none';
  /** The largest request body in bytes; a larger one is answered 413. @default 33554432 (32 MiB) */
  bodyLimit?: number;
  /** The most hits one `POST /search/batch` may ask for (queries × topK); more is answered 413. @default 100000 */
  maxBatchHits?: number;
  /** The largest answer of a search, estimated from its hits' text and metadata; larger is answered 413. @default 64 */
  maxAnswerMB?: number;
  /** The time a client has to send a request's headers; slower is answered 408. @default 10000, or `requestTimeoutMs` when shorter */
  headersTimeoutMs?: number;
  /** The time a client has to send a whole request, body included; slower is answered 408. @default 60000 */
  requestTimeoutMs?: number;
  /** How long close() lets requests in flight finish before cutting their connections. @default 10000 */
  shutdownTimeoutMs?: number;
  logger?: LoggerLike;
  /** The service's and the store's log level. @default 'info' */
  logLevel?: LogLevel;
  /** Further options for OVMemory.open (threads, maxMemoryMB, maxNodes, name, recency, …). */
  store?: Partial<OVMemoryOptions>;
}

export const SERVE_DEFAULTS = Object.freeze({
  port: 8420,
  host: '127.0.0.1',
  bodyLimit: 32 * 1024 * 1024,
  maxBatchHits: 100_000,
  maxAnswerMB: 64,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  shutdownTimeoutMs: 10_000,
  logLevel: 'info' as const,
});

export type ResolvedServeOptions = Required<Pick<ServeOptions,
  'port' | 'host' | 'bodyLimit' | 'maxBatchHits' | 'maxAnswerMB' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'shutdownTimeoutMs' | 'logLevel'>>;

/** The logger's levels: checked here because the service's logger exists before the store that checks them. */
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The service's own options with their defaults, each checked; throws INVALID_DATA naming the option. */
export function resolveServeOptions(options: ServeOptions): ResolvedServeOptions {
  const integer = (name: IntegerOption, min: number, max: number, fallback: number = SERVE_DEFAULTS[name]) =>
    integerOption(name, options[name] ?? fallback, min, max);
  const requestTimeoutMs = integer('requestTimeoutMs', 1, 2 ** 31 - 1);
  const resolved = {
    port: integer('port', 0, 65_535),
    host: options.host ?? SERVE_DEFAULTS.host,
    bodyLimit: integer('bodyLimit', 1, 2 ** 31 - 1),
    maxBatchHits: integer('maxBatchHits', 1, 10_000_000),
    maxAnswerMB: integer('maxAnswerMB', 1, 512),
    requestTimeoutMs,
    // A short request deadline shortens the headers' default with it.
    headersTimeoutMs: integer('headersTimeoutMs', 1, 2 ** 31 - 1, Math.min(SERVE_DEFAULTS.headersTimeoutMs, requestTimeoutMs)),
    shutdownTimeoutMs: integer('shutdownTimeoutMs', 0, 2 ** 31 - 1),
    logLevel: options.logLevel ?? SERVE_DEFAULTS.logLevel,
  };
  if (!LOG_LEVELS.includes(resolved.logLevel)) throw expected('logLevel', `one of ${LOG_LEVELS.join(', ')}`, resolved.logLevel);
  if (typeof resolved.host !== 'string' || resolved.host.length === 0) throw expected('host', 'a host name or address', resolved.host);
  // Node's own rule: the headers are part of the request, so their deadline cannot be the later one.
  if (resolved.headersTimeoutMs > resolved.requestTimeoutMs) {
    throw expected('headersTimeoutMs', `at most \`requestTimeoutMs\` (${resolved.requestTimeoutMs})`, resolved.headersTimeoutMs);
  }
  return resolved;
}

type IntegerOption = 'port' | 'bodyLimit' | 'maxBatchHits' | 'maxAnswerMB' | 'headersTimeoutMs' | 'requestTimeoutMs' | 'shutdownTimeoutMs';

function integerOption(name: IntegerOption, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw expected(name, `an integer from ${min} to ${max.toLocaleString('en')}`, value);
  }
  return value;
}

/** The library's wording: "Expected `port` to be an integer from 0 to 65,535, got 70000 (number)". */
export function expected(name: string, what: string, value: unknown): InvalidDataError {
  return new InvalidDataError(`Expected \`${name}\` to be ${what}, got ${describeValue(value)}`, { details: { field: name } });
}

function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  return `${String(value)} (${typeof value})`;
}

// Structured logs: tslog by default, or any object with debug/info/warn/error. Fields travel as an
// object, never interpolated into the message; a child logger per part; repeated warnings are
// rate-limited by key. Nothing here runs at import.
import { Logger } from 'tslog';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
type Level = Exclude<LogLevel, 'silent'>;

export interface LoggerLike {
  debug(...args: unknown[]): unknown;
  info(...args: unknown[]): unknown;
  warn(...args: unknown[]): unknown;
  error(...args: unknown[]): unknown;
}

export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A warning logged at most once a minute per key; the next one carries `suppressed`: how many were dropped. */
  warnOnce(key: string, message: string, fields?: Record<string, unknown>): void;
  child(name: string): Log;
}

export interface LoggerSettings {
  logger?: LoggerLike | undefined;
  logLevel: LogLevel;
  name: string;
  /**
   * Real time in ms for the once-a-minute limit of `warnOnce` (default `performance.now`), so tests can
   * move it instead of sleeping. Never a store's injected clock: simulated time that jumps ahead would
   * let every repeat of a warning through.
   */
  limiterClock?: () => number;
}

/** tslog's level ids (debug 2 … error 5); silent is above every level. */
const RANK: Record<LogLevel, number> = { debug: 2, info: 3, warn: 4, error: 5, silent: 7 };
export const RATE_LIMIT_MS = 60_000;

export function createLogger(s: LoggerSettings): Log {
  return wrap(s.logger ?? defaultLogger(s), s, s.name, new Map());
}

function defaultLogger(s: LoggerSettings): Logger<unknown> {
  // Logs go to stderr: stdout belongs to the program (a CLI's results, an MCP server's protocol).
  const tty = typeof process !== 'undefined' && process.stderr?.isTTY === true;
  const toStderr = (...a: unknown[]) => console.error(...a);
  return new Logger({
    name: s.name,
    type: s.logLevel === 'silent' ? 'hidden' : tty ? 'pretty' : 'json',
    // 'silent' never reaches tslog (we filter first) and is 'hidden' besides; tslog's own range ends at 6.
    minLevel: Math.min(RANK[s.logLevel], 6),
    // Finding the caller's file and line walks the stack on every call.
    hideLogPositionForProduction: true,
    prettyLogLevelMethod: { '*': toStderr },
    overwrite: { transportJSON: (json) => toStderr(safeJson(json)) },
  });
}

const realTime = () => performance.now();

function wrap(sink: LoggerLike, s: LoggerSettings, name: string, limits: Map<string, { at: number; suppressed: number }>): Log {
  const min = RANK[s.logLevel];
  const limiterClock = s.limiterClock ?? realTime;
  // tslog's JSON output merges a lone object into its record ({ message, …fields, _meta }), which log
  // stores can query; its pretty output and other loggers read best as (message, fields).
  const asRecord = sink instanceof Logger && sink.settings.type === 'json';
  const emit = (level: Level, message: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    if (asRecord) sink[level](record(message, fields));
    else if (!(sink instanceof Logger)) sink[level](message, { logger: name, ...fields });
    else if (fields) sink[level](message, fields);
    else sink[level](message);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    warnOnce(key, message, fields) {
      if (RANK.warn < min) return;
      const id = `${name}\u0000${key}`;
      const now = limiterClock(), seen = limits.get(id);
      if (seen && now - seen.at < RATE_LIMIT_MS) {
        seen.suppressed++;
        return;
      }
      limits.set(id, { at: now, suppressed: 0 });
      emit('warn', message, seen && seen.suppressed > 0 ? { ...fields, suppressed: seen.suppressed } : fields);
    },
    child(part) {
      const childSink = sink instanceof Logger ? sink.getSubLogger({ name: part }) : sink;
      return wrap(childSink, s, `${name}:${part}`, limits);
    },
  };
}

/** The message first; a field that would overwrite it or tslog's `_meta` is kept under a `field.` prefix. */
function record(message: string, fields?: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { message };
  if (fields) for (const [k, v] of Object.entries(fields)) out[k === 'message' || k === '_meta' ? `field.${k}` : k] = v;
  return out;
}

/** JSON that never throws from a log call: circular references and bigints are written as text. */
function safeJson(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v === 'object' && v !== null) {
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
    }
    return v;
  });
}

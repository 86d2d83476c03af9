// Structured logs: tslog by default (JSON when not on a terminal, pretty on one), or any object with
// debug/info/warn/error. Fields go as an object, never interpolated into the message; a child logger
// per part; repeated warnings are rate-limited by key.
import { Logger } from 'tslog';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

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
  /** A warning logged at most once a minute per key; the next one says how many were suppressed. */
  warnOnce(key: string, message: string, fields?: Record<string, unknown>): void;
  child(name: string): Log;
}

const RANK: Record<LogLevel, number> = { debug: 2, info: 3, warn: 4, error: 5, silent: 7 };
const RATE_LIMIT_MS = 60_000;

export interface LoggerSettings {
  logger?: LoggerLike | undefined;
  logLevel: LogLevel;
  name: string;
  clock: () => number;
}

export function createLogger(s: LoggerSettings): Log {
  const sink = s.logger ?? defaultLogger(s);
  return wrap(sink, s, s.name, new Map());
}

function defaultLogger(s: LoggerSettings): Logger<unknown> {
  const tty = typeof process !== 'undefined' && process.stderr?.isTTY === true;
  return new Logger({
    name: s.name,
    type: s.logLevel === 'silent' ? 'hidden' : tty ? 'pretty' : 'json',
    minLevel: RANK[s.logLevel],
    // Finding the caller's file and line walks the stack on every log call.
    hideLogPositionForProduction: true,
    // A library's logs go to stderr: stdout belongs to the program that uses it.
    overwrite: {
      transportJSON: (json) => console.error(JSON.stringify(json)),
      transportFormatted: (meta, args, errors) => console.error(meta, ...args, ...errors),
    },
  });
}

function wrap(sink: LoggerLike, s: LoggerSettings, name: string, limits: Map<string, { at: number; suppressed: number }>): Log {
  const min = RANK[s.logLevel];
  const emit = (level: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    // tslog merges a lone object into its record ({ message, …fields, _meta }); other loggers get (message, fields).
    if (sink instanceof Logger) sink[level]({ message, ...fields });
    else sink[level](message, { logger: name, ...fields });
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    warnOnce(key, message, fields) {
      if (RANK.warn < min) return;
      const now = s.clock(), seen = limits.get(key);
      if (seen && now - seen.at < RATE_LIMIT_MS) {
        seen.suppressed++;
        return;
      }
      limits.set(key, { at: now, suppressed: 0 });
      emit('warn', message, seen?.suppressed ? { ...fields, suppressed: seen.suppressed } : fields);
    },
    child(part) {
      const childSink = sink instanceof Logger ? sink.getSubLogger({ name: part }) : sink;
      return wrap(childSink, s, `${name}:${part}`, limits);
    },
  };
}

// createLogger: level filtering, silence, children, rate-limited warnings (a fake clock and a fake user
// logger capture every call), and the tslog logger it builds when none is given.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger, type LogLevel } from '../src/observability/logger.js';

function capture() {
  const calls: { level: string; args: unknown[] }[] = [];
  const at = (level: string) => (...args: unknown[]) => { calls.push({ level, args }); };
  return { calls, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

function everyLevel(logLevel: LogLevel): string[] {
  const { calls, logger } = capture();
  const log = createLogger({ logger, logLevel, name: 'store' });
  log.debug('d'); log.info('i'); log.warn('w'); log.error('e'); log.warnOnce('k', 'once');
  return calls.map((c) => c.level);
}

describe('createLogger() with a user logger', () => {
  it.each([
    ['debug', ['debug', 'info', 'warn', 'error', 'warn']],
    ['info', ['info', 'warn', 'error', 'warn']],
    ['warn', ['warn', 'error', 'warn']],
    ['error', ['error']],
    ['silent', []],
  ] as const)('logLevel %s lets through %j', (level, want) => {
    expect(everyLevel(level)).toEqual(want);
  });

  it('calls it with (message, fields): the fields as an object, not in the string', () => {
    const { calls, logger } = capture();
    const log = createLogger({ logger, logLevel: 'debug', name: 'store' });
    log.info('memory added', { id: 3, text: 'a {b}' });
    log.error('no fields');
    expect(calls).toEqual([
      { level: 'info', args: ['memory added', { logger: 'store', id: 3, text: 'a {b}' }] },
      { level: 'error', args: ['no fields', { logger: 'store' }] },
    ]);
  });

  it('.child() - names the part and filters like its parent', () => {
    const { calls, logger } = capture();
    const engine = createLogger({ logger, logLevel: 'warn', name: 'store' }).child('engine');
    engine.info('dropped');
    engine.child('pool').warn('worker failed', { code: 'ENGINE_FAULT' });
    expect(calls).toEqual([{ level: 'warn', args: ['worker failed', { logger: 'store:engine:pool', code: 'ENGINE_FAULT' }] }]);
  });
});

describe('.warnOnce()', () => {
  const make = () => {
    let now = 5_000;
    const { calls, logger } = capture();
    const log = createLogger({ logger, logLevel: 'warn', name: 'store', limiterClock: () => now });
    const fields = (i: number) => calls[i]!.args[1] as Record<string, unknown>;
    return { log, calls, fields, advance: (ms: number) => { now += ms; } };
  };

  it('logs a key at most once a minute, then says how many it dropped', () => {
    const { log, calls, fields, advance } = make();
    log.warnOnce('range', 'values outside [-1, 1]', { field: 'embedding' });
    for (let i = 0; i < 4; i++) { advance(10_000); log.warnOnce('range', 'values outside [-1, 1]', { field: 'embedding' }); }
    advance(19_999);   // 59.999 s after the first
    log.warnOnce('range', 'values outside [-1, 1]', { field: 'embedding' });
    expect(calls).toHaveLength(1);
    expect(fields(0)).not.toHaveProperty('suppressed');
    advance(1);        // 60 s after the first
    log.warnOnce('range', 'values outside [-1, 1]', { field: 'embedding' });
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0]).toBe('values outside [-1, 1]');
    expect(fields(1)).toMatchObject({ field: 'embedding', suppressed: 5 });
    // The minute starts again from that log; one more dropped, then reported.
    advance(59_999);
    log.warnOnce('range', 'values outside [-1, 1]');
    advance(1);
    log.warnOnce('range', 'values outside [-1, 1]');
    expect(calls).toHaveLength(3);
    expect(fields(2)).toMatchObject({ suppressed: 1 });
    // Nothing dropped since: no count.
    advance(60_000);
    log.warnOnce('range', 'values outside [-1, 1]');
    expect(fields(3)).not.toHaveProperty('suppressed');
  });

  it('each key, and each part, has its own limit', () => {
    const { log, calls } = make();
    log.warnOnce('a', 'first');
    log.warnOnce('b', 'second');
    log.child('engine').warnOnce('a', 'first, from the engine');
    log.warnOnce('a', 'first');
    expect(calls.map((c) => c.args[0])).toEqual(['first', 'second', 'first, from the engine']);
  });
});

describe('createLogger() without a logger (tslog)', () => {
  const tty = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  const onTerminal = (value: boolean) => Object.defineProperty(process.stderr, 'isTTY', { value, configurable: true, writable: true });
  afterEach(() => {
    vi.restoreAllMocks();
    if (tty) Object.defineProperty(process.stderr, 'isTTY', tty);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  });

  it('writes one JSON record per line to stderr when stderr is not a terminal, fields merged, never to stdout', () => {
    onTerminal(false);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const log = createLogger({ logLevel: 'info', name: 'store' });
    log.debug('hidden');
    log.info('operation failed', { operation: 'add', message: 'text is empty' });
    log.child('engine').warn('worker failed', { code: 'ENGINE_FAULT' });
    expect(out).not.toHaveBeenCalled();
    expect(err).toHaveBeenCalledTimes(2);
    const [first, second] = err.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown> & { _meta: Record<string, unknown> });
    // A field that would overwrite the message is kept beside it.
    expect(first).toMatchObject({ message: 'operation failed', operation: 'add', 'field.message': 'text is empty' });
    expect(first!._meta).toMatchObject({ name: 'store', logLevelName: 'INFO' });
    expect(second).toMatchObject({ message: 'worker failed', code: 'ENGINE_FAULT' });
    expect(second!._meta).toMatchObject({ name: 'engine', parentNames: ['store'], logLevelName: 'WARN' });
  });

  it('pretty on a terminal, still on stderr', () => {
    onTerminal(true);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    createLogger({ logLevel: 'warn', name: 'store' }).warn('careful', { topK: 3 });
    expect(out).not.toHaveBeenCalled();
    expect(err).toHaveBeenCalledTimes(1);
    const text = err.mock.calls[0]!.join(' ');
    expect(text).toContain('careful');
    expect(text).toContain('topK');
    expect(() => JSON.parse(text)).toThrow();
  });

  it('silent writes nothing at all', () => {
    onTerminal(false);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const out = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    const log = createLogger({ logLevel: 'silent', name: 'store' });
    log.error('e'); log.warnOnce('k', 'w'); log.child('part').error('e');
    expect(err).not.toHaveBeenCalled();
    expect(out).not.toHaveBeenCalled();
    expect(warn).not.toHaveBeenCalled();
  });

  it('a field that cannot be JSON (a cycle, a bigint) does not make logging throw', () => {
    onTerminal(false);
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const cycle: Record<string, unknown> = { n: 1n };
    cycle.self = cycle;
    createLogger({ logLevel: 'warn', name: 'store' }).warn('odd fields', { cycle });
    expect(err).toHaveBeenCalledTimes(1);
    expect(String(err.mock.calls[0]![0])).toContain('odd fields');
  });
});

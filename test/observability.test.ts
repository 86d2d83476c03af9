// Metrics, health, the error log, logs and Prometheus: against independent expectations, with an
// injected clock (nothing sleeps).
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { createLogger, evaluateHealth, Metrics } from '../dist/internal.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

async function store(options: Record<string, unknown> = {}) {
  let now = 1_700_000_000_000;
  const logs: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const capture = (level: string) => (message: string, fields: Record<string, unknown>) => logs.push({ level, message, fields });
  const logger = { debug: capture('debug'), info: capture('info'), warn: capture('warn'), error: capture('error') };
  const memory = await OVMemory.create({ dim: 3, threads: 0, clock: () => now, logger, ...options } as never);
  open.push(memory);
  return { memory, logs, advance: (ms: number) => { now += ms; } };
}

describe('Metrics', () => {
  it('latency percentiles match a sorted-array reference within the histogram precision', () => {
    const metrics = new Metrics({ clock: () => 0, windowMs: 60_000 });
    const latencies = Array.from({ length: 1000 }, (_, i) => 0.05 + ((i * 7919) % 1000) / 100);
    for (const ms of latencies) metrics.record('search', ms);
    const sorted = [...latencies].sort((a, b) => a - b);
    const at = (p: number) => sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
    const s = metrics.snapshot({ nodes: 0, memoryBytes: 0, memoryLimitBytes: 1, breaker: { state: 'CLOSED', failures: 0, opens: 0 } });
    const op = s.operations.search!;
    expect(op.count).toBe(1000);
    for (const [p, got] of [[50, op.latencyMs.p50], [95, op.latencyMs.p95], [99, op.latencyMs.p99], [100, op.latencyMs.max]] as const) {
      expect(Math.abs(got - at(p)) / at(p)).toBeLessThan(0.002);
    }
    expect(op.latencyMs.avg).toBeCloseTo(latencies.reduce((a, b) => a + b) / latencies.length, 9);
  });

  it('counts errors by code and class, and forgets calls older than the window', () => {
    let now = 0;
    const metrics = new Metrics({ clock: () => now, windowMs: 60_000 });
    metrics.record('add', 1, 'INVALID_DATA');
    metrics.record('search', 1, 'TIMEOUT');
    metrics.record('search', 1, 'ENGINE_FAULT');
    metrics.record('search', 1);
    metrics.countEngineFault();
    expect(metrics.window()).toMatchObject({ calls: 4, rejected: 1, engineFaults: 2 });
    expect(metrics.window().queriesPerSecond).toBeCloseTo(3 / 60, 12);
    now += 59_000;
    expect(metrics.window().calls).toBe(4);
    now += 11_000;
    expect(metrics.window()).toMatchObject({ calls: 0, rejected: 0, engineFaults: 0, p95Ms: 0 });
    const s = metrics.snapshot({ nodes: 0, memoryBytes: 0, memoryLimitBytes: 1, breaker: { state: 'CLOSED', failures: 0, opens: 0 } });
    expect(s.errorsByCode).toEqual({ INVALID_DATA: 1, TIMEOUT: 1, ENGINE_FAULT: 1 });
    expect(s.operations.search).toMatchObject({ count: 3, errors: 2 });
  });
});

describe('health', () => {
  const window = { calls: 100, engineFaults: 0, rejected: 0, p95Ms: 10, queriesPerSecond: 1 };
  const cases: [string, Partial<typeof window>, string, number, string, RegExp | undefined][] = [
    ['no calls', { calls: 0 }, 'CLOSED', 0, 'UNKNOWN', /no calls/],
    ['all well', {}, 'CLOSED', 0.5, 'HEALTHY', undefined],
    ['engine faults at 5%', { engineFaults: 5 }, 'CLOSED', 0, 'HEALTHY', undefined],
    ['engine faults above 5%', { engineFaults: 6 }, 'CLOSED', 0, 'WARNING', /engine-fault rate 6\.0%/],
    ['engine faults above 10%', { engineFaults: 11 }, 'CLOSED', 0, 'CRITICAL', /engine-fault rate 11\.0%/],
    ['rejected input, however much, only warns', { rejected: 90 }, 'CLOSED', 0, 'WARNING', /rejected-input rate 90\.0%/],
    ['p95 above 1 s', { p95Ms: 1_001 }, 'CLOSED', 0, 'WARNING', /p95 latency 1001 ms/],
    ['p95 above 5 s', { p95Ms: 5_001 }, 'CLOSED', 0, 'CRITICAL', /p95 latency 5001 ms/],
    ['breaker open', {}, 'OPEN', 0, 'CRITICAL', /breaker is open/],
    ['breaker open and no calls', { calls: 0 }, 'OPEN', 0, 'CRITICAL', /breaker is open/],
    ['memory above 80%', {}, 'CLOSED', 0.81, 'WARNING', /memory use 81\.0%/],
  ];
  for (const [name, w, breaker, memoryUsage, status, reason] of cases) {
    it(`${name} → ${status}`, () => {
      const report = evaluateHealth({ window: { ...window, ...w }, breaker: breaker as never, memoryUsage });
      expect(report.status).toBe(status);
      if (reason) expect(report.reasons.join('; ')).toMatch(reason);
      else expect(report.reasons).toEqual([]);
      expect(report.errorRate).toBeGreaterThanOrEqual(0);
      expect(report.errorRate).toBeLessThanOrEqual(1);
    });
  }

  it('a store goes from UNKNOWN to HEALTHY to WARNING (bad input) and back as the window moves', async () => {
    const { memory, advance } = await store();
    expect(memory.health().status).toBe('UNKNOWN');
    memory.add({ embedding: [1, 0, 0], text: 'a' });
    await memory.search([1, 0, 0]);
    expect(memory.health()).toMatchObject({ status: 'HEALTHY', errorRate: 0, breaker: 'CLOSED' });
    for (let i = 0; i < 3; i++) expect(() => memory.add({ embedding: [0, 0, 0], text: 'bad' })).toThrow();
    expect(memory.health().status).toBe('WARNING');
    advance(61_000);
    expect(memory.health().status).toBe('UNKNOWN');
  });
});

describe('metrics() and errors() of a store', () => {
  it('counts each operation, its errors by code, and lists failures newest first', async () => {
    const { memory, advance } = await store();
    memory.addMany([{ embedding: [1, 0, 0], text: 'a' }, { embedding: [0, 1, 0], text: 'b' }]);
    await memory.search([1, 1, 0]);
    expect(() => memory.update(7, { weight: 2 })).toThrow();
    advance(5);
    await memory.search([1], { topK: 1 }).catch(() => undefined);
    const m = memory.metrics();
    expect(m.nodes).toBe(2);
    expect(m.memoryBytes).toBeGreaterThan(0);
    expect(m.operations.addMany).toMatchObject({ count: 1, errors: 0 });
    expect(m.operations.search).toMatchObject({ count: 2, errors: 1 });
    expect(m.operations.update).toMatchObject({ count: 1, errors: 1 });
    expect(m.errorsByCode).toEqual({ NOT_FOUND: 1, INVALID_DATA: 1 });
    expect(m.queriesPerSecond).toBeCloseTo(2 / 60, 12);
    expect(m.breaker).toEqual({ state: 'CLOSED', failures: 0, opens: 0 });
    const errors = memory.errors();
    expect(errors.map((e) => [e.operation, e.code])).toEqual([['search', 'INVALID_DATA'], ['update', 'NOT_FOUND']]);
    expect(errors[0]!.at - errors[1]!.at).toBe(5);
    expect(memory.errors(1)).toHaveLength(1);
  });
});

describe('logs', () => {
  it('warns once a minute per kind, then says how many it suppressed', async () => {
    const { memory, logs, advance } = await store();
    for (let i = 0; i < 5; i++) memory.add({ embedding: [3, 0, 0], text: `${i}` });
    const warned = () => logs.filter((l) => l.level === 'warn' && /outside \[-1, 1\]/.test(l.message));
    expect(warned()).toHaveLength(1);
    expect(warned()[0]!.fields).toMatchObject({ field: 'input.embedding' });
    advance(60_000);
    memory.add({ embedding: [3, 0, 0], text: 'again' });
    expect(warned()).toHaveLength(2);
    expect(warned()[1]!.fields).toMatchObject({ suppressed: 4 });
  });

  it('warns about unknown option keys and a topK above the store size', async () => {
    const { memory, logs } = await store({ colour: 'blue' });
    memory.add({ embedding: [1, 0, 0], text: 'a', colour: 'red' } as never);
    await memory.search([1, 0, 0], { topK: 3, sort: 'x' } as never);
    const messages = logs.filter((l) => l.level === 'warn').map((l) => [l.message, l.fields]);
    expect(messages).toContainEqual(['unknown options ignored', expect.objectContaining({ options: ['colour'] })]);
    expect(messages).toContainEqual(['unknown keys ignored', expect.objectContaining({ field: 'input', keys: ['colour'] })]);
    expect(messages).toContainEqual(['unknown keys ignored', expect.objectContaining({ field: 'options', keys: ['sort'] })]);
    expect(messages).toContainEqual(['topK is above the number of memories: fewer hits are returned', expect.objectContaining({ topK: 3, size: 1 })]);
  });

  it('filters by level; silent logs nothing', () => {
    const seen: string[] = [];
    const sink = { debug: () => seen.push('debug'), info: () => seen.push('info'), warn: () => seen.push('warn'), error: () => seen.push('error') };
    const log = createLogger({ logger: sink, logLevel: 'warn', name: 't', clock: () => 0 });
    log.debug('d'); log.info('i'); log.warn('w'); log.child('part').error('e');
    expect(seen).toEqual(['warn', 'error']);
    const silent = createLogger({ logger: sink, logLevel: 'silent', name: 't', clock: () => 0 });
    silent.error('e'); silent.warnOnce('k', 'w');
    expect(seen).toEqual(['warn', 'error']);
  });
});

describe('prometheus()', () => {
  /** Parses exposition text into "name{labels}" → value. */
  function parse(text: string): Map<string, number> {
    const out = new Map<string, number>();
    for (const line of text.split('\n')) {
      const m = /^(\w+)(\{[^}]*\})? ([\d.e+-]+|NaN|\+Inf)$/.exec(line);
      if (m) out.set(`${m[1]}${m[2] ?? ''}`, Number(m[3]));
    }
    return out;
  }

  it('exposes DESIGN\'s metric names with a store label, parsed back', async () => {
    const { memory } = await store({ name: 'notes' });
    memory.addMany([{ embedding: [1, 0, 0], text: 'a' }, { embedding: [0, 1, 0], text: 'b' }]);
    await memory.search([1, 0, 0]);
    await memory.search([1, 0, 0]);
    await memory.search([1, 0]).catch(() => undefined);
    const m = parse(await memory.prometheus());
    expect(m.get('ov_memory_operations_total{store="notes",operation="search"}')).toBe(3);
    expect(m.get('ov_memory_errors_total{store="notes",operation="search",code="INVALID_DATA"}')).toBe(1);
    expect(m.get('ov_memory_operation_duration_seconds_count{store="notes",operation="search"}')).toBe(3);
    expect(m.get('ov_memory_operation_duration_seconds_bucket{le="0.00005",store="notes",operation="search"}')).toBeDefined();
    expect(m.get('ov_memory_operation_duration_seconds_bucket{le="+Inf",store="notes",operation="search"}')).toBe(3);
    expect(m.get('ov_memory_nodes{store="notes"}')).toBe(2);
    expect(m.get('ov_memory_memory_bytes{store="notes"}')).toBe(memory.metrics().memoryBytes);
    expect(m.get('ov_memory_breaker_state{store="notes"}')).toBe(0);
  });

  it('two stores can share a registry the user passes', async () => {
    const registry = new Registry();
    const a = await store({ name: 'a', registry });
    const b = await store({ name: 'b', registry });
    a.memory.add({ embedding: [1, 0, 0], text: 'x' });
    b.memory.addMany([{ embedding: [1, 0, 0], text: 'x' }, { embedding: [0, 1, 0], text: 'y' }]);
    const m = parse(await registry.metrics());
    expect(m.get('ov_memory_nodes{store="a"}')).toBe(1);
    expect(m.get('ov_memory_nodes{store="b"}')).toBe(2);
    expect(m.get('ov_memory_operations_total{store="a",operation="add"}')).toBe(1);
    expect(m.get('ov_memory_operations_total{store="b",operation="addMany"}')).toBe(1);
    // Each store's prometheus() answers with the whole registry it shares.
    expect(await a.memory.prometheus()).toContain('ov_memory_nodes{store="b"} 2');
  });
});

// A store's metrics, health, error log, logs and Prometheus text, through the public API, with an
// injected clock (nothing sleeps). The units themselves have their own files (metrics, health, logger, prometheus).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';

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

describe('health() of a store', () => {
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

describe('caller errors are not engine faults', () => {
  it('a tokenizer that throws is INVALID_DATA and leaves health alone', async () => {
    const { memory } = await store();
    memory.add({ embedding: [1, 0, 0], text: 'a' });
    for (let i = 0; i < 3; i++) {
      await expect(memory.context([1, 0, 0], { tokenizer: () => { throw new Error('boom'); } }))
        .rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/`tokenizer` threw: boom/) });
    }
    for (let i = 0; i < 60; i++) await memory.search([1, 0, 0]);
    expect(memory.health()).toMatchObject({ status: 'HEALTHY', errorRate: 0 });
  });
});

describe('after close()', () => {
  it('metrics(), health() and errors() refuse with CLOSED too', async () => {
    const memory = await OVMemory.create({ dim: 3, threads: 0 });
    await memory.close();
    for (const call of [() => memory.metrics(), () => memory.health(), () => memory.errors()]) {
      expect(call).toThrow(expect.objectContaining({ code: 'CLOSED' }));
    }
  });
});

describe('logs', () => {
  it('warns once a minute of real time per kind, however far the store\'s injected clock jumps', async () => {
    const { memory, logs, advance } = await store();
    // A simulated clock (a demo, a replay) that moves ten minutes a call must not let every repeat through.
    for (let i = 0; i < 150; i++) {
      memory.add({ embedding: [3, 0, 0], text: `${i}` });
      advance(600_000);
    }
    const warned = logs.filter((l) => l.level === 'warn' && /outside \[-1, 1\]/.test(l.message));
    expect(warned).toHaveLength(1);
    expect(warned[0]!.fields).toMatchObject({ field: 'input.embedding' });
  });

  it('warns about unknown option keys, and not about a topK above the size of a young store', async () => {
    const { memory, logs } = await store({ colour: 'blue' });
    memory.add({ embedding: [1, 0, 0], text: 'a', colour: 'red' } as never);
    await memory.search([1, 0, 0], { topK: 3, sort: 'x' } as never);
    const messages = logs.filter((l) => l.level === 'warn').map((l) => [l.message, l.fields]);
    expect(messages).toContainEqual(['unknown options ignored', expect.objectContaining({ options: ['colour'] })]);
    expect(messages).toContainEqual(['unknown keys ignored', expect.objectContaining({ field: 'input', keys: ['colour'] })]);
    expect(messages).toContainEqual(['unknown keys ignored', expect.objectContaining({ field: 'options', keys: ['sort'] })]);
    expect(messages.some(([message]) => String(message).includes('topK'))).toBe(false);
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

  it('exposes the limits and the write path: a durable store\'s journal grows with writes and starts anew at a checkpoint', async () => {
    const { memory } = await store({ name: 'notes', maxNodes: 50, maxMemoryMB: 2 });
    memory.add({ embedding: [1, 0, 0], text: 'a' });
    let m = parse(await memory.prometheus());
    expect(m.get('ov_memory_memory_limit_bytes{store="notes"}')).toBe(memory.metrics().memoryLimitBytes);
    expect(m.get('ov_memory_memory_limit_bytes{store="notes"}')).toBe(2 * 2 ** 20);
    expect(m.get('ov_memory_nodes_limit{store="notes"}')).toBe(50);
    expect(m.get('ov_memory_writes_refused{store="notes"}')).toBe(0);
    expect(m.get('ov_memory_journal_log_bytes{store="notes"}')).toBeUndefined();   // in memory: no journal

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-prom-'));
    try {
      const durable = await OVMemory.open(dir, { dim: 3, threads: 0, name: 'disk', logLevel: 'silent' });
      open.push(durable);
      m = parse(await durable.prometheus());
      const empty = m.get('ov_memory_journal_log_bytes{store="disk"}')!;
      const generation = m.get('ov_memory_journal_generation{store="disk"}')!;
      durable.addMany([{ embedding: [1, 0, 0], text: 'a' }, { embedding: [0, 1, 0], text: 'b' }]);
      m = parse(await durable.prometheus());
      expect(m.get('ov_memory_journal_log_bytes{store="disk"}')).toBeGreaterThan(empty);
      await durable.checkpoint();
      m = parse(await durable.prometheus());
      expect(m.get('ov_memory_journal_generation{store="disk"}')).toBe(generation + 1);
      expect(m.get('ov_memory_journal_log_bytes{store="disk"}')).toBe(empty);
      expect(m.get('ov_memory_writes_refused{store="disk"}')).toBe(0);
    } finally {
      await Promise.all(open.splice(0).map((x) => x.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
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

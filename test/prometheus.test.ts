// The Prometheus exporter: its exposition text parsed back (names, labels, counts, histogram buckets),
// gauges read at scrape time, and several stores sharing one registry.
import { Counter, register as globalRegistry, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createPrometheusExporter, DURATION_BUCKETS } from '../src/observability/prometheus.js';

interface Sample { name: string; labels: Record<string, string>; value: number }

/** Parses exposition text into samples and the `# TYPE` of each metric. */
function parse(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [], types = new Map<string, string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1]!, type[2]!);
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    samples.push({ name: m[1]!, labels, value: Number(m[3] === '+Inf' ? Infinity : m[3]) });
  }
  return { samples, types };
}

/** The value of the one sample with this name and exactly these labels; undefined if there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  const hits = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want);
  expect(hits.length).toBeLessThanOrEqual(1);
  return hits[0]?.value;
}

const gauges = (nodes = 0, memoryBytes = 0, breakerState: 'CLOSED' | 'OPEN' | 'HALF_OPEN' = 'CLOSED') => ({
  nodes, memoryBytes, breakerState, memoryLimitBytes: 2 ** 20, nodesLimit: 1_000, vectorsOutsideBytes: 0,
});

describe('createPrometheusExporter()', () => {
  it('exposes DESIGN\'s metric names and types with a store label', async () => {
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => gauges(2, 4_096) });
    exporter.observe('add', 0.001);
    exporter.guardrail('drift');
    const { types, samples } = parse(await exporter.text());
    expect(Object.fromEntries(types)).toEqual({
      ov_memory_operations_total: 'counter',
      ov_memory_errors_total: 'counter',
      ov_memory_operation_duration_seconds: 'histogram',
      ov_memory_guardrail_blocks_total: 'counter',
      ov_memory_item_duration_seconds: 'histogram',
      ov_memory_engine_fallbacks_total: 'counter',
      ov_memory_evicted_total: 'counter',
      ov_memory_nodes: 'gauge',
      ov_memory_nodes_limit: 'gauge',
      ov_memory_memory_bytes: 'gauge',
      ov_memory_memory_limit_bytes: 'gauge',
      ov_memory_vectors_outside_bytes: 'gauge',
      ov_memory_breaker_state: 'gauge',
      ov_memory_writes_refused: 'gauge',
      ov_memory_journal_log_bytes: 'gauge',
      ov_memory_journal_generation: 'gauge',
      // A shared store's; a store that is not shared has no series of them.
      ov_memory_replication_lag_seconds: 'gauge',
      ov_memory_replication_sequence: 'gauge',
      ov_memory_replication_connected: 'gauge',
    });
    expect(samples.filter((s) => s.name.startsWith('ov_memory_replication_'))).toEqual([]);
    for (const s of samples) expect(s.labels.store).toBe('notes');
    exporter.close();
  });

  it('counts operations and errors, and fills the duration histogram bucket by bucket', async () => {
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => gauges() });
    const seconds = [0.00003, 0.00004, 0.0004, 0.0021, 0.2, 12, 45];
    for (const s of seconds) exporter.observe('search', s);
    exporter.observe('search', 0.00007, 'INVALID_DATA');
    exporter.observe('search', 0.00007, 'INVALID_DATA');
    exporter.observe('add', 0.0001, 'DUPLICATE_KEY');
    seconds.push(0.00007, 0.00007);
    const { samples } = parse(await exporter.text());
    const store = 'notes';
    expect(value(samples, 'ov_memory_operations_total', { store, operation: 'search' })).toBe(9);
    expect(value(samples, 'ov_memory_operations_total', { store, operation: 'add' })).toBe(1);
    expect(value(samples, 'ov_memory_errors_total', { store, operation: 'search', code: 'INVALID_DATA' })).toBe(2);
    expect(value(samples, 'ov_memory_errors_total', { store, operation: 'add', code: 'DUPLICATE_KEY' })).toBe(1);
    expect(value(samples, 'ov_memory_errors_total', { store, operation: 'add', code: 'INVALID_DATA' })).toBeUndefined();
    expect(value(samples, 'ov_memory_operation_duration_seconds_count', { store, operation: 'search' })).toBe(9);
    expect(value(samples, 'ov_memory_operation_duration_seconds_sum', { store, operation: 'search' })).toBeCloseTo(seconds.reduce((a, b) => a + b), 9);
    // Sub-millisecond buckets exist, and every bucket holds the observations at or below its bound.
    expect(DURATION_BUCKETS[0]).toBeLessThanOrEqual(0.00005);
    expect(DURATION_BUCKETS.filter((b) => b < 0.001).length).toBeGreaterThanOrEqual(3);
    expect(DURATION_BUCKETS.at(-1)).toBeGreaterThanOrEqual(30);
    const buckets = samples.filter((s) => s.name === 'ov_memory_operation_duration_seconds_bucket' && s.labels.operation === 'search');
    expect(buckets.map((b) => Number(b.labels.le === '+Inf' ? Infinity : b.labels.le))).toEqual([...DURATION_BUCKETS, Infinity]);
    for (const b of buckets) {
      const le = b.labels.le === '+Inf' ? Infinity : Number(b.labels.le);
      expect(b.value, `le=${b.labels.le}`).toBe(seconds.filter((s) => s <= le).length);
    }
    exporter.close();
  });

  it('reads the gauges at scrape time: nodes, bytes and the breaker as 0, 1, 2', async () => {
    let g = gauges(1, 100, 'CLOSED');
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => g });
    const scrape = async () => {
      const { samples } = parse(await exporter.text());
      return ['ov_memory_nodes', 'ov_memory_memory_bytes', 'ov_memory_breaker_state'].map((n) => value(samples, n, { store: 'notes' }));
    };
    expect(await scrape()).toEqual([1, 100, 0]);
    g = gauges(5, 900, 'HALF_OPEN');
    expect(await scrape()).toEqual([5, 900, 1]);
    g = gauges(5, 900, 'OPEN');
    expect(await scrape()).toEqual([5, 900, 2]);
    exporter.close();
  });

  it('exposes the limits beside the use, so that use reads as a ratio', async () => {
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => ({ ...gauges(3, 512), memoryLimitBytes: 4_096, nodesLimit: 10 }) });
    const { samples } = parse(await exporter.text());
    expect(value(samples, 'ov_memory_memory_limit_bytes', { store: 'notes' })).toBe(4_096);
    expect(value(samples, 'ov_memory_nodes_limit', { store: 'notes' })).toBe(10);
    exporter.close();
  });

  it('reads the write path at scrape time: refused writes always, the journal only for a durable store', async () => {
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => gauges() });
    const names = ['ov_memory_writes_refused', 'ov_memory_journal_log_bytes', 'ov_memory_journal_generation'];
    const scrape = async () => {
      const { samples } = parse(await exporter.text());
      return names.map((n) => value(samples, n, { store: 'notes' }));
    };
    // Before the store says where its write path is: no series at all.
    expect(await scrape()).toEqual([undefined, undefined, undefined]);
    let writes: { refused: boolean; journal: { logBytes: number; generation: number } | undefined } = { refused: false, journal: undefined };
    exporter.watchWrites(() => writes);
    expect(await scrape()).toEqual([0, undefined, undefined]);
    writes = { refused: false, journal: { logBytes: 120, generation: 1 } };
    expect(await scrape()).toEqual([0, 120, 1]);
    writes = { refused: true, journal: { logBytes: 0, generation: 2 } };
    expect(await scrape()).toEqual([1, 0, 2]);
    exporter.close();
  });

  it('fills the per-item histogram by kind as health judges it: batches per item, caller time out, operator work left out', async () => {
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => gauges() });
    exporter.observe('addMany', 2, undefined, { items: 1_000, callerMs: 0 });        // 2 ms per memory written
    exporter.observe('context', 3, undefined, { callerMs: 2_500 });                   // 0.5 s of the store's own
    exporter.observe('search', 0.0004, 'INVALID_DATA');                              // failed calls count too
    exporter.observe('getByKey', 0.0001);
    exporter.observe('checkpoint', 40);
    const { samples } = parse(await exporter.text());
    const bucket = (kind: string, le: string) => value(samples, 'ov_memory_item_duration_seconds_bucket', { store: 'notes', kind, le });
    const count = (kind: string) => value(samples, 'ov_memory_item_duration_seconds_count', { store: 'notes', kind });
    expect(bucket('write', '0.001')).toBe(0);
    expect(bucket('write', '0.0025')).toBe(1);
    expect(bucket('query', '0.0005')).toBe(1);   // the search
    expect(bucket('query', '0.25')).toBe(1);
    expect(bucket('query', '0.5')).toBe(2);      // and the context's own half second
    expect(count('read')).toBe(1);
    expect(count('operator')).toBeUndefined();
    expect(samples.some((s) => s.name.startsWith('ov_memory_item_duration') && s.labels.kind === 'operator')).toBe(false);
    exporter.close();
  });

  it('counts the engine faults the calling thread absorbed, from zero', async () => {
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => gauges() });
    expect(value(parse(await exporter.text()).samples, 'ov_memory_engine_fallbacks_total', { store: 'notes' })).toBe(0);
    exporter.engineFallback();
    exporter.engineFallback();
    expect(value(parse(await exporter.text()).samples, 'ov_memory_engine_fallbacks_total', { store: 'notes' })).toBe(2);
    exporter.close();
    exporter.engineFallback();
    expect(await exporter.text()).not.toContain('ov_memory_engine_fallbacks_total{');
  });

  it('counts guardrail blocks by kind', async () => {
    const exporter = await createPrometheusExporter({ name: 'notes', gauges: () => gauges() });
    exporter.guardrail('loop');
    exporter.guardrail('loop');
    exporter.guardrail('redundancy');
    const { samples } = parse(await exporter.text());
    expect(value(samples, 'ov_memory_guardrail_blocks_total', { store: 'notes', kind: 'loop' })).toBe(2);
    expect(value(samples, 'ov_memory_guardrail_blocks_total', { store: 'notes', kind: 'redundancy' })).toBe(1);
    exporter.close();
  });

  it('without a registry it makes its own and never touches the global one', async () => {
    const a = await createPrometheusExporter({ name: 'a', gauges: () => gauges(1) });
    const b = await createPrometheusExporter({ name: 'b', gauges: () => gauges(2) });
    a.observe('add', 0.001);
    expect(globalRegistry.getSingleMetric('ov_memory_operations_total')).toBeUndefined();
    const { samples } = parse(await a.text());
    expect(samples.some((s) => s.labels.store === 'b')).toBe(false);
    a.close();
    b.close();
  });

  it('two stores share a registry the user passes: one metric each, a store label per series', async () => {
    const registry = new Registry();
    const mine = new Counter({ name: 'app_requests_total', help: 'the user\'s own', registers: [registry] });
    mine.inc();
    const a = await createPrometheusExporter({ registry, name: 'a', gauges: () => gauges(1, 10, 'CLOSED') });
    const b = await createPrometheusExporter({ registry, name: 'b', gauges: () => gauges(2, 20, 'OPEN') });
    a.observe('add', 0.001);
    b.observe('addMany', 0.002);
    b.observe('addMany', 0.002, 'INVALID_DATA');
    a.guardrail('drift');

    const text = await registry.metrics();
    expect(await a.text()).toBe(text);
    expect(text.match(/^# TYPE ov_memory_nodes /gm)).toHaveLength(1);
    let { samples } = parse(text);
    expect(value(samples, 'ov_memory_nodes', { store: 'a' })).toBe(1);
    expect(value(samples, 'ov_memory_nodes', { store: 'b' })).toBe(2);
    expect(value(samples, 'ov_memory_breaker_state', { store: 'b' })).toBe(2);
    expect(value(samples, 'ov_memory_operations_total', { store: 'a', operation: 'add' })).toBe(1);
    expect(value(samples, 'ov_memory_operations_total', { store: 'b', operation: 'addMany' })).toBe(2);
    expect(value(samples, 'ov_memory_errors_total', { store: 'b', operation: 'addMany', code: 'INVALID_DATA' })).toBe(1);

    // Closing one store removes its series only; the other goes on.
    a.close();
    a.close();
    a.observe('add', 0.001);   // after close: ignored
    ({ samples } = parse(await registry.metrics()));
    expect(samples.some((s) => s.labels.store === 'a')).toBe(false);
    expect(value(samples, 'ov_memory_nodes', { store: 'b' })).toBe(2);
    expect(value(samples, 'ov_memory_operations_total', { store: 'b', operation: 'addMany' })).toBe(2);

    // The last one out removes the metrics; the user's own stay.
    b.close();
    expect(registry.getSingleMetric('ov_memory_operations_total')).toBeUndefined();
    expect(registry.getSingleMetric('ov_memory_nodes')).toBeUndefined();
    expect(await registry.metrics()).not.toContain('ov_memory_');
    expect(value(parse(await registry.metrics()).samples, 'app_requests_total', {})).toBe(1);

    // And a store opened later registers them afresh.
    const c = await createPrometheusExporter({ registry, name: 'c', gauges: () => gauges(3) });
    c.observe('search', 0.0001);
    ({ samples } = parse(await registry.metrics()));
    expect(value(samples, 'ov_memory_nodes', { store: 'c' })).toBe(3);
    expect(value(samples, 'ov_memory_operations_total', { store: 'c', operation: 'search' })).toBe(1);
    c.close();
  });
});

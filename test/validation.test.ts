// Every rejected input: the error's class, code and message, and that the store did not change.
import { afterEach, describe, expect, it } from 'vitest';
import { hashingEmbedder, InvalidDataError, NotFoundError, OVMemory, OVMemoryError, ResourceExhaustionError } from '../dist/index.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

const DIM = 4;
const good = (i = 0) => ({ embedding: [1, i, 0.5, 0.25], text: `memory ${i}`, weight: 1, metadata: { i } });

async function seeded(options: Record<string, unknown> = {}): Promise<OVMemory> {
  const memory = await OVMemory.create({ dim: DIM, logLevel: 'silent', ...options });
  open.push(memory);
  memory.addMany([good(0), { ...good(1), key: 'taken' }]);
  return memory;
}

/** Everything a rejected call must leave as it was. */
function state(memory: OVMemory) {
  return JSON.stringify({ size: memory.size, ids: [...memory.ids()], records: [...memory.ids()].map((id) => memory.get(id, { embedding: true })).map((r) => ({ ...r, embedding: Array.from(r!.embedding!) })) });
}

const cycle: Record<string, unknown> = { a: 1 };
cycle.self = cycle;

type Case = [name: string, call: (m: OVMemory) => unknown, error: new (...a: never[]) => OVMemoryError, code: string, message: RegExp];

const cases: Case[] = [
  ['add: input is not an object', (m) => m.add(null as never), InvalidDataError, 'INVALID_DATA', /Expected `input` to be an object, got null/],
  ['add: embedding is a string', (m) => m.add({ ...good(), embedding: 'abcd' as never }), InvalidDataError, 'INVALID_DATA', /`input\.embedding` to be a Float32Array, Float64Array or number\[\]/],
  ['add: embedding too short', (m) => m.add({ ...good(), embedding: [1, 2, 3] }), InvalidDataError, 'INVALID_DATA', /`input\.embedding` has 3 values, expected 4/],
  ['add: embedding too long', (m) => m.add({ ...good(), embedding: new Float32Array(5).fill(1) }), InvalidDataError, 'INVALID_DATA', /has 5 values, expected 4/],
  ['add: embedding holds NaN', (m) => m.add({ ...good(), embedding: [1, Number.NaN, 0, 0] }), InvalidDataError, 'INVALID_DATA', /`input\.embedding`\[1\] is NaN \(number\), expected a finite number/],
  ['add: embedding holds Infinity', (m) => m.add({ ...good(), embedding: new Float64Array([1, 0, Infinity, 0]) }), InvalidDataError, 'INVALID_DATA', /\[2\] is Infinity/],
  ['add: embedding holds a string', (m) => m.add({ ...good(), embedding: [1, '2', 0, 0] as never }), InvalidDataError, 'INVALID_DATA', /\[1\] is "2" \(string\)/],
  ['add: zero vector', (m) => m.add({ ...good(), embedding: [0, 0, 0, 0] }), InvalidDataError, 'INVALID_DATA', /has length 0, expected a non-zero finite length/],
  ['add: text is a number', (m) => m.add({ ...good(), text: 5 as never }), InvalidDataError, 'INVALID_DATA', /`input\.text` to be a string, got 5 \(number\)/],
  ['add: text is empty', (m) => m.add({ ...good(), text: '' }), InvalidDataError, 'INVALID_DATA', /`input\.text` to be a non-empty string/],
  ['add: text is white space only', (m) => m.add({ ...good(), text: ' \n\t ' }), InvalidDataError, 'INVALID_DATA', /non-white-space/],
  ['add: text too long', (m) => m.add({ ...good(), text: 'x'.repeat(10_001) }), InvalidDataError, 'INVALID_DATA', /has 10001 characters, the limit is 10000 \(maxTextLength\)/],
  ['add: weight 0', (m) => m.add({ ...good(), weight: 0 }), InvalidDataError, 'INVALID_DATA', /`input\.weight` to be a finite number > 0, got 0 \(number\)/],
  ['add: weight negative', (m) => m.add({ ...good(), weight: -1 }), InvalidDataError, 'INVALID_DATA', /got -1 \(number\)/],
  ['add: weight NaN', (m) => m.add({ ...good(), weight: Number.NaN }), InvalidDataError, 'INVALID_DATA', /got NaN/],
  ['add: weight Infinity', (m) => m.add({ ...good(), weight: Infinity }), InvalidDataError, 'INVALID_DATA', /got Infinity/],
  ['add: metadata is an array', (m) => m.add({ ...good(), metadata: [] as never }), InvalidDataError, 'INVALID_DATA', /`input\.metadata` to be an object/],
  ['add: metadata with a cycle', (m) => m.add({ ...good(), metadata: cycle }), InvalidDataError, 'INVALID_DATA', /without cycles/],
  ['add: metadata with a BigInt', (m) => m.add({ ...good(), metadata: { n: 1n } }), InvalidDataError, 'INVALID_DATA', /`input\.metadata\.n` to be a JSON value/],
  ['add: metadata with a function', (m) => m.add({ ...good(), metadata: { f: () => 1 } }), InvalidDataError, 'INVALID_DATA', /metadata\.f/],
  ['add: metadata with NaN', (m) => m.add({ ...good(), metadata: { x: Number.NaN } }), InvalidDataError, 'INVALID_DATA', /a finite number \(JSON has no NaN/],
  ['add: metadata with a Date', (m) => m.add({ ...good(), metadata: { d: new Date() } }), InvalidDataError, 'INVALID_DATA', /a plain object/],
  ['add: metadata too large', (m) => m.add({ ...good(), metadata: { s: 'x'.repeat(70_000) } }), InvalidDataError, 'INVALID_DATA', /bytes as JSON, the limit is 65536/],
  ['add: createdAt NaN', (m) => m.add({ ...good(), createdAt: Number.NaN }), InvalidDataError, 'INVALID_DATA', /`input\.createdAt` to be a finite number/],
  ['add: empty key', (m) => m.add({ ...good(), key: '' }), InvalidDataError, 'INVALID_DATA', /`input\.key` to be a string of 1 to 1024/],
  ['add: duplicate key', (m) => m.add({ ...good(), key: 'taken' }), InvalidDataError, 'DUPLICATE_KEY', /the key "taken" is already used/],
  ['add: unknown link option', (m) => m.add(good(), { link: 'all' as never }), InvalidDataError, 'INVALID_DATA', /`options\.link` to be one of 'focus', 'none'/],
  ['addMany: not an array', (m) => m.addMany({} as never), InvalidDataError, 'INVALID_DATA', /`inputs` to be an array/],
  ['addMany: one bad item among good ones', (m) => m.addMany([good(5), good(6), { ...good(7), embedding: [1, 2] }, good(8)]), InvalidDataError, 'INVALID_DATA', /`inputs\[2\]\.embedding` has 2 values/],
  ['addMany: a key twice in one batch', (m) => m.addMany([{ ...good(5), key: 'k' }, { ...good(6), key: 'k' }]), InvalidDataError, 'DUPLICATE_KEY', /"k" is already used/],
  ['update: unknown id', (m) => m.update(99, { weight: 2 }), NotFoundError, 'NOT_FOUND', /no memory with id 99/],
  ['update: bad weight', (m) => m.update(0, { weight: -2 }), InvalidDataError, 'INVALID_DATA', /`patch\.weight`/],
  ['update: bad metadata, good weight', (m) => m.update(0, { weight: 3, metadata: { n: 1n } as never }), InvalidDataError, 'INVALID_DATA', /patch\.metadata\.n/],
  ['update: patch is not an object', (m) => m.update(0, 7 as never), InvalidDataError, 'INVALID_DATA', /`patch` to be an object/],
  ['get: id is a string', (m) => m.get('0' as never), InvalidDataError, 'INVALID_DATA', /`id` to be a number/],
  ['remove: id is undefined', (m) => m.remove(undefined as never), InvalidDataError, 'INVALID_DATA', /`id` to be a number/],
  ['getByKey: key is a number', (m) => m.getByKey(3 as never), InvalidDataError, 'INVALID_DATA', /`key` to be a string/],
  ['errors: limit 0', (m) => m.errors(0), InvalidDataError, 'INVALID_DATA', /`limit` to be a positive integer/],
];

const searchCases: [string, Record<string, unknown> | undefined, unknown, string, RegExp][] = [
  ['query of the wrong length', undefined, [1, 2], 'INVALID_DATA', /`query` has 2 values, expected 4/],
  ['zero query', undefined, [0, 0, 0, 0], 'INVALID_DATA', /`query` has length 0/],
  ['topK 0', { topK: 0 }, undefined, 'INVALID_DATA', /Expected `topK` to be a positive integer, got 0 \(number\)/],
  ['topK -3', { topK: -3 }, undefined, 'INVALID_DATA', /got -3 \(number\)/],
  ['topK 1.5', { topK: 1.5 }, undefined, 'INVALID_DATA', /got 1.5/],
  ['topK above maxTopK', { topK: 10_001 }, undefined, 'INVALID_DATA', /at most 10000/],
  ['topK a string', { topK: '5' }, undefined, 'INVALID_DATA', /got "5" \(string\)/],
  ['alpha below 0', { alpha: -0.1 }, undefined, 'INVALID_DATA', /`alpha` to be a number in \[0, 1\]/],
  ['alpha above 1', { alpha: 1.5 }, undefined, 'INVALID_DATA', /`alpha`/],
  ['alpha NaN', { alpha: Number.NaN }, undefined, 'INVALID_DATA', /`alpha`/],
  ['rank unknown', { rank: 'popularity' }, undefined, 'INVALID_DATA', /`rank` to be one of 'priority', 'similarity'/],
  ['timeoutMs 0', { timeoutMs: 0 }, undefined, 'INVALID_DATA', /`timeoutMs` to be a finite number > 0/],
  ['minScore NaN', { minScore: Number.NaN }, undefined, 'INVALID_DATA', /`minScore`/],
  ['signal not a signal', { signal: {} }, undefined, 'INVALID_DATA', /`signal` to be an AbortSignal/],
  ['now not a number', { now: 'today' }, undefined, 'INVALID_DATA', /`now` to be a finite number/],
  ['options not an object', 5 as never, undefined, 'INVALID_DATA', /`options` to be an object/],
  ['filter with an unknown operator', { filter: { kind: { $foo: 1 } } }, undefined, 'INVALID_DATA', /`filter\.kind\.\$foo` to be one of the operators \$eq/],
];

describe('validation: every bad input is rejected and changes nothing', () => {
  for (const [name, call, ErrorClass, code, message] of cases) {
    it(`${name} → ${code}`, async () => {
      const memory = await seeded();
      const before = state(memory);
      let thrown: unknown;
      try { call(memory); } catch (e) { thrown = e; }
      expect(thrown).toBeInstanceOf(ErrorClass);
      expect(thrown).toBeInstanceOf(OVMemoryError);
      expect((thrown as OVMemoryError).code).toBe(code);
      expect((thrown as Error).message).toMatch(message);
      expect(state(memory)).toBe(before);
      // A rejected call uses no id.
      expect(memory.add(good(9))).toBe(2);
    });
  }

  for (const [name, options, query, code, message] of searchCases) {
    it(`search: ${name} → ${code}`, async () => {
      const memory = await seeded();
      const before = state(memory);
      const q = query ?? [1, 0, 0, 0];
      await expect(memory.search(q as number[], options)).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
      await expect(memory.searchMany([q as number[]], options)).rejects.toMatchObject({ code });
      expect(state(memory)).toBe(before);
    });
  }

  it('searchMany: a flat Float32Array whose length is not a multiple of dim → INVALID_DATA', async () => {
    const memory = await seeded();
    await expect(memory.searchMany(new Float32Array(7))).rejects.toMatchObject({ code: 'INVALID_DATA', message: expect.stringMatching(/multiple of 4/) });
    await expect(memory.searchMany([[1, 0, 0, 0], [1, 2]])).rejects.toMatchObject({ message: expect.stringMatching(/`queries\[1\]` has 2 values/) });
  });
});

describe('validation: create() options', () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['no dim', {}, /`dim` to be a positive integer, got undefined/],
    ['dim 0', { dim: 0 }, /`dim`/],
    ['dim 1.5', { dim: 1.5 }, /`dim`/],
    ['maxMemoryMB above wasm32', { dim: 4, maxMemoryMB: 5000 }, /at most 4095/],
    ['maxMemoryMB negative', { dim: 4, maxMemoryMB: -1 }, /`maxMemoryMB`/],
    ['threads -1', { dim: 4, threads: -1 }, /`threads`/],
    ['logLevel unknown', { dim: 4, logLevel: 'loud' }, /`logLevel` to be one of/],
    ['halfLifeMs 0', { dim: 4, halfLifeMs: 0 }, /`halfLifeMs`/],
    ['recency unknown', { dim: 4, recency: 'never' }, /`recency`/],
    ['breaker threshold 0', { dim: 4, breaker: { failureThreshold: 0 } }, /`breaker\.failureThreshold`/],
    ['clock not a function', { dim: 4, clock: 5 }, /`clock`/],
    ['logger without methods', { dim: 4, logger: {} }, /`logger`/],
    ['name with spaces', { dim: 4, name: 'my store' }, /`name`/],
    ['repair not a boolean', { dim: 4, repair: 'yes' }, /`repair` to be true or false/],
  ];
  for (const [name, options, message] of bad) {
    it(`${name} → INVALID_DATA`, async () => {
      await expect(OVMemory.create(options as never)).rejects.toSatisfy(
        (e: unknown) => e instanceof InvalidDataError && e.code === 'INVALID_DATA' && message.test(e.message),
      );
    });
  }
  it('options that are not an object → INVALID_DATA', async () => {
    await expect(OVMemory.create(undefined as never)).rejects.toBeInstanceOf(InvalidDataError);
  });
});

describe('hashingEmbedder', () => {
  it('rejects a bad dim or bad texts with INVALID_DATA', () => {
    expect(() => hashingEmbedder({ dim: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: expect.stringMatching(/`dim`/) }));
    expect(() => hashingEmbedder({ dim: 4 })).toThrow(InvalidDataError);
    expect(() => hashingEmbedder({ dim: 64 }).embed('abc' as never)).toThrow(expect.objectContaining({ code: 'INVALID_DATA', message: expect.stringMatching(/`texts`/) }));
    expect(() => hashingEmbedder({ dim: 64 }).embed(['ok', 3 as never])).toThrow(expect.objectContaining({ message: expect.stringMatching(/`texts\[1\]`/) }));
    const [a, b, c] = hashingEmbedder({ dim: 64 }).embed(['green tea please', 'green tea', 'database backup']);
    const dot = (x: Float32Array, y: Float32Array) => x.reduce((s, v, i) => s + v * y[i]!, 0);
    expect(dot(a!, a!)).toBeCloseTo(1, 6);
    expect(dot(a!, b!)).toBeGreaterThan(dot(a!, c!));
  });
});

describe('limits', () => {
  it('maxNodes: the error says the use and the limit, and addMany stores nothing past it', async () => {
    const memory = await seeded({ maxNodes: 3 });
    expect(() => memory.addMany([good(2), good(3)])).toThrow(ResourceExhaustionError);
    expect(memory.size).toBe(2);
    expect(() => memory.addMany([good(2), good(3)])).toThrow(/maxNodes reached: 2 memories stored, 2 more would pass the limit of 3/);
    expect(memory.add(good(2))).toBe(2);
    expect(() => memory.add(good(3))).toThrow(expect.objectContaining({ code: 'RESOURCE_EXHAUSTION' }));
    // Removing makes room again.
    memory.remove(0);
    expect(memory.add(good(3))).toBe(3);
  });

  it('maxMemoryMB counts text as well as vectors', async () => {
    const memory = await OVMemory.create({ dim: DIM, maxMemoryMB: 1, logLevel: 'silent' });
    open.push(memory);
    const text = 'x'.repeat(10_000);
    let stored = 0;
    let thrown: unknown;
    try {
      for (; stored < 1_000; stored++) memory.add({ embedding: [1, 0, 0, 0], text });
    } catch (e) { thrown = e; }
    expect(thrown).toBeInstanceOf(ResourceExhaustionError);
    expect((thrown as Error).message).toMatch(/maxMemoryMB reached: \d+ bytes in use, \d+ more would pass the limit of 1048576 bytes/);
    // About 20 KB a memory: roughly 50 fit in 1 MiB beside the arena.
    expect(stored).toBeGreaterThan(30);
    expect(stored).toBeLessThan(53);
    expect(memory.size).toBe(stored);
    expect(memory.metrics().memoryBytes).toBeLessThanOrEqual(1_048_576);
    expect(memory.add({ embedding: [1, 0, 0, 0], text: 'short' })).toBe(stored);
  });
});

describe('describe() of a bad value', () => {
  it('shows an object\'s first keys or its class, never [object Object], and never throws', async () => {
    const { describe: show } = await import('../src/resilience/validation.js');
    expect(show({ a: 1, b: 2 })).toBe('{ a, b } (object)');
    expect(show({ a: 1, b: 2, c: 3, d: 4 })).toBe('{ a, b, c, … } (object)');
    expect(show({})).toBe('an empty object (object)');
    expect(show(new Map())).toBe('a Map (object)');
    expect(show(Object.create(null))).toBe('an empty object (object)');
    expect(show({ 'a key with spaces': 1 })).toBe('{ "a key with spaces" } (object)');
    expect(show(new Proxy({}, { ownKeys() { throw new Error('no'); } }))).toBe('an object (object)');
  });
});

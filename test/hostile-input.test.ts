// Hostile input through the public API: metadata and filters nested 10⁴ deep, too many fields,
// accessors that throw. Each is INVALID_DATA naming the limit or the path, changes nothing, and never
// makes health worse than WARNING (before, a deep value overflowed the stack: ENGINE_FAULT, CRITICAL).
import { afterEach, describe, expect, it } from 'vitest';
import { type Filter, OVMemory } from '../dist/index.js';
import { MAX_DEPTH, MAX_METADATA_FIELDS } from '../dist/internal.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

async function store() {
  const memory = await OVMemory.create({ dim: 4, threads: 0, logLevel: 'silent' });
  open.push(memory);
  memory.addMany([
    { embedding: [1, 0, 0, 0], text: 'a', metadata: { kind: 'fact', year: 2020 } },
    { embedding: [0, 1, 0, 0], text: 'b', metadata: { kind: 'event', year: 2024 } },
  ]);
  return memory;
}

/** `levels` levels of objects and arrays, counted as validation counts them (`{ a: 1 }` is 1). */
function nestedObject(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: 1 };
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}
function nestedArray(levels: number): Record<string, unknown> {
  let value: unknown = [1];
  for (let i = 2; i < levels; i++) value = [value];
  return { list: value };
}
const notFilter = (levels: number) => {
  let f: Record<string, unknown> = { kind: 'fact' };
  for (let i = 1; i < levels; i++) f = { $not: f };
  return f as Filter;
};
const andFilter = (pairs: number, op = '$and') => {
  let f: Record<string, unknown> = { kind: 'fact' };
  for (let i = 0; i < pairs; i++) f = { [op]: [f] };
  return f as Filter;
};
const fieldNotFilter = (levels: number) => {
  let c: Record<string, unknown> = { $gt: 2000 };
  for (let i = 2; i < levels; i++) c = { $not: c };
  return { year: c } as Filter;
};

const DEEP = 10_000;
const snapshot = (m: OVMemory) => JSON.stringify([...m.ids()].map((id) => m.get(id)));

describe('hostile input - nesting', () => {
  it('the limit is 32 levels, the JSON-size limit does not bound it', () => {
    expect(MAX_DEPTH).toBe(32);
    // 64 KiB of JSON holds 30,000 levels of arrays: more than JSON.stringify itself can walk.
    const json = `${'['.repeat(30_000)}${']'.repeat(30_000)}`;
    expect(json.length).toBeLessThan(65_536);
    expect(() => JSON.stringify(JSON.parse(json))).toThrow(RangeError);
  });

  it.each([
    ['objects', nestedObject],
    ['arrays', nestedArray],
  ])('metadata of %s 10⁴ deep is INVALID_DATA naming the limit, in add, addMany, upsert and update', async (_, make) => {
    const memory = await store();
    const before = snapshot(memory);
    const deep = make(DEEP);
    const expected = { code: 'INVALID_DATA', message: expect.stringMatching(/nests deeper than 32 levels of objects and arrays .*the limit is 32$/) };
    expect(() => memory.add({ embedding: [1, 1, 0, 0], text: 'x', metadata: deep })).toThrow(expect.objectContaining(expected));
    expect(() => memory.addMany([{ embedding: [1, 1, 0, 0], text: 'x' }, { embedding: [1, 1, 0, 0], text: 'y', metadata: deep }]))
      .toThrow(expect.objectContaining({ ...expected, message: expect.stringMatching(/^`inputs\[1\]\.metadata` nests deeper/) }));
    expect(() => memory.upsert({ embedding: [1, 1, 0, 0], text: 'x', key: 'k', metadata: deep })).toThrow(expect.objectContaining(expected));
    expect(() => memory.update(0, { metadata: deep })).toThrow(expect.objectContaining({ ...expected, message: expect.stringMatching(/^`patch\.metadata` nests/) }));
    expect(snapshot(memory)).toBe(before);
    expect(memory.size).toBe(2);
  });

  it('metadata of exactly 32 levels is stored and filtered on; 33 is refused', async () => {
    const memory = await store();
    const id = memory.add({ embedding: [0, 0, 1, 0], text: 'deep', metadata: nestedObject(MAX_DEPTH) });
    expect(memory.get(id)!.metadata).toEqual(nestedObject(MAX_DEPTH));
    const path = `${'a.'.repeat(MAX_DEPTH - 1)}leaf`;
    expect((await memory.search([0, 0, 1, 0], { filter: { [path]: 1 } as Filter })).map((h) => h.id)).toEqual([id]);
    expect(() => memory.add({ embedding: [0, 0, 1, 0], text: 'deeper', metadata: nestedObject(MAX_DEPTH + 1) }))
      .toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(() => memory.add({ embedding: [0, 0, 1, 0], text: 'array', metadata: nestedArray(MAX_DEPTH) })).not.toThrow();
    expect(() => memory.add({ embedding: [0, 0, 1, 0], text: 'array', metadata: nestedArray(MAX_DEPTH + 1) }))
      .toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
  });

  it.each([
    ['$not', notFilter(DEEP)],
    ['$and', andFilter(DEEP)],
    ['$or', andFilter(DEEP, '$or')],
    ['a field\'s $not', fieldNotFilter(DEEP)],
  ])('a filter nested 10⁴ deep through %s is INVALID_DATA in search, searchMany and context', async (_, filter) => {
    const memory = await store();
    const expected = { code: 'INVALID_DATA', message: expect.stringMatching(/^`filter` nests deeper than 32 levels of objects and arrays \(at `filter\./) };
    await expect(memory.search([1, 0, 0, 0], { filter })).rejects.toMatchObject(expected);
    await expect(memory.searchMany([[1, 0, 0, 0]], { filter })).rejects.toMatchObject(expected);
    await expect(memory.context([1, 0, 0, 0], { filter })).rejects.toMatchObject(expected);
  });

  it('a filter of exactly 32 levels is evaluated; 33 is refused', async () => {
    const memory = await store();
    // 31 $not around an equality: 32 objects; an odd count of $not inverts it.
    const hits = await memory.search([1, 0, 0, 0], { filter: notFilter(MAX_DEPTH) });
    expect(hits.map((h) => h.id)).toEqual([1]);
    await expect(memory.search([1, 0, 0, 0], { filter: notFilter(MAX_DEPTH + 1) })).rejects.toMatchObject({ code: 'INVALID_DATA' });
    // $and arrays count as a level: 15 of them and their objects are 31 levels, with the field's condition 32.
    expect((await memory.search([1, 0, 0, 0], { filter: andFilter(15) })).map((h) => h.id)).toEqual([0]);
    await expect(memory.search([1, 0, 0, 0], { filter: andFilter(16) })).rejects.toMatchObject({ code: 'INVALID_DATA' });
  });

  it('30 deep requests among 20 ordinary ones leave health at WARNING, with no engine fault', async () => {
    const memory = await store();
    for (let i = 0; i < 20; i++) await memory.search([1, 0, 0, 0]);
    for (let i = 0; i < 15; i++) {
      await memory.search([1, 0, 0, 0], { filter: andFilter(DEEP) }).catch(() => undefined);
      try { memory.add({ embedding: [1, 0, 0, 0], text: 'x', metadata: nestedArray(DEEP) }); } catch { /* refused */ }
    }
    const health = memory.health();
    expect(health.status).toBe('WARNING');
    expect(health.errorRate).toBe(0);
    // 30 rejected of 51 calls (the store's addMany, 20 searches, 30 refusals).
    expect(health.reasons).toEqual(['rejected-input rate 58.8% over the last 60 s (warning above 5%)']);
    expect(memory.metrics().errorsByCode).toEqual({ INVALID_DATA: 30 });
  });
});

describe('hostile input - breadth', () => {
  const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));

  it(`metadata holds at most ${MAX_METADATA_FIELDS} fields, nested ones counted by dotted path`, async () => {
    const memory = await store();
    expect(MAX_METADATA_FIELDS).toBe(256);
    expect(() => memory.add({ embedding: [1, 0, 1, 0], text: 'full', metadata: fields(256) })).not.toThrow();
    expect(() => memory.add({ embedding: [1, 0, 1, 0], text: 'over', metadata: fields(257) })).toThrow(expect.objectContaining({
      code: 'INVALID_DATA',
      message: '`input.metadata` has more than 256 fields (nested ones counted by dotted path), the limit is 256',
    }));
    // 255 at the top and one object holding one more: 257 paths (the object itself is one).
    expect(() => memory.add({ embedding: [1, 0, 1, 0], text: 'nested', metadata: { ...fields(255), user: { id: 1 } } }))
      .toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    // Objects inside arrays are not index paths: they do not count.
    expect(() => memory.add({ embedding: [1, 0, 1, 0], text: 'rows', metadata: { rows: Array.from({ length: 500 }, (_, i) => ({ i })) } })).not.toThrow();
    expect(memory.size).toBe(4);
  });

  it('the issue\'s case, 4,000 distinct fields a memory, is refused before anything is indexed', async () => {
    const memory = await store();
    const before = memory.metrics().memoryBytes;
    for (let m = 0; m < 5; m++) {
      const metadata = Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`m${m}f${i}`, i]));
      expect(() => memory.add({ embedding: [1, 0, 0, 1], text: `m${m}`, metadata })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    }
    expect(memory.size).toBe(2);
    expect(memory.metrics().memoryBytes).toBe(before);
  });
});

describe('hostile input - accessors', () => {
  it('metadata whose getter throws is INVALID_DATA naming the field, not an engine fault', async () => {
    const memory = await store();
    const metadata = { ok: 1, get secret(): number { throw new Error('no access'); } };
    expect(() => memory.add({ embedding: [1, 0, 0, 0], text: 'x', metadata })).toThrow(expect.objectContaining({
      code: 'INVALID_DATA', message: '`input.metadata.secret` could not be read: no access',
    }));
    expect(memory.health().errorRate).toBe(0);
  });

  it('a filter behind a proxy that throws is INVALID_DATA naming where it was read', async () => {
    const memory = await store();
    const trap = new Proxy({}, { ownKeys() { throw new RangeError('Maximum call stack size exceeded'); } });
    await expect(memory.search([1, 0, 0, 0], { filter: { $and: [{ kind: 'fact' }, trap] } })).rejects.toMatchObject({
      code: 'INVALID_DATA', message: '`filter.$and[1]` could not be read: Maximum call stack size exceeded',
    });
    const throwing = { get kind(): string { throw new Error('gone'); } };
    await expect(memory.search([1, 0, 0, 0], { filter: throwing })).rejects.toMatchObject({
      code: 'INVALID_DATA', message: '`filter.kind` could not be read: gone',
    });
    expect(memory.health().errorRate).toBe(0);
  });
});

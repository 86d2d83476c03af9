// Filtered search and external keys: the filter language against a plain JavaScript evaluation of
// Mongo's semantics, filtered top-k against a float64 scan of the matching rows, and the indexes
// kept exact through updates and removals.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { InvalidDataError, OVMemory } from '../dist/index.js';
import { expectSameHits, randomVectors, referenceSearch } from './helpers/data.js';

const open: OVMemory[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((m) => m.close()));
});

type Meta = Record<string, unknown>;
/** The tests build filters from generated data: the compiler cannot check their operators. */
const asFilter = (f: Meta) => f as never;

/** Whether a dotted path exists (any value, an object or an empty array too), and the values it holds: array elements one by one. */
function lookup(meta: Meta, path: string): { present: boolean; values: unknown[] } {
  let v: unknown = meta;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return { present: false, values: [] };
    v = (v as Meta)[part];
  }
  if (v === undefined) return { present: false, values: [] };
  return { present: true, values: Array.isArray(v) ? v : [v] };
}

const same = (a: unknown, b: unknown) => a === b;
const ordered = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number') || (typeof a === 'string' && typeof b === 'string');

/** Mongo's semantics, written plainly, for the reference. */
function matches(meta: Meta, filter: Meta): boolean {
  return Object.entries(filter).every(([key, c]) => {
    if (key === '$and') return (c as Meta[]).every((f) => matches(meta, f));
    if (key === '$or') return (c as Meta[]).some((f) => matches(meta, f));
    if (key === '$not') return !matches(meta, c as Meta);
    return condition(lookup(meta, key), c);
  });
}

function condition(field: { present: boolean; values: unknown[] }, c: unknown): boolean {
  const { present, values } = field;
  const eq = (x: unknown) => (x === null ? !present || values.some((v) => v === null) : values.some((v) => same(v, x)));
  if (c === null || typeof c !== 'object') return eq(c);
  return Object.entries(c as Meta).every(([op, x]) => {
    switch (op) {
      case '$eq': return eq(x);
      case '$ne': return !eq(x);
      case '$in': return (x as unknown[]).some(eq);
      case '$nin': return !(x as unknown[]).some(eq);
      case '$exists': return present === x;
      case '$not': return !condition(field, x);
      case '$gt': return values.some((v) => ordered(v, x) && (v as number) > (x as number));
      case '$gte': return values.some((v) => ordered(v, x) && (v as number) >= (x as number));
      case '$lt': return values.some((v) => ordered(v, x) && (v as number) < (x as number));
      case '$lte': return values.some((v) => ordered(v, x) && (v as number) <= (x as number));
      default: throw new Error(op);
    }
  });
}

const kinds = ['fact', 'event', 'tool'];
const metadataArb: fc.Arbitrary<Meta> = fc.record({
  kind: fc.constantFrom(...kinds),
  year: fc.oneof(fc.integer({ min: 2018, max: 2024 }), fc.constantFrom('2020', null)),
  tags: fc.subarray(['a', 'b', 'c']),
  score: fc.double({ min: -1, max: 1, noNaN: true }),
  user: fc.record({ id: fc.constantFrom('u1', 'u2', 'u3') }),
  flag: fc.boolean(),
}, { requiredKeys: ['kind'] });

const scalarArb = fc.oneof(fc.constantFrom(...kinds, 'a', 'b', 'u1', '2020', 2018, 2020, 2022, true, false, null), fc.double({ min: -1, max: 1, noNaN: true }));
const fieldArb = fc.constantFrom('kind', 'year', 'tags', 'score', 'user.id', 'flag', 'missing');
const conditionArb: fc.Arbitrary<unknown> = fc.oneof(
  scalarArb,
  fc.record({ $eq: scalarArb }), fc.record({ $ne: scalarArb }),
  fc.record({ $in: fc.array(scalarArb, { maxLength: 3 }) }), fc.record({ $nin: fc.array(scalarArb, { maxLength: 3 }) }),
  fc.record({ $gt: fc.oneof(fc.integer({ min: 2017, max: 2025 }), fc.double({ min: -1, max: 1, noNaN: true }), fc.constantFrom('b', 'event', 'u2')) }),
  fc.record({ $gte: fc.integer({ min: 2017, max: 2025 }), $lt: fc.integer({ min: 2017, max: 2025 }) }),
  fc.record({ $lte: fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }), fc.constantFrom('fact', 'u1')) }),
  fc.record({ $exists: fc.boolean() }),
  fc.record({ $not: fc.record({ $in: fc.array(scalarArb, { maxLength: 2 }) }) }),
);
const filterArb: fc.Arbitrary<Meta> = fc.letrec((tie) => ({
  leaf: fc.dictionary(fieldArb, conditionArb, { minKeys: 1, maxKeys: 2 }),
  node: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    tie('leaf'),
    fc.record({ $and: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $or: fc.array(tie('node'), { minLength: 1, maxLength: 3 }) }),
    fc.record({ $not: tie('node') })),
})).node as fc.Arbitrary<Meta>;

async function store(metas: Meta[], dim = 6, options: Record<string, unknown> = {}) {
  const memory = await OVMemory.create({ dim, threads: 0, logLevel: 'silent', ...options });
  open.push(memory);
  const vectors = randomVectors(metas.length, dim, metas.length + 1);
  memory.addMany(metas.map((metadata, i) => ({ embedding: vectors[i]!, text: `m${i}`, metadata })), { link: 'none' });
  return { memory, vectors };
}

describe('filter language', () => {
  it('matches what a plain JavaScript evaluation of Mongo semantics matches', async () => {
    await fc.assert(fc.asyncProperty(fc.array(metadataArb, { minLength: 1, maxLength: 40 }), filterArb, async (metas, filter) => {
      const { memory } = await store(metas);
      const want = metas.flatMap((m, id) => (matches(m, filter) ? [id] : [])).sort((a, b) => a - b);
      const got = (await memory.search(new Float32Array(6).fill(1), { topK: 100, rank: 'similarity', filter: asFilter(filter) })).map((h) => h.id).sort((a, b) => a - b);
      expect(got).toEqual(want);
      await memory.close();
    }), { numRuns: 150, seed: 8 });
  });

  it('filtered top-k is the top-k of the matching rows, from 0 % to 100 % selectivity', async () => {
    const n = 3_000, dim = 16;
    const metas = Array.from({ length: n }, (_, i) => ({ bucket: i % 100, kind: kinds[i % 3] }));
    const { memory, vectors } = await store(metas, dim, { threads: 2, internal: { poolMinRows: 0, segmentRows: 512 } });
    const q = randomVectors(1, dim, 77)[0]!;
    for (const below of [0, 1, 10, 50, 100]) {
      const filter = { bucket: { $lt: below } };
      const rows = vectors.map((vector, id) => ({ id, vector, live: metas[id]!.bucket < below }));
      const hits = await memory.search(q, { topK: 10, rank: 'similarity', filter });
      expectSameHits(hits, referenceSearch(rows, q, { rank: 'similarity', k: 11 }).slice(0, Math.min(11, (n * below) / 100)));
      expect(hits.every((h) => (h.metadata.bucket as number) < below)).toBe(true);
    }
    // searchMany and context take the same filter.
    const many = await memory.searchMany([q, q], { topK: 5, filter: { kind: 'tool' } });
    expect(many.flat().every((h) => h.metadata.kind === 'tool')).toBe(true);
    const context = await memory.context(q, { filter: { kind: 'event' } });
    expect(context.ids.length).toBeGreaterThan(0);
    expect(context.ids.every((id) => memory.get(id)!.metadata.kind === 'event')).toBe(true);
  });

  it('keeps the indexes exact through updates and removals', async () => {
    await fc.assert(fc.asyncProperty(
      fc.array(metadataArb, { minLength: 5, maxLength: 30 }),
      fc.array(fc.tuple(fc.constantFrom('update', 'remove'), fc.nat(29), metadataArb), { maxLength: 30 }),
      filterArb,
      async (metas, ops, filter) => {
        const { memory } = await store(metas);
        const current = new Map(metas.map((m, id) => [id, m]));
        for (const [op, id, meta] of ops) {
          if (!current.has(id)) continue;
          if (op === 'remove') { memory.remove(id); current.delete(id); }
          else { memory.update(id, { metadata: meta }); current.set(id, meta); }
        }
        const want = [...current].flatMap(([id, m]) => (matches(m, filter) ? [id] : [])).sort((a, b) => a - b);
        const got = (await memory.search(new Float32Array(6).fill(1), { topK: 100, filter: asFilter(filter) })).map((h) => h.id).sort((a, b) => a - b);
        expect(got).toEqual(want);
        await memory.close();
      },
    ), { numRuns: 60, seed: 9 });
  });

  const invalid: [string, unknown, RegExp][] = [
    ['an unknown operator', { year: { $regex: 'x' } }, /`filter\.year\.\$regex` to be one of the operators \$eq, \$ne, \$in/],
    ['an unknown logical operator', { $xor: [] }, /`filter\.\$xor` to be a field name or one of \$and, \$or, \$not/],
    ['$in without an array', { kind: { $in: 'fact' } }, /`filter\.kind\.\$in` to be an array of values/],
    ['$gt with a boolean', { year: { $gt: true } }, /`filter\.year\.\$gt` to be a number or a string/],
    ['$exists with a string', { year: { $exists: 'yes' } }, /`filter\.year\.\$exists` to be true or false/],
    ['an empty $or', { $or: [] }, /`filter\.\$or` to be a non-empty array of filters/],
    ['an object as a value', { user: { id: 'u1' } }, /`filter\.user` to be a value or an object of operators/],
    ['an array as a value', { tags: ['a'] }, /`filter\.tags` to be a string, a finite number, a boolean or null/],
    ['a filter that is not an object', 'kind = fact', /`filter` to be a filter object/],
    ['a nested bad operand', { $and: [{ kind: 'fact' }, { year: { $lt: Number.NaN } }] }, /`filter\.\$and\[1\]\.year\.\$lt` to be a finite number/],
    ['an object as an operand', { year: { $gt: { from: 1, to: 2 } } }, /^Expected `filter\.year\.\$gt` to be a number or a string, got \{ from, to \} \(object\)$/],
    ['an object for $and', { $and: { kind: 'fact' } }, /^Expected `filter\.\$and` to be a non-empty array of filters, got \{ kind \} \(object\)$/],
    ['an object among $in values', { tags: { $in: ['a', { b: 1 }] } }, /^Expected `filter\.tags\.\$in\[1\]` to be a string, a finite number, a boolean or null, got \{ b \} \(object\)$/],
    ['an instance as a value', { when: new Date(0) }, /^Expected `filter\.when` to be a value or an object of operators .*, got a Date \(object\)$/],
    ['a string for $in', { tags: { $in: 'a' } }, /^Expected `filter\.tags\.\$in` to be an array of values, got "a" \(string\)$/],
    ['a $not that is not an object', { year: { $not: 5 } }, /^Expected `filter\.year\.\$not` to be an object of operators, got 5 \(number\)$/],
  ];
  for (const [name, filter, message] of invalid) {
    it(`rejects ${name} with INVALID_DATA naming the path`, async () => {
      const { memory } = await store([{ kind: 'fact', year: 2020 }]);
      await expect(memory.search([1, 0, 0, 0, 0, 0], { filter: filter as never })).rejects.toSatisfy(
        (e: unknown) => e instanceof InvalidDataError && message.test(e.message) && !e.message.includes('[object'),
      );
    });
  }

  it('a field holding an object or an empty array exists, and equals neither null nor a scalar', async () => {
    const { memory } = await store([{ user: { id: 'u1' }, tags: [] }, { tags: ['x'] }, { user: 'plain' }]);
    const ids = async (filter: Meta) => (await memory.search([1, 1, 1, 1, 1, 1], { topK: 10, filter: asFilter(filter) })).map((h) => h.id).sort();
    expect(await ids({ tags: { $exists: true } })).toEqual([0, 1]);
    expect(await ids({ tags: null })).toEqual([2]);
    expect(await ids({ user: { $exists: true } })).toEqual([0, 2]);
    expect(await ids({ user: { $exists: false } })).toEqual([1]);
    expect(await ids({ 'user.id': 'u1' })).toEqual([0]);
    expect(await ids({ user: { $ne: 'plain' } })).toEqual([0, 1]);
  });

  it('with `indexed`, a filter on another field is INVALID_DATA', async () => {
    const { memory } = await store([{ kind: 'fact', year: 2020 }], 6, { indexed: ['kind'] });
    expect(await memory.search([1, 0, 0, 0, 0, 0], { filter: { kind: 'fact' } })).toHaveLength(1);
    await expect(memory.search([1, 0, 0, 0, 0, 0], { filter: { year: 2020 } })).rejects.toMatchObject({
      code: 'INVALID_DATA', message: expect.stringMatching(/"year", which is not indexed \(indexed: kind\)/),
    });
  });
});

describe('external keys', () => {
  it('getByKey, key on hits and records, removeByKey', async () => {
    const memory = await OVMemory.create({ dim: 2, threads: 0 });
    open.push(memory);
    const id = memory.add({ embedding: [1, 0], text: 'a', key: 'doc-1' });
    memory.add({ embedding: [0, 1], text: 'b' });
    expect(memory.getByKey('doc-1')).toMatchObject({ id, key: 'doc-1', text: 'a' });
    expect(memory.getByKey('nope')).toBeUndefined();
    const [hit] = await memory.search([1, 0], { topK: 1 });
    expect(hit).toMatchObject({ id, key: 'doc-1' });
    expect(memory.get(1)!.key).toBeUndefined();
    expect(memory.removeByKey('doc-1')).toBe(true);
    expect(memory.removeByKey('doc-1')).toBe(false);
    expect(memory.has(id)).toBe(false);
    // The key is free again.
    expect(memory.add({ embedding: [1, 1], text: 'c', key: 'doc-1' })).toBe(2);
  });

  it('upsert replaces the memory holding the key, all or nothing', async () => {
    const memory = await OVMemory.create({ dim: 2, threads: 0, maxNodes: 2 });
    open.push(memory);
    const first = memory.upsert({ embedding: [1, 0], text: 'v1', key: 'k' });
    memory.add({ embedding: [0, 1], text: 'other', key: 'o' });
    const second = memory.upsert({ embedding: [1, 0.1], text: 'v2', key: 'k', metadata: { v: 2 } });
    expect(second).toBe(2);
    expect(memory.has(first)).toBe(false);
    expect(memory.getByKey('k')).toMatchObject({ id: 2, text: 'v2', metadata: { v: 2 } });
    expect(memory.size).toBe(2);
    // A bad replacement leaves the old memory in place.
    expect(() => memory.upsert({ embedding: [0, 0], text: 'bad', key: 'k' })).toThrow(expect.objectContaining({ code: 'INVALID_DATA' }));
    expect(memory.getByKey('k')!.id).toBe(2);
    expect(() => memory.upsert({ embedding: [1, 0], text: 'no key' })).toThrow(expect.objectContaining({ message: expect.stringMatching(/`input\.key`/) }));
    // A new key is a new memory: past maxNodes.
    expect(() => memory.upsert({ embedding: [1, 0], text: 'new', key: 'n' })).toThrow(expect.objectContaining({ code: 'RESOURCE_EXHAUSTION' }));
    expect(memory.size).toBe(2);
    // Taking another memory's key through upsert is not possible: the key names the memory.
    expect(() => memory.add({ embedding: [1, 0], text: 'dup', key: 'o' })).toThrow(expect.objectContaining({ code: 'DUPLICATE_KEY' }));
  });
});

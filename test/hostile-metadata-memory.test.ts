// The metadata index counts what it holds: `bytes` follows every add and remove, `bytesToAdd` says
// beforehand exactly what an add will cost (so the store can refuse with RESOURCE_EXHAUSTION before
// writing), and the estimate is not below the heap a real process measures.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MetadataIndex } from '../dist/internal.js';

const scalar = fc.oneof(fc.constantFrom('a', 'b', 'ccc', ''), fc.integer({ min: -3, max: 3 }), fc.boolean(), fc.constant(null));
const metadata = fc.dictionary(
  fc.constantFrom('kind', 'year', 'tags', 'user', 'x', 'y.z'),
  fc.oneof(scalar, fc.array(scalar, { maxLength: 4 }), fc.dictionary(fc.constantFrom('id', 'name'), scalar, { maxKeys: 2 })),
  { maxKeys: 5 },
);

describe('MetadataIndex - bytes', () => {
  it('bytesToAdd() is exactly what add() adds, and removing everything returns to the empty index', () => {
    fc.assert(fc.property(fc.array(metadata, { minLength: 1, maxLength: 30 }), fc.boolean(), (all, filtered) => {
      const index = new MetadataIndex(filtered ? ['kind', 'tags', 'user.id'] : undefined);
      const empty = index.bytes;
      all.forEach((m, id) => {
        const before = index.bytes;
        const cost = index.bytesToAdd(m);
        index.add(id, m);
        expect(index.bytes - before).toBe(cost);
      });
      // A range query builds the sorted lists, which are already counted: nothing changes.
      const built = index.bytes;
      index.match({ $or: [{ kind: { $gte: '' } }, { tags: { $gte: -10 } }] }, all.length);
      expect(index.bytes).toBe(built);
      all.forEach((m, id) => index.remove(id, m));
      expect(index.bytes).toBe(empty);
    }), { numRuns: 200, seed: 14 });
  });

  it('grows with distinct fields and values, not with repeats of known ones', () => {
    const index = new MetadataIndex(undefined);
    index.add(0, { kind: 'fact' });
    const repeat = index.bytesToAdd({ kind: 'fact' });
    const newValue = index.bytesToAdd({ kind: 'event' });
    const newField = index.bytesToAdd({ colour: 'fact' });
    expect(repeat).toBeGreaterThan(0);
    expect(newValue).toBeGreaterThan(repeat);
    expect(newField).toBeGreaterThan(newValue);
    // A duplicate in an array is indexed once and counted once.
    expect(index.bytesToAdd({ kind: ['fact', 'fact'] })).toBe(repeat);
  });

  it('counts only the paths it indexes', () => {
    const all = new MetadataIndex(undefined);
    const some = new MetadataIndex(['kind']);
    const m = { kind: 'fact', ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, i])) };
    all.add(0, m);
    some.add(0, m);
    expect(some.bytes).toBeLessThan(all.bytes / 50);
    expect(some.bytesToAdd(m)).toBe(some.bytesToAdd({ kind: 'fact' }));
  });

  it('a path no memory holds any more is dropped, so distinct fields that come and go do not pile up', () => {
    const index = new MetadataIndex(undefined);
    const empty = index.bytes;
    for (let id = 0; id < 1_000; id++) {
      const m = { [`session-${id}`]: id };
      index.add(id, m);
      index.remove(id, m);
    }
    expect(index.bytes).toBe(empty);   // the live-id bitset's 1,024 bits already held 1,000 ids
  });

  it('is not below the heap a real process measures (200 memories × 256 fields of their own)', () => {
    const script = fileURLToPath(new URL('./fixtures/metadata-heap.mjs', import.meta.url));
    const { estimate, heap, paths } = JSON.parse(execFileSync(process.execPath, ['--expose-gc', script], { encoding: 'utf8' })) as { estimate: number; heap: number; paths: number };
    expect(heap / paths).toBeGreaterThan(300);   // the measurement saw the index at all
    expect(estimate / heap).toBeGreaterThanOrEqual(1);
    expect(estimate / heap).toBeLessThan(2);
  });
});

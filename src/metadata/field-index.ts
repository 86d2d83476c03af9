// One metadata path's index (ids by value, ids holding the path, sorted values for ranges) and the
// estimate of the heap it holds. The byte constants were calibrated against
// `process.memoryUsage().heapUsed` after a forced GC (`bench/metadata-memory.mjs`, Node 20): over four
// shapes of metadata the estimate is 1.04–1.72 × the heap once range queries have built the sorted
// lists, 1.17–3.3 × before; it never counts less than the heap holds.
import { Bitset } from './bitset.js';
import type { FilterScalar } from './filter-parse.js';

/** A path's own tables: the FieldIndex, its two collections and its entry in the index's map (plus the path's characters). */
export const FIELD_BYTES = 400;
/** A distinct value of a path: its map entry, its id set and its key string (plus the value's characters). */
export const VALUE_BYTES = 170;
/** An id in a set: the hash table's share of an entry, with room for the table's doubling. */
export const ENTRY_BYTES = 24;
/** An id under a value, beyond its set entry: its [value, id] pair in the sorted lists that ranges use. */
export const SORTED_BYTES = 88;

/** A value as a map key, tagged by type so that 3 and "3" stay apart. */
export function valueKey(value: FilterScalar): string {
  return value === null ? 'z' : `${typeof value === 'number' ? 'n' : typeof value === 'string' ? 's' : 'b'}${String(value)}`;
}

function parseKey(key: string): FilterScalar {
  const body = key.slice(1);
  switch (key[0]) {
    case 'n': return Number(body);
    case 's': return body;
    case 'b': return body === 'true';
    default: return null;
  }
}

const isScalar = (value: unknown): value is FilterScalar =>
  value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';

/**
 * Every path of a metadata object (nested objects by dotted path) with the distinct scalars it holds:
 * its value, or each scalar element of an array (none for an empty array or an object, which are still
 * present, as MongoDB's $exists sees them). Walked with a stack of its own, not by recursion.
 */
export function* metadataFields(metadata: Record<string, unknown>): Generator<[path: string, values: FilterScalar[]]> {
  const stack: [Record<string, unknown>, string][] = [[metadata, '']];
  for (let top = stack.pop(); top; top = stack.pop()) {
    const [object, prefix] = top;
    for (const [key, value] of Object.entries(object)) {
      if (value === undefined) continue;
      const path = prefix + key;
      if (isScalar(value)) yield [path, [value]];
      else if (Array.isArray(value)) yield [path, [...new Set(value.filter(isScalar))]];
      else {
        yield [path, []];
        stack.push([value as Record<string, unknown>, `${path}.`]);
      }
    }
  }
}

/** What indexing one more id under these values adds to a field (`field` undefined: the field is new). */
export function costOfAdding(field: FieldIndex | undefined, path: string, values: readonly FilterScalar[]): number {
  let bytes = (field ? 0 : FIELD_BYTES + path.length) + ENTRY_BYTES;
  for (const value of values) {
    const key = valueKey(value);
    if (!field?.byValue.has(key)) bytes += VALUE_BYTES + key.length;
    bytes += ENTRY_BYTES + SORTED_BYTES;
  }
  return bytes;
}

export class FieldIndex {
  /** Ids whose metadata has this path, whatever its value (an object or an empty array included). */
  readonly present = new Set<number>();
  readonly byValue = new Map<string, Set<number>>();
  /** The estimate of what this field holds beyond its own tables (FIELD_BYTES, which the owner counts). */
  bytes = 0;
  #sorted: { numbers: [number, number][]; strings: [string, number][] } | undefined;

  /** Indexes one id under its (distinct) values. */
  add(id: number, values: readonly FilterScalar[]): void {
    this.present.add(id);
    this.bytes += ENTRY_BYTES;
    for (const value of values) {
      const key = valueKey(value);
      let ids = this.byValue.get(key);
      if (!ids) {
        this.byValue.set(key, (ids = new Set()));
        this.bytes += VALUE_BYTES + key.length;
      }
      ids.add(id);
      this.bytes += ENTRY_BYTES + SORTED_BYTES;
    }
    this.#sorted = undefined;
  }

  /** Removes what `add(id, values)` indexed. */
  remove(id: number, values: readonly FilterScalar[]): void {
    if (!this.present.delete(id)) return;
    this.bytes -= ENTRY_BYTES;
    for (const value of values) {
      const key = valueKey(value);
      const ids = this.byValue.get(key);
      if (!ids?.delete(id)) continue;
      this.bytes -= ENTRY_BYTES + SORTED_BYTES;
      if (ids.size === 0) {
        this.byValue.delete(key);
        this.bytes -= VALUE_BYTES + key.length;
      }
    }
    this.#sorted = undefined;
  }

  equal(value: FilterScalar, bits: number): Bitset {
    return Bitset.of(bits, this.byValue.get(valueKey(value)) ?? []);
  }

  /** Ids holding a value of the bound's type within the bound. */
  range(op: '$gt' | '$gte' | '$lt' | '$lte', bound: number | string, bits: number): Bitset {
    const sorted = this.#sortedValues();
    const list: [number | string, number][] = typeof bound === 'number' ? sorted.numbers : sorted.strings;
    const out = new Bitset(bits);
    const lowerInclusive = op === '$gte', upperInclusive = op === '$lte';
    // Binary search for the first entry at or past the bound, then walk the side the operator wants.
    let lo = 0, hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]![0] < bound) lo = mid + 1;
      else hi = mid;
    }
    if (op === '$gt' || op === '$gte') {
      for (let i = lo; i < list.length; i++) if (lowerInclusive || list[i]![0] !== bound) out.set(list[i]![1]);
    } else {
      for (let i = 0; i < list.length; i++) {
        const v = list[i]![0];
        if (v > bound || (!upperInclusive && v === bound)) break;
        out.set(list[i]![1]);
      }
    }
    return out;
  }

  #sortedValues() {
    if (!this.#sorted) {
      const numbers: [number, number][] = [], strings: [string, number][] = [];
      for (const [key, ids] of this.byValue) {
        const value = parseKey(key);
        for (const id of ids) {
          if (typeof value === 'number') numbers.push([value, id]);
          else if (typeof value === 'string') strings.push([value, id]);
        }
      }
      numbers.sort((a, b) => a[0] - b[0]);
      strings.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      this.#sorted = { numbers, strings };
    }
    return this.#sorted;
  }
}

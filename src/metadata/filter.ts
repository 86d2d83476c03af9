// Per-field indexes of metadata, and the filter language evaluated over them into a bitset of ids.
//
// The language (Mongo's semantics): `{ field: value }` is equality; a field holds operators
// `$eq $ne $in $nin $gt $gte $lt $lte $exists $not`; `$and`, `$or`, `$not` combine filters; several
// keys in one object must all hold; paths are dotted ("user.id"). An array field matches when any
// element does; a missing field matches `$ne`, `$nin` and `{ field: null }`; a field holding an
// object or an empty array exists but equals no scalar; values of different types never compare
// (3 is not "3", and `$gt: 2` never matches a string).
import { InvalidDataError } from '../resilience/errors.js';
import { describe } from '../resilience/validation.js';
import { Bitset } from './bitset.js';

export type Filter = Record<string, unknown>;
type Scalar = string | number | boolean | null;

const FIELD_OPERATORS = new Set(['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists', '$not']);

/** One indexed field: ids by value, ids that have it, and (built on demand) sorted values for ranges. */
class FieldIndex {
  /** Ids whose metadata has this path, whatever its value (an object or an empty array included). */
  readonly present = new Set<number>();
  readonly byValue = new Map<string, Set<number>>();
  #sorted: { numbers: [number, number][]; strings: [string, number][] } | undefined;

  add(id: number, value: Scalar): void {
    const key = valueKey(value);
    let ids = this.byValue.get(key);
    if (!ids) this.byValue.set(key, (ids = new Set()));
    ids.add(id);
    this.#sorted = undefined;
  }

  remove(id: number, value: Scalar): void {
    const key = valueKey(value);
    const ids = this.byValue.get(key);
    ids?.delete(id);
    if (ids?.size === 0) this.byValue.delete(key);
    this.#sorted = undefined;
  }

  equal(value: Scalar, bits: number): Bitset {
    return Bitset.of(bits, this.byValue.get(valueKey(value)) ?? []);
  }

  /** Ids holding a value of the bound's type within the bound. */
  range(op: string, bound: number | string, bits: number): Bitset {
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

function valueKey(value: Scalar): string {
  return value === null ? 'z' : `${typeof value === 'number' ? 'n' : typeof value === 'string' ? 's' : 'b'}${String(value)}`;
}

function parseKey(key: string): Scalar {
  const body = key.slice(1);
  switch (key[0]) {
    case 'n': return Number(body);
    case 's': return body;
    case 'b': return body === 'true';
    default: return null;
  }
}

function isScalar(value: unknown): value is Scalar {
  return value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
}

/**
 * Every path of a metadata object (nested objects by dotted path) with the scalars it holds: its
 * value, or each scalar element of an array (none for an empty array or an object, which are still
 * present, as MongoDB's $exists sees them).
 */
function* fields(metadata: Record<string, unknown>, prefix = ''): Generator<[string, Scalar[]]> {
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined) continue;
    const path = prefix + key;
    if (isScalar(value)) yield [path, [value]];
    else if (Array.isArray(value)) yield [path, value.filter(isScalar)];
    else {
      yield [path, []];
      yield* fields(value as Record<string, unknown>, `${path}.`);
    }
  }
}

export class MetadataIndex {
  readonly #fields = new Map<string, FieldIndex>();
  readonly #live = new Bitset(1024);

  /** `indexed`: the only paths to index; undefined indexes every scalar (or array-of-scalars) field. */
  constructor(private readonly indexed: readonly string[] | undefined) {}

  add(id: number, metadata: Record<string, unknown>): void {
    this.#live.set(id);
    for (const [path, values] of fields(metadata)) {
      const field = this.#field(path, true);
      if (!field) continue;
      field.present.add(id);
      for (const value of values) field.add(id, value);
    }
  }

  remove(id: number, metadata: Record<string, unknown>): void {
    this.#live.clear(id);
    for (const [path, values] of fields(metadata)) {
      const field = this.#field(path, false);
      if (!field) continue;
      field.present.delete(id);
      for (const value of values) field.remove(id, value);
    }
  }

  /** The live ids that match a filter, as a bitset of `bits` bits (validated first: throws InvalidDataError naming the path). */
  match(filter: unknown, bits: number): Bitset {
    const result = this.#evaluate(filter, 'filter', bits);
    const live = new Bitset(bits);
    live.words.set(this.#live.words.subarray(0, live.words.length));
    return result.and(live);
  }

  #field(path: string, create: boolean): FieldIndex | undefined {
    if (this.indexed && !this.indexed.includes(path)) return undefined;
    let field = this.#fields.get(path);
    if (!field && create) this.#fields.set(path, (field = new FieldIndex()));
    return field;
  }

  #evaluate(filter: unknown, at: string, bits: number): Bitset {
    if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) throw bad(at, 'a filter object', filter);
    const result = new Bitset(bits, true);
    for (const [key, value] of Object.entries(filter)) {
      const path = `${at}.${key}`;
      if (key === '$and' || key === '$or') {
        if (!Array.isArray(value) || value.length === 0) throw bad(path, 'a non-empty array of filters', value);
        const parts = value.map((f, i) => this.#evaluate(f, `${path}[${i}]`, bits));
        result.and(key === '$and' ? parts.reduce((a, b) => a.and(b)) : parts.reduce((a, b) => a.or(b)));
      } else if (key === '$not') {
        result.and(this.#evaluate(value, path, bits).not());
      } else if (key.startsWith('$')) {
        throw bad(path, 'a field name or one of $and, $or, $not', key);
      } else {
        result.and(this.#condition(key, value, path, bits));
      }
    }
    return result;
  }

  /** One field's condition: a value (equality) or an object of operators, all of which must hold. */
  #condition(field: string, condition: unknown, path: string, bits: number): Bitset {
    if (this.indexed && !this.indexed.includes(field)) {
      throw new InvalidDataError(`\`${path}\` filters on "${field}", which is not indexed (indexed: ${this.indexed.join(', ') || 'none'})`, {
        details: { field: path },
      });
    }
    const index = this.#fields.get(field);
    const operators = condition !== null && typeof condition === 'object' && !Array.isArray(condition) ? Object.entries(condition) : undefined;
    if (!operators) return this.#equal(index, checkScalar(condition, path), bits);
    if (operators.length === 0 || !operators.every(([op]) => op.startsWith('$'))) {
      throw bad(path, 'a value or an object of operators ($eq, $ne, $in, $nin, $gt, $gte, $lt, $lte, $exists, $not)', condition);
    }
    const result = new Bitset(bits, true);
    for (const [op, operand] of operators) {
      const at = `${path}.${op}`;
      if (!FIELD_OPERATORS.has(op)) throw bad(at, 'a known operator', op);
      switch (op) {
        case '$eq': result.and(this.#equal(index, checkScalar(operand, at), bits)); break;
        case '$ne': result.and(this.#equal(index, checkScalar(operand, at), bits).not()); break;
        case '$in': case '$nin': {
          if (!Array.isArray(operand)) throw bad(at, 'an array of values', operand);
          const any = new Bitset(bits);
          operand.forEach((v, i) => any.or(this.#equal(index, checkScalar(v, `${at}[${i}]`), bits)));
          result.and(op === '$in' ? any : any.not());
          break;
        }
        case '$exists':
          if (typeof operand !== 'boolean') throw bad(at, 'true or false', operand);
          result.and(operand ? present(index, bits) : present(index, bits).not());
          break;
        case '$not':
          result.and(this.#condition(field, checkOperators(operand, at), at, bits).not());
          break;
        default:
          if (typeof operand !== 'number' && typeof operand !== 'string') throw bad(at, 'a number or a string', operand);
          if (typeof operand === 'number' && !Number.isFinite(operand)) throw bad(at, 'a finite number', operand);
          result.and(index ? index.range(op, operand, bits) : new Bitset(bits));
      }
    }
    return result;
  }

  /** Equality; `null` also matches a missing field, as in Mongo. */
  #equal(index: FieldIndex | undefined, value: Scalar, bits: number): Bitset {
    const found = index ? index.equal(value, bits) : new Bitset(bits);
    return value === null ? found.or(present(index, bits).not()) : found;
  }
}

function present(index: FieldIndex | undefined, bits: number): Bitset {
  return Bitset.of(bits, index?.present ?? []);
}

function checkScalar(value: unknown, at: string): Scalar {
  if (!isScalar(value) || (typeof value === 'number' && !Number.isFinite(value))) throw bad(at, 'a string, a finite number, a boolean or null', value);
  return value;
}

function checkOperators(value: unknown, at: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw bad(at, 'an object of operators', value);
  return value as Record<string, unknown>;
}

function bad(path: string, expected: string, value: unknown): InvalidDataError {
  return new InvalidDataError(`Expected \`${path}\` to be ${expected}, got ${describe(value)}`, { details: { field: path } });
}

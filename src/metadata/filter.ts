// The filter language and the metadata index it is evaluated over, into a bitset of ids.
//
// The language (Mongo's semantics): `{ field: value }` is equality; a field holds operators
// `$eq $ne $in $nin $gt $gte $lt $lte $exists $not`; `$and`, `$or`, `$not` combine filters; several
// keys in one object must all hold; paths are dotted ("user.id"). An array field matches when any
// element does; a missing field matches `$ne`, `$nin` and `{ field: null }`; a field holding an
// object or an empty array exists but equals no scalar; values of different types never compare
// (3 is not "3", and `$gt: 2` never matches a string). Filters and metadata nest at most MAX_DEPTH
// levels; metadata holds at most MAX_METADATA_FIELDS fields (both checked by validation).
import { InvalidDataError } from '../resilience/errors.js';
import { Bitset } from './bitset.js';
import { costOfAdding, FIELD_BYTES, FieldIndex, metadataFields } from './field-index.js';
import { type FilterNode, type FilterScalar, parseFilter } from './filter-parse.js';

export type { FilterScalar };


/** The operators on one field; all of those given must hold. */
export interface FieldOperators {
  $eq?: FilterScalar;
  $ne?: FilterScalar;
  $gt?: number | string;
  $gte?: number | string;
  $lt?: number | string;
  $lte?: number | string;
  $in?: readonly FilterScalar[];
  $nin?: readonly FilterScalar[];
  $exists?: boolean;
  $not?: FieldOperators;
}

/** A field's condition: a value (equality) or an object of operators. */
export type FieldCondition = FilterScalar | FieldOperators;

/**
 * A metadata filter: dotted paths to conditions, and `$and`, `$or`, `$not` over filters.
 * `{ kind: 'fact', year: { $gte: 2020 }, $or: [{ 'user.id': 'u1' }, { shared: true }] }`.
 * An unknown operator on a field, a wrong operand or a top-level `$` key holding a value is a type
 * error. TypeScript has no "string but not these" type, so two mistakes only the check at run time
 * refuses: a filter in a field's place (`{ a: { b: 1 } }`) and an unknown combinator holding filters
 * (`{ $xor: [...] }`).
 */
export type Filter = {
  [path: string]: FieldCondition | readonly Filter[] | Filter | undefined;
  [combinator: `$${string}`]: readonly Filter[] | Filter | undefined;
  $and?: readonly Filter[];
  $or?: readonly Filter[];
  $not?: Filter;
};

export class MetadataIndex {
  readonly #fields = new Map<string, FieldIndex>();
  readonly #live = new Bitset(1024);
  readonly #indexed: ReadonlySet<string> | undefined;
  /** The estimate of the fields' tables, kept as they change (the live-id bitset is added on read). */
  #fieldBytes = 0;

  /** `indexed`: the only paths to index; undefined indexes every scalar (or array-of-scalars) field. */
  constructor(private readonly indexed: readonly string[] | undefined) {
    this.#indexed = indexed && new Set(indexed);
  }

  /** An estimate of the heap the index holds, in bytes (calibrated against V8; see field-index.ts). */
  get bytes(): number {
    return this.#fieldBytes + this.#live.words.byteLength;
  }

  /** What `add(id, metadata)` would add to `bytes`, for a limit checked before the write. */
  bytesToAdd(metadata: Record<string, unknown>): number {
    let bytes = 0;
    for (const [path, values] of metadataFields(metadata)) {
      if (this.#isIndexed(path)) bytes += costOfAdding(this.#fields.get(path), path, values);
    }
    return bytes;
  }

  add(id: number, metadata: Record<string, unknown>): void {
    this.#live.set(id);
    for (const [path, values] of metadataFields(metadata)) {
      if (!this.#isIndexed(path)) continue;
      let field = this.#fields.get(path);
      if (!field) {
        this.#fields.set(path, (field = new FieldIndex()));
        this.#fieldBytes += FIELD_BYTES + path.length;
      }
      this.#fieldBytes -= field.bytes;
      field.add(id, values);
      this.#fieldBytes += field.bytes;
    }
  }

  remove(id: number, metadata: Record<string, unknown>): void {
    this.#live.clear(id);
    for (const [path, values] of metadataFields(metadata)) {
      const field = this.#fields.get(path);
      if (!field) continue;
      this.#fieldBytes -= field.bytes;
      field.remove(id, values);
      this.#fieldBytes += field.bytes;
      // A path no memory holds any more goes, so distinct paths that come and go do not pile up.
      if (field.present.size === 0) {
        this.#fields.delete(path);
        this.#fieldBytes -= FIELD_BYTES + path.length;
      }
    }
  }

  /** The live ids that match a filter, as a bitset of `bits` bits (checked first: throws InvalidDataError naming the path). */
  match(filter: unknown, bits: number): Bitset {
    const tree = parseFilter(filter);
    this.#checkIndexed(tree);
    const live = new Bitset(bits);
    live.words.set(this.#live.words.subarray(0, live.words.length));
    return this.#evaluate(tree, bits).and(live);
  }

  #isIndexed(path: string): boolean {
    return this.#indexed === undefined || this.#indexed.has(path);
  }

  /** With `indexed`, a condition on another path is refused (it would silently match nothing). */
  #checkIndexed(node: FilterNode): void {
    if (this.#indexed === undefined) return;
    if (node.kind === 'and' || node.kind === 'or') node.parts.forEach((part) => this.#checkIndexed(part));
    else if (node.kind === 'not') this.#checkIndexed(node.part);
    else if (!this.#indexed.has(node.field)) {
      const at = node.at.replace(/\.\$[a-z]+$/, '');
      throw new InvalidDataError(`\`${at}\` filters on "${node.field}", which is not indexed (indexed: ${this.indexed!.join(', ') || 'none'})`, {
        details: { field: at },
      });
    }
  }

  /** The tree's matches over every id below `bits`; `$and` and `$or` fold as they go, holding one bitset per level. */
  #evaluate(node: FilterNode, bits: number): Bitset {
    switch (node.kind) {
      case 'and': case 'or': {
        const result = node.kind === 'and' ? new Bitset(bits, true) : new Bitset(bits);
        for (const part of node.parts) {
          if (node.kind === 'and') result.and(this.#evaluate(part, bits));
          else result.or(this.#evaluate(part, bits));
        }
        return result;
      }
      case 'not': return this.#evaluate(node.part, bits).not();
      case 'equal': return this.#equal(node.field, node.value, bits);
      case 'in': {
        const any = new Bitset(bits);
        for (const value of node.values) any.or(this.#equal(node.field, value, bits));
        return any;
      }
      case 'exists': return Bitset.of(bits, this.#fields.get(node.field)?.present ?? []);
      case 'range': return this.#fields.get(node.field)?.range(node.op, node.bound, bits) ?? new Bitset(bits);
    }
  }

  /** Equality; `null` also matches a missing field, as in Mongo. */
  #equal(path: string, value: FilterScalar, bits: number): Bitset {
    const field = this.#fields.get(path);
    const found = field ? field.equal(value, bits) : new Bitset(bits);
    return value === null ? found.or(Bitset.of(bits, field?.present ?? []).not()) : found;
  }
}

// A LangGraph store filter — `{ field: value }` or `{ field: { $eq | $ne | $gt | $gte | $lt | $lte |
// $in | $nin: operand } }` over an item's value — as the library's filter over the memory's
// metadata, where the value lives under `value`; and the same filter evaluated on one value, for
// the listings that have no query to scan with. Both follow the library's filter language (an array
// field matches when any element does; values of different types never compare), so a search with
// a query and one without agree on which items match.
import type { Filter } from 'ov-memory';

import { invalid } from '../embedders/checks.js';

const OPERATORS = ['$eq', '$ne', '$gt', '$gte', '$lt', '$lte', '$in', '$nin'] as const;
type Operator = (typeof OPERATORS)[number];
type Scalar = string | number | boolean | null;

/** A checked filter: each field's conditions. */
export type ValueFilter = [field: string, conditions: [Operator, unknown][]][];

function isScalar(v: unknown): v is Scalar {
  return v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Checks a LangGraph filter; INVALID_DATA names the field and operator at fault. */
export function checkValueFilter(filter: unknown, name: string): ValueFilter {
  if (filter === undefined) return [];
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) throw invalid(name, 'an object of field conditions', filter);
  return Object.entries(filter).map(([field, condition]) => {
    const at = `${name}.${field}`;
    if (isScalar(condition)) return [field, [['$eq', condition]]];
    if (condition === undefined || typeof condition !== 'object' || Array.isArray(condition) || Object.keys(condition).length === 0) {
      throw invalid(at, `a value or an object of operators (${OPERATORS.join(', ')})`, condition);
    }
    return [field, Object.entries(condition).map(([op, operand]): [Operator, unknown] => {
      if (!(OPERATORS as readonly string[]).includes(op)) throw invalid(`${at}.${op}`, `one of the operators ${OPERATORS.join(', ')}`, op);
      const list = op === '$in' || op === '$nin';
      if (list ? !Array.isArray(operand) || !operand.every(isScalar) : !isScalar(operand)) {
        throw invalid(`${at}.${op}`, list ? 'an array of scalars' : 'a scalar', operand);
      }
      return [op as Operator, operand];
    })];
  });
}

/** The library's filter over metadata `{ value }` that keeps the same items. */
export function metadataFilter(filter: ValueFilter): Filter[] {
  return filter.map(([field, conditions]) => ({ [`value.${field}`]: Object.fromEntries(conditions) }) as Filter);
}

/** Whether `value` (an item's value) passes `filter`. */
export function matches(value: Record<string, unknown>, filter: ValueFilter): boolean {
  return filter.every(([field, conditions]) => {
    const found = at(value, field);
    const values = Array.isArray(found) ? found.filter(isScalar) : isScalar(found) ? [found] : [];
    const equal = (x: unknown) => (found === undefined ? x === null : values.some((v) => v === x));
    return conditions.every(([op, operand]) => {
      switch (op) {
        case '$eq': return equal(operand);
        case '$ne': return !equal(operand);
        case '$in': return (operand as Scalar[]).some(equal);
        case '$nin': return !(operand as Scalar[]).some(equal);
        default: return values.some((v) => compares(v, op, operand as Scalar));
      }
    });
  });
}

function compares(v: Scalar, op: '$gt' | '$gte' | '$lt' | '$lte', bound: Scalar): boolean {
  if (!((typeof v === 'number' && typeof bound === 'number') || (typeof v === 'string' && typeof bound === 'string'))) return false;
  if (op === '$gt') return v > bound;
  if (op === '$gte') return v >= bound;
  if (op === '$lt') return v < bound;
  return v <= bound;
}

/** The value at a dotted path, as the library's filter reads metadata. */
function at(value: unknown, path: string): unknown {
  let current = value;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

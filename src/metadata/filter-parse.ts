// A filter as the caller wrote it, checked and turned into a tree the index evaluates. Every rule of
// the language is checked here, so anything thrown while reading the caller's filter is INVALID_DATA
// naming the path and operator at fault (`filter.tags.$in`); the tree is plain data the index trusts.
import { InvalidDataError } from '../resilience/errors.js';
import { invalid as bad, MAX_DEPTH, tooDeep, unreadable } from '../resilience/validation.js';

/** A value a filter compares with: JSON's scalars. */
export type FilterScalar = string | number | boolean | null;

export type RangeOperator = '$gt' | '$gte' | '$lt' | '$lte';

/** A checked filter: `field` is the metadata path, `at` where the condition was written (for messages). */
export type FilterNode =
  | { kind: 'and'; parts: FilterNode[] }
  | { kind: 'or'; parts: FilterNode[] }
  | { kind: 'not'; part: FilterNode }
  | { kind: 'equal'; field: string; at: string; value: FilterScalar }
  | { kind: 'in'; field: string; at: string; values: FilterScalar[] }
  | { kind: 'exists'; field: string; at: string }
  | { kind: 'range'; field: string; at: string; op: RangeOperator; bound: number | string };

/** Where the walk is, for a message when reading the caller's object throws. */
interface Reading { root: string; at: string }

const FIELD_OPERATORS = ['$eq', '$ne', '$in', '$nin', '$gt', '$gte', '$lt', '$lte', '$exists', '$not'];
const RANGE_OPERATORS: readonly string[] = ['$gt', '$gte', '$lt', '$lte'];

/** Checks a caller's filter (at most MAX_DEPTH levels deep) and returns its tree; throws InvalidDataError naming the path. */
export function parseFilter(filter: unknown, name = 'filter'): FilterNode {
  const reading = { root: name, at: name };
  try {
    return parseObject(filter, name, 1, reading);
  } catch (error) {
    throw error instanceof InvalidDataError ? error : unreadable(reading.at, error);
  }
}

/** `depth` is the nesting level of `filter` itself, counted in objects and arrays from the top. */
function parseObject(filter: unknown, at: string, depth: number, reading: Reading): FilterNode {
  reading.at = at;
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) throw bad(at, 'a filter object', filter);
  if (depth > MAX_DEPTH) throw tooDeep(reading.root, at);
  const parts: FilterNode[] = [];
  for (const key of Object.keys(filter)) {
    const path = `${at}.${key}`;
    reading.at = path;
    const value: unknown = (filter as Record<string, unknown>)[key];
    if (key === '$and' || key === '$or') {
      if (!Array.isArray(value) || value.length === 0) throw bad(path, 'a non-empty array of filters', value);
      if (depth + 1 > MAX_DEPTH) throw tooDeep(reading.root, path);
      parts.push({ kind: key === '$and' ? 'and' as const : 'or' as const, parts: value.map((f, i) => parseObject(f, `${path}[${i}]`, depth + 2, reading)) });
    } else if (key === '$not') {
      parts.push({ kind: 'not', part: parseObject(value, path, depth + 1, reading) });
    } else if (key.startsWith('$')) {
      throw bad(path, 'a field name or one of $and, $or, $not', key);
    } else {
      parts.push(parseCondition(key, value, path, depth + 1, reading));
    }
  }
  return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
}

/** One field's condition: a value (equality) or an object of operators, all of which must hold. */
function parseCondition(field: string, condition: unknown, at: string, depth: number, reading: Reading): FilterNode {
  if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) {
    return { kind: 'equal', field, at, value: checkScalar(condition, at) };
  }
  if (depth > MAX_DEPTH) throw tooDeep(reading.root, at);
  reading.at = at;
  const operators = Object.entries(condition);
  if (operators.length === 0 || !operators.every(([op]) => op.startsWith('$'))) {
    throw bad(at, `a value or an object of operators (${FIELD_OPERATORS.join(', ')})`, condition);
  }
  const parts = operators.map(([op, operand]): FilterNode => {
    const path = `${at}.${op}`;
    reading.at = path;
    switch (op) {
      case '$eq': return { kind: 'equal', field, at: path, value: checkScalar(operand, path) };
      case '$ne': return { kind: 'not', part: { kind: 'equal', field, at: path, value: checkScalar(operand, path) } };
      case '$in': case '$nin': {
        if (!Array.isArray(operand)) throw bad(path, 'an array of values', operand);
        const values = operand.map((v, i) => checkScalar(v, `${path}[${i}]`));
        const node: FilterNode = { kind: 'in', field, at: path, values };
        return op === '$in' ? node : { kind: 'not', part: node };
      }
      case '$exists': {
        if (typeof operand !== 'boolean') throw bad(path, 'true or false', operand);
        const node: FilterNode = { kind: 'exists', field, at: path };
        return operand ? node : { kind: 'not', part: node };
      }
      case '$not':
        if (operand === null || typeof operand !== 'object' || Array.isArray(operand)) throw bad(path, 'an object of operators', operand);
        return { kind: 'not', part: parseCondition(field, operand, path, depth + 1, reading) };
      default: {
        if (!RANGE_OPERATORS.includes(op)) throw bad(path, `one of the operators ${FIELD_OPERATORS.join(', ')}`, op);
        if (typeof operand !== 'number' && typeof operand !== 'string') throw bad(path, 'a number or a string', operand);
        if (typeof operand === 'number' && !Number.isFinite(operand)) throw bad(path, 'a finite number', operand);
        return { kind: 'range', field, at: path, op: op as RangeOperator, bound: operand };
      }
    }
  });
  return parts.length === 1 ? parts[0]! : { kind: 'and', parts };
}

function checkScalar(value: unknown, at: string): FilterScalar {
  const scalar = value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
  if (!scalar) throw bad(at, 'a string, a finite number, a boolean or null', value);
  return value as FilterScalar;
}

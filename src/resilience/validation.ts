// Validation at the boundary: every check names the thing, what was expected and what came in
// ("Expected `topK` to be a positive integer, got -3 (number)"). A rejected call changes nothing,
// because every check runs before any write.
import { ErrorCode, InvalidDataError } from './errors.js';

export type Vector = Float32Array | Float64Array | readonly number[];

/** A short, safe rendering of a bad value for an error message (never throws, never walks deep). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} (object)`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} (object)`;
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
  if (typeof value === 'object') return `${describeObject(value)} (object)`;
  if (typeof value === 'function') return 'a function';
  return `${String(value)} (${typeof value})`;
}

/** `{ a, b, … }` for a plain object (its first keys), `a Map` for an instance of a class. */
function describeObject(value: object): string {
  try {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name: unknown = proto?.constructor?.name;
      return typeof name === 'string' && name !== '' ? `a ${name}` : 'an object';
    }
    const keys = Object.keys(value);
    if (keys.length === 0) return 'an empty object';
    const shown = keys.slice(0, 3).map((k) => (/^[\w$.-]{1,24}$/.test(k) ? k : JSON.stringify(k.length > 24 ? `${k.slice(0, 24)}…` : k)));
    return `{ ${shown.join(', ')}${keys.length > 3 ? ', …' : ''} }`;
  } catch {
    return 'an object';   // a proxy that refuses to be looked at
  }
}

/** A path for a message: a long one (deep nesting, huge keys) keeps its start and its end. */
export function shortPath(path: string): string {
  return path.length <= 120 ? path : `${path.slice(0, 58)}…${path.slice(-58)}`;
}

export function invalid(name: string, expected: string, value: unknown, details?: Record<string, unknown>): InvalidDataError {
  const field = shortPath(name);
  return new InvalidDataError(`Expected \`${field}\` to be ${expected}, got ${describe(value)}`, { details: { field, ...details } });
}

function isVectorLike(value: unknown): value is Vector {
  return value instanceof Float32Array || value instanceof Float64Array || Array.isArray(value);
}

export interface UnitVector {
  unit: Float32Array;
  /** The length of the vector as given. */
  norm: number;
  /** Whether some value lay outside [−1, 1] (allowed, but usually a sign of unnormalised input). */
  outOfRange: boolean;
}

/** Checks a vector's type, length and values, and returns it scaled to unit length (computed in float64). */
export function toUnitVector(value: unknown, dim: number, name = 'embedding'): UnitVector {
  if (!isVectorLike(value)) return throwIt(invalid(name, 'a Float32Array, Float64Array or number[]', value));
  if (value.length !== dim) {
    throw new InvalidDataError(`\`${name}\` has ${value.length} values, expected ${dim}`, {
      details: { field: name, length: value.length, dim },
    });
  }
  let sum = 0;
  let outOfRange = false;
  for (let i = 0; i < dim; i++) {
    const x = value[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) {
      throw new InvalidDataError(`\`${name}\`[${i}] is ${describe(x)}, expected a finite number`, { details: { field: name, index: i } });
    }
    if (x > 1 || x < -1) outOfRange = true;
    sum += x * x;
  }
  const norm = Math.sqrt(sum);
  if (!(norm > 0) || !Number.isFinite(norm)) {
    throw new InvalidDataError(`\`${name}\` has length ${norm}, expected a non-zero finite length (a zero vector has no direction)`, {
      details: { field: name },
    });
  }
  const unit = new Float32Array(dim);
  for (let i = 0; i < dim; i++) unit[i] = value[i]! / norm;
  return { unit, norm, outOfRange };
}

function throwIt(error: Error): never {
  throw error;
}

export function checkText(value: unknown, maxLength: number, name = 'text'): string {
  if (typeof value !== 'string') throw invalid(name, 'a string', value);
  if (value.length === 0 || value.trim().length === 0) throw invalid(name, 'a non-empty string with some non-white-space character', value);
  if (value.length > maxLength) {
    throw new InvalidDataError(`\`${name}\` has ${value.length} characters, the limit is ${maxLength} (maxTextLength)`, {
      details: { field: name, length: value.length, limit: maxLength },
    });
  }
  return value;
}

export function checkPositiveNumber(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw invalid(name, 'a finite number > 0', value);
  return value;
}

export function checkPositiveInteger(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(name, 'a positive integer', value);
  if (value > max) throw invalid(name, `a positive integer of at most ${max}`, value);
  return value;
}

export function checkNonNegativeInteger(value: unknown, name: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > max) {
    throw invalid(name, `an integer in [0, ${max}]`, value);
  }
  return value;
}

export function checkUnitInterval(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) throw invalid(name, 'a number in [0, 1]', value);
  return value;
}

export function checkBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalid(name, 'true or false', value);
  return value;
}

export function checkFinite(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw invalid(name, 'a finite number', value);
  return value;
}

export function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], name: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw invalid(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  }
  return value as T;
}

export function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(name, 'an object', value);
  return value as Record<string, unknown>;
}

export function checkKey(value: unknown, name = 'key'): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) throw invalid(name, 'a string of 1 to 1024 characters', value);
  return value;
}

export function duplicateKey(key: string): InvalidDataError {
  return new InvalidDataError(`the key ${JSON.stringify(key)} is already used in this store`, {
    code: ErrorCode.DUPLICATE_KEY,
    details: { key },
  });
}

/**
 * How deep metadata and filters may nest, in levels of objects and arrays (`{ a: { b: 1 } }` is 2).
 * The JSON-size limit does not bound it (64 KiB of `[` is 65,536 levels): without this a deep value
 * would overflow the stack of every recursive walk after validation.
 */
export const MAX_DEPTH = 32;

/**
 * The most fields one memory's metadata may hold, nested ones counted by dotted path (what the
 * metadata index keeps a table for): a distinct field costs the index about 600 bytes of heap, so
 * 4,000 of them in 64 KiB of JSON would cost 40 times their size.
 */
export const MAX_METADATA_FIELDS = 256;

export function tooDeep(name: string, at: string): InvalidDataError {
  return new InvalidDataError(`\`${shortPath(name)}\` nests deeper than ${MAX_DEPTH} levels of objects and arrays (at \`${shortPath(at)}\`), the limit is ${MAX_DEPTH}`, {
    details: { field: shortPath(at), limit: MAX_DEPTH },
  });
}

/** What a caller's value threw while it was being read (a getter, a proxy): its input, so INVALID_DATA. */
export function unreadable(at: string, cause: unknown): InvalidDataError {
  const field = shortPath(at);
  return new InvalidDataError(`\`${field}\` could not be read: ${String((cause as Error)?.message ?? cause)}`, { details: { field }, cause });
}

/**
 * Checks that metadata is a plain JSON object (no cycles, BigInt, functions, symbols or non-finite
 * numbers) of at most MAX_DEPTH levels, MAX_METADATA_FIELDS fields and `maxBytes` as JSON, and
 * returns a deep copy the store can own.
 */
export function checkMetadata(value: unknown, maxBytes: number, name = 'metadata'): { metadata: Record<string, unknown>; bytes: number } {
  checkObject(value, name);
  const seen = new Set<object>();
  let fields = 0;
  let at = name;
  // Recursion is safe: the depth is checked before each step down.
  const walk = (v: unknown, path: string, depth: number, inArray: boolean): void => {
    at = path;
    switch (typeof v) {
      case 'string': case 'boolean': case 'undefined': return;
      case 'number':
        if (!Number.isFinite(v)) throw invalid(path, 'a finite number (JSON has no NaN or Infinity)', v);
        return;
      case 'object': {
        if (v === null) return;
        if (seen.has(v)) throw invalid(path, 'JSON-serialisable data without cycles', v);
        const isArray = Array.isArray(v);
        const proto = Object.getPrototypeOf(v);
        if (!isArray && proto !== Object.prototype && proto !== null) throw invalid(path, 'a plain object, an array or a JSON value', v);
        if (depth > MAX_DEPTH) throw tooDeep(name, path);
        seen.add(v);
        for (const k of Object.keys(v)) {
          at = `${path}.${k}`;
          const child: unknown = (v as Record<string, unknown>)[k];
          // The index sees dotted paths through objects, not into arrays.
          if (!isArray && !inArray && child !== undefined && ++fields > MAX_METADATA_FIELDS) {
            throw new InvalidDataError(`\`${shortPath(name)}\` has more than ${MAX_METADATA_FIELDS} fields (nested ones counted by dotted path), the limit is ${MAX_METADATA_FIELDS}`, {
              details: { field: shortPath(name), limit: MAX_METADATA_FIELDS },
            });
          }
          walk(child, `${path}.${k}`, depth + 1, inArray || isArray);
        }
        seen.delete(v);
        return;
      }
      default:
        throw invalid(path, 'a JSON value (no BigInt, function or symbol)', v);
    }
  };
  try {
    walk(value, name, 1, false);
  } catch (error) {
    throw error instanceof InvalidDataError ? error : unreadable(at, error);
  }
  const json = JSON.stringify(value);
  const bytes = new TextEncoder().encode(json).length;
  if (bytes > maxBytes) {
    throw new InvalidDataError(`\`${name}\` is ${bytes} bytes as JSON, the limit is ${maxBytes}`, { details: { field: name, bytes, limit: maxBytes } });
  }
  return { metadata: JSON.parse(json) as Record<string, unknown>, bytes };
}

/** Option keys the callee does not know: returned so the caller can warn (a typo is not an error). */
export function unknownKeys(value: object, known: readonly string[]): string[] {
  return Object.keys(value).filter((k) => !known.includes(k));
}

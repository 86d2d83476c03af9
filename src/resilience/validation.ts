// Validation at the boundary: every check names the thing, what was expected and what came in
// ("Expected `topK` to be a positive integer, got -3 (number)"). A rejected call changes nothing,
// because every check runs before any write.
import { ErrorCode, InvalidDataError } from './errors.js';

export type Vector = Float32Array | Float64Array | readonly number[];

/** A short, safe rendering of a bad value for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} (object)`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} (object)`;
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
  if (typeof value === 'object') return `${Object.prototype.toString.call(value)} (object)`;
  if (typeof value === 'function') return 'a function';
  return `${String(value)} (${typeof value})`;
}

export function invalid(name: string, expected: string, value: unknown, details?: Record<string, unknown>): InvalidDataError {
  return new InvalidDataError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`, { details: { field: name, ...details } });
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
 * Checks that metadata is a plain JSON object (no cycles, BigInt, functions, symbols or non-finite
 * numbers) under `maxBytes` as JSON, and returns a deep copy the store can own.
 */
export function checkMetadata(value: unknown, maxBytes: number, name = 'metadata'): { metadata: Record<string, unknown>; bytes: number } {
  checkObject(value, name);
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): void => {
    switch (typeof v) {
      case 'string': case 'boolean': case 'undefined': return;
      case 'number':
        if (!Number.isFinite(v)) throw invalid(path, 'a finite number (JSON has no NaN or Infinity)', v);
        return;
      case 'object': {
        if (v === null) return;
        if (seen.has(v)) throw invalid(path, 'JSON-serialisable data without cycles', v);
        const proto = Object.getPrototypeOf(v);
        if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) throw invalid(path, 'a plain object, an array or a JSON value', v);
        seen.add(v);
        for (const [k, child] of Object.entries(v)) walk(child, `${path}.${k}`);
        seen.delete(v);
        return;
      }
      default:
        throw invalid(path, 'a JSON value (no BigInt, function or symbol)', v);
    }
  };
  walk(value, name);
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

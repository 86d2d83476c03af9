// Option checks shared by the embedders. A subpath entry reaches the library through its public
// surface only (so its error classes are the main entry's own), and validation helpers are not part
// of that surface: these few lines follow the library's wording ("Expected `x` to be …, got …").
import { InvalidDataError } from 'ov-memory';

/** The vectors an embedder returns, one per text, in order. */
export interface TextEmbedder {
  readonly dim: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length} (object)`;
  if (typeof value === 'string') return `${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)} (string)`;
  if (typeof value === 'object') return `${Object.prototype.toString.call(value)} (object)`;
  if (typeof value === 'function') return 'a function';
  return `${String(value)} (${typeof value})`;
}

export function invalid(name: string, expected: string, value: unknown): InvalidDataError {
  return new InvalidDataError(`Expected \`${name}\` to be ${expected}, got ${describe(value)}`, { details: { field: name } });
}

export function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) throw invalid(name, 'a positive integer', value);
  return value;
}

export function nonNegativeInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw invalid(name, 'a non-negative integer', value);
  return value;
}

/** The texts of one `embed` call: an array of strings. */
export function checkTexts(texts: unknown): readonly string[] {
  if (!Array.isArray(texts)) throw invalid('texts', 'an array of strings', texts);
  texts.forEach((text, i) => {
    if (typeof text !== 'string') throw invalid(`texts[${i}]`, 'a string', text);
  });
  return texts as readonly string[];
}

// Quantized rows: the codes the kernels scan in place of float32 vectors (assembly/index.ts, "Quantized
// rows"), and the query codes they are scanned with. The float32 vectors stay outside the wasm memory
// (rows.ts) for the exact rerank.
//
// int8: each row is scaled by its own largest |x_j| (per-vector calibration: nothing to fit first, a
// row's codes never change when others arrive), x_j ≈ code_j · max|x| / 127. The query gets i16
// codes, as fine as the i32 accumulators allow: dim · 127 · Q < 2³¹, so no sum can overflow.
// An int8 row is scanned in two parts: its first `splitBytes` codes, then the rest only when the
// first part's sum plus a bound on the rest (|q_tail|·|x_tail|, Cauchy–Schwarz, from each row's tail
// norm) can still reach the scan's floor. Most rows of a large store are far from the query, so most
// are never read past their first quarter; the sum of a row read whole is the same integer.
// binary: one sign bit per dimension (x_j > 0), compared by Hamming distance: S ≈ 1 − 2·hamming/dim.
// Hamming distance ranks close scores coarsely, so a binary scan keeps many candidates; binary rows
// also carry int8 codes, by which the kernel scores each candidate again as soon as the bit scan
// keeps it (no float32 read), so only the few best by those reach the exact rerank.
import type { RowFormat } from './kernels.js';

/** The row formats a store can scan, as the option names them. */
export const QUANTIZATIONS = ['none', 'int8', 'binary'] as const;
export type Quantization = typeof QUANTIZATIONS[number];

/** The kernels' `quant` word for each quantization. */
export const QUANT_CODE: Readonly<Record<Quantization, number>> = Object.freeze({ none: 0, int8: 1, binary: 2 });

/** Bytes of a query code block's header (its f32 scale; int8: then the f32 norm of its tail), before the codes. */
export const CODE_HEADER_BYTES = 16;

const I32_MAX = 2 ** 31 - 1;

/** Bytes of codes a row takes in the vectors column: 16-byte aligned, zero padded. */
export function codeStride(dim: number, quantization: Exclude<Quantization, 'none'>): number {
  return quantization === 'int8' ? Math.ceil(dim / 16) * 16 : Math.ceil(dim / 128) * 16;
}

/**
 * Where an int8 row's tail starts: a quarter of its codes, in the kernel's 32-byte steps; 0 (no split)
 * below 256 bytes, where the check would cost about what it saves.
 */
export function int8SplitBytes(dim: number): number {
  const stride = codeStride(dim, 'int8');
  return stride < 256 ? 0 : Math.floor(stride / 4 / 32) * 32;
}

/** How a row of this quantization is stored in a segment. */
export function rowFormat(dim: number, quantization: Quantization): RowFormat {
  if (quantization === 'none') return { vectorBytes: Math.ceil(dim / 4) * 16, scaled: false, refineBytes: 0, splitBytes: 0 };
  if (quantization === 'int8') return { vectorBytes: codeStride(dim, 'int8'), scaled: true, refineBytes: 0, splitBytes: int8SplitBytes(dim) };
  return { vectorBytes: codeStride(dim, 'binary'), scaled: true, refineBytes: codeStride(dim, 'int8'), splitBytes: 0 };
}

/**
 * The Euclidean norm of codes[from, to), rounded up to an f32 (the kernel's bound must never fall
 * below the true sum: sqrt in f64 is within an ulp, the factor lifts it past the f32 rounding).
 */
export function tailNorm(codes: ArrayLike<number>, from: number, to: number): number {
  let sum = 0;
  for (let j = from; j < to; j++) sum += codes[j]! * codes[j]!;
  return Math.fround(Math.sqrt(sum) * (1 + 2 ** -20));
}

/**
 * Bytes of one query's code block: the header, then i16 codes (int8), or sign bits followed by an
 * int8 code block of their own for the refining (binary).
 */
export function queryCodeBytes(dim: number, quantization: Exclude<Quantization, 'none'>): number {
  const int8 = CODE_HEADER_BYTES + 2 * codeStride(dim, 'int8');
  return quantization === 'int8' ? int8 : CODE_HEADER_BYTES + codeStride(dim, 'binary') + int8;
}

function largestMagnitude(x: ArrayLike<number>, dim: number): number {
  let max = 0;
  for (let j = 0; j < dim; j++) max = Math.max(max, Math.abs(x[j]!));
  return max;
}

/** Writes a row's int8 codes at `codes` (zero padded to `stride`); returns its dequantization factor. */
export function encodeInt8Row(x: ArrayLike<number>, dim: number, codes: Int8Array, at: number, stride: number): number {
  const max = largestMagnitude(x, dim);
  const scale = max === 0 ? 0 : 127 / max;
  for (let j = 0; j < dim; j++) codes[at + j] = Math.round(x[j]! * scale);
  codes.fill(0, at + dim, at + stride);
  return max / 127;
}

/** Writes a row's (or a query's) sign bits at byte `at` (zero padded to `stride` bytes). */
export function encodeSignBits(x: ArrayLike<number>, dim: number, bytes: Uint8Array, at: number, stride: number): void {
  bytes.fill(0, at, at + stride);
  for (let j = 0; j < dim; j++) if (x[j]! > 0) bytes[at + (j >>> 3)]! |= 1 << (j & 7);
}

/** The largest |code| a query may have at this dimension so that no i32 sum overflows. */
export function int8QueryRange(dim: number): number {
  return Math.max(1, Math.min(32_767, Math.floor(I32_MAX / (dim * 127))));
}

/**
 * Writes one query's code block (`queryCodeBytes`) at byte `at` of the memory (`u8`, `i16` and `f32`
 * views of it, `at` 16-byte aligned): its scale, then its codes.
 */
export function encodeQuery(
  q: ArrayLike<number>, dim: number, quantization: Exclude<Quantization, 'none'>,
  views: { u8: Uint8Array; f32: Float32Array; i16: Int16Array }, at: number,
): void {
  const codes = at + CODE_HEADER_BYTES;
  if (quantization === 'binary') {
    const stride = codeStride(dim, 'binary');
    views.f32[at >>> 2] = 2 / dim;
    encodeSignBits(q, dim, views.u8, codes, stride);
    encodeQuery(q, dim, 'int8', views, codes + stride);
    return;
  }
  const stride = codeStride(dim, 'int8');
  const max = largestMagnitude(q, dim), range = int8QueryRange(dim);
  const scale = max === 0 ? 0 : range / max;
  // Views taken once: each access of a memory's view checks whether the memory grew.
  const i16 = views.i16, f32 = views.f32, first = codes >>> 1;
  f32[at >>> 2] = max / range;
  for (let j = 0; j < dim; j++) i16[first + j] = Math.round(q[j]! * scale);
  i16.fill(0, first + dim, first + stride);
  const split = int8SplitBytes(dim);
  f32[(at >>> 2) + 1] = split === 0 ? 0 : tailNorm(i16, first + split, first + stride);
}

// ov-memory scan kernels.
//
// The kernels own nothing: every byte they touch lives in one shared memory laid out by the host
// (src/engine/layout.ts); they only follow the pointers they are given. There are no data segments
// and no globals in memory (a shared memory would re-apply a data segment at every instantiation),
// which is why the two transcendental helpers below are written out instead of taken from `Math`
// (its lookup tables are data segments).
//
// Scores. For a query q (unit length) and a row n (unit length):
//   S      = q · n                                   (similarity, in [-1, 1])
//   key    = S                                       (mode SIMILARITY)
//   log P  = α·ln S⁺ + (1−α)·(logC + clamp(logR, ln 0.1, 0)) + logW      (mode PRIORITY)
//   logR   = −decay · (now − time)                   (decay = ln 2 / half-life, both in seconds)
// with log P = −∞ for S ≤ 0 unless α = 0, where similarity does not count at all.
//
// Request header (96 bytes, 16-byte aligned) and segment header: the @unmanaged classes below.
// Segment columns:
//   vectors: f32[rows × stride], 16-byte aligned, zero padded · logC, logW, time: f64[rows] · ids: u32[rows] · flags: u8[rows]
// Mask (optional): one bit per id, bit (id & 7) of byte id >> 3; a clear bit skips the row.
// Quantized rows (request quant ≠ 0): the vectors column holds codes, `codeStride` bytes a row (split
// int8 rows: their first `splitBytes`, the rest in tailCodes; see int8 below), and
// each query comes as a code block of `codeBytes` at `codes` + qi·codeBytes: a 16-byte header whose
// f32 at 0 is the query's scale, then its codes.
//   int8   (quant 1): row codes i8, x ≈ code · scales[row]; query codes i16, q ≈ code · scale;
//                     S ≈ (Σ codes·codes) · scale · scales[row]   (i32x4.dot_i16x8_s over sign-extended rows)
//                     With splitBytes ≠ 0 the vectors column holds each row's first splitBytes codes
//                     and tailCodes the rest; a scan sums a row's first part and reads the rest only
//                     when that sum plus |q_tail|·tails[row] (Cauchy–Schwarz; the query's tail norm is
//                     the f32 at 4 of its code block) can reach the floor. The first parts are one
//                     stream, so a row stopped there costs a quarter of its bytes.
//   binary (quant 2): row and query codes are sign bits (bit j of the row: x_j > 0, padding 0);
//                     S ≈ 1 − hamming · scale, scale = 2 / dim   (i64.popcnt of the xor)
//                     With refineK ≠ 0 the rows a bit scan keeps are scored again by their int8 codes
//                     (the refine column: at once, or in similarity ranking once the scan is over,
//                     see scanBitsRefined), and the heap keeps the best refineK by those: the query's
//                     code block then holds, after its sign bits, an int8 code block of its own.
// Heap (one per query and task; a top-k buffer, below): 0 count u32, 4 similarity floor f32 and 8 its
// tie id u32 (batch kernel scratch), 4 bytes padding, then up to 2k entries of 16 bytes (with refineK,
// a heap of refineK, then the bit scan's own of k right after it):
//   key f64 · similarity f32 · id u32, ranked by (key, similarity, −id); once k are kept, entry 0 is
//   the floor (the worst of entries [0, k)), the root the rest of the kernels compare against.

/** The request header, as the host writes it (src/engine/kernels.ts `writeRequest`). */
// @ts-ignore: decorator
@unmanaged class Request {
  cancel: i32;   //  0, read atomically
  k: u32;        //  4
  mode: u32;     //  8
  stride: u32;   // 12
  alpha: f64;    // 16
  now: f64;      // 24
  decay: f64;    // 32
  maxLogW: f64;  // 40
  queries: u32;  // 48
  count: u32;    // 52
  mask: u32;     // 56
  quant: u32;    // 60: 0 float32, 1 int8, 2 binary
  codeStride: u32; // 64: bytes of codes a row
  codes: u32;    // 68: the queries' code blocks
  codeBytes: u32; // 72: bytes from one query's code block to the next
  refineK: u32;  // 76: binary rows: hits kept by their int8 codes (0: none, the bits' hits are kept)
  refineStride: u32; // 80: bytes of int8 codes a row in the segment's refine column
  splitBytes: u32; // 84: int8 rows: bytes of codes before the tail bound is checked (0: rows are read whole)
}

/** A segment's header: where each of its columns starts. */
// @ts-ignore: decorator
@unmanaged class Segment {
  vectors: u32;
  logC: u32;
  logW: u32;
  time: u32;
  flags: u32;
  ids: u32;
  scales: u32;   // int8 codes: f32[rows], a row's dequantization factor
  refine: u32;   // binary rows: their int8 codes, refineStride bytes a row
  tails: u32;    // int8 rows split at splitBytes: f32[rows], the norm of a row's codes past the split
  tailCodes: u32; // int8 rows split at splitBytes: the codes past the split, codeStride − splitBytes a row
}

const MODE_PRIORITY: u32 = 1;
const QUANT_NONE: u32 = 0;
const QUANT_INT8: u32 = 1;
const QUANT_BINARY: u32 = 2;
const CODE_HEADER: usize = 16;
const FLAG_LIVE: u8 = 1;
const CANCEL_EVERY: i32 = 4096;
const LN_TENTH: f64 = -2.302585092994046;
const LN2: f64 = 0.6931471805599453;
const HEAP_HEADER: usize = 16;
const ENTRY: usize = 16;
/** Rows per tile of the batch kernel: a tile of rows stays in cache while every query block passes over it. */
const TILE_BYTES: i32 = 256 * 1024;

// ---- math without tables --------------------------------------------------------------------------

/** Natural log of x > 0: x = m·2^e with m in [√½, √2), ln m = 2·atanh(s), s = (m−1)/(m+1), |s| < 0.172. */
// @ts-ignore: decorator
@inline function ln(x: f64): f64 {
  let bits = reinterpret<u64>(x);
  let e = <i32>((bits >> 52) & 0x7ff) - 1023;
  let m = reinterpret<f64>((bits & 0x000fffffffffffff) | 0x3ff0000000000000);
  if (m > 1.4142135623730951) { m *= 0.5; e += 1; }
  let s = (m - 1) / (m + 1);
  let s2 = s * s;
  let series = 1 + s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11 +
    s2 * (1.0 / 13 + s2 * (1.0 / 15 + s2 * (1.0 / 17 + s2 * (1.0 / 19 + s2 / 21)))))))));
  return <f64>e * LN2 + 2 * s * series;
}

/** e^x for x ≤ 0 (the only range the threshold needs): e^x = 2^n · e^r with |r| ≤ ln2/2, Taylor for e^r. */
function expNonPositive(x: f64): f64 {
  if (x < -700) return 0;
  let n = nearest(x / LN2);
  let r = x - n * LN2;
  let term: f64 = 1;
  let sum: f64 = 1;
  for (let i = 1; i < 18; i++) { term *= r / <f64>i; sum += term; }
  return sum * reinterpret<f64>(<u64>(<i64>n + 1023) << 52);
}

// ---- dot products ---------------------------------------------------------------------------------

/**
 * q · row over `stride` floats (a multiple of 4, zero padded): two f32x4 accumulators in 8-float
 * steps, a last 4-float step into the first. `dotPair` sums two rows in this very order.
 */
// @ts-ignore: decorator
@inline function dot(q: usize, row: usize, stride: i32): f32 {
  if (ASC_FEATURE_SIMD) {
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
    let bytes = <usize>stride << 2;
    let i: usize = 0;
    for (; i + 32 <= bytes; i += 32) {
      a0 = f32x4.add(a0, f32x4.mul(v128.load(q + i), v128.load(row + i)));
      a1 = f32x4.add(a1, f32x4.mul(v128.load(q + i, 16), v128.load(row + i, 16)));
    }
    if (i < bytes) a0 = f32x4.add(a0, f32x4.mul(v128.load(q + i), v128.load(row + i)));
    return lanes(f32x4.add(a0, a1));
  } else {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    let bytes = <usize>stride << 2;
    for (let i: usize = 0; i < bytes; i += 16) {
      a0 += load<f32>(q + i) * load<f32>(row + i);
      a1 += load<f32>(q + i, 4) * load<f32>(row + i, 4);
      a2 += load<f32>(q + i, 8) * load<f32>(row + i, 8);
      a3 += load<f32>(q + i, 12) * load<f32>(row + i, 12);
    }
    return a0 + a1 + a2 + a3;
  }
}

/** Horizontal sum of an f32x4, lane by lane in order. */
// @ts-ignore: decorator
@inline function lanes(s: v128): f32 {
  return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
}

/**
 * q · x and q · y (SIMD builds), each summed exactly as `dot` sums it, in lanes 0 and 1. Two rows
 * far apart are two streams of loads in flight at once: one row at a time leaves the memory
 * system idle between a row's loads often enough to read about a tenth below the bandwidth probe
 * (measured on an Intel Xeon; bench/RESULTS.md).
 */
// @ts-ignore: decorator
@inline function dotPair(q: usize, x: usize, y: usize, stride: i32): v128 {
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), b0 = f32x4.splat(0), b1 = f32x4.splat(0);
  let bytes = <usize>stride << 2;
  let i: usize = 0;
  for (; i + 32 <= bytes; i += 32) {
    let q0 = v128.load(q + i), q1 = v128.load(q + i, 16);
    a0 = f32x4.add(a0, f32x4.mul(q0, v128.load(x + i)));
    b0 = f32x4.add(b0, f32x4.mul(q0, v128.load(y + i)));
    a1 = f32x4.add(a1, f32x4.mul(q1, v128.load(x + i, 16)));
    b1 = f32x4.add(b1, f32x4.mul(q1, v128.load(y + i, 16)));
  }
  if (i < bytes) {
    let q0 = v128.load(q + i);
    a0 = f32x4.add(a0, f32x4.mul(q0, v128.load(x + i)));
    b0 = f32x4.add(b0, f32x4.mul(q0, v128.load(y + i)));
  }
  return f32x4.replace_lane(f32x4.splat(lanes(f32x4.add(a0, a1))), 1, lanes(f32x4.add(b0, b1)));
}

/**
 * Σ q_j·x_j over `bytes` row codes (i8, a multiple of 16, zero padded) against i16 query codes: each
 * 16 row bytes are sign-extended to two i16x8 and multiplied pairwise into i32x4 (dot_i16x8_s).
 */
// @ts-ignore: decorator
@inline function dotInt8(q: usize, row: usize, bytes: usize): i32 {
  if (ASC_FEATURE_SIMD) {
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    let i: usize = 0;
    for (; i + 32 <= bytes; i += 32) {
      let qx = q + (i << 1), x = row + i;
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load_ext<i8>(x), v128.load(qx)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load_ext<i8>(x, 8), v128.load(qx, 16)));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load_ext<i8>(x, 16), v128.load(qx, 32)));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load_ext<i8>(x, 24), v128.load(qx, 48)));
    }
    if (i < bytes) {
      let qx = q + (i << 1), x = row + i;
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load_ext<i8>(x), v128.load(qx)));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load_ext<i8>(x, 8), v128.load(qx, 16)));
    }
    let s = i32x4.add(i32x4.add(a0, a1), i32x4.add(a2, a3));
    return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
  } else {
    let a0: i32 = 0, a1: i32 = 0;
    for (let i: usize = 0; i < bytes; i += 2) {
      a0 += <i32>load<i8>(row + i) * <i32>load<i16>(q + (i << 1));
      a1 += <i32>load<i8>(row + i, 1) * <i32>load<i16>(q + (i << 1), 2);
    }
    return a0 + a1;
  }
}

/** Bits that differ between two runs of sign bits of `bytes` bytes (a multiple of 16). */
// @ts-ignore: decorator
@inline function hamming(q: usize, row: usize, bytes: usize): i32 {
  let a: u64 = 0, b: u64 = 0;
  for (let i: usize = 0; i < bytes; i += 16) {
    a += popcnt<u64>(load<u64>(row + i) ^ load<u64>(q + i));
    b += popcnt<u64>(load<u64>(row + i, 8) ^ load<u64>(q + i, 8));
  }
  return <i32>(a + b);
}

// ---- the top-k buffer -----------------------------------------------------------------------------
//
// Up to 2k entries, unordered. Once it holds k, entry 0 is the worst of entries [0, k), so nothing
// that does not beat entry 0 can be among the best k: entry 0 is the floor. Rows that beat it are
// appended; a full buffer is cut back to its best k by a quickselect. Each cut costs O(k) and makes
// room for k more, so keeping a hit costs O(1), where a heap of the same k pays log k moves: a binary
// scan keeps over a thousand candidates. `finishHeaps` leaves only the best k.

// @ts-ignore: decorator
@inline function worse(k1: f64, s1: f32, id1: u32, k2: f64, s2: f32, id2: u32): bool {
  return k1 < k2 || (k1 == k2 && (s1 < s2 || (s1 == s2 && id1 > id2)));
}

// @ts-ignore: decorator
@inline function entryAt(heap: usize, i: u32): usize {
  return heap + HEAP_HEADER + <usize>i * ENTRY;
}

/** Entry `a` ranks below the hit (key, sim, id). */
// @ts-ignore: decorator
@inline function entryWorseThan(heap: usize, a: u32, key: f64, sim: f32, id: u32): bool {
  let p = entryAt(heap, a);
  return worse(load<f64>(p), load<f32>(p, 8), load<u32>(p, 12), key, sim, id);
}

/** The hit (key, sim, id) ranks below entry `b`. */
// @ts-ignore: decorator
@inline function worseThanEntry(key: f64, sim: f32, id: u32, heap: usize, b: u32): bool {
  let p = entryAt(heap, b);
  return worse(key, sim, id, load<f64>(p), load<f32>(p, 8), load<u32>(p, 12));
}

function swapEntries(heap: usize, a: u32, b: u32): void {
  let pa = entryAt(heap, a), pb = entryAt(heap, b);
  let x = load<u64>(pa), y = load<u64>(pa, 8);
  store<u64>(pa, load<u64>(pb)); store<u64>(pa, load<u64>(pb, 8), 8);
  store<u64>(pb, x); store<u64>(pb, y, 8);
}

/** Moves the worst of entries [0, k) to entry 0. */
function floorToFront(heap: usize, k: u32): void {
  let w: u32 = 0;
  for (let i: u32 = 1; i < k; i++) {
    let p = entryAt(heap, w);
    if (entryWorseThan(heap, i, load<f64>(p), load<f32>(p, 8), load<u32>(p, 12))) w = i;
  }
  swapEntries(heap, 0, w);
}

/**
 * Rearranges the `count` entries so that [0, k) hold the best k, then moves the worst of them to 0:
 * a quickselect with a median-of-three pivot and a Hoare partition (src/engine/merge.ts does the same
 * on the host).
 */
function selectBest(heap: usize, count: u32, k: u32): void {
  let lo: i32 = 0, hi: i32 = <i32>count - 1, n: i32 = <i32>k - 1;
  while (lo < hi) {
    let mid = (lo + hi) >> 1;
    // Order lo, mid, hi best first; mid is then the median.
    let a = <u32>lo, b = <u32>mid, c = <u32>hi;
    if (entryWorse(heap, a, b)) swapEntries(heap, a, b);
    if (entryWorse(heap, b, c)) swapEntries(heap, b, c);
    if (entryWorse(heap, a, b)) swapEntries(heap, a, b);
    let pp = entryAt(heap, b);
    let pk = load<f64>(pp), ps = load<f32>(pp, 8), pid = load<u32>(pp, 12);
    let i = lo, j = hi;
    while (i <= j) {
      while (worseThanEntry(pk, ps, pid, heap, <u32>i)) i++;
      while (entryWorseThan(heap, <u32>j, pk, ps, pid)) j--;
      if (i <= j) { swapEntries(heap, <u32>i, <u32>j); i++; j--; }
    }
    if (n <= j) hi = j;
    else if (n >= i) lo = i;
    else break;
  }
  swapEntries(heap, 0, k - 1);
}

// @ts-ignore: decorator
@inline function entryWorse(heap: usize, a: u32, b: u32): bool {
  let pb = entryAt(heap, b);
  return entryWorseThan(heap, a, load<f64>(pb), load<f32>(pb, 8), load<u32>(pb, 12));
}

const FLOOR_MOVED: i32 = 1;
const KEPT: i32 = 2;

/** Offers a hit to a buffer of k; returns KEPT when it was kept, | FLOOR_MOVED when the floor (entry 0) changed. */
function offer(heap: usize, k: u32, key: f64, sim: f32, id: u32): i32 {
  let count = load<u32>(heap);
  let moved = 0;
  if (count >= k) {
    if (!entryWorseThan(heap, 0, key, sim, id)) return 0;
    if (count == 2 * k) {
      selectBest(heap, count, k);
      count = k;
      store<u32>(heap, k);
      if (!entryWorseThan(heap, 0, key, sim, id)) return FLOOR_MOVED;
      moved = FLOOR_MOVED;
    }
  }
  let p = entryAt(heap, count);
  store<f64>(p, key); store<f32>(p, sim, 8); store<u32>(p, id, 12);
  store<u32>(heap, count + 1);
  if (count + 1 == k) { floorToFront(heap, k); return KEPT | FLOOR_MOVED; }
  return KEPT | moved;
}

/** Where a query's bit scan keeps its hits: right after the refined heap, or the heap itself. */
// @ts-ignore: decorator
@inline function candidatesOf(request: usize, heap: usize): usize {
  let refineK = changetype<Request>(request).refineK;
  return refineK == 0 ? heap : heap + HEAP_HEADER + <usize>refineK * 2 * ENTRY;
}

/**
 * Empties the heaps of `count` queries before a task's first piece. Refined binary rows: also the bit
 * scan's own heap, which in similarity ranking holds a list of rows instead, with a histogram of
 * their Hamming distances after its 2k entries (`scanBitsRefined`).
 */
export function startHeaps(request: usize, heaps: usize, count: i32, heapBytes: u32): void {
  let r = changetype<Request>(request);
  for (let i = 0; i < count; i++) {
    let heap = heaps + <usize>i * heapBytes;
    store<u32>(heap, 0);
    if (r.refineK == 0) continue;
    let candidates = candidatesOf(request, heap);
    store<u32>(candidates, 0);
    store<u32>(candidates, r.codeStride << 3, LIST_THRESHOLD);
    store<u32>(candidates, 0, LIST_AT_MOST);
    memory.fill(countsOf(request, candidates), 0, (<usize>(r.codeStride << 3) + 1) << 2);
  }
}

// The bit scan's list (refined binary rows, similarity ranking), in its heap's place:
// 0 entries u32, 4 threshold u32, 8 rows counted at or below it u32, 4 bytes padding, then up to 2k
// entries (segment u32 · row u32 · distance u32 · id u32), then a u32 count for each distance 0..bits.
const LIST_THRESHOLD: usize = 4;
const LIST_AT_MOST: usize = 8;

// @ts-ignore: decorator
@inline function countsOf(request: usize, list: usize): usize {
  return list + HEAP_HEADER + <usize>changetype<Request>(request).k * 2 * ENTRY;
}

/**
 * Refines the listed rows still at or below the threshold and empties the list: when it is full and
 * nothing can be dropped, and at the end of the scan. Rows are listed in scan order, so their int8
 * codes are read forward.
 */
function refineListed(request: usize, heap: usize, list: usize, q: usize): void {
  let threshold = load<u32>(list, LIST_THRESHOLD), n = load<u32>(list);
  // Four rows at a time: their codes lie apart in memory, and four independent reads overlap their misses.
  let picked: u32 = 0;
  let e0: usize = 0, e1: usize = 0, e2: usize = 0;
  for (let i: u32 = 0; i < n; i++) {
    let e = entryAt(list, i);
    if (load<u32>(e, 8) > threshold) continue;
    if (picked == 0) e0 = e;
    else if (picked == 1) e1 = e;
    else if (picked == 2) e2 = e;
    else { refineFour(request, heap, q, e0, e1, e2, e); picked = 0; continue; }
    picked++;
  }
  if (picked > 0) refineListedRow(request, heap, q, e0);
  if (picked > 1) refineListedRow(request, heap, q, e1);
  if (picked > 2) refineListedRow(request, heap, q, e2);
  store<u32>(list, 0);
}

// @ts-ignore: decorator
@inline function refineListedRow(request: usize, heap: usize, q: usize, e: usize): void {
  refineRow(request, <usize>load<u32>(e), heap, q, <i32>load<u32>(e, 4), load<u32>(e, 12));
}

/** refineRow for four listed rows, their int8 sums taken in one pass over the query's codes. */
function refineFour(request: usize, heap: usize, q: usize, e0: usize, e1: usize, e2: usize, e3: usize): void {
  let r = changetype<Request>(request);
  let codes = q + <usize>r.codeStride + CODE_HEADER, bytes = <usize>r.refineStride;
  let x0 = codesOfListed(e0, bytes), x1 = codesOfListed(e1, bytes), x2 = codesOfListed(e2, bytes), x3 = codesOfListed(e3, bytes);
  let s0: i32, s1: i32, s2: i32, s3: i32;
  if (ASC_FEATURE_SIMD) {
    let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
    for (let i: usize = 0; i < bytes; i += 8) {
      let w = v128.load(codes + (i << 1));
      a0 = i32x4.add(a0, i32x4.dot_i16x8_s(v128.load_ext<i8>(x0 + i), w));
      a1 = i32x4.add(a1, i32x4.dot_i16x8_s(v128.load_ext<i8>(x1 + i), w));
      a2 = i32x4.add(a2, i32x4.dot_i16x8_s(v128.load_ext<i8>(x2 + i), w));
      a3 = i32x4.add(a3, i32x4.dot_i16x8_s(v128.load_ext<i8>(x3 + i), w));
    }
    s0 = laneSum(a0); s1 = laneSum(a1); s2 = laneSum(a2); s3 = laneSum(a3);
  } else {
    s0 = dotInt8(codes, x0, bytes); s1 = dotInt8(codes, x1, bytes); s2 = dotInt8(codes, x2, bytes); s3 = dotInt8(codes, x3, bytes);
  }
  let scale = load<f32>(codes - CODE_HEADER);
  offerRefined(request, heap, e0, <f32>s0 * scale);
  offerRefined(request, heap, e1, <f32>s1 * scale);
  offerRefined(request, heap, e2, <f32>s2 * scale);
  offerRefined(request, heap, e3, <f32>s3 * scale);
}

/** Where a listed row's int8 codes start. */
// @ts-ignore: decorator
@inline function codesOfListed(e: usize, bytes: usize): usize {
  return <usize>changetype<Segment>(<usize>load<u32>(e)).refine + <usize>load<u32>(e, 4) * bytes;
}

/** Drops the listed rows above the threshold; refines them all when none can be dropped. */
function compactList(request: usize, heap: usize, list: usize, q: usize): void {
  let threshold = load<u32>(list, LIST_THRESHOLD), n = load<u32>(list), kept: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let e = entryAt(list, i);
    if (load<u32>(e, 8) > threshold) continue;
    if (kept != i) { let d = entryAt(list, kept); store<u64>(d, load<u64>(e)); store<u64>(d, load<u64>(e, 8), 8); }
    kept++;
  }
  store<u32>(list, kept);
  if (kept == n) refineListed(request, heap, list, q);
}

/**
 * Binary rows: a row the bit scan of the query with code block `q` kept, scored again by its int8
 * codes and offered to the query's heap (by that similarity, or the priority key it gives).
 */
function refineRow(request: usize, segment: usize, heap: usize, q: usize, row: i32, id: u32): void {
  let r = changetype<Request>(request), g = changetype<Segment>(segment);
  let codes = q + <usize>r.codeStride + CODE_HEADER, bytes = <usize>r.refineStride;
  let sum = dotInt8(codes, <usize>g.refine + <usize>row * bytes, bytes);
  offerScaled(request, segment, heap, row, id, <f32>sum * load<f32>(codes - CODE_HEADER));
}

/** A listed row's int8 sum, times the query's scale, offered as refineRow offers it. */
// @ts-ignore: decorator
@inline function offerRefined(request: usize, heap: usize, e: usize, scaledSum: f32): void {
  offerScaled(request, <usize>load<u32>(e), heap, <i32>load<u32>(e, 4), load<u32>(e, 12), scaledSum);
}

/** Offers a refined row by its int8 similarity (the query-scaled sum times the row's scale) or the priority key it gives. */
function offerScaled(request: usize, segment: usize, heap: usize, row: i32, id: u32, scaledSum: f32): void {
  let r = changetype<Request>(request), g = changetype<Segment>(segment);
  let sim = scaledSum * load<f32>(<usize>g.scales + (<usize>row << 2));
  let key: f64 = sim;
  if (r.mode == MODE_PRIORITY) {
    let o = <usize>row << 3;
    key = priorityKey(sim, r.alpha, load<f64>(<usize>g.logC + o), load<f64>(<usize>g.logW + o), load<f64>(<usize>g.time + o), r.now, r.decay);
  }
  offer(heap, r.refineK, key, sim, id);
}

/**
 * The end of a task's scan: refines what a bit scan's list holds, then leaves only each heap's best k
 * (refineK for refined binary rows), in no order.
 */
export function finishHeaps(request: usize, heaps: usize, count: i32, heapBytes: u32): void {
  let r = changetype<Request>(request);
  let k = r.refineK != 0 ? r.refineK : r.k;
  for (let i = 0; i < count; i++) {
    let heap = heaps + <usize>i * heapBytes;
    if (listsRows(request, r.quant)) {
      refineListed(request, heap, candidatesOf(request, heap), queryAt(request, i, QUANT_BINARY));
    }
    let kept = load<u32>(heap);
    if (kept <= k) continue;
    selectBest(heap, kept, k);
    store<u32>(heap, k);
  }
}

// ---- per-row scoring --------------------------------------------------------------------------------

// @ts-ignore: decorator
@inline function priorityKey(sim: f32, alpha: f64, logC: f64, logW: f64, time: f64, now: f64, decay: f64): f64 {
  let logR = min(0.0, max(LN_TENTH, -decay * (now - time)));
  let structure = (1 - alpha) * (logC + logR) + logW;
  if (alpha == 0) return structure;
  if (sim <= 0) return -Infinity;
  return alpha * ln(<f64>sim) + structure;
}

/**
 * The smallest similarity a row needs before it can beat the heap's root: in priority mode a row's
 * key is at most α·ln S + maxLogW (the C and R terms are ≤ 0), so rows below it skip the logarithm.
 */
function similarityFloor(request: usize, heap: usize, k: u32): f32 {
  if (load<u32>(heap) < k) return -Infinity;
  let rootKey = load<f64>(heap + HEAP_HEADER);
  let r = changetype<Request>(request);
  if (r.mode != MODE_PRIORITY) return <f32>rootKey;
  let alpha = r.alpha;
  if (alpha == 0 || rootKey == -Infinity) return -Infinity;
  let bound = min(0.0, (rootKey - r.maxLogW) / alpha);
  // A little below the exact floor, so rounding never drops a row that ties the root.
  return <f32>(expNonPositive(bound) * (1 - 1e-6));
}

/**
 * In similarity mode with a full heap, the root's id: a row that only ties the root's similarity and
 * has a larger id ranks below it, so it is turned away without a call (binary codes tie often).
 */
function floorTieId(request: usize, heap: usize, k: u32): u32 {
  if (load<u32>(heap) < k || changetype<Request>(request).mode == MODE_PRIORITY) return u32.MAX_VALUE;
  return load<u32>(heap + HEAP_HEADER, 12);
}

// @ts-ignore: decorator
@inline function allowed(flags: usize, mask: usize, row: i32, id: u32): bool {
  if ((load<u8>(flags + <usize>row) & FLAG_LIVE) == 0) return false;
  return mask == 0 || (load<u8>(mask + (<usize>id >> 3)) & (<u8>1 << <u8>(id & 7))) != 0;
}

// @ts-ignore: decorator
@inline function cancelled(request: usize): bool {
  // The unshared build (pages that are not cross-origin isolated) has no threads and no atomics.
  if (ASC_FEATURE_THREADS) return atomic.load<i32>(request) != 0;
  return load<i32>(request) != 0;
}

// ---- exported kernels -------------------------------------------------------------------------------

/** Scans rows [from, to) of a segment for query `qi` of the request, keeping the best k in `heap`. Returns rows scanned, or −1 when cancelled. */
export function scanTopK(request: usize, segment: usize, from: i32, to: i32, qi: i32, heap: usize): i32 {
  let quant = changetype<Request>(request).quant;
  if (listsRows(request, quant)) {
    return changetype<Request>(request).mask != 0
      ? scanBitsRefined(request, segment, from, to, qi, heap, true)
      : scanBitsRefined(request, segment, from, to, qi, heap, false);
  }
  // One loop per row format, each specialised at compile time (scanRows is inlined with a constant).
  if (changetype<Request>(request).mask != 0) {
    if (quant == QUANT_INT8) return scanRows(request, segment, from, to, qi, heap, QUANT_INT8, true);
    if (quant == QUANT_BINARY) return scanRows(request, segment, from, to, qi, heap, QUANT_BINARY, true);
    return scanRows(request, segment, from, to, qi, heap, QUANT_NONE, true);
  }
  if (quant == QUANT_INT8) return scanRows(request, segment, from, to, qi, heap, QUANT_INT8, false);
  if (quant == QUANT_BINARY) return scanRows(request, segment, from, to, qi, heap, QUANT_BINARY, false);
  if (ASC_FEATURE_SIMD) return scanFloatPairs(request, segment, from, to, qi, heap);
  return scanRows(request, segment, from, to, qi, heap, QUANT_NONE, false);
}

/** Where query `qi` starts: its float32 copy, or its codes (past the code block's header). */
// @ts-ignore: decorator
@inline function queryAt(request: usize, qi: i32, quant: u32): usize {
  let r = changetype<Request>(request);
  if (quant == QUANT_NONE) return <usize>r.queries + (<usize>qi * <usize>r.stride << 2);
  return <usize>r.codes + <usize>qi * <usize>r.codeBytes + CODE_HEADER;
}

/** Bytes of one row in the segment's vectors column. */
// @ts-ignore: decorator
@inline function rowBytesOf(request: usize, quant: u32): usize {
  let r = changetype<Request>(request);
  return quant == QUANT_NONE ? <usize>r.stride << 2 : <usize>r.codeStride;
}

/** The similarity of a query (at `q`, with its code scale) and a row, exact or from codes. */
// @ts-ignore: decorator
@inline function similarity(quant: u32, q: usize, scale: f32, rowPtr: usize, rowBytes: usize, scales: usize, row: i32): f32 {
  if (quant == QUANT_INT8) return <f32>dotInt8(q, rowPtr, rowBytes) * scale * load<f32>(scales + (<usize>row << 2));
  if (quant == QUANT_BINARY) return 1 - <f32>hamming(q, rowPtr, rowBytes) * scale;
  return dot(q, rowPtr, <i32>(rowBytes >> 2));
}

/**
 * A split int8 row's similarity from the sum of its first part (`head`), or −∞ when even the bound
 * on its tail (`tailBound`: |q_tail|·|x_tail| in the query's units) cannot lift that sum to the floor;
 * the rest of its codes lie at `tail`. The sum of a row read whole is the very integer an unsplit
 * scan computes.
 */
// @ts-ignore: decorator
@inline function finishSplit(head: i32, q: usize, scale: f32, tail: usize, rowBytes: usize, split: usize, rowScale: f32, tailBound: f64, floor: f32): f32 {
  let bound = (<f64>head * <f64>scale + tailBound) * <f64>rowScale;
  // The margin covers the f32 rounding of the similarity itself.
  if (bound + abs(bound) * 1e-6 + 1e-7 < <f64>floor) return -Infinity;
  return <f32>(head + dotInt8(q + (split << 1), tail, rowBytes - split)) * scale * rowScale;
}

/** A row's similarity in a single-query scan: split int8 rows may stop at their split (`finishSplit`). */
// @ts-ignore: decorator
@inline function scanSimilarity(
  quant: u32, q: usize, scale: f32, vectors: usize, scales: usize, tails: usize, tailCodes: usize, row: i32, rowBytes: usize, split: usize, qTail: f64, floor: f32,
): f32 {
  if (quant != QUANT_INT8 || split == 0) return similarity(quant, q, scale, vectors + <usize>row * rowBytes, rowBytes, scales, row);
  let o = <usize>row << 2;
  return finishSplit(dotInt8(q, vectors + <usize>row * split, split), q, scale, tailCodes + <usize>row * (rowBytes - split), rowBytes, split,
    load<f32>(scales + o), qTail * <f64>load<f32>(tails + o), floor);
}

// @ts-ignore: decorator
@inline function scanRows(request: usize, segment: usize, from: i32, to: i32, qi: i32, heap: usize, quant: u32, masked: bool): i32 {
  let r = changetype<Request>(request), g = changetype<Segment>(segment), k = r.k, mask = <usize>r.mask;
  let q = queryAt(request, qi, quant);
  let scale = quant == QUANT_NONE ? <f32>1 : load<f32>(q - CODE_HEADER);
  let rowBytes = rowBytesOf(request, quant);
  let vectors = <usize>g.vectors, scales = <usize>g.scales, flags = <usize>g.flags, ids = <usize>g.ids;
  let refining = quant == QUANT_BINARY && r.refineK != 0;
  let split = quant == QUANT_INT8 ? <usize>r.splitBytes : 0, tails = <usize>g.tails, tailCodes = <usize>g.tailCodes;
  let qTail = quant == QUANT_INT8 ? <f64>load<f32>(q - CODE_HEADER + 4) * <f64>scale : 0;
  let candidates = candidatesOf(request, heap);
  let floor = similarityFloor(request, candidates, k), tieId = floorTieId(request, candidates, k);
  // Rows go in blocks, so the cancel word is read once a block rather than tested every row.
  for (let block = from; block < to; block += CANCEL_EVERY) {
    if (cancelled(request)) return -1;
    let end = min(to, block + CANCEL_EVERY);
    for (let row = block; row < end; row++) {
      let id: u32;
      let sim: f32;
      if (masked) {
        id = load<u32>(ids + (<usize>row << 2));
        if (!allowed(flags, mask, row, id)) continue;
        sim = scanSimilarity(quant, q, scale, vectors, scales, tails, tailCodes, row, rowBytes, split, qTail, floor);
        if (sim < floor) continue;
      } else {
        // No mask: most rows fall below the floor, so their id and flags are never read.
        sim = scanSimilarity(quant, q, scale, vectors, scales, tails, tailCodes, row, rowBytes, split, qTail, floor);
        if (sim < floor || (load<u8>(flags + <usize>row) & FLAG_LIVE) == 0) continue;
        id = load<u32>(ids + (<usize>row << 2));
      }
      let got = offerHit(request, segment, candidates, row, id, sim, floor, tieId);
      if (refining && (got & KEPT) != 0) refineRow(request, segment, heap, q, row, id);
      if ((got & FLOOR_MOVED) != 0) {
        floor = similarityFloor(request, candidates, k);
        tieId = floorTieId(request, candidates, k);
      }
    }
  }
  return to - from;
}

/**
 * Offers a row that reached the floor (`sim` ≥ floor, live and allowed) to the heap, ranked by its
 * similarity or its priority key; 0 when it only ties the floor and ranks below it by id.
 */
// @ts-ignore: decorator
@inline function offerHit(request: usize, segment: usize, candidates: usize, row: i32, id: u32, sim: f32, floor: f32, tieId: u32): i32 {
  if (sim == floor && id > tieId) return 0;
  let r = changetype<Request>(request), g = changetype<Segment>(segment);
  let key: f64 = sim;
  if (r.mode == MODE_PRIORITY) {
    let o = <usize>row << 3;
    key = priorityKey(sim, r.alpha, load<f64>(<usize>g.logC + o), load<f64>(<usize>g.logW + o), load<f64>(<usize>g.time + o), r.now, r.decay);
  }
  return offer(candidates, r.k, key, sim, id);
}

/** Offers an unmasked float32 row when its similarity reaches the floor and it is live. */
// @ts-ignore: decorator
@inline function offerFloatRow(request: usize, segment: usize, candidates: usize, row: i32, sim: f32, floor: f32, tieId: u32): i32 {
  let g = changetype<Segment>(segment);
  if (sim < floor || (load<u8>(<usize>g.flags + <usize>row) & FLAG_LIVE) == 0) return 0;
  return offerHit(request, segment, candidates, row, load<u32>(<usize>g.ids + (<usize>row << 2)), sim, floor, tieId);
}

/**
 * An unmasked float32 scan (SIMD builds): rows [from, to) as two halves read side by side, row i of
 * each in one pass (`dotPair`), an odd last row alone. The heap keeps the best k whatever order the
 * rows come in, so the answer is a row-by-row scan's, similarities included.
 */
function scanFloatPairs(request: usize, segment: usize, from: i32, to: i32, qi: i32, heap: usize): i32 {
  let r = changetype<Request>(request), g = changetype<Segment>(segment), k = r.k, stride = <i32>r.stride;
  let q = queryAt(request, qi, QUANT_NONE), rowBytes = <usize>stride << 2, vectors = <usize>g.vectors;
  let candidates = candidatesOf(request, heap);
  let floor = similarityFloor(request, candidates, k), tieId = floorTieId(request, candidates, k);
  let half = (to - from) >> 1, second = from + half;
  for (let block = 0; block < half; block += CANCEL_EVERY >> 1) {
    if (cancelled(request)) return -1;
    let end = min(half, block + (CANCEL_EVERY >> 1));
    for (let i = block; i < end; i++) {
      let a = from + i, b = second + i;
      let sims = dotPair(q, vectors + <usize>a * rowBytes, vectors + <usize>b * rowBytes, stride);
      if ((offerFloatRow(request, segment, candidates, a, f32x4.extract_lane(sims, 0), floor, tieId) & FLOOR_MOVED) != 0) {
        floor = similarityFloor(request, candidates, k);
        tieId = floorTieId(request, candidates, k);
      }
      if ((offerFloatRow(request, segment, candidates, b, f32x4.extract_lane(sims, 1), floor, tieId) & FLOOR_MOVED) != 0) {
        floor = similarityFloor(request, candidates, k);
        tieId = floorTieId(request, candidates, k);
      }
    }
  }
  if (((to - from) & 1) != 0) {
    if (cancelled(request)) return -1;
    offerFloatRow(request, segment, candidates, to - 1, dot(q, vectors + <usize>(to - 1) * rowBytes, stride), floor, tieId);
  }
  return to - from;
}

/** Whether a bit scan lists its rows (refined binary rows, similarity ranking) rather than keeping hits. */
// @ts-ignore: decorator
@inline function listsRows(request: usize, quant: u32): bool {
  let r = changetype<Request>(request);
  return quant == QUANT_BINARY && r.refineK != 0 && r.mode != MODE_PRIORITY;
}

/**
 * Refined binary rows, one query, similarity ranking: the bit scan keeps a histogram of the Hamming
 * distances it kept, so its threshold is always the k-th smallest distance so far (ties kept) at O(1)
 * a row, and it lists the rows at or below it. Only those still at or below the final threshold are
 * refined by their int8 codes (`finishHeaps`): a few more than k, where refining each row as it came
 * would read the int8 codes of every row the threshold ever let by, several times as many.
 */
// @ts-ignore: decorator
@inline function scanBitsRefined(request: usize, segment: usize, from: i32, to: i32, qi: i32, heap: usize, masked: bool): i32 {
  let r = changetype<Request>(request), g = changetype<Segment>(segment), mask = <usize>r.mask;
  let q = queryAt(request, qi, QUANT_BINARY), rowBytes = <usize>r.codeStride;
  let vectors = <usize>g.vectors, flags = <usize>g.flags, ids = <usize>g.ids;
  let list = candidatesOf(request, heap);
  let threshold = load<u32>(list, LIST_THRESHOLD);
  for (let block = from; block < to; block += CANCEL_EVERY) {
    if (cancelled(request)) return -1;
    let end = min(to, block + CANCEL_EVERY);
    for (let row = block; row < end; row++) {
      let id: u32 = 0;
      if (masked) {
        id = load<u32>(ids + (<usize>row << 2));
        if (!allowed(flags, mask, row, id)) continue;
      }
      let h = <u32>hamming(q, vectors + <usize>row * rowBytes, rowBytes);
      if (h > threshold) continue;
      if (!masked) {
        if ((load<u8>(flags + <usize>row) & FLAG_LIVE) == 0) continue;
        id = load<u32>(ids + (<usize>row << 2));
      }
      threshold = listRow(request, segment, heap, q, row, id, h);
    }
  }
  return to - from;
}

/**
 * Lists a row at Hamming distance `h` for a bit scan (at most its threshold), counts it, lowers the
 * threshold while the distances below it alone hold k rows, and returns the new threshold.
 */
function listRow(request: usize, segment: usize, heap: usize, q: usize, row: i32, id: u32, h: u32): u32 {
  let k = changetype<Request>(request).k;
  let list = candidatesOf(request, heap), counts = countsOf(request, list);
  let threshold = load<u32>(list, LIST_THRESHOLD), atMost = load<u32>(list, LIST_AT_MOST) + 1;
  let at = counts + (<usize>h << 2);
  store<u32>(at, load<u32>(at) + 1);
  while (atMost - load<u32>(counts + (<usize>threshold << 2)) >= k) {
    atMost -= load<u32>(counts + (<usize>threshold << 2));
    threshold--;
  }
  store<u32>(list, threshold, LIST_THRESHOLD);
  store<u32>(list, atMost, LIST_AT_MOST);
  if (load<u32>(list) == 2 * k) compactList(request, heap, list, q);
  let n = load<u32>(list), e = entryAt(list, n);
  store<u32>(e, <u32>segment); store<u32>(e, <u32>row, 4); store<u32>(e, h, 8); store<u32>(e, id, 12);
  store<u32>(list, n + 1);
  return threshold;
}

/**
 * Scans rows [from, to) for every query of the request, each with its own heap (`heaps` + i·heapBytes).
 * Rows are taken a cache-sized tile at a time and each tile is read once per block of four queries,
 * so a batch is bound by arithmetic rather than by memory. Returns rows scanned, or −1 when cancelled.
 */
export function scanTopKBatch(request: usize, segment: usize, from: i32, to: i32, heaps: usize, heapBytes: u32): i32 {
  let count = <i32>changetype<Request>(request).count;
  let quant = changetype<Request>(request).quant;
  let tile = max(1, TILE_BYTES / <i32>rowBytesOf(request, quant));
  for (let start = from; start < to; start += tile) {
    if (cancelled(request)) return -1;
    let end = min(to, start + tile);
    let qi = 0;
    let split = quant == QUANT_INT8 && changetype<Request>(request).splitBytes != 0;
    for (; qi + 4 <= count; qi += 4) {
      let block = heaps + <usize>qi * heapBytes;
      if (split) scanBlock4Split(request, segment, start, end, qi, block, heapBytes);
      else if (quant == QUANT_INT8) scanBlock4Codes(request, segment, start, end, qi, block, heapBytes, QUANT_INT8);
      else if (quant == QUANT_BINARY) scanBlock4Codes(request, segment, start, end, qi, block, heapBytes, QUANT_BINARY);
      else scanBlock4(request, segment, start, end, qi, block, heapBytes);
    }
    for (; qi < count; qi++) scanTopK(request, segment, start, end, qi, heaps + <usize>qi * heapBytes);
  }
  return to - from;
}

/**
 * The 4-query block of scanTopKBatch over codes: each row's codes are loaded (and, for int8,
 * sign-extended) once and fed to all four queries.
 */
// @ts-ignore: decorator
@inline function scanBlock4Codes(request: usize, segment: usize, from: i32, to: i32, qi: i32, heaps: usize, heapBytes: u32, quant: u32): void {
  let r = changetype<Request>(request);
  let k = r.k, mask = <usize>r.mask, rowBytes = <usize>r.codeStride, step = <usize>r.codeBytes;
  let q0 = queryAt(request, qi, quant), q1 = q0 + step, q2 = q1 + step, q3 = q2 + step;
  let c0 = load<f32>(q0 - CODE_HEADER), c1 = load<f32>(q1 - CODE_HEADER), c2 = load<f32>(q2 - CODE_HEADER), c3 = load<f32>(q3 - CODE_HEADER);
  let g = changetype<Segment>(segment);
  let vectors = <usize>g.vectors, flags = <usize>g.flags, ids = <usize>g.ids, scales = <usize>g.scales;
  let hb = <usize>heapBytes;
  // Refined binary rows in similarity mode list their rows as one query's scan does (scanBitsRefined).
  let listing = listsRows(request, quant);
  if (!listing) for (let i: usize = 0; i < 4; i++) keepFloor(request, candidatesOf(request, heaps + i * hb), k);
  let row = from;
  while (row < to) {
    let id = load<u32>(ids + (<usize>row << 2));
    if (!allowed(flags, mask, row, id)) { row++; continue; }
    let x = vectors + <usize>row * rowBytes;
    if (quant == QUANT_INT8) {
      let rowScale = load<f32>(scales + (<usize>row << 2));
      if (ASC_FEATURE_SIMD) {
        // Two live neighbours at once: each query chunk loaded then feeds both rows.
        let next = row + 1;
        let idB = next < to ? load<u32>(ids + (<usize>next << 2)) : 0;
        if (next < to && allowed(flags, mask, next, idB)) {
          let y = x + rowBytes;
          let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
          let b0 = i32x4.splat(0), b1 = i32x4.splat(0), b2 = i32x4.splat(0), b3 = i32x4.splat(0);
          for (let i: usize = 0; i < rowBytes; i += 16) {
            let qx = i << 1;
            let ul = v128.load_ext<i8>(x + i), uh = v128.load_ext<i8>(x + i, 8);
            let vl = v128.load_ext<i8>(y + i), vh = v128.load_ext<i8>(y + i, 8);
            let l = v128.load(q0 + qx), h = v128.load(q0 + qx, 16);
            a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(ul, l), i32x4.dot_i16x8_s(uh, h)));
            b0 = i32x4.add(b0, i32x4.add(i32x4.dot_i16x8_s(vl, l), i32x4.dot_i16x8_s(vh, h)));
            l = v128.load(q1 + qx); h = v128.load(q1 + qx, 16);
            a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(ul, l), i32x4.dot_i16x8_s(uh, h)));
            b1 = i32x4.add(b1, i32x4.add(i32x4.dot_i16x8_s(vl, l), i32x4.dot_i16x8_s(vh, h)));
            l = v128.load(q2 + qx); h = v128.load(q2 + qx, 16);
            a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(ul, l), i32x4.dot_i16x8_s(uh, h)));
            b2 = i32x4.add(b2, i32x4.add(i32x4.dot_i16x8_s(vl, l), i32x4.dot_i16x8_s(vh, h)));
            l = v128.load(q3 + qx); h = v128.load(q3 + qx, 16);
            a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(ul, l), i32x4.dot_i16x8_s(uh, h)));
            b3 = i32x4.add(b3, i32x4.add(i32x4.dot_i16x8_s(vl, l), i32x4.dot_i16x8_s(vh, h)));
          }
          let scaleB = load<f32>(scales + (<usize>next << 2));
          settle(request, segment, heaps, hb, qi, row, id, <f32>laneSum(a0) * c0 * rowScale, <f32>laneSum(a1) * c1 * rowScale, <f32>laneSum(a2) * c2 * rowScale, <f32>laneSum(a3) * c3 * rowScale);
          settle(request, segment, heaps, hb, qi, next, idB, <f32>laneSum(b0) * c0 * scaleB, <f32>laneSum(b1) * c1 * scaleB, <f32>laneSum(b2) * c2 * scaleB, <f32>laneSum(b3) * c3 * scaleB);
          row += 2;
          continue;
        }
        let s = dotInt8Four(x, rowBytes, q0, q1, q2, q3);
        settle(request, segment, heaps, hb, qi, row, id, <f32>i32x4.extract_lane(s, 0) * c0 * rowScale, <f32>i32x4.extract_lane(s, 1) * c1 * rowScale,
          <f32>i32x4.extract_lane(s, 2) * c2 * rowScale, <f32>i32x4.extract_lane(s, 3) * c3 * rowScale);
      } else {
        settle(request, segment, heaps, hb, qi, row, id, <f32>dotInt8(q0, x, rowBytes) * c0 * rowScale, <f32>dotInt8(q1, x, rowBytes) * c1 * rowScale,
          <f32>dotInt8(q2, x, rowBytes) * c2 * rowScale, <f32>dotInt8(q3, x, rowBytes) * c3 * rowScale);
      }
    } else {
      let h0: u64 = 0, h1: u64 = 0, h2: u64 = 0, h3: u64 = 0;
      for (let i: usize = 0; i < rowBytes; i += 8) {
        let w = load<u64>(x + i);
        h0 += popcnt<u64>(w ^ load<u64>(q0 + i));
        h1 += popcnt<u64>(w ^ load<u64>(q1 + i));
        h2 += popcnt<u64>(w ^ load<u64>(q2 + i));
        h3 += popcnt<u64>(w ^ load<u64>(q3 + i));
      }
      if (listing) {
        let b1 = heaps + hb, b2 = b1 + hb, b3 = b2 + hb;
        if (<u32>h0 <= load<u32>(candidatesOf(request, heaps), LIST_THRESHOLD)) listRow(request, segment, heaps, q0, row, id, <u32>h0);
        if (<u32>h1 <= load<u32>(candidatesOf(request, b1), LIST_THRESHOLD)) listRow(request, segment, b1, q1, row, id, <u32>h1);
        if (<u32>h2 <= load<u32>(candidatesOf(request, b2), LIST_THRESHOLD)) listRow(request, segment, b2, q2, row, id, <u32>h2);
        if (<u32>h3 <= load<u32>(candidatesOf(request, b3), LIST_THRESHOLD)) listRow(request, segment, b3, q3, row, id, <u32>h3);
      } else {
        settle(request, segment, heaps, hb, qi, row, id, 1 - <f32>h0 * c0, 1 - <f32>h1 * c1, 1 - <f32>h2 * c2, 1 - <f32>h3 * c3);
      }
    }
    row++;
  }
}

/** Horizontal sum of an i32x4. */
// @ts-ignore: decorator
@inline function laneSum(a: v128): i32 {
  return i32x4.extract_lane(a, 0) + i32x4.extract_lane(a, 1) + i32x4.extract_lane(a, 2) + i32x4.extract_lane(a, 3);
}

/**
 * Four queries' int8 sums over `bytes` row codes at `x` (SIMD builds), as the lanes of one i32x4:
 * each 16 row bytes are loaded and sign-extended once for the four.
 */
// @ts-ignore: decorator
@inline function dotInt8Four(x: usize, bytes: usize, q0: usize, q1: usize, q2: usize, q3: usize): v128 {
  let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
  for (let i: usize = 0; i < bytes; i += 16) {
    let qx = i << 1;
    let lo = v128.load_ext<i8>(x + i), hi = v128.load_ext<i8>(x + i, 8);
    a0 = i32x4.add(a0, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(q0 + qx)), i32x4.dot_i16x8_s(hi, v128.load(q0 + qx, 16))));
    a1 = i32x4.add(a1, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(q1 + qx)), i32x4.dot_i16x8_s(hi, v128.load(q1 + qx, 16))));
    a2 = i32x4.add(a2, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(q2 + qx)), i32x4.dot_i16x8_s(hi, v128.load(q2 + qx, 16))));
    a3 = i32x4.add(a3, i32x4.add(i32x4.dot_i16x8_s(lo, v128.load(q3 + qx)), i32x4.dot_i16x8_s(hi, v128.load(q3 + qx, 16))));
  }
  let s = i32x4.splat(laneSum(a0));
  s = i32x4.replace_lane(s, 1, laneSum(a1));
  s = i32x4.replace_lane(s, 2, laneSum(a2));
  return i32x4.replace_lane(s, 3, laneSum(a3));
}

/**
 * The 4-query block of scanTopKBatch over split int8 rows: each row's first part is loaded and
 * sign-extended once for the four queries, and each query reads the rest only where its bound
 * can reach its own floor (`finishSplit`).
 */
function scanBlock4Split(request: usize, segment: usize, from: i32, to: i32, qi: i32, heaps: usize, heapBytes: u32): void {
  let r = changetype<Request>(request), g = changetype<Segment>(segment);
  let k = r.k, mask = <usize>r.mask, rowBytes = <usize>r.codeStride, step = <usize>r.codeBytes, split = <usize>r.splitBytes;
  let q0 = queryAt(request, qi, QUANT_INT8), q1 = q0 + step, q2 = q1 + step, q3 = q2 + step;
  let c0 = load<f32>(q0 - CODE_HEADER), c1 = load<f32>(q1 - CODE_HEADER), c2 = load<f32>(q2 - CODE_HEADER), c3 = load<f32>(q3 - CODE_HEADER);
  // Each query's tail norm in its own units.
  let t0 = <f64>load<f32>(q0 - CODE_HEADER + 4) * <f64>c0, t1 = <f64>load<f32>(q1 - CODE_HEADER + 4) * <f64>c1;
  let t2 = <f64>load<f32>(q2 - CODE_HEADER + 4) * <f64>c2, t3 = <f64>load<f32>(q3 - CODE_HEADER + 4) * <f64>c3;
  let vectors = <usize>g.vectors, tailCodes = <usize>g.tailCodes, tails = <usize>g.tails, scales = <usize>g.scales;
  let flags = <usize>g.flags, ids = <usize>g.ids, hb = <usize>heapBytes, tailBytes = rowBytes - split;
  let h0 = candidatesOf(request, heaps), h1 = candidatesOf(request, heaps + hb), h2 = candidatesOf(request, heaps + 2 * hb), h3 = candidatesOf(request, heaps + 3 * hb);
  keepFloor(request, h0, k); keepFloor(request, h1, k); keepFloor(request, h2, k); keepFloor(request, h3, k);
  for (let row = from; row < to; row++) {
    let id = load<u32>(ids + (<usize>row << 2));
    if (!allowed(flags, mask, row, id)) continue;
    let x = vectors + <usize>row * split;
    let a0: i32, a1: i32, a2: i32, a3: i32;
    if (ASC_FEATURE_SIMD) {
      let s = dotInt8Four(x, split, q0, q1, q2, q3);
      a0 = i32x4.extract_lane(s, 0); a1 = i32x4.extract_lane(s, 1); a2 = i32x4.extract_lane(s, 2); a3 = i32x4.extract_lane(s, 3);
    } else {
      a0 = dotInt8(q0, x, split); a1 = dotInt8(q1, x, split); a2 = dotInt8(q2, x, split); a3 = dotInt8(q3, x, split);
    }
    let o = <usize>row << 2, rowScale = load<f32>(scales + o), xTail = <f64>load<f32>(tails + o);
    let tail = tailCodes + <usize>row * tailBytes;
    settle(request, segment, heaps, hb, qi, row, id,
      finishSplit(a0, q0, c0, tail, rowBytes, split, rowScale, t0 * xTail, load<f32>(h0, 4)),
      finishSplit(a1, q1, c1, tail, rowBytes, split, rowScale, t1 * xTail, load<f32>(h1, 4)),
      finishSplit(a2, q2, c2, tail, rowBytes, split, rowScale, t2 * xTail, load<f32>(h2, 4)),
      finishSplit(a3, q3, c3, tail, rowBytes, split, rowScale, t3 * xTail, load<f32>(h3, 4)));
  }
}

/**
 * Offers one row's similarities for a block of four queries to their heaps. Each heap keeps its
 * similarity floor in its header (bytes 4..8), so most rows are turned away by four compares.
 */
function settle(request: usize, segment: usize, heap: usize, heapBytes: usize, qi: i32, row: i32, id: u32, s0: f32, s1: f32, s2: f32, s3: f32): void {
  let h1 = heap + heapBytes, h2 = h1 + heapBytes, h3 = h2 + heapBytes;
  let c0 = candidatesOf(request, heap), c1 = candidatesOf(request, h1), c2 = candidatesOf(request, h2), c3 = candidatesOf(request, h3);
  if (s0 < load<f32>(c0, 4) && s1 < load<f32>(c1, 4) && s2 < load<f32>(c2, 4) && s3 < load<f32>(c3, 4)) return;
  let o = <usize>row << 3;
  let g = changetype<Segment>(segment);
  let c = load<f64>(<usize>g.logC + o), w = load<f64>(<usize>g.logW + o), t = load<f64>(<usize>g.time + o);
  let kept = consider(request, c0, s0, c, w, t, id) | consider(request, c1, s1, c, w, t, id) << 1
    | consider(request, c2, s2, c, w, t, id) << 2 | consider(request, c3, s3, c, w, t, id) << 3;
  if (kept == 0 || changetype<Request>(request).refineK == 0) return;
  let q = queryAt(request, qi, QUANT_BINARY), step = <usize>changetype<Request>(request).codeBytes;
  if (kept & 1) refineRow(request, segment, heap, q, row, id);
  if (kept & 2) refineRow(request, segment, h1, q + step, row, id);
  if (kept & 4) refineRow(request, segment, h2, q + 2 * step, row, id);
  if (kept & 8) refineRow(request, segment, h3, q + 3 * step, row, id);
}

/** Writes a heap's floor and its tie id into the heap's header, where the batch kernel reads them. */
function keepFloor(request: usize, heap: usize, k: u32): void {
  store<f32>(heap, similarityFloor(request, heap, k), 4);
  store<u32>(heap, floorTieId(request, heap, k), 8);
}

/** Offers one query's similarity to its heap (a bit scan's own, with refineK); 1 when it was kept. */
// @ts-ignore: decorator
@inline function consider(request: usize, heap: usize, sim: f32, c: f64, w: f64, t: f64, id: u32): i32 {
  let floor = load<f32>(heap, 4);
  if (sim < floor || (sim == floor && id > load<u32>(heap, 8))) return 0;
  let r = changetype<Request>(request), k = r.k;
  let key = r.mode == MODE_PRIORITY ? priorityKey(sim, r.alpha, c, w, t, r.now, r.decay) : <f64>sim;
  let got = offer(heap, k, key, sim, id);
  if ((got & FLOOR_MOVED) != 0) keepFloor(request, heap, k);
  return (got & KEPT) != 0 ? 1 : 0;
}

/**
 * The 4-query block of scanTopKBatch. Where two neighbouring rows are both live it takes them
 * together: each query chunk loaded then feeds two rows (eight accumulators), which is what bounds
 * a batch once the rows sit in cache.
 */
function scanBlock4(request: usize, segment: usize, from: i32, to: i32, qi: i32, heaps: usize, heapBytes: u32): void {
  let r = changetype<Request>(request);
  let k = r.k, mask = <usize>r.mask, stride = <i32>r.stride;
  let rowBytes = <usize>stride << 2;
  let q0 = <usize>r.queries + <usize>qi * rowBytes;
  let q1 = q0 + rowBytes, q2 = q1 + rowBytes, q3 = q2 + rowBytes;
  let g = changetype<Segment>(segment);
  let vectors = <usize>g.vectors, flags = <usize>g.flags, ids = <usize>g.ids;
  let hb = <usize>heapBytes;
  for (let i: usize = 0; i < 4; i++) keepFloor(request, candidatesOf(request, heaps + i * hb), k);
  let row = from;
  while (row < to) {
    let idA = load<u32>(ids + (<usize>row << 2));
    let okA = allowed(flags, mask, row, idA);
    let rA = vectors + <usize>row * rowBytes;
    if (row + 1 < to) {
      let idB = load<u32>(ids + (<usize>(row + 1) << 2));
      if (okA && allowed(flags, mask, row + 1, idB)) {
        let rB = rA + rowBytes;
        if (ASC_FEATURE_SIMD) {
          let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
          for (let i: usize = 0; i < rowBytes; i += 16) {
            let x = v128.load(rA + i), y = v128.load(rB + i);
            let q = v128.load(q0 + i);
            a0 = f32x4.add(a0, f32x4.mul(x, q)); b0 = f32x4.add(b0, f32x4.mul(y, q));
            q = v128.load(q1 + i);
            a1 = f32x4.add(a1, f32x4.mul(x, q)); b1 = f32x4.add(b1, f32x4.mul(y, q));
            q = v128.load(q2 + i);
            a2 = f32x4.add(a2, f32x4.mul(x, q)); b2 = f32x4.add(b2, f32x4.mul(y, q));
            q = v128.load(q3 + i);
            a3 = f32x4.add(a3, f32x4.mul(x, q)); b3 = f32x4.add(b3, f32x4.mul(y, q));
          }
          settle(request, segment, heaps, hb, qi, row, idA, lanes(a0), lanes(a1), lanes(a2), lanes(a3));
          settle(request, segment, heaps, hb, qi, row + 1, idB, lanes(b0), lanes(b1), lanes(b2), lanes(b3));
        } else {
          settle(request, segment, heaps, hb, qi, row, idA, dot(q0, rA, stride), dot(q1, rA, stride), dot(q2, rA, stride), dot(q3, rA, stride));
          settle(request, segment, heaps, hb, qi, row + 1, idB, dot(q0, rB, stride), dot(q1, rB, stride), dot(q2, rB, stride), dot(q3, rB, stride));
        }
        row += 2;
        continue;
      }
    }
    if (okA) {
      if (ASC_FEATURE_SIMD) {
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
        for (let i: usize = 0; i < rowBytes; i += 16) {
          let x = v128.load(rA + i);
          a0 = f32x4.add(a0, f32x4.mul(x, v128.load(q0 + i)));
          a1 = f32x4.add(a1, f32x4.mul(x, v128.load(q1 + i)));
          a2 = f32x4.add(a2, f32x4.mul(x, v128.load(q2 + i)));
          a3 = f32x4.add(a3, f32x4.mul(x, v128.load(q3 + i)));
        }
        settle(request, segment, heaps, hb, qi, row, idA, lanes(a0), lanes(a1), lanes(a2), lanes(a3));
      } else {
        settle(request, segment, heaps, hb, qi, row, idA, dot(q0, rA, stride), dot(q1, rA, stride), dot(q2, rA, stride), dot(q3, rA, stride));
      }
    }
    row++;
  }
}

/**
 * The exact float32 similarity of a query (`stride` floats at `q`) to `count` rows copied one after
 * another at `rows` (`stride` floats each, zero padded): the rerank of quantized scans, with the very
 * arithmetic of a float32 scan, so both give a row the same similarity. Writes f32 `out[i]`.
 */
export function dotRows(q: usize, rows: usize, count: i32, stride: i32, out: usize): void {
  let rowBytes = <usize>stride << 2;
  for (let i = 0; i < count; i++) store<f32>(out + (<usize>i << 2), dot(q, rows + <usize>i * rowBytes, stride));
}

/** Sums `bytes` bytes (a multiple of 64) from `ptr` as f32x4: the memory-bandwidth probe of the benchmark. */
export function readProbe(ptr: usize, bytes: usize): f32 {
  if (!ASC_FEATURE_SIMD) {
    let sum: f32 = 0;
    for (let i: usize = 0; i < bytes; i += 4) sum += load<f32>(ptr + i);
    return sum;
  }
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  for (let i: usize = 0; i < bytes; i += 64) {
    a0 = f32x4.add(a0, v128.load(ptr + i));
    a1 = f32x4.add(a1, v128.load(ptr + i, 16));
    a2 = f32x4.add(a2, v128.load(ptr + i, 32));
    a3 = f32x4.add(a3, v128.load(ptr + i, 48));
  }
  let s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return f32x4.extract_lane(s, 0);
}

/**
 * The byte layout the kernels read, for the host's table to be checked against (one entry per
 * `field`, in the order of `LAYOUT_FIELDS` in src/engine/kernels.ts); −1 past the end.
 */
export function layoutOffset(field: i32): i32 {
  switch (field) {
    case 0: return <i32>offsetof<Request>('cancel');
    case 1: return <i32>offsetof<Request>('k');
    case 2: return <i32>offsetof<Request>('mode');
    case 3: return <i32>offsetof<Request>('stride');
    case 4: return <i32>offsetof<Request>('alpha');
    case 5: return <i32>offsetof<Request>('now');
    case 6: return <i32>offsetof<Request>('decay');
    case 7: return <i32>offsetof<Request>('maxLogW');
    case 8: return <i32>offsetof<Request>('queries');
    case 9: return <i32>offsetof<Request>('count');
    case 10: return <i32>offsetof<Request>('mask');
    case 11: return <i32>offsetof<Request>('quant');
    case 12: return <i32>offsetof<Request>('codeStride');
    case 13: return <i32>offsetof<Request>('codes');
    case 14: return <i32>offsetof<Request>('codeBytes');
    case 15: return <i32>offsetof<Request>('refineK');
    case 16: return <i32>offsetof<Request>('refineStride');
    case 17: return <i32>offsetof<Request>('splitBytes');
    case 18: return <i32>offsetof<Segment>('vectors');
    case 19: return <i32>offsetof<Segment>('logC');
    case 20: return <i32>offsetof<Segment>('logW');
    case 21: return <i32>offsetof<Segment>('time');
    case 22: return <i32>offsetof<Segment>('flags');
    case 23: return <i32>offsetof<Segment>('ids');
    case 24: return <i32>offsetof<Segment>('scales');
    case 25: return <i32>offsetof<Segment>('refine');
    case 26: return <i32>offsetof<Segment>('tails');
    case 27: return <i32>offsetof<Segment>('tailCodes');
    case 28: return <i32>HEAP_HEADER;
    case 29: return <i32>ENTRY;
  }
  return -1;
}

// Rows of the arena: unit vectors and their side columns, in segments appended at the end of memory.
// A segment never moves, and a scan works on the row count it saw when it started, so appends never
// disturb a scan that is already running. Quantized rows keep codes in the segment and the float32
// vectors beside it in JavaScript memory, one array a segment, so a store can hold more float32
// than the wasm memory's 4 GiB and the rerank reads them without touching the arena. A durable
// store hands its rows a `FloatRows` file instead (keepFloatsIn), so the float32 vectors stay on
// disk and only the rows a rerank asks for are read.
import { InternalError } from '../resilience/errors.js';
import type { Arena } from './arena.js';
import { Layout, type RowFormat, segmentColumns, writeSegmentHeader, type SegmentColumns } from './kernels.js';
import { encodeInt8Row, encodeSignBits, type Quantization, rowFormat, tailNorm } from './quantize.js';

export interface Segment {
  readonly base: number;
  readonly firstRow: number;
  readonly capacity: number;
  readonly columns: SegmentColumns;
  /** Quantized rows kept in memory: the float32 vectors, `dim` values a row. */
  readonly floats: Float32Array | undefined;
}

/**
 * Where quantized rows keep their float32 vectors instead of memory: `dim` floats a row, by row
 * number. Rows are written in order, once; a row taken out of the store is erased.
 */
export interface FloatRows {
  write(row: number, vector: Float32Array): void;
  /** Copies a row's `dim` floats into `into` at index `at`. */
  read(row: number, into: Float32Array, at: number): void;
  /** Zeroes a row that is no longer in the store (a forgotten vector leaves no copy behind). */
  erase(row: number): void;
  /** Bytes of vectors it holds in memory (rows not yet written). */
  readonly residentBytes: number;
}

/** A part of one segment that one kernel call scans. */
export interface Piece {
  segment: number;   // the segment's base pointer
  from: number;      // row within the segment
  to: number;
}

/** Per-row values beside a vector, as the host knows them. */
export interface RowValues {
  id: number;
  centrality: number;
  weight: number;
  /** The time recency counts from, in ms since epoch. */
  timeMs: number;
}

/** ln max(0.1, C): the kernel's centrality column (C below 0.1 counts as 0.1). */
const logCentrality = (c: number) => Math.log(Math.max(0.1, c));

export class RowStore {
  /** Floats of a query (and of a float32 row): dim rounded up to 4. */
  readonly stride: number;
  /** Bytes a row takes in the vectors column: the float32 vector or its codes. */
  readonly format: RowFormat;
  readonly #segments: Segment[] = [];
  #rows = 0;
  #capacity = 0;
  #maxLogWeight = 0;
  /** Quantized rows: the newest row of each id (the rerank gets ids from the kernels). */
  #rowOfId = new Int32Array(0);
  /** Quantized rows of a durable store: their float32 vectors, on disk. */
  #floatRows: FloatRows | undefined;
  /** One row's floats as read from `#floatRows`. */
  #scratch: Float32Array | undefined;
  /** One int8 row's codes before they are split into head and tail. */
  #codes: Int8Array | undefined;

  /**
   * Times are kept as seconds from `baseTimeMs` in f64 columns, so they keep sub-millisecond
   * precision (f32 milliseconds since 1970 would be minutes off).
   */
  constructor(
    private readonly arena: Arena,
    readonly dim: number,
    private readonly segmentRows: number,
    private readonly firstSegmentRows: number,
    readonly baseTimeMs: number,
    readonly quantization: Quantization = 'none',
  ) {
    this.stride = Math.ceil(dim / 4) * 4;
    this.format = rowFormat(dim, quantization);
  }

  /** Bytes of float32 vectors kept in memory outside the wasm memory (quantized rows). */
  get outsideBytes(): number {
    if (this.quantization === 'none') return 0;
    return this.#floatRows ? this.#floatRows.residentBytes : this.#capacity * this.dim * 4;
  }

  /** Quantized rows keep their float32 vectors in `floatRows` (before the first row is stored). */
  keepFloatsIn(floatRows: FloatRows): void {
    if (this.quantization === 'none') throw new InternalError('float32 rows keep their vectors in the arena');
    if (this.#capacity > 0) throw new InternalError('the float32 vectors can move out of memory only before the first row');
    this.#floatRows = floatRows;
  }

  /** The largest ln W ever stored: the kernel's bound for skipping rows that cannot make the heap. */
  get maxLogWeight(): number {
    return this.#maxLogWeight;
  }

  /** A time in ms since epoch as the kernel's time column holds it. */
  seconds(ms: number): number {
    return (ms - this.baseTimeMs) / 1000;
  }

  get count(): number {
    return this.#rows;
  }

  get segments(): readonly Segment[] {
    return this.#segments;
  }

  /** Rows the next segment will hold. */
  #nextCapacity(): number {
    return Math.min(this.segmentRows, this.firstSegmentRows * 4 ** this.#segments.length);
  }

  /** Bytes that appending `rows` rows would allocate now (0 when they fit in the segments there are). */
  bytesToAppend(rows: number): number {
    let bytes = 0;
    for (let capacity = this.#capacity, n = 0; capacity < this.#rows + rows; n++) {
      const size = Math.min(this.segmentRows, this.firstSegmentRows * 4 ** (this.#segments.length + n));
      bytes += segmentColumns(0, size, this.format).bytes + Layout.ALIGN;
      capacity += size;
    }
    return bytes;
  }

  /** Makes room for `rows` more rows; either every segment needed is allocated or the call throws. */
  reserve(rows: number): void {
    while (this.#capacity < this.#rows + rows) {
      const capacity = this.#nextCapacity();
      const size = segmentColumns(0, capacity, this.format).bytes;
      // The JavaScript array first: when it cannot be had, nothing in the arena was spent.
      const floats = this.quantization === 'none' || this.#floatRows ? undefined : new Float32Array(capacity * this.dim);
      const base = this.arena.alloc(size);
      const { columns } = segmentColumns(base, capacity, this.format);
      writeSegmentHeader(this.arena.views, base, columns);
      this.#segments.push({ base, firstRow: this.#capacity, capacity, columns, floats });
      this.#capacity += capacity;
    }
  }

  /**
   * Appends one row: `unit` holds `dim` values already normalised. The caller reserves first; the
   * row's live flag is written last, so a row is never visible half written.
   */
  append(unit: Float32Array, values: RowValues): number {
    const row = this.#rows;
    const { segment, offset } = this.locate(row);
    const c = segment.columns, views = this.arena.views;
    const vector = unit.length === this.dim ? unit : unit.subarray(0, this.dim);
    if (this.quantization !== 'none') this.#appendCodes(segment, offset, vector, values.id);
    else {
      const start = (c.vectors >>> 2) + offset * this.stride;
      views.f32.set(vector, start);
      views.f32.fill(0, start + this.dim, start + this.stride);
    }
    views.f64[(c.logCentrality >>> 3) + offset] = logCentrality(values.centrality);
    views.f64[(c.logWeight >>> 3) + offset] = this.#logWeight(values.weight);
    views.f64[(c.time >>> 3) + offset] = this.seconds(values.timeMs);
    views.u32[(c.ids >>> 2) + offset] = values.id;
    views.u8[c.flags + offset] = Layout.FLAG_LIVE;
    this.#rows++;
    return row;
  }

  #appendCodes(segment: Segment, offset: number, vector: Float32Array, id: number): void {
    const c = segment.columns, views = this.arena.views, bytes = this.format.vectorBytes;
    if (this.#floatRows) this.#floatRows.write(this.#rows, vector);
    else segment.floats!.set(vector, offset * this.dim);
    const at = c.vectors + offset * bytes;
    const split = this.format.splitBytes;
    if (this.quantization === 'int8' && split > 0) {
      // The codes are made whole, then go to the head and tail columns.
      const codes = (this.#codes ??= new Int8Array(bytes));
      views.f32[(c.scales >>> 2) + offset] = encodeInt8Row(vector, this.dim, codes, 0, bytes);
      views.i8.set(codes.subarray(0, split), c.vectors + offset * split);
      views.i8.set(codes.subarray(split), c.tailCodes + offset * (bytes - split));
      views.f32[(c.tails >>> 2) + offset] = tailNorm(codes, split, bytes);
    } else if (this.quantization === 'int8') {
      views.f32[(c.scales >>> 2) + offset] = encodeInt8Row(vector, this.dim, views.i8, at, bytes);
    } else {
      encodeSignBits(vector, this.dim, views.u8, at, bytes);
      const refineBytes = this.format.refineBytes;
      views.f32[(c.scales >>> 2) + offset] = encodeInt8Row(vector, this.dim, views.i8, c.refine + offset * refineBytes, refineBytes);
    }
    if (id >= this.#rowOfId.length) {
      const grown = new Int32Array(Math.max(1024, 2 * this.#rowOfId.length, id + 1));
      grown.set(this.#rowOfId);
      this.#rowOfId = grown;
    }
    this.#rowOfId[id] = this.#rows;
  }

  /** Quantized rows: the newest row stored for an id. */
  rowOf(id: number): number {
    return this.#rowOfId[id]!;
  }

  /** A row's f64 columns, for the host's own priority key. */
  sideValues(row: number): { logCentrality: number; logWeight: number; time: number } {
    const { segment, offset } = this.locate(row);
    const f64 = this.arena.views.f64, c = segment.columns;
    return { logCentrality: f64[(c.logCentrality >>> 3) + offset]!, logWeight: f64[(c.logWeight >>> 3) + offset]!, time: f64[(c.time >>> 3) + offset]! };
  }

  /** The segment holding a row and the row's index within it. */
  locate(row: number): { segment: Segment; offset: number } {
    let lo = 0, hi = this.#segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#segments[mid]!.firstRow <= row) lo = mid;
      else hi = mid - 1;
    }
    const segment = this.#segments[lo]!;
    return { segment, offset: row - segment.firstRow };
  }

  setLive(row: number, live: boolean): void {
    const { segment, offset } = this.locate(row);
    this.arena.views.u8[segment.columns.flags + offset] = live ? Layout.FLAG_LIVE : 0;
    if (!live) this.#floatRows?.erase(row);
  }

  setWeight(row: number, weight: number): void {
    const { segment, offset } = this.locate(row);
    this.arena.views.f64[(segment.columns.logWeight >>> 3) + offset] = this.#logWeight(weight);
  }

  setCentrality(row: number, centrality: number): void {
    const { segment, offset } = this.locate(row);
    this.arena.views.f64[(segment.columns.logCentrality >>> 3) + offset] = logCentrality(centrality);
  }

  setTime(row: number, ms: number): void {
    const { segment, offset } = this.locate(row);
    this.arena.views.f64[(segment.columns.time >>> 3) + offset] = this.seconds(ms);
  }

  #logWeight(weight: number): number {
    const value = Math.log(weight);
    this.#maxLogWeight = Math.max(this.#maxLogWeight, value);
    return value;
  }

  /**
   * Where a row's float32 vector lies, from `start`: read from the durable store's file into a scratch
   * row, in its segment's floats (quantized rows in memory) or in the arena.
   */
  #floatsOf(row: number): { floats: Float32Array; start: number } {
    if (this.#floatRows) {
      this.#scratch ??= new Float32Array(this.dim);
      this.#floatRows.read(row, this.#scratch, 0);
      return { floats: this.#scratch, start: 0 };
    }
    const { segment, offset } = this.locate(row);
    if (segment.floats) return { floats: segment.floats, start: offset * this.dim };
    return { floats: this.arena.views.f32, start: (segment.columns.vectors >>> 2) + offset * this.stride };
  }

  /** A copy of a row's stored unit vector. */
  vector(row: number): Float32Array {
    const { floats, start } = this.#floatsOf(row);
    return floats.slice(start, start + this.dim);
  }

  /** Copies a row's stored unit vector into `into` at index `at` (`dim` floats). */
  copyVector(row: number, into: Float32Array, at: number): void {
    if (this.#floatRows) return this.#floatRows.read(row, into, at);
    const { floats, start } = this.#floatsOf(row);
    into.set(floats.subarray(start, start + this.dim), at);
  }

  /** A row's stored unit vector · `unit`, in float64 (for the few rows the host scores itself). */
  dot(row: number, unit: ArrayLike<number>): number {
    const { floats, start } = this.#floatsOf(row);
    let sum = 0;
    for (let j = 0; j < this.dim; j++) sum += floats[start + j]! * unit[j]!;
    return sum;
  }

  /**
   * Splits rows [0, rows) into `parts` contiguous, nearly equal ranges, each as pieces of at most
   * `maxPieceRows` rows that never cross a segment.
   */
  plan(rows: number, parts: number, maxPieceRows: number): Piece[][] {
    const plans: Piece[][] = [];
    for (let p = 0; p < parts; p++) {
      const start = Math.floor((rows * p) / parts), end = Math.floor((rows * (p + 1)) / parts);
      const pieces: Piece[] = [];
      for (let row = start; row < end; ) {
        const { segment, offset } = this.locate(row);
        const to = Math.min(segment.capacity, offset + (end - row), offset + maxPieceRows);
        pieces.push({ segment: segment.base, from: offset, to });
        row += to - offset;
      }
      if (pieces.length > 0) plans.push(pieces);
    }
    return plans;
  }
}

// The narrow boundary with the wasm kernels: the only file that knows their export names, the byte
// layout of the structures they read (see assembly/index.ts), and the only code that touches
// `memory.buffer`. Above it, code speaks in rows, vectors and ids.

/**
 * Byte offsets of the structures the kernels read (assembly/index.ts): the request header, the
 * segment header and the heap. A test checks each against the kernel's own `layoutOffset`.
 */
export const Offsets = Object.freeze({
  request: Object.freeze({
    cancel: 0, k: 4, mode: 8, stride: 12, alpha: 16, now: 24, decay: 32, maxLogW: 40, queries: 48, count: 52, mask: 56,
    quant: 60, codeStride: 64, codes: 68, codeBytes: 72, refineK: 76, refineStride: 80, splitBytes: 84,
  }),
  segment: Object.freeze({ vectors: 0, logC: 4, logW: 8, time: 12, flags: 16, ids: 20, scales: 24, refine: 28, tails: 32, tailCodes: 36 }),
  heap: Object.freeze({ header: 16, entry: 16 }),
});

/** The order in which the kernel's `layoutOffset(i)` answers for each field of `Offsets`. */
export const LAYOUT_FIELDS = [
  ...Object.entries(Offsets.request).map(([name, offset]) => ({ name: `request.${name}`, offset })),
  ...Object.entries(Offsets.segment).map(([name, offset]) => ({ name: `segment.${name}`, offset })),
  ...Object.entries(Offsets.heap).map(([name, offset]) => ({ name: `heap.${name}`, offset })),
];

/** Byte layout shared with assembly/index.ts. */
export const Layout = Object.freeze({
  ALIGN: 16,
  REQUEST_BYTES: 96,
  SEGMENT_HEADER_BYTES: 64,
  HEAP_HEADER_BYTES: Offsets.heap.header,
  HEAP_ENTRY_BYTES: Offsets.heap.entry,
  FLAG_LIVE: 1,
});

export const ScanMode = Object.freeze({ SIMILARITY: 0, PRIORITY: 1 } as const);
export type ScanMode = (typeof ScanMode)[keyof typeof ScanMode];

export interface KernelExports {
  scanTopK(request: number, segment: number, from: number, to: number, qi: number, heap: number): number;
  scanTopKBatch(request: number, segment: number, from: number, to: number, heaps: number, heapBytes: number): number;
  startHeaps(request: number, heaps: number, count: number, heapBytes: number): void;
  finishHeaps(request: number, heaps: number, count: number, heapBytes: number): void;
  dotRows(q: number, rows: number, count: number, stride: number, out: number): void;
  readProbe(ptr: number, bytes: number): number;
  layoutOffset(field: number): number;
}

/** Typed views over a shared memory, rebuilt whenever the memory grew (a shared buffer never detaches). */
export class MemoryViews {
  #byteLength = -1;
  #u8!: Uint8Array;
  #i8!: Int8Array;
  #i16!: Int16Array;
  #u32!: Uint32Array;
  #i32!: Int32Array;
  #f32!: Float32Array;
  #f64!: Float64Array;

  constructor(readonly memory: WebAssembly.Memory) {}

  #refresh(): void {
    const buffer = this.memory.buffer;
    if (buffer.byteLength === this.#byteLength) return;
    this.#byteLength = buffer.byteLength;
    this.#u8 = new Uint8Array(buffer);
    this.#i8 = new Int8Array(buffer);
    this.#i16 = new Int16Array(buffer);
    this.#u32 = new Uint32Array(buffer);
    this.#i32 = new Int32Array(buffer);
    this.#f32 = new Float32Array(buffer);
    this.#f64 = new Float64Array(buffer);
  }

  get u8(): Uint8Array { this.#refresh(); return this.#u8; }
  get i8(): Int8Array { this.#refresh(); return this.#i8; }
  get i16(): Int16Array { this.#refresh(); return this.#i16; }
  get u32(): Uint32Array { this.#refresh(); return this.#u32; }
  get i32(): Int32Array { this.#refresh(); return this.#i32; }
  get f32(): Float32Array { this.#refresh(); return this.#f32; }
  get f64(): Float64Array { this.#refresh(); return this.#f64; }
  get byteLength(): number { return this.memory.buffer.byteLength; }
}

export function instantiateKernels(module: WebAssembly.Module, memory: WebAssembly.Memory): KernelExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as KernelExports;
}

/** What a scan request asks, as written into its header. */
export interface RequestParams {
  k: number;
  mode: ScanMode;
  stride: number;
  alpha: number;
  nowSeconds: number;
  decayPerSecond: number;
  maxLogWeight: number;
  queries: number;   // pointer to `count` queries of `stride` floats
  count: number;
  mask: number;      // pointer to an allow-mask, 0 for none
  /**
   * Quantized rows: the kernels' quant word, bytes of codes a row, the query code blocks and their
   * spacing; binary rows refined by their int8 codes: the hits kept by those, and bytes of them a row;
   * int8 rows: the bytes of codes scanned before a row's tail bound is checked (0: never).
   */
  codes?: { quant: number; stride: number; queries: number; bytesEach: number; refineK?: number; refineStride?: number; splitBytes?: number } | undefined;
}

export function writeRequest(views: MemoryViews, request: number, p: RequestParams): void {
  const u32 = views.u32, f64 = views.f64, at = Offsets.request;
  const word = (offset: number) => (request + offset) >>> 2, double = (offset: number) => (request + offset) >>> 3;
  Atomics.store(views.i32, word(at.cancel), 0);
  u32[word(at.k)] = p.k;
  u32[word(at.mode)] = p.mode;
  u32[word(at.stride)] = p.stride;
  f64[double(at.alpha)] = p.alpha;
  f64[double(at.now)] = p.nowSeconds;
  f64[double(at.decay)] = p.decayPerSecond;
  f64[double(at.maxLogW)] = p.maxLogWeight;
  u32[word(at.queries)] = p.queries;
  u32[word(at.count)] = p.count;
  u32[word(at.mask)] = p.mask;
  u32[word(at.quant)] = p.codes?.quant ?? 0;
  u32[word(at.codeStride)] = p.codes?.stride ?? 0;
  u32[word(at.codes)] = p.codes?.queries ?? 0;
  u32[word(at.codeBytes)] = p.codes?.bytesEach ?? 0;
  u32[word(at.refineK)] = p.codes?.refineK ?? 0;
  u32[word(at.refineStride)] = p.codes?.refineStride ?? 0;
  u32[word(at.splitBytes)] = p.codes?.splitBytes ?? 0;
}

/** Sets a request's cancel word: every kernel scanning for it stops within a few thousand rows. */
export function cancelRequest(views: MemoryViews, request: number): void {
  Atomics.store(views.i32, request >>> 2, 1);
  Atomics.notify(views.i32, request >>> 2);
}

export function isCancelled(views: MemoryViews, request: number): boolean {
  return Atomics.load(views.i32, request >>> 2) !== 0;
}

/** Claims a task for the side that calls it first (see ScanTask.claim); true when this side won. */
export function claimTask(views: MemoryViews, claim: number, by: 'worker' | 'host'): boolean {
  return Atomics.compareExchange(views.i32, claim >>> 2, 0, by === 'worker' ? 1 : 2) === 0;
}

export interface SegmentColumns {
  vectors: number;
  logCentrality: number;
  logWeight: number;
  time: number;
  ids: number;
  flags: number;
  /** int8 codes (int8 rows, and binary rows' refining codes): each row's dequantization factor (f32); 0 when the rows have none. */
  scales: number;
  /** Binary rows: the int8 codes their candidates are refined with (`refineBytes` a row); 0 when the rows have none. */
  refine: number;
  /**
   * int8 rows scanned in two parts: the vectors column then holds each row's first `splitBytes` codes
   * (so a scan that stops there reads one stream of them), `tailCodes` the rest, and `tails` the norm
   * of that rest (f32); both 0 when the rows are whole.
   */
  tails: number;
  tailCodes: number;
}

/**
 * How a segment's rows are stored: `vectorBytes` of float32 or codes a row (what the scan reads; the
 * vectors column holds them all, or, for split int8 rows, the first `splitBytes` and `tailCodes` the
 * rest), whether an f32 scale column follows, and `refineBytes` a row of int8 codes after it (0: none).
 */
export interface RowFormat {
  vectorBytes: number;
  scaled: boolean;
  refineBytes: number;
  splitBytes: number;
}

/** Where each column of a segment of `rows` rows starts, relative to the segment. */
export function segmentColumns(base: number, rows: number, format: RowFormat): { columns: SegmentColumns; bytes: number } {
  const align = (n: number) => Math.ceil(n / Layout.ALIGN) * Layout.ALIGN;
  const vectors = base + Layout.SEGMENT_HEADER_BYTES;
  const headBytes = format.splitBytes > 0 ? format.splitBytes : format.vectorBytes;
  const logCentrality = align(vectors + rows * headBytes);
  const logWeight = logCentrality + rows * 8;
  const time = logWeight + rows * 8;
  const ids = time + rows * 8;
  const flags = align(ids + rows * 4);
  const scales = format.scaled ? align(flags + rows) : 0;
  const afterScales = format.scaled ? scales + rows * 4 : flags + rows;
  const refine = format.refineBytes > 0 ? align(afterScales) : 0;
  const afterRefine = refine > 0 ? refine + rows * format.refineBytes : afterScales;
  const tails = format.splitBytes > 0 ? align(afterRefine) : 0;
  const tailCodes = tails > 0 ? align(tails + rows * 4) : 0;
  const end = tailCodes > 0 ? tailCodes + rows * (format.vectorBytes - format.splitBytes) : afterRefine;
  return { columns: { vectors, logCentrality, logWeight, time, ids, flags, scales, refine, tails, tailCodes }, bytes: align(end) - base };
}

export function writeSegmentHeader(views: MemoryViews, base: number, c: SegmentColumns): void {
  const u32 = views.u32, at = Offsets.segment, word = (offset: number) => (base + offset) >>> 2;
  u32[word(at.vectors)] = c.vectors;
  u32[word(at.logC)] = c.logCentrality;
  u32[word(at.logW)] = c.logWeight;
  u32[word(at.time)] = c.time;
  u32[word(at.flags)] = c.flags;
  u32[word(at.ids)] = c.ids;
  u32[word(at.scales)] = c.scales;
  u32[word(at.refine)] = c.refine;
  u32[word(at.tails)] = c.tails;
  u32[word(at.tailCodes)] = c.tailCodes;
}

/**
 * Bytes of one query's heap of `k`: it holds up to 2k entries while a scan runs (assembly/index.ts,
 * "the top-k buffer"). Binary rows of `bits` sign bits refined to `refineK` hits: that heap, then the
 * bit scan's own of k, then a count for each Hamming distance (assembly/index.ts `startHeaps`).
 */
export function heapBytes(k: number, refineK = 0, bits = 0): number {
  const one = (n: number) => Layout.HEAP_HEADER_BYTES + 2 * n * Layout.HEAP_ENTRY_BYTES;
  if (refineK === 0) return one(k);
  return one(refineK) + one(k) + Math.ceil((4 * (bits + 1)) / Layout.ALIGN) * Layout.ALIGN;
}

/** One kept hit as the kernel left it: `key` is the similarity or ln P, by the request's mode. */
export interface Candidate {
  key: number;
  similarity: number;
  id: number;
}

export function readHeap(views: MemoryViews, heap: number, out: Candidate[]): void {
  const u32 = views.u32, f32 = views.f32, f64 = views.f64;
  const count = u32[heap >>> 2]!;
  for (let i = 0; i < count; i++) {
    const entry = heap + Layout.HEAP_HEADER_BYTES + i * Layout.HEAP_ENTRY_BYTES;
    out.push({ key: f64[entry >>> 3]!, similarity: f32[(entry + 8) >>> 2]!, id: u32[(entry + 12) >>> 2]! });
  }
}

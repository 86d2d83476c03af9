// The on-disk formats, shared by the durable store (Node) and export()/import() (everywhere: no
// Node imports here). Little-endian; every checksum is CRC32C.
//
// Snapshot, version 2:
//   0 magic "OVMS" · 4 version u32 · 8 dim u32 · 12 records u32 · 16 nextId f64 · 24 generation u32
//   28 blocks u32 · 32 store id (16 bytes) · 48 meta bytes u32 · 52 header CRC u32 (of 0..52)
//   56 block table: per block { offset f64 · bytes u32 · records u32 · first id f64 · last id f64 ·
//      CRC u32 } (36 bytes each) · then the table's CRC u32
//   meta: UTF-8 JSON { focus, scopeFocus, options, edges of nodes without a record }, zero padded to 4 · its CRC u32
//   blocks, back to back: JSON bytes u32 · UTF-8 JSON { records, edges of those records } zero
//   padded to 4 · records × dim f32 unit vectors. A damaged block loses only its own records.
// Log file, version 2: a 32-byte file header, then records.
//   header: 0 magic "OVWH" · 4 version u32 · 8 generation u32 · 12 store id (16 bytes) · 28 CRC u32
//   record: 0 magic "OVWL" · 4 version u32 · 8 payload bytes u32 · 12 sequence f64 · 20 header CRC
//   u32 (of 0..20) · 24 payload: UTF-8 JSON of one effect · then the payload's CRC u32.
// The store id (random, made when the store is created) and the generation N of `snap.N`/`wal.N`
// tie a log to its snapshot, so a log or snapshot copied in from elsewhere is refused.
import CRC32C from 'crc-32/crc32c.js';
import { ErrorCode, InternalError, MemoryCorruptionError, OVMemoryError, ResourceExhaustionError } from '../resilience/errors.js';

export const SNAPSHOT_MAGIC = 0x534d564f; // "OVMS"
export const LOG_FILE_MAGIC = 0x4857564f; // "OVWH"
export const LOG_MAGIC = 0x4c57564f;      // "OVWL"
export const FORMAT_VERSION = 2;
const SNAPSHOT_HEADER = 56;
const BLOCK_ENTRY = 36;
/** Records per snapshot block: what one damaged checksum can cost. */
export const BLOCK_RECORDS = 1024;
export const LOG_FILE_HEADER = 32;
export const LOG_HEADER = 24;
const STORE_ID_BYTES = 16;

export function crc32c(bytes: Uint8Array): number {
  return CRC32C.buf(bytes) >>> 0;
}

export interface StoredEdge { to: number; relevance: number; type: string; createdAt: number }

export interface StoredRecord {
  id: number;
  text: string;
  weight: number;
  metadata: Record<string, unknown>;
  createdAt: number;
  key?: string | undefined;
  norm: number;
  accessCount: number;
  lastAccessedAt: number;
  /** Present only when set (older snapshots have none of them). */
  scope?: { user?: string; agent?: string; session?: string } | undefined;
  validFrom?: number | undefined;
  validTo?: number | undefined;
  expiresAt?: number | undefined;
}

export interface SnapshotState {
  dim: number;
  nextId: number;
  /** The unscoped focus. */
  focus: number | undefined;
  /** The focus of each scope, as [scope key, id] (absent in older snapshots). */
  scopeFocus?: [string, number][] | undefined;
  records: StoredRecord[];
  edges: [number, StoredEdge[]][];
  /** count × dim unit vectors, in the order of `records`. */
  vectors: Float32Array;
  /** The store's id (32 hex digits), made when a durable store is created; absent in a fresh export. */
  storeId?: string | undefined;
  /** N of the `snap.N` this state was read from (0 for an export). */
  generation?: number | undefined;
  /** The store's options as the facade saved them (opaque JSON to this file). */
  options?: Record<string, unknown> | undefined;
}

/** What `salvageSnapshot` could not read: a block (its records) or the meta section (focus, options). */
export type SnapshotLoss =
  | { part: 'block'; offset: number; records: number; ids: [first: number, last: number]; reason: string }
  | { part: 'meta'; offset: number; reason: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const pad4 = (n: number) => Math.ceil(n / 4) * 4;

function corruption(source: string, offset: number, what: string): MemoryCorruptionError {
  return new MemoryCorruptionError(`${source}: ${what} at offset ${offset}`, { details: { file: source, offset } });
}

/** A new random store id (32 hex digits). */
export function newStoreId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(STORE_ID_BYTES));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function writeStoreId(view: DataView, at: number, id: string | undefined): void {
  for (let i = 0; i < STORE_ID_BYTES; i++) view.setUint8(at + i, id === undefined ? 0 : parseInt(id.slice(2 * i, 2 * i + 2), 16));
}

function readStoreId(view: DataView, at: number): string | undefined {
  let id = '';
  for (let i = 0; i < STORE_ID_BYTES; i++) id += view.getUint8(at + i).toString(16).padStart(2, '0');
  return /^0+$/.test(id) ? undefined : id;
}

/** Refuses a version this library does not read, naming what it is. */
function checkVersion(version: number, source: string, offset: number): void {
  if (version === FORMAT_VERSION) return;
  if (version > FORMAT_VERSION) throw corruption(source, offset, `format version ${version} is newer than this library's ${FORMAT_VERSION}`);
  if (version === 1) {
    throw new OVMemoryError(ErrorCode.UNSUPPORTED, `${source}: format version 1 (ov-memory 0.1) is no longer read; this library reads version ${FORMAT_VERSION}`, { details: { file: source, offset, version } });
  }
  throw corruption(source, offset, `unknown format version ${version}`);
}

/** One block of a snapshot: its records (in id order), the edges of those records, and their unit vectors. */
export interface SnapshotBlock {
  records: StoredRecord[];
  edges: [number, StoredEdge[]][];
  /** records × dim floats. */
  vectors: Float32Array;
}

/**
 * A snapshot whose blocks are made or read one at a time as they are iterated (from the store's
 * rows when it is written, from the file when it is read), so that a store of any size passes
 * through in about one block of memory beyond the store itself.
 */
export interface SnapshotStream extends Omit<SnapshotState, 'records' | 'edges' | 'vectors'> {
  /** Records in all the blocks. */
  count: number;
  /** How many blocks `blocks` yields. */
  blockCount: number;
  /** Edges of nodes without a record (the meta section). */
  orphanEdges: [number, StoredEdge[]][];
  blocks: Iterable<SnapshotBlock>;
}

/** The largest snapshot that one buffer can hold (a typed array's limit in Node 20: 4 GiB). */
export const MAX_SNAPSHOT_BYTES = 2 ** 32;

/**
 * Splits `items` by the block their id falls in (`blockOf`, undefined for an id without a record),
 * keeping their order: the edges of a block's records go in that block, the others in the meta section.
 */
export function groupByBlock<T>(items: Iterable<T>, idOf: (item: T) => number, blockOf: (id: number) => number | undefined, blockCount: number) {
  const blocks: T[][] = Array.from({ length: blockCount }, () => []);
  const orphans: T[] = [];
  for (const item of items) {
    const block = blockOf(idOf(item));
    (block === undefined ? orphans : blocks[block]!).push(item);
  }
  return { blocks, orphans };
}

/**
 * Encodes a snapshot a block at a time. The block table near the front holds each block's offset
 * and checksum, known only once the block is encoded, but its size (and the meta section's) is known
 * from the start: `prefix` is the front with the header and table still zero, `blocks()` yields each
 * block's bytes in file order, and `head()`, afterwards, the header and table that go over the first
 * bytes. A file is written front to back and then its first bytes again, in one pass over the store.
 */
export class SnapshotEncoder {
  /** The bytes before the first block: header and block table zero (see `head()`), then the meta section. */
  readonly prefix: Uint8Array;
  readonly #stream: SnapshotStream;
  readonly #head: Uint8Array;
  readonly #metaBytes: number;
  #done = false;

  constructor(stream: SnapshotStream) {
    this.#stream = stream;
    const meta = encoder.encode(JSON.stringify({ focus: stream.focus ?? null, scopeFocus: stream.scopeFocus ?? [], options: stream.options ?? null, edges: stream.orphanEdges }));
    const metaAt = SNAPSHOT_HEADER + stream.blockCount * BLOCK_ENTRY + 4;
    this.#metaBytes = meta.length;
    this.#head = new Uint8Array(metaAt);
    this.prefix = new Uint8Array(metaAt + pad4(meta.length) + 4);
    this.prefix.set(meta, metaAt);
    const metaEnd = metaAt + pad4(meta.length);
    new DataView(this.prefix.buffer).setUint32(metaEnd, crc32c(this.prefix.subarray(metaAt, metaEnd)), true);
  }

  /** Each block's bytes, in file order; the stream's blocks are made as this is iterated. */
  *blocks(): Generator<Uint8Array> {
    const s = this.#stream, head = new DataView(this.#head.buffer);
    const tableEnd = SNAPSHOT_HEADER + s.blockCount * BLOCK_ENTRY;
    let offset = this.prefix.length, b = 0, records = 0;
    for (const block of s.blocks) {
      if (b === s.blockCount) throw new InternalError(`the snapshot stream yields more than its ${s.blockCount} blocks`);
      const json = encoder.encode(JSON.stringify({ records: block.records, edges: block.edges }));
      const vectorsAt = 4 + pad4(json.length), floatBytes = block.records.length * s.dim * 4;
      const bytes = new Uint8Array(vectorsAt + floatBytes);
      new DataView(bytes.buffer).setUint32(0, json.length, true);
      bytes.set(json, 4);
      bytes.set(new Uint8Array(block.vectors.buffer, block.vectors.byteOffset, floatBytes), vectorsAt);
      const entry = SNAPSHOT_HEADER + b * BLOCK_ENTRY;
      head.setFloat64(entry, offset, true);
      head.setUint32(entry + 8, bytes.length, true);
      head.setUint32(entry + 12, block.records.length, true);
      head.setFloat64(entry + 16, block.records[0]!.id, true);
      head.setFloat64(entry + 24, block.records.at(-1)!.id, true);
      head.setUint32(entry + 32, crc32c(bytes), true);
      offset += bytes.length;
      records += block.records.length;
      b++;
      yield bytes;
    }
    if (b !== s.blockCount || records !== s.count) throw new InternalError(`the snapshot stream yielded ${b} blocks of ${records} records, not the ${s.blockCount} of ${s.count} it announced`);
    head.setUint32(tableEnd, crc32c(this.#head.subarray(SNAPSHOT_HEADER, tableEnd)), true);
    head.setUint32(0, SNAPSHOT_MAGIC, true);
    head.setUint32(4, FORMAT_VERSION, true);
    head.setUint32(8, s.dim, true);
    head.setUint32(12, records, true);
    head.setFloat64(16, s.nextId, true);
    head.setUint32(28, s.blockCount, true);
    head.setUint32(48, this.#metaBytes, true);
    stampSnapshot(this.#head, s.storeId, s.generation ?? 0);
    this.#done = true;
  }

  /** The header and block table, the snapshot's first bytes; complete once `blocks()` has run to its end. */
  head(): Uint8Array {
    if (!this.#done) throw new InternalError('the snapshot header is asked for before every block was encoded');
    return this.#head;
  }
}

/**
 * A snapshot in one buffer (export(), a page's checkpoint). Past `maxBytes` it cannot be one:
 * RESOURCE_EXHAUSTION, said before anything is encoded when the vectors alone pass it.
 */
export function encodeSnapshotStream(stream: SnapshotStream, maxBytes = MAX_SNAPSHOT_BYTES): Uint8Array {
  const tooLarge = (bytes: number, atLeast: boolean) => new ResourceExhaustionError(
    `a snapshot of ${stream.count} memories of ${stream.dim} dimensions takes ${atLeast ? 'at least ' : ''}${bytes} bytes, past the ${maxBytes} that one buffer can hold: keep a store this large in a durable directory (OVMemory.open(dir)), whose checkpoint() writes its snapshot block by block`,
    { details: { bytes, maxBytes } },
  );
  if (stream.count * stream.dim * 4 > maxBytes) throw tooLarge(stream.count * stream.dim * 4, true);
  const snapshot = new SnapshotEncoder(stream);
  const chunks: Uint8Array[] = [];
  let total = snapshot.prefix.length;
  for (const block of snapshot.blocks()) {
    total += block.length;
    if (total > maxBytes) throw tooLarge(total, true);
    chunks.push(block);
  }
  const out = new Uint8Array(total);
  out.set(snapshot.prefix);
  out.set(snapshot.head());
  let at = snapshot.prefix.length;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** A snapshot held whole in memory, as blocks of `blockRecords` records. */
export function streamOfState(s: SnapshotState, blockRecords = BLOCK_RECORDS): SnapshotStream {
  const blockOf = new Map<number, number>();
  s.records.forEach((r, i) => blockOf.set(r.id, Math.floor(i / blockRecords)));
  const blockCount = Math.ceil(s.records.length / blockRecords);
  const edges = groupByBlock(s.edges, ([id]) => id, (id) => blockOf.get(id), blockCount);
  return {
    dim: s.dim, nextId: s.nextId, focus: s.focus, scopeFocus: s.scopeFocus, storeId: s.storeId, generation: s.generation, options: s.options,
    count: s.records.length, blockCount, orphanEdges: edges.orphans,
    blocks: edges.blocks.map((blockEdges, b) => ({
      records: s.records.slice(b * blockRecords, (b + 1) * blockRecords),
      edges: blockEdges,
      vectors: s.vectors.subarray(b * blockRecords * s.dim, Math.min(s.records.length, (b + 1) * blockRecords) * s.dim),
    })),
  };
}

export function encodeSnapshot(s: SnapshotState, blockRecords = BLOCK_RECORDS): Uint8Array {
  return encodeSnapshotStream(streamOfState(s, blockRecords));
}

/** Writes the store id and generation into a snapshot's header (in place) and re-seals the header. */
export function stampSnapshot(bytes: Uint8Array, storeId: string | undefined, generation: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(24, generation, true);
  writeStoreId(view, 32, storeId);
  view.setUint32(52, crc32c(bytes.subarray(0, 52)), true);
  return bytes;
}

/** Where a snapshot is read from: `size` bytes, read at any offset (a file's positional reads, or bytes in memory). */
export interface SnapshotSource {
  readonly size: number;
  /** `length` bytes from `offset`; fewer only past the end. */
  read(offset: number, length: number): Uint8Array;
}

/** Bytes in memory as a snapshot source (reads are views, not copies). */
export function bytesSource(bytes: Uint8Array): SnapshotSource {
  return { size: bytes.length, read: (offset, length) => bytes.subarray(offset, offset + length) };
}

/** Decodes and verifies a snapshot; `source` names it in errors ("snap.3", "import()"). Any damage is MEMORY_CORRUPTION. */
export function decodeSnapshot(bytes: Uint8Array, source: string): SnapshotState {
  return wholeState(readSnapshotStream(bytesSource(bytes), source, false).stream);
}

/**
 * Reads every intact block of a damaged snapshot and says what was lost. A damaged header or block
 * table leaves nothing to salvage: MEMORY_CORRUPTION, as in `decodeSnapshot`.
 */
export function salvageSnapshot(bytes: Uint8Array, source: string): { state: SnapshotState; lost: SnapshotLoss[] } {
  const { stream, lost } = readSnapshotStream(bytesSource(bytes), source, true);
  return { state: wholeState(stream), lost };
}

/** Every block of a stream gathered into one state (its vectors in one array). */
function wholeState(stream: SnapshotStream): SnapshotState {
  const { dim } = stream;
  const records: StoredRecord[] = [], edges = [...stream.orphanEdges];
  const vectors = new Float32Array(stream.count * dim);
  for (const block of stream.blocks) {
    vectors.set(block.vectors, records.length * dim);
    for (const record of block.records) records.push(record);
    for (const entry of block.edges) edges.push(entry);
  }
  return {
    dim, nextId: stream.nextId, focus: stream.focus, ...(stream.scopeFocus?.length ? { scopeFocus: stream.scopeFocus } : {}), records, edges, vectors,
    storeId: stream.storeId, generation: stream.generation, options: stream.options,
  };
}

interface TableEntry { offset: number; bytes: number; records: number; ids: [number, number]; crc: number }

/**
 * Opens a snapshot to be read block by block. The header, block table and meta section are checked
 * now, and every block is read once to check its checksum and shape, so that damage is known before
 * anything is applied (MEMORY_CORRUPTION, or with `salvage` a loss, the other blocks kept); then each
 * iteration of `stream.blocks` reads the intact blocks again, one at a time.
 */
export function readSnapshotStream(source: SnapshotSource, name: string, salvage: boolean): { stream: SnapshotStream; lost: SnapshotLoss[] } {
  const fail = (offset: number, what: string) => corruption(name, offset, what);
  const size = source.size;
  if (size < SNAPSHOT_HEADER) throw fail(0, `truncated snapshot (${size} bytes)`);
  const header = source.read(0, SNAPSHOT_HEADER);
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  if (view.getUint32(0, true) !== SNAPSHOT_MAGIC) throw fail(0, 'not an ov-memory snapshot (bad magic)');
  if (view.getUint32(52, true) !== crc32c(header.subarray(0, 52))) throw fail(52, 'header checksum mismatch');
  checkVersion(view.getUint32(4, true), name, 4);
  const dim = view.getUint32(8, true), count = view.getUint32(12, true), blockCount = view.getUint32(28, true);
  const metaBytes = view.getUint32(48, true);
  const tableEnd = SNAPSHOT_HEADER + blockCount * BLOCK_ENTRY;
  const metaAt = tableEnd + 4, metaEnd = metaAt + pad4(metaBytes), blocksAt = metaEnd + 4;
  if (size < tableEnd + 4) throw fail(size, `truncated snapshot (${size} bytes, the block table ends at ${tableEnd + 4})`);
  const tableBytes = source.read(SNAPSHOT_HEADER, tableEnd + 4 - SNAPSHOT_HEADER);
  const table = new DataView(tableBytes.buffer, tableBytes.byteOffset, tableBytes.byteLength);
  if (table.getUint32(tableEnd - SNAPSHOT_HEADER, true) !== crc32c(tableBytes.subarray(0, tableEnd - SNAPSHOT_HEADER))) throw fail(tableEnd, 'block table checksum mismatch');
  const entries: TableEntry[] = Array.from({ length: blockCount }, (_, b) => {
    const at = b * BLOCK_ENTRY;
    return {
      offset: table.getFloat64(at, true), bytes: table.getUint32(at + 8, true), records: table.getUint32(at + 12, true),
      ids: [table.getFloat64(at + 16, true), table.getFloat64(at + 24, true)], crc: table.getUint32(at + 32, true),
    };
  });
  let expectedEnd = blocksAt, expectedRecords = 0;
  for (const block of entries) {
    if (block.offset !== expectedEnd) throw fail(tableEnd, 'block table does not describe consecutive blocks');
    expectedEnd += block.bytes;
    expectedRecords += block.records;
  }
  if (expectedRecords !== count) throw fail(12, `the header counts ${count} records, the block table ${expectedRecords}`);
  if (!salvage && size !== expectedEnd) throw fail(size, `${size < expectedEnd ? 'truncated' : 'overlong'} snapshot (${size} of ${expectedEnd} bytes)`);
  const lost: SnapshotLoss[] = [];
  const damaged = (loss: SnapshotLoss) => {
    if (!salvage) throw fail(loss.offset, loss.reason);
    lost.push(loss);
  };

  let meta: { focus: number | null; scopeFocus?: [string, number][]; options: Record<string, unknown> | null; edges: [number, StoredEdge[]][] } = { focus: null, options: null, edges: [] };
  const metaSection = metaEnd + 4 > size ? undefined : source.read(metaAt, metaEnd + 4 - metaAt);
  const metaReason = !metaSection ? 'truncated snapshot (meta section)'
    : new DataView(metaSection.buffer, metaSection.byteOffset, metaSection.byteLength).getUint32(metaEnd - metaAt, true) !== crc32c(metaSection.subarray(0, metaEnd - metaAt)) ? 'meta section checksum mismatch' : undefined;
  if (metaReason) damaged({ part: 'meta', offset: metaAt, reason: metaReason });
  else meta = JSON.parse(decoder.decode(metaSection!.subarray(0, metaBytes))) as typeof meta;

  // The check pass: one block in memory at a time.
  const intact: TableEntry[] = [];
  const keptIds: number[] = [];
  for (const block of entries) {
    const end = block.offset + block.bytes;
    const bytes = end > size ? undefined : source.read(block.offset, block.bytes);
    const reason = !bytes ? 'truncated snapshot (block runs past the end)' : crc32c(bytes) !== block.crc ? 'block checksum mismatch' : undefined;
    if (reason) {
      damaged({ part: 'block', offset: block.offset, records: block.records, ids: block.ids, reason });
      continue;
    }
    const { records } = decodeBlock(bytes!, block, dim, fail);
    if (salvage) for (const record of records) keptIds.push(record.id);
    intact.push(block);
  }
  // Edges into lost records go with them.
  const kept = lost.length > 0 ? new Set(keptIds) : undefined;
  const keep = (edges: [number, StoredEdge[]][]) => kept ? edges.map(([id, list]) => [id, list.filter((e) => kept.has(e.to))] as [number, StoredEdge[]]) : edges;
  const stream: SnapshotStream = {
    dim, nextId: view.getFloat64(16, true), focus: meta.focus ?? undefined, ...(meta.scopeFocus?.length ? { scopeFocus: meta.scopeFocus } : {}),
    storeId: readStoreId(view, 32), generation: view.getUint32(24, true), options: meta.options ?? undefined,
    count: intact.reduce((sum, block) => sum + block.records, 0), blockCount: intact.length, orphanEdges: keep(meta.edges),
    blocks: {
      *[Symbol.iterator]() {
        for (const block of intact) {
          const content = decodeBlock(source.read(block.offset, block.bytes), block, dim, fail);
          yield { ...content, edges: keep(content.edges) };
        }
      },
    },
  };
  return { stream, lost };
}

/** One block's records, edges and vectors (a view where the bytes are 4-byte aligned in memory, else a copy). */
function decodeBlock(bytes: Uint8Array, block: TableEntry, dim: number, fail: (offset: number, what: string) => MemoryCorruptionError): SnapshotBlock {
  const jsonBytes = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const vectorsAt = 4 + pad4(jsonBytes), floats = block.records * dim;
  if (vectorsAt + floats * 4 !== bytes.length) throw fail(block.offset, 'block size does not match its records');
  const content = JSON.parse(decoder.decode(bytes.subarray(4, 4 + jsonBytes))) as { records: StoredRecord[]; edges: [number, StoredEdge[]][] };
  if (content.records.length !== block.records) throw fail(block.offset, 'block holds a different number of records than the table says');
  const at = bytes.byteOffset + vectorsAt;
  const vectors = at % 4 === 0 ? new Float32Array(bytes.buffer, at, floats) : new Float32Array(bytes.slice(vectorsAt, vectorsAt + floats * 4).buffer);
  return { records: content.records, edges: content.edges, vectors };
}

export function encodeLogHeader(storeId: string, generation: number): Uint8Array {
  const out = new Uint8Array(LOG_FILE_HEADER);
  const view = new DataView(out.buffer);
  view.setUint32(0, LOG_FILE_MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, generation, true);
  writeStoreId(view, 12, storeId);
  view.setUint32(28, crc32c(out.subarray(0, 28)), true);
  return out;
}

export function encodeLogRecord(sequence: number, effect: unknown): Uint8Array {
  const payload = encoder.encode(JSON.stringify(effect));
  const out = new Uint8Array(LOG_HEADER + payload.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, LOG_MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, payload.length, true);
  view.setFloat64(12, sequence, true);
  view.setUint32(20, crc32c(out.subarray(0, 20)), true);
  out.set(payload, LOG_HEADER);
  view.setUint32(LOG_HEADER + payload.length, crc32c(payload), true);
  return out;
}

export interface LogScan {
  storeId: string | undefined;
  generation: number;
  effects: unknown[];
  /** Where the last complete record ends (a file offset): past it lies a torn record, or nothing. */
  validBytes: number;
  lastSequence: number;
}

/**
 * Reads a log file: its header, then every record. A record that runs past the end of the file is
 * torn (a crash mid-write) and ends the log; any complete record that fails a check is corruption.
 * The header is never torn (a log is created whole and renamed into place).
 */
export function scanLog(bytes: Uint8Array, source: string): LogScan {
  const { storeId, generation } = readLogHeader(bytes, source);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (at: number, what: string) => corruption(source, at, what);
  const effects: unknown[] = [];
  let offset = LOG_FILE_HEADER, sequence = 0;
  while (offset < bytes.length) {
    if (bytes.length - offset < LOG_HEADER) break;   // a torn header
    if (view.getUint32(offset, true) !== LOG_MAGIC) throw fail(offset, 'bad record magic');
    if (view.getUint32(offset + 20, true) !== crc32c(bytes.subarray(offset, offset + 20))) throw fail(offset, 'record header checksum mismatch');
    const version = view.getUint32(offset + 4, true);
    if (version !== FORMAT_VERSION) throw fail(offset, `record format version ${version} is unknown (this library writes ${FORMAT_VERSION})`);
    const end = offset + LOG_HEADER + view.getUint32(offset + 8, true) + 4;
    if (end > bytes.length) break;                    // a torn payload
    const recorded = view.getFloat64(offset + 12, true);
    if (recorded !== sequence + 1) throw fail(offset, `sequence ${recorded} where ${sequence + 1} was due`);
    const payload = bytes.subarray(offset + LOG_HEADER, end - 4);
    if (view.getUint32(end - 4, true) !== crc32c(payload)) throw fail(offset, 'record payload checksum mismatch');
    effects.push(JSON.parse(decoder.decode(payload)));
    sequence++;
    offset = end;
  }
  return { storeId, generation, effects, validBytes: offset, lastSequence: sequence };
}

/** The store id and generation a log file belongs to; a damaged header is MEMORY_CORRUPTION. */
export function readLogHeader(bytes: Uint8Array, source: string): { storeId: string | undefined; generation: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 4 && view.getUint32(0, true) === LOG_MAGIC) checkVersion(1, source, 0);   // a version-1 log had no file header
  if (bytes.length < LOG_FILE_HEADER) throw corruption(source, 0, `truncated log header (${bytes.length} bytes)`);
  if (view.getUint32(0, true) !== LOG_FILE_MAGIC) throw corruption(source, 0, 'not an ov-memory log (bad magic)');
  if (view.getUint32(28, true) !== crc32c(bytes.subarray(0, 28))) throw corruption(source, 28, 'log header checksum mismatch');
  checkVersion(view.getUint32(4, true), source, 4);
  return { storeId: readStoreId(view, 12), generation: view.getUint32(8, true) };
}

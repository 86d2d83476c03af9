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
import { ErrorCode, MemoryCorruptionError, OVMemoryError } from '../resilience/errors.js';

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

export function encodeSnapshot(s: SnapshotState, blockRecords = BLOCK_RECORDS): Uint8Array {
  const blockOf = new Map<number, number>();
  s.records.forEach((r, i) => blockOf.set(r.id, Math.floor(i / blockRecords)));
  const blockCount = Math.ceil(s.records.length / blockRecords);
  const blockEdges: [number, StoredEdge[]][][] = Array.from({ length: blockCount }, () => []);
  const orphanEdges: [number, StoredEdge[]][] = [];
  for (const entry of s.edges) {
    const block = blockOf.get(entry[0]);
    (block === undefined ? orphanEdges : blockEdges[block]!).push(entry);
  }
  const meta = encoder.encode(JSON.stringify({ focus: s.focus ?? null, scopeFocus: s.scopeFocus ?? [], options: s.options ?? null, edges: orphanEdges }));
  const blocks = blockEdges.map((edges, b) => {
    const records = s.records.slice(b * blockRecords, (b + 1) * blockRecords);
    const json = encoder.encode(JSON.stringify({ records, edges }));
    return { records, json, bytes: 4 + pad4(json.length) + records.length * s.dim * 4, first: b * blockRecords };
  });
  const tableEnd = SNAPSHOT_HEADER + blockCount * BLOCK_ENTRY;
  const metaAt = tableEnd + 4;
  let offset = metaAt + pad4(meta.length) + 4;
  const out = new Uint8Array(offset + blocks.reduce((sum, b) => sum + b.bytes, 0));
  const view = new DataView(out.buffer);
  blocks.forEach((block, b) => {
    const at = offset;
    view.setUint32(at, block.json.length, true);
    out.set(block.json, at + 4);
    const vectorsAt = at + 4 + pad4(block.json.length);
    const vectors = s.vectors.subarray(block.first * s.dim, (block.first + block.records.length) * s.dim);
    out.set(new Uint8Array(vectors.buffer, vectors.byteOffset, vectors.byteLength), vectorsAt);
    const entry = SNAPSHOT_HEADER + b * BLOCK_ENTRY;
    view.setFloat64(entry, at, true);
    view.setUint32(entry + 8, block.bytes, true);
    view.setUint32(entry + 12, block.records.length, true);
    view.setFloat64(entry + 16, block.records[0]!.id, true);
    view.setFloat64(entry + 24, block.records.at(-1)!.id, true);
    view.setUint32(entry + 32, crc32c(out.subarray(at, at + block.bytes)), true);
    offset += block.bytes;
  });
  view.setUint32(tableEnd, crc32c(out.subarray(SNAPSHOT_HEADER, tableEnd)), true);
  out.set(meta, metaAt);
  view.setUint32(metaAt + pad4(meta.length), crc32c(out.subarray(metaAt, metaAt + pad4(meta.length))), true);
  view.setUint32(0, SNAPSHOT_MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, s.dim, true);
  view.setUint32(12, s.records.length, true);
  view.setFloat64(16, s.nextId, true);
  view.setUint32(28, blockCount, true);
  view.setUint32(48, meta.length, true);
  return stampSnapshot(out, s.storeId, s.generation ?? 0);
}

/** Writes the store id and generation into a snapshot's header (in place) and re-seals the header. */
export function stampSnapshot(bytes: Uint8Array, storeId: string | undefined, generation: number): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  view.setUint32(24, generation, true);
  writeStoreId(view, 32, storeId);
  view.setUint32(52, crc32c(bytes.subarray(0, 52)), true);
  return bytes;
}

/** Decodes and verifies a snapshot; `source` names it in errors ("snap.3", "import()"). Any damage is MEMORY_CORRUPTION. */
export function decodeSnapshot(bytes: Uint8Array, source: string): SnapshotState {
  return readSnapshot(bytes, source, false).state;
}

/**
 * Reads every intact block of a damaged snapshot and says what was lost. A damaged header or block
 * table leaves nothing to salvage: MEMORY_CORRUPTION, as in `decodeSnapshot`.
 */
export function salvageSnapshot(bytes: Uint8Array, source: string): { state: SnapshotState; lost: SnapshotLoss[] } {
  return readSnapshot(bytes, source, true);
}

function readSnapshot(bytes: Uint8Array, source: string, salvage: boolean): { state: SnapshotState; lost: SnapshotLoss[] } {
  const fail = (offset: number, what: string) => corruption(source, offset, what);
  if (bytes.length < SNAPSHOT_HEADER) throw fail(0, `truncated snapshot (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SNAPSHOT_MAGIC) throw fail(0, 'not an ov-memory snapshot (bad magic)');
  if (view.getUint32(52, true) !== crc32c(bytes.subarray(0, 52))) throw fail(52, 'header checksum mismatch');
  checkVersion(view.getUint32(4, true), source, 4);
  const dim = view.getUint32(8, true), count = view.getUint32(12, true), blockCount = view.getUint32(28, true);
  const metaBytes = view.getUint32(48, true);
  const tableEnd = SNAPSHOT_HEADER + blockCount * BLOCK_ENTRY;
  const metaAt = tableEnd + 4, metaEnd = metaAt + pad4(metaBytes), blocksAt = metaEnd + 4;
  if (bytes.length < tableEnd + 4) throw fail(bytes.length, `truncated snapshot (${bytes.length} bytes, the block table ends at ${tableEnd + 4})`);
  if (view.getUint32(tableEnd, true) !== crc32c(bytes.subarray(SNAPSHOT_HEADER, tableEnd))) throw fail(tableEnd, 'block table checksum mismatch');
  const table = Array.from({ length: blockCount }, (_, b) => {
    const at = SNAPSHOT_HEADER + b * BLOCK_ENTRY;
    return {
      offset: view.getFloat64(at, true), bytes: view.getUint32(at + 8, true), records: view.getUint32(at + 12, true),
      ids: [view.getFloat64(at + 16, true), view.getFloat64(at + 24, true)] as [number, number], crc: view.getUint32(at + 32, true),
    };
  });
  let expectedEnd = blocksAt, expectedRecords = 0;
  for (const block of table) {
    if (block.offset !== expectedEnd) throw fail(tableEnd, 'block table does not describe consecutive blocks');
    expectedEnd += block.bytes;
    expectedRecords += block.records;
  }
  if (expectedRecords !== count) throw fail(12, `the header counts ${count} records, the block table ${expectedRecords}`);
  if (!salvage && bytes.length !== expectedEnd) throw fail(bytes.length, `${bytes.length < expectedEnd ? 'truncated' : 'overlong'} snapshot (${bytes.length} of ${expectedEnd} bytes)`);
  const lost: SnapshotLoss[] = [];
  const damaged = (loss: SnapshotLoss) => {
    if (!salvage) throw fail(loss.offset, loss.reason);
    lost.push(loss);
  };

  let meta: { focus: number | null; scopeFocus?: [string, number][]; options: Record<string, unknown> | null; edges: [number, StoredEdge[]][] } = { focus: null, options: null, edges: [] };
  const metaReason = metaEnd + 4 > bytes.length ? 'truncated snapshot (meta section)'
    : view.getUint32(metaEnd, true) !== crc32c(bytes.subarray(metaAt, metaEnd)) ? 'meta section checksum mismatch' : undefined;
  if (metaReason) damaged({ part: 'meta', offset: metaAt, reason: metaReason });
  else meta = JSON.parse(decoder.decode(bytes.subarray(metaAt, metaAt + metaBytes))) as typeof meta;

  const intact: { records: StoredRecord[]; edges: [number, StoredEdge[]][]; vectorsAt: number }[] = [];
  for (const block of table) {
    const end = block.offset + block.bytes;
    const reason = end > bytes.length ? 'truncated snapshot (block runs past the end)'
      : crc32c(bytes.subarray(block.offset, end)) !== block.crc ? 'block checksum mismatch' : undefined;
    if (reason) {
      damaged({ part: 'block', offset: block.offset, records: block.records, ids: block.ids, reason });
      continue;
    }
    const jsonBytes = view.getUint32(block.offset, true);
    const vectorsAt = block.offset + 4 + pad4(jsonBytes);
    if (vectorsAt + block.records * dim * 4 !== end) throw fail(block.offset, 'block size does not match its records');
    const content = JSON.parse(decoder.decode(bytes.subarray(block.offset + 4, block.offset + 4 + jsonBytes))) as { records: StoredRecord[]; edges: [number, StoredEdge[]][] };
    if (content.records.length !== block.records) throw fail(block.offset, 'block holds a different number of records than the table says');
    intact.push({ ...content, vectorsAt });
  }

  const records = intact.flatMap((b) => b.records);
  const vectors = new Float32Array(records.length * dim);
  let row = 0;
  for (const block of intact) {
    const floats = block.records.length * dim;
    const at = bytes.byteOffset + block.vectorsAt;
    // A view where the bytes are 4-byte aligned in memory (files read whole are), else a copy first.
    const source = at % 4 === 0 ? new Float32Array(bytes.buffer, at, floats) : new Float32Array(bytes.slice(block.vectorsAt, block.vectorsAt + floats * 4).buffer);
    vectors.set(source, row * dim);
    row += block.records.length;
  }
  let edges = [...meta.edges, ...intact.flatMap((b) => b.edges)];
  if (lost.length > 0) {
    // Edges into lost records go with them.
    const kept = new Set(records.map((r) => r.id));
    edges = edges.map(([id, list]) => [id, list.filter((e) => kept.has(e.to))] as [number, StoredEdge[]]);
  }
  return {
    state: {
      dim, nextId: view.getFloat64(16, true), focus: meta.focus ?? undefined, ...(meta.scopeFocus?.length ? { scopeFocus: meta.scopeFocus } : {}), records, edges, vectors,
      storeId: readStoreId(view, 32), generation: view.getUint32(24, true), options: meta.options ?? undefined,
    },
    lost,
  };
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

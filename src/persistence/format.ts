// The on-disk formats, shared by the durable store (Node) and export()/import() (everywhere).
//
// Snapshot, version 1, little-endian:
//   0 magic "OVMS" · 4 version u32 · 8 dim u32 · 12 count u32 · 16 nextId f64 · 24 meta bytes u32
//   28 header CRC32C u32 (of bytes 0..28) · 32 meta: UTF-8 JSON (records, edges, focus), zero padded
//   to 4 bytes · then count × dim f32 unit vectors, in the order of meta.records · last 4 bytes:
//   CRC32C of everything from byte 32 up to them.
// Log record:
//   0 magic "OVWL" · 4 payload bytes u32 · 8 sequence number f64 · 16 header CRC32C u32 (of 0..16)
//   20 payload: UTF-8 JSON of one effect · then CRC32C u32 of the payload.
import CRC32C from 'crc-32/crc32c.js';
import { MemoryCorruptionError } from '../resilience/errors.js';

export const SNAPSHOT_MAGIC = 0x534d564f; // "OVMS"
export const LOG_MAGIC = 0x4c57564f;      // "OVWL"
export const FORMAT_VERSION = 1;
const SNAPSHOT_HEADER = 32;
export const LOG_HEADER = 20;

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
}

export interface SnapshotState {
  dim: number;
  nextId: number;
  focus: number | undefined;
  records: StoredRecord[];
  edges: [number, StoredEdge[]][];
  /** count × dim unit vectors, in the order of `records`. */
  vectors: Float32Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodeSnapshot(s: SnapshotState): Uint8Array {
  const meta = encoder.encode(JSON.stringify({ focus: s.focus ?? null, records: s.records, edges: s.edges }));
  const metaPadded = Math.ceil(meta.length / 4) * 4;
  const vectorBytes = s.records.length * s.dim * 4;
  const out = new Uint8Array(SNAPSHOT_HEADER + metaPadded + vectorBytes + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, SNAPSHOT_MAGIC, true);
  view.setUint32(4, FORMAT_VERSION, true);
  view.setUint32(8, s.dim, true);
  view.setUint32(12, s.records.length, true);
  view.setFloat64(16, s.nextId, true);
  view.setUint32(24, meta.length, true);
  view.setUint32(28, crc32c(out.subarray(0, 28)), true);
  out.set(meta, SNAPSHOT_HEADER);
  new Uint8Array(out.buffer, SNAPSHOT_HEADER + metaPadded, vectorBytes).set(new Uint8Array(s.vectors.buffer, s.vectors.byteOffset, vectorBytes));
  view.setUint32(out.length - 4, crc32c(out.subarray(SNAPSHOT_HEADER, out.length - 4)), true);
  return out;
}

/** Decodes and verifies a snapshot; `source` names it in errors ("snap.3", "import()"). */
export function decodeSnapshot(bytes: Uint8Array, source: string): SnapshotState {
  const fail = (offset: number, what: string) =>
    new MemoryCorruptionError(`${source}: ${what} at offset ${offset}`, { details: { file: source, offset } });
  if (bytes.length < SNAPSHOT_HEADER + 4) throw fail(0, `truncated snapshot (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== SNAPSHOT_MAGIC) throw fail(0, 'not an ov-memory snapshot (bad magic)');
  if (view.getUint32(28, true) !== crc32c(bytes.subarray(0, 28))) throw fail(28, 'header checksum mismatch');
  const version = view.getUint32(4, true);
  if (version > FORMAT_VERSION) throw fail(4, `format version ${version} is newer than this library's ${FORMAT_VERSION}`);
  const dim = view.getUint32(8, true), count = view.getUint32(12, true), metaBytes = view.getUint32(24, true);
  const vectorsAt = SNAPSHOT_HEADER + Math.ceil(metaBytes / 4) * 4;
  const expected = vectorsAt + count * dim * 4 + 4;
  if (bytes.length !== expected) throw fail(bytes.length, `truncated snapshot (${bytes.length} of ${expected} bytes)`);
  if (view.getUint32(bytes.length - 4, true) !== crc32c(bytes.subarray(SNAPSHOT_HEADER, bytes.length - 4))) {
    throw fail(bytes.length - 4, 'body checksum mismatch');
  }
  const meta = JSON.parse(decoder.decode(bytes.subarray(SNAPSHOT_HEADER, SNAPSHOT_HEADER + metaBytes))) as {
    focus: number | null; records: StoredRecord[]; edges: [number, StoredEdge[]][];
  };
  // A view when the block is 4-byte aligned in memory (files read whole are), else one copy.
  const at = bytes.byteOffset + vectorsAt;
  const vectors = at % 4 === 0
    ? new Float32Array(bytes.buffer, at, count * dim)
    : new Float32Array(bytes.slice(vectorsAt, vectorsAt + count * dim * 4).buffer);
  return { dim, nextId: view.getFloat64(16, true), focus: meta.focus ?? undefined, records: meta.records, edges: meta.edges, vectors };
}

export function encodeLogRecord(sequence: number, effect: unknown): Uint8Array {
  const payload = encoder.encode(JSON.stringify(effect));
  const out = new Uint8Array(LOG_HEADER + payload.length + 4);
  const view = new DataView(out.buffer);
  view.setUint32(0, LOG_MAGIC, true);
  view.setUint32(4, payload.length, true);
  view.setFloat64(8, sequence, true);
  view.setUint32(16, crc32c(out.subarray(0, 16)), true);
  out.set(payload, LOG_HEADER);
  view.setUint32(LOG_HEADER + payload.length, crc32c(payload), true);
  return out;
}

export interface LogScan {
  effects: unknown[];
  /** Where the last complete record ends: past it lies a torn record, or nothing. */
  validBytes: number;
  lastSequence: number;
}

/**
 * Reads every record of a log. A record that runs past the end of the file is torn (a crash
 * mid-write) and ends the log; any complete record that fails a check is corruption.
 */
export function scanLog(bytes: Uint8Array, source: string, firstSequence: number): LogScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const effects: unknown[] = [];
  let offset = 0, sequence = firstSequence - 1;
  const fail = (at: number, what: string) =>
    new MemoryCorruptionError(`${source}: ${what} at offset ${at}`, { details: { file: source, offset: at } });
  while (offset < bytes.length) {
    if (bytes.length - offset < LOG_HEADER) break;   // a torn header
    if (view.getUint32(offset, true) !== LOG_MAGIC) throw fail(offset, 'bad record magic');
    if (view.getUint32(offset + 16, true) !== crc32c(bytes.subarray(offset, offset + 16))) throw fail(offset, 'record header checksum mismatch');
    const length = view.getUint32(offset + 4, true);
    const end = offset + LOG_HEADER + length + 4;
    if (end > bytes.length) break;                    // a torn payload
    if (view.getFloat64(offset + 8, true) !== sequence + 1) throw fail(offset, `sequence ${view.getFloat64(offset + 8, true)} where ${sequence + 1} was due`);
    const payload = bytes.subarray(offset + LOG_HEADER, end - 4);
    if (view.getUint32(end - 4, true) !== crc32c(payload)) throw fail(offset, 'record payload checksum mismatch');
    effects.push(JSON.parse(decoder.decode(payload)));
    sequence++;
    offset = end;
  }
  return { effects, validBytes: offset, lastSequence: sequence };
}

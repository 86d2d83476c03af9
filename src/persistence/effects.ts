// What one call changed, as the log records it: effects, not commands, so that replaying them
// rebuilds exactly the state that was acknowledged (automatic edges are logged as edges).
import type { StoredEdge, StoredRecord } from './format.js';

export type Effect =
  | { op: 'add'; items: { id: number; text: string; weight: number; metadata: Record<string, unknown>; createdAt: number; key?: string; norm: number; vector: string }[] }
  | { op: 'update'; id: number; weight?: number; metadata?: Record<string, unknown> }
  | { op: 'remove'; id: number }
  | { op: 'edges'; sets: [number, StoredEdge[]][] }
  | { op: 'focus'; id: number };

/** A memory as a snapshot or a logged `add` holds it. */
export type StoredRecordLike = Omit<StoredRecord, 'key'> & { key?: string | undefined };

/** Node's Buffer when there is one (many times faster); the web's btoa/atob otherwise. */
const NodeBuffer = (globalThis as { Buffer?: typeof import('node:buffer').Buffer }).Buffer;

/** A vector as base64 text of its float32 bytes, for the JSON of a log record. */
export function toBase64(v: Float32Array): string {
  const bytes = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
  if (NodeBuffer) return NodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

export function fromBase64(text: string): Float32Array {
  const bytes = NodeBuffer ? new Uint8Array(NodeBuffer.from(text, 'base64')) : Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

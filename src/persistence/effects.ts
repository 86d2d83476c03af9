// What one call changed: effects, not commands, so that applying them rebuilds exactly the state
// that was acknowledged (automatic edges are recorded as edges). The store applies the same
// effects for a live write, a snapshot restore and a log replay; the log holds them as JSON.
import { MemoryCorruptionError } from '../resilience/errors.js';
import type { StoredEdge, StoredRecord } from './format.js';

/**
 * A memory as an `add` effect carries it: a snapshot's record with its unit vector; the access
 * history only when restored from a snapshot (a new memory has none).
 */
export type AddedMemory = Omit<StoredRecord, 'accessCount' | 'lastAccessedAt'> & {
  unit: Float32Array;
  accessCount?: number;
  lastAccessedAt?: number;
};

export type Effect =
  | { op: 'add'; items: AddedMemory[] }
  | {
    op: 'update'; id: number; weight?: number; metadata?: Record<string, unknown>; text?: string; unit?: Float32Array; norm?: number;
    validFrom?: number; validTo?: number;
  }
  | { op: 'remove'; id: number }
  /** The whole outgoing edge list of each node whose edges changed. */
  | { op: 'edges'; sets: [number, StoredEdge[]][] }
  /** The focus of the id's scope; without an id, the focus of `scope` (a scope key, '' unscoped) is cleared. */
  | { op: 'focus'; id: number | undefined; scope?: string }
  /** Injections into a context at `at`: each id's access count goes up by one. */
  | { op: 'access'; at: number; ids: number[] }
  /** Ids below `nextId` are spent (a restored store keeps handing out ids after its removed ones). */
  | { op: 'advance'; nextId: number };

/**
 * The version of the JSON of a logged record; a record of another version is not replayed.
 * Version 3 added scopes, validity and TTLs: a reader of version 2 would drop a memory's scope,
 * so it must refuse these records rather than widen who sees them.
 */
export const EFFECTS_VERSION = 3;

type LoggedEffect = Record<string, unknown> & { op: string };

/** One call's effects as the JSON value of one log record (vectors as base64 of their float32 bytes). */
export function encodeEffects(effects: readonly Effect[]): { v: number; e: LoggedEffect[] } {
  return {
    v: EFFECTS_VERSION,
    e: effects.map((effect): LoggedEffect => {
      if (effect.op === 'add') return { op: 'add', items: effect.items.map(({ unit, ...rest }) => ({ ...rest, vector: toBase64(unit) })) };
      if (effect.op === 'update' && effect.unit) {
        const { unit, ...rest } = effect;
        return { ...rest, vector: toBase64(unit) };
      }
      if (effect.op === 'focus') return { ...effect, id: effect.id ?? null };
      return effect;
    }),
  };
}

/**
 * A log record's JSON back into effects. Its shape is checked here; whether each effect fits the
 * store (ids, order) is checked when it is applied. `where` names the file and offset for errors.
 */
export function decodeEffects(record: unknown, where: string): Effect[] {
  const bad = (why: string) => new MemoryCorruptionError(`${where}: ${why}`, { details: { where } });
  if (typeof record !== 'object' || record === null) throw bad('a log record that is not an object');
  const { v, e } = record as { v?: unknown; e?: unknown };
  // Version 1 records had no `v` and the same effects, without text or vector updates; version 2, no scopes or validity.
  if (v !== undefined && v !== 2 && v !== EFFECTS_VERSION) throw bad(`a log record of version ${String(v)}, this version reads ${EFFECTS_VERSION}`);
  if (!Array.isArray(e)) throw bad('a log record without effects');
  return e.map((raw: LoggedEffect) => {
    switch (raw?.op) {
      case 'add':
        return { op: 'add', items: (raw.items as (AddedMemory & { vector: string })[]).map(({ vector, ...rest }) => ({ ...rest, unit: fromBase64(vector) })) };
      case 'update': {
        const { vector, ...rest } = raw as LoggedEffect & { vector?: string };
        return (vector === undefined ? rest : { ...rest, unit: fromBase64(vector) }) as Effect;
      }
      case 'focus': return { ...raw, op: 'focus', id: (raw.id as number | null) ?? undefined } as Effect;
      case 'remove': case 'edges': case 'access': case 'advance': return raw as unknown as Effect;
      default: throw bad(`an effect of unknown operation ${JSON.stringify(raw?.op)}`);
    }
  });
}

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
  // A copy: Buffer's pool may hand out an offset that is not 4-byte aligned.
  return new Float32Array(bytes.slice().buffer);
}

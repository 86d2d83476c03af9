// The host's side of each memory: what is not needed by the scan (text, metadata, key, access
// counts, scope and validity). Ids are handed out in order and never reused; a removed id keeps a
// hole. A key is unique within its exact scope.
import type { Scope } from '../types.js';
import { scopeKey } from './scopes.js';

export interface NodeRecord {
  readonly id: number;
  /** The arena row holding its vector (a new one when the embedding is updated). */
  row: number;
  text: string;
  weight: number;
  metadata: Record<string, unknown>;
  /** Bytes of metadata as JSON, for the memory limit. */
  metadataBytes: number;
  readonly createdAt: number;
  readonly key: string | undefined;
  /** Whose memory it is; never changes. */
  readonly scope: Scope | undefined;
  /** Validity, ms since epoch: from inclusive, to exclusive; undefined: unbounded. */
  validFrom: number | undefined;
  validTo: number | undefined;
  /** The end of its TTL; undefined: none. */
  readonly expiresAt: number | undefined;
  norm: number;
  centrality: number;
  accessCount: number;
  lastAccessedAt: number;
  /** The last few access times, for the loop guardrail. */
  accessTimes: number[];
}

export class Records {
  readonly #byId: (NodeRecord | undefined)[] = [];
  readonly #byKey = new Map<string, number>();
  #live = 0;
  #textBytes = 0;

  /** The id the next accepted memory gets. */
  get nextId(): number {
    return this.#byId.length;
  }

  get live(): number {
    return this.#live;
  }

  /** Text and metadata held on the host, counted against maxMemoryMB (UTF-16: 2 bytes a character). */
  get textBytes(): number {
    return this.#textBytes;
  }

  get(id: number): NodeRecord | undefined {
    return Number.isInteger(id) ? this.#byId[id] : undefined;
  }

  /** Moves the next id past `nextId` (a restored store keeps handing out ids after its removed ones). */
  skipTo(nextId: number): void {
    while (this.#byId.length < nextId) this.#byId.push(undefined);
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  idOfKey(key: string, scope: Scope | undefined): number | undefined {
    return this.#byKey.get(scopedKey(key, scope));
  }

  /** Adds a record under its own id (the next one, or a later one when restoring a compacted store). */
  add(record: NodeRecord): void {
    while (this.#byId.length < record.id) this.#byId.push(undefined);
    this.#byId.push(record);
    if (record.key !== undefined) this.#byKey.set(scopedKey(record.key, record.scope), record.id);
    this.#live++;
    this.#textBytes += hostBytes(record);
  }

  remove(id: number): NodeRecord | undefined {
    const record = this.get(id);
    if (!record) return undefined;
    this.#byId[id] = undefined;
    if (record.key !== undefined) this.#byKey.delete(scopedKey(record.key, record.scope));
    this.#live--;
    this.#textBytes -= hostBytes(record);
    return record;
  }

  setText(record: NodeRecord, text: string): void {
    this.#textBytes += 2 * (text.length - record.text.length);
    record.text = text;
  }

  setMetadata(record: NodeRecord, metadata: Record<string, unknown>, bytes: number): void {
    this.#textBytes += bytes - record.metadataBytes;
    record.metadata = metadata;
    record.metadataBytes = bytes;
  }

  *ids(): IterableIterator<number> {
    for (let id = 0; id < this.#byId.length; id++) if (this.#byId[id]) yield id;
  }
}

function scopedKey(key: string, scope: Scope | undefined): string {
  return scope ? `${scopeKey(scope)}\u0000${key}` : key;
}

export function hostBytes(r: { text: string; metadataBytes: number; key?: string | undefined }): number {
  return 2 * r.text.length + r.metadataBytes + 2 * (r.key?.length ?? 0);
}

// The store as a snapshot, and a snapshot as the effects that rebuild it: restoring goes through the
// same `apply` as every live write and every replayed log record.
import type { Effect } from '../persistence/effects.js';
import { BLOCK_RECORDS, groupByBlock, type SnapshotStream, type StoredEdge, type StoredRecord } from '../persistence/format.js';
import type { Scope } from '../types.js';
import type { NodeRecord } from './records.js';
import type { Store } from './store.js';

/**
 * The whole store as a snapshot stream: live records in id order, blocks of `blockRecords` made
 * one at a time as the stream is iterated (their records, edges and a copy of their vectors), so
 * a checkpoint never holds more than one block beyond the store. Removed rows are compacted away.
 * The stream reads the store as it is iterated: iterate it before the store changes again.
 */
export function snapshotStream(store: Store, blockRecords = BLOCK_RECORDS): SnapshotStream {
  const dim = store.rows.dim;
  const ids = [...store.records.ids()];
  const blockCount = Math.ceil(ids.length / blockRecords);
  // The nodes with edges grouped by the block of their record, in the graph's order (as the one-buffer encoding had them).
  const nodes = groupByBlock(store.graph.nodes(), (id) => id, (id) => blockOfId(ids, id, blockRecords), blockCount);
  const edgesOf = (id: number): [number, StoredEdge[]] => [id, store.graph.edges(id).map((e) => ({ ...e }))];
  return {
    dim,
    nextId: store.records.nextId,
    focus: store.focusOf(undefined),
    scopeFocus: store.focuses.filter(([scope]) => scope !== ''),
    count: ids.length,
    blockCount,
    orphanEdges: nodes.orphans.map(edgesOf),
    blocks: {
      *[Symbol.iterator]() {
        for (let b = 0; b < blockCount; b++) {
          const records = ids.slice(b * blockRecords, (b + 1) * blockRecords).map((id) => store.get(id)!);
          const vectors = new Float32Array(records.length * dim);
          records.forEach((r, i) => store.rows.copyVector(r.row, vectors, i * dim));
          yield { records: records.map(storedRecord), edges: nodes.blocks[b]!.map(edgesOf), vectors };
        }
      },
    },
  };
}

/** The block of a live id (ids ascending), by binary search; undefined for an id without a record. */
function blockOfId(ids: readonly number[], id: number, blockRecords: number): number | undefined {
  let lo = 0, hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1, at = ids[mid]!;
    if (at === id) return Math.floor(mid / blockRecords);
    if (at < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

function storedRecord(r: NodeRecord): StoredRecord {
  return {
    id: r.id, text: r.text, weight: r.weight, metadata: r.metadata, createdAt: r.createdAt, key: r.key,
    norm: r.norm, accessCount: r.accessCount, lastAccessedAt: r.lastAccessedAt, ...lifecycleOf(r),
  };
}

/** A record's scope, validity and TTL, only those it has (so that records without them stay as they were). */
export function lifecycleOf(r: { scope: Scope | undefined; validFrom: number | undefined; validTo: number | undefined; expiresAt: number | undefined }) {
  return {
    ...(r.scope ? { scope: { ...r.scope } } : {}),
    ...(r.validFrom === undefined ? {} : { validFrom: r.validFrom }),
    ...(r.validTo === undefined ? {} : { validTo: r.validTo }),
    ...(r.expiresAt === undefined ? {} : { expiresAt: r.expiresAt }),
  };
}

/**
 * The effects that turn an empty store into the snapshot's; ids are kept. One `add` a block, made
 * as the effects are iterated, so that a snapshot read from a file is applied a block at a time.
 */
export function* restoreEffects(snapshot: SnapshotStream): Generator<Effect> {
  const dim = snapshot.dim;
  const edges = [...snapshot.orphanEdges];
  for (const block of snapshot.blocks) {
    yield { op: 'add', items: block.records.map((r, i) => ({ ...r, unit: block.vectors.subarray(i * dim, (i + 1) * dim) })) };
    for (const entry of block.edges) edges.push(entry);
  }
  if (edges.length > 0) yield { op: 'edges', sets: edges };
  yield { op: 'focus', id: snapshot.focus, scope: '' };
  for (const [scope, id] of snapshot.scopeFocus ?? []) yield { op: 'focus', id, scope };
  yield { op: 'advance', nextId: snapshot.nextId };
}

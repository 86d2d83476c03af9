// The store as a snapshot, and a snapshot as the effects that rebuild it: restoring goes through the
// same `apply` as every live write and every replayed log record.
import type { Effect } from '../persistence/effects.js';
import type { SnapshotState } from '../persistence/format.js';
import type { Scope } from '../types.js';
import type { Store } from './store.js';

/** The whole store: live records in id order, their vectors, edges and the focus (removed rows compacted away). */
export function snapshotState(store: Store): SnapshotState {
  const dim = store.rows.dim;
  const records = [...store.records.ids()].map((id) => store.get(id)!);
  const vectors = new Float32Array(records.length * dim);
  records.forEach((r, i) => vectors.set(store.rows.vector(r.row), i * dim));
  return {
    dim,
    nextId: store.records.nextId,
    focus: store.focusOf(undefined),
    scopeFocus: store.focuses.filter(([scope]) => scope !== ''),
    records: records.map((r) => ({
      id: r.id, text: r.text, weight: r.weight, metadata: r.metadata, createdAt: r.createdAt, key: r.key,
      norm: r.norm, accessCount: r.accessCount, lastAccessedAt: r.lastAccessedAt, ...lifecycleOf(r),
    })),
    edges: [...store.graph.entries()],
    vectors,
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

/** The effects that turn an empty store into the snapshot's; ids are kept. */
export function restoreEffects(state: SnapshotState): Effect[] {
  const dim = state.dim;
  const effects: Effect[] = [];
  if (state.records.length > 0) {
    effects.push({
      op: 'add',
      items: state.records.map((r, i) => ({ ...r, unit: state.vectors.subarray(i * dim, (i + 1) * dim) })),
    });
  }
  if (state.edges.length > 0) effects.push({ op: 'edges', sets: state.edges });
  effects.push({ op: 'focus', id: state.focus, scope: '' });
  for (const [scope, id] of state.scopeFocus ?? []) effects.push({ op: 'focus', id, scope });
  effects.push({ op: 'advance', nextId: state.nextId });
  return effects;
}

// What the store shows outside: the retrieval layer's view of it, and copies of its records.
import type { RetrievalSource } from '../retrieval/search.js';
import type { MemoryRecord } from '../types.js';
import type { NodeRecord } from './records.js';
import { lifecycleOf } from './snapshot.js';
import type { Store } from './store.js';

/** The store as retrieval reads it. */
export function sourceOf(store: Store, halfLifeMs: number): RetrievalSource {
  return {
    engine: store.engine,
    get live() { return store.records.live; },
    get: (id) => store.get(id),
    edges: (id) => store.edges(id),
    hubs: () => store.graph.hubs(() => store.records.ids()),
    allowed: (view) => store.allowed(view),
    recencyTime: (memory) => store.recencyTime(memory as NodeRecord),
    halfLifeMs,
  };
}

/** A copy of a record, never a live internal object or a view into the arena. */
export function recordOf(store: Store, r: NodeRecord, withEmbedding: boolean): MemoryRecord {
  const out: MemoryRecord = {
    id: r.id, text: r.text, weight: r.weight, metadata: structuredClone(r.metadata), createdAt: r.createdAt,
    centrality: r.centrality, accessCount: r.accessCount, lastAccessedAt: r.lastAccessedAt,
    edges: store.edges(r.id).map((e) => ({ ...e })),
  };
  if (r.key !== undefined) out.key = r.key;
  Object.assign(out, lifecycleOf(r));
  if (withEmbedding) {
    out.embedding = store.rows.vector(r.row);
    out.norm = r.norm;
  }
  return out;
}

// The exact rerank of quantized scans: the kernels pick `k × oversample` candidates by their codes,
// and the host scores each again from its float32 vector (in float64 arithmetic, rounded to the
// float32 a similarity is), with the kernel's own formula for the priority key.
import type { Candidate } from './kernels.js';
import { compareCandidates } from './merge.js';
import type { RowStore } from './rows.js';

const LN_TENTH = Math.log(0.1);

export interface KeyParams {
  priority: boolean;
  alpha: number;
  nowSeconds: number;
  decayPerSecond: number;
}

/** ln P as the kernel computes it (assembly/index.ts `priorityKey`). */
function priorityKey(sim: number, side: ReturnType<RowStore['sideValues']>, p: KeyParams): number {
  const logR = Math.min(0, Math.max(LN_TENTH, -p.decayPerSecond * (p.nowSeconds - side.time)));
  const structure = (1 - p.alpha) * (side.logCentrality + logR) + side.logWeight;
  if (p.alpha === 0) return structure;
  if (sim <= 0) return -Infinity;
  return p.alpha * Math.log(sim) + structure;
}

/** The best `k` of `candidates` by their exact scores (an id met twice, while its row was being replaced, counts once). */
export function rerank(rows: RowStore, query: Float32Array, candidates: readonly Candidate[], k: number, p: KeyParams): Candidate[] {
  const seen = new Set<number>();
  const exact: Candidate[] = [];
  for (const c of candidates) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    const row = rows.rowOf(c.id);
    const similarity = Math.fround(rows.dot(row, query));
    exact.push({ id: c.id, similarity, key: p.priority ? priorityKey(similarity, rows.sideValues(row), p) : similarity });
  }
  exact.sort(compareCandidates);
  return exact.slice(0, k);
}

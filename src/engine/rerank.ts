// The rerank of quantized scans: the kernels pick candidates by their codes (binary rows by their
// bits, then by their int8 codes), and the rerank scores them again by the float32 vectors (the
// kernel `dotRows`, a float32 scan's own arithmetic), the priority key by the kernel's formula.
import type { Candidate } from './kernels.js';
import { best } from './merge.js';
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

/**
 * `candidates` scored again by `similarities` (of each row to the query, in the rows' order), the
 * best `keep` returned in order (an id met twice, while its row was being replaced, counts once).
 */
export function rerank(
  rows: RowStore, candidates: readonly Candidate[], p: KeyParams, similarities: (rows: readonly number[]) => Float32Array, keep: number,
): Candidate[] {
  const seen = new Set<number>();
  const pending: { id: number; row: number }[] = [];
  for (const c of candidates) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    pending.push({ id: c.id, row: rows.rowOf(c.id) });
  }
  // In row order, the rows' vectors are read forward through memory.
  pending.sort((a, b) => a.row - b.row);
  const scores = similarities(pending.map((c) => c.row));
  return best(pending.map((c, i) => {
    const similarity = scores[i]!;
    return { id: c.id, similarity, key: p.priority ? priorityKey(similarity, rows.sideValues(c.row), p) : similarity };
  }), keep);
}

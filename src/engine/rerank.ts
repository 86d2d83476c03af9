// The rerank of quantized scans: the kernels pick `k × oversample` candidates by their codes, and
// each stage scores what the previous one kept again, more exactly, and keeps its best: binary rows
// by their int8 codes first, then every quantization by the float32 vectors (the kernel `dotRows`,
// a float32 scan's own arithmetic), the priority key by the kernel's formula at every stage.
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

/** One rescoring: the similarity of each of these rows to the query, in their order, and how many of the best to keep. */
export interface RerankStage {
  similarities: (rows: readonly number[]) => Float32Array;
  keep: number;
}

/**
 * `candidates` rescored by each stage in turn, the last stage's best `keep` returned in order (an id
 * met twice, while its row was being replaced, counts once).
 */
export function rerank(rows: RowStore, candidates: readonly Candidate[], p: KeyParams, stages: readonly RerankStage[]): Candidate[] {
  const seen = new Set<number>();
  let pending: { id: number; row: number }[] = [];
  for (const c of candidates) {
    if (seen.has(c.id)) continue;
    seen.add(c.id);
    pending.push({ id: c.id, row: rows.rowOf(c.id) });
  }
  // In row order, each stage reads the rows' codes or vectors forward through memory.
  pending.sort((a, b) => a.row - b.row);
  let ranked: (Candidate & { row: number })[] = [];
  for (const stage of stages) {
    const scores = stage.similarities(pending.map((c) => c.row));
    ranked = best(pending.map((c, i) => {
      const similarity = scores[i]!;
      return { id: c.id, row: c.row, similarity, key: p.priority ? priorityKey(similarity, rows.sideValues(c.row), p) : similarity };
    }), stage.keep);
    pending = ranked;
  }
  return ranked.map(({ id, similarity, key }) => ({ id, similarity, key }));
}

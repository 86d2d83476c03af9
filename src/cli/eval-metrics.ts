// Retrieval metrics for `ov-memory eval`, over one ranking (memory indexes, best first) and the set
// of evidence indexes of its question:
//   recall_any@k  1 when at least one evidence turn is among the top k
//   recall_all@k  1 when every evidence turn is among the top k
//   NDCG@k        Σ_{i<k, r_i relevant} 1/log2(i+2)  /  Σ_{i<min(k,|E|)} 1/log2(i+2)   (binary relevance)

export const CUTOFFS = [1, 5, 10] as const;

export function recallAny(ranked: readonly number[], evidence: ReadonlySet<number>, k: number): number {
  return ranked.slice(0, k).some((id) => evidence.has(id)) ? 1 : 0;
}

export function recallAll(ranked: readonly number[], evidence: ReadonlySet<number>, k: number): number {
  const top = new Set(ranked.slice(0, k));
  for (const id of evidence) if (!top.has(id)) return 0;
  return 1;
}

export function ndcg(ranked: readonly number[], evidence: ReadonlySet<number>, k: number): number {
  let dcg = 0;
  ranked.slice(0, k).forEach((id, i) => {
    if (evidence.has(id)) dcg += 1 / Math.log2(i + 2);
  });
  let ideal = 0;
  for (let i = 0; i < Math.min(k, evidence.size); i++) ideal += 1 / Math.log2(i + 2);
  return ideal === 0 ? 0 : dcg / ideal;
}

export interface QuestionResult {
  category: string;
  ranked: readonly number[];
  evidence: readonly number[];
  ms: number;
}

export interface Summary {
  questions: number;
  recallAny: Record<`@${(typeof CUTOFFS)[number]}`, number>;
  recallAll: Record<`@${(typeof CUTOFFS)[number]}`, number>;
  ndcg10: number;
  msPerQuery: number;
}

function summarize(results: readonly QuestionResult[]): Summary {
  const n = results.length;
  const mean = (f: (r: QuestionResult, evidence: Set<number>) => number) =>
    n === 0 ? 0 : results.reduce((sum, r) => sum + f(r, new Set(r.evidence)), 0) / n;
  const at = (metric: typeof recallAny) =>
    Object.fromEntries(CUTOFFS.map((k) => [`@${k}`, mean((r, e) => metric(r.ranked, e, k))])) as Summary['recallAny'];
  return {
    questions: n,
    recallAny: at(recallAny),
    recallAll: at(recallAll),
    ndcg10: mean((r, e) => ndcg(r.ranked, e, 10)),
    msPerQuery: mean((r) => r.ms),
  };
}

/** The metrics per category (in order of first appearance) and over all questions. */
export function summarizeByCategory(results: readonly QuestionResult[]): { overall: Summary; categories: Record<string, Summary> } {
  const groups = new Map<string, QuestionResult[]>();
  for (const r of results) {
    let group = groups.get(r.category);
    if (!group) groups.set(r.category, (group = []));
    group.push(r);
  }
  return {
    overall: summarize(results),
    categories: Object.fromEntries([...groups].map(([category, group]) => [category, summarize(group)])),
  };
}

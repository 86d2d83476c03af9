// The 4-factor priority on the host, for the few memories that need it outside a scan (the hits'
// explanations, the context walk). The kernel computes the same formula in log space.

/** R = 0.5^(age / halfLife); a time in the future counts as now. */
export function recencyFactor(now: number, time: number, halfLifeMs: number): number {
  const age = now - time;
  return age <= 0 ? 1 : 0.5 ** (age / halfLifeMs);
}

/** P = S⁺^α · max(0.1, C)^(1−α) · max(0.1, R)^(1−α) · W; with α = 0 similarity does not count at all. */
export function priorityScore(similarity: number, centrality: number, recency: number, weight: number, alpha: number): number {
  const structure = (Math.max(0.1, centrality) * Math.max(0.1, recency)) ** (1 - alpha) * weight;
  if (alpha === 0) return structure;
  return similarity <= 0 ? 0 : similarity ** alpha * structure;
}

export type MetabolicState = 'HEALTHY' | 'STRESSED' | 'CRITICAL' | 'EMERGENCY';

/** The metabolic state from the share of a token budget still left, and the α it ranks with. */
export function metabolicState(budget: { total: number; used: number } | undefined): { state: MetabolicState; alpha: number } {
  const remaining = budget === undefined ? 1 : (budget.total - budget.used) / budget.total;
  if (remaining > 0.7) return { state: 'HEALTHY', alpha: 0.6 };
  if (remaining > 0.4) return { state: 'STRESSED', alpha: 0.75 };
  if (remaining > 0.1) return { state: 'CRITICAL', alpha: 0.9 };
  return { state: 'EMERGENCY', alpha: 0.95 };
}

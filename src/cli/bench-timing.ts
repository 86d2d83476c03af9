// The timer of `ov-memory bench`: a warm-up, then samples until the case's time budget is spent,
// and the median. It lives in the command rather than in benchmark.js because the command ships in
// the package, where a development dependency is not installed, and a median of samples is all it needs.

/** Share of the budget spent warming up: JIT tiers, worker start-up, caches. */
const WARMUP_SHARE = 0.25;
/** Medians of fewer samples are too easily moved by one interruption. */
const MIN_SAMPLES = 5;
/** A sample runs enough calls to last this long, so timer resolution and await overhead stay small. */
const MIN_SAMPLE_MS = 1;

export interface Timing {
  /** Median milliseconds per call. */
  ms: number;
  samples: number;
}

/** Runs `call` (sync or async) until `budgetMs` is spent, and at least MIN_SAMPLES times after the warm-up. */
export async function timePerCall(call: () => unknown, budgetMs: number): Promise<Timing> {
  const once = async () => {
    const result = call();
    if (result instanceof Promise) await result;
  };
  const warmUntil = performance.now() + budgetMs * WARMUP_SHARE;
  const warmStart = performance.now();
  let warmCalls = 0;
  do {
    await once();
    warmCalls++;
  } while (performance.now() < warmUntil);
  const estimate = (performance.now() - warmStart) / warmCalls;
  const callsPerSample = Math.max(1, Math.ceil(MIN_SAMPLE_MS / Math.max(estimate, 1e-6)));

  const until = performance.now() + budgetMs * (1 - WARMUP_SHARE);
  const samples: number[] = [];
  while (samples.length < MIN_SAMPLES || performance.now() < until) {
    const started = performance.now();
    for (let i = 0; i < callsPerSample; i++) await once();
    samples.push((performance.now() - started) / callsPerSample);
  }
  return { ms: median(samples), samples: samples.length };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

// The corpus every benchmark uses (the same one `ov-memory bench` generates): a seeded Gaussian
// mixture of 100 clusters with unit rows, and queries from the same mixture.
import { gaussianMixture } from '../dist/internal.js';

export const corpus = (n, dim, queryCount, seed) => gaussianMixture(n, dim, queryCount, seed);

/** mulberry32: a small seeded generator, the same as the tests' (test/helpers/data.ts). */
export function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The corpus every benchmark uses (the same one `ov-memory bench` generates): a seeded Gaussian
// mixture of 100 clusters with unit rows, and queries from the same mixture.
import { gaussianMixture } from '../dist/internal.js';

export const corpus = (n, dim, queryCount, seed) => gaussianMixture(n, dim, queryCount, seed);

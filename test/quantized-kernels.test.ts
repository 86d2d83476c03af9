// The int8 and binary kernels, for both builds, against references written here: the codes each row
// and query should get, their integer dot product or Hamming distance in float64, and the cosine the
// codes approximate. Seeded data at dimensions 1..1100 (lane edges included), zero and constant rows,
// rows across segment boundaries, one query and blocks of four with a tail.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Arena,
  type Candidate,
  encodeQuery,
  heapBytes,
  instantiateKernels,
  int8QueryRange,
  Layout,
  loadKernelModule,
  QUANT_CODE,
  queryCodeBytes,
  readHeap,
  RowStore,
  ScanMode,
  writeRequest,
} from '../dist/internal.js';
import { type Coded, codedSimilarity } from './helpers/codes.js';
import { gaussian, random } from './helpers/data.js';

interface Case {
  dim: number;
  rows: number;
  seed: number;
  queries: number;
  /** Hits kept per query; default: every row. */
  k?: number;
  /** Binary rows: the bit scan keeps k, and each of those is scored again by its int8 codes, the best refineK kept. */
  refineK?: number;
  /** Rows of the int8 split's test: near the query, or aligned with its tail only (see below); default Gaussian. */
  near?: boolean;
}

const unit = (v: number[]) => {
  const n = Math.hypot(...v);
  return n === 0 ? v : v.map((x) => x / n);
};

function float64Cosine(q: Float32Array, x: Float32Array): number {
  let sum = 0;
  for (let j = 0; j < q.length; j++) sum += q[j]! * x[j]!;
  return sum;
}

/** Rows (5 % zero, 5 % constant, 10 % repeats, the rest Gaussian) in a RowStore of small segments; every row's coded similarity from the kernel. */
async function runCase(flavor: 'simd' | 'scalar', quantization: Coded, c: Case, kernel: 'scanTopK' | 'scanTopKBatch') {
  const rand = random(c.seed);
  const arena = new Arena(64 * 1024 * 1024);
  const rows = new RowStore(arena, c.dim, 64, 16, 0, quantization);
  const kernels = instantiateKernels(await loadKernelModule(flavor), arena.memory);
  const stored: Float32Array[] = [];
  rows.reserve(c.rows);
  for (let i = 0; i < c.rows; i++) {
    const kind = rand();
    const vector = Float32Array.from(
      c.near ? nearRow(c.dim, rand, i)
      : kind < 0.05 ? new Array(c.dim).fill(0)
        : kind < 0.1 ? unit(new Array(c.dim).fill(kind < 0.075 ? 1 : -1))
          : kind < 0.2 && i > 0 ? stored[Math.floor(rand() * i)]!
            : unit(Array.from({ length: c.dim }, () => gaussian(rand))),
    );
    stored.push(vector);
    rows.append(vector, { id: i, centrality: 0, weight: 1, timeMs: 0 });
  }
  const queries = Array.from({ length: c.queries }, (_, q) =>
    Float32Array.from(q === 1 || c.near ? unit(new Array(c.dim).fill(1)) : unit(Array.from({ length: c.dim }, () => gaussian(rand)))));
  const k = c.k ?? Math.max(1, c.rows), refineK = c.refineK ?? 0, codeStride = rows.format.vectorBytes, bytesEach = heapBytes(k, refineK, 8 * codeStride);
  const codeBytes = queryCodeBytes(c.dim, quantization);
  const request = arena.alloc(Layout.REQUEST_BYTES + c.queries * codeBytes + c.queries * bytesEach);
  const codes = request + Layout.REQUEST_BYTES, heaps = codes + c.queries * codeBytes;
  queries.forEach((q, i) => encodeQuery(q, c.dim, quantization, arena.views, codes + i * codeBytes));
  writeRequest(arena.views, request, {
    k, mode: ScanMode.SIMILARITY, stride: rows.stride, alpha: 1, nowSeconds: 0, decayPerSecond: 0, maxLogWeight: 0,
    queries: 0, count: c.queries, mask: 0,
    codes: {
      quant: QUANT_CODE[quantization], stride: codeStride, queries: codes, bytesEach: codeBytes, refineK, refineStride: rows.format.refineBytes,
      splitBytes: rows.format.splitBytes,
    },
  });
  kernels.startHeaps(request, heaps, c.queries, bytesEach);
  for (const piece of rows.plan(rows.count, 1, 1000)[0] ?? []) {
    const scanned = kernel === 'scanTopK'
      ? kernels.scanTopK(request, piece.segment, piece.from, piece.to, 0, heaps)
      : kernels.scanTopKBatch(request, piece.segment, piece.from, piece.to, heaps, bytesEach);
    expect(scanned).toBe(piece.to - piece.from);
  }
  kernels.finishHeaps(request, heaps, c.queries, bytesEach);
  const similarities = queries.map((_, q) => {
    const list: Candidate[] = [];
    readHeap(arena.views, heaps + q * bytesEach, list);
    return new Map(list.map((h) => [h.id, h.similarity]));
  });
  return { stored, queries, similarities };
}

/**
 * The int8 split's rows, for the query (1, 1, …): rows that hold only the query's tail, which score
 * t = |q_tail| and for which the bound of Cauchy–Schwarz is an equality; rows just below t (the
 * tail with a little of minus the head: the floor sits within a few percent under the tail rows'
 * bound); and Gaussian rows, which stop at their split.
 */
function nearRow(dim: number, rand: () => number, i: number): number[] {
  const split = Math.floor(Math.ceil(dim / 16) * 16 / 4 / 32) * 32;
  const kind = i % 10;
  if (kind < 2) return unit(Array.from({ length: dim }, (_, j) => (j < split ? -0.05 * rand() : 1)));
  if (kind < 4) return unit(Array.from({ length: dim }, (_, j) => (j < split ? 0 : 1)));
  return unit(Array.from({ length: dim }, () => gaussian(rand)));
}

const cases = fc.record({
  dim: fc.oneof(
    fc.integer({ min: 1, max: 20 }),
    fc.constantFrom(15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129, 767, 768, 769, 1100),
    fc.integer({ min: 1, max: 1100 }),
  ),
  rows: fc.integer({ min: 0, max: 150 }),
  seed: fc.integer(),
  queries: fc.integer({ min: 1, max: 7 }),
});

/**
 * How far int8 codes may stray from the float64 cosine of unit vectors: each value is off by at most
 * half a step (max|x| / 254), so by Cauchy–Schwarz the sum is off by at most √dim times that, for the
 * row and for the query.
 */
function int8Bound(q: Float32Array, x: Float32Array): number {
  const maxX = Math.max(0, ...Array.from(x, Math.abs)), maxQ = Math.max(0, ...Array.from(q, Math.abs));
  const range = Math.min(32_767, Math.floor((2 ** 31 - 1) / (q.length * 127)));
  return Math.sqrt(q.length) * (maxX / 254 + (maxQ / (2 * range)) * 1.01) + 1e-6;
}

for (const flavor of ['simd', 'scalar'] as const) {
  for (const quantization of ['int8', 'binary'] as const) {
    describe(`quantized kernels (${flavor}, ${quantization})`, () => {
      it(`scanTopK (${flavor}, ${quantization}) scores every row as its codes say`, async () => {
        await fc.assert(fc.asyncProperty(cases, async (c) => {
          const { stored, queries, similarities } = await runCase(flavor, quantization, { ...c, queries: 1 }, 'scanTopK');
          const q = queries[0]!;
          expect(similarities[0]!.size).toBe(c.rows);
          stored.forEach((x, id) => {
            const got = similarities[0]!.get(id)!;
            expect(Math.abs(got - codedSimilarity(quantization, q, x)), `dim ${c.dim} row ${id}`).toBeLessThan(2e-6);
            if (quantization === 'int8') expect(Math.abs(got - float64Cosine(q, x))).toBeLessThanOrEqual(int8Bound(q, x));
          });
        }), { numRuns: 50, seed: 3 });
      });

      it(`scanTopKBatch (${flavor}, ${quantization}) gives each query of a block and of the tail what scanTopK gives it`, async () => {
        await fc.assert(fc.asyncProperty(cases, async (c) => {
          const { stored, queries, similarities } = await runCase(flavor, quantization, c, 'scanTopKBatch');
          queries.forEach((q, i) => {
            expect(similarities[i]!.size).toBe(c.rows);
            stored.forEach((x, id) => expect(Math.abs(similarities[i]!.get(id)! - codedSimilarity(quantization, q, x))).toBeLessThan(2e-6));
          });
        }), { numRuns: 30, seed: 4 });
      });
    });
  }
}

describe('quantized kernels: a full heap', () => {
  // Binary similarities tie often; the heap keeps the smaller id of a tie, so the kept set is exactly
  // the reference's first k by (similarity, then id), whichever way a row meets the heap's root.
  for (const quantization of ['binary', 'int8'] as const) {
    it(`keeps exactly the best k by similarity, then id (${quantization}, both kernels)`, async () => {
      await fc.assert(fc.asyncProperty(cases, fc.integer({ min: 1, max: 40 }), fc.constantFrom('scanTopK', 'scanTopKBatch'), async (c, k, kernel) => {
        const { stored, queries, similarities } = await runCase('simd', quantization, { ...c, k }, kernel);
        queries.forEach((q, i) => {
          if (kernel === 'scanTopK' && i > 0) return;
          const want = stored.map((x, id) => ({ id, s: codedSimilarity(quantization, q, x) }))
            .sort((a, b) => b.s - a.s || a.id - b.id).slice(0, Math.min(k, stored.length));
          const kept = [...similarities[i]!.keys()].sort((a, b) => a - b);
          expect(kept.length).toBe(want.length);
          if (quantization === 'binary') expect(kept).toEqual(want.map((w) => w.id).sort((a, b) => a - b));
          else {
            // int8 sums are rounded to f32, which may order two near-equal rows unlike float64: each kept row must reach the k-th score.
            const kth = want.at(-1)?.s ?? Infinity;
            kept.forEach((id) => expect(codedSimilarity(quantization, q, stored[id]!)).toBeGreaterThanOrEqual(kth - 2e-6));
          }
        });
      }), { numRuns: 40, seed: 9 });
    });
  }
});

describe('quantized kernels: int8 rows read in two parts', () => {
  // A row is read past its split only when its first part plus the tail bound can reach the floor.
  // A heap of every row never has a floor, so every row is read whole: the heap of k must be its
  // best k, with the very similarities, at every k, in both builds, for a query whose tail rows meet
  // the bound with equality.
  it('keeps the very hits, with the very similarities, that reading every row whole keeps', async () => {
    const split = fc.record({
      dim: fc.oneof(fc.constantFrom(256, 257, 300, 767, 768, 769, 1100), fc.integer({ min: 256, max: 1100 })),
      rows: fc.integer({ min: 20, max: 300 }),
      seed: fc.integer(),
      k: fc.integer({ min: 1, max: 40 }),
    });
    const kernels = fc.constantFrom('scanTopK', 'scanTopKBatch');
    await fc.assert(fc.asyncProperty(split, fc.constantFrom('simd', 'scalar'), fc.boolean(), kernels, async (c, flavor, near, kernel) => {
      // Five queries: a block of four and one more, in the batch kernel.
      const base = { ...c, queries: kernel === 'scanTopK' ? 1 : 5, near };
      const split = await runCase(flavor, 'int8', base, kernel);
      const whole = await runCase(flavor, 'int8', { ...base, k: c.rows }, kernel);
      whole.similarities.forEach((all, i) => {
        expect(all.size).toBe(c.rows);
        const best = [...all].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, c.k);
        expect([...split.similarities[i]!].sort((a, b) => a[0] - b[0]), `query ${i}`).toEqual(best.sort((a, b) => a[0] - b[0]));
      });
    }), { numRuns: 80, seed: 31 });
  });
});

describe('quantized kernels: binary rows refined by their int8 codes', () => {
  // The kernel scores a row by its int8 codes as soon as the bit scan keeps it, so what it refines is
  // every row the bit scan ever kept: the bit scan's final best k, and rows it dropped later. The
  // refined heap is therefore at least as good as refining the final best k only.
  it('keeps the best refineK by int8 codes of what the bit scan kept (both kernels, both builds)', async () => {
    const refined = fc.record({ k: fc.integer({ min: 1, max: 40 }), refineK: fc.integer({ min: 1, max: 12 }) });
    await fc.assert(fc.asyncProperty(cases, refined, fc.constantFrom('scanTopK', 'scanTopKBatch'), fc.constantFrom('simd', 'scalar'), async (c, r, kernel, flavor) => {
      const { stored, queries, similarities } = await runCase(flavor, 'binary', { ...c, ...r }, kernel);
      queries.forEach((q, i) => {
        if (kernel === 'scanTopK' && i > 0) return;
        const got = similarities[i]!;
        // At least the bit scan's final k were refined; rows it kept for a while may add to them.
        expect(got.size).toBeGreaterThanOrEqual(Math.min(r.refineK, r.k, stored.length));
        expect(got.size).toBeLessThanOrEqual(Math.min(r.refineK, stored.length));
        // Each kept row carries its int8 similarity, not its Hamming one.
        got.forEach((s, id) => expect(Math.abs(s - codedSimilarity('int8', q, stored[id]!)), `row ${id}`).toBeLessThan(2e-6));
        if (got.size === 0) return;
        const worstKept = Math.min(...got.values());
        const bitBest = stored.map((x, id) => ({ id, s: codedSimilarity('binary', q, x) }))
          .sort((a, b) => b.s - a.s || a.id - b.id).slice(0, r.k);
        // A row of the bit scan's best k that beats the worst kept by its int8 codes was kept.
        for (const { id } of bitBest) {
          if (codedSimilarity('int8', q, stored[id]!) > worstKept + 2e-6) expect(got.has(id), `row ${id}`).toBe(true);
        }
      });
    }), { numRuns: 60, seed: 21 });
  });

  it('when the bit scan keeps every row, keeps the best refineK of all rows by their int8 codes', async () => {
    await fc.assert(fc.asyncProperty(cases, fc.integer({ min: 1, max: 12 }), async (c, refineK) => {
      const { stored, queries, similarities } = await runCase('simd', 'binary', { ...c, k: Math.max(1, c.rows), refineK }, 'scanTopKBatch');
      queries.forEach((q, i) => {
        const want = stored.map((x) => codedSimilarity('int8', q, x)).sort((a, b) => b - a).slice(0, refineK);
        const got = [...similarities[i]!.values()].sort((a, b) => b - a);
        expect(got.length).toBe(want.length);
        got.forEach((s, j) => expect(Math.abs(s - want[j]!)).toBeLessThan(2e-6));
      });
    }), { numRuns: 30, seed: 22 });
  });
});

describe('quantized kernels: int8 sums', () => {
  it('the query range keeps the largest possible sum inside an i32 at every dimension', () => {
    for (const dim of [1, 16, 768, 1100, 4096, 65_536]) {
      const range = int8QueryRange(dim);
      expect(dim * 127 * range).toBeLessThanOrEqual(2 ** 31 - 1);
      expect(range).toBeLessThanOrEqual(32_767);
    }
  });

  it('a row and a query of all-equal extreme codes do not overflow at 1100 dimensions', async () => {
    const dim = 1100;
    const { similarities } = await runCase('simd', 'int8', { dim, rows: 0, seed: 1, queries: 1 }, 'scanTopK');
    expect(similarities[0]!.size).toBe(0);
    const rows = await runCase('simd', 'int8', { dim, rows: 40, seed: 5, queries: 2 }, 'scanTopKBatch');
    // Query 1 is the constant vector: a constant row scores 1 (or −1) exactly as its codes say.
    rows.stored.forEach((x, id) => {
      if (x.every((v) => v === x[0] && v !== 0)) expect(rows.similarities[1]!.get(id)!).toBeCloseTo(Math.sign(x[0]!), 5);
    });
  });
});

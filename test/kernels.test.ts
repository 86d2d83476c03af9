// The kernels against a float64 reference, for both builds (SIMD and scalar), on seeded data at
// dimensions that are and are not multiples of the lane width, across segment boundaries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Arena,
  type Candidate,
  heapBytes,
  instantiateKernels,
  Layout,
  LAYOUT_FIELDS,
  loadKernelModule,
  readHeap,
  RowStore,
  ScanMode,
  writeRequest,
} from '../dist/internal.js';
import { expectSameHits, gaussian, random, type RefHit } from './helpers/data.js';

interface Case {
  dim: number;
  rows: number;
  k: number;
  seed: number;
  mode: 0 | 1;
  alpha: number;
  queries: number;
}

/** Builds a store of raw rows (zero rows and duplicates included) and runs one kernel over it. */
async function runCase(flavor: 'simd' | 'scalar', c: Case, kernel: 'scanTopK' | 'scanTopKBatch') {
  const rand = random(c.seed);
  const arena = new Arena(64 * 1024 * 1024);
  const rows = new RowStore(arena, c.dim, 64, 16, 0);
  const kernels = instantiateKernels(await loadKernelModule(flavor), arena.memory);
  const unit = (v: number[]) => {
    const n = Math.hypot(...v);
    return n === 0 ? v : v.map((x) => x / n);
  };
  const stored: { vector: Float32Array; logC: number; logW: number; time: number }[] = [];
  rows.reserve(c.rows);
  for (let i = 0; i < c.rows; i++) {
    const kind = rand();
    const vector = Float32Array.from(
      kind < 0.05 ? new Array(c.dim).fill(0)
        : kind < 0.2 && i > 0 ? stored[Math.floor(rand() * i)]!.vector
          : unit(Array.from({ length: c.dim }, () => gaussian(rand))),
    );
    const centrality = rand(), weight = 0.2 + 2 * rand(), time = -rand() * 200_000;
    const values = { logC: Math.log(Math.max(0.1, centrality)), logW: Math.log(weight), time };
    stored.push({ vector, ...values });
    rows.append(vector, { id: i, centrality, weight, timeMs: time * 1000 });
  }
  const queries = Array.from({ length: c.queries }, (_, q) =>
    Float32Array.from(q === 0 && rand() < 0.1 ? new Array(c.dim).fill(0) : unit(Array.from({ length: c.dim }, () => gaussian(rand)))));
  const stride = rows.stride, bytesEach = heapBytes(c.k);
  const request = arena.alloc(Layout.REQUEST_BYTES + c.queries * stride * 4 + c.queries * Math.max(bytesEach, c.rows * 8 + 16));
  const queryBase = request + Layout.REQUEST_BYTES, out = queryBase + c.queries * stride * 4;
  queries.forEach((q, i) => arena.views.f32.set(q, (queryBase >>> 2) + i * stride));
  const decay = Math.LN2 / 86_400;
  const maxLogWeight = Math.max(0, ...stored.map((s) => s.logW));
  writeRequest(arena.views, request, {
    k: c.k, mode: c.mode, stride, alpha: c.alpha, nowSeconds: 0, decayPerSecond: decay, maxLogWeight,
    queries: queryBase, count: c.queries, mask: 0,
  });
  kernels.startHeaps(request, out, c.queries, bytesEach);
  const pieces = rows.plan(rows.count, 1, 1000)[0] ?? [];

  // The reference: float64 arithmetic on the same stored float32 values.
  const reference = (q: Float32Array): RefHit[] => stored.map((s, id) => {
    let sim = 0;
    for (let j = 0; j < c.dim; j++) sim += q[j]! * s.vector[j]!;
    const logR = Math.min(0, Math.max(Math.log(0.1), -decay * (0 - s.time)));
    const structure = (1 - c.alpha) * (s.logC + logR) + s.logW;
    const key = c.mode === ScanMode.SIMILARITY ? sim : c.alpha === 0 ? structure : sim <= 0 ? -Infinity : c.alpha * Math.log(sim) + structure;
    return { id, score: key, similarity: sim };
  }).sort((a, b) => (a.score === b.score ? b.similarity - a.similarity || a.id - b.id : a.score < b.score ? 1 : -1));

  for (const piece of pieces) {
    const scanned = kernel === 'scanTopK'
      ? kernels.scanTopK(request, piece.segment, piece.from, piece.to, 0, out)
      : kernels.scanTopKBatch(request, piece.segment, piece.from, piece.to, out, bytesEach);
    expect(scanned).toBe(piece.to - piece.from);
  }
  kernels.finishHeaps(request, out, c.queries, bytesEach);
  const results = queries.map((_, q) => {
    const list: Candidate[] = [];
    readHeap(arena.views, out + q * bytesEach, list);
    return list.sort((a, b) => (a.key === b.key ? b.similarity - a.similarity || a.id - b.id : a.key < b.key ? 1 : -1))
      .map((h) => ({ id: h.id, score: h.key, similarity: h.similarity }));
  });
  return { queries, reference, results };
}

const cases = fc.record({
  dim: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constantFrom(3, 4, 5, 15, 16, 17, 63, 64, 65, 767, 768, 769), fc.integer({ min: 1, max: 1100 })),
  rows: fc.integer({ min: 0, max: 300 }),
  k: fc.integer({ min: 1, max: 40 }),
  seed: fc.integer(),
  mode: fc.constantFrom<0 | 1>(0, 1),
  alpha: fc.oneof(fc.constantFrom(0, 1, 0.75), fc.double({ min: 0, max: 1, noNaN: true })),
  queries: fc.integer({ min: 1, max: 9 }),
});

for (const flavor of ['simd', 'scalar'] as const) {
  describe(`kernels (${flavor})`, () => {
    it(`scanTopK (${flavor}) keeps the float64 reference's top k`, async () => {
      await fc.assert(fc.asyncProperty(cases, async (c) => {
        const { queries, reference, results } = await runCase(flavor, { ...c, queries: 1 }, 'scanTopK');
        const want = reference(queries[0]!);
        expectSameHits(results![0]!, want.slice(0, Math.min(c.k, c.rows) + 1), 1e-5);
      }), { numRuns: 60, seed: 1 });
    });

    it(`scanTopKBatch (${flavor}) gives every query of a block its own top k`, async () => {
      await fc.assert(fc.asyncProperty(cases, async (c) => {
        const { queries, reference, results } = await runCase(flavor, c, 'scanTopKBatch');
        queries.forEach((q, i) => expectSameHits(results![i]!, reference(q).slice(0, Math.min(c.k, c.rows) + 1), 1e-5));
      }), { numRuns: 40, seed: 2 });
    });
  });
}

describe('kernels: SIMD and scalar builds', () => {
  it('agree within float tolerance on the same data', async () => {
    const c: Case = { dim: 301, rows: 500, k: 25, seed: 7, mode: 1, alpha: 0.6, queries: 5 };
    const simd = await runCase('simd', c, 'scanTopKBatch');
    const scalar = await runCase('scalar', c, 'scanTopKBatch');
    simd.results!.forEach((list, q) => expectSameHits(list, scalar.results![q]!, 1e-5));
  });
});

describe('kernels: the byte layout', () => {
  it('the host\'s table of request, segment and heap offsets is the kernel\'s own', async () => {
    const arena = new Arena(1024 * 1024);
    const kernels = instantiateKernels(await loadKernelModule('simd'), arena.memory);
    const fromKernel = LAYOUT_FIELDS.map((f, i) => ({ name: f.name, offset: kernels.layoutOffset(i) }));
    expect(fromKernel).toEqual(LAYOUT_FIELDS);
    expect(kernels.layoutOffset(LAYOUT_FIELDS.length)).toBe(-1);
  });
});

describe('kernels: a float32 scan reads the two halves of its range side by side', () => {
  const ranges = fc.record({
    dim: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constantFrom(4, 7, 8, 9, 12, 768), fc.integer({ min: 1, max: 1100 })),
    rows: fc.integer({ min: 1, max: 256 }),
    k: fc.integer({ min: 1, max: 30 }),
    seed: fc.integer(),
    start: fc.double({ min: 0, max: 1, noNaN: true }),
    length: fc.double({ min: 0, max: 1, noNaN: true }),
  });

  for (const flavor of ['simd', 'scalar'] as const) {
    it(`(${flavor}) keeps the best k of any range, dead rows left out, each with the very similarity dotRows gives its row`, async () => {
      await fc.assert(fc.asyncProperty(ranges, async (c) => {
        const rand = random(c.seed);
        const arena = new Arena(16 * 1024 * 1024);
        const k = instantiateKernels(await loadKernelModule(flavor), arena.memory);
        const rows = new RowStore(arena, c.dim, 256, 256, 0);
        const unit = (v: number[]) => { const n = Math.hypot(...v); return Float32Array.from(v, (x) => x / n); };
        const vectors: Float32Array[] = [];
        rows.reserve(c.rows);
        for (let i = 0; i < c.rows; i++) {
          // Duplicates tie exactly: the lower id must win.
          vectors.push(i > 0 && rand() < 0.2 ? vectors[Math.floor(rand() * i)]! : unit(Array.from({ length: c.dim }, () => gaussian(rand))));
          rows.append(vectors[i]!, { id: i, centrality: 1, weight: 1, timeMs: 0 });
          if (rand() < 0.15) rows.setLive(i, false);
        }
        const from = Math.floor(c.start * c.rows), to = from + Math.floor(c.length * (c.rows - from + 1));
        const stride = rows.stride, bytesEach = heapBytes(c.k), segment = rows.segments[0]!;
        const request = arena.alloc(Layout.REQUEST_BYTES), query = arena.alloc(stride * 4), heap = arena.alloc(bytesEach);
        const sims = arena.alloc(4 * c.rows);
        arena.views.f32.set(unit(Array.from({ length: c.dim }, () => gaussian(rand))), query >>> 2);
        writeRequest(arena.views, request, {
          k: c.k, mode: ScanMode.SIMILARITY, stride, alpha: 1, nowSeconds: 0, decayPerSecond: 0, maxLogWeight: 0,
          queries: query, count: 1, mask: 0,
        });
        k.startHeaps(request, heap, 1, bytesEach);
        expect(k.scanTopK(request, segment.base, from, to, 0, heap)).toBe(to - from);
        k.finishHeaps(request, heap, 1, bytesEach);
        const got: Candidate[] = [];
        readHeap(arena.views, heap, got);

        // The reference: every row of the range by dotRows, one row at a time, dead rows dropped.
        k.dotRows(query, segment.columns.vectors + from * stride * 4, to - from, stride, sims);
        const want = Array.from({ length: to - from }, (_, i) => ({ id: from + i, similarity: arena.views.f32[(sims >>> 2) + i]! }))
          .filter((hit) => (arena.views.u8[segment.columns.flags + hit.id]! & Layout.FLAG_LIVE) !== 0)
          .sort((a, b) => b.similarity - a.similarity || a.id - b.id)
          .slice(0, c.k);
        expect(got.map((h) => ({ id: h.id, similarity: h.similarity })).sort((a, b) => b.similarity - a.similarity || a.id - b.id)).toEqual(want);
      }), { numRuns: 150, seed: 3 });
    });
  }
});

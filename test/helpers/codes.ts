// The similarity int8 and binary codes stand for, computed from the codes' definition in float64
// (src/engine/quantize.ts): the reference for the kernels and for `rerank: false`.

export type Coded = 'int8' | 'binary';

/** The similarity the codes of `q` and `x` stand for, computed from the codes' definition in float64. */
export function codedSimilarity(quantization: Coded, q: ArrayLike<number>, x: ArrayLike<number>): number {
  const dim = q.length;
  if (quantization === 'binary') {
    let differ = 0;
    for (let j = 0; j < dim; j++) if ((q[j]! > 0) !== (x[j]! > 0)) differ++;
    return 1 - (2 * differ) / dim;
  }
  const maxX = Math.max(...Array.from(x, Math.abs)), maxQ = Math.max(...Array.from(q, Math.abs));
  if (maxX === 0 || maxQ === 0) return 0;
  const range = Math.min(32_767, Math.floor((2 ** 31 - 1) / (dim * 127)));
  let sum = 0;
  for (let j = 0; j < dim; j++) sum += Math.round((x[j]! * 127) / maxX) * Math.round((q[j]! * range) / maxQ);
  return sum * (maxX / 127) * (maxQ / range);
}

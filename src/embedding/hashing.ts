// A deterministic text embedder with nothing to download: feature hashing of words, word pairs and
// character trigrams into `dim` signed buckets, L2-normalised. A baseline for demos and tests — texts
// that share words and spellings land close — not a semantic model: plug in a real one for that.
import { checkPositiveInteger, invalid } from '../resilience/validation.js';

export interface Embedder {
  readonly dim: number;
  embed(texts: readonly string[]): Float32Array[];
}

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function features(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  const out: string[] = [];
  words.forEach((w, i) => {
    out.push(`w:${w}`);
    if (i > 0) out.push(`p:${words[i - 1]} ${w}`);
    const padded = ` ${w} `;
    for (let j = 0; j + 3 <= padded.length; j++) out.push(`t:${padded.slice(j, j + 3)}`);
  });
  return out;
}

export function hashingEmbedder(options: { dim?: number } = {}): Embedder {
  const dim = options.dim === undefined ? 384 : checkPositiveInteger(options.dim, 'dim', 65_536);
  if (dim < 8) throw invalid('dim', 'an integer ≥ 8', dim);
  return {
    dim,
    embed(texts) {
      if (!Array.isArray(texts)) throw invalid('texts', 'an array of strings', texts);
      return texts.map((text, i) => {
        if (typeof text !== 'string') throw invalid(`texts[${i}]`, 'a string', text);
        const v = new Float32Array(dim);
        for (const f of features(text)) {
          const h = hash(f);
          // Words weigh more than pairs, pairs more than trigrams; the top bit picks the sign.
          const weight = f[0] === 'w' ? 1 : f[0] === 'p' ? 0.7 : 0.3;
          v[h % dim]! += h & 0x80000000 ? -weight : weight;
        }
        let norm = 0;
        for (const x of v) norm += x * x;
        norm = Math.sqrt(norm);
        // A text with no word at all still gets a direction, so it can be stored.
        if (norm === 0) { v[hash(text) % dim] = 1; return v; }
        for (let i = 0; i < dim; i++) v[i]! /= norm;
        return v;
      });
    },
  };
}

// String queries: which channels they take (the `mode`, or a `rank` that asks for the vector channel
// alone), their embedding through the store's embedder, and the search that follows.
import { InvalidDataError } from '../resilience/errors.js';
import { checkText } from '../resilience/validation.js';
import type { SearchHit } from '../types.js';
import type { TextEmbedding } from './embed.js';
import { hybridSearch } from './hybrid.js';
import type { LexicalIndex } from './lexical.js';
import { type RetrievalSource, type SearchPlan, searchUnits } from './search.js';

export interface TextSearchPlan extends SearchPlan {
  mode: 'hybrid' | 'vector' | 'text' | undefined;
  rankSet: boolean;
}

export class TextQueries {
  constructor(
    private readonly source: RetrievalSource,
    private readonly lexical: LexicalIndex,
    private readonly embedding: TextEmbedding | undefined,
    private readonly maxTextLength: number,
  ) {}

  /** A string query's hits: hybrid by default, a plain vector ranking when `rank` is given. */
  async search(query: unknown, s: TextSearchPlan, name = 'query'): Promise<SearchHit[]> {
    const text = checkText(query, this.maxTextLength, name);
    const started = performance.now();
    const left = () => ({ ...s, timeoutMs: Math.max(0, s.timeoutMs - (performance.now() - started)) });
    if (s.rankSet) return (await searchUnits(this.source, [await this.vector(text, s, name)], left()))[0]!;
    const mode = s.mode ?? (this.embedding ? 'hybrid' : 'text');
    const unit = mode === 'text' ? undefined : await this.vector(text, s, name);
    return hybridSearch(this.source, this.lexical, { text, unit }, { ...left(), mode });
  }

  /** Queries of both kinds, one at a time: a string as `search`, a vector (`unitOf`) as the vector ranking. */
  async searchEach(queries: readonly unknown[], s: TextSearchPlan, unitOf: (query: unknown, name: string) => Float32Array): Promise<SearchHit[][]> {
    const out: SearchHit[][] = [];
    for (const [i, q] of queries.entries()) {
      const name = `queries[${i}]`;
      out.push(typeof q === 'string' ? await this.search(q, s, name) : (await searchUnits(this.source, [unitOf(q, name)], s))[0]!);
    }
    return out;
  }

  /** A string's embedding (cached); INVALID_DATA when the store has no embedder. */
  vector(text: string, s: { timeoutMs: number; signal: AbortSignal | undefined }, name = 'query'): Promise<Float32Array> {
    if (!this.embedding) {
      throw new InvalidDataError(`\`${name}\` is a string, which needs an \`embedder\` on the store (or \`mode: 'text'\` for the lexical index alone)`, { details: { field: name } });
    }
    return this.embedding.query(text, s);
  }
}

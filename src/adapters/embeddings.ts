// Either kind of embedder, as LangChain's `EmbeddingsInterface`: a LangChain `Embeddings` (OpenAI,
// Ollama, the testing module's) is used as it is, and one of the library's (`hashingEmbedder`,
// `ov-memory/embedders/*`, anything with `dim` and `embed(texts)`) is wrapped, so every adapter that
// embeds text takes both.
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { EmbedderFaultError, type Embedder, type Vector } from 'ov-memory';

import { invalid } from '../embedders/checks.js';

/** A LangChain `Embeddings` or an ov-memory `Embedder`. */
export type AnyEmbeddings = EmbeddingsInterface | Embedder;

function isLangChain(e: AnyEmbeddings): e is EmbeddingsInterface {
  return typeof (e as EmbeddingsInterface).embedDocuments === 'function' && typeof (e as EmbeddingsInterface).embedQuery === 'function';
}

function isEmbedder(e: AnyEmbeddings): e is Embedder {
  return typeof (e as Embedder).embed === 'function' && Number.isSafeInteger((e as Embedder).dim);
}

/** `embeddings` as LangChain's interface; anything else is INVALID_DATA naming `name`. */
export function asLangChainEmbeddings(embeddings: unknown, name: string): EmbeddingsInterface {
  const e = embeddings as AnyEmbeddings;
  if (e !== null && typeof e === 'object' && isLangChain(e)) return e;
  if (e !== null && typeof e === 'object' && isEmbedder(e)) {
    const embed = async (texts: string[]) => {
      const vectors = await e.embed(texts);
      if (!Array.isArray(vectors) || vectors.length !== texts.length) {
        throw new EmbedderFaultError(`The embedder returned ${Array.isArray(vectors) ? vectors.length : 'no array of'} vectors for ${texts.length} texts`);
      }
      return (vectors as readonly Vector[]).map((v) => Array.from(v));
    };
    return {
      embedDocuments: embed,
      embedQuery: async (text) => (await embed([text]))[0]!,
    };
  }
  throw invalid(name, 'a LangChain Embeddings (embedDocuments, embedQuery) or an ov-memory embedder (dim, embed)', embeddings);
}

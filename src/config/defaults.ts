// The one frozen table of defaults and tuning constants; nothing below the facade repeats a default.

export const DEFAULTS = Object.freeze({
  maxMemoryMB: 1024,
  /** wasm32 addresses 4 GiB; one page less keeps a u32 end pointer from wrapping. */
  maxMemoryMBCap: 4095,
  maxTextLength: 10_000,
  maxMetadataBytes: 64 * 1024,
  maxTopK: 10_000,
  topK: 5,
  alpha: 0.75,
  rank: 'priority' as const,
  timeoutMs: 30_000,
  halfLifeMs: 24 * 60 * 60 * 1000,
  recency: 'created' as const,
  durability: 'batch' as const,
  logLevel: 'warn' as const,
  name: 'default',
  segmentRows: 16_384,
  /** The first segment is small and each next one 4× larger up to segmentRows, so small stores stay small. */
  firstSegmentRows: 1_024,
  /**
   * Below this many bytes of vectors the calling thread scans faster than a pool round trip: measured
   * by bench/threshold.mjs on 2 cores, the crossover lies between 12.6 and 25 MB at d = 384 and 768.
   */
  poolMinBytes: 16 * 1024 * 1024,
  quantization: 'none' as const,
  /** Candidates a quantized scan keeps per hit wanted before the exact rerank. */
  oversample: Object.freeze({ none: 1, int8: 4, binary: 128 }),
  maxOversample: 1_000,
  /**
   * A binary scan keeps at least this share of the rows, up to `maxBinaryCandidates`, whatever k ×
   * oversample is: Hamming ranks a true hit at a depth that grows with the store (the float64 study in
   * bench/RESULTS.md, "Quantized rows", "What changed"), so a fixed oversampling loses recall past
   * 100k rows.
   */
  binaryCandidateShare: 0.01,
  maxBinaryCandidates: 16_384,
  /** The most bytes one search's bit scans may keep candidates in (a batch of many queries keeps fewer each). */
  binaryCandidateBytes: 64 * 1024 * 1024,
  atomics: 'sync' as const,
  /** Text and metadata bytes assumed per memory when sizing the default maxNodes. */
  estimatedTextBytes: 512,
  breaker: Object.freeze({ failureThreshold: 5, recoveryMs: 60_000, successThreshold: 2 }),
  windowMs: 60_000,
  errorLimit: 100,
  errorLogCapacity: 1_000,
  closeTimeoutMs: 30_000,
  /** Durable store: fsync interval under durability 'batch', and the log size that triggers a checkpoint. */
  groupCommitMs: 50,
  autoCheckpointBytes: 64 * 1024 * 1024,
  /**
   * minSimilarity: a context injects nothing less similar to the query than this. Measured on LoCoMo
   * (bench/context-floor.mjs, bench/QUALITY.md): 0.05 keeps no question's evidence out with USE
   * vectors and 4.6 % with hashingEmbedder, and stops queries that match nothing; no cosine floor
   * tells an off-topic question from an on-topic one there, so it stays low.
   */
  context: Object.freeze({ maxTokens: 2_000, seeds: 8, maxHops: 4, minSimilarity: 0.05 }),
});

export { OVMemory } from './memory.js';
export {
  AbortedError,
  CircuitOpenError,
  EmbedderFaultError,
  EngineFaultError,
  ErrorCode,
  InternalError,
  InvalidDataError,
  LockedError,
  MemoryCorruptionError,
  NotFoundError,
  OperationTimeoutError,
  OVMemoryError,
  ResourceExhaustionError,
  StorageFaultError,
} from './resilience/errors.js';
export { DEFAULTS } from './options.js';
export { hashingEmbedder } from './embedding/hashing.js';

export type { AddOptions, ContextOptions, ContextResult, MemoryEdge, MemoryInput, MemoryRecord, SearchHit, SearchOptions } from './memory.js';
export type { MetabolicState } from './retrieval/priority.js';
export type { Embedder } from './embedding/hashing.js';
export type { BreakerSettings, OVMemoryOptions } from './options.js';
export type { Vector } from './resilience/validation.js';
export type { MetricsSnapshot } from './observability/metrics.js';
export type { HealthReport } from './observability/health.js';
export type { ErrorRecord } from './observability/error-log.js';
export type { LoggerLike, LogLevel } from './observability/logger.js';

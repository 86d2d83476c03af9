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
export { DEFAULTS } from './config/defaults.js';
export { hashingEmbedder } from './embedding/hashing.js';

export type {
  AddOptions, BreakerSettings, ContextOptions, ContextResult, Embedder, ErrorRecord, Filter, HealthReport, HitFactors, LoggerLike, LogLevel,
  MemoryEdge, MemoryInput, MemoryPatch, MemoryRecord, MetabolicState, MetricsSnapshot, OVMemoryOptions, Recovery, RememberOptions, SearchHit, SearchOptions, TextInput, Vector,
  ForgetSelector, IngestResult, Scope, ViewOptions,
} from './types.js';
export type { FieldCondition, FieldOperators, FilterScalar } from './metadata/filter.js';

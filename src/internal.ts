// Internals for the project's own tests and benchmarks (the `ov-memory/internal` entry): the kernels
// and their memory layout. Not part of the documented API; may change in any release.
export { Arena } from './engine/arena.js';
export { RowStore } from './engine/rows.js';
export { mergeCandidates, compareCandidates, best, bestUnordered } from './engine/merge.js';
export * from './engine/kernels.js';
export { loadKernelModule, simdSupported, type KernelFlavor } from './engine/wasm.js';
export { CircuitBreaker } from './resilience/breaker.js';
export { DEFAULTS } from './config/defaults.js';
export { rowBytes } from './config/options.js';
export { Metrics, classifyError, OPERATION_KINDS } from './observability/metrics.js';
export { evaluateHealth, HEALTH_THRESHOLDS, LATENCY_EXPECTATIONS } from './observability/health.js';
export { checkMetadata, MAX_DEPTH, MAX_METADATA_FIELDS } from './resilience/validation.js';
export { ErrorLog } from './observability/error-log.js';
export { createLogger } from './observability/logger.js';
export { MetadataIndex } from './metadata/filter.js';
export { gaussianMixture } from './cli/bench-data.js';
export { PoolExecutor } from './engine/pool.js';
export { createWorkerScan } from './engine/scan-task.js';
export { StoreDirectory, type OpenSettings, type Recovery, type Loss } from './persistence/directory.js';
export { type StoreFiles } from './persistence/files.js';
export { nodeFiles } from './persistence/node-files.js';
export { FloatFile, FLOAT_FILE } from './persistence/float-file.js';
export { acquireLock, currentLockRecord, processState, type LockRecord } from './persistence/lock.js';
export {
  encodeSnapshot, decodeSnapshot, salvageSnapshot, stampSnapshot, encodeLogHeader, encodeLogRecord, scanLog, crc32c,
  FORMAT_VERSION, LOG_FILE_HEADER, LOG_HEADER, type SnapshotState,
} from './persistence/format.js';
export {
  encodeSnapshotStream, streamOfState, readSnapshotStream, bytesSource, SnapshotEncoder, MAX_SNAPSHOT_BYTES,
  type SnapshotStream, type SnapshotBlock, type SnapshotSource,
} from './persistence/format.js';
export { writeSnapshotDurably, fileSource } from './persistence/snapshot-files.js';
export * from './engine/quantize.js';

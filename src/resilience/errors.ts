// The one catalogue of errors: every error that leaves the library is one of these classes.

export const ErrorCode = Object.freeze({
  INVALID_DATA: 'INVALID_DATA',
  NOT_FOUND: 'NOT_FOUND',
  DUPLICATE_KEY: 'DUPLICATE_KEY',
  RESOURCE_EXHAUSTION: 'RESOURCE_EXHAUSTION',
  TIMEOUT: 'TIMEOUT',
  ABORTED: 'ABORTED',
  CIRCUIT_OPEN: 'CIRCUIT_OPEN',
  MEMORY_CORRUPTION: 'MEMORY_CORRUPTION',
  LOCKED: 'LOCKED',
  CLOSED: 'CLOSED',
  UNSUPPORTED: 'UNSUPPORTED',
  ENGINE_FAULT: 'ENGINE_FAULT',
  STORAGE_FAULT: 'STORAGE_FAULT',
  EMBEDDER_FAULT: 'EMBEDDER_FAULT',
  INTERNAL: 'INTERNAL',
  UNAVAILABLE: 'UNAVAILABLE',
} as const);

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface ErrorOptions {
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class OVMemoryError extends Error {
  readonly code: ErrorCode;
  readonly timestamp: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.timestamp = Date.now();
    this.details = options.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}

export class InvalidDataError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions & { code?: typeof ErrorCode.INVALID_DATA | typeof ErrorCode.DUPLICATE_KEY }) {
    super(options?.code ?? ErrorCode.INVALID_DATA, message, options);
  }
}

export class NotFoundError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.NOT_FOUND, message, options);
  }
}

export class ResourceExhaustionError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.RESOURCE_EXHAUSTION, message, options);
  }
}

export class OperationTimeoutError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.TIMEOUT, message, options);
  }
}

/** Named `AbortError`, as the platform names an aborted operation. */
export class AbortedError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.ABORTED, message, options);
    this.name = 'AbortError';
  }
}

export class CircuitOpenError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.CIRCUIT_OPEN, message, options);
  }
}

export class MemoryCorruptionError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.MEMORY_CORRUPTION, message, options);
  }
}

/** A fault of the scan engine itself (a worker that died or threw, a trap, a stall): what the breaker counts. */
export class EngineFaultError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.ENGINE_FAULT, message, options);
  }
}

/** Another live process (or tab) holds the store. */
export class LockedError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.LOCKED, message, options);
  }
}

/**
 * The journal could not write or sync (the OS error is the `cause`, the file in `details.file`): the
 * store refuses every later write with this code until it is closed and reopened; reads go on.
 */
export class StorageFaultError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.STORAGE_FAULT, message, options);
  }
}

/** The configured embedder threw, timed out or answered with an error. */
export class EmbedderFaultError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.EMBEDDER_FAULT, message, options);
  }
}

/** A bug in the library's own host code (never counted as an engine fault). */
export class InternalError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.INTERNAL, message, options);
  }
}

/**
 * A shared store's database cannot be reached (or did not answer in time): the write was not made
 * and may be sent again; reads go on from the local replica. It mends itself when the database is
 * back, with no reopen (unlike STORAGE_FAULT).
 */
export class UnavailableError extends OVMemoryError {
  constructor(message: string, options?: ErrorOptions) {
    super(ErrorCode.UNAVAILABLE, message, options);
  }
}

/** The shape in which an error crosses the worker boundary (structured clone drops classes). */
export interface SerializedError {
  code: string;
  name: string;
  message: string;
  cause?: string;
  /** The error's details (file, offset, url), plain data. */
  details?: Record<string, unknown>;
}

export function serializeError(error: unknown): SerializedError {
  if (error instanceof OVMemoryError) return { code: error.code, name: error.name, message: error.message, details: error.details };
  const e = error instanceof Error ? error : new Error(String(error));
  return { code: ErrorCode.ENGINE_FAULT, name: e.name, message: e.message, cause: e.stack };
}

const classByCode: Record<string, new (message: string, options?: ErrorOptions) => OVMemoryError> = {
  [ErrorCode.INVALID_DATA]: InvalidDataError,
  [ErrorCode.NOT_FOUND]: NotFoundError,
  [ErrorCode.RESOURCE_EXHAUSTION]: ResourceExhaustionError,
  [ErrorCode.TIMEOUT]: OperationTimeoutError,
  [ErrorCode.ABORTED]: AbortedError,
  [ErrorCode.CIRCUIT_OPEN]: CircuitOpenError,
  [ErrorCode.MEMORY_CORRUPTION]: MemoryCorruptionError,
  [ErrorCode.ENGINE_FAULT]: EngineFaultError,
  [ErrorCode.LOCKED]: LockedError,
  [ErrorCode.STORAGE_FAULT]: StorageFaultError,
  [ErrorCode.EMBEDDER_FAULT]: EmbedderFaultError,
  [ErrorCode.INTERNAL]: InternalError,
  [ErrorCode.UNAVAILABLE]: UnavailableError,
};

/** Rebuilds our class from its serialized form on the host side of a worker hop. */
export function deserializeError(data: SerializedError): OVMemoryError {
  const Class = classByCode[data.code];
  const details = data.details;
  if (data.code === ErrorCode.DUPLICATE_KEY) return new InvalidDataError(data.message, { code: ErrorCode.DUPLICATE_KEY, details });
  if (Class) return new Class(data.message, { cause: data.cause, details });
  return new OVMemoryError(data.code as ErrorCode, data.message, { cause: data.cause, details });
}

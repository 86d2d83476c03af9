// The one wrapper every public operation runs in: it refuses calls after close, records latency,
// outcome and error code (metrics, Prometheus, the error log, the logger), and turns anything thrown
// into one of the library's classes. A bug of the host's own code is INTERNAL, never an engine
// fault: only the engine itself reports those.
import type { Log } from './observability/logger.js';
import type { ErrorLog } from './observability/error-log.js';
import type { Metrics } from './observability/metrics.js';
import type { PrometheusExporter } from './observability/prometheus.js';
import { AbortedError, ErrorCode, InternalError, OVMemoryError } from './resilience/errors.js';

/** Codes that mean the store itself is in trouble (logged as errors); the rest are the caller's. */
const OUR_FAULTS: ReadonlySet<string> = new Set([ErrorCode.ENGINE_FAULT, ErrorCode.CIRCUIT_OPEN, ErrorCode.INTERNAL, ErrorCode.STORAGE_FAULT]);

export interface OperationParts {
  metrics: Metrics;
  prometheus: PrometheusExporter | undefined;
  errors: ErrorLog;
  log: Log;
  clock: () => number;
  isClosed: () => boolean;
}

/**
 * What a call did, for health to judge its latency fairly: the items of a batch, and the time spent
 * in the caller's own code (a tokenizer, an embedder), which is not the store's.
 */
export interface WorkMeter {
  items?: number;
  callerMs: number;
}

export class Operations {
  constructor(private readonly p: OperationParts) {}

  run<T>(operation: string, body: (meter: WorkMeter) => T): T {
    const started = performance.now();
    const meter: WorkMeter = { callerMs: 0 };
    try {
      this.assertOpen(operation);
      const result = body(meter);
      this.#record(operation, started, undefined, meter);
      return result;
    } catch (error) {
      throw this.#failed(operation, started, error, meter);
    }
  }

  async runAsync<T>(operation: string, body: (meter: WorkMeter) => Promise<T>): Promise<T> {
    const started = performance.now();
    const meter: WorkMeter = { callerMs: 0 };
    try {
      this.assertOpen(operation);
      const result = await body(meter);
      this.#record(operation, started, undefined, meter);
      return result;
    } catch (error) {
      throw this.#failed(operation, started, error, meter);
    }
  }

  assertOpen(operation: string): void {
    if (this.p.isClosed()) throw new OVMemoryError(ErrorCode.CLOSED, `${operation}() was called after close()`);
  }

  #record(operation: string, started: number, code: string | undefined, meter: WorkMeter): void {
    const ms = performance.now() - started;
    this.p.metrics.record(operation, ms, code, meter);
    this.p.prometheus?.observe(operation, ms / 1000, code, meter);
  }

  #failed(operation: string, started: number, thrown: unknown, meter: WorkMeter): OVMemoryError {
    const error = asLibraryError(operation, thrown);
    this.#record(operation, started, error.code, meter);
    this.p.errors.push({ at: this.p.clock(), operation, code: error.code, message: error.message });
    this.p.log[OUR_FAULTS.has(error.code) ? 'error' : 'debug']('operation failed', { operation, code: error.code, message: error.message });
    return error;
  }
}

/** One of the library's classes for anything thrown: the original is kept as `cause`. */
export function asLibraryError(operation: string, thrown: unknown): OVMemoryError {
  if (thrown instanceof OVMemoryError) return thrown;
  if (thrown instanceof Error && thrown.name === 'AbortError') return new AbortedError(`${operation}() was aborted`, { cause: thrown });
  return new InternalError(`${operation}() failed on a bug of the library: ${String((thrown as Error)?.message ?? thrown)}`, { cause: thrown });
}

/** A caller's function (a tokenizer), with its time counted as the caller's. */
export function timed(tokens: (text: string) => number, meter: WorkMeter): (text: string) => number {
  return (text) => {
    const started = performance.now();
    try {
      return tokens(text);
    } finally {
      meter.callerMs += performance.now() - started;
    }
  };
}

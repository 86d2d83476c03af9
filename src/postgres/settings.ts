// A shared store's URL and settings. The URL is PostgreSQL's own connection string (handed to pg
// as it is) with the store's parameters taken out of it: `schema` (the store's schema, default
// ov_memory) and `application_name` (what pg_stat_activity shows, default ov-memory; the two connections add
// `writer` and `listener` to it).
import { InvalidDataError } from '../resilience/errors.js';
import type { WorkerSettings } from './protocol.js';
import { checkSchemaName } from './schema.js';

export const POSTGRES_DEFAULTS = Object.freeze({
  schema: 'ov_memory',
  applicationName: 'ov-memory',
  /** A connection attempt, and any one statement, may take this long. */
  connectTimeoutMs: 5_000,
  queryTimeoutMs: 10_000,
  /** How long the host waits for the worker's answer (more than a statement, so the statement's own timeout is what fires). */
  answerMs: 15_000,
  /** The slow poll beside LISTEN/NOTIFY: catches up even if notifications stop coming. */
  pollMs: 1_000,
  /** Changes fetched per round trip when catching up; memory rows per batch when loading. */
  pullRows: 256,
  loadRows: 1_024,
  /** What checkpoint() leaves of the change table: replicas further behind reload from the tables. */
  retainChanges: 10_000,
  /** Replication lags kept for the p50/p99 in metrics. */
  lagSamples: 1_000,
});

/** Whether `open()`'s argument names a PostgreSQL database rather than a directory. */
export const isPostgresUrl = (target: string) => /^postgres(ql)?:\/\//i.test(target);

/** The worker's settings from the store's URL; `where` names the store in messages (no password). */
export function parseStoreUrl(url: string): { settings: WorkerSettings; where: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new InvalidDataError(`Expected a PostgreSQL connection URL (postgres://user@host/database), got one that does not parse`, { cause: error });
  }
  const schema = checkSchemaName(parsed.searchParams.get('schema') ?? POSTGRES_DEFAULTS.schema);
  const applicationName = parsed.searchParams.get('application_name') ?? POSTGRES_DEFAULTS.applicationName;
  parsed.searchParams.delete('schema');
  parsed.searchParams.delete('application_name');
  const shown = new URL(parsed.href);
  shown.password = '';
  return {
    settings: {
      connectionString: parsed.href, schema, applicationName,
      connectTimeoutMs: POSTGRES_DEFAULTS.connectTimeoutMs, queryTimeoutMs: POSTGRES_DEFAULTS.queryTimeoutMs,
    },
    where: `${shown.protocol}//${shown.host}${shown.pathname} (schema ${schema})`,
  };
}

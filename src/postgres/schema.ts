// The shared store's tables in a schema of their own, created and migrated by the store. `meta`
// holds the schema's version, the store's id, dimension and saved options; `head` is the one row
// every write locks (the last change's sequence, the next id, how far the change table was
// trimmed); `focus` the memory each scope's new memories link to; `changes` is the append-only log of each call's effects (the encoded JSON of
// persistence/effects.ts as bytes); `memories` and `edges` are the same effects materialised, what a
// replica loads on open and what a user may query.
import { InvalidDataError } from '../resilience/errors.js';

/** The version this code writes; a store of a newer version is refused. */
export const SCHEMA_VERSION = 1;

/** A schema name used as a quoted identifier: lower-case letters, digits and _, as PostgreSQL folds them. */
export function checkSchemaName(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new InvalidDataError(`Expected \`schema\` to be lower-case letters, digits and _ (at most 63, not starting with a digit), got ${JSON.stringify(name)}`);
  }
  return name;
}

/** The statements that take a store from version i to i + 1, at index i. */
export function migrations(schema: string): string[][] {
  const s = `"${checkSchemaName(schema)}"`;
  return [[
    `CREATE TABLE ${s}.meta (version int NOT NULL, store_id text NOT NULL, dim int NOT NULL, options jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
    `CREATE TABLE ${s}.head (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), seq bigint NOT NULL DEFAULT 0,
       next_id bigint NOT NULL DEFAULT 0, trimmed_through bigint NOT NULL DEFAULT 0)`,
    // Keyed by the store's scope key ('' for unscoped memories).
    `CREATE TABLE ${s}.focus (scope text PRIMARY KEY, id bigint NOT NULL)`,
    `CREATE TABLE ${s}.changes (seq bigint PRIMARY KEY, token uuid NOT NULL UNIQUE, committed_at timestamptz NOT NULL DEFAULT clock_timestamp(), effects bytea NOT NULL)`,
    `CREATE TABLE ${s}.memories (id bigint PRIMARY KEY, key text, record jsonb NOT NULL, vector bytea NOT NULL, changed_seq bigint NOT NULL)`,
    `CREATE INDEX memories_key ON ${s}.memories (key) WHERE key IS NOT NULL`,
    `CREATE INDEX memories_changed ON ${s}.memories (changed_seq)`,
    `CREATE TABLE ${s}.edges (source bigint NOT NULL, position int NOT NULL, target bigint NOT NULL, relevance float8 NOT NULL,
       type text NOT NULL, created_at float8 NOT NULL, PRIMARY KEY (source, position))`,
    `CREATE INDEX edges_target ON ${s}.edges (target)`,
    // Drops the changes older than the newest `keep`; a replica further behind reloads from the tables.
    `CREATE FUNCTION ${s}.trim_changes(keep bigint) RETURNS bigint LANGUAGE plpgsql AS $$
     DECLARE cut bigint;
     BEGIN
       SELECT seq - keep INTO cut FROM ${s}.head FOR UPDATE;
       IF cut > 0 THEN
         DELETE FROM ${s}.changes WHERE seq <= cut;
         UPDATE ${s}.head SET trimmed_through = GREATEST(trimmed_through, cut);
       END IF;
       RETURN (SELECT trimmed_through FROM ${s}.head);
     END $$`,
  ]];
}

/** The channel every commit notifies (with its sequence), one per schema. */
export const channelOf = (schema: string) => `ov_memory_${schema}`;

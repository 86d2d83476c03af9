// One call's effects written into the tables, in the transaction that appends them to `changes`,
// mirroring what Store.apply does to a replica: an add inserts the memories (the record as JSON,
// the unit vector as float32 bytes) and moves the focus to the last; an update merges its fields
// into the record; a removal drops the memory, its edges both ways and the focus on it; an edge set
// replaces a node's outgoing list; an access counts; a focus moves its scope's; advance moves the head.
import type { Effect } from '../persistence/effects.js';
import { InternalError } from '../resilience/errors.js';
import { scopeKey } from '../store/scopes.js';
import type { Scope } from '../types.js';

export type Query = (text: string, values?: unknown[]) => Promise<unknown>;

const bytesOf = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);

async function setFocus(query: Query, s: string, focus: [string, number][]): Promise<void> {
  await query(
    `INSERT INTO ${s}.focus (scope, id) SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT (scope) DO UPDATE SET id = EXCLUDED.id`,
    [focus.map(([scope]) => scope), focus.map(([, id]) => id)],
  );
}

export async function materialise(query: Query, schema: string, effects: readonly Effect[], seq: number): Promise<void> {
  const s = `"${schema}"`;
  for (const effect of effects) {
    switch (effect.op) {
      case 'add': {
        const items = effect.items;
        if (items.length === 0) break;
        await query(
          `INSERT INTO ${s}.memories (id, key, record, vector, changed_seq)
           SELECT id, key, record, vector, $5 FROM unnest($1::bigint[], $2::text[], $3::jsonb[], $4::bytea[]) AS t(id, key, record, vector)`,
          [items.map((i) => i.id), items.map((i) => i.key ?? null), items.map(({ unit: _unit, ...record }) => JSON.stringify(record)), items.map((i) => bytesOf(i.unit)), seq],
        );
        await query(`UPDATE ${s}.head SET next_id = GREATEST(next_id, $1)`, [Math.max(...items.map((i) => i.id)) + 1]);
        // Each scope's focus moves to its last memory added.
        const focus = new Map(items.map((i) => [scopeKey(i.scope), i.id]));
        await setFocus(query, s, [...focus]);
        break;
      }
      case 'update': {
        const { op: _op, id, unit, ...fields } = effect;
        await query(
          `UPDATE ${s}.memories SET record = record || $2::jsonb, vector = COALESCE($3, vector), changed_seq = $4 WHERE id = $1`,
          [id, JSON.stringify(fields), unit ? bytesOf(unit) : null, seq],
        );
        break;
      }
      case 'remove':
        await query(`DELETE FROM ${s}.memories WHERE id = $1`, [effect.id]);
        await query(`DELETE FROM ${s}.edges WHERE source = $1 OR target = $1`, [effect.id]);
        await query(`DELETE FROM ${s}.focus WHERE id = $1`, [effect.id]);
        break;
      case 'edges': {
        // All the sets in three statements: an addMany chain changes the edges of every memory it adds.
        const ids = effect.sets.map(([id]) => id);
        const rows = effect.sets.flatMap(([id, edges]) => edges.map((e, position) => ({ id, position, ...e })));
        await query(`DELETE FROM ${s}.edges WHERE source = ANY($1::bigint[])`, [ids]);
        if (rows.length > 0) {
          await query(
            `INSERT INTO ${s}.edges (source, position, target, relevance, type, created_at)
             SELECT * FROM unnest($1::bigint[], $2::int[], $3::bigint[], $4::float8[], $5::text[], $6::float8[])`,
            [rows.map((r) => r.id), rows.map((r) => r.position), rows.map((r) => r.to), rows.map((r) => r.relevance), rows.map((r) => r.type), rows.map((r) => r.createdAt)],
          );
        }
        await query(`UPDATE ${s}.memories SET changed_seq = $2 WHERE id = ANY($1::bigint[])`, [ids, seq]);
        break;
      }
      case 'focus':
        if (effect.id === undefined) {
          await query(`DELETE FROM ${s}.focus WHERE scope = $1`, [effect.scope ?? '']);
        } else {
          // The focus of the memory's own scope, as Store.apply sets it.
          const rows = await query(`SELECT record->'scope' AS scope FROM ${s}.memories WHERE id = $1`, [effect.id]) as { rows: { scope: Scope | null }[] };
          await setFocus(query, s, [[scopeKey(rows.rows[0]?.scope ?? undefined), effect.id]]);
        }
        break;
      case 'access':
        await query(
          `UPDATE ${s}.memories SET changed_seq = $3, record = record || jsonb_build_object(
             'accessCount', COALESCE((record->>'accessCount')::int, 0) + 1,
             'lastAccessedAt', GREATEST(COALESCE((record->>'lastAccessedAt')::float8, (record->>'createdAt')::float8), $2))
           WHERE id = ANY($1::bigint[])`,
          [effect.ids, effect.at, seq],
        );
        break;
      case 'advance':
        await query(`UPDATE ${s}.head SET next_id = GREATEST(next_id, $1)`, [effect.nextId]);
        break;
      default:
        throw new InternalError(`the shared store cannot write an effect of operation ${JSON.stringify((effect as { op: unknown }).op)} into its tables`);
    }
  }
}

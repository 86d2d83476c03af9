// Reads the reference server's memory file (JSON Lines: one entity or relation a line) into a
// store, through the graph's own tools, so it works while another server holds the store. A line
// that is not JSON, or not an entity or relation of the reference's shape, is skipped and reported
// (the reference itself fails every call once such a line is in its file).
import { readFile } from 'node:fs/promises';
import { OVMemoryError } from 'ov-memory';
import type { ErrorCode } from 'ov-memory';

import type { ToolCaller } from './executor.js';
import type { Entity, Relation } from './graph.js';

export interface SkippedLine {
  /** 1-based. */
  line: number;
  reason: string;
}

export interface ImportReport {
  entities: number;
  relations: number;
  skipped: SkippedLine[];
}

/** Calls per batch: a memory file of any size goes through in bounded calls. */
const BATCH = 500;

const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

function parseLine(text: string): Entity | Relation | string {
  let item: unknown;
  try {
    item = JSON.parse(text);
  } catch (error) {
    return `not JSON (${(error as Error).message})`;
  }
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return 'not a JSON object';
  const o = item as Record<string, unknown>;
  if (o.type === 'entity') {
    if (typeof o.name !== 'string' || typeof o.entityType !== 'string' || !isStringArray(o.observations)) {
      return 'an entity needs a string name and entityType and an array of string observations';
    }
    return { name: o.name, entityType: o.entityType, observations: o.observations };
  }
  if (o.type === 'relation') {
    if (typeof o.from !== 'string' || typeof o.to !== 'string' || typeof o.relationType !== 'string') {
      return 'a relation needs string from, to and relationType';
    }
    return { from: o.from, to: o.to, relationType: o.relationType };
  }
  return `type ${JSON.stringify(o.type)} is neither "entity" nor "relation"`;
}

export async function importReferenceFile(file: string, caller: ToolCaller): Promise<ImportReport> {
  const lines = (await readFile(file, 'utf8')).split('\n');
  const skipped: SkippedLine[] = [];
  const entities: { line: number; entity: Entity }[] = [];
  const relations: Relation[] = [];
  lines.forEach((text, i) => {
    if (text.trim() === '') return;
    const parsed = parseLine(text);
    if (typeof parsed === 'string') skipped.push({ line: i + 1, reason: parsed });
    else if ('entityType' in parsed) entities.push({ line: i + 1, entity: parsed });
    else relations.push(parsed);
  });
  let created = 0;
  for (let start = 0; start < entities.length; start += BATCH) {
    const batch = entities.slice(start, start + BATCH);
    const answer = await caller.call('create_entities', { entities: batch.map((b) => b.entity) });
    if (!answer.ok) throw new OVMemoryError(answer.code as ErrorCode, `${answer.message} (lines ${batch[0]!.line} to ${batch.at(-1)!.line})`);
    const made = new Set((answer.structured.entities as Entity[]).map((e) => e.name));
    for (const { line, entity } of batch) {
      if (made.delete(entity.name)) created++;
      else skipped.push({ line, reason: `the entity ${JSON.stringify(entity.name)} exists already` });
    }
  }
  let linked = 0;
  for (let start = 0; start < relations.length; start += BATCH) {
    const answer = await caller.call('create_relations', { relations: relations.slice(start, start + BATCH) });
    if (!answer.ok) throw new OVMemoryError(answer.code as ErrorCode, answer.message);
    linked += (answer.structured.relations as Relation[]).length;
  }
  skipped.sort((a, b) => a.line - b.line);
  return { entities: created, relations: linked, skipped };
}

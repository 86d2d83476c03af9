// The reference memory server's knowledge graph, kept in the store. An entity is a memory keyed
// `entity:<name>` whose metadata holds its type and its observations (the list as the reference
// keeps it, duplicates and order included); each distinct observation is a memory of its own, linked
// to its entity, so recall and hybrid search find it; a relation is a memory (it may name entities
// that do not exist, as the reference allows, and an entity may have any number of them) and a typed
// edge from entity to entity where the graph has room. Answers are the reference's, in its order
// (creation order: ids ascend), except where noted in the README.
import { createHash } from 'node:crypto';
import { InvalidDataError, NotFoundError, OVMemoryError } from 'ov-memory';
import type { OVMemory, TextInput } from 'ov-memory';

export interface Entity { name: string; entityType: string; observations: string[] }
export interface Relation { from: string; to: string; relationType: string }
export interface KnowledgeGraph { entities: Entity[]; relations: Relation[] }

/** The `kg` metadata field marks the memories of the graph; other memories lack it. */
export type GraphKind = 'entity' | 'observation' | 'relation';
export const GRAPH_FIELD = 'kg';

/** How many entities beyond the substring matches `search_nodes` adds from the hybrid ranking. */
const RANKED_EXTRA = 10;
/** A ranked hit counts when the lexical channel found it or its cosine similarity is at least this. */
const RANKED_MIN_SIMILARITY = 0.5;

const entityKey = (name: string) => `entity:${name}`;
const digest = (parts: string[]) => createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 40);
const observationKey = (entity: string, text: string) => `observation:${digest([entity, text])}`;
const relationKey = (r: Relation) => `relation:${digest([r.from, r.relationType, r.to])}`;
const relationId = (r: Relation) => JSON.stringify([r.from, r.to, r.relationType]);
/** An edge's type is 1 to 64 characters; a relation type that is not gets the generic one. */
const edgeType = (relationType: string) => (relationType.length >= 1 && relationType.length <= 64 ? relationType : 'relation');

/** A memory to write and the argument it came from, for an error message in the caller's terms. */
interface Planned { input: TextInput; source: string }

export class GraphStore {
  /** Entity name → memory id, in creation order. */
  #entities = new Map<string, number>();
  /** Relation identity → memory id, in creation order. */
  #relations = new Map<string, number>();

  constructor(private readonly memory: OVMemory) {
    this.reindex();
  }

  /** Rebuilds the name and relation indexes from the store (at start, and after a forget). */
  reindex(): void {
    this.#entities.clear();
    this.#relations.clear();
    for (const id of this.memory.ids()) {
      const metadata = this.memory.get(id)?.metadata;
      if (metadata?.[GRAPH_FIELD] === 'entity') this.#entities.set(String(metadata.name), id);
      else if (metadata?.[GRAPH_FIELD] === 'relation') this.#relations.set(relationId(metadata as unknown as Relation), id);
    }
  }

  /** The entities whose names were new (a name given twice in one call is created once). */
  async createEntities(entities: Entity[]): Promise<Entity[]> {
    const seen = new Set<string>();
    const created = entities.filter((e) => !this.#entities.has(e.name) && !seen.has(e.name) && seen.add(e.name));
    const planned: Planned[] = created.map((e) => ({
      source: `entities[${entities.indexOf(e)}]`,
      input: { text: `${e.name} (${e.entityType})`, key: entityKey(e.name), metadata: entityMetadata(e.name, e.entityType, e.observations) },
    }));
    const all = created.flatMap((e) => this.#observationInputs(e.name, e.observations, `entities[${entities.indexOf(e)}].observations`));
    // An observation memory left behind (its entity forgotten by id) is taken over, not written twice.
    const left = all.flatMap((o) => this.memory.getByKey(o.input.key!) ?? []);
    const observations = all.filter((o) => this.memory.getByKey(o.input.key!) === undefined);
    const ids = await this.#remember([...planned, ...observations]);
    created.forEach((e, i) => this.#entities.set(e.name, ids[i]!));
    observations.forEach((o, i) => this.#linkObservation(ids[created.length + i]!, String(o.input.metadata!.entity)));
    for (const record of left) this.#linkObservation(record.id, String(record.metadata.entity));
    return created.map((e) => ({ name: e.name, entityType: e.entityType, observations: [...e.observations] }));
  }

  /** The relations that were new; their ends need not exist (as in the reference). */
  async createRelations(relations: Relation[]): Promise<Relation[]> {
    const seen = new Set<string>();
    const created = relations.filter((r) => !this.#relations.has(relationId(r)) && !seen.has(relationId(r)) && seen.add(relationId(r)));
    const ids = await this.#remember(created.map((r) => ({
      source: `relations[${relations.indexOf(r)}]`,
      input: { text: `${r.from} ${r.relationType} ${r.to}`.trim() || 'relation', key: relationKey(r), metadata: { [GRAPH_FIELD]: 'relation', ...r } },
    })));
    created.forEach((r, i) => {
      this.#relations.set(relationId(r), ids[i]!);
      this.#linkEntities(r);
    });
    return created.map(({ from, to, relationType }) => ({ from, to, relationType }));
  }

  /** All or nothing: an unknown entity is NOT_FOUND and changes nothing (the reference's message). */
  async addObservations(additions: { entityName: string; contents: string[] }[]): Promise<{ entityName: string; addedObservations: string[] }[]> {
    const lists = new Map<string, string[]>();
    const results = additions.map(({ entityName, contents }) => {
      const id = this.#entities.get(entityName);
      if (id === undefined) throw new NotFoundError(`Entity with name ${entityName} not found`, { details: { entityName } });
      const list = lists.get(entityName) ?? [...this.#entity(id).observations];
      lists.set(entityName, list);
      // As the reference: each content is compared with the list before this call's additions.
      const added = contents.filter((content) => !list.includes(content));
      list.push(...added);
      return { entityName, addedObservations: added };
    });
    const planned = results.flatMap(({ entityName, addedObservations }, i) =>
      this.#observationInputs(entityName, addedObservations, `observations[${i}].contents`).filter((p) => this.memory.getByKey(p.input.key!) === undefined));
    const unique = dedupeByKey(planned);
    const ids = await this.#remember(unique);
    try {
      this.#replaceObservations(lists, 'observations');
    } catch (error) {
      ids.forEach((id) => this.memory.remove(id));
      throw error;
    }
    unique.forEach((o, i) => this.#linkObservation(ids[i]!, String(o.input.metadata!.entity)));
    return results;
  }

  /** Removes the entities, their observations and every relation that names them. */
  deleteEntities(names: string[]): void {
    const doomed = new Set(names);
    for (const [identity, id] of this.#relations) {
      const r = JSON.parse(identity) as [string, string, string];
      if (doomed.has(r[0]) || doomed.has(r[1])) {
        this.memory.remove(id);
        this.#relations.delete(identity);
      }
    }
    for (const name of doomed) {
      const id = this.#entities.get(name);
      if (id === undefined) continue;
      for (const text of new Set(this.#entity(id).observations)) this.memory.removeByKey(observationKey(name, text));
      this.memory.remove(id);
      this.#entities.delete(name);
    }
  }

  /** Unknown entities are skipped, as in the reference. */
  deleteObservations(deletions: { entityName: string; observations: string[] }[]): void {
    const lists = new Map<string, string[]>();
    const removed: [string, string][] = [];
    for (const { entityName, observations } of deletions) {
      const id = this.#entities.get(entityName);
      if (id === undefined) continue;
      const list = lists.get(entityName) ?? this.#entity(id).observations;
      const kept = list.filter((o) => !observations.includes(o));
      if (kept.length === list.length) continue;
      lists.set(entityName, kept);
      for (const o of new Set(list)) if (observations.includes(o)) removed.push([entityName, o]);
    }
    this.#replaceObservations(lists, 'deletions');
    for (const [name, text] of removed) this.memory.removeByKey(observationKey(name, text));
  }

  deleteRelations(relations: Relation[]): void {
    for (const r of relations) {
      const id = this.#relations.get(relationId(r));
      if (id === undefined) continue;
      this.memory.remove(id);
      this.#relations.delete(relationId(r));
      this.#unlinkEntities(r);
    }
  }

  readGraph(): KnowledgeGraph {
    return {
      entities: [...this.#entities.values()].map((id) => this.#entity(id)),
      relations: [...this.#relations.keys()].map(parseRelation),
    };
  }

  /**
   * The reference's answer (entities whose name, type or an observation contains the query, case
   * folded, in creation order, with every relation that touches one), then up to 10 more entities
   * ranked by hybrid search, with the relations that touch them.
   */
  async searchNodes(query: string): Promise<KnowledgeGraph> {
    const q = query.toLowerCase();
    const graph = this.readGraph();
    const matched = graph.entities.filter((e) =>
      e.name.toLowerCase().includes(q) || e.entityType.toLowerCase().includes(q) || e.observations.some((o) => o.toLowerCase().includes(q)));
    const names = new Set(matched.map((e) => e.name));
    const ranked = await this.#ranked(query, names);
    const touching = (set: Set<string>) => graph.relations.filter((r) => set.has(r.from) || set.has(r.to));
    const first = touching(names);
    const rankedNames = new Set(ranked.map((e) => e.name));
    const more = touching(rankedNames).filter((r) => !names.has(r.from) && !names.has(r.to));
    return { entities: [...matched, ...ranked], relations: [...first, ...more] };
  }

  openNodes(names: string[]): KnowledgeGraph {
    const graph = this.readGraph();
    const entities = graph.entities.filter((e) => names.includes(e.name));
    const found = new Set(entities.map((e) => e.name));
    return { entities, relations: graph.relations.filter((r) => found.has(r.from) || found.has(r.to)) };
  }

  /** True when the memory belongs to the graph (the own tools leave those to the graph's tools). */
  static isGraphMemory(metadata: Record<string, unknown> | undefined): boolean {
    return metadata !== undefined && GRAPH_FIELD in metadata;
  }

  async #ranked(query: string, exclude: Set<string>): Promise<Entity[]> {
    if (query.trim().length === 0 || this.#entities.size === 0) return [];
    const hits = await this.memory.search(query, {
      topK: Math.min(RANKED_EXTRA * 4 + exclude.size, 1_000),
      filter: { [GRAPH_FIELD]: { $in: ['entity', 'observation'] } },
    });
    const out: Entity[] = [];
    const taken = new Set(exclude);
    for (const hit of hits) {
      if (out.length >= RANKED_EXTRA) break;
      if (hit.factors.textRank == null && hit.similarity < RANKED_MIN_SIMILARITY) continue;
      const name = String(hit.metadata[GRAPH_FIELD] === 'entity' ? hit.metadata.name : hit.metadata.entity);
      const id = this.#entities.get(name);
      if (id === undefined || taken.has(name)) continue;
      taken.add(name);
      out.push(this.#entity(id));
    }
    return out;
  }

  #entity(id: number): Entity {
    const metadata = this.memory.get(id)!.metadata;
    return { name: String(metadata.name), entityType: String(metadata.entityType), observations: [...(metadata.observations as string[])] };
  }

  /** One memory per distinct observation that is not blank (a blank one lives in its entity's list only). */
  #observationInputs(entity: string, observations: string[], source: string): Planned[] {
    const seen = new Set<string>();
    return observations.flatMap((text, j) => {
      if (text.trim().length === 0 || seen.has(text)) return [];
      seen.add(text);
      return [{ source: `${source}[${j}]`, input: { text, key: observationKey(entity, text), metadata: { [GRAPH_FIELD]: 'observation', entity } } }];
    });
  }

  /** Writes each entity's new observation list; undoes the ones done when one fails. */
  #replaceObservations(lists: Map<string, string[]>, argument: string): void {
    const done: [number, Record<string, unknown>][] = [];
    try {
      for (const [name, list] of lists) {
        const id = this.#entities.get(name)!;
        const before = this.memory.get(id)!.metadata;
        this.memory.update(id, { metadata: { ...before, observations: list } });
        done.push([id, before]);
      }
    } catch (error) {
      for (const [id, before] of done) this.memory.update(id, { metadata: before });
      throw renameField(error, () => `${argument} (the observations of one entity)`);
    }
  }

  /** `rememberMany` without automatic links, its errors naming the tool's argument. */
  async #remember(planned: Planned[]): Promise<number[]> {
    if (planned.length === 0) return [];
    try {
      return await this.memory.rememberMany(planned.map((p) => p.input), { link: 'none' });
    } catch (error) {
      throw renameField(error, (i, rest) => {
        const p = planned[i];
        if (p === undefined) return undefined;
        if (rest === '.metadata') return `${p.source}.observations`;
        return rest === '.key' ? `${p.source}.name` : p.source;
      });
    }
  }

  #linkObservation(observation: number, entity: string): void {
    const id = this.#entities.get(entity);
    if (id !== undefined) this.memory.link(observation, id, 1, 'observation');
  }

  /** Best effort: an entity keeps at most 6 outgoing edges, and the relation memory holds the truth. */
  #linkEntities(r: Relation): void {
    const from = this.#entities.get(r.from);
    const to = this.#entities.get(r.to);
    if (from !== undefined && to !== undefined && from !== to) this.memory.link(from, to, 1, edgeType(r.relationType));
  }

  /** Drops the edge of a deleted relation, or gives it the type of another relation on the same pair. */
  #unlinkEntities(r: Relation): void {
    const from = this.#entities.get(r.from);
    const to = this.#entities.get(r.to);
    if (from === undefined || to === undefined || from === to) return;
    const edge = this.memory.get(from)?.edges.find((e) => e.to === to);
    if (edge === undefined || edge.type !== edgeType(r.relationType)) return;
    const other = [...this.#relations.keys()].map(parseRelation).find((o) => o.from === r.from && o.to === r.to);
    if (other === undefined) this.memory.unlink(from, to);
    else this.memory.link(from, to, 1, edgeType(other.relationType));
  }
}

function entityMetadata(name: string, entityType: string, observations: string[]): Record<string, unknown> {
  return { [GRAPH_FIELD]: 'entity', name, entityType, observations: [...observations] };
}

function parseRelation(identity: string): Relation {
  const [from, to, relationType] = JSON.parse(identity) as [string, string, string];
  return { from, to, relationType };
}

function dedupeByKey(planned: Planned[]): Planned[] {
  const seen = new Set<string>();
  return planned.filter((p) => !seen.has(p.input.key!) && seen.add(p.input.key!));
}

/**
 * The library names its own parameters (`inputs[3].text`); the caller knows the tool's arguments.
 * `rename(index, rest)` gives the argument for item `index` (rest: the path after it).
 */
function renameField(error: unknown, rename: (index: number, rest: string) => string | undefined): unknown {
  if (!(error instanceof OVMemoryError) || error.code !== 'INVALID_DATA') return error;
  const field = String(error.details.field ?? '');
  const m = /^inputs\[(\d+)\](.*)$/.exec(field);
  const renamed = m ? rename(Number(m[1]), m[2]!) : rename(-1, field);
  if (renamed === undefined) return error;
  const message = error.message.replace(/`[^`]*`/, `\`${renamed}\``);
  return new InvalidDataError(message === error.message ? `${renamed}: ${error.message}` : message, { cause: error, details: { ...error.details, field: renamed } });
}

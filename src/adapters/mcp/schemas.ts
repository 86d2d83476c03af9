// The tools' input and output shapes (zod). The nine knowledge-graph tools keep the reference
// server's names, shapes, descriptions and annotations, so a client configured for it sees the same
// tools; ov-memory's own tools follow them.
import { z } from 'zod';

export const EntitySchema = z.object({
  name: z.string().describe('The name of the entity'),
  entityType: z.string().describe('The type of the entity'),
  observations: z.array(z.string()).describe('An array of observation contents associated with the entity'),
});

export const RelationSchema = z.object({
  from: z.string().describe('The name of the entity where the relation starts'),
  to: z.string().describe('The name of the entity where the relation ends'),
  relationType: z.string().describe('The type of the relation'),
});

const graph = { entities: z.array(EntitySchema), relations: z.array(RelationSchema) };
const deleted = { success: z.boolean(), message: z.string() };

/** The reference server's annotations: writes that add, writes that remove, and reads. */
const ADDS = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false };
const REMOVES = { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false };
const READS = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false };

const scope = z.object({
  user: z.string().min(1).optional(),
  agent: z.string().min(1).optional(),
  session: z.string().min(1).optional(),
}).describe('Whose memory: any of user, agent and session. A scoped call sees only memories whose scope matches every field given');
const metadata = z.record(z.string(), z.unknown()).describe('JSON fields kept with the memory and usable in filters, at most 64 KiB as JSON');
const filter = z.record(z.string(), z.unknown())
  .describe('A Mongo-style filter over metadata: { kind: "fact", tags: { $in: ["a"] }, year: { $gte: 2020 } } (also $nin, $ne, $gt, $lt, $lte, $exists, $and, $or, $not)');
const time = (what: string) => z.number().describe(`${what}, in milliseconds since 1970-01-01 UTC`);
const id = z.number().int().nonnegative();

const factors = z.object({
  similarity: z.number(), centrality: z.number(), recency: z.number(), weight: z.number(), alpha: z.number(),
  lexical: z.number().optional(), vectorRank: z.number().nullable().optional(), textRank: z.number().nullable().optional(),
  fused: z.number().optional(), neighbour: z.number().optional(),
});
const hit = z.object({ id, score: z.number(), similarity: z.number(), text: z.string(), metadata, key: z.string().optional(), factors });

export interface ToolShape {
  title: string;
  description: string;
  input: z.ZodRawShape;
  output: z.ZodRawShape;
  annotations: { readOnlyHint: boolean; destructiveHint: boolean; idempotentHint: boolean; openWorldHint: boolean };
}

export const TOOL_SHAPES = {
  create_entities: {
    title: 'Create Entities',
    description: 'Create multiple new entities in the knowledge graph',
    input: { entities: z.array(EntitySchema) },
    output: { entities: z.array(EntitySchema) },
    annotations: ADDS,
  },
  create_relations: {
    title: 'Create Relations',
    description: 'Create multiple new relations between entities in the knowledge graph. Relations should be in active voice',
    input: { relations: z.array(RelationSchema) },
    output: { relations: z.array(RelationSchema) },
    annotations: ADDS,
  },
  add_observations: {
    title: 'Add Observations',
    description: 'Add new observations to existing entities in the knowledge graph',
    input: {
      observations: z.array(z.object({
        entityName: z.string().describe('The name of the entity to add the observations to'),
        contents: z.array(z.string()).describe('An array of observation contents to add'),
      })),
    },
    output: { results: z.array(z.object({ entityName: z.string(), addedObservations: z.array(z.string()) })) },
    annotations: ADDS,
  },
  delete_entities: {
    title: 'Delete Entities',
    description: 'Delete multiple entities and their associated relations from the knowledge graph',
    input: { entityNames: z.array(z.string()).describe('An array of entity names to delete') },
    output: deleted,
    annotations: REMOVES,
  },
  delete_observations: {
    title: 'Delete Observations',
    description: 'Delete specific observations from entities in the knowledge graph',
    input: {
      deletions: z.array(z.object({
        entityName: z.string().describe('The name of the entity containing the observations'),
        observations: z.array(z.string()).describe('An array of observations to delete'),
      })),
    },
    output: deleted,
    annotations: REMOVES,
  },
  delete_relations: {
    title: 'Delete Relations',
    description: 'Delete multiple relations from the knowledge graph',
    input: { relations: z.array(RelationSchema).describe('An array of relations to delete') },
    output: deleted,
    annotations: REMOVES,
  },
  read_graph: {
    title: 'Read Graph',
    description: 'Read the entire knowledge graph',
    input: {},
    output: graph,
    annotations: READS,
  },
  search_nodes: {
    title: 'Search Nodes',
    description: 'Search for nodes in the knowledge graph based on a query',
    input: { query: z.string().describe('The search query to match against entity names, types, and observation content') },
    output: graph,
    annotations: READS,
  },
  open_nodes: {
    title: 'Open Nodes',
    description: 'Open specific nodes in the knowledge graph by their names',
    input: { names: z.array(z.string()).describe('An array of entity names to retrieve') },
    output: graph,
    annotations: READS,
  },

  remember: {
    title: 'Remember',
    description: 'Store one memory (a fact, a preference, an event) as text. Returns its id. Give a key to find or forget it later by that name; ' +
      'a scope to keep it to one user, agent or session; validFrom/validTo or ttlMs when it is only true for a while.',
    input: {
      text: z.string().min(1).describe('The memory itself, in plain words, one fact per memory'),
      weight: z.number().positive().optional().describe('How much it matters (default 1; 2 ranks it higher, 0.5 lower)'),
      metadata: metadata.optional(),
      key: z.string().min(1).max(1024).optional().describe('An external id, unique in its scope'),
      scope: scope.optional(),
      validFrom: time('When it became true').optional(),
      validTo: time('When it stops being true').optional(),
      ttlMs: z.number().positive().optional().describe('Forget it after this many milliseconds'),
    },
    output: { id },
    annotations: ADDS,
  },
  recall: {
    title: 'Recall',
    description: 'Find the memories that best answer a question (hybrid: meaning and words, then importance, links and recency). ' +
      'Each hit has its id, text, metadata and the factors that ranked it.',
    input: {
      query: z.string().min(1).describe('A question or topic in plain words'),
      topK: z.number().int().min(1).max(100).optional().describe('How many memories at most (default 5)'),
      mode: z.enum(['hybrid', 'vector', 'text']).optional().describe('hybrid (default), vector (meaning only) or text (words only)'),
      filter: filter.optional(),
      scope: scope.optional(),
      asOf: time('See the memory as it was at this time').optional(),
    },
    output: { hits: z.array(hit) },
    annotations: READS,
  },
  build_context: {
    title: 'Build Context',
    description: 'Assemble the memories relevant to a question into one text that fits a token budget, following links between memories, ' +
      'and leaving out what drifts off topic, repeats itself or was just used. Put the result in your prompt.',
    input: {
      query: z.string().min(1).describe('The question or task the context is for'),
      maxTokens: z.number().int().positive().optional().describe('The most tokens the context may take (default 2000)'),
      budget: z.object({ total: z.number().positive(), used: z.number().nonnegative() }).optional()
        .describe('Your whole token budget and what is used: the less is left, the stricter the selection'),
      filter: filter.optional(),
      scope: scope.optional(),
    },
    output: {
      context: z.string(), ids: z.array(id), tokens: z.number(), state: z.string(),
      blocked: z.object({ drift: z.number(), loop: z.number(), redundancy: z.number() }),
    },
    annotations: READS,
  },
  forget: {
    title: 'Forget',
    description: 'Remove memories for good: those that match every part given — ids, keys, a metadata filter, a scope (at least one; a scope alone ' +
      'forgets all of that user\'s, agent\'s or session\'s memories). Returns how many were removed.',
    input: {
      ids: z.array(id).optional().describe('Ids from remember or recall'),
      keys: z.array(z.string().min(1)).optional().describe('Keys given to remember (in the scope given, else unscoped)'),
      filter: filter.optional(),
      scope: scope.optional(),
    },
    output: { removed: z.number().int() },
    annotations: REMOVES,
  },
  update_memory: {
    title: 'Update Memory',
    description: 'Correct a memory in place: its text (embedded again), weight, metadata (replaced whole) or the time it stops being true. ' +
      'To record that a fact changed, keeping the old one as history, use supersede_memory instead.',
    input: {
      id: id.describe('The memory to change'),
      text: z.string().min(1).optional(),
      weight: z.number().positive().optional(),
      metadata: metadata.optional(),
      validTo: time('When it stops being true').optional(),
    },
    output: { id },
    annotations: { ...ADDS, idempotentHint: true },
  },
  supersede_memory: {
    title: 'Supersede Memory',
    description: 'Record that a fact changed: stores the new memory, links it to the old one (edge "supersedes") and ends the old one\'s validity, ' +
      'so recall answers with the new fact while the old one stays as history.',
    input: {
      id: id.describe('The memory that is no longer true'),
      text: z.string().min(1).describe('What is true now'),
      weight: z.number().positive().optional(),
      metadata: metadata.optional(),
      key: z.string().min(1).max(1024).optional(),
    },
    output: { id, supersedes: id },
    annotations: ADDS,
  },
} satisfies Record<string, ToolShape>;

export type ToolName = keyof typeof TOOL_SHAPES;
export const TOOL_NAMES = Object.keys(TOOL_SHAPES) as ToolName[];

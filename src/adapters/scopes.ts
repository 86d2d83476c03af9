// A scope given to an adapter, checked when the adapter is made rather than at its first call.
import type { Filter, MemoryInput, MemoryRecord, OVMemory, SearchHit, SearchOptions, ContextOptions, ContextResult } from 'ov-memory';

import { invalid } from '../embedders/checks.js';

// TEMPORARY until the scopes API is merged.
export interface Scope { user?: string; agent?: string; session?: string }
export interface ScopedMemory {
  add(input: MemoryInput & { scope?: Scope }): number;
  upsert(input: MemoryInput & { scope?: Scope }): number;
  remember(input: Omit<MemoryInput, 'embedding'> & { scope?: Scope }): Promise<number>;
  getByKey(key: string, options?: { scope?: Scope }): MemoryRecord | undefined;
  removeByKey(key: string, options?: { scope?: Scope }): boolean;
  ids(options?: { scope?: Scope }): IterableIterator<number>;
  search(query: number[] | string, options?: SearchOptions & { scope?: Scope }): Promise<SearchHit[]>;
  context(query: string, options?: ContextOptions & { scope?: Scope }): Promise<ContextResult>;
  forget(selector: { scope?: Scope; ids?: number[]; keys?: string[]; filter?: Filter }): Promise<number>;
}
export const scoped = (memory: OVMemory) => memory as unknown as ScopedMemory;

const FIELDS = ['user', 'agent', 'session'] as const;

/** `scope` as a Scope: an object of at most `user`, `agent` and `session`, each a non-empty string. */
export function checkScope(scope: unknown, name: string): Scope {
  if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) throw invalid(name, 'a scope ({ user?, agent?, session? })', scope);
  for (const [field, value] of Object.entries(scope)) {
    if (!(FIELDS as readonly string[]).includes(field)) throw invalid(name, `a scope of ${FIELDS.join(', ')} only`, field);
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw invalid(`${name}.${field}`, 'a non-empty string', value);
  }
  return { ...(scope as Scope) };
}

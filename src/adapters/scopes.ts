// A scope given to an adapter, checked when the adapter is made rather than at its first call (the
// store checks the rest, such as each field's length, when the scope is used).
import type { Scope } from 'ov-memory';

import { invalid } from '../embedders/checks.js';

const FIELDS: readonly (keyof Scope)[] = ['user', 'agent', 'session'];

/** `scope` as a Scope: an object of at most `user`, `agent` and `session`, each a non-empty string. */
export function checkScope(scope: unknown, name: string): Scope {
  if (scope === null || typeof scope !== 'object' || Array.isArray(scope)) throw invalid(name, 'a scope ({ user?, agent?, session? })', scope);
  for (const [field, value] of Object.entries(scope)) {
    if (!(FIELDS as readonly string[]).includes(field)) throw invalid(name, `a scope of ${FIELDS.join(', ')} only`, field);
    if (value !== undefined && (typeof value !== 'string' || value === '')) throw invalid(`${name}.${field}`, 'a non-empty string', value);
  }
  return { ...(scope as Scope) };
}

/** The `scope` option of a call: none for the empty scope (which the store refuses where a scope must name someone). */
export function within(scope: Scope): { scope?: Scope } {
  return Object.values(scope).some((v) => v !== undefined) ? { scope } : {};
}

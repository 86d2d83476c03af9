// What `forget` removes: the memories matching every part of its selector. Time plays no part (a
// memory whose validity ended is forgotten too), and an empty selector is refused: forgetting
// everything must be asked for by name (a scope, the ids, a filter), never by a typo.
import { checkKey, checkObject, invalid, unknownKeys } from '../resilience/validation.js';
import { checkScope } from './scopes.js';
import type { Store } from './store.js';
import type { Scope } from '../types.js';

const SELECTOR_KEYS = ['scope', 'ids', 'keys', 'filter'] as const;

/** The live ids a selector matches, ascending. */
export function forgetIds(store: Store, selector: unknown): number[] {
  const o = checkObject(selector, 'selector');
  const extra = unknownKeys(o, SELECTOR_KEYS);
  if (extra.length > 0) throw invalid(`selector.${extra[0]}`, `absent: a selector has only ${SELECTOR_KEYS.join(', ')}`, o[extra[0]!]);
  if (SELECTOR_KEYS.every((k) => o[k] === undefined)) throw invalid('selector', `at least one of ${SELECTOR_KEYS.join(', ')}`, selector);
  const scope = checkScope(o.scope, 'selector.scope');
  if (o.scope !== undefined && !scope) throw invalid('selector.scope', 'a scope with at least one of user, agent, session', o.scope);
  const bits = store.records.nextId;
  let mask = o.filter === undefined ? undefined : store.metadata.match(o.filter, bits);
  if (scope) mask = mask ? mask.and(store.scopes.match(scope, bits)) : store.scopes.match(scope, bits);
  const named = namedIds(store, o, scope);
  const live = named ?? [...store.records.ids()];
  return live.filter((id) => store.has(id) && (!mask || mask.has(id))).sort((a, b) => a - b);
}

/** The ids and keys a selector names (keys in its exact scope), or undefined when it names none. */
function namedIds(store: Store, o: Record<string, unknown>, scope: Scope | undefined): number[] | undefined {
  let named: Set<number> | undefined;
  if (o.ids !== undefined) {
    if (!Array.isArray(o.ids)) throw invalid('selector.ids', 'an array of memory ids', o.ids);
    named = new Set(o.ids.map((id, i) => {
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw invalid(`selector.ids[${i}]`, 'a memory id (an integer ≥ 0)', id);
      return id;
    }));
  }
  if (o.keys !== undefined) {
    if (!Array.isArray(o.keys)) throw invalid('selector.keys', 'an array of keys', o.keys);
    const keyed = o.keys.map((key, i) => store.records.idOfKey(checkKey(key, `selector.keys[${i}]`), scope)).filter((id) => id !== undefined);
    named = named ? new Set(keyed.filter((id) => named!.has(id))) : new Set(keyed);
  }
  return named && [...named];
}

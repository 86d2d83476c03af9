// Whose memory it is: a scope of up to three names (user, agent, session). A scoped call sees the
// members of every field it gives, as an allow-mask over ids: one bitset per name of each field,
// ANDed, so the kernel skips the rest without any per-row JavaScript. Keys are unique within one
// exact scope, so that one tenant's keys never collide with — or reveal — another's.
import { Bitset } from '../metadata/bitset.js';
import { checkObject, invalid, unknownKeys } from '../resilience/validation.js';
import type { Scope } from '../types.js';

export const SCOPE_FIELDS = ['user', 'agent', 'session'] as const;

const MAX_NAME = 256;

/** A scope checked strictly (an unknown field is an error: it would widen what a call sees); undefined for `{}`. */
export function checkScope(value: unknown, name: string): Scope | undefined {
  if (value === undefined) return undefined;
  const o = checkObject(value, name);
  const extra = unknownKeys(o, SCOPE_FIELDS);
  if (extra.length > 0) throw invalid(`${name}.${extra[0]}`, `absent: a scope has only ${SCOPE_FIELDS.join(', ')}`, o[extra[0]!]);
  const scope: Scope = {};
  for (const field of SCOPE_FIELDS) {
    const v = o[field];
    if (v === undefined) continue;
    if (typeof v !== 'string' || v.length === 0 || v.length > MAX_NAME) throw invalid(`${name}.${field}`, `a string of 1 to ${MAX_NAME} characters`, v);
    scope[field] = v;
  }
  return Object.keys(scope).length === 0 ? undefined : scope;
}

/** One string for one exact scope ('' for none): the namespace of its keys, and the entry of `scopes()`. */
export function scopeKey(scope: Scope | undefined): string {
  return scope ? JSON.stringify(SCOPE_FIELDS.map((f) => scope[f] ?? null)) : '';
}

/** Bytes an id takes in a name's member set (a JS Set entry), for the memory limit. */
const MEMBER_BYTES = 40;

export class ScopeIndex {
  // A set of ids per name, not a bitset: many small scopes must not cost a store-sized bitset each.
  readonly #byName = new Map<string, Set<number>>();
  readonly #exact = new Map<string, { scope: Scope; count: number }>();
  #entries = 0;

  add(id: number, scope: Scope | undefined): void {
    if (!scope) return;
    for (const key of nameKeys(scope)) {
      let members = this.#byName.get(key);
      if (!members) this.#byName.set(key, (members = new Set()));
      members.add(id);
      this.#entries++;
    }
    const exact = scopeKey(scope);
    const entry = this.#exact.get(exact);
    if (entry) entry.count++;
    else this.#exact.set(exact, { scope, count: 1 });
  }

  remove(id: number, scope: Scope | undefined): void {
    if (!scope) return;
    for (const key of nameKeys(scope)) {
      const members = this.#byName.get(key)!;
      members.delete(id);
      this.#entries--;
      if (members.size === 0) this.#byName.delete(key);
    }
    const exact = scopeKey(scope);
    const entry = this.#exact.get(exact)!;
    if (--entry.count === 0) this.#exact.delete(exact);
  }

  /** The members of `scope` as a bitset of `bits` bits: the smallest name's members, checked against the others. */
  match(scope: Scope, bits: number): Bitset {
    const sets = nameKeys(scope).map((key) => this.#byName.get(key) ?? new Set<number>());
    const out = new Bitset(bits);
    if (sets.length === 0) return new Bitset(bits, true);
    sets.sort((a, b) => a.size - b.size);
    const [smallest, ...others] = sets;
    for (const id of smallest!) if (others.every((s) => s.has(id))) out.set(id);
    return out;
  }

  /** Every exact scope with its live count, in first-seen order (unscoped memories are not listed). */
  list(): { scope: Scope; count: number }[] {
    return [...this.#exact.values()].map(({ scope, count }) => ({ scope: { ...scope }, count }));
  }

  /** Bytes held, for the memory limit. */
  get bytes(): number {
    let n = this.#entries * MEMBER_BYTES;
    for (const key of this.#byName.keys()) n += 2 * key.length + 64;
    for (const key of this.#exact.keys()) n += 2 * key.length + 64;
    return n;
  }
}

function nameKeys(scope: Scope): string[] {
  return SCOPE_FIELDS.flatMap((field) => (scope[field] === undefined ? [] : [`${field}:${scope[field]}`]));
}

/** `options.scope` of getByKey, removeByKey and ids. */
export function scopeOption(options: unknown): Scope | undefined {
  return options === undefined ? undefined : checkScope(checkObject(options, 'options').scope, 'options.scope');
}

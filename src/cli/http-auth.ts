// Who may call the service, and what they may see. A token grants the whole store, or one scope:
// a scoped token's every read and write is narrowed to its scope. A request that names another
// scope is 403; a memory of another scope is answered exactly as a memory that does not exist
// (404), so that a token cannot learn what other tenants hold.
import { createHash, timingSafeEqual } from 'node:crypto';
import { NotFoundError } from '../index.js';
import type { Scope } from '../index.js';

export interface TokenGrant {
  token: string;
  /** The scope the token is held to; undefined: the whole store. */
  scope?: Scope | undefined;
}

/** What an authenticated request may reach. */
export interface Grant {
  scope: Scope | undefined;
}

export class ForbiddenError extends Error {
  readonly statusCode = 403;
}

const FIELDS = ['user', 'agent', 'session'] as const;

/** The grant of a presented token, or undefined; every entry is compared, each in constant time. */
export function authenticator(grants: readonly TokenGrant[]): (presented: string) => Grant | undefined {
  const hashed = grants.map((g) => ({ hash: sha256(g.token), scope: g.scope }));
  return (presented) => {
    const hash = sha256(presented);
    let found: Grant | undefined;
    for (const g of hashed) if (timingSafeEqual(hash, g.hash) && !found) found = { scope: g.scope };
    return found;
  };
}

/**
 * The scope a request acts in: what it asked for, with the grant's fields filled in. Asking for
 * another value of a granted field is 403. A value that is not a scope object is passed on for the
 * library to refuse with its own message.
 */
export function narrow(grant: Grant, requested: unknown, field = 'scope'): unknown {
  if (!grant.scope) return requested;
  if (requested !== undefined && (typeof requested !== 'object' || requested === null || Array.isArray(requested))) return requested;
  const asked = (requested ?? {}) as Record<string, unknown>;
  for (const f of FIELDS) {
    const granted = grant.scope[f];
    if (granted !== undefined && asked[f] !== undefined && asked[f] !== granted) {
      throw new ForbiddenError(`\`${field}.${f}\` is outside this token's scope`);
    }
  }
  return { ...asked, ...grant.scope };
}

/** Whether a memory of `scope` is within the grant. */
export function reaches(grant: Grant, scope: Scope | undefined): boolean {
  return !grant.scope || FIELDS.every((f) => grant.scope![f] === undefined || scope?.[f] === grant.scope![f]);
}

/** A memory's absence, said the same way whether it never existed or belongs to another scope. */
export function noMemory(id: number): NotFoundError {
  return new NotFoundError(`no memory with id ${id}`, { details: { id } });
}

/** Only a token of the whole store may see what spans every scope (metrics). */
export function requireWholeStore(grant: Grant, what: string): void {
  if (grant.scope) throw new ForbiddenError(`${what} needs a token of the whole store`);
}

/**
 * A token file: one token a line, optionally followed by its scope as `user=…,agent=…,session=…`
 * (`#` starts a comment). A token alone grants the whole store, as a file of one bare token did.
 */
export function parseTokenFile(text: string, file: string, fail: (why: string) => Error): TokenGrant[] {
  const grants: TokenGrant[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line.length === 0) return;
    const [token, scopeText, ...rest] = line.split(/\s+/);
    if (rest.length > 0) throw fail(`${file}:${i + 1}: expected \`TOKEN [user=…,agent=…,session=…]\``);
    const grant: TokenGrant = { token: token! };
    if (scopeText !== undefined) grant.scope = parseScope(scopeText, `${file}:${i + 1}`, fail);
    if (grants.some((g) => g.token === grant.token)) throw fail(`${file}:${i + 1}: a token given twice`);
    grants.push(grant);
  });
  if (grants.length === 0) throw fail(`${file} holds no token`);
  return grants;
}

function parseScope(text: string, where: string, fail: (why: string) => Error): Scope {
  const scope: Scope = {};
  for (const part of text.split(',')) {
    const m = /^(user|agent|session)=(.{1,256})$/.exec(part);
    if (!m) throw fail(`${where}: \`${part}\` is not \`user=…\`, \`agent=…\` or \`session=…\``);
    const field = m[1] as (typeof FIELDS)[number];
    if (scope[field] !== undefined) throw fail(`${where}: \`${field}\` given twice`);
    scope[field] = m[2]!;
  }
  return scope;
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

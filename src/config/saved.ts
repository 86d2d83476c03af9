// The store options a durable store (and export()) keeps with its data, so that a reopen or an
// import behaves as the store did: what recency means, its limits, its indexes, its name. Options
// given to open() or import() still win; the store warns about each one that differs.
import type { OVMemoryOptions } from '../types.js';

export const SAVED_OPTIONS = ['maxNodes', 'maxMemoryMB', 'maxTextLength', 'halfLifeMs', 'recency', 'indexed', 'name', 'maxTopK', 'ttlMs', 'onFull', 'quantization', 'oversample'] as const;

/** The saved options the caller set (defaults are not saved: a later version's defaults apply). */
export function savedOptions(options: Partial<OVMemoryOptions>): Record<string, unknown> {
  return Object.fromEntries(SAVED_OPTIONS.filter((key) => options[key] !== undefined).map((key) => [key, options[key]]));
}

/** The saved options under the given ones, and the keys where the given ones differ. */
export function withSaved(saved: Record<string, unknown> | undefined, given: Partial<OVMemoryOptions>): { options: Partial<OVMemoryOptions>; overridden: string[] } {
  const kept = Object.fromEntries(Object.entries(saved ?? {}).filter(([key]) => (SAVED_OPTIONS as readonly string[]).includes(key)));
  const overridden = Object.keys(kept).filter((key) => {
    const value = given[key as keyof OVMemoryOptions];
    return value !== undefined && JSON.stringify(value) !== JSON.stringify(kept[key]);
  });
  return { options: { ...kept, ...given }, overridden };
}

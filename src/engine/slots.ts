// Request slots: each search in flight owns one (its cancel word, query copies and heaps), so one
// caller's timeout never cancels another's search. Slots are pooled by size and reused.
import type { Arena } from './arena.js';
import { Layout } from './kernels.js';

export interface Slot {
  readonly base: number;
  readonly bytes: number;
}

export class SlotPool {
  #free: Slot[] = [];

  constructor(private readonly arena: Arena) {}

  /** A slot with room for a request header and `bytes` bytes after it. */
  acquire(bytes: number): Slot {
    const need = Layout.REQUEST_BYTES + bytes;
    let best = -1;
    for (let i = 0; i < this.#free.length; i++) {
      const slot = this.#free[i]!;
      if (slot.bytes >= need && (best < 0 || slot.bytes < this.#free[best]!.bytes)) best = i;
    }
    if (best >= 0) return this.#free.splice(best, 1)[0]!;
    // Round up so that slightly different requests share slots.
    const rounded = 2 ** Math.ceil(Math.log2(Math.max(need, 4096)));
    return { base: this.arena.alloc(rounded), bytes: rounded };
  }

  release(slot: Slot): void {
    this.#free.push(slot);
  }
}

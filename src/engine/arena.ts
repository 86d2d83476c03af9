// The arena: one shared linear memory, handed out by a bump allocator. Nothing is ever moved or
// freed back to the memory (segments and request slots are long-lived and pooled), so a pointer
// stays valid for the life of the store and a running scan is never disturbed by an allocation.
import { ResourceExhaustionError } from '../resilience/errors.js';
import { Layout, MemoryViews } from './kernels.js';
import { createMemory } from './wasm.js';

const PAGE = 65536;
/** Address 0 stays unused so that a zero pointer always means "none". */
const FIRST_ADDRESS = 64;

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly views: MemoryViews;
  readonly maxBytes: number;
  #top = FIRST_ADDRESS;

  /** `shared`: whether workers will scan it too (an unshared memory serves the calling thread only). */
  constructor(maxBytes: number, readonly shared = true) {
    this.maxBytes = Math.floor(maxBytes / PAGE) * PAGE;
    this.memory = createMemory(PAGE, this.maxBytes, shared);
    this.views = new MemoryViews(this.memory);
  }

  /** Bytes handed out so far. */
  get usedBytes(): number {
    return this.#top;
  }

  /** Whether `bytes` more (plus alignment) would still fit under the maximum. */
  fits(bytes: number): boolean {
    return this.#aligned(this.#top) + bytes <= this.maxBytes;
  }

  /** Reserves `bytes` bytes, 16-byte aligned, growing the memory when needed. */
  alloc(bytes: number): number {
    const start = this.#aligned(this.#top);
    const end = start + bytes;
    if (end > this.maxBytes) {
      throw new ResourceExhaustionError(
        `memory limit reached: ${end} bytes needed, the limit is ${this.maxBytes} bytes (maxMemoryMB)`,
        { details: { usedBytes: this.#top, requestedBytes: bytes, limitBytes: this.maxBytes } },
      );
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      try {
        this.memory.grow(Math.ceil((end - have) / PAGE));
      } catch (cause) {
        throw new ResourceExhaustionError(`WebAssembly memory could not grow to ${end} bytes`, {
          cause,
          details: { usedBytes: this.#top, requestedBytes: bytes },
        });
      }
    }
    this.#top = end;
    return start;
  }

  #aligned(n: number): number {
    return Math.ceil(n / Layout.ALIGN) * Layout.ALIGN;
  }
}

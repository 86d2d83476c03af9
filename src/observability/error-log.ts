// The last failures in a fixed-size ring, so a long-running store keeps a bounded history.

export interface ErrorRecord {
  at: number;
  operation: string;
  code: string;
  message: string;
}

export class ErrorLog {
  readonly #ring: (ErrorRecord | undefined)[];
  #next = 0;

  constructor(readonly capacity = 1000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Expected \`capacity\` to be a positive integer, got ${capacity}`);
    this.#ring = new Array<ErrorRecord | undefined>(capacity).fill(undefined);
  }

  /** Keeps a copy, so a caller that reuses its object cannot rewrite history. */
  push(r: ErrorRecord): void {
    this.#ring[this.#next] = { at: r.at, operation: r.operation, code: r.code, message: r.message };
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Up to `limit` records, newest first, as copies. */
  recent(limit = 100): ErrorRecord[] {
    const out: ErrorRecord[] = [];
    const n = Math.min(limit, this.capacity);
    for (let i = 1; i <= n; i++) {
      const r = this.#ring[(this.#next - i + this.capacity) % this.capacity];
      if (r === undefined) break;
      out.push({ ...r });
    }
    return out;
  }
}

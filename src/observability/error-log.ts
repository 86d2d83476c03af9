// The last failures, newest first, in a fixed-size ring.

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
    this.#ring = new Array<ErrorRecord | undefined>(capacity);
  }

  push(record: ErrorRecord): void {
    this.#ring[this.#next] = record;
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Up to `limit` records, newest first, as copies. */
  recent(limit = 100): ErrorRecord[] {
    const out: ErrorRecord[] = [];
    for (let i = 1; i <= Math.min(limit, this.capacity); i++) {
      const record = this.#ring[(this.#next - i + this.capacity) % this.capacity];
      if (!record) break;
      out.push({ ...record });
    }
    return out;
  }
}

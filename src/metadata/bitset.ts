// A plain bitset over ids, in 32-bit words: bit (id & 31) of word id >> 5. On a little-endian
// machine (every wasm host) that is byte id >> 3, bit id & 7: exactly the allow-mask the kernel
// reads, so a filter's result is copied into the request slot as it is. (Compressed bitmaps such
// as roaring would need decoding into this layout on every search, which is the whole cost here.)

export class Bitset {
  words: Uint32Array;

  constructor(bits: number, fill = false) {
    this.words = new Uint32Array(Math.ceil(bits / 32));
    if (fill) this.words.fill(0xffffffff);
  }

  get bits(): number {
    return this.words.length * 32;
  }

  set(id: number): void {
    this.#grow(id);
    this.words[id >>> 5]! |= 1 << (id & 31);
  }

  clear(id: number): void {
    if (id >>> 5 < this.words.length) this.words[id >>> 5]! &= ~(1 << (id & 31));
  }

  has(id: number): boolean {
    return ((this.words[id >>> 5] ?? 0) & (1 << (id & 31))) !== 0;
  }

  and(other: Bitset): this {
    for (let i = 0; i < this.words.length; i++) this.words[i]! &= other.words[i] ?? 0;
    return this;
  }

  or(other: Bitset): this {
    this.#grow(other.bits - 1);
    for (let i = 0; i < other.words.length; i++) this.words[i]! |= other.words[i]!;
    return this;
  }

  not(): this {
    for (let i = 0; i < this.words.length; i++) this.words[i] = ~this.words[i]!;
    return this;
  }

  count(): number {
    let n = 0;
    for (let w of this.words) {
      w -= (w >>> 1) & 0x55555555;
      w = (w & 0x33333333) + ((w >>> 2) & 0x33333333);
      n += (((w + (w >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
    }
    return n;
  }

  static of(bits: number, ids: Iterable<number>): Bitset {
    const set = new Bitset(bits);
    for (const id of ids) set.set(id);
    return set;
  }

  #grow(id: number): void {
    if (id >>> 5 < this.words.length) return;
    const words = new Uint32Array(Math.max((id >>> 5) + 1, this.words.length * 2));
    words.set(this.words);
    this.words = words;
  }
}

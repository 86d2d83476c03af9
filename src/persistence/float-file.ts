// A durable quantized store's float32 vectors, in a file of its directory instead of memory: the
// scan reads only the codes in the arena, and the rerank reads the few rows it scores from here,
// so a store's resident size is its codes and records, not its float32 vectors.
//
// The file is a cache, not a record: row r's `dim` floats lie at r × dim × 4, written as the rows
// are stored (the snapshot and log replayed at open, then each new row), never synced, and removed
// at close. The newest rows wait in memory and are written a chunk at a time. A chunk that cannot be
// written (a full disk) stays in memory, so the store keeps answering exactly; `onFault` hears of it.
import { InternalError, StorageFaultError } from '../resilience/errors.js';
import type { FloatRows } from '../engine/rows.js';
import { describeOsError, type StoreFiles } from './files.js';

/** The file's name in the store's directory. */
export const FLOAT_FILE = 'vectors.f32';
/** Rows held in memory before they are written together (768 KB at d = 768). */
const CHUNK_ROWS = 256;

interface Chunk { first: number; floats: Float32Array }

export class FloatFile implements FloatRows {
  readonly #files: StoreFiles;
  readonly #dim: number;
  readonly #writeFd: number;
  readonly #readFd: number;
  readonly #onFault: (error: StorageFaultError) => void;
  /** The rows not yet written: [pending.first, pending.first + pendingRows). */
  #pending: Chunk;
  #pendingRows = 0;
  /** Chunks whose write failed, kept in memory for good, in row order. */
  readonly #held: Chunk[] = [];
  #closed = false;

  /** Creates (or empties) `file`. */
  constructor(files: StoreFiles, readonly file: string, dim: number, onFault: (error: StorageFaultError) => void) {
    this.#files = files;
    this.#dim = dim;
    this.#onFault = onFault;
    this.#writeFd = files.openSync(file, 'w');
    try {
      this.#readFd = files.openSync(file, 'r');
    } catch (error) {
      files.closeSync(this.#writeFd);
      throw error;
    }
    this.#pending = { first: 0, floats: new Float32Array(CHUNK_ROWS * dim) };
  }

  get residentBytes(): number {
    return (this.#pending.floats.length + this.#held.reduce((sum, chunk) => sum + chunk.floats.length, 0)) * 4;
  }

  write(row: number, vector: Float32Array): void {
    const expected = this.#pending.first + this.#pendingRows;
    if (row !== expected) throw new InternalError(`float rows are written in order: row ${row} came where ${expected} was due`);
    this.#pending.floats.set(vector, this.#pendingRows * this.#dim);
    if (++this.#pendingRows === CHUNK_ROWS) this.#writeChunk();
  }

  read(row: number, into: Float32Array, at: number): void {
    const inMemory = this.#chunkOf(row);
    if (inMemory) {
      const start = (row - inMemory.first) * this.#dim;
      into.set(inMemory.floats.subarray(start, start + this.#dim), at);
      return;
    }
    const bytes = new Uint8Array(into.buffer, into.byteOffset + at * 4, this.#dim * 4);
    const position = row * this.#dim * 4;
    try {
      for (let done = 0; done < bytes.length; ) {
        const n = this.#files.readSync(this.#readFd, bytes, done, bytes.length - done, position + done);
        if (n === 0) throw new Error(`the file ends before row ${row}`);
        done += n;
      }
    } catch (error) {
      throw new StorageFaultError(`could not read the float32 vector of row ${row} from ${this.file} (${describeOsError(error)})`, { cause: error, details: { file: this.file, row } });
    }
  }

  erase(row: number): void {
    const inMemory = this.#chunkOf(row);
    if (inMemory) {
      inMemory.floats.fill(0, (row - inMemory.first) * this.#dim, (row - inMemory.first + 1) * this.#dim);
      return;
    }
    if (row >= this.#pending.first) return;   // never stored
    try {
      this.#writeAt(new Uint8Array(this.#dim * 4), row * this.#dim * 4);
    } catch (error) {
      this.#fault(error, `could not erase row ${row} of ${this.file}`);
    }
  }

  /** Closes the file and removes it (it only ever served this process). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const fd of [this.#writeFd, this.#readFd]) try { this.#files.closeSync(fd); } catch { /* gone either way */ }
    try { this.#files.unlinkSync(this.file); } catch { /* the next open empties it */ }
  }

  /** The in-memory chunk holding `row`, if any. */
  #chunkOf(row: number): Chunk | undefined {
    if (row >= this.#pending.first) return row < this.#pending.first + this.#pendingRows ? this.#pending : undefined;
    for (const chunk of this.#held) if (row >= chunk.first && row < chunk.first + chunk.floats.length / this.#dim) return chunk;
    return undefined;
  }

  #writeChunk(): void {
    const chunk = this.#pending;
    try {
      this.#writeAt(new Uint8Array(chunk.floats.buffer), chunk.first * this.#dim * 4);
    } catch (error) {
      this.#held.push(chunk);
      this.#fault(error, `could not write rows ${chunk.first}..${chunk.first + CHUNK_ROWS - 1} to ${this.file}: they stay in memory`);
      this.#pending = { first: chunk.first + CHUNK_ROWS, floats: new Float32Array(CHUNK_ROWS * this.#dim) };
      this.#pendingRows = 0;
      return;
    }
    this.#pending.first += CHUNK_ROWS;
    this.#pendingRows = 0;
  }

  #writeAt(bytes: Uint8Array, position: number): void {
    for (let done = 0; done < bytes.length; ) done += this.#files.writeSync(this.#writeFd, bytes, done, bytes.length - done, position + done);
  }

  #fault(error: unknown, what: string): void {
    this.#onFault(new StorageFaultError(`${what} (${describeOsError(error)})`, { cause: error, details: { file: this.file } }));
  }
}

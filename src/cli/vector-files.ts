// Vector files for batch scoring, read a chunk of rows at a time so that a corpus larger than memory
// streams through: .npy (float32, 2-D, C order), .fvecs, raw .f32 (with a given dimension), and
// .jsonl with an `embedding` field (and optional `id`, `text`). Every problem is a VectorFileError
// naming the file, and rows are checked (finite, not all zero) with their index (JSONL: the line).
import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';

export class VectorFileError extends Error {
  constructor(file: string, problem: string) {
    super(`${path.basename(file)}: ${problem}`);
    this.name = 'VectorFileError';
  }
}

export interface Chunk {
  /** `count` rows of `dim` float32 values. */
  rows: Float32Array;
  count: number;
  /** Index of the chunk's first row in the file. */
  first: number;
  /** Row ids given in the file (.jsonl `id`), else undefined: the row index is the id. */
  ids?: (string | number)[];
}

export interface VectorFile {
  readonly file: string;
  readonly dim: number;
  /** Rows in the file, when the format tells without reading it all. */
  readonly rows: number | undefined;
  readonly bytes: number;
  chunks(maxRows: number): AsyncGenerator<Chunk>;
}

export async function openVectorFile(file: string, options: { dim?: number | undefined } = {}): Promise<VectorFile> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    throw new VectorFileError(file, 'cannot be read (no such file?)');
  }
  switch (path.extname(file).toLowerCase()) {
    case '.npy': return openNpy(file, size);
    case '.fvecs': return openFvecs(file, size);
    case '.f32': {
      if (options.dim === undefined) throw new VectorFileError(file, 'raw .f32 needs --dim');
      return binary(file, size, 0, options.dim, 0);
    }
    case '.jsonl': return openJsonl(file, size, options.dim);
    default: throw new VectorFileError(file, 'unknown format: expected .npy, .fvecs, .f32 or .jsonl');
  }
}

function readAt(fd: number, length: number, position: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = readSync(fd, out, at, length - at, position + at);
    if (n === 0) break;
    at += n;
  }
  return out.subarray(0, at);
}

/**
 * Checks a row: every value finite, not all zero (a zero vector has no direction). `where` names it:
 * `row 200` (0-based, as an array index) in binary files, `line 7` (1-based, as editors count) in JSONL.
 */
function checkRow(file: string, values: Float32Array, where: string): void {
  let zero = true;
  for (let j = 0; j < values.length; j++) {
    const x = values[j]!;
    if (!Number.isFinite(x)) throw new VectorFileError(file, `${where} has ${x} at column ${j}`);
    if (x !== 0) zero = false;
  }
  if (zero) throw new VectorFileError(file, `${where} is all zeros`);
}

/**
 * Fixed-size binary rows: `header` bytes at the start, then rows of `prefix` bytes (an .fvecs
 * dimension word) and `dim` float32 values.
 */
function binary(file: string, size: number, header: number, dim: number, prefix: number): VectorFile {
  const rowBytes = prefix + dim * 4;
  const body = size - header;
  if (dim <= 0) throw new VectorFileError(file, `dimension ${dim} is not positive`);
  if (body % rowBytes !== 0) {
    throw new VectorFileError(file, `truncated: ${body} data bytes are not a whole number of ${rowBytes}-byte rows`);
  }
  const rows = body / rowBytes;
  return {
    file, dim, rows, bytes: size,
    async *chunks(maxRows) {
      const fd = openSync(file, 'r');
      try {
        for (let first = 0; first < rows; first += maxRows) {
          const count = Math.min(maxRows, rows - first);
          const raw = readAt(fd, count * rowBytes, header + first * rowBytes);
          if (raw.length < count * rowBytes) throw new VectorFileError(file, `truncated at row ${first + Math.floor(raw.length / rowBytes)}`);
          const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
          // Rows without a prefix are the buffer itself (wasm hosts are little-endian); .fvecs rows are copied out.
          const out = prefix === 0 ? new Float32Array(raw.buffer, raw.byteOffset, count * dim) : new Float32Array(count * dim);
          for (let r = 0; r < count; r++) {
            if (prefix > 0 && view.getInt32(r * rowBytes, true) !== dim) {
              throw mixedDimensions(file, first + r, view.getInt32(r * rowBytes, true), dim);
            }
            const row = out.subarray(r * dim, (r + 1) * dim);
            if (prefix > 0) row.set(new Float32Array(raw.buffer.slice(raw.byteOffset + r * rowBytes + prefix, raw.byteOffset + (r + 1) * rowBytes)));
            checkRow(file, row, `row ${first + r}`);
          }
          yield { rows: out, count, first };
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}

function openNpy(file: string, size: number): VectorFile {
  const fd = openSync(file, 'r');
  let head: Uint8Array;
  try { head = readAt(fd, Math.min(size, 65_536 + 12), 0); } finally { closeSync(fd); }
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (head.length < 10 || magic.some((b, i) => head[i] !== b)) throw new VectorFileError(file, 'bad magic: not a .npy file');
  const major = head[6]!;
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  const dict = new TextDecoder().decode(head.subarray(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(dict)?.[1];
  if (descr !== '<f4' && descr !== '|f4' && descr !== 'f4') throw new VectorFileError(file, `wrong dtype ${descr ?? '?'}: expected float32 ('<f4')`);
  if (/'fortran_order':\s*True/.test(dict)) throw new VectorFileError(file, 'Fortran order: expected C order');
  const shape = /'shape':\s*\(([^)]*)\)/.exec(dict)?.[1]?.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  if (!shape || shape.length !== 2) throw new VectorFileError(file, `shape (${shape?.join(', ') ?? '?'}): expected 2-D (rows, dim)`);
  const [rows, dim] = shape as [number, number];
  const dataStart = start + headerLength;
  if (size - dataStart !== rows * dim * 4) {
    throw new VectorFileError(file, `truncated: shape (${rows}, ${dim}) needs ${rows * dim * 4} data bytes, the file has ${size - dataStart}`);
  }
  return binary(file, size, dataStart, dim, 0);
}

function openFvecs(file: string, size: number): VectorFile {
  if (size < 4) throw new VectorFileError(file, 'truncated: shorter than one dimension word');
  const fd = openSync(file, 'r');
  let first: Uint8Array;
  try { first = readAt(fd, 4, 0); } finally { closeSync(fd); }
  const dim = new DataView(first.buffer).getInt32(0, true);
  if (dim <= 0 || dim > 65_536) throw new VectorFileError(file, `bad first dimension word ${dim}: not an .fvecs file?`);
  if (size % (4 + dim * 4) !== 0) checkFvecsDimensions(file, size, dim);
  return binary(file, size, 0, dim, 4);
}

/**
 * A size that is no whole number of rows: a later row of another dimension (reported as such) or a
 * cut-off end (then binary() reports it truncated). Reads each row's dimension word, only on this path.
 */
function checkFvecsDimensions(file: string, size: number, dim: number): void {
  const rowBytes = 4 + dim * 4;
  const fd = openSync(file, 'r');
  try {
    for (let row = 0, at = 0; at + 4 <= size; row++, at += rowBytes) {
      const word = readAt(fd, 4, at);
      const rowDim = new DataView(word.buffer, word.byteOffset, 4).getInt32(0, true);
      if (rowDim !== dim) throw mixedDimensions(file, row, rowDim, dim);
    }
  } finally {
    closeSync(fd);
  }
}

function mixedDimensions(file: string, row: number, rowDim: number, dim: number): VectorFileError {
  return new VectorFileError(file, `mixed dimensions: row ${row} says dimension ${rowDim}, the first row said ${dim}`);
}

async function openJsonl(file: string, size: number, dimOption: number | undefined): Promise<VectorFile> {
  // The dimension comes from --dim or from the first line.
  let dim = dimOption;
  if (dim === undefined) {
    for await (const { embedding } of jsonlRows(file)) { dim = embedding.length; break; }
    if (dim === undefined) throw new VectorFileError(file, 'no rows');
  }
  const fixedDim = dim;
  return {
    file, dim: fixedDim, rows: undefined, bytes: size,
    async *chunks(maxRows) {
      let rows = new Float32Array(maxRows * fixedDim), ids: (string | number)[] = [], count = 0, first = 0, index = 0;
      for await (const { embedding, id, line } of jsonlRows(file)) {
        if (embedding.length !== fixedDim) throw new VectorFileError(file, `line ${line} has ${embedding.length} values, expected ${fixedDim}`);
        const row = rows.subarray(count * fixedDim, (count + 1) * fixedDim);
        row.set(embedding);
        checkRow(file, row, `line ${line}`);
        ids.push(id ?? index);
        count++;
        index++;
        if (count === maxRows) {
          yield { rows, count, first, ids };
          first += count;
          rows = new Float32Array(maxRows * fixedDim);
          ids = [];
          count = 0;
        }
      }
      if (count > 0) yield { rows: rows.subarray(0, count * fixedDim), count, first, ids };
    },
  };
}

/** Each non-blank line's row, with its 1-based line number. */
async function* jsonlRows(file: string): AsyncGenerator<{ embedding: number[]; id?: string | number; line: number }> {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let row: unknown;
    try { row = JSON.parse(text); } catch { throw new VectorFileError(file, `line ${line} is not JSON`); }
    const embedding = (row as { embedding?: unknown })?.embedding;
    if (!Array.isArray(embedding) || embedding.some((x) => typeof x !== 'number')) {
      throw new VectorFileError(file, `line ${line} has no "embedding" array of numbers`);
    }
    const id = (row as { id?: unknown }).id;
    yield { embedding, line, ...(typeof id === 'string' || typeof id === 'number' ? { id } : {}) };
  }
}

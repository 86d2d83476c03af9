// The file a durable quantized store keeps its float32 vectors in (persistence/float-file.ts), with
// a disk that refuses writes or reads: written rows read back exactly, a refused chunk stays in
// memory and is reported, a failed read is STORAGE_FAULT, an erased row is zeros wherever it lies.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FloatFile, nodeFiles, type StoreFiles } from '../dist/internal.js';
import { randomVectors } from './helpers/data.js';
import { tempRoot } from './helpers/stores.js';

const { freshDir } = tempRoot('ov-memory-float-file-');
const dim = 5;
const CHUNK = 256;
const rows = randomVectors(3 * CHUNK + 10, dim, 5);

/** node:fs whose writes fail with ENOSPC while `full.value`, and whose reads fail with EIO while `broken.value`. */
function faultyFiles() {
  const full = { value: false }, broken = { value: false };
  const files: StoreFiles = {
    ...nodeFiles,
    writeSync: (fd, buffer, offset, length, position) => {
      if (full.value) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return nodeFiles.writeSync(fd, buffer, offset, length, position);
    },
    readSync: (fd, buffer, offset, length, position) => {
      if (broken.value) throw Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' });
      return nodeFiles.readSync(fd, buffer, offset, length, position);
    },
  };
  return { files, full, broken };
}

function opened(files: StoreFiles = nodeFiles) {
  const dir = freshDir();
  fs.mkdirSync(dir);
  const faults: { code: string; message: string }[] = [];
  const file = new FloatFile(files, path.join(dir, 'vectors.f32'), dim, (error) => faults.push(error));
  return { file, faults, at: path.join(dir, 'vectors.f32') };
}

const readRow = (file: InstanceType<typeof FloatFile>, row: number) => {
  const into = new Float32Array(dim + 2);
  file.read(row, into, 1);
  expect(into[0]).toBe(0);
  expect(into[dim + 1]).toBe(0);
  return into.subarray(1, dim + 1);
};

describe('FloatFile', () => {
  it('writes rows a chunk at a time at row × dim × 4, reads each back exactly, and is removed at close', () => {
    const { file, faults, at } = opened();
    rows.forEach((v, row) => file.write(row, v));
    expect(fs.statSync(at).size).toBe(3 * CHUNK * dim * 4);
    const onDisk = new Float32Array(fs.readFileSync(at).buffer.slice(0));
    expect(onDisk.subarray(CHUNK * dim, (CHUNK + 1) * dim)).toEqual(rows[CHUNK]);
    rows.forEach((v, row) => expect(readRow(file, row)).toEqual(v));
    expect(file.residentBytes).toBe(CHUNK * dim * 4);
    expect(faults).toEqual([]);
    file.close();
    expect(fs.existsSync(at)).toBe(false);
  });

  it('refuses a row out of order', () => {
    const { file } = opened();
    file.write(0, rows[0]!);
    expect(() => file.write(2, rows[2]!)).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
    file.close();
  });

  it('a chunk the disk refuses stays in memory, is reported once, and still reads back; later chunks go to disk again', () => {
    const { files, full } = faultyFiles();
    const { file, faults, at } = opened(files);
    rows.slice(0, CHUNK).forEach((v, row) => file.write(row, v));
    full.value = true;
    rows.slice(CHUNK, 2 * CHUNK).forEach((v, i) => file.write(CHUNK + i, v));
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/rows 256\.\.511 .*ENOSPC/) });
    expect(file.residentBytes).toBe(2 * CHUNK * dim * 4);
    full.value = false;
    rows.slice(2 * CHUNK).forEach((v, i) => file.write(2 * CHUNK + i, v));
    expect(fs.statSync(at).size).toBe(3 * CHUNK * dim * 4);
    rows.forEach((v, row) => expect(readRow(file, row)).toEqual(v));
    file.close();
  });

  it('a read the disk fails is STORAGE_FAULT naming the file and row', () => {
    const { files, broken } = faultyFiles();
    const { file } = opened(files);
    rows.forEach((v, row) => file.write(row, v));
    broken.value = true;
    expect(() => readRow(file, 3)).toThrow(expect.objectContaining({ code: 'STORAGE_FAULT', details: expect.objectContaining({ row: 3 }) }));
    expect(readRow(file, 3 * CHUNK + 1)).toEqual(rows[3 * CHUNK + 1]);   // still in memory
    file.close();
  });

  it('an erased row reads as zeros, on disk, held in memory or waiting; a refused erase is reported', () => {
    const { files, full } = faultyFiles();
    const { file, faults } = opened(files);
    rows.slice(0, CHUNK).forEach((v, row) => file.write(row, v));
    full.value = true;
    rows.slice(CHUNK, 2 * CHUNK + 3).forEach((v, i) => file.write(CHUNK + i, v));
    for (const row of [7, CHUNK + 7, 2 * CHUNK + 1]) {
      full.value = false;
      file.erase(row);
      expect(readRow(file, row)).toEqual(new Float32Array(dim));
    }
    expect(readRow(file, 8)).toEqual(rows[8]);
    full.value = true;
    file.erase(9);
    expect(faults.at(-1)).toMatchObject({ code: 'STORAGE_FAULT', message: expect.stringMatching(/erase row 9/) });
    file.close();
  });
});

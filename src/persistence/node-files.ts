// node:fs as the store directory's file operations.
import fs from 'node:fs';
import path from 'node:path';
import type { StoreFiles } from './files.js';

export const nodeFiles: StoreFiles = {
  openSync: (file, flags) => fs.openSync(file, flags),
  closeSync: (fd) => fs.closeSync(fd),
  writeSync: (fd, buffer, offset, length, position) => fs.writeSync(fd, buffer, offset, length, position),
  readSync: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  ftruncateSync: (fd, length) => fs.ftruncateSync(fd, length),
  sizeOf: (file) => fs.statSync(file).size,
  readdirSync: (dir) => fs.readdirSync(dir),
  mkdirSync: (dir) => {
    try {
      fs.mkdirSync(dir, { recursive: true });
    } catch (error) {
      // A recursive mkdir reports ENOENT for any failure (EROFS, EACCES): one plain try names the real one.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      fs.mkdirSync(dir);
    }
  },
  renameSync: (from, to) => fs.renameSync(from, to),
  unlinkSync: (file) => fs.unlinkSync(file),
  join: (dir, name) => path.join(dir, name),
};

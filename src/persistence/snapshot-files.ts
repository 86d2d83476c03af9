// A snapshot file written and read one block at a time, so that a store of any size (past the
// 4 GiB one buffer can hold) is checkpointed and reopened in about one block of memory beyond the
// store itself. The bytes are those of the one-buffer encoding: only the order of writing differs.
import { fsyncDirectory, type StoreFiles, writeAll } from './files.js';
import { SnapshotEncoder, type SnapshotSource, type SnapshotStream } from './format.js';

/**
 * Writes `name` durably, as writeDurably does (`name.tmp`, fsynced, renamed, the directory fsynced),
 * from a stream: the bytes before the blocks, then each block as the store yields it, then the
 * header and block table (known only once every block is encoded) over the file's first bytes.
 * Writing the header last in place, rather than the blocks to a second file first, encodes and
 * writes each block once and needs no second copy of the file.
 */
export function writeSnapshotDurably(files: StoreFiles, dir: string, name: string, stream: SnapshotStream): void {
  const snapshot = new SnapshotEncoder(stream);
  const tmp = files.join(dir, `${name}.tmp`);
  let fd = files.openSync(tmp, 'w');
  try {
    writeAll(files, fd, snapshot.prefix);
    for (const block of snapshot.blocks()) writeAll(files, fd, block);
  } finally {
    files.closeSync(fd);
  }
  fd = files.openSync(tmp, 'r+');
  try {
    writeAll(files, fd, snapshot.head());
    files.fsyncSync(fd);   // the whole file, both descriptors' writes
  } finally {
    files.closeSync(fd);
  }
  files.renameSync(tmp, files.join(dir, name));
  fsyncDirectory(files, dir);
}

/** A snapshot file as a source of positional reads; each read opens the file (the loader holds the directory's lock). */
export function fileSource(files: StoreFiles, file: string): SnapshotSource {
  return {
    size: files.sizeOf(file),
    read(offset, length) {
      const out = new Uint8Array(length);
      const fd = files.openSync(file, 'r');
      try {
        for (let at = 0; at < length; ) {
          const n = files.readSync(fd, out, at, length - at, offset + at);
          if (n === 0) return out.subarray(0, at);
          at += n;
        }
      } finally {
        files.closeSync(fd);
      }
      return out;
    },
  };
}

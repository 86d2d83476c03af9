// Stores and directories a test file opens, closed and removed after each test and after the file,
// so that a failing assertion never leaves a store open or a temporary directory behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach } from 'vitest';
import type { OVMemory } from '../../dist/index.js';

/** A temporary directory for this test file, removed after it; `freshDir()` names a new path inside. */
export function tempRoot(prefix: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  let n = 0;
  return { root, freshDir: () => path.join(root, `store-${n++}`) };
}

/** `track` keeps a store to close after the test; `release` closes one now. Call at the top of a test file. */
export function storeTracker() {
  const open: OVMemory[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
  });
  return {
    async track(memory: Promise<OVMemory>): Promise<OVMemory> {
      const m = await memory;
      open.push(m);
      return m;
    },
    async release(memory: OVMemory): Promise<void> {
      open.splice(open.indexOf(memory), 1);
      await memory.close();
    },
  };
}

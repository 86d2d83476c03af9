// Where `score` may write: never over one of its inputs (the same path once resolved, or the same file
// through another name: a link, a bind mount), and only into a directory that exists.
import { statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** What is wrong with writing `out`, in one line, or undefined when it may be written. */
export function checkOutputPath(out: string, inputs: readonly string[]): string | undefined {
  const target = path.resolve(out);
  const outStat = statOf(target);
  for (const input of inputs) {
    const inputStat = statOf(input);
    const sameFile = outStat !== undefined && inputStat !== undefined && outStat.dev === inputStat.dev && outStat.ino === inputStat.ino;
    if (path.resolve(input) === target || sameFile) return `--out ${out} is the input ${input}: refusing to overwrite it`;
  }
  if (outStat?.isDirectory()) return `--out ${out} is a directory`;
  const directory = statOf(path.dirname(target));
  if (!directory?.isDirectory()) return `--out ${out}: no directory ${path.dirname(out)}`;
  return undefined;
}

/** The file's status, or undefined for one that cannot be looked at (missing, ENOTDIR, EACCES). */
function statOf(file: string): Stats | undefined {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

// The store directory's lock: a `LOCK` file holding a record that names its owner beyond doubt —
// host, boot id, pid and the pid's start time (field 22 of /proc/PID/stat). Node has no flock, and
// a lock judged by mtime (proper-lockfile) is lost by a live owner that stalls past the staleness
// window; a bare pid is confused by PID reuse (a restarted container is PID 1 again) and zombies.
// A lock is stale when the machine rebooted since (boot id), when its process is gone or a zombie,
// or when the pid now belongs to a process started at another time. A lock of another host is
// never taken over: only its owner (or an operator) can tell whether it is still in use.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { LockedError } from '../resilience/errors.js';
import { LOCK } from './files.js';

export interface LockRecord {
  host: string;
  /** /proc/sys/kernel/random/boot_id; absent where the system has none. */
  bootId?: string;
  pid: number;
  /** Clock ticks after boot at which the process started; absent without /proc. */
  startTime?: number;
}

interface ProcessState { state: string; startTime: number }

/** State and start time of a process from /proc (undefined: no such process); null without /proc. */
export function processState(pid: number): ProcessState | undefined | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    return fs.existsSync('/proc/self/stat') ? undefined : null;
  }
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, startTime: Number(fields[19]) };
}

function bootId(): string | undefined {
  try {
    return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function currentLockRecord(): LockRecord {
  const own = processState(process.pid);
  return { host: os.hostname(), bootId: bootId(), pid: process.pid, startTime: own?.startTime };
}

/** Why a lock is stale, or undefined while its owner may still use it. */
export function staleReason(owner: LockRecord): string | undefined {
  const me = currentLockRecord();
  if (owner.bootId !== undefined && me.bootId !== undefined && owner.bootId !== me.bootId) return 'the machine has restarted since';
  const now = processState(owner.pid);
  const ended = endOf(owner.pid, now);
  if (ended !== undefined || !now) return ended;
  if (owner.startTime !== undefined && now.startTime !== owner.startTime) return `pid ${owner.pid} now belongs to another process`;
  return undefined;
}

/** How process `pid` ended, or undefined while it runs (without /proc: liveness only). */
function endOf(pid: number, now = processState(pid)): string | undefined {
  if (now === null) return alive(pid) ? undefined : `process ${pid} is gone`;
  if (now === undefined) return `process ${pid} is gone`;
  if (now.state === 'Z' || now.state === 'X') return `process ${pid} has exited (a zombie)`;
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text) as LockRecord;
    return typeof r.host === 'string' && Number.isInteger(r.pid) ? r : undefined;
  } catch {
    return undefined;
  }
}

const unique = () => `${process.pid}.${Math.random().toString(36).slice(2)}`;

function readIfPresent(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

const LEFTOVER = new RegExp(`^${LOCK}\\.(\\d+)\\.[^.]+\\.(?:tmp|stale)$`);
/** Held (a hard link to its holder's record) by the one process that may remove a stale LOCK. */
const TAKEOVER = `${LOCK}.takeover`;
/** How long a process waits for another's takeover of a stale lock, a few file operations, to end. */
const TAKEOVER_WAIT_MS = 2_000;

/** The `.tmp` and `.stale` files, and a takeover, of processes that died while taking the lock; a live one's are its own. */
function removeLeftovers(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const pid = Number(LEFTOVER.exec(name)?.[1] ?? NaN);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    if (endOf(pid) !== undefined) fs.rmSync(path.join(dir, name), { force: true });
  }
  const takeover = path.join(dir, TAKEOVER), taking = readIfPresent(takeover);
  if (taking !== undefined && isStale(taking)) removeIfStill(dir, takeover, taking);
}

/** Whether a lock record's process is gone (an unreadable record counts as gone: nobody can be using it). */
function isStale(text: string): boolean {
  const owner = parseRecord(text);
  return !owner || owner.host === os.hostname() && staleReason(owner) !== undefined;
}

/** Hard-links `from` as `to`; false when `to` exists. */
function linked(from: string, to: string): boolean {
  try {
    fs.linkSync(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** Removes `file` if it still holds `expected`: it is moved aside first, and put back if another process's record had taken its place. */
function removeIfStill(dir: string, file: string, expected: string): void {
  const aside = path.join(dir, `${LOCK}.${unique()}.stale`);
  try {
    fs.renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  if (fs.readFileSync(aside, 'utf8') !== expected) try { fs.linkSync(aside, file); } catch { /* a third process took it meanwhile */ }
  fs.rmSync(aside, { force: true });
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/** Throws LOCKED unless the record `held` in `file` is stale. */
function refuseUnlessStale(dir: string, file: string, held: string): void {
  const owner = parseRecord(held);
  if (!owner) throw new LockedError(`${dir} holds a lock file that is not an ov-memory lock record (${file}): remove it once no process uses the store`, { details: { dir, file } });
  const where = `process ${owner.pid} on host ${owner.host}`;
  if (owner.host !== os.hostname()) {
    throw new LockedError(`${dir} is in use by ${where} (${file}); a lock of another host is never taken over: remove it once that host no longer uses the store`, { details: { dir, file, ...owner } });
  }
  if (staleReason(owner) === undefined) {
    const who = owner.pid === process.pid ? 'this process (it is already open here)' : where;
    throw new LockedError(`${dir} is in use by ${who} (${file})`, { details: { dir, file, ...owner } });
  }
}

/**
 * Takes the lock of `dir` or throws LOCKED naming its owner; returns the release. The record is
 * written to a private file and hard-linked into place, so a LOCK is never seen half written. A
 * stale LOCK is removed only by the process that holds `LOCK.takeover` (taken the same way), and
 * only if it still holds the record found stale, so of several processes taking over one stale
 * lock exactly one gets it. (Moving a stale lock aside and checking it after, without a takeover,
 * could move a fresh one aside instead and let a third process's link in: two holders.) A takeover
 * left by a process that died holding it, a few file operations long, is moved aside and checked.
 */
export function acquireLock(dir: string): () => void {
  const file = path.join(dir, LOCK), takeover = path.join(dir, TAKEOVER);
  const text = JSON.stringify(currentLockRecord());
  const mine = path.join(dir, `${LOCK}.${unique()}.tmp`);
  const fd = fs.openSync(mine, 'wx');
  try { fs.writeFileSync(fd, text); fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  try {
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    let taking: string | undefined;
    for (;;) {
      if (linked(mine, file)) {
        removeLeftovers(dir);
        return () => { if (readIfPresent(file) === text) fs.rmSync(file, { force: true }); };
      }
      const held = readIfPresent(file);
      if (held !== undefined) {
        refuseUnlessStale(dir, file, held);
        if (linked(mine, takeover)) {
          // Nobody else may remove LOCK now, and no link replaces a file that exists: if it still holds
          // the record found stale (read before the takeover was ours), it is safe to drop.
          try {
            if (readIfPresent(file) === held) fs.rmSync(file, { force: true });
          } finally {
            if (readIfPresent(takeover) === text) fs.rmSync(takeover, { force: true });
          }
          continue;
        }
        taking = readIfPresent(takeover);
        if (taking !== undefined && isStale(taking)) removeIfStill(dir, takeover, taking);   // it died taking over
        else if (taking !== undefined) pause(1);
      }
      if (Date.now() > deadline) {
        const who = taking === undefined ? undefined : parseRecord(taking);
        const what = who ? `process ${who.pid} on host ${who.host} is taking over its stale lock and has not finished (${takeover})` : `other processes keep taking over its stale lock (${file})`;
        throw new LockedError(`${dir} could not be locked: ${what}`, { details: { dir, file, ...who } });
      }
    }
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

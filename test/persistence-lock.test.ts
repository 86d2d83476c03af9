// The store directory's lock: a record of host, boot id, pid and start time. Stale locks (a rebooted
// machine, a dead or zombie owner, a reused pid — PID 1 of a restarted container included) are taken
// over; a live owner, this process itself and another host's lock are LOCKED. Of processes racing
// to take over one stale lock exactly one gets it; what a racer that died leaves behind is swept.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OVMemory } from '../dist/index.js';
import { currentLockRecord, encodeSnapshot, processState, StoreDirectory } from '../dist/internal.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ov-memory-lock-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
let n = 0;
const children: ChildProcess[] = [];
const opened: StoreDirectory[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  for (const d of opened.splice(0)) d.close();
});

const initial = () => encodeSnapshot({ dim: 4, nextId: 0, focus: undefined, records: [], edges: [], vectors: new Float32Array(0) });
const open = (dir: string) => {
  const { directory } = StoreDirectory.open(dir, { durability: 'none', repair: false, groupCommitMs: 50, initial });
  opened.push(directory);
  return directory;
};
/** A store directory, closed, whose LOCK holds `record`. */
function lockedBy(record: unknown): string {
  const dir = path.join(root, `store-${n++}`);
  open(dir);
  opened.pop()!.close();
  fs.writeFileSync(path.join(dir, 'LOCK'), typeof record === 'string' ? record : JSON.stringify(record));
  return dir;
}
function lockError(dir: string): Error & { code?: string } {
  try {
    open(dir);
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected LOCKED');
}
const me = currentLockRecord();
const lines = (child: ChildProcess) => new Promise<string>((resolve) => {
  let text = '';
  child.stdout!.on('data', (chunk: Buffer) => { text += chunk.toString(); if (text.includes('\n')) resolve(text.trim()); });
  child.on('exit', () => resolve(text.trim()));
});

describe('the lock record', () => {
  it('names this process, with its boot id and start time from /proc', () => {
    expect(me).toEqual({ host: os.hostname(), bootId: fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), pid: process.pid, startTime: expect.any(Number) });
    // Field 22 of /proc/PID/stat, counted past the command name.
    expect(me.startTime).toBe(Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ')[19]));
  });

  it('a second open in the same process is LOCKED, and OVMemory.open says so too', async () => {
    const dir = path.join(root, `store-${n++}`);
    open(dir);
    expect(lockError(dir)).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(/in use by this process \(it is already open here\)/) });
    await expect(OVMemory.open(dir, { dim: 4 })).rejects.toMatchObject({ code: 'LOCKED' });
  });

  it('a live owner keeps it; a lock of another host is never taken over; an unreadable one is not guessed at', () => {
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    const live = { host: os.hostname(), bootId: me.bootId, pid: sleeper.pid, startTime: processState(sleeper.pid!)!.startTime };
    const cases: [unknown, RegExp][] = [
      [live, new RegExp(`in use by process ${sleeper.pid} on host ${os.hostname()}`)],
      [{ ...me, host: 'db-7.elsewhere' }, /in use by process \d+ on host db-7\.elsewhere .*never taken over/],
      ['12345', /not an ov-memory lock record/],
    ];
    for (const [record, message] of cases) {
      const dir = lockedBy(record);
      const before = fs.readFileSync(path.join(dir, 'LOCK'), 'utf8');
      expect(lockError(dir)).toMatchObject({ code: 'LOCKED', message: expect.stringMatching(message) });
      expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(before);
    }
  });

  it('a stale lock is taken over: another boot, a dead pid, a reused pid (this very pid in another process too)', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    for (const record of [
      { ...me, bootId: '00000000-0000-0000-0000-000000000000' },
      { ...me, pid: dead.pid },
      { ...me, pid: sleeper.pid, startTime: processState(sleeper.pid!)!.startTime - 1 },
      { ...me, startTime: me.startTime! - 1 },
    ]) {
      const dir = lockedBy(record);
      open(dir);
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'))).toEqual(me);
      opened.pop()!.close();
      expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
    }
  });

  it('a zombie owner is dead', async () => {
    // The inner shell waits on our pipe (fd 3: a background job's stdin is /dev/null); the outer shell execs sleep, which never reaps it. Once the
    // outer one is sleep, closing stdin ends the inner one: it stays a zombie.
    const parent = spawn('sh', ['-c', 'exec 3<&0; sh -c "read line <&3" & echo $!; exec sleep 60'], { stdio: ['pipe', 'pipe', 'ignore'] });
    children.push(parent);
    const zombie = Number(await lines(parent));
    const comm = () => fs.readFileSync(`/proc/${parent.pid}/comm`, 'utf8').trim();
    for (let tries = 0; comm() !== 'sleep' && tries < 1000; tries++) await new Promise((r) => setTimeout(r, 5));
    parent.stdin!.end();
    let state = processState(zombie);
    for (let tries = 0; state?.state !== 'Z' && tries < 1000; tries++) {
      await new Promise((r) => setTimeout(r, 5));
      state = processState(zombie);
    }
    expect(state?.state).toBe('Z');
    const dir = lockedBy({ ...me, pid: zombie, startTime: state!.startTime });
    open(dir);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).pid).toBe(process.pid);
  });

  it("opening a store leaves a live process's lock record in the making alone, and sweeps a dead one's", async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    const dir = lockedBy({ ...me, pid: dead.pid });
    const live = [`LOCK.${sleeper.pid}.k3x9.tmp`, `LOCK.${sleeper.pid}.p2q7.stale`];
    const leftovers = [`LOCK.${dead.pid}.a1b2.tmp`, `LOCK.${dead.pid}.c3d4.stale`];
    for (const name of [...live, ...leftovers]) fs.writeFileSync(path.join(dir, name), JSON.stringify(me));
    open(dir);
    const names = fs.readdirSync(dir);
    for (const name of live) expect(names, name).toContain(name);
    for (const name of leftovers) expect(names, name).not.toContain(name);
  });

  it('close() removes only its own lock', () => {
    const dir = path.join(root, `store-${n++}`);
    const directory = open(dir);
    const other = JSON.stringify({ ...me, host: 'someone-else' });
    fs.writeFileSync(path.join(dir, 'LOCK'), other);
    opened.pop();
    directory.close();
    expect(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8')).toBe(other);
  });
});

describe('taking over a stale lock', () => {
  it("a takeover left by a dead process is cleared; a live one's is waited for, and LOCKED if it never ends", async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const sleeper = spawn('sleep', ['60']);
    children.push(sleeper);
    const live = { ...me, pid: sleeper.pid, startTime: processState(sleeper.pid!)!.startTime };

    // Left beside the stale lock it was taking over, and beside none (the next owner closed since).
    for (const lock of [{ ...me, pid: dead.pid }, undefined]) {
      const left = lockedBy(lock ?? {});
      if (!lock) fs.rmSync(path.join(left, 'LOCK'));
      fs.writeFileSync(path.join(left, 'LOCK.takeover'), JSON.stringify({ ...me, pid: dead.pid }));
      open(left);
      expect(JSON.parse(fs.readFileSync(path.join(left, 'LOCK'), 'utf8'))).toEqual(me);
      expect(fs.existsSync(path.join(left, 'LOCK.takeover'))).toBe(false);
      opened.pop()!.close();
    }

    // A live process's takeover that ends (here: removed 300 ms on) is waited for.
    const waited = lockedBy({ ...me, pid: dead.pid });
    fs.writeFileSync(path.join(waited, 'LOCK.takeover'), JSON.stringify(live));
    const remover = spawn('sh', ['-c', `sleep 0.3; rm ${path.join(waited, 'LOCK.takeover')}`]);
    children.push(remover);
    open(waited);
    expect(JSON.parse(fs.readFileSync(path.join(waited, 'LOCK'), 'utf8'))).toEqual(me);

    // One that never ends: LOCKED after a while, the stale lock left as it was.
    const stuck = lockedBy({ ...me, pid: dead.pid });
    fs.writeFileSync(path.join(stuck, 'LOCK.takeover'), JSON.stringify(live));
    const error = lockError(stuck);
    expect(error.code).toBe('LOCKED');
    expect(error.message).toContain(`process ${sleeper.pid} on host ${os.hostname()} is taking over its stale lock and has not finished`);
    expect(JSON.parse(fs.readFileSync(path.join(stuck, 'LOCK'), 'utf8')).pid).toBe(dead.pid);
  });
});

describe('processes racing for one stale lock', () => {
  it('exactly one takes it over, round after round, with no other error', async () => {
    const dead = spawn(process.execPath, ['-e', '0']);
    await new Promise((r) => dead.on('exit', r));
    const race = path.join(root, `race-${n++}`), rounds = 150, racers = 8;
    for (let round = 0; round < rounds; round++) {
      fs.mkdirSync(path.join(race, `round-${round}`), { recursive: true });
      fs.writeFileSync(path.join(race, `round-${round}`, 'LOCK'), JSON.stringify({ ...me, pid: dead.pid }));
    }
    const startAt = Date.now() + 2000;
    const fixture = path.join(__dirname, 'fixtures/lock-racer.mjs');
    // Each racer holds what it won until every racer is done: an exited one's locks are stale.
    const started = Array.from({ length: racers }, () => spawn(process.execPath, [fixture, race, String(rounds), String(startAt), '15'], { stdio: ['pipe', 'pipe', 'inherit'] }));
    children.push(...started);
    const outputs = await Promise.all(started.map((racer) => {
      let text = '';
      return new Promise<string>((resolve) => {
        racer.stdout!.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text.endsWith('done\n')) resolve(text);
        });
        racer.on('exit', () => resolve(text));   // a racer that failed to run: its lines say so
      });
    }));
    for (const racer of started) racer.stdin!.end();
    const lines = outputs.flatMap((text) => text.trim().split('\n'));
    expect(lines.filter((line) => line === 'done')).toHaveLength(racers);
    expect(lines.filter((line) => line.startsWith('error'))).toEqual([]);
    const winners = Array.from({ length: rounds }, (_, round) => lines.filter((line) => line === `won ${round}`).length);
    expect(winners).toEqual(new Array(rounds).fill(1));
  });
});

const canUnshare = (() => {
  try {
    execFileSync('unshare', ['-fp', '--mount-proc', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('PID 1 (a restarted container)', () => {
  if (!canUnshare) it.skip('needs `unshare -fp --mount-proc` (root, or user namespaces): skipped', () => {});
  (canUnshare ? it : it.skip)('a store held by a SIGKILLed PID 1 opens again from another PID 1', async () => {
    const dir = path.join(root, `store-${n++}`);
    const fixture = path.join(__dirname, 'fixtures/lock-holder.mjs');
    const holder = spawn('unshare', ['-fp', '--mount-proc', process.execPath, fixture, dir, 'hold'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(holder);
    expect(await lines(holder)).toBe('holding as pid 1');
    // unshare forked the namespace's PID 1: kill that process, by its pid out here.
    const pid1 = Number(fs.readFileSync(`/proc/${holder.pid}/task/${holder.pid}/children`, 'utf8').trim());
    process.kill(pid1, 'SIGKILL');
    await new Promise((r) => holder.on('exit', r));
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8'))).toMatchObject({ host: os.hostname(), pid: 1 });
    const next = spawn('unshare', ['-fp', '--mount-proc', process.execPath, fixture, dir, 'reopen'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(next);
    expect(await lines(next)).toBe('reopened as pid 1');
    expect(fs.existsSync(path.join(dir, 'LOCK'))).toBe(false);
  });
});

// Child processes of a shared store (test/fixtures/pg-writer.mjs), read line by line as JSON, and the
// model of the acknowledged writes the tests hold every replica and the database to.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach } from 'vitest';
import type { MemoryView } from './postgres.js';

const WRITER = path.resolve(import.meta.dirname, '../fixtures/pg-writer.mjs');

export interface Ack { seq: number; op: 'add' | 'update' | 'remove' | 'link'; id?: number; text?: string; weight?: number; metadata?: Record<string, unknown>; key?: string }

export class Child {
  readonly lines: Record<string, unknown>[] = [];
  readonly process: ChildProcess;
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];
  stderr = '';

  constructor(args: string[]) {
    this.process = spawn(process.execPath, [WRITER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.process.stderr!.on('data', (d) => { this.stderr += String(d); });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.lines.push(JSON.parse(line));
      for (const w of this.#waiters.splice(0)) w();
    });
    this.exited = new Promise((resolve) => this.process.on('exit', (code) => { for (const w of this.#waiters.splice(0)) w(); resolve(code); }));
  }

  /** The first line (from `from` on) that `match` accepts, within a bounded time. */
  async line(match: (line: Record<string, unknown>) => boolean, from = 0, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(match);
      if (found) return found;
      const failure = this.lines.find((l) => 'failure' in l);
      if (failure) throw new Error(`the child failed: ${String(failure.failure)}`);
      if (this.process.exitCode !== null || Date.now() > end) throw new Error(`no such line from the child (exit ${this.process.exitCode}): ${this.stderr}`);
      await new Promise<void>((resolve) => { this.#waiters.push(resolve); setTimeout(resolve, 200); });
    }
  }

  acks(): Ack[] {
    return this.lines.filter((l) => typeof l.seq === 'number' && typeof l.op === 'string') as unknown as Ack[];
  }

  /** Its replica once it has applied change `seq`. */
  async dump(seq: number): Promise<{ seq: number; view: MemoryView[]; replication: Record<string, unknown>; health: string }> {
    const from = this.lines.length;
    this.process.stdin!.write(`dump ${seq}\n`);
    return (await this.line((l) => 'view' in l, from)) as never;
  }

  async close(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    this.process.stdin!.write('close\n');
    await this.exited;
  }
}

/** Children started in a test, killed after it if still running. */
export function childTracker() {
  const running: Child[] = [];
  afterEach(() => {
    for (const c of running.splice(0)) if (c.process.exitCode === null) c.process.kill('SIGKILL');
  });
  return (args: string[]) => {
    const child = new Child(args);
    running.push(child);
    return child;
  };
}

/**
 * The store the acknowledged writes make when applied in the order of their sequences: live ids
 * with text, weight, metadata and key. Also checks what must hold of the acknowledgements
 * themselves: one write per sequence, and ids increasing with the sequence.
 */
export function modelOf(acks: Ack[]): { model: Map<number, Pick<MemoryView, 'text' | 'weight' | 'metadata' | 'key'>>; problems: string[] } {
  const problems: string[] = [];
  const sorted = [...acks].sort((a, b) => a.seq - b.seq);
  const model = new Map<number, Pick<MemoryView, 'text' | 'weight' | 'metadata' | 'key'>>();
  let lastAdd = -1;
  sorted.forEach((a, i) => {
    if (i > 0 && sorted[i - 1]!.seq === a.seq) problems.push(`two writes acknowledged at sequence ${a.seq}`);
    if (a.op === 'add') {
      if (a.id! <= lastAdd) problems.push(`add ${a.id} at sequence ${a.seq} after add ${lastAdd}`);
      lastAdd = a.id!;
      model.set(a.id!, { text: a.text!, weight: a.weight!, metadata: a.metadata!, key: a.key });
    } else if (a.op === 'update') {
      const m = model.get(a.id!);
      if (!m) problems.push(`update of ${a.id} at sequence ${a.seq}, which the model does not hold`);
      else Object.assign(m, { weight: a.weight, metadata: a.metadata });
    } else if (a.op === 'remove') {
      if (!model.delete(a.id!)) problems.push(`removal of ${a.id} at sequence ${a.seq}, which the model does not hold`);
    }
  });
  return { model, problems };
}

export const projection = (memories: MemoryView[]) => new Map(memories.map((m) => [m.id, { text: m.text, weight: m.weight, metadata: m.metadata, key: m.key }]));

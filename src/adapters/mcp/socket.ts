// The local socket between the process that holds a store and the others on the same directory:
// newline-delimited JSON, `{ id, tool, args }` in and `{ id, answer }` out. The socket lives in the
// store's directory (a Unix socket, reachable only by who may read the store), or under the system's
// temporary folder when that path is too long for one.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import type { ToolAnswer, ToolCaller } from './executor.js';
import type { ToolName } from './schemas.js';

/** A longer line than this is a broken peer, not a call: its connection is dropped. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** sun_path holds 108 bytes on Linux, 104 on macOS. */
const MAX_SOCKET_PATH = 100;

export function socketPath(dir: string): string {
  const inside = path.join(path.resolve(dir), 'mcp.sock');
  if (process.platform === 'win32') return `\\\\.\\pipe\\ov-memory-${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 24)}`;
  if (Buffer.byteLength(inside) <= MAX_SOCKET_PATH) return inside;
  return path.join(os.tmpdir(), `ov-memory-${createHash('sha256').update(path.resolve(dir)).digest('hex').slice(0, 24)}.sock`);
}

/** Calls each complete line of a stream with its parsed JSON; a malformed or oversized line ends the connection. */
function onLines(socket: net.Socket, handle: (message: Record<string, unknown>) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    if (buffered.length > MAX_LINE_BYTES) return void socket.destroy();
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      let message: unknown;
      try {
        message = JSON.parse(line);
      } catch {
        return void socket.destroy();
      }
      if (message !== null && typeof message === 'object') handle(message as Record<string, unknown>);
    }
  });
}

/** The owner's end: serves every connection's calls through `executor`. The caller holds the store's lock. */
export async function listen(file: string, executor: ToolCaller): Promise<{ close(): Promise<void> }> {
  // A socket file left by an owner that was killed: the lock is ours now, and so is the name.
  if (process.platform !== 'win32') fs.rmSync(file, { force: true });
  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    socket.on('error', () => socket.destroy());
    onLines(socket, async ({ id, tool, args }) => {
      const answer = await executor.call(tool as ToolName, args);
      if (!socket.destroyed) socket.write(`${JSON.stringify({ id, answer })}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(file, () => {
      server.off('error', reject);
      resolve();
    });
  });
  if (process.platform !== 'win32') fs.chmodSync(file, 0o600);
  return {
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of connections) socket.destroy();
    }),
  };
}

/** What became of a forwarded call: its answer, or lost with the connection (`sent`: the owner may have run it). */
export type Forwarded = { answer: ToolAnswer } | { lost: true; sent: boolean };

/** A follower's end: one connection to the owner. `onClose` runs once, when the owner goes away. */
export class OwnerLink {
  #next = 0;
  #pending = new Map<number, (result: Forwarded) => void>();
  #closed = false;

  private constructor(private readonly socket: net.Socket, onClose: () => void) {
    onLines(socket, ({ id, answer }) => {
      const resolve = this.#pending.get(Number(id));
      this.#pending.delete(Number(id));
      resolve?.({ answer: answer as ToolAnswer });
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.#closed = true;
      for (const resolve of this.#pending.values()) resolve({ lost: true, sent: true });
      this.#pending.clear();
      onClose();
    });
  }

  /** Connects, or rejects (ENOENT, ECONNREFUSED) while no owner listens. */
  static connect(file: string, onClose: () => void): Promise<OwnerLink> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(file);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new OwnerLink(socket, onClose));
      });
    });
  }

  send(tool: ToolName, args: unknown): Promise<Forwarded> {
    if (this.#closed) return Promise.resolve({ lost: true, sent: false });
    const id = this.#next++;
    return new Promise((resolve) => {
      this.#pending.set(id, resolve);
      this.socket.write(`${JSON.stringify({ id, tool, args })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

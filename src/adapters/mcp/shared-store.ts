// Several MCP server processes, one store directory, one writer. The first process to open the
// store holds its lock and serves the others over a local socket; a process that finds the store
// LOCKED forwards its calls there. When the owner goes away, the followers race to open the store:
// one wins the lock (a dead owner's lock is stale) and starts serving, the rest connect to it.
// A call the owner received but never answered is repeated by the next owner only when its tool is
// idempotent; any other comes back CLOSED, since it may or may not have been applied.
import { OVMemory, OVMemoryError } from 'ov-memory';
import type { Embedder, OVMemoryOptions } from 'ov-memory';

import { LocalExecutor, type ToolAnswer, type ToolCaller } from './executor.js';
import { TOOL_SHAPES, type ToolName } from './schemas.js';
import { listen, OwnerLink, socketPath } from './socket.js';

export interface SharedStoreOptions {
  dir: string;
  embedder: Embedder;
  /** Options for OVMemory.open (the embedder and its dimension are set from `embedder`). */
  store?: Partial<OVMemoryOptions>;
  /** How long to wait for the lock's owner to listen (it may be starting, or handing over). @default 30000 */
  connectTimeoutMs?: number;
  /** Told when this process becomes the owner or a follower. */
  onRole?: (role: 'owner' | 'follower') => void;
}

type State =
  | { role: 'owner'; memory: OVMemory; executor: LocalExecutor; listener: { close(): Promise<void> } }
  | { role: 'follower'; link: OwnerLink };

const RETRY_MS = 25;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SharedStore implements ToolCaller {
  #state: Promise<State>;
  #closed = false;
  readonly socket: string;

  private constructor(private readonly options: SharedStoreOptions) {
    this.socket = socketPath(options.dir);
    this.#state = this.#acquire();
  }

  /** Opens the store, or connects to the process that has it open; rejects as the store would (LOCKED after the timeout). */
  static async open(options: SharedStoreOptions): Promise<SharedStore> {
    const shared = new SharedStore(options);
    await shared.#state;
    return shared;
  }

  /** 'owner' while this process holds the store. */
  async role(): Promise<'owner' | 'follower'> {
    return (await this.#state).role;
  }

  async call(tool: ToolName, args: unknown): Promise<ToolAnswer> {
    for (;;) {
      if (this.#closed) return { ok: false, code: 'CLOSED', message: 'the MCP server is shutting down' };
      let state: State;
      const current = this.#state;
      try {
        state = await current;
      } catch (error) {
        // This call fails with it; the next one tries again (the owner may be back by then).
        if (this.#state === current) this.#retry();
        return error instanceof OVMemoryError ? { ok: false, code: error.code, message: error.message } : { ok: false, code: 'INTERNAL', message: String(error) };
      }
      if (state.role === 'owner') return state.executor.call(tool, args);
      const forwarded = await state.link.send(tool, args);
      if ('answer' in forwarded) return forwarded.answer;
      const shape = TOOL_SHAPES[tool];
      if (forwarded.sent && !shape.annotations.idempotentHint && !shape.annotations.readOnlyHint) {
        return { ok: false, code: 'CLOSED', message: `the process that held the store exited before answering this ${tool}: it may or may not have been applied` };
      }
      // Lost before the owner could run it, or safe to repeat: the next owner answers it.
    }
  }

  /** Closes the store (an owner stops serving first, so its followers take over) or the link. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let state: State;
    try {
      state = await this.#state;
    } catch {
      return;
    }
    if (state.role === 'follower') return state.link.close();
    await state.listener.close();
    await state.memory.close();
  }

  async #acquire(): Promise<State> {
    const deadline = Date.now() + (this.options.connectTimeoutMs ?? 30_000);
    let lastLocked: unknown;
    while (!this.#closed) {
      try {
        return await this.#own();
      } catch (error) {
        if (!(error instanceof OVMemoryError) || error.code !== 'LOCKED') throw error;
        lastLocked = error;
      }
      try {
        const link = await OwnerLink.connect(this.socket, () => this.#ownerGone());
        this.options.onRole?.('follower');
        return { role: 'follower', link };
      } catch {
        // The owner is starting or handing over, or it is not an MCP server (it never listens).
      }
      if (Date.now() > deadline) {
        throw new OVMemoryError('LOCKED', `${(lastLocked as Error).message}; no MCP server of that process answered on ${this.socket}`, { cause: lastLocked });
      }
      await sleep(RETRY_MS);
    }
    throw new OVMemoryError('CLOSED', 'the MCP server is shutting down');
  }

  async #own(): Promise<State> {
    const { dir, embedder, store } = this.options;
    const memory = await OVMemory.open(dir, { ...store, embedder, dim: embedder.dim });
    try {
      const executor = new LocalExecutor(memory, embedder);
      const listener = await listen(this.socket, executor);
      this.options.onRole?.('owner');
      return { role: 'owner', memory, executor, listener };
    } catch (error) {
      await memory.close();
      throw error;
    }
  }

  #ownerGone(): void {
    this.#retry();
  }

  #retry(): void {
    if (this.#closed) return;
    const next = this.#acquire();
    this.#state = next;
    // A failure is answered to the calls that wait on it; an unobserved one must not end the process.
    next.catch(() => undefined);
  }
}

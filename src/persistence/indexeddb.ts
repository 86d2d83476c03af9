// A store's folder in IndexedDB, for browsers whose workers have no synchronous OPFS handles. A
// file is a run of chunks keyed [store, file, offset] in one object store; a log append adds one
// chunk in a transaction of its own (all or nothing, so a failed append leaves nothing to cut
// back); renames, truncations and whole-file writes are single transactions too. `flush` commits a
// transaction with strict durability, which syncs the database's own log with the appends before it.
import type { LogFile, StoreFolder } from './folder.js';

const DATABASE = 'ov-memory', CHUNKS = 'chunks';

interface Chunk { store: string; file: string; offset: number; bytes: Uint8Array }

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
}

function done(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new DOMException('the transaction was aborted', 'AbortError'));
  });
}

export function indexedDbAvailable(): boolean {
  return typeof indexedDB !== 'undefined';
}

async function openDatabase(): Promise<IDBDatabase> {
  const r = indexedDB.open(DATABASE, 1);
  r.onupgradeneeded = () => r.result.createObjectStore(CHUNKS, { keyPath: ['store', 'file', 'offset'] });
  return request(r);
}

export async function indexedDbFolder(store: string): Promise<StoreFolder> {
  const db = await openDatabase();
  const fileRange = (file: string, from = 0) => IDBKeyRange.bound([store, file, from], [store, file, Number.MAX_VALUE]);
  const transaction = (strict = true) => db.transaction(CHUNKS, 'readwrite', { durability: strict ? 'strict' : 'relaxed' });
  const chunksOf = (tx: IDBTransaction, file: string) => request(tx.objectStore(CHUNKS).getAll(fileRange(file)) as IDBRequest<Chunk[]>);

  const truncate = async (file: string, length: number) => {
    const tx = transaction();
    const chunks = tx.objectStore(CHUNKS);
    for (const chunk of await chunksOf(tx, file)) {
      if (chunk.offset + chunk.bytes.length <= length) continue;
      chunks.delete([store, file, chunk.offset]);
      if (chunk.offset < length) chunks.put({ ...chunk, bytes: chunk.bytes.slice(0, length - chunk.offset) });
    }
    await done(tx);
  };

  return {
    where: 'IndexedDB',
    async names() {
      const keys = await request(db.transaction(CHUNKS).objectStore(CHUNKS).getAllKeys(IDBKeyRange.bound([store, ''], [store, '\uffff'])));
      return [...new Set(keys.map((key) => (key as [string, string, number])[1]))];
    },
    async read(file) {
      const chunks = await chunksOf(db.transaction(CHUNKS), file);
      const out = new Uint8Array(chunks.reduce((end, c) => Math.max(end, c.offset + c.bytes.length), 0));
      for (const chunk of chunks) out.set(chunk.bytes, chunk.offset);
      return out;
    },
    async writeWhole(file, bytes) {
      const tx = transaction();
      tx.objectStore(CHUNKS).delete(fileRange(file));
      tx.objectStore(CHUNKS).put({ store, file, offset: 0, bytes } satisfies Chunk);
      await done(tx);
    },
    truncate,
    async rename(from, to) {
      const tx = transaction();
      const chunks = await chunksOf(tx, from);
      tx.objectStore(CHUNKS).delete(fileRange(from));
      tx.objectStore(CHUNKS).delete(fileRange(to));
      for (const chunk of chunks) tx.objectStore(CHUNKS).put({ ...chunk, file: to });
      await done(tx);
    },
    async remove(file) {
      const tx = transaction();
      tx.objectStore(CHUNKS).delete(fileRange(file));
      await done(tx);
    },
    async openLog(file): Promise<LogFile> {
      return {
        async write(bytes, at) {
          const tx = transaction(false);
          tx.objectStore(CHUNKS).put({ store, file, offset: at, bytes } satisfies Chunk);
          await done(tx);
        },
        async flush() {
          const tx = transaction(true);
          tx.objectStore(CHUNKS).delete(fileRange(file, Number.MAX_VALUE));   // nothing: the commit is what syncs
          await done(tx);
        },
        truncate: (length) => truncate(file, length),
        close: () => undefined,
      };
    },
  };
}

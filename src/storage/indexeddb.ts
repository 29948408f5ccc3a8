import { del, get, keys, promisifyRequest, set, type UseStore } from "idb-keyval";
import { StorageBackendError, StorageQuotaError, checkChanges, checkKey, checkValue, type Storage, type StorageChange } from "./index.js";

/** Options of an {@link IndexedDbStorage}. */
export interface IndexedDbStorageOptions {
  /**
   * Largest value in bytes. Defaults to 2^31 − 1 (the largest typed array): IndexedDB has no
   * per-value limit of its own; the origin's quota bounds what fits ({@link StorageQuotaError}).
   */
  maxValueBytes?: number;
}

/** The backend's error as a typed one: a full origin gives {@link StorageQuotaError}. */
function backendError(err: unknown): Error {
  if (err instanceof DOMException && err.name === "QuotaExceededError") return new StorageQuotaError(`IndexedDB quota exceeded: ${err.message}`, { cause: err });
  if (err instanceof DOMException) return new StorageBackendError(`IndexedDB: ${err.name}: ${err.message}`, { cause: err });
  return err as Error;
}

/**
 * IndexedDB {@link Storage} (browsers, Workers) on idb-keyval: one object store per
 * instance. Values are stored as `Uint8Array`s (structured clone). Writes run in
 * transactions with `durability: "strict"`, so a resolved write has been flushed to disk
 * (Chromium otherwise may report success before it has).
 */
export class IndexedDbStorage implements Storage {
  readonly #store: UseStore;
  readonly #db: Promise<IDBDatabase>;
  readonly maxValueBytes: number;

  /**
   * @param dbName IndexedDB database name. Defaults to `"clawft"`.
   * @param storeName object store name. Defaults to `"kv"`.
   */
  constructor(
    dbName = "clawft",
    readonly storeName = "kv",
    options: IndexedDbStorageOptions = {},
  ) {
    this.maxValueBytes = options.maxValueBytes ?? 2 ** 31 - 1;
    // idb-keyval's createStore, with strict durability for writes.
    const request = indexedDB.open(dbName);
    request.onupgradeneeded = () => request.result.createObjectStore(storeName);
    this.#db = promisifyRequest(request);
    this.#store = (mode, callback) =>
      this.#db.then((db) => callback(db.transaction(storeName, mode, { durability: mode === "readwrite" ? "strict" : "default" }).objectStore(storeName)));
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await get<Uint8Array>(checkKey(key), this.#store).catch((e: unknown) => Promise.reject(backendError(e)));
    return v === undefined ? undefined : new Uint8Array(v);
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    checkValue(checkKey(key), value, this.maxValueBytes);
    await set(key, value.slice(), this.#store).catch((e: unknown) => Promise.reject(backendError(e)));
  }

  async delete(key: string): Promise<void> {
    await del(checkKey(key), this.#store).catch((e: unknown) => Promise.reject(backendError(e)));
  }

  /** One readwrite transaction: all changes or (on an error, e.g. the quota) none. */
  async commit(changes: readonly StorageChange[]): Promise<void> {
    checkChanges(changes, this.maxValueBytes);
    await this.#store("readwrite", (store) => {
      for (const [key, value] of changes) {
        if (value) store.put(value.slice(), key);
        else store.delete(key);
      }
      return promisifyRequest(store.transaction);
    }).catch((e: unknown) => Promise.reject(backendError(e)));
  }

  async keys(prefix = ""): Promise<string[]> {
    const all = await keys<IDBValidKey>(this.#store).catch((e: unknown) => Promise.reject(backendError(e)));
    return all.filter((k): k is string => typeof k === "string" && k.startsWith(prefix));
  }

  /** Closes the database connection (other instances on the same database are not affected). */
  async close(): Promise<void> {
    (await this.#db).close();
  }
}

import { createStore, get, set, del, keys, type UseStore } from "idb-keyval";
import { checkKey, type Storage } from "./index.js";

/**
 * IndexedDB {@link Storage} (browsers, Workers) on idb-keyval: one object store per
 * instance. Values are stored as `Uint8Array`s (structured clone).
 */
export class IndexedDbStorage implements Storage {
  readonly #store: UseStore;

  /**
   * @param dbName IndexedDB database name. Defaults to `"clawft"`.
   * @param storeName object store name. Defaults to `"kv"`.
   */
  constructor(dbName = "clawft", storeName = "kv") {
    this.#store = createStore(dbName, storeName);
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = await get<Uint8Array>(checkKey(key), this.#store);
    return v === undefined ? undefined : new Uint8Array(v);
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    await set(checkKey(key), value.slice(), this.#store);
  }

  async delete(key: string): Promise<void> {
    await del(checkKey(key), this.#store);
  }

  async keys(prefix = ""): Promise<string[]> {
    const all = await keys<IDBValidKey>(this.#store);
    return all.filter((k): k is string => typeof k === "string" && k.startsWith(prefix));
  }

  async close(): Promise<void> {}
}

import { checkChanges, checkKey, checkValue, type Storage, type StorageChange } from "./index.js";

/** Options of a {@link MemoryStorage}. */
export interface MemoryStorageOptions {
  /** Largest value in bytes. Defaults to 2^31 − 1, the largest typed array every engine makes. */
  maxValueBytes?: number;
}

/** In-memory {@link Storage}: the default for embedded runs and tests; nothing survives the process. */
export class MemoryStorage implements Storage {
  readonly #map = new Map<string, Uint8Array>();
  readonly maxValueBytes: number;
  /** Nothing survives the process: writers need not wait for this storage to acknowledge. */
  readonly volatile: boolean = true;

  constructor(options: MemoryStorageOptions = {}) {
    this.maxValueBytes = options.maxValueBytes ?? 2 ** 31 - 1;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.#map.get(checkKey(key));
    return v && v.slice();
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    this.#map.set(checkKey(key), checkValue(key, value, this.maxValueBytes).slice());
  }

  async delete(key: string): Promise<void> {
    this.#map.delete(checkKey(key));
  }

  /** Applies the changes in order, all at once (nothing else runs in between). */
  async commit(changes: readonly StorageChange[]): Promise<void> {
    checkChanges(changes, this.maxValueBytes);
    for (const [key, value] of changes) {
      if (value) this.#map.set(key, value.slice());
      else this.#map.delete(key);
    }
  }

  async keys(prefix = ""): Promise<string[]> {
    return [...this.#map.keys()].filter((k) => k.startsWith(prefix));
  }

  async close(): Promise<void> {
    this.#map.clear();
  }
}

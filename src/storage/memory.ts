import { checkKey, type Storage } from "./index.js";

/** In-memory {@link Storage}: the default for embedded runs and tests; nothing survives the process. */
export class MemoryStorage implements Storage {
  readonly #map = new Map<string, Uint8Array>();

  async get(key: string): Promise<Uint8Array | undefined> {
    const v = this.#map.get(checkKey(key));
    return v && v.slice();
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    this.#map.set(checkKey(key), value.slice());
  }

  async delete(key: string): Promise<void> {
    this.#map.delete(checkKey(key));
  }

  async keys(prefix = ""): Promise<string[]> {
    return [...this.#map.keys()].filter((k) => k.startsWith(prefix));
  }

  async close(): Promise<void> {
    this.#map.clear();
  }
}

/**
 * Storage failures on demand, for persistence tests: a MemoryStorage whose `set` throws
 * "disk full" whenever `fails(n)` holds (`n`: the 1-based count of `set` calls so far).
 * Writes that fail store nothing; the rest behave as MemoryStorage's.
 */
import { MemoryStorage, type Storage } from "../../src/storage/index.js";

export function flakyStorage(fails: (n: number) => boolean): Storage {
  const storage = new MemoryStorage();
  let writes = 0;
  return {
    get: (k) => storage.get(k),
    keys: (p) => storage.keys(p),
    delete: (k) => storage.delete(k),
    close: () => storage.close(),
    set: async (k, v) => {
      if (fails(++writes)) throw new Error("disk full");
      return storage.set(k, v);
    },
  };
}

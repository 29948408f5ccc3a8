// Storage failures on demand, for the CLP persistence tests.
import { MemoryStorage, type Storage } from "../../src/storage/index.js";

/**
 * A MemoryStorage whose `set` throws `Error("disk full")` whenever `fails(n)` holds (`n`: the
 * 1-based count of `set` calls so far, failed ones included). A failed write stores nothing;
 * `get`, `keys`, `delete` and `close` behave as MemoryStorage's.
 */
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

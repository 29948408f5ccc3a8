/**
 * One small storage interface for every piece of state clawft persists (relay params, HNSW
 * snapshots, CLP state and event logs), with adapters for memory, the file system,
 * IndexedDB and Redis. Cores never know where their bytes went (architecture principle 5).
 * @module
 */

/**
 * A key → bytes store. Keys are non-empty strings (use `/`-separated prefixes to group);
 * values are opaque byte strings. Every adapter copies values in and out, so callers may
 * reuse their buffers.
 */
export interface Storage {
  /** Reads the bytes stored under `key`, or `undefined` when there are none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores `value` under `key`, replacing what was there. When the promise resolves the
   * write is durable as far as the backend offers (file system: fsync'd and renamed into
   * place, so a crash leaves either the old or the new value, never a torn one).
   */
  set(key: string, value: Uint8Array): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /** Lists the keys that start with `prefix` (all keys when omitted), in no set order. */
  keys(prefix?: string): Promise<string[]>;
  /** Releases connections and handles; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** Thrown for a key no adapter can store (empty, or not a string). */
export class StorageKeyError extends TypeError {
  override name = "StorageKeyError";
}

/** Checks a key; throws {@link StorageKeyError} when it is not a non-empty string. */
export function checkKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new StorageKeyError(`storage key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  return key;
}

export { MemoryStorage } from "./memory.js";

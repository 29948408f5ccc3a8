/**
 * One small storage interface for every piece of state clawft persists (relay params, HNSW
 * snapshots, CLP state and event logs), with adapters for memory, the file system,
 * IndexedDB, localStorage, Redis and PostgreSQL (docs/storage.md). Cores never know where
 * their bytes went (architecture principle 5).
 * @module
 */

/** One change of a {@link Storage.commit}: bytes to store under `key`, or null to delete it. */
export type StorageChange = readonly [key: string, value: Uint8Array | null];

/**
 * A key → bytes store. Keys are non-empty strings (use `/`-separated prefixes to group);
 * values are opaque byte strings of at most {@link Storage.maxValueBytes} bytes. Every
 * adapter copies values in and out, so callers may reuse their buffers.
 */
export interface Storage {
  /**
   * Largest value in bytes this adapter stores (each of clawft's adapters has one and says
   * where it comes from); `set` and `commit` reject larger values with
   * {@link StorageValueTooLargeError} before anything is written. Optional for storages
   * written elsewhere.
   */
  readonly maxValueBytes?: number;
  /**
   * True when nothing stored survives the process (MemoryStorage): there is nothing to wait
   * for, so the relay acknowledges without waiting for such a storage. Omitted: false.
   */
  readonly volatile?: boolean;
  /** Reads the bytes stored under `key`, or `undefined` when there are none. */
  get(key: string): Promise<Uint8Array | undefined>;
  /**
   * Stores `value` under `key`, replacing what was there. When the promise resolves the
   * write is durable as far as the backend offers (file system: fsync'd and renamed into
   * place, so a crash leaves either the old or the new value, never a torn one).
   * @throws StorageKeyError for a bad key; StorageValueTooLargeError past the limit
   */
  set(key: string, value: Uint8Array): Promise<void>;
  /** Removes `key`; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
  /**
   * Applies several changes as one commit, the way the backend groups writes (one
   * directory fsync, one Redis MULTI, one SQL or IndexedDB transaction); resolves once every
   * change is as durable as a resolved `set`. Keys and sizes are checked first: a bad change
   * rejects the whole commit with nothing written. Whether a crash can leave part of a commit
   * applied is the adapter's to say (file system: yes, each file is still whole). Optional
   * for storages written elsewhere: {@link commitChanges} falls back to `set`/`delete`.
   */
  commit?(changes: readonly StorageChange[]): Promise<void>;
  /** Lists the keys that start with `prefix` (all keys when omitted), in no set order. */
  keys(prefix?: string): Promise<string[]>;
  /** Releases connections and handles; the store is unusable afterwards. */
  close(): Promise<void>;
}

/** Thrown for a key no adapter can store (empty, or not a string). */
export class StorageKeyError extends TypeError {
  override name = "StorageKeyError";
}

/** Thrown by `set`/`commit` for a value larger than the adapter's {@link Storage.maxValueBytes}. */
export class StorageValueTooLargeError extends RangeError {
  override name = "StorageValueTooLargeError";
  constructor(
    readonly key: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`storage value for ${JSON.stringify(key.slice(0, 80))} is ${bytes} bytes; this storage holds at most ${limit}`);
  }
}

/**
 * Thrown when the backend itself refuses or cannot be reached (a full localStorage quota, a
 * PostgreSQL connection that fails); `cause` holds the backend's own error.
 */
export class StorageBackendError extends Error {
  override name = "StorageBackendError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when the backend's space runs out (localStorage's per-origin quota, an IndexedDB
 * origin over its quota); what was stored before stays as it was.
 */
export class StorageQuotaError extends StorageBackendError {
  override name = "StorageQuotaError";
}

/** Checks a key; throws {@link StorageKeyError} when it is not a non-empty string. */
export function checkKey(key: string): string {
  if (typeof key !== "string" || key.length === 0) {
    throw new StorageKeyError(`storage key must be a non-empty string, got ${JSON.stringify(key)}`);
  }
  return key;
}

/** Checks a value's size against `limit`; throws {@link StorageValueTooLargeError} when larger. */
export function checkValue(key: string, value: Uint8Array, limit: number): Uint8Array {
  if (value.byteLength > limit) throw new StorageValueTooLargeError(key, value.byteLength, limit);
  return value;
}

/** Checks every change of a commit (keys, sizes) before an adapter writes any of them. */
export function checkChanges(changes: readonly StorageChange[], limit: number): void {
  for (const [key, value] of changes) {
    checkKey(key);
    if (value) checkValue(key, value, limit);
  }
}

/**
 * The changes of a commit with only the last change of each key kept (later changes of a
 * key win, as if they had been applied in order).
 */
export function lastChanges(changes: readonly StorageChange[]): StorageChange[] {
  const last = new Map<string, Uint8Array | null>();
  for (const [key, value] of changes) {
    last.delete(key); // keep the order of the last occurrence
    last.set(key, value);
  }
  return [...last];
}

/**
 * Applies `changes` to `storage` as one commit: its own {@link Storage.commit} when it has
 * one, else each key's last change by `set`/`delete`, all in parallel.
 */
export async function commitChanges(storage: Storage, changes: readonly StorageChange[]): Promise<void> {
  if (storage.commit) return storage.commit(changes);
  await Promise.all(lastChanges(changes).map(([key, value]) => (value ? storage.set(key, value) : storage.delete(key))));
}

export { MemoryStorage } from "./memory.js";

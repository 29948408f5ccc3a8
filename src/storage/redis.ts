import { createClient, RESP_TYPES } from "@redis/client";
import { checkChanges, checkKey, checkValue, lastChanges, type Storage, type StorageChange } from "./index.js";

/** Redis's own limit on one string value (`proto-max-bulk-len`, default 512 MB). */
const REDIS_MAX_STRING = 512 * 1024 * 1024;

/** Options of a {@link RedisStorage}. */
export interface RedisStorageOptions {
  /** Largest value in bytes. Defaults to 512 MiB, Redis's default `proto-max-bulk-len`. */
  maxValueBytes?: number;
}

/**
 * Redis {@link Storage} on the official node-redis client. Keys are namespaced with
 * `prefix`; values are stored as binary strings.
 *
 * Durability is the server's: a resolved write is on disk only when the server runs with
 * `appendonly yes` and `appendfsync always` (Redis fsyncs the AOF before it answers). With
 * the default `everysec`, up to a second of acknowledged writes can be lost when the server
 * (or its machine) dies; with no persistence at all, everything is. docs/storage.md.
 */
export class RedisStorage implements Storage {
  readonly #client;
  readonly #ready: Promise<unknown>;
  readonly maxValueBytes: number;

  /**
   * @param url Redis URL, e.g. `redis://127.0.0.1:6379`.
   * @param prefix prepended to every key. Defaults to `"clawft:"`.
   */
  constructor(
    url: string,
    readonly prefix = "clawft:",
    options: RedisStorageOptions = {},
  ) {
    this.maxValueBytes = options.maxValueBytes ?? REDIS_MAX_STRING;
    // While the connection is down, commands fail at once (no offline queue that would hold
    // them until Redis returns), and the client's reconnect errors are not thrown: an
    // EventEmitter 'error' without a listener would crash the process.
    this.#client = createClient({ url, disableOfflineQueue: true }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    this.#client.on("error", () => {});
    this.#ready = this.#client.connect();
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    await this.#ready;
    const v = await this.#client.get(this.prefix + checkKey(key));
    return v == null ? undefined : new Uint8Array(v);
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    checkValue(checkKey(key), value, this.maxValueBytes);
    await this.#ready;
    await this.#client.set(this.prefix + key, Buffer.from(value));
  }

  async delete(key: string): Promise<void> {
    await this.#ready;
    await this.#client.del(this.prefix + checkKey(key));
  }

  /** One MULTI/EXEC: applied all at once, and (with `appendfsync always`) fsync'd before the reply. */
  async commit(changes: readonly StorageChange[]): Promise<void> {
    checkChanges(changes, this.maxValueBytes);
    await this.#ready;
    const multi = this.#client.multi();
    for (const [key, value] of lastChanges(changes)) {
      if (value) multi.set(this.prefix + key, Buffer.from(value));
      else multi.del(this.prefix + key);
    }
    await multi.exec();
  }

  async keys(prefix = ""): Promise<string[]> {
    await this.#ready;
    const out: string[] = [];
    const match = `${this.prefix}${prefix.replace(/[*?[\]\\]/g, "\\$&")}*`;
    for await (const batch of this.#client.scanIterator({ MATCH: match, COUNT: 500 })) {
      for (const k of batch) out.push(String(k).slice(this.prefix.length));
    }
    return out;
  }

  async close(): Promise<void> {
    await this.#ready;
    await this.#client.close();
  }
}

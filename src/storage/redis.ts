import { createClient, RESP_TYPES } from "@redis/client";
import { checkKey, type Storage } from "./index.js";

/**
 * Redis {@link Storage} on the official node-redis client. Keys are namespaced with
 * `prefix`; values are stored as binary strings.
 */
export class RedisStorage implements Storage {
  readonly #client;
  readonly #ready: Promise<unknown>;

  /**
   * @param url Redis URL, e.g. `redis://127.0.0.1:6379`.
   * @param prefix prepended to every key. Defaults to `"clawft:"`.
   */
  constructor(
    url: string,
    readonly prefix = "clawft:",
  ) {
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
    await this.#ready;
    await this.#client.set(this.prefix + checkKey(key), Buffer.from(value));
  }

  async delete(key: string): Promise<void> {
    await this.#ready;
    await this.#client.del(this.prefix + checkKey(key));
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

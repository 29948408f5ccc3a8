import { mkdir, open, readFile, readdir, rename, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { checkKey, type Storage } from "./index.js";

const TMP = ".tmp-";

/** File name of a key: percent-encoded, with dots encoded too so no key names `.` or `..`. */
function fileName(key: string): string {
  return encodeURIComponent(key).replace(/\./g, "%2E").replace(/\*/g, "%2A");
}

/**
 * The key a file name stands for, or undefined when {@link fileName} did not make it (a
 * temporary file, or a file someone else put in the directory: `get` would not find it).
 */
function keyOf(name: string): string | undefined {
  let key: string;
  try {
    key = decodeURIComponent(name);
  } catch {
    return undefined; // e.g. "100%": not percent-encoding
  }
  return fileName(key) === name ? key : undefined;
}

/**
 * File-system {@link Storage} (Node): one file per key in `dir`. Writes go to a temporary file
 * that is fsync'd and then renamed over the old one, and the directory is fsync'd, so a
 * crash (even `kill -9` mid-write) leaves the previous or the new value, never a torn file.
 */
export class FileStorage implements Storage {
  readonly #ready: Promise<void>;

  /**
   * @param dir directory holding the files; created when missing. Temporary files left by a
   *   crashed writer are removed on open.
   */
  constructor(readonly dir: string) {
    this.#ready = this.#open();
  }

  async #open(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TMP)) await rm(join(this.dir, name), { force: true });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    await this.#ready;
    try {
      return new Uint8Array(await readFile(join(this.dir, fileName(checkKey(key)))));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    await this.#ready;
    const target = join(this.dir, fileName(checkKey(key)));
    const tmp = join(this.dir, `${TMP}${randomBytes(6).toString("hex")}`);
    const file = await open(tmp, "w");
    try {
      await file.writeFile(value);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, target);
    await this.#syncDir();
  }

  async #syncDir(): Promise<void> {
    const dir = await open(this.dir, "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async delete(key: string): Promise<void> {
    await this.#ready;
    try {
      await unlink(join(this.dir, fileName(checkKey(key))));
      await this.#syncDir();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }

  /** Keys of the files this storage wrote; other files in the directory are passed over. */
  async keys(prefix = ""): Promise<string[]> {
    await this.#ready;
    const keys: string[] = [];
    for (const name of await readdir(this.dir)) {
      const key = keyOf(name);
      if (key?.startsWith(prefix)) keys.push(key);
    }
    return keys;
  }

  async close(): Promise<void> {
    await this.#ready;
  }
}

import { mkdir, open, readFile, readdir, rename, rm, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { checkChanges, checkKey, checkValue, lastChanges, type Storage, type StorageChange } from "./index.js";

const TMP = ".tmp-";

/**
 * Whether the temporary file `name` (`.tmp-<pid>-<random>`) belongs to a process that is still
 * running: another FileStorage on the same directory may be writing it right now, so only the
 * leftovers of dead writers are removed. (A reused pid keeps a leftover; it is only a file.)
 */
function writerAlive(name: string): boolean {
  const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
  if (!pid) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM"; // alive, another user's
  }
}

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
 * Creates `dir` and its missing parents. Not `mkdir(dir, { recursive: true })`: Node 20's
 * recursive mkdir retries forever when mkdir fails with ENOENT under a parent that exists
 * (`/proc/x`), so a bad `--storage fs:` would hang the relay instead of failing.
 * @throws the mkdir error (ENOENT, EACCES, ENOTDIR…) for the first directory that cannot be made
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await mkdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return; // a file there fails later, on readdir, with ENOTDIR
    const parent = dirname(dir);
    if (code !== "ENOENT" || parent === dir) throw err;
    await makeDir(parent);
    await mkdir(dir).catch((again: NodeJS.ErrnoException) => {
      if (again.code !== "EEXIST") throw again;
    });
  }
}

/** Options of a {@link FileStorage}. */
export interface FileStorageOptions {
  /** Largest value in bytes. Defaults to (and may not exceed) 2^31 − 1, the most Node's `readFile` reads. */
  maxValueBytes?: number;
}

/** The most bytes Node's `readFile` returns (larger files fail with ERR_FS_FILE_TOO_LARGE). */
const READ_FILE_MAX = 2 ** 31 - 1;

/**
 * File-system {@link Storage} (Node): one file per key in `dir`. Writes go to a temporary file
 * that is fsync'd and then renamed over the old one, and the directory is fsync'd, so a
 * crash (even `kill -9` mid-write) leaves the previous or the new value, never a torn file.
 * Several instances (and processes) may share a directory: on open, only temporary files of
 * writers that are no longer running are removed. A {@link FileStorage.commit} fsyncs every
 * file and then the directory once for all of them.
 */
export class FileStorage implements Storage {
  readonly #ready: Promise<void>;
  readonly maxValueBytes: number;

  /**
   * @param dir directory holding the files; created when missing. Temporary files left by a
   *   crashed writer are removed on open.
   */
  constructor(
    readonly dir: string,
    options: FileStorageOptions = {},
  ) {
    this.maxValueBytes = Math.min(options.maxValueBytes ?? READ_FILE_MAX, READ_FILE_MAX);
    this.#ready = this.#open();
  }

  async #open(): Promise<void> {
    await makeDir(this.dir);
    for (const name of await readdir(this.dir)) {
      if (name.startsWith(TMP) && !writerAlive(name)) await rm(join(this.dir, name), { force: true });
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
    checkValue(checkKey(key), value, this.maxValueBytes);
    await this.#ready;
    await this.#place(await this.#writeTemp(value), key);
    await this.#syncDir();
  }

  /** Writes `value` to a new temporary file and fsyncs it; returns its path. */
  async #writeTemp(value: Uint8Array): Promise<string> {
    const tmp = join(this.dir, `${TMP}${process.pid}-${randomBytes(6).toString("hex")}`);
    const file = await open(tmp, "w");
    try {
      await file.writeFile(value);
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await file.close();
    return tmp;
  }

  /** Renames a written temporary file over `key`'s file (the directory is synced by the caller). */
  async #place(tmp: string, key: string): Promise<void> {
    await rename(tmp, join(this.dir, fileName(key)));
  }

  /**
   * Writes every value to its own fsync'd temporary file (in parallel), renames them into
   * place in order, unlinks the deleted keys, and fsyncs the directory once. A crash leaves
   * each key's old or new file whole; it may leave part of the commit applied.
   */
  async commit(changes: readonly StorageChange[]): Promise<void> {
    checkChanges(changes, this.maxValueBytes);
    await this.#ready;
    const last = lastChanges(changes);
    const temps = await Promise.allSettled(last.map(([, value]) => (value ? this.#writeTemp(value) : Promise.resolve(""))));
    const failed = temps.find((t) => t.status === "rejected");
    if (failed) {
      for (const t of temps) if (t.status === "fulfilled" && t.value) await rm(t.value, { force: true });
      throw (failed as PromiseRejectedResult).reason;
    }
    for (let i = 0; i < last.length; i++) {
      const tmp = (temps[i] as PromiseFulfilledResult<string>).value;
      const key = last[i]![0];
      if (tmp) await this.#place(tmp, key);
      else await unlink(join(this.dir, fileName(key))).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
    }
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

// The Storage conformance suite (conformance.ts) on every Node adapter: memory, the file
// system, Redis and PostgreSQL (real servers started by the helpers; each test is listed as
// skipped, with the reason, when its server is not installed). IndexedDB and localStorage
// run the same cases in Chromium (browser.test.ts). Values at the limit use a 1 MiB limit
// here: the adapters' defaults (2 GiB, 512 MiB, 256 MiB) are too large to write in a test.
import { describe, it, expect, afterAll } from "vitest";
import { mkdtemp, rm, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStorage, commitChanges, StorageValueTooLargeError, type Storage } from "../../src/storage/index.js";
import { FileStorage } from "../../src/storage/fs.js";
import { RedisStorage } from "../../src/storage/redis.js";
import { PostgresStorage, PostgresStorageError } from "../../src/storage/postgres.js";
import { bytesToString, stringToBytes } from "../../src/storage/localstorage.js";
import { startRedis, freePort, type RedisServer } from "../helpers/redis.js";
import { startPostgres, type PostgresServer } from "../helpers/postgres.js";
import { CONFORMANCE } from "./conformance.js";

const LIMIT = 1 << 20;

/**
 * Registers every conformance case for one adapter. `open` makes a new instance on the same
 * data each time it is called; `skip` (a reason) lists each case as skipped instead.
 */
function conformance(name: string, open: (() => Promise<Storage>) | { skip: string }) {
  describe(`${name} conformance`, () => {
    if ("skip" in open) {
      for (const c of CONFORMANCE) it.skip(`${c.name} (skipped: ${open.skip})`, () => {});
      return;
    }
    let storage: Storage | undefined;
    afterAll(async () => {
      await storage?.close();
    });
    for (const c of CONFORMANCE) {
      it(c.name, async () => {
        storage ??= await open();
        await c.run({ storage, openAnother: open });
      }, 60_000);
    }
  });
}

const memory = new MemoryStorage({ maxValueBytes: LIMIT });
conformance("MemoryStorage", async () => memory);

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
const fsDir = await mkdtemp(join(tmpdir(), "clawft-fs-"));
dirs.push(fsDir);
conformance("FileStorage", async () => new FileStorage(fsDir, { maxValueBytes: LIMIT }));

const redis: RedisServer | undefined = await startRedis();
afterAll(async () => redis?.stop());
conformance("RedisStorage", redis ? async () => new RedisStorage(redis.url, `t${process.pid}:`, { maxValueBytes: LIMIT }) : { skip: "redis-server not installed" });

const pg = await startPostgres();
const postgres: PostgresServer | undefined = pg.server;
afterAll(async () => postgres?.stop());
conformance("PostgresStorage", postgres ? async () => new PostgresStorage(postgres.url, { maxValueBytes: LIMIT }) : { skip: pg.reason! });

describe("FileStorage crash safety", () => {
  it("removes temporary files a crashed writer left and keeps the old value", async () => {
    const d = await mkdtemp(join(tmpdir(), "clawft-fs-"));
    dirs.push(d);
    const a = new FileStorage(d);
    await a.set("k", new Uint8Array([1]));
    await writeFile(join(d, ".tmp-deadbeef"), new Uint8Array([2, 2])); // a torn write
    const b = new FileStorage(d);
    expect(await b.get("k")).toEqual(new Uint8Array([1]));
    expect(await b.keys()).toEqual(["k"]);
    expect((await readdir(d)).some((n) => n.startsWith(".tmp-"))).toBe(false);
  });

  it("a commit that cannot be written leaves no temporary file and the old values", async () => {
    const d = await mkdtemp(join(tmpdir(), "clawft-fs-"));
    dirs.push(d);
    const s = new FileStorage(d, { maxValueBytes: 10 });
    await s.set("k", new Uint8Array([1]));
    await expect(s.commit([["k", new Uint8Array([2])], ["big", new Uint8Array(11)]])).rejects.toBeInstanceOf(StorageValueTooLargeError);
    expect(await s.get("k")).toEqual(new Uint8Array([1]));
    expect(await readdir(d)).toEqual(["k"]);
  });
});

describe("commitChanges", () => {
  it("falls back to set/delete for a storage without commit, last change per key", async () => {
    const inner = new MemoryStorage();
    const calls: string[] = [];
    const plain: Storage = {
      get: (k) => inner.get(k),
      keys: (p) => inner.keys(p),
      close: () => inner.close(),
      set: (k, v) => (calls.push(`set ${k}`), inner.set(k, v)),
      delete: (k) => (calls.push(`delete ${k}`), inner.delete(k)),
    };
    await commitChanges(plain, [["a", new Uint8Array([1])], ["b", null], ["a", new Uint8Array([2])]]);
    expect(calls.sort()).toEqual(["delete b", "set a"]);
    expect(await inner.get("a")).toEqual(new Uint8Array([2]));
  });
});

describe("localStorage byte encoding", () => {
  it("round-trips every length and byte pattern in code units that are never surrogates or controls", () => {
    for (let n = 0; n < 200; n++) {
      const v = new Uint8Array(n).map((_, i) => (i * 151 + n * 7) & 0xff);
      if (n % 3 === 0) v.fill(0xff);
      const s = bytesToString(v);
      for (let i = 0; i < s.length; i++) {
        const u = s.charCodeAt(i);
        expect(u >= 0x1000 && u < 0x9000).toBe(true);
      }
      expect(s.length).toBe(1 + Math.ceil((n * 8) / 15));
      expect(stringToBytes(s)).toEqual(v);
    }
  });

  it("refuses strings it did not make", () => {
    expect(() => stringToBytes("hello")).toThrow(/not a clawft byte encoding/);
    expect(() => stringToBytes("")).toThrow(/not a clawft byte encoding/);
  });
});

describe("PostgresStorage errors", () => {
  it("a server that is not there gives a typed connection error", async () => {
    const port = await freePort();
    const s = new PostgresStorage(`postgres://nobody@127.0.0.1:${port}/none`, { connectTimeoutSeconds: 2 });
    const err = await s.get("k").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PostgresStorageError);
    expect((err as PostgresStorageError).code).toBe("ECONNREFUSED");
    await s.close();
  });

  it("refuses a table name that is not a plain identifier", () => {
    expect(() => new PostgresStorage("postgres://x@127.0.0.1/db", { table: "kv; drop table x" })).toThrow(/plain identifier/);
  });
});

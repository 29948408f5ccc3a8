import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { mkdtemp, rm, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MemoryStorage, StorageKeyError, type Storage } from "../../src/storage/index.js";
import { FileStorage } from "../../src/storage/fs.js";
import { RedisStorage } from "../../src/storage/redis.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";

/** The behaviour every adapter must share. */
function conformance(name: string, open: () => Promise<Storage>, cleanup?: () => Promise<void>) {
  describe(name, () => {
    let s: Storage;
    beforeAll(async () => {
      s = await open();
    });
    afterAll(async () => {
      await s?.close();
      await cleanup?.();
    });

    it("can store, read back, replace and delete bytes", async () => {
      expect(await s.get("a/1")).toBeUndefined();
      await s.set("a/1", new Uint8Array([1, 2, 3]));
      expect(await s.get("a/1")).toEqual(new Uint8Array([1, 2, 3]));
      await s.set("a/1", new Uint8Array([9]));
      expect(await s.get("a/1")).toEqual(new Uint8Array([9]));
      await s.delete("a/1");
      expect(await s.get("a/1")).toBeUndefined();
      await s.delete("a/1"); // missing key: no error
    });

    it("copies values in and out", async () => {
      const v = new Uint8Array([1, 2]);
      await s.set("copy", v);
      v[0] = 7;
      const out = (await s.get("copy"))!;
      expect(out[0]).toBe(1);
      out[1] = 7;
      expect((await s.get("copy"))![1]).toBe(2);
    });

    it("keeps empty values and binary bytes exactly", async () => {
      await s.set("empty", new Uint8Array(0));
      expect(await s.get("empty")).toEqual(new Uint8Array(0));
      const all = new Uint8Array(256).map((_, i) => i);
      await s.set("bin", all);
      expect(await s.get("bin")).toEqual(all);
    });

    it("lists keys by prefix, including awkward characters", async () => {
      const keys = ["p/x", "p/y.z", "p/../etc", "p/*?[]", "q/1", "p/€"];
      for (const k of keys) await s.set(k, new Uint8Array([1]));
      expect((await s.keys("p/")).sort()).toEqual(keys.filter((k) => k.startsWith("p/")).sort());
      expect(await s.keys("zzz")).toEqual([]);
    });

    it("rejects empty keys with a typed error", async () => {
      await expect(s.set("", new Uint8Array())).rejects.toBeInstanceOf(StorageKeyError);
    });
  });
}

conformance("MemoryStorage", async () => new MemoryStorage());

let dir = "";
conformance(
  "FileStorage",
  async () => {
    dir = await mkdtemp(join(tmpdir(), "clawft-fs-"));
    return new FileStorage(dir);
  },
  async () => rm(dir, { recursive: true, force: true }),
);

describe("FileStorage crash safety", () => {
  it("removes temporary files a crashed writer left and keeps the old value", async () => {
    const d = await mkdtemp(join(tmpdir(), "clawft-fs-"));
    const a = new FileStorage(d);
    await a.set("k", new Uint8Array([1]));
    await writeFile(join(d, ".tmp-deadbeef"), new Uint8Array([2, 2])); // a torn write
    const b = new FileStorage(d);
    expect(await b.get("k")).toEqual(new Uint8Array([1]));
    expect(await b.keys()).toEqual(["k"]);
    expect((await readdir(d)).some((n) => n.startsWith(".tmp-"))).toBe(false);
    await rm(d, { recursive: true, force: true });
  });
});

let redis: RedisServer | undefined;
const redisStarted = startRedis().then((r) => (redis = r));
describe("RedisStorage", async () => {
  await redisStarted;
  if (!redis) {
    it.skip("skipped: redis-server not installed", () => {});
    return;
  }
  conformance(
    "against a real redis-server",
    async () => new RedisStorage(redis!.url, `t${process.pid}:`),
    async () => redis!.stop(),
  );
});

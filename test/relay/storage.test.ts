// Relay state storage: write-behind coalescing, retries, restarts with state and revisions
// back (file system, Redis), TTL deletions, clean shutdown on SIGTERM and a kill -9 mid-write
// (real child processes).
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode } from "../../src/clasp/index.js";
import { MiniRouter } from "../../src/clasp/router.js";
import { PersistError, StatePersister } from "../../src/relay/index.js";
import { MemoryStorage, type Storage } from "../../src/storage/index.js";
import { FileStorage } from "../../src/storage/fs.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { RawClient, sleep, spawnRelay, startRelay, until } from "./helpers.js";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "clawft-relay-"));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** A storage whose writes can be made to fail, counting what reaches it. */
class FlakyStorage extends MemoryStorage {
  failing = false;
  sets = 0;
  deletes = 0;
  override async set(key: string, value: Uint8Array): Promise<void> {
    await sleep(1);
    if (this.failing) throw new Error("disk on fire");
    this.sets++;
    return super.set(key, value);
  }
  override async delete(key: string): Promise<void> {
    if (this.failing) throw new Error("disk on fire");
    this.deletes++;
    return super.delete(key);
  }
}

/** Records a router produces for `sets` (address → value), via its state events. */
async function recordsOf(sets: Array<[string, number]>): Promise<Map<string, Uint8Array>> {
  const router = await MiniRouter.load();
  const conn = router.connect();
  router.receive(conn, encode({ type: "HELLO", version: 1, name: "t", features: [] }));
  const out = new Map<string, Uint8Array>();
  for (const [address, value] of sets) {
    for (const ev of router.receive(conn, encode({ type: "SET", address, value })).events) {
      if (ev.type === "state" && ev.record) out.set(ev.address, ev.record);
    }
  }
  return out;
}

describe("StatePersister", () => {
  it("coalesces changes per address and writes only the latest", async () => {
    const storage = new FlakyStorage();
    const p = new StatePersister(storage, { delayMs: 5 });
    const recs = await recordsOf([["/a", 1]]);
    for (let i = 0; i < 1000; i++) p.put("/a", recs.get("/a")!);
    p.put("/b", recs.get("/a")!);
    p.put("/b", null);
    await p.flush();
    expect(storage.sets).toBe(1);
    expect(storage.deletes).toBe(1);
    expect(p.backlog).toBe(0);
    const router = await MiniRouter.load();
    expect(await p.restore(router)).toEqual({ restored: 1, refused: 0, unreadable: 0 });
    expect(router.size).toBe(1);
  });

  it("retries failed writes, and flush reports what could not be written without losing it", async () => {
    const storage = new FlakyStorage();
    const errors: string[] = [];
    const p = new StatePersister(storage, { delayMs: 1, retryMs: 20, onError: (e, a) => errors.push(`${a}: ${(e as Error).message}`) });
    const recs = await recordsOf([["/x", 1], ["/y", 2]]);
    storage.failing = true;
    p.put("/x", recs.get("/x")!);
    p.put("/y", recs.get("/y")!);
    await expect(p.flush()).rejects.toBeInstanceOf(PersistError);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    expect(p.backlog).toBe(2);
    storage.failing = false; // the scheduled retry now succeeds
    await until(() => p.backlog === 0, 3000, "retry");
    expect(storage.sets).toBe(2);
    await p.flush();
  });

  it("reports unreadable entries on restore and restores the rest", async () => {
    const storage = new MemoryStorage();
    const p = new StatePersister(storage);
    const recs = await recordsOf([["/ok", 1]]);
    p.put("/ok", recs.get("/ok")!);
    await p.flush();
    await storage.set("relay/param/garbage", new Uint8Array([9, 9, 9]));
    await storage.set("relay/param/truncated", new Uint8Array([1, 0, 0, 0, 200, 0x2f]));
    const [key] = (await storage.keys("relay/param/")).filter((k) => !/garbage|truncated/.test(k));
    const good = (await storage.get(key!))!;
    await storage.set("relay/param/badrecord", good.subarray(0, 9)); // a valid envelope, a cut record
    const router = await MiniRouter.load();
    expect(await p.restore(router)).toEqual({ restored: 1, refused: 1, unreadable: 2 });
  });
});

/** Writes `n` params through `url` and returns the last value and revision of each. */
async function writeParams(url: string, n: number, rounds: number): Promise<Map<string, [number, number]>> {
  const c = await RawClient.hello(url);
  for (let r = 1; r <= rounds; r++) for (let i = 0; i < n; i++) c.send({ type: "SET", address: `/p/${i}`, value: r * 100 + i });
  await until(() => c.of("ACK").length === n * rounds, 10_000, "ACKs");
  const last = new Map<string, [number, number]>();
  for (const a of c.of("ACK")) last.set(a.address!, [0, Number(a.revision)]);
  for (let i = 0; i < n; i++) last.get(`/p/${i}`)![0] = rounds * 100 + i;
  c.close();
  return last;
}

/** Reads every /p/* param (value and revision) through `url`. */
async function readParams(url: string): Promise<Map<string, [number, number]>> {
  const c = await RawClient.hello(url);
  c.send({ type: "SUBSCRIBE", id: 1, pattern: "/p/*" });
  const snap = await c.next("SNAPSHOT");
  c.close();
  return new Map(snap.params.map((p) => [p.address, [p.value as number, Number(p.revision)]]));
}

describe("restoring arbitrary stored bytes", () => {
  it("never throws and never breaks the router: corrupt entries are counted, good ones restored", async () => {
    const good = [...(await recordsOf([["/good", 7]])).values()][0]!;
    const template = new MemoryStorage();
    const tp = new StatePersister(template);
    tp.put("/good", good);
    await tp.flush();
    const envelope = (await template.get((await template.keys())[0]!))!;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 80 }),
            // A valid envelope with bytes flipped or cut: the router's record reader is probed too.
            fc.tuple(fc.nat({ max: envelope.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.nat({ max: envelope.length })).map(([at, x, cut]) => {
              const b = envelope.slice(0, Math.max(cut, 1));
              if (at < b.length) b[at] ^= x;
              return b;
            }),
          ),
          { maxLength: 8 },
        ),
        async (entries) => {
          const storage = new MemoryStorage();
          for (let i = 0; i < entries.length; i++) await storage.set(`relay/param/${i}`, entries[i]!);
          const router = await MiniRouter.load();
          const r = await new StatePersister(storage).restore(router);
          expect(r.restored + r.refused + r.unreadable).toBe(entries.length);
          // The router still works after whatever it was fed.
          const conn = router.connect();
          router.receive(conn, encode({ type: "HELLO", version: 1, name: "t", features: [] }));
          const step = router.receive(conn, encode({ type: "SET", address: "/after", value: 1 }));
          expect(step.events.some((e) => e.type === "state")).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe("relay restart", () => {
  it("brings params and revisions back from the file system, and counts on from them", async () => {
    const dir = await tempDir();
    const a = await startRelay({ storage: `fs:${dir}` });
    const written = await writeParams(a.url, 20, 3);
    await a.close();
    const b = await startRelay({ storage: `fs:${dir}` });
    expect(b.restored).toEqual({ restored: 20, refused: 0, unreadable: 0 });
    expect(await readParams(b.url)).toEqual(written);
    const c = await RawClient.hello(b.url);
    c.send({ type: "SET", address: "/p/0", value: 0 });
    expect((await c.next("ACK")).revision).toBe(4);
    c.close();
    await b.close();
  });

  it("passes over files it did not write in an fs: state directory", async () => {
    const dir = await tempDir();
    const a = await startRelay({ storage: `fs:${dir}` });
    const written = await writeParams(a.url, 3, 1);
    await a.close();
    // Files an operator or another tool left there: not percent-encoding, not ours.
    for (const name of ["100%", "notes.txt", "relay%2Fparam%2Fx%zz"]) await writeFile(join(dir, name), "stray");
    const b = await startRelay({ storage: `fs:${dir}` });
    expect(b.restored).toEqual({ restored: 3, refused: 0, unreadable: 0 });
    expect(await readParams(b.url)).toEqual(written);
    await b.close();
  });

  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });

  it("brings params and revisions back from Redis (skipped: redis-server not installed, when so)", async (ctx) => {
    if (!redis) return ctx.skip("skipped: redis-server not installed");
    const a = await startRelay({ storage: redis.url });
    const written = await writeParams(a.url, 10, 2);
    await a.close();
    const b = await startRelay({ storage: redis.url });
    expect(b.restored.restored).toBe(10);
    expect(await readParams(b.url)).toEqual(written);
    await b.close();
  });

  it("keeps serving while Redis is down, counts the failures, and says what it could not write", async (ctx) => {
    const own = await startRedis();
    if (!own) return ctx.skip("skipped: redis-server not installed");
    const r = await startRelay({ storage: own.url });
    const c = await RawClient.hello(r.url);
    c.send({ type: "SET", address: "/down/a", value: 1 });
    await c.next("ACK");
    await until(() => r.persister.backlog === 0, 3000, "first write");
    await own.stop();
    c.send({ type: "SET", address: "/down/a", value: 2 });
    expect((await c.next("ACK")).revision).toBe(2); // routing does not wait for storage
    await until(() => r.logs.some((l) => /storage failed for "\/down\/a"/.test(l)), 5000, "the failure logged");
    const text = await (await fetch(`${r.httpUrl}metrics`)).text();
    expect(Number(/^clawft_relay_errors_total\{category="storage",code=""\} (\d+)/m.exec(text)?.[1])).toBeGreaterThan(0);
    c.close();
    await expect(r.close()).rejects.toMatchObject({ name: "PersistError", failed: 1 });
  });

  it("deletes expired params from storage (state TTL)", async () => {
    const storage = new MemoryStorage();
    const r = await startRelay({ storageInstance: storage, router: { stateTtl: 1 } });
    const c = await RawClient.hello(r.url);
    c.send({ type: "SET", address: "/ttl/x", value: 1 });
    await c.next("ACK");
    await until(() => r.persister.backlog === 0, 2000, "write");
    expect(await storage.keys("relay/param/")).toHaveLength(1);
    await until(() => r.router.size === 0, 5000, "expiry");
    await until(() => r.persister.backlog === 0, 2000, "delete");
    expect(await storage.keys("relay/param/")).toHaveLength(0);
    c.close();
    await r.close();
  });
});

describe("relay process", () => {
  it("shuts down cleanly on SIGTERM: clients get 1001, every committed param is written", async () => {
    const dir = await tempDir();
    const relay = await spawnRelay(["--port", "0", "--storage", `fs:${dir}`, "--no-web"]);
    const written = await writeParams(relay.url, 50, 4);
    const watcher = await RawClient.hello(relay.url);
    relay.proc.kill("SIGTERM");
    expect((await watcher.closed).code).toBe(1001);
    const [code] = await relay.exited;
    expect(code).toBe(0);
    expect(relay.out.join("\n")).toMatch(/relay stopped/);
    const again = await startRelay({ storage: `fs:${dir}` });
    expect(await readParams(again.url)).toEqual(written);
    await again.close();
  });

  it("leaves storage readable after kill -9 in the middle of writes", async () => {
    const dir = await tempDir();
    // A long write-behind delay is not needed: writes are continuous under this load.
    const relay = await spawnRelay(["--port", "0", "--storage", `fs:${dir}`, "--no-web"]);
    const c = await RawClient.hello(relay.url);
    let sent = 0;
    const pump = setInterval(() => {
      for (let i = 0; i < 200; i++) c.send({ type: "SET", address: `/k/${i % 64}`, value: ++sent });
    }, 2);
    await until(() => c.of("ACK").length > 5000, 20_000, "load");
    // Wait until files are being written (the write-behind runs under the load).
    for (let t = 0; (await readdir(dir)).filter((n) => !n.startsWith(".tmp-")).length < 32; t++) {
      if (t > 400) throw new Error("no param files written under load");
      await sleep(25);
    }
    // Kill while writes are in flight (files are being written and renamed continuously).
    relay.proc.kill("SIGKILL");
    clearInterval(pump);
    const [, signal] = await relay.exited;
    expect(signal).toBe("SIGKILL");
    // Every file that exists is a whole envelope the router can restore.
    const storage: Storage = new FileStorage(dir);
    const keys = await storage.keys("relay/param/");
    expect(keys.length).toBeGreaterThan(0);
    const router = await MiniRouter.load();
    const report = await new StatePersister(storage).restore(router);
    expect(report).toEqual({ restored: keys.length, refused: 0, unreadable: 0 });
    expect((await readdir(dir)).some((n) => n.startsWith(".tmp-"))).toBe(false); // cleaned on open
    await storage.close();
    // And a relay starts on it, with values that were really sent.
    const again = await startRelay({ storage: `fs:${dir}` });
    const probe = await RawClient.hello(again.url);
    probe.send({ type: "SUBSCRIBE", id: 1, pattern: "/k/*" });
    const snap = await probe.next("SNAPSHOT");
    expect(snap.params.length).toBe(keys.length);
    for (const p of snap.params) {
      expect(p.value as number).toBeGreaterThan(0);
      expect(p.value as number).toBeLessThanOrEqual(sent);
      expect(Number(p.revision)).toBeGreaterThan(0);
    }
    probe.close();
    await again.close();
  });
});

// Faults of a relay cluster, as a user runs it: a real redis-server with the persistence
// settings docs/relay.md §Cluster asks for (appendonly yes, appendfsync always) and three
// `clawft relay --cluster redis://…` processes. kill -9 one relay: its clients see the
// connection drop (1006), reconnect to another relay and find every committed param, and
// its locks are free once its lease ran out; Redis killed and restarted: SETs are refused
// (501) meanwhile, then the relays reconnect by themselves and nothing committed is lost.
// Our ClaspClient and the real @clasp-to/core 3.3.2 client.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { ClaspClient, ClaspError } from "../../src/clasp/client.js";
import { WebSocketTransport, type WebSocketConstructor } from "../../src/transports/websocket.js";
import { freePort } from "../helpers/redis.js";
import { RawClient, sleep, spawnRelay, until, type RelayProcess } from "./helpers.js";

(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
const { Clasp } = await import("@clasp-to/core");

const skip = (() => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
})();
if (skip) console.warn("cluster fault tests skipped: redis-server is not installed (Debian package redis-server)");

/** A redis-server on `port` keeping its append-only file in `dir`: every write fsync'd before it is answered. */
class DurableRedis {
  proc: ChildProcess | undefined;
  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--appendonly", "yes", "--appendfsync", "always", "--save", ""];
    const proc = spawn("redis-server", args, { stdio: ["ignore", "pipe", "inherit"] });
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      proc.stdout!.on("data", (d: Buffer) => {
        if (d.toString().includes("Ready to accept connections")) resolve();
      });
      proc.on("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
    });
  }

  /** Kills it with SIGKILL (no shutdown save: only the fsync'd append-only file remains). */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.kill("SIGKILL");
    });
  }
}

const wsCtor = WebSocket as unknown as WebSocketConstructor;
let redis: DurableRedis;
let dir: string;
const relays: RelayProcess[] = [];
const closers: Array<() => void> = [];

beforeAll(async () => {
  if (skip) return;
  vi.spyOn(console, "debug").mockImplementation(() => {}); // @clasp-to/core logs every ACK
  dir = await mkdtemp(join(tmpdir(), "clawft-cluster-"));
  redis = new DurableRedis(await freePort(), dir);
  await redis.start();
  for (let i = 0; i < 3; i++) relays.push(await spawnRelay(["--cluster", redis.url, "--port", "0", "--no-web"]));
}, 90_000);

afterAll(async () => {
  for (const close of closers) close();
  for (const r of relays) r.proc.kill("SIGKILL");
  await Promise.all(relays.map((r) => r.exited));
  await redis?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
  vi.restoreAllMocks();
});

/** Our client on `urls[0]`, reconnecting to the next URL of the list each time its connection drops. */
async function roaming(urls: string[]): Promise<ClaspClient & { urls: string[]; closes: number[] }> {
  let i = 0;
  const used: string[] = [];
  const client = await ClaspClient.connect(
    () => {
      const url = urls[i++ % urls.length]!;
      used.push(url);
      return new WebSocketTransport(url, { WebSocket: wsCtor });
    },
    { reconnect: { delayMs: 100, maxDelayMs: 500, attempts: 20 } },
  );
  const closes: number[] = [];
  client.onClose((info) => closes.push(info.code));
  closers.push(() => client.close());
  return Object.assign(client, { urls: used, closes });
}

describe.skipIf(skip)("relay cluster faults (three relay processes, one redis-server)", () => {
  it("kill -9 of a relay: its client reconnects to another and finds every committed param; the dead relay's locks free up", async () => {
    const [a, b, c] = relays.map((r) => r.out.find((l) => l.startsWith("clawft relay on "))!.match(/ws:\/\/\S+/)![0]);
    expect(relays[0]!.out.join("\n")).toMatch(/cluster redis:\/\/127\.0\.0\.1:\d+ as relay [0-9a-f-]{36}/);
    const x = await roaming([a!, b!]);
    // The real @clasp-to/core client on the third relay watches.
    const upstream = new Clasp(c!, { name: "watcher", reconnect: false });
    await upstream.connect();
    closers.push(() => upstream.close());
    const seen = new Map<string, unknown>();
    upstream.subscribe("/fault/**", (v: unknown, address: string) => seen.set(address, v));
    await sleep(100);

    const revisions = new Map<string, number>();
    for (let i = 0; i < 20; i++) {
      await x.set(`/fault/${i}`, i);
      revisions.set(`/fault/${i}`, Number(await x.set(`/fault/${i}`, i * 10)));
    }
    await x.set("/fault/locked", "mine", { lock: true });
    await until(() => seen.size === 21, 5000, "the watcher to see 21 params");
    expect(seen.get("/fault/7")).toBe(70);

    const other = await ClaspClient.connect(() => new WebSocketTransport(c!, { WebSocket: wsCtor }));
    closers.push(() => other.close());
    relays[0]!.proc.kill("SIGKILL");
    await relays[0]!.exited;
    // The killed relay's session held /fault/locked, and its lease (5 s) still lives.
    await expect(other.set("/fault/locked", "yours")).rejects.toMatchObject({ code: 401 });
    await until(() => x.closes.length >= 1 && x.connected, 10_000, "the client to reconnect");
    expect(x.closes[0]).toBe(1006); // no close frame from a killed process
    expect(x.urls.slice(0, 2)).toEqual([a, b]);
    for (const address of revisions.keys()) {
      expect(await x.get(address)).toBe(Number(address.split("/")[2]) * 10);
    }
    // Revisions are Redis's: the next SET counts on.
    expect(Number(await x.set("/fault/3", "after"))).toBe(revisions.get("/fault/3")! + 1);
    await until(() => seen.get("/fault/3") === "after", 5000, "the watcher to see the SET made after the failover");
    // And the other way: the upstream client's SET on the third relay reaches ours on the second.
    upstream.set("/fault/from-upstream", "hello");
    await expect.poll(() => x.get("/fault/from-upstream").catch(() => undefined), { timeout: 5000 }).toBe("hello");

    // Free once the lease ran out.
    let taken: unknown;
    const t0 = Date.now();
    while (Date.now() - t0 < 10_000) {
      try {
        taken = await other.set("/fault/locked", "yours");
        break;
      } catch (err) {
        expect(err).toBeInstanceOf(ClaspError);
        expect((err as ClaspError).code).toBe(401);
        await sleep(250);
      }
    }
    expect(Number(taken)).toBe(2); // taken within 10 s: the lease ends, the lock with it
  }, 60_000);

  it("Redis killed and restarted: SETs are refused meanwhile (501), the relays reconnect, nothing committed is lost", async () => {
    const live = relays.filter((r) => r.proc.exitCode === null && r.proc.signalCode === null);
    const [b, c] = live.map((r) => r.out.find((l) => l.startsWith("clawft relay on "))!.match(/ws:\/\/\S+/)![0]);
    const writer = await ClaspClient.connect(() => new WebSocketTransport(b!, { WebSocket: wsCtor }));
    closers.push(() => writer.close());
    const watcher = await RawClient.hello(c!);
    closers.push(() => watcher.close());
    watcher.send({ type: "SUBSCRIBE", id: 1, pattern: "/durable/**" });
    watcher.send({ type: "PING" });
    await watcher.next("PONG");
    for (let i = 0; i < 30; i++) await writer.set(`/durable/${i}`, `v${i}`);

    await redis.kill(); // every acknowledged SET is in the fsync'd append-only file
    await until(() => live.every((r) => r.out.some((l) => l.includes("unreachable"))), 10_000, "the relays to notice");
    await expect(writer.set("/durable/0", "lost?")).rejects.toMatchObject({ code: 501 });
    // Sessions stay; reads are served from each relay's router.
    expect(await writer.get("/durable/29")).toBe("v29");

    await redis.start();
    await until(() => live.every((r) => r.out.some((l) => l.includes("Redis back"))), 15_000, "the relays to reconnect");
    let revision: unknown;
    for (let i = 0; i < 40 && revision === undefined; i++) {
      revision = await writer.set("/durable/0", "after").catch(() => sleep(250).then(() => undefined));
    }
    expect(Number(revision)).toBe(2); // counted on from the revision Redis kept
    await until(() => watcher.of("SET").some((m) => m.address === "/durable/0" && m.value === "after"), 5000, "the SET to cross relays again");
    // A relay started now reads every param back from Redis.
    const fresh = await spawnRelay(["--cluster", redis.url, "--port", "0", "--no-web"]);
    relays.push(fresh);
    expect(fresh.out.join("\n")).toMatch(/restored (3[0-9]|[4-9][0-9]) param\(s\)/);
    const reader = await RawClient.hello(fresh.url);
    closers.push(() => reader.close());
    reader.send({ type: "SUBSCRIBE", id: 1, pattern: "/durable/**" });
    const snapshot = await reader.next("SNAPSHOT");
    expect(snapshot.params).toHaveLength(30);
    expect(snapshot.params.find((p) => p.address === "/durable/17")).toMatchObject({ value: "v17", revision: 1 });
  }, 60_000);

  it("a relay stopped with SIGTERM closes its sessions with 1001 (going away); its peers keep serving", async () => {
    const victim = relays.at(-1)!;
    const client = await RawClient.hello(victim.url);
    victim.proc.kill("SIGTERM");
    expect((await client.closed).code).toBe(1001);
    expect(await victim.exited).toEqual([0, null]);
    const survivor = relays.find((r) => r !== victim && r.proc.exitCode === null && r.proc.signalCode === null)!;
    const other = await RawClient.hello(survivor.url);
    closers.push(() => other.close());
    other.send({ type: "GET", address: "/durable/5" });
    expect((await other.next("SNAPSHOT")).params[0]).toMatchObject({ value: "v5" });
  }, 30_000);
});

// A relay cluster over a real redis-server: three relays (in this process) behind one Redis
// act as one router — SETs, PUBLISHes and streams cross relays with the subscription
// semantics of the router, revisions come from one atomic Redis step (racing SETs: one
// winner, one conflict), locks and TTLs hold cluster-wide, a joining relay finds every param.
// Faults with relay processes: cluster-faults.test.ts.
import { execFileSync } from "node:child_process";
import { createClient } from "@redis/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClaspClient } from "../../src/clasp/client.js";
import { ClusterError, RelayCluster } from "../../src/relay/cluster.js";
import { RelayConfigError, applyToml, defaultConfig, type Relay } from "../../src/relay/index.js";
import { WebSocketTransport, type WebSocketConstructor } from "../../src/transports/websocket.js";
import WebSocket from "ws";
import { startRedis, freePort, type RedisServer } from "../helpers/redis.js";
import { RawClient, sleep, startRelay, until } from "./helpers.js";

let redis: RedisServer | undefined;
const relays: Relay[] = [];
const clients: Array<{ close(): void }> = [];
const skip = (() => {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
    return false;
  } catch {
    return true;
  }
})();
if (skip) console.warn("cluster tests skipped: redis-server is not installed (Debian package redis-server)");

beforeAll(async () => {
  if (skip) return;
  redis = await startRedis();
  for (let i = 0; i < 3; i++) relays.push(await startRelay({ cluster: redis!.url }));
}, 30_000);

afterAll(async () => {
  for (const c of clients) c.close();
  for (const r of relays) await r.close();
  await redis?.stop();
});

async function raw(relay: Relay, token?: string): Promise<RawClient> {
  const c = await RawClient.hello(relay.url, token);
  clients.push(c);
  return c;
}

/** Subscribes `c` to `pattern` and waits until its relay has the subscription (a PING round trip). */
async function subscribe(c: RawClient, id: number, pattern: string, types?: Array<"param" | "event" | "stream" | "gesture">): Promise<void> {
  c.send({ type: "SUBSCRIBE", id, pattern, ...(types ? { types } : {}) });
  c.send({ type: "PING" });
  await c.next("PONG");
}

describe.skipIf(skip)("relay cluster over Redis", () => {
  it("delivers a SET made on one relay to subscribers on every relay, with one revision", async () => {
    const [a, b, c] = await Promise.all(relays.map((r) => raw(r)));
    await Promise.all([subscribe(a!, 1, "/mix/**"), subscribe(b!, 1, "/mix/*/fader"), subscribe(c!, 1, "/other/**")]);
    a!.send({ type: "SET", address: "/mix/1/fader", value: 0.5 });
    expect(await a!.next("ACK")).toEqual({ type: "ACK", address: "/mix/1/fader", revision: 1 });
    expect(await a!.next("SET")).toMatchObject({ address: "/mix/1/fader", value: 0.5, revision: 1 }); // sender included
    expect(await b!.next("SET")).toMatchObject({ address: "/mix/1/fader", value: 0.5, revision: 1 });
    b!.send({ type: "SET", address: "/mix/1/fader", value: 0.75 });
    expect(await b!.next("ACK")).toMatchObject({ revision: 2 });
    expect(await a!.next("SET")).toMatchObject({ value: 0.75, revision: 2 });
    c!.send({ type: "GET", address: "/mix/1/fader" });
    expect((await c!.next("SNAPSHOT")).params[0]).toMatchObject({ address: "/mix/1/fader", value: 0.75, revision: 2, writer: b!.of("WELCOME")[0]!.session });
    await sleep(50);
    expect(c!.of("SET")).toEqual([]); // not subscribed to /mix
    for (const r of relays) expect(r.router.size).toBeGreaterThanOrEqual(1);
  });

  it("forwards PUBLISH events, streams and gestures to matching subscribers on the other relays, never back to the sender", async () => {
    const [a, b, c] = await Promise.all(relays.map((r) => raw(r)));
    await Promise.all([subscribe(a!, 1, "/ev/**"), subscribe(b!, 1, "/ev/**", ["stream"]), subscribe(c!, 1, "/ev/x")]);
    c!.send({ type: "PUBLISH", address: "/ev/x", signal: "event", value: "hit" });
    c!.send({ type: "PUBLISH", address: "/ev/s", signal: "stream", samples: [1, 2, 3] });
    a!.send({ type: "PUBLISH", address: "/ev/g", signal: "gesture", id: 7, phase: "start", value: 1 });
    a!.send({ type: "PUBLISH", address: "/ev/g", signal: "gesture", id: 7, phase: "end", value: 2 });
    expect(await a!.next("PUBLISH")).toMatchObject({ address: "/ev/x", signal: "event", value: "hit" });
    expect(await a!.next("PUBLISH")).toMatchObject({ address: "/ev/s", signal: "stream", samples: [1, 2, 3] });
    expect(await b!.next("PUBLISH")).toMatchObject({ address: "/ev/s", signal: "stream" }); // types: stream only
    await sleep(100);
    expect(b!.of("PUBLISH")).toHaveLength(1);
    expect(c!.of("PUBLISH")).toEqual([]); // its own event, and nothing else matches /ev/x
    expect(a!.of("PUBLISH").map((m) => m.address)).toEqual(["/ev/x", "/ev/s"]); // its own gesture not echoed
    expect(relays[0]!.cluster!.counts.forwarded).toBeGreaterThan(0);
  });

  it("gives two SETs racing on different relays with the same expected revision one winner and one conflict", async () => {
    const [a, b] = await Promise.all([raw(relays[0]!), raw(relays[1]!)]);
    a!.send({ type: "SET", address: "/race", value: 0 });
    const base = Number((await a!.next("ACK")).revision);
    for (let round = 0; round < 20; round++) {
      const expected = base + round;
      a!.send({ type: "SET", address: "/race", value: `a${round}`, revision: expected });
      b!.send({ type: "SET", address: "/race", value: `b${round}`, revision: expected });
      await until(() => a!.of("ACK").length + a!.of("ERROR").length + b!.of("ACK").length + b!.of("ERROR").length === 1 + 2 * (round + 1), 5000, `round ${round}`);
    }
    const acks = [...a!.of("ACK").slice(1), ...b!.of("ACK")].map((m) => Number(m.revision));
    const conflicts = [...a!.of("ERROR"), ...b!.of("ERROR")];
    expect(acks).toHaveLength(20);
    expect(conflicts).toHaveLength(20);
    expect(conflicts.every((e) => e.code === 400)).toBe(true);
    expect(new Set(acks).size).toBe(20); // never two revisions with the same number
    expect(acks.sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => base + i + 1));
    // Every relay ends on the same param.
    const readers = await Promise.all(relays.map((r) => raw(r)));
    for (const r of readers) r.send({ type: "GET", address: "/race" });
    const revs = await Promise.all(readers.map(async (r) => Number((await r.next("SNAPSHOT")).params[0]!.revision)));
    expect(revs).toEqual([base + 20, base + 20, base + 20]);
  });

  it("holds locks cluster-wide and frees them when the holder's session ends", async () => {
    const [a, b] = await Promise.all([raw(relays[0]!), raw(relays[2]!)]);
    a!.send({ type: "SET", address: "/lock/me", value: 1, lock: true });
    await a!.next("ACK");
    b!.send({ type: "SET", address: "/lock/me", value: 2 });
    const refused = await b!.next("ERROR");
    expect(refused).toMatchObject({ code: 401, address: "/lock/me" });
    expect(refused.message).toContain(a!.of("WELCOME")[0]!.session);
    a!.send({ type: "SET", address: "/lock/me", value: 3 }); // the holder may write
    expect(await a!.next("ACK")).toMatchObject({ revision: 2 });
    a!.close();
    // The release is one Redis round trip after the relay saw the session end.
    for (let i = 0; i < 50 && b!.of("ACK").length === 0; i++) {
      const answers = b!.of("ERROR").length;
      b!.send({ type: "SET", address: "/lock/me", value: 4 });
      await until(() => b!.of("ACK").length + b!.of("ERROR").length > answers, 5000, "an answer");
      if (b!.of("ACK").length === 0) await sleep(20);
    }
    expect(b!.of("ACK")[0]).toMatchObject({ address: "/lock/me", revision: 3 });
  });

  it("expires a param with a TTL on every relay and in Redis", async () => {
    const [a, c] = await Promise.all([raw(relays[0]!), raw(relays[2]!)]);
    a!.send({ type: "SET", address: "/ttl/short", value: "hi", ttl: 1 }); // sliding, 1 s
    await a!.next("ACK");
    a!.send({ type: "SET", address: "/ttl/short", value: "bye" }); // keeps the TTL the last SET gave
    await a!.next("ACK");
    const r = createClient({ url: redis!.url });
    await r.connect();
    try {
      expect(await r.exists("clawft:cluster:p:/ttl/short")).toBe(1);
      const pttl = await r.pTTL("clawft:cluster:p:/ttl/short");
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(1000);
      await sleep(1300);
      expect(await r.exists("clawft:cluster:p:/ttl/short")).toBe(0);
    } finally {
      await r.close();
    }
    // Each router drops expired params in its once-a-second sweep (docs/router.md): ask until it did.
    for (let i = 0; i < 30 && c!.of("ERROR").length === 0; i++) {
      const answers = c!.of("SNAPSHOT").length;
      c!.send({ type: "GET", address: "/ttl/short" });
      await until(() => c!.of("SNAPSHOT").length > answers || c!.of("ERROR").length > 0, 5000, "an answer");
      if (c!.of("ERROR").length === 0) await sleep(100);
    }
    expect(await c!.next("ERROR")).toMatchObject({ code: 201 });
    // A new SET makes a new param (revision 1) on every relay, although they held revision 1 before.
    c!.send({ type: "SET", address: "/ttl/short", value: "again" });
    expect(await c!.next("ACK")).toMatchObject({ revision: 1 });
    // Also on the relay that committed "bye": it applied the TTL Redis kept, so its copy expired.
    a!.send({ type: "GET", address: "/ttl/short" });
    expect((await a!.next("SNAPSHOT")).params[0]).toMatchObject({ value: "again", revision: 1 });
  });

  it("lets a relay that joins later find every param, and our ClaspClient read and write through it", async () => {
    const late = await startRelay({ cluster: redis!.url });
    relays.push(late);
    expect(late.restored.restored).toBeGreaterThanOrEqual(3);
    const client = await ClaspClient.connect(() => new WebSocketTransport(late.url, { WebSocket: WebSocket as unknown as WebSocketConstructor }));
    clients.push(client);
    const seen: unknown[] = [];
    client.on("/mix/**", (value) => seen.push(value));
    expect(await client.get("/mix/1/fader")).toBe(0.75);
    const a = await raw(relays[0]!);
    await subscribe(a, 1, "/mix/**");
    expect(await client.set("/mix/1/fader", 0.25)).toBe(3);
    expect(await a.next("SET")).toMatchObject({ value: 0.25, revision: 3 });
    await until(() => seen.includes(0.25));
  });

  it("ignores malformed messages on the cluster channel (counted), and keeps serving", async () => {
    const [a, b] = await Promise.all([raw(relays[0]!), raw(relays[1]!)]);
    await subscribe(b!, 1, "/junk/**");
    const before = relays[1]!.cluster!.counts.failures;
    const r = createClient({ url: redis!.url });
    await r.connect();
    try {
      const ns = (x: string) => `${Buffer.byteLength(x, "latin1")}:${x}`;
      const junk = [
        "S", // no fields
        "S3:/ab", // a netstring that overruns
        `S${ns("/junk/x")}${ns("0")}${ns("w")}${ns("1")}${ns("")}${ns("\x0a")}`, // revision 0
        `S${ns("/junk/x")}${ns("1")}${ns("w")}${ns("1")}${ns("")}${ns("\xff")}`, // 0xff is no CLASP value type
        "F5:abc", // a forwarded frame whose relay id overruns
        "Q", // no such kind
      ];
      for (const m of junk) await r.publish("clawft:cluster:commits", Buffer.from(m, "latin1"));
    } finally {
      await r.close();
    }
    await until(() => relays[1]!.cluster!.counts.failures - before >= 6, 5000, "the junk to be counted");
    expect(relays[1]!.cluster!.counts.failures - before).toBe(6);
    a!.send({ type: "SET", address: "/junk/ok", value: true });
    expect(await b!.next("SET")).toMatchObject({ address: "/junk/ok", value: true });
    expect(b!.of("SET")).toHaveLength(1); // nothing from the junk
  });

  it("refuses a SET with a clear ERROR when Redis is unreachable, and keeps what was committed", async () => {
    // A cluster member of its own, whose Redis goes away.
    const own = await startRedis();
    const relay = await startRelay({ cluster: own!.url });
    try {
      const a = await raw(relay);
      a.send({ type: "SET", address: "/kept", value: 1 });
      await a.next("ACK");
      await own!.stop();
      await until(() => relay.logs.some((l) => l.includes("unreachable")), 5000, "the relay to notice");
      a.send({ type: "SET", address: "/kept", value: 2 });
      const e = await a.next("ERROR");
      expect(e).toMatchObject({ code: 501, address: "/kept" });
      expect(e.message).toMatch(/cluster store unreachable/);
      a.send({ type: "GET", address: "/kept" });
      expect((await a.next("SNAPSHOT")).params[0]).toMatchObject({ value: 1, revision: 1 });
      a.send({ type: "PING" });
      await a.next("PONG"); // the session stays
    } finally {
      await relay.close();
    }
  });
});

describe.skipIf(skip)("relay cluster with tokens and scopes", () => {
  it("forwards only what the sender's scope allows; BUNDLEs of PUBLISHes cross, SETs in a BUNDLE are refused", async () => {
    const router = {
      security: "authenticated" as const,
      tokens: [
        { token: "desk", write: ["/desk/**"] },
        { token: "viewer", read: ["/desk/**"], write: [] },
      ],
    };
    const pair = [await startRelay({ cluster: redis!.url, router }), await startRelay({ cluster: redis!.url, router })];
    try {
      const desk = await raw(pair[0]!, "desk");
      const viewer = await raw(pair[1]!, "viewer");
      await subscribe(viewer, 1, "/**");
      desk.send({ type: "PUBLISH", address: "/secret/x", signal: "event", value: 1 }); // outside desk's write scope
      expect(await desk.next("ERROR")).toMatchObject({ code: 301, address: "/secret/x" });
      desk.send({
        type: "BUNDLE",
        messages: [
          { type: "PUBLISH", address: "/desk/cue", signal: "event", value: "go" },
          { type: "PUBLISH", address: "/desk/fx", signal: "event", value: "on" },
        ],
      });
      expect(await viewer.next("PUBLISH")).toMatchObject({ address: "/desk/cue", value: "go" });
      expect(await viewer.next("PUBLISH")).toMatchObject({ address: "/desk/fx", value: "on" });
      desk.send({ type: "BUNDLE", messages: [{ type: "SET", address: "/desk/a", value: 1 }] });
      expect(await desk.next("ERROR")).toMatchObject({ code: 402 });
      desk.send({ type: "SET", address: "/desk/level", value: 3 });
      expect(await viewer.next("SET")).toMatchObject({ address: "/desk/level", value: 3, revision: 1 });
      viewer.send({ type: "SET", address: "/desk/level", value: 4 }); // the viewer may write nothing
      expect(await viewer.next("ERROR")).toMatchObject({ code: 301 });
      await sleep(100);
      expect(viewer.of("PUBLISH").map((m) => m.address)).toEqual(["/desk/cue", "/desk/fx"]);
      expect(pair[0]!.cluster!.counts.forwarded).toBe(1); // the BUNDLE; the refused PUBLISH stayed
    } finally {
      for (const r of pair) await r.close();
    }
  });
});

describe.skipIf(skip)("relay cluster: bad configuration", () => {
  it("refuses a URL that is not redis://, storage beside a cluster, and a Redis that does not answer", async () => {
    await expect(RelayCluster.connect("http://127.0.0.1:1")).rejects.toThrow(ClusterError);
    expect(() => applyToml(defaultConfig(), 'cluster = "127.0.0.1:6379"')).toThrow(/cluster: must be a redis:\/\/ URL/);
    expect(applyToml(defaultConfig(), 'cluster = "redis://127.0.0.1:6379"').cluster).toBe("redis://127.0.0.1:6379");
    await expect(startRelay({ cluster: redis!.url, storage: "fs:/tmp/nope" })).rejects.toThrow(RelayConfigError);
    const port = await freePort(); // nobody listens there
    await expect(startRelay({ cluster: `redis://127.0.0.1:${port}` })).rejects.toThrow(/cannot join the cluster/);
  });
});

// A relay cluster over a real redis-server: three relays (in this process) behind one Redis
// act as one router — SETs, PUBLISHes and streams cross relays with the subscription
// semantics of the router, revisions come from one atomic Redis step (racing SETs: one
// winner, one conflict), locks and TTLs hold cluster-wide, a joining relay finds every param.
// A BUNDLE's SETs commit all or nothing and reach every relay in one step; a session's SETs
// are pipelined to Redis and answered in order; a CLP contract governs SETs on a cluster relay.
// Faults with relay processes: cluster-faults.test.ts.
import { execFileSync } from "node:child_process";
import { createClient } from "@redis/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClaspClient } from "../../src/clasp/client.js";
import type { Message } from "../../src/clasp/index.js";
import { createContract, createRuntime, governAddresses } from "../../src/clp/index.js";
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

/** The SETs and PUBLISHes `c` received on addresses starting with `prefix`, as "SET <address> <revision>" / "PUBLISH <address>". */
function seen(c: RawClient, prefix: string): string[] {
  return c.messages.flatMap((m: Message) =>
    m.type === "SET" && m.address.startsWith(prefix) ? [`SET ${m.address} ${m.revision}`] : m.type === "PUBLISH" && m.address.startsWith(prefix) ? [`PUBLISH ${m.address}`] : [],
  );
}

describe.skipIf(skip)("relay cluster: BUNDLEs and pipelined SETs", () => {
  it("commits a BUNDLE's SETs whole on every relay; subscribers elsewhere get its SETs together, then its PUBLISHes", async () => {
    const [a, b, c] = await Promise.all(relays.slice(0, 3).map((r) => raw(r)));
    await Promise.all([subscribe(a!, 1, "/bun/**"), subscribe(b!, 1, "/bun/**"), subscribe(c!, 1, "/bun/**")]);
    // c keeps writing /bun/noise on a third relay meanwhile: nothing of it may come between the bundle's SETs.
    for (let i = 0; i < 40; i++) c!.send({ type: "SET", address: "/bun/noise", value: i });
    a!.send({
      type: "BUNDLE",
      messages: [
        { type: "SET", address: "/bun/x", value: 1 },
        { type: "SET", address: "/bun/y", value: "two" },
        { type: "PUBLISH", address: "/bun/cue", signal: "event", value: "go" },
        { type: "SET", address: "/bun/x", value: 3 }, // checked against what the first SET leaves: revision 2
      ],
    });
    for (let i = 40; i < 80; i++) c!.send({ type: "SET", address: "/bun/noise", value: i });
    expect(await a!.next("ACK")).toEqual({ type: "ACK", revision: 2 }); // the last SET's revision, as one relay answers
    // Every relay gets them in its own time: wait for each of the three subscribers, not only two.
    await until(() => seen(b!, "/bun/").length >= 84 && seen(a!, "/bun/").length >= 83 && seen(c!, "/bun/").length >= 84, 5000, "every SET and the PUBLISH");
    const bundle = ["SET /bun/x 1", "SET /bun/y 1", "SET /bun/x 2", "PUBLISH /bun/cue"];
    const onB = seen(b!, "/bun/").filter((x) => !x.startsWith("SET /bun/noise"));
    expect(onB).toEqual(bundle);
    const at = seen(b!, "/bun/").indexOf(bundle[0]!);
    expect(seen(b!, "/bun/").slice(at, at + 4)).toEqual(bundle); // together: no noise between them
    expect(seen(a!, "/bun/").filter((x) => !x.startsWith("SET /bun/noise"))).toEqual(bundle.slice(0, 3)); // the sender: its SETs, not its own PUBLISH
    expect(seen(c!, "/bun/").filter((x) => !x.startsWith("SET /bun/noise"))).toEqual(bundle);
    const r = createClient({ url: redis!.url });
    await r.connect();
    try {
      expect(await r.hGetAll("clawft:cluster:p:/bun/x")).toMatchObject({ rev: "2" });
      expect(await r.hGetAll("clawft:cluster:p:/bun/y")).toMatchObject({ rev: "1" });
    } finally {
      await r.close();
    }
  });

  it("commits nothing of a BUNDLE with one conflicting or locked SET, and tells its sender which one", async () => {
    const [a, b, c] = await Promise.all(relays.slice(0, 3).map((r) => raw(r)));
    await subscribe(c!, 1, "/nob/**");
    a!.send({ type: "SET", address: "/nob/base", value: 1 });
    await a!.next("ACK");
    b!.send({ type: "SET", address: "/nob/locked", value: 0, lock: true });
    await b!.next("ACK");
    a!.send({
      type: "BUNDLE",
      messages: [
        { type: "SET", address: "/nob/new", value: 5 },
        { type: "SET", address: "/nob/base", value: 9, revision: 7 }, // Redis holds revision 1
      ],
    });
    expect(await a!.next("ERROR")).toMatchObject({ code: 400, address: "/nob/base" });
    a!.send({ type: "BUNDLE", messages: [{ type: "SET", address: "/nob/other", value: 1 }, { type: "SET", address: "/nob/locked", value: 1 }] });
    const locked = await a!.next("ERROR");
    expect(locked).toMatchObject({ code: 401, address: "/nob/locked" });
    expect(locked.message).toContain(b!.of("WELCOME")[0]!.session);
    // Revisions inside a BUNDLE are checked against what the earlier SETs leave.
    a!.send({ type: "BUNDLE", messages: [{ type: "SET", address: "/nob/base", value: 2, revision: 1 }, { type: "SET", address: "/nob/base", value: 3, revision: 2 }] });
    expect(await a!.next("ACK")).toMatchObject({ revision: 3 });
    await until(() => seen(c!, "/nob/").length >= 4, 5000, "the SETs");
    await sleep(100);
    expect(seen(c!, "/nob/")).toEqual(["SET /nob/base 1", "SET /nob/locked 1", "SET /nob/base 2", "SET /nob/base 3"]);
    for (const x of [a!, b!, c!]) for (const address of ["/nob/new", "/nob/other"]) x.send({ type: "GET", address });
    for (const x of [a!, b!, c!]) for (const address of ["/nob/new", "/nob/other"]) expect(await x.next("ERROR")).toMatchObject({ code: 201, address }); // no relay holds them
    const r = createClient({ url: redis!.url });
    await r.connect();
    try {
      expect(await r.exists(["clawft:cluster:p:/nob/new", "clawft:cluster:p:/nob/other"])).toBe(0);
      expect(await r.hGet("clawft:cluster:p:/nob/locked", "rev")).toBe("1");
    } finally {
      await r.close();
    }
  });

  it("pipelines SETs to Redis and answers each session in order: its SET, then its ACK; a GET between SETs sees the ones before it", async () => {
    const [a, b] = await Promise.all([raw(relays[0]!), raw(relays[1]!)]);
    await Promise.all([subscribe(a!, 1, "/pipe/**"), subscribe(b!, 1, "/pipe/**")]);
    const peak = relays[0]!.cluster!.counts.peakInFlight;
    const N = 150;
    for (let i = 0; i < N; i++) {
      a!.send({ type: "SET", address: "/pipe/n", value: `a${i}` });
      b!.send({ type: "SET", address: "/pipe/n", value: `b${i}` });
      if (i === 99) a!.send({ type: "GET", address: "/pipe/n" });
    }
    a!.send({ type: "PING" });
    await a!.next("PONG", 10_000);
    await until(() => b!.of("ACK").length === N, 10_000, "b's ACKs");
    const acks = [...a!.of("ACK"), ...b!.of("ACK")].map((m) => Number(m.revision));
    expect(new Set(acks).size).toBe(2 * N); // one revision per SET, none twice
    expect(Math.max(...acks)).toBe(2 * N);
    for (const c of [a!, b!]) {
      // Each session's ACKs rise, and each comes after the SET with its revision reached the sender.
      const revs: number[] = [];
      const setRevs = new Set<number>();
      for (const m of c.messages) {
        if (m.type === "SET" && m.address === "/pipe/n") setRevs.add(Number(m.revision));
        if (m.type === "ACK") {
          expect(setRevs.has(Number(m.revision))).toBe(true);
          revs.push(Number(m.revision));
        }
      }
      expect(revs).toEqual([...revs].sort((x, y) => x - y));
    }
    // The GET came after a's 100th SET and before its 101st was answered.
    const order = a!.messages.filter((m) => m.type === "ACK" || (m.type === "SNAPSHOT" && m.params[0]?.address === "/pipe/n"));
    const snapAt = order.findIndex((m) => m.type === "SNAPSHOT");
    expect(snapAt).toBe(100);
    const snap = order[snapAt] as Extract<Message, { type: "SNAPSHOT" }>;
    expect(Number(snap.params[0]!.revision)).toBeGreaterThanOrEqual(Number((order[99] as Extract<Message, { type: "ACK" }>).revision));
    // Several scripts were in flight at once: the SETs did not wait a round trip each.
    expect(Math.max(peak, relays[0]!.cluster!.counts.peakInFlight)).toBeGreaterThan(1);
    // Every relay ends on Redis's revision.
    const readers = await Promise.all(relays.slice(0, 3).map((r) => raw(r)));
    for (const r of readers) r.send({ type: "GET", address: "/pipe/n" });
    for (const r of readers) expect(Number((await r.next("SNAPSHOT")).params[0]!.revision)).toBe(2 * N);
  });
});

describe.skipIf(skip)("relay cluster: a param key Redis holds as another type", () => {
  it("refuses only the SET on it (ERROR 500); the SETs committed with it in the same batch are not affected", async () => {
    const r = createClient({ url: redis!.url });
    await r.connect();
    try {
      await r.set("clawft:cluster:p:/wrongtype", "not a hash");
      const a = await raw(relays[0]!);
      a.send({ type: "SET", address: "/typed/before", value: 1 });
      a.send({ type: "SET", address: "/wrongtype", value: 1 });
      a.send({ type: "SET", address: "/typed/after", value: 2 });
      expect(await a.next("ACK")).toMatchObject({ address: "/typed/before", revision: 1 });
      expect(await a.next("ERROR")).toMatchObject({ code: 500, address: "/wrongtype", message: expect.stringMatching(/not a hash/) });
      expect(await a.next("ACK")).toMatchObject({ address: "/typed/after", revision: 1 });
      expect(await r.get("clawft:cluster:p:/wrongtype")).toBe("not a hash"); // left as it was
      expect(await r.hGet("clawft:cluster:p:/typed/after", "rev")).toBe("1");
      // A relay that starts now counts it unreadable and restores the rest.
      const late = await startRelay({ cluster: redis!.url });
      try {
        expect(late.restored.unreadable).toBeGreaterThanOrEqual(1);
        expect(late.restored.restored).toBeGreaterThanOrEqual(2);
      } finally {
        await late.close();
      }
    } finally {
      await r.close();
    }
  });
});

describe.skipIf(skip)("relay cluster: locks of pipelined SETs", () => {
  it("releases the locks a session's SETs took while it was already gone (their scripts were in flight when it closed)", async () => {
    const [a, b] = await Promise.all([raw(relays[0]!), raw(relays[1]!)]);
    const N = 50;
    for (let i = 0; i < N; i++) a!.send({ type: "SET", address: `/lockgone/${i}`, value: 1, lock: true });
    a!.ws.terminate(); // at once, no close handshake: the relay sees the session end while most of the scripts are in flight
    // Each lock is released once its commit was answered: every address becomes writable from another relay.
    const free = () => new Set(b!.of("ACK").map((m) => m.address));
    for (let round = 0; round < 50 && free().size < N; round++) {
      const asked = [...Array(N).keys()].filter((i) => !free().has(`/lockgone/${i}`));
      const answers = b!.of("ACK").length + b!.of("ERROR").length;
      for (const i of asked) b!.send({ type: "SET", address: `/lockgone/${i}`, value: 2 });
      await until(() => b!.of("ACK").length + b!.of("ERROR").length === answers + asked.length, 5000, "answers");
      if (free().size < N) await sleep(50);
    }
    expect(free().size).toBe(N);
    const r = createClient({ url: redis!.url });
    await r.connect();
    try {
      for (let i = 0; i < N; i++) expect(await r.hGet(`clawft:cluster:p:/lockgone/${i}`, "lock")).toBeNull();
    } finally {
      await r.close();
    }
  });
});

describe.skipIf(skip)("relay cluster governed by a CLP contract", () => {
  it("decides on the relay that received the SET, before the Redis commit; the contract's writes reach every relay", async () => {
    const runtime = createRuntime(
      createContract({
        intents: { selectFlight: { inputs: { flightId: "string" } } },
        constants: { flights: ["LH1", "BA2"] },
        guards: [{ name: "flight_must_exist", deny: { not: { in: [{ var: "intent.payload.flightId" }, { var: "const.flights" }] } } }],
        transitions: { select: { when: { "==": [{ var: "intent.name" }, "selectFlight"] }, effects: { "booking.flight": { var: "intent.payload.flightId" } } } },
      }),
    );
    const published: Array<[string, number | bigint]> = [];
    const unbind = governAddresses(runtime, relays[0]!.host, {
      bindings: [{ pattern: "/flights/select", intent: "selectFlight", payload: (s) => ({ flightId: s.value }) }],
      onPublish: (address, revision) => published.push([address, revision]),
    });
    const r = createClient({ url: redis!.url });
    await r.connect();
    try {
      const [a, b] = await Promise.all([raw(relays[0]!), raw(relays[1]!)]);
      await subscribe(b!, 1, "/state/**");
      a!.send({ type: "SET", address: "/flights/select", value: "LH1" });
      expect(await a!.next("ACK")).toEqual({ type: "ACK", address: "/flights/select" });
      expect(await b!.next("SET")).toMatchObject({ address: "/state/booking/flight", value: "LH1", revision: 1 }); // another relay, from Redis
      expect(runtime.getState("booking")).toEqual({ flight: "LH1" });
      expect(published).toEqual([["/state/booking/flight", 1]]);
      expect(await r.hGetAll("clawft:cluster:p:/state/booking/flight")).toMatchObject({ rev: "1", writer: relays[0]!.cluster!.relayId });
      expect(await r.exists("clawft:cluster:p:/flights/select")).toBe(0); // the governed address is an intent, not a param
      a!.send({ type: "SET", address: "/flights/select", value: "XX9" });
      const denied = await a!.next("ERROR");
      expect(denied).toMatchObject({ code: 402, address: "/flights/select" });
      expect(denied.message).toMatch(/flight_must_exist/);
      a!.send({ type: "SET", address: "/state/booking/flight", value: "hacked" }); // only the contract writes there
      expect(await a!.next("ERROR")).toMatchObject({ code: 301, address: "/state/booking/flight" });
      a!.send({ type: "BUNDLE", messages: [{ type: "SET", address: "/flights/select", value: "BA2" }] });
      expect(await a!.next("ERROR")).toMatchObject({ code: 402, message: expect.stringMatching(/BUNDLE/) });
      a!.send({ type: "SET", address: "/flights/select", value: "BA2" });
      await a!.next("ACK");
      expect(await b!.next("SET")).toMatchObject({ address: "/state/booking/flight", value: "BA2", revision: 2 });
      a!.send({ type: "SET", address: "/ungoverned/x", value: 1 }); // passes the contract: committed in Redis as any SET
      expect(await a!.next("ACK")).toEqual({ type: "ACK", address: "/ungoverned/x", revision: 1 });
      expect(await r.hGet("clawft:cluster:p:/ungoverned/x", "rev")).toBe("1");
      await sleep(100);
      expect(b!.of("SET").map((m) => m.value)).toEqual(["LH1", "BA2"]); // nothing from the refused SETs
      expect(runtime.getState("booking")).toEqual({ flight: "BA2" });
    } finally {
      unbind();
      await r.close();
    }
  });
});

describe.skipIf(skip)("relay cluster with tokens and scopes", () => {
  it("forwards only what the sender's scope allows; BUNDLEs cross, a BUNDLE with a SET outside the scope commits nothing", async () => {
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
      expect(await desk.next("ACK")).toEqual({ type: "ACK" }); // the BUNDLE of PUBLISHes (confirm QoS), as one relay answers it
      desk.send({ type: "BUNDLE", messages: [{ type: "SET", address: "/desk/a", value: 1 }, { type: "SET", address: "/secret/a", value: 1 }] });
      expect(await desk.next("ERROR")).toMatchObject({ code: 301, address: "/secret/a" });
      desk.send({ type: "BUNDLE", messages: [{ type: "SET", address: "/desk/a", value: 1 }] });
      expect(await desk.next("ACK")).toMatchObject({ revision: 1 });
      expect(await viewer.next("SET")).toMatchObject({ address: "/desk/a", value: 1, revision: 1 });
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

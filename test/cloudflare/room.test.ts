/**
 * CLASP rooms in real workerd (workers/cloudflare.ts: ClaspRoom Durable Objects, SQLite-backed,
 * stored on disk): the real @clasp-to/core 3.3.2 client and our ClaspClient share a room, rooms
 * are isolated, params and revisions survive a workerd restart, and the room refuses what the
 * Node relay refuses (test/relay/bad-input.test.ts), the same way.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ClaspClient, type MessageInfo } from "../../src/clasp/client.js";
import { codec } from "../../src/clasp/index.js";
import { WebSocketTransport, type WebSocketConstructor } from "../../src/transports/websocket.js";
import { openAtOnce, RawClient, sleep, until } from "../relay/helpers.js";
import { WorkerdRoom, workerdMissing } from "./workerd.js";

// The 3.3.2 client reads the global WebSocket (clasp-wire.md §10).
(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
const { Clasp } = await import("@clasp-to/core");
type Clasp = InstanceType<typeof Clasp>;

/** Sessions per room in this file: small, so the limit is easy to reach. */
const MAX_SESSIONS = 4;

let w: WorkerdRoom;
const closers: Array<() => void> = [];

async function ours(room: string, name = "ours"): Promise<ClaspClient> {
  const c = await ClaspClient.connect(() => new WebSocketTransport(w.url(room), { WebSocket: WebSocket as unknown as WebSocketConstructor }), { name, reconnect: false });
  closers.push(() => c.close());
  return c;
}

async function theirs(room: string, name = "clasp-to"): Promise<Clasp> {
  const c = new Clasp(w.url(room), { name, reconnect: false });
  await c.connect();
  closers.push(() => c.close());
  return c;
}

async function raw(room: string): Promise<RawClient> {
  const c = await RawClient.hello(w.url(room));
  closers.push(() => c.close());
  return c;
}

/** Polls an async condition every 50 ms. @throws after `ms` */
async function eventually(cond: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Open sessions of a room, from its status. */
async function sessions(room: string): Promise<number> {
  return ((await (await fetch(`${w.base}/ws/${room}?status`)).json()) as { sessions: number }).sessions;
}

function closeAll(): void {
  for (const close of closers.splice(0)) close();
}

describe.skipIf(workerdMissing)(workerdMissing ?? "CLASP rooms in workerd", () => {
  beforeAll(async () => {
    w = await WorkerdRoom.start({ bindings: [{ name: "CLASP_LIMITS", json: JSON.stringify({ max_sessions: MAX_SESSIONS }) }] });
  }, 60_000);

  afterAll(async () => {
    closeAll();
    await w?.close();
  });

  it("routes GET /ws/<room> upgrades (clasp echoed), serves the codec endpoints, refuses bad room names", async () => {
    const c = await RawClient.open(w.url("lobby"));
    expect(c.ws.protocol).toBe("clasp");
    c.send({ type: "HELLO", version: 1, name: "raw", features: ["param"] });
    expect((await c.next("WELCOME")).name).toBe("clawft room");
    expect((await c.next("SNAPSHOT")).params).toEqual([]);
    c.close();
    const plain = await fetch(`${w.base}/ws/lobby`);
    expect(plain.status).toBe(426);
    expect((await fetch(`${w.base}/ws/`)).status).toBe(400);
    expect((await fetch(`${w.base}/ws/a%2Fb`)).status).toBe(400);
    const enc = await fetch(`${w.base}/encode`, { method: "POST", body: JSON.stringify({ type: "PING" }) });
    expect(new Uint8Array(await enc.arrayBuffer())).toEqual(codec.encode({ type: "PING" }));
  });

  it("lets @clasp-to/core 3.3.2 and ClaspClient see each other's SETs with revisions", async () => {
    const js = await theirs("studio");
    const our = await ours("studio");
    // The 3.3.2 client's callback carries no revision for live SETs: an observer sees the frames.
    const observer = await raw("studio");
    observer.send({ type: "SUBSCRIBE", id: 1, pattern: "/mix/**" });
    const jsSeen: Array<[string, unknown]> = [];
    const ourSeen: Array<[string, unknown, number]> = [];
    js.subscribe("/mix/**", (v, addr) => jsSeen.push([addr, v]));
    our.subscribe("/mix/**", (v, addr, info: MessageInfo) => ourSeen.push([addr, v, Number(info.revision)]));
    await sleep(100);
    js.set("/mix/fader", 0.5);
    await until(() => ourSeen.length >= 1, 5000, "ClaspClient sees the JS client's SET");
    expect(Number(await our.set("/mix/fader", 0.75))).toBe(2);
    await until(() => jsSeen.length >= 2, 5000, "the JS client sees ClaspClient's SET");
    expect(Number(await our.set("/mix/mute", true))).toBe(1);
    await until(() => jsSeen.length >= 3 && ourSeen.length >= 3, 5000, "both see the third SET");
    expect(ourSeen).toEqual([
      ["/mix/fader", 0.5, 1],
      ["/mix/fader", 0.75, 2],
      ["/mix/mute", true, 1],
    ]);
    expect(jsSeen).toEqual([
      ["/mix/fader", 0.5],
      ["/mix/fader", 0.75],
      ["/mix/mute", true],
    ]);
    await until(() => observer.of("SET").length >= 3, 5000, "the observer's SETs");
    expect(observer.of("SET").map((m) => [m.address, m.value, Number(m.revision)])).toEqual(ourSeen);
    expect(await js.get("/mix/fader")).toBe(0.75);
    closeAll();
  });

  it("keeps rooms isolated: params, subscriptions and deliveries", async () => {
    const a = await raw("room-a");
    const b = await raw("room-b");
    a.send({ type: "SUBSCRIBE", id: 1, pattern: "/**" });
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/**" });
    await sleep(100);
    a.send({ type: "SET", address: "/shared/name", value: "a" });
    b.send({ type: "SET", address: "/shared/name", value: "b" });
    b.send({ type: "SET", address: "/shared/name", value: "b2" });
    await until(() => a.of("SET").length >= 1 && b.of("SET").length >= 2, 5000, "each room's own SETs");
    await sleep(100);
    expect(a.of("SET").map((m) => [m.value, m.revision])).toEqual([["a", 1]]);
    expect(b.of("SET").map((m) => [m.value, m.revision])).toEqual([["b", 1], ["b2", 2]]);
    const late = await raw("room-a");
    late.send({ type: "GET", address: "/shared/name" });
    const snap = await late.next("SNAPSHOT");
    expect(snap.params.map((p) => [p.value, p.revision])).toEqual([["a", 1]]);
    closeAll();
  });

  it("brings params and revisions back after workerd restarts (a committed SET is stored before its ACK)", async () => {
    const a = await ours("durable");
    expect(Number(await a.set("/keep/x", 1))).toBe(1);
    expect(Number(await a.set("/keep/x", { v: [1, 2, 3] }))).toBe(2);
    expect(Number(await a.set("/keep/y", "text"))).toBe(1);
    await a.bundle([{ set: ["/keep/b1", 1] }, { set: ["/keep/b2", 2] }]);
    expect(Number(await a.set("/keep/gone", 1, { ttl: 1 }))).toBe(1); // expires during the restart
    closeAll();
    // The ACKs above came after the writes were durable: stop at once, no grace.
    w.proc!.kill("SIGKILL");
    await sleep(1500);
    await w.restart();
    const c = await raw("durable");
    c.send({ type: "SUBSCRIBE", id: 1, pattern: "/keep/**" });
    const snap = await c.next("SNAPSHOT");
    const params = Object.fromEntries(snap.params.map((p) => [p.address, [p.value, Number(p.revision)]]));
    expect(params).toEqual({ "/keep/x": [{ v: [1, 2, 3] }, 2], "/keep/y": ["text", 1], "/keep/b1": [1, 1], "/keep/b2": [2, 1] });
    c.send({ type: "SET", address: "/keep/x", value: 3, revision: 2 });
    const set = await c.next("SET");
    expect([set.address, set.value, Number(set.revision)]).toEqual(["/keep/x", 3, 3]);
    const status = (await (await fetch(`${w.base}/ws/durable?status`)).json()) as { params: number };
    expect(status.params).toBe(4);
    closeAll();
  }, 30_000);

  it("answers malformed frames with ERROR 100/101, ignores text, and keeps the connection", async () => {
    const c = await raw("bad");
    c.send(new Uint8Array([0x53, 0x01, 0x00, 0x01, 0x7f])); // unknown message type
    c.send(new Uint8Array([0x00, 0x01, 0x02])); // no magic
    c.ws.send("not binary");
    c.send({ type: "PING" });
    await c.next("PONG");
    expect(c.of("ERROR").map((e) => e.code).sort()).toEqual([100, 101]);
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    closeAll();
  });

  it("refuses frames before HELLO with ERROR 300 and routes nothing for them", async () => {
    const watcher = await raw("early");
    watcher.send({ type: "SUBSCRIBE", id: 1, pattern: "/**" });
    await sleep(100);
    const c = await RawClient.open(w.url("early"));
    closers.push(() => c.close());
    c.send({ type: "SET", address: "/early/x", value: 1 });
    expect((await c.next("ERROR")).code).toBe(300);
    c.send({ type: "HELLO", version: 1, name: "late", features: [] });
    await c.next("WELCOME");
    c.send({ type: "SET", address: "/early/y", value: 2 });
    await until(() => watcher.of("SET").length >= 1, 5000, "the SET after HELLO");
    expect(watcher.of("SET").map((m) => m.address)).toEqual(["/early/y"]);
    closeAll();
  });

  it("answers an oversized frame with ERROR 100, and closes a socket sending a huge message (1009)", async () => {
    const c = await raw("big");
    const value = "x".repeat(70_000);
    c.send(codec.encode({ type: "PUBLISH", address: "/big", signal: "event", value: value.slice(0, 60_000) }));
    // A frame longer than max_message_size: built by hand (the encoder refuses it).
    const big = new Uint8Array(80_000);
    big.set([0x53, 0x01, 0xff, 0xff, 0x21]);
    c.send(big);
    expect((await c.next("ERROR")).code).toBe(100);
    c.send({ type: "PING" });
    await c.next("PONG");
    c.send(new Uint8Array(200_000));
    expect((await c.closed).code).toBe(1009);
    const other = await raw("big");
    other.send({ type: "PING" });
    await other.next("PONG");
    closeAll();
  });

  it("survives a SUBSCRIBE flood: the limit answers 429, the flooder stays usable, others unaffected", async () => {
    const c = await raw("flood");
    const bystander = await raw("flood");
    const n = 1100;
    for (const f of codec.encodeBatch(Array.from({ length: n }, (_, i) => ({ type: "SUBSCRIBE" as const, id: i + 1, pattern: `/flood/${i}/**` })))) c.send(f);
    await until(() => c.of("ERROR").length >= n - 1000, 20_000, "429s");
    expect(new Set(c.of("ERROR").map((e) => e.code))).toEqual(new Set([429]));
    bystander.send({ type: "SET", address: "/flood/150/x", value: 1 });
    await until(() => c.of("SET").some((s) => s.address === "/flood/150/x"), 5000, "delivery to the flooder");
    c.send({ type: "PING" });
    await c.next("PONG");
    closeAll();
  }, 30_000);

  it("refuses sockets past its session limit with 1013 and keeps serving the others", async () => {
    const members = await Promise.all(Array.from({ length: MAX_SESSIONS }, () => raw("full")));
    members[0]!.send({ type: "SUBSCRIBE", id: 1, pattern: "/**" });
    await sleep(100);
    const refused = await RawClient.open(w.url("full"));
    expect((await refused.closed).code).toBe(1013);
    members[1]!.send({ type: "SET", address: "/still/served", value: 1 });
    await until(() => members[0]!.of("SET").length >= 1, 5000, "delivery in the full room");
    // Another room is not affected by this one's limit.
    const elsewhere = await raw("not-full");
    elsewhere.send({ type: "PING" });
    await elsewhere.next("PONG");
    // A member leaves: the room takes a new socket again.
    members[2]!.close();
    await sleep(300);
    const next = await raw("full");
    next.send({ type: "PING" });
    await next.next("PONG");
    closeAll();
  }, 20_000);

  it("survives 200 sockets opened and dropped at once: sessions past the limit refused (1013), all released after", async () => {
    const closes: number[] = [];
    // Half of them start a session first.
    const sockets = await openAtOnce(w.url("churn"), 200, closes);
    // MAX_SESSIONS sessions fit: then new sockets are refused (1013) and further HELLOs get ERROR 501 and 1013.
    await eventually(async () => (await sessions("churn")) + closes.length === 200, 15_000, "every socket settled");
    expect(closes.length).toBeGreaterThan(0);
    expect(new Set(closes)).toEqual(new Set([1013]));
    for (const ws of sockets) ws.terminate(); // abrupt: no close handshake
    await eventually(async () => (await sessions("churn")) === 0, 15_000, "sockets dropped");
    const again = await Promise.all(Array.from({ length: MAX_SESSIONS }, () => raw("churn")));
    again[0]!.send({ type: "PING" });
    await again[0]!.next("PONG");
    closeAll();
  }, 40_000);

  it("reports no uncaught errors from workerd", () => {
    expect(w.output.filter((l) => /uncaught|error/i.test(l))).toEqual([]);
  });
});

// The real @clasp-to/core 3.3.2 client (Node, on the ws package) against the relay: what a
// second client receives is exactly what the router semantics say, revisions included.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket from "ws";
import { encode } from "../../src/clasp/index.js";
import { combineMetrics, type Relay } from "../../src/relay/index.js";
import { RawClient, sleep, startRelay, until } from "./helpers.js";

// The 3.3.2 client reads the global WebSocket (clasp-wire.md §10).
(globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
const { Clasp } = await import("@clasp-to/core");
type Clasp = InstanceType<typeof Clasp>;

let relay: Relay;
const clients: Clasp[] = [];

async function client(name: string): Promise<Clasp> {
  const c = new Clasp(relay.url, { name, reconnect: false });
  await c.connect();
  clients.push(c);
  return c;
}

beforeAll(async () => {
  vi.spyOn(console, "debug").mockImplementation(() => {}); // the client logs every ACK
  relay = await startRelay();
});

afterAll(async () => {
  for (const c of clients) c.close();
  await relay.close();
  vi.restoreAllMocks();
});

describe("relay with the real @clasp-to/core 3.3.2 client", () => {
  it("echoes the clasp subprotocol, answers HELLO with WELCOME then an (empty) SNAPSHOT", async () => {
    const raw = await RawClient.open(relay.url);
    expect(raw.ws.protocol).toBe("clasp");
    raw.send({ type: "HELLO", version: 1, name: "raw", features: ["param"] });
    const welcome = await raw.next("WELCOME");
    expect(welcome.name).toBe("clawft relay");
    expect(welcome.session).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Math.abs(Number(welcome.time) / 1000 - Date.now())).toBeLessThan(5000);
    expect((await raw.next("SNAPSHOT")).params).toEqual([]);
    expect(raw.messages.map((m) => m.type)).toEqual(["WELCOME", "SNAPSHOT"]);
    raw.close();
  });

  it("connects a client that did not ask for a subprotocol (none is echoed)", async () => {
    const raw = await RawClient.open(relay.url, []);
    expect(raw.ws.protocol).toBe("");
    raw.send({ type: "HELLO", version: 1, name: "raw", features: [] });
    await raw.next("WELCOME");
    raw.close();
  });

  it("delivers wildcard SETs, events, streams, gestures and bundles exactly as routed, with revisions", async () => {
    const a = await client("writer");
    const b = await client("reader");
    const seen: Array<[string, unknown]> = [];
    b.subscribe("/mixer/*/fader", (v, addr) => seen.push([`fader ${addr}`, v]));
    b.subscribe("/cue/**", (v, addr) => seen.push([`cue ${addr}`, v]));
    b.subscribe("/sensor/*", (v, addr) => seen.push([`sensor ${addr}`, v]));
    b.subscribe("/touch/**", (v, addr) => seen.push([`touch ${addr}`, v]));
    b.subscribe("/light/**", (v, addr) => seen.push([`light ${addr}`, v]));
    // An observer with our codec sees the frames themselves (revisions, signals).
    const observer = await RawClient.hello(relay.url);
    observer.send({ type: "SUBSCRIBE", id: 1, pattern: "/**" });
    await sleep(50);

    a.set("/mixer/1/fader", 0.5);
    a.set("/mixer/1/fader", 0.75);
    a.set("/mixer/1/mute", true); // matches no subscription of b
    a.set("/mixer/2/fader", "full");
    a.emit("/cue/go", { cue: 12, fade: 2.5 });
    a.stream("/sensor/accel", 0.25);
    a.gesture("/touch/0", 7, "start", { x: 1 });
    a.gesture("/touch/0", 7, "end", { x: 3 });
    a.bundle([{ set: ["/light/1", 1] }, { set: ["/light/2", 0] }, { emit: ["/cue/done", null] }]);
    await until(() => seen.length >= 10, 5000, "10 deliveries");
    await sleep(50);

    expect(seen).toEqual([
      ["fader /mixer/1/fader", 0.5],
      ["fader /mixer/1/fader", 0.75],
      ["fader /mixer/2/fader", "full"],
      ["cue /cue/go", { cue: 12, fade: 2.5 }],
      ["sensor /sensor/accel", 0.25],
      ["touch /touch/0", { x: 1, phase: "start", gestureId: 7 }],
      ["touch /touch/0", { x: 3, phase: "end", gestureId: 7 }],
      ["light /light/1", 1],
      ["light /light/2", 0],
      ["cue /cue/done", null],
    ]);
    const sets = observer.of("SET").map((m) => [m.address, m.value, m.revision]);
    expect(sets).toEqual([
      ["/mixer/1/fader", 0.5, 1],
      ["/mixer/1/fader", 0.75, 2],
      ["/mixer/1/mute", true, 1],
      ["/mixer/2/fader", "full", 1],
      ["/light/1", 1, 1],
      ["/light/2", 0, 1],
    ]);
    const pubs = observer.of("PUBLISH").map((m) => [m.address, m.signal, m.phase, m.id]);
    expect(pubs).toEqual([
      ["/cue/go", "event", "start", undefined],
      ["/sensor/accel", "stream", "start", undefined],
      ["/touch/0", "gesture", "start", 7],
      ["/touch/0", "gesture", "end", 7],
      ["/cue/done", "event", "start", undefined],
    ]);
    observer.close();
  });

  it("answers get() of an unsubscribed param with a SNAPSHOT (value and revision)", async () => {
    const a = await client("a");
    const c = await client("c");
    a.set("/get/me", 41);
    a.set("/get/me", 42);
    await sleep(50);
    expect(await c.get("/get/me")).toBe(42);
    const raw = await RawClient.hello(relay.url);
    raw.send({ type: "GET", address: "/get/me" });
    const snap = await raw.next("SNAPSHOT");
    expect(snap.params).toMatchObject([{ address: "/get/me", value: 42, revision: 2 }]);
    raw.close();
  });

  it("gives a late subscriber the current params (SNAPSHOT with revisions)", async () => {
    const a = await client("a");
    a.set("/late/x", 1);
    a.set("/late/y", 2);
    a.set("/late/y", 3);
    await sleep(50);
    const late = await client("late");
    const metas: Array<[string, unknown, unknown]> = [];
    late.subscribe("/late/*", (v, addr, meta) => metas.push([addr, v, meta?.revision]));
    await until(() => metas.length === 2, 3000, "snapshot");
    expect(metas.sort()).toEqual([
      ["/late/x", 1, 1],
      ["/late/y", 3, 2],
    ]);
  });

  it("serves many clients at once: each sees every client's SET, in per-sender order", async () => {
    const n = 12;
    const many = await Promise.all(Array.from({ length: n }, (_, i) => client(`m${i}`)));
    const got = many.map(() => [] as Array<[string, unknown]>);
    many.forEach((c, i) => c.subscribe("/many/**", (v, addr) => got[i]!.push([addr, v])));
    await sleep(100);
    for (let round = 0; round < 5; round++) many.forEach((c, i) => c.set(`/many/${i}`, round));
    await until(() => got.every((g) => g.length === n * 5), 10_000, "all deliveries");
    for (const g of got) {
      for (let i = 0; i < n; i++) {
        expect(g.filter(([addr]) => addr === `/many/${i}`).map(([, v]) => v)).toEqual([0, 1, 2, 3, 4]);
      }
    }
    expect(relay.router.size).toBeGreaterThanOrEqual(n);
  });

  it("coalesces gesture moves and flushes them at the tick the router asks for", async () => {
    const g = (phase: "start" | "move" | "end", x: number, timestamp?: number) =>
      encode({ type: "PUBLISH", address: "/g/0", signal: "gesture", id: 3, phase, value: { x } }, timestamp === undefined ? undefined : { timestamp });
    const sub = await RawClient.hello(relay.url);
    sub.send({ type: "SUBSCRIBE", id: 1, pattern: "/g/**" });
    const pub = await RawClient.hello(relay.url);
    await sleep(30);
    pub.send(g("start", 0));
    for (let x = 1; x <= 20; x++) pub.send(g("move", x));
    const xs = () => sub.of("PUBLISH").map((m) => (m.value as { x: number }).x);
    await until(() => xs().at(-1) === 20, 3000, "the last move");
    // Moves arriving within one coalescing window go out as one, the latest; on a loaded
    // machine the 20 may straddle windows, but every window sends only its latest move.
    const got = sub.of("PUBLISH").map((m) => [m.phase, (m.value as { x: number }).x] as const);
    expect(got[0]).toEqual(["start", 0]);
    const moves = got.slice(1);
    expect(moves.every(([phase]) => phase === "move")).toBe(true);
    expect(moves.length).toBeLessThan(20);
    expect(moves.map(([, x]) => x)).toEqual([...moves.map(([, x]) => x)].sort((a, b) => a - b));
    sub.close();
    pub.close();
  });

  it("closes sessions idle past sessionTimeout (close 1000) and keeps active ones", async () => {
    const short = await startRelay({ router: { sessionTimeout: 1 } });
    const idle = await RawClient.hello(short.url);
    const busy = await RawClient.hello(short.url);
    const ping = setInterval(() => busy.send({ type: "PING" }), 200);
    const closed = await idle.closed;
    clearInterval(ping);
    expect(closed).toEqual({ code: 1000, reason: "idle" });
    expect(busy.ws.readyState).toBe(WebSocket.OPEN);
    busy.close();
    await short.close();
  });

  it("calls extra metric hooks beside its own Prometheus metrics", async () => {
    const seen: string[] = [];
    const other: string[] = [];
    const r = await startRelay({
      metrics: combineMetrics({ message: (type) => seen.push(type), connect: (refused) => seen.push(`connect ${refused}`) }, { message: (type) => other.push(type) }),
    });
    const c = await RawClient.hello(r.url);
    c.send({ type: "PING" });
    await c.next("PONG");
    expect(seen).toEqual(["connect false", "HELLO", "PING"]);
    expect(other).toEqual(["HELLO", "PING"]);
    expect(await r.metrics.text()).toMatch(/^clawft_relay_messages_total\{type="PING"\} 1$/m);
    c.close();
    await r.close();
  });

  it("answers plain HTTP probes and serves Prometheus metrics", async () => {
    for (const method of ["GET", "HEAD", "POST", "OPTIONS"]) {
      const res = await fetch(relay.httpUrl, { method });
      expect(res.status, method).toBe(200);
    }
    expect((await fetch(`${relay.httpUrl}nothing-here`)).status).toBe(404);
    const res = await fetch(`${relay.httpUrl}metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value('clawft_relay_messages_total\\{type="SET"\\}')).toBeGreaterThan(10);
    expect(value('clawft_relay_connections_total\\{result="accepted"\\}')).toBeGreaterThan(5);
    expect(value("clawft_relay_fanout_deliveries_total")).toBeGreaterThan(10);
    expect(value('clawft_relay_state_updates_total\\{op="set"\\}')).toBeGreaterThan(10);
    expect(value("clawft_relay_params")).toBe(relay.router.size);
    expect(value("clawft_relay_connections")).toBe(relay.connections);
    expect(text).toMatch(/^clawft_relay_steps_total \d+/m);
  });
});

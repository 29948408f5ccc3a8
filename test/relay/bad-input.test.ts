// Bad input against a live relay: the offender gets a CLASP ERROR or its connection closed;
// everyone else keeps being served and committed state is never lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { codec } from "../../src/clasp/index.js";
import type { Relay } from "../../src/relay/index.js";
import { openAtOnce, RawClient, sleep, startRelay, until } from "./helpers.js";

let relay: Relay;
/** A well-behaved client that must keep working through every test. */
let bystander: RawClient;
let committed = 0;

/** Checks the bystander still gets answers and that the committed param is intact. */
async function stillServing(): Promise<void> {
  bystander.send({ type: "SET", address: "/safe/counter", value: ++committed });
  // The ACK carries the next revision: nothing committed was lost and nothing stray applied.
  await until(() => bystander.of("ACK").some((a) => a.address === "/safe/counter" && a.revision === committed), 3000, `ACK revision ${committed}`);
  expect(bystander.of("ACK").filter((a) => a.address === "/safe/counter").map((a) => a.revision)).toEqual(Array.from({ length: committed }, (_, i) => i + 1));
  bystander.send({ type: "GET", address: "/safe/counter" });
  await until(() => bystander.of("SNAPSHOT").some((s) => s.params.some((p) => p.value === committed)), 3000, "GET answer");
}

beforeAll(async () => {
  relay = await startRelay({ router: { maxSubscriptionsPerSession: 200 } });
  bystander = await RawClient.hello(relay.url);
  await stillServing();
});

afterAll(async () => {
  bystander.close();
  await relay.close();
});

describe("relay under bad input", () => {
  it("answers malformed frames with ERROR 100/101 and keeps the connection", async () => {
    const c = await RawClient.hello(relay.url);
    const bad = [
      new Uint8Array([1, 2, 3]), // shorter than a header
      new Uint8Array([0x54, 0x01, 0x00, 0x01, 0x41]), // bad magic
      new Uint8Array([0x53, 0x01, 0x00, 0x09, 0x21]), // length past the end
      new Uint8Array([0x53, 0x41, 0x00, 0x05, 0x21, 0x07, 0x00, 0x01, 0x2f]), // truncated SET
      new Uint8Array([0x53, 0x01, 0x00, 0x01, 0x7e]), // unknown message type
      new Uint8Array([0x53, 0x01, 0x00, 0x00]), // empty payload
    ];
    for (const b of bad) c.send(b);
    for (let i = 0; i < bad.length; i++) {
      const e = await c.next("ERROR");
      expect([100, 101]).toContain(e.code);
      expect(e.message.length).toBeGreaterThan(0);
    }
    c.send({ type: "PING" });
    await c.next("PONG");
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.close();
    await stillServing();
  });

  it("ignores text messages (CLASP is binary) and keeps the connection", async () => {
    const c = await RawClient.hello(relay.url);
    c.ws.send("hello?");
    c.send({ type: "PING" });
    await c.next("PONG");
    expect(c.of("ERROR")).toEqual([]);
    c.close();
  });

  it("refuses frames before HELLO with ERROR 300 and routes nothing for them", async () => {
    const c = await RawClient.open(relay.url);
    c.send({ type: "SET", address: "/safe/counter", value: -1 });
    c.send({ type: "SUBSCRIBE", id: 1, pattern: "/**" });
    const e1 = await c.next("ERROR");
    const e2 = await c.next("ERROR");
    expect([e1.code, e2.code]).toEqual([300, 300]);
    expect(e1.message).toMatch(/HELLO/);
    await stillServing(); // the SET was not applied: the revision sequence is unbroken
    c.close();
  });

  it("answers an oversized frame with ERROR 100, and closes a socket sending a huge message (1009)", async () => {
    const small = await startRelay({ router: { maxMessageSize: 1024 } });
    const c = await RawClient.hello(small.url);
    c.send({ type: "SET", address: "/big", value: "x".repeat(2000) });
    const e = await c.next("ERROR");
    expect(e.code).toBe(100);
    expect(e.message).toMatch(/too large/);
    c.send({ type: "PING" });
    await c.next("PONG");
    // Past the WebSocket's own limit (2 × maxMessageSize, at least 128 KiB), ws closes the socket.
    c.ws.send(new Uint8Array(200_000));
    expect((await c.closed).code).toBe(1009);
    const other = await RawClient.hello(small.url);
    other.send({ type: "PING" });
    await other.next("PONG");
    other.close();
    await small.close();
  });

  it("answers patterns that do not compile with ERROR 202 naming the pattern", async () => {
    const c = await RawClient.hello(relay.url);
    const bad = ["", "no-slash", "/a//b", `/${"x/".repeat(70)}x`];
    bad.forEach((pattern, i) => c.send({ type: "SUBSCRIBE", id: i + 1, pattern }));
    for (const pattern of bad) {
      const e = await c.next("ERROR");
      expect(e.code).toBe(202);
      expect(e.address ?? "").toBe(pattern);
    }
    // Characters upstream's regex compiler chokes on are literal here: this one is fine.
    c.send({ type: "SUBSCRIBE", id: 99, pattern: "/a/(*" });
    c.send({ type: "PING" });
    await c.next("PONG");
    expect(c.of("ERROR")).toHaveLength(bad.length);
    c.close();
    await stillServing();
  });

  it("survives a SUBSCRIBE flood: the limit answers 429, the flooder stays usable, others unaffected", async () => {
    const c = await RawClient.hello(relay.url);
    const n = 3000;
    const frames = codec.encodeBatch(Array.from({ length: n }, (_, i) => ({ type: "SUBSCRIBE" as const, id: i + 1, pattern: `/flood/${i}/**` })));
    for (const f of frames) c.send(f);
    await until(() => c.of("ERROR").length === n - 200, 20_000, "429s");
    expect(new Set(c.of("ERROR").map((e) => e.code))).toEqual(new Set([429]));
    await stillServing();
    // The 200 accepted subscriptions work.
    bystander.send({ type: "SET", address: "/flood/150/x", value: 1 });
    await until(() => c.of("SET").some((s) => s.address === "/flood/150/x"), 3000, "delivery to the flooder");
    c.close();
  });

  it("survives 1,000 connections opened and dropped at once", async () => {
    await until(() => relay.connections === 1, 5000, "earlier clients gone");
    const closes: number[] = [];
    // Half of them start a session first.
    const sockets = await openAtOnce(relay.url, 1000, closes);
    // maxSessions is 100 (the bystander holds one). Once 100 sessions exist, the router
    // refuses new connections (close 1013) and further HELLOs (ERROR 501, close 1013).
    await until(() => relay.connections + closes.length === 1001, 10_000, "every socket settled");
    await sleep(200);
    expect(closes.length).toBeGreaterThan(0);
    expect(new Set(closes)).toEqual(new Set([1013]));
    expect(relay.connections).toBe(1001 - closes.length);
    for (const ws of sockets) ws.terminate(); // abrupt: no close handshake
    await until(() => relay.connections === 1, 10_000, "connections dropped");
    await stillServing();
    // Sessions were all released: new clients can start 99 again.
    const again = await Promise.all(Array.from({ length: 99 }, () => RawClient.hello(relay.url)));
    for (const c of again) c.close();
  });

  it("refuses connections past maxSessions with ERROR 501 and close 1013", async () => {
    const tiny = await startRelay({ router: { maxSessions: 2 } });
    const a = await RawClient.hello(tiny.url);
    const b = await RawClient.hello(tiny.url);
    const c = await RawClient.open(tiny.url);
    const code = await c.closed;
    expect(code.code).toBe(1013); // refused at connect: the router is full
    a.close();
    await a.closed;
    await until(() => tiny.connections === 1, 3000, "a gone");
    const d = await RawClient.hello(tiny.url);
    b.close();
    d.close();
    await tiny.close();
  });
});

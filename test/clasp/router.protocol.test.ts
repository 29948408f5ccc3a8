/**
 * The parts of the protocol the MiniRouter used to parse and drop (issue 12): SUBSCRIBE
 * options (maxRate, window, epsilon, history), REPLAY from the journal, and QUERY RESULTs
 * split under the frame limit. Time is the harness's clock, advanced by hand.
 */
import { describe, it, expect } from "vitest";
import { encode, type Message } from "../../src/clasp/index.js";
import { harness } from "./router-harness.js";

const SET = (address: string, value: unknown): Message => ({ type: "SET", address, value }) as Message;
const EVENT = (address: string, value: unknown): Message => ({ type: "PUBLISH", address, signal: "event", value }) as Message;
const values = (ms: Message[]) => ms.filter((m) => m.type === "SET" || m.type === "PUBLISH").map((m) => (m as { value: unknown }).value);
const MS = 1000;

describe("SUBSCRIBE maxRate", () => {
  it("delivers at most maxRate a second per address, holding the latest value for the tick", async () => {
    const h = await harness();
    const w = h.client("writer");
    const r = h.client("reader");
    r.send({ type: "SUBSCRIBE", id: 1, pattern: "/fader/*", options: { maxRate: 10 } }); // 100 ms
    r.take();
    const first = w.send(SET("/fader/1", 1), { qos: 0 });
    expect(values(first.get(r.conn) ?? [])).toEqual([1]); // a quiet lane sends at once
    for (let v = 2; v <= 5; v++) {
      h.now += 10 * MS;
      expect(w.send(SET("/fader/1", v), { qos: 0 }).get(r.conn)).toBeUndefined();
    }
    // Another address has its own lane.
    expect(values(w.send(SET("/fader/2", 7), { qos: 0 }).get(r.conn) ?? [])).toEqual([7]);
    expect(h.tick(10 * MS).get(r.conn)).toBeUndefined(); // 50 ms after the first: not due
    const flushed = h.tick(50 * MS).get(r.conn) ?? []; // 100 ms after the first
    expect(flushed).toEqual([{ type: "SET", address: "/fader/1", value: 5, revision: 5 }]);
    expect(h.tick(200 * MS).get(r.conn)).toBeUndefined(); // nothing held any more
    // The writer, subscribed without options, saw every revision.
    expect(w.take().length).toBe(0);
  });

  it("tells the host when the held value is due, and drops it when the subscription goes", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    r.send({ type: "SUBSCRIBE", id: 1, pattern: "/x", options: { maxRate: 4 } }); // 250 ms
    w.send(SET("/x", 1), { qos: 0 });
    h.now += 1 * MS;
    const step = h.router.receive(w.conn, encode(SET("/x", 2), { qos: 0 }), h.now);
    expect(step.due).toBe(h.now - 1 * MS + 250 * MS);
    r.send({ type: "UNSUBSCRIBE", id: 1 });
    r.take();
    expect(h.tick(300 * MS).get(r.conn)).toBeUndefined();
  });

  it("limits PUBLISH streams too, sender excluded as always", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    r.send({ type: "SUBSCRIBE", id: 1, pattern: "/meter", options: { maxRate: 30 } });
    let delivered = 0;
    for (let i = 0; i < 1000; i++) {
      // 1 kHz for one second, ticking as a host would.
      h.now += 1 * MS;
      delivered += (w.send({ type: "PUBLISH", address: "/meter", signal: "stream", value: i }).get(r.conn) ?? []).length;
      delivered += (h.tick().get(r.conn) ?? []).length;
    }
    expect(delivered).toBeGreaterThanOrEqual(29);
    expect(delivered).toBeLessThanOrEqual(31);
    expect(w.take()).toEqual([]);
  });
});

describe("SUBSCRIBE window", () => {
  it("coalesces changes over the window: the first one waits too, the latest goes out", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    r.send({ type: "SUBSCRIBE", id: 1, pattern: "/x", options: { window: 50 } });
    for (let v = 1; v <= 3; v++) {
      expect(w.send(EVENT("/x", v)).get(r.conn)).toBeUndefined();
      h.now += 10 * MS;
    }
    expect(h.tick(10 * MS).get(r.conn)).toBeUndefined();
    expect(values(h.tick(20 * MS).get(r.conn) ?? [])).toEqual([3]);
  });
});

describe("SUBSCRIBE epsilon", () => {
  it("suppresses numeric changes smaller than epsilon from the last delivered value; other types pass", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    r.send({ type: "SUBSCRIBE", id: 1, pattern: "/v", options: { epsilon: 0.1 } });
    r.take();
    const got: unknown[] = [];
    for (const v of [0, 0.05, 0.09, 0.11, 0.2, 0.25, -0.5, "text", "text", 3n]) got.push(...values(w.send(SET("/v", v), { qos: 0 }).get(r.conn) ?? []));
    expect(got).toEqual([0, 0.11, 0.25, -0.5, "text", "text", 3n]);
  });

  it("drops a held change that a newer value brings back within epsilon", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    r.send({ type: "SUBSCRIBE", id: 1, pattern: "/v", options: { epsilon: 0.5, maxRate: 10 } });
    r.take();
    expect(values(w.send(SET("/v", 1), { qos: 0 }).get(r.conn) ?? [])).toEqual([1]);
    h.now += 10 * MS;
    w.send(SET("/v", 3), { qos: 0 }); // held
    h.now += 10 * MS;
    w.send(SET("/v", 1.2), { qos: 0 }); // back near 1: nothing to say
    expect(h.tick(200 * MS).get(r.conn)).toBeUndefined();
  });
});

describe("SUBSCRIBE history and REPLAY (the journal)", () => {
  it("sends the last N journaled values per matching address after the snapshot", async () => {
    const h = await harness({ journalDepth: 4 });
    const w = h.client();
    for (let v = 1; v <= 6; v++) w.send(SET("/h/a", v), { qos: 0 });
    w.send(EVENT("/h/e", "go"));
    w.send(SET("/other", 1), { qos: 0 });
    const r = h.client();
    const got = r.send({ type: "SUBSCRIBE", id: 1, pattern: "/h/**", options: { history: 2 } }).get(r.conn)!;
    expect(got.map((m) => m.type)).toEqual(["SNAPSHOT", "SET", "SET", "PUBLISH"]);
    expect(got.slice(1)).toEqual([
      { type: "SET", address: "/h/a", value: 5, revision: 5 },
      { type: "SET", address: "/h/a", value: 6, revision: 6 },
      { type: "PUBLISH", address: "/h/e", signal: "event", phase: "start", value: "go" },
    ]);
  });

  it("answers REPLAY with the journaled frames in order, filtered by pattern, time, type and limit", async () => {
    const h = await harness({ journalDepth: 3 });
    const w = h.client();
    const t0 = h.now;
    for (let v = 1; v <= 5; v++) {
      w.send(SET("/r/p", v), { qos: 0 });
      h.now += 1 * MS;
      w.send(EVENT("/r/e", v));
      h.now += 1 * MS;
    }
    const r = h.client();
    // depth 3 per address: p 3..5, e 3..5, interleaved in fan-out order
    expect(values(r.send({ type: "REPLAY", pattern: "/r/*" }).get(r.conn)!)).toEqual([3, 3, 4, 4, 5, 5]);
    expect(values(r.send({ type: "REPLAY", pattern: "/r/*", types: ["event"] }).get(r.conn)!)).toEqual([3, 4, 5]);
    expect(values(r.send({ type: "REPLAY", pattern: "/r/p", from: t0 + 6 * MS, to: t0 + 8 * MS }).get(r.conn)!)).toEqual([4, 5]);
    expect(values(r.send({ type: "REPLAY", pattern: "/r/**", limit: 2 }).get(r.conn)!)).toEqual([3, 3]);
    expect(r.send({ type: "REPLAY", pattern: "/none" }).get(r.conn)).toBeUndefined();
    expect(r.send({ type: "REPLAY", pattern: "bad" }).get(r.conn)![0]).toMatchObject({ type: "ERROR", code: 202 });
  });

  it("keeps REPLAY inside read scopes", async () => {
    const h = await harness({ security: "authenticated", tokens: [{ token: "all" }, { token: "mine", read: ["/mine/**"] }] });
    const w = h.client("w", "all");
    w.send(SET("/mine/a", 1), { qos: 0 });
    w.send(SET("/secret/a", 2), { qos: 0 });
    const r = h.client("r", "mine");
    expect(values(r.send({ type: "REPLAY", pattern: "/**" }).get(r.conn)!)).toEqual([1]);
    expect(r.send({ type: "REPLAY", pattern: "/secret/a" }).get(r.conn)![0]).toMatchObject({ type: "ERROR", code: 301 });
  });

  it("bounds the journal by addresses and forgets expired params", async () => {
    const h = await harness({ journalDepth: 2, journalAddresses: 2, stateTtl: 1 });
    const w = h.client();
    for (const a of ["/j/1", "/j/2", "/j/3"]) w.send(SET(a, a), { qos: 0 });
    const r = h.client();
    expect(values(r.send({ type: "REPLAY", pattern: "/j/*" }).get(r.conn)!)).toEqual(["/j/1", "/j/2"]);
    h.tick(2_000 * MS);
    expect(r.send({ type: "REPLAY", pattern: "/j/*" }).get(r.conn)).toBeUndefined();
  });
});

describe("QUERY", () => {
  it("splits a RESULT larger than one frame, losing no signal", async () => {
    const h = await harness();
    const a = h.client();
    const n = 4000;
    const signals = Array.from({ length: n }, (_, i) => ({ address: `/q/${"s".repeat(20)}/${i}`, type: "param" as const, datatype: "f64" }));
    for (let i = 0; i < n; i += 1000) a.send({ type: "ANNOUNCE", namespace: "/q", signals: signals.slice(i, i + 1000) });
    const got = a.send({ type: "QUERY", pattern: "/q/**" }).get(a.conn)!;
    expect(got.length).toBeGreaterThan(1);
    for (const f of h.lastFrames) expect(f.bytes.length).toBeLessThanOrEqual(4 + 65535);
    const addresses = got.flatMap((m) => (m as Extract<Message, { type: "RESULT" }>).signals.map((s) => s.address));
    expect(new Set(addresses).size).toBe(n);
  });
});

describe("bounded lanes", () => {
  it("keeps at most 4,096 lanes per subscription; further addresses are delivered ungated", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    r.send({ type: "SUBSCRIBE", id: 1, pattern: "/many/*", options: { maxRate: 1 } });
    for (let i = 0; i < 4096; i++) w.send(EVENT(`/many/${i}`, 1)); // one lane each, first change sent
    r.take();
    // A second change inside the second: held on a lane, delivered at once past the limit.
    expect(w.send(EVENT("/many/0", 2)).get(r.conn)).toBeUndefined();
    expect(values(w.send(EVENT("/many/new", 1)).get(r.conn) ?? [])).toEqual([1]);
    expect(values(w.send(EVENT("/many/new", 2)).get(r.conn) ?? [])).toEqual([2]);
  });
});

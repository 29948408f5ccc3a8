/**
 * The MiniRouter's semantics (clasp-wire.md §6) and the upstream bugs it fixes (docs/router.md).
 */
import { describe, it, expect } from "vitest";
import * as peer from "@clasp-to/core";
import { encode, decode, type Message } from "../../src/clasp/index.js";
import { MiniRouter, RouterConfigError } from "../../src/clasp/router.js";
import { harness } from "./router-harness.js";

const SET = (address: string, value: unknown, extra: Partial<Extract<Message, { type: "SET" }>> = {}): Message =>
  ({ type: "SET", address, value, ...extra }) as Message;
const types = (ms: Message[] | undefined) => (ms ?? []).map((m) => m.type);

describe("handshake", () => {
  it("answers HELLO with a WELCOME the JS client can decode, then a SNAPSHOT even when empty", async () => {
    const h = await harness({ name: "relay-1" });
    const conn = h.router.connect(h.now);
    const step = h.router.receive(conn, encode({ type: "HELLO", version: 1, name: "c", features: ["param"] }), h.now);
    const frames = Array.from({ length: step.deliveries.length / 2 }, (_, i) => step.frames[step.deliveries[i * 2 + 1]!]!);
    expect(frames.map((f) => decode(f).message.type)).toEqual(["WELCOME", "SNAPSHOT"]);
    const welcome = peer.decode(frames[0]!) as peer.WelcomeMessage; // the token field is there
    expect(welcome).toMatchObject({ type: "WELCOME", version: 1, name: "relay-1", time: h.now });
    expect(welcome.session).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(decode(frames[1]!).message).toEqual({ type: "SNAPSHOT", params: [] });
  });

  it("starts a new session on a second HELLO, dropping the old subscriptions", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    a.send({ type: "SUBSCRIBE", id: 1, pattern: "/x" });
    const first = a.session;
    const again = a.send({ type: "HELLO", version: 1, name: "again", features: [] }).get(a.conn)!;
    expect(again[0]).toMatchObject({ type: "WELCOME" });
    expect((again[0] as { session: string }).session).not.toBe(first);
    expect(b.send(SET("/x", 1)).get(a.conn)).toBeUndefined();
  });

  it("answers anything before HELLO with ERROR 300 and keeps the connection", async () => {
    const h = await harness();
    const conn = h.router.connect(h.now);
    const step = h.router.receive(conn, encode(SET("/a", 1)), h.now);
    expect(decode(step.frames[0]!).message).toMatchObject({ type: "ERROR", code: 300 });
    expect(step.events.some((e) => e.type === "close")).toBe(false);
    expect(h.router.size).toBe(0);
  });

  it("answers undecodable frames with the codec's error and keeps serving", async () => {
    const h = await harness();
    const a = h.client();
    expect(a.sendBytes(new Uint8Array([0x53, 0x01, 0x00, 0x05, 0x21])).get(a.conn)).toEqual([
      { type: "ERROR", code: 100, message: "frame length runs past the end of the input" },
    ]);
    expect(types(a.send({ type: "PING" }).get(a.conn))).toEqual(["PONG"]);
  });
});

describe("patterns: one matcher for live delivery and snapshots (router trie semantics, §5)", () => {
  const cases: Array<[string, string, boolean]> = [
    ["/a/**", "/a", true],
    ["/a/**", "/a/", true],
    ["/a/**", "/a/b/c", true],
    ["/a/**", "/ab", false],
    ["/a/**/z", "/a/z", true],
    ["/a/**/z", "/a/b/c/z", true],
    ["/a/**/z", "/a/b/c", false],
    ["/a/*", "/a/", true],
    ["/a/*", "/a", false],
    ["/a/*", "/a/b/c", false],
    ["/a/b*", "/a/b", true],
    ["/a/b*", "/a/bc", true],
    ["/a/*b", "/a/xb", true],
    ["/a/*b", "/a/bx", false],
    ["/a/x*y*z", "/a/xayzbz", true],
    ["/a/?", "/a/b", false],
    ["/a/?", "/a/?", true],
    ["/a/[b]", "/a/[b]", true],
    ["/a/{b,c}/*", "/a/{b,c}/d", true],
    ["/a/.b", "/a/xb", false],
    ["/a/(*", "/a/(x", true],
    ["/A", "/a", false],
    ["/**", "/", true],
    ["/**/**/x", "/x", true],
  ];
  for (const [pattern, address, match] of cases) {
    it(`${pattern} ${match ? "matches" : "does not match"} ${address}, live and in the snapshot`, async () => {
      const h = await harness();
      const writer = h.client();
      const reader = h.client();
      writer.send(SET(address, 1));
      const snap = reader.send({ type: "SUBSCRIBE", id: 1, pattern }).get(reader.conn) ?? [];
      expect(snap.length > 0).toBe(match);
      const live = writer.send(SET(address, 2)).get(reader.conn) ?? [];
      expect(live.length > 0).toBe(match);
    });
  }

  it("refuses patterns that do not compile with ERROR 202 naming the pattern", async () => {
    const h = await harness();
    const a = h.client();
    for (const bad of ["", "a/b", "/a//b", "//a"]) {
      expect(a.send({ type: "SUBSCRIBE", id: 1, pattern: bad }).get(a.conn)).toEqual([
        expect.objectContaining({ type: "ERROR", code: 202, address: bad }),
      ]);
    }
    expect(a.send({ type: "SUBSCRIBE", id: 1, pattern: "/a/" }).get(a.conn)).toBeUndefined(); // last segment may be empty
  });

  it("delivers once per session however many of its subscriptions match", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/m/**" });
    b.send({ type: "SUBSCRIBE", id: 2, pattern: "/m/*" });
    b.send({ type: "SUBSCRIBE", id: 3, pattern: "/**/x" });
    expect(a.send(SET("/m/x", 1)).get(b.conn)).toHaveLength(1);
  });

  it("applies type masks: a subscriber to events gets no SETs", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/t/**", types: ["event"] });
    expect(a.send(SET("/t/p", 1)).get(b.conn)).toBeUndefined();
    expect(types(a.send({ type: "PUBLISH", address: "/t/e", signal: "event", value: 1 }).get(b.conn))).toEqual(["PUBLISH"]);
    expect(a.send({ type: "PUBLISH", address: "/t/s", signal: "stream", samples: [1] }).get(b.conn)).toBeUndefined();
  });

  it("replaces a subscription whose id is reused (no ghost entry, unlike upstream)", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/old" });
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/new" });
    expect(a.send(SET("/old", 1)).get(b.conn)).toBeUndefined();
    expect(a.send(SET("/new", 1)).get(b.conn)).toHaveLength(1);
    b.send({ type: "UNSUBSCRIBE", id: 1 });
    expect(a.send(SET("/new", 2)).get(b.conn)).toBeUndefined();
  });
});

describe("SET: revisions, locks, ACKs", () => {
  it("numbers revisions from 1, +1 per accepted write (identical values too)", async () => {
    const h = await harness();
    const a = h.client();
    const revs = [1, 1, 2].map((v) => (a.send(SET("/r", v)).get(a.conn)!.find((m) => m.type === "ACK") as { revision: number }).revision);
    expect(revs).toEqual([1, 2, 3]);
  });

  it("broadcasts the SET with its revision to every subscriber, sender included, before the ACK", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    a.send({ type: "SUBSCRIBE", id: 1, pattern: "/s/**" });
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/s/**" });
    const out = a.send(SET("/s/v", "x"));
    expect(out.get(a.conn)).toEqual([
      { type: "SET", address: "/s/v", value: "x", revision: 1 },
      { type: "ACK", address: "/s/v", revision: 1 },
    ]);
    expect(out.get(b.conn)).toEqual([{ type: "SET", address: "/s/v", value: "x", revision: 1 }]);
    // one frame for all recipients: the same bytes
    const sets = h.lastFrames.filter((f) => decode(f.bytes).message.type === "SET");
    expect(sets[0]!.bytes).toBe(sets[1]!.bytes);
  });

  it("acknowledges confirm QoS only", async () => {
    const h = await harness();
    const a = h.client();
    expect(types(a.send(SET("/q", 1), { qos: 0 }).get(a.conn))).toEqual([]);
    expect(types(a.send(SET("/q", 1), { qos: 1 }).get(a.conn))).toEqual(["ACK"]);
  });

  it("refuses a stale expected revision with ERROR 400 and ignores it on a new param", async () => {
    const h = await harness();
    const a = h.client();
    expect(types(a.send(SET("/c", 1, { revision: 99 })).get(a.conn))).toEqual(["ACK"]);
    expect(a.send(SET("/c", 2, { revision: 5 })).get(a.conn)).toEqual([
      { type: "ERROR", code: 400, message: "revision conflict: expected 5, current 1", address: "/c" },
    ]);
    expect(types(a.send(SET("/c", 2, { revision: 1 })).get(a.conn))).toEqual(["ACK"]);
  });

  it("keeps values of any type, changing type freely", async () => {
    const h = await harness();
    const a = h.client();
    for (const v of [1, "two", [3n, { four: new Uint8Array([4]) }], null, true]) {
      a.send(SET("/any", v));
      const snap = a.send({ type: "GET", address: "/any" }).get(a.conn)![0] as Extract<Message, { type: "SNAPSHOT" }>;
      expect(snap.params[0]!.value).toEqual(v);
    }
  });

  it("locks: only the holder writes (others get 401), and a non-holder cannot unlock (upstream bug fixed)", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    a.send(SET("/l", 1, { lock: true }));
    expect(b.send(SET("/l", 2)).get(b.conn)![0]).toMatchObject({ type: "ERROR", code: 401, address: "/l", message: `locked by ${a.session}` });
    expect(b.send(SET("/l", 3, { unlock: true })).get(b.conn)![0]).toMatchObject({ type: "ERROR", code: 401 });
    expect(types(a.send(SET("/l", 4)).get(a.conn))).toEqual(["ACK"]);
    a.send(SET("/l", 5, { unlock: true }));
    expect(types(b.send(SET("/l", 6)).get(b.conn))).toEqual(["ACK"]);
    expect((b.send({ type: "GET", address: "/l" }).get(b.conn)![0] as { params: Array<{ value: unknown; revision: number }> }).params[0]).toMatchObject({ value: 6, revision: 4 });
  });

  it("lock and unlock in one SET: release first, then take", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    a.send(SET("/lu", 1, { lock: true }));
    a.send(SET("/lu", 2, { lock: true, unlock: true }));
    expect(b.send(SET("/lu", 3)).get(b.conn)![0]).toMatchObject({ code: 401 });
  });

  it("releases a session's locks when it disconnects (upstream never does)", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    a.send(SET("/held", 1, { lock: true }));
    h.disconnect(a);
    expect(types(b.send(SET("/held", 2)).get(b.conn))).toEqual(["ACK"]);
  });
});

describe("GET, PUBLISH, BUNDLE and the rest", () => {
  it("answers GET with a one-param SNAPSHOT (writer, timestamp), and a missing address with ERROR 201", async () => {
    const h = await harness();
    const a = h.client();
    a.send(SET("/g", 7));
    expect(a.send({ type: "GET", address: "/g" }).get(a.conn)).toEqual([
      { type: "SNAPSHOT", params: [{ address: "/g", value: 7, revision: 1, writer: a.session, timestamp: h.now }] },
    ]);
    expect(a.send({ type: "GET", address: "/none" }).get(a.conn)).toEqual([{ type: "ERROR", code: 201, message: "address not found", address: "/none" }]);
  });

  it("forwards PUBLISH to subscribers except the sender, the same bytes it received, storing nothing", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    a.send({ type: "SUBSCRIBE", id: 1, pattern: "/ev/**" });
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/ev/**" });
    const frame = encode({ type: "PUBLISH", address: "/ev/go", signal: "event", value: { cue: 1 }, timestamp: 5 }, { timestamp: 77 });
    const out = a.sendBytes(frame);
    expect(out.get(a.conn)).toBeUndefined();
    expect(h.lastFrames).toHaveLength(1);
    expect(h.lastFrames[0]!.bytes).toEqual(frame);
    expect(h.router.size).toBe(0);
  });

  it("coalesces gesture moves per (address, id) and flushes them every 16 ms; end flushes first", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/touch/**" });
    const g = (phase: "start" | "move" | "end", x: number): Message => ({ type: "PUBLISH", address: "/touch/0", signal: "gesture", id: 9, phase, value: x });
    expect(a.send(g("start", 0)).get(b.conn)).toHaveLength(1);
    a.send(g("move", 1));
    a.send(g("move", 2));
    expect(b.take()).toHaveLength(1); // only the start so far
    expect(h.tick(5_000).get(b.conn)).toBeUndefined(); // not due yet
    expect(h.tick(12_000).get(b.conn)).toEqual([expect.objectContaining({ phase: "move", value: 2 })]);
    a.send(g("move", 3));
    expect(a.send(g("end", 4)).get(b.conn)).toEqual([expect.objectContaining({ phase: "move", value: 3 }), expect.objectContaining({ phase: "end", value: 4 })]);
    // a move with no start passes straight through
    expect(a.send({ ...g("move", 5), id: 10 } as Message).get(b.conn)).toHaveLength(1);
  });

  it("applies a BUNDLE atomically: one failing SET and nothing is applied", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    b.send(SET("/locked", 0, { lock: true }));
    const out = a.send({ type: "BUNDLE", messages: [SET("/ok", 1), SET("/locked", 1)] });
    expect(out.get(a.conn)).toEqual([expect.objectContaining({ type: "ERROR", code: 401, address: "/locked" })]);
    expect(a.send({ type: "GET", address: "/ok" }).get(a.conn)![0]).toMatchObject({ code: 201 });
  });

  it("applies a good BUNDLE in one step: SETs broadcast, PUBLISHes forwarded, one ACK with the last revision", async () => {
    const h = await harness();
    const a = h.client();
    const b = h.client();
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/b/**" });
    const out = a.send({
      type: "BUNDLE",
      messages: [SET("/b/1", 1), SET("/b/1", 2, { revision: 1 }), { type: "PUBLISH", address: "/b/e", signal: "event", value: "x" }],
    });
    expect(out.get(b.conn)).toEqual([
      { type: "SET", address: "/b/1", value: 1, revision: 1 },
      { type: "SET", address: "/b/1", value: 2, revision: 2 },
      { type: "PUBLISH", address: "/b/e", signal: "event", phase: "start", value: "x" },
    ]);
    expect(out.get(a.conn)).toEqual([{ type: "ACK", revision: 2 }]);
  });

  it("answers PING, SYNC; refuses FEDERATION_SYNC, and REPLAY without a journal, with 501", async () => {
    const h = await harness({ journalDepth: 0 });
    const a = h.client();
    expect(a.send({ type: "PING" }).get(a.conn)).toEqual([{ type: "PONG" }]);
    expect(a.send({ type: "SYNC", t1: 5 }).get(a.conn)).toEqual([{ type: "SYNC", t1: 5, t2: h.now, t3: h.now }]);
    expect(a.send({ type: "REPLAY", pattern: "/**" }).get(a.conn)![0]).toMatchObject({ type: "ERROR", code: 501, address: "/**" });
    expect(a.send({ type: "FEDERATION_SYNC", op: "request-sync", patterns: [], revisions: [] }).get(a.conn)![0]).toMatchObject({ code: 501 });
  });

  it("registers ANNOUNCEd signals and lists them for QUERY", async () => {
    const h = await harness();
    const a = h.client();
    expect(
      a.send({ type: "ANNOUNCE", namespace: "/synth", signals: [{ address: "/synth/cutoff", type: "param", datatype: "f64", access: "rw" }, { address: "/synth/gate", type: "event" }] }).get(a.conn),
    ).toEqual([{ type: "ACK", address: "/synth" }]);
    expect(a.send({ type: "QUERY", pattern: "/synth/c*" }).get(a.conn)).toEqual([
      { type: "RESULT", signals: [{ address: "/synth/cutoff", type: "param", datatype: "f64", access: "rw" }] },
    ]);
  });

  it("splits big snapshots into frames under the 65,535-byte limit", async () => {
    const h = await harness();
    const a = h.client();
    const n = 3000;
    const msgs = Array.from({ length: n }, (_, i) => SET(`/big/${"p".repeat(30)}/${i}`, "v".repeat(20)));
    for (const m of msgs) a.send(m, { qos: 0 });
    const b = h.client();
    const frames = b.send({ type: "SUBSCRIBE", id: 1, pattern: "/big/**" }).get(b.conn)!;
    expect(frames.length).toBeGreaterThan(1);
    for (const f of h.lastFrames) expect(f.bytes.length).toBeLessThanOrEqual(4 + 65535);
    const got = frames.flatMap((f) => (f as Extract<Message, { type: "SNAPSHOT" }>).params.map((p) => p.address));
    expect(new Set(got).size).toBe(n);
  });
});

describe("TTL", () => {
  const s = 1_000_000;
  it("expires sliding TTLs after idleness, refreshed by writes", async () => {
    const h = await harness();
    const a = h.client();
    a.send(SET("/ttl", 1, { ttl: 10 }));
    h.tick(8 * s);
    a.send(SET("/ttl", 2));
    h.tick(8 * s);
    expect(h.router.size).toBe(1);
    h.tick(3 * s);
    expect(h.router.size).toBe(0);
    expect(h.events.filter((e) => e.type === "state").at(-1)).toEqual({ type: "state", address: "/ttl", record: null });
  });

  it("expires absolute TTLs at their time, and 0 means never even with a default TTL", async () => {
    const h = await harness({ stateTtl: 5 });
    const a = h.client();
    const at = Math.floor(h.now / s) + 3;
    a.send(SET("/abs", 1, { ttl: (0x80000000 | at) >>> 0 }));
    a.send(SET("/never", 1, { ttl: 0 }));
    a.send(SET("/default", 1));
    h.tick(4 * s);
    expect(a.send({ type: "GET", address: "/abs" }).get(a.conn)![0]).toMatchObject({ code: 201 });
    h.tick(2 * s);
    expect(a.send({ type: "GET", address: "/default" }).get(a.conn)![0]).toMatchObject({ code: 201 });
    expect(a.send({ type: "GET", address: "/never" }).get(a.conn)![0]).toMatchObject({ type: "SNAPSHOT" });
  });
});

describe("limits never harm other sessions", () => {
  it("refuses connections past maxSessions", async () => {
    const h = await harness({ maxSessions: 2 });
    h.client();
    h.client();
    expect(h.router.connect(h.now)).toBe(0);
  });

  it("refuses subscriptions past the per-session limit with ERROR 429", async () => {
    const h = await harness({ maxSubscriptionsPerSession: 2 });
    const a = h.client();
    const b = h.client();
    a.send({ type: "SUBSCRIBE", id: 1, pattern: "/1" });
    a.send({ type: "SUBSCRIBE", id: 2, pattern: "/2" });
    expect(a.send({ type: "SUBSCRIBE", id: 3, pattern: "/3" }).get(a.conn)![0]).toMatchObject({ code: 429, address: "/3" });
    expect(a.send({ type: "SUBSCRIBE", id: 2, pattern: "/2b" }).get(a.conn)).toBeUndefined(); // replacing is fine
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/1" });
    expect(b.send(SET("/1", 1)).get(a.conn)).toHaveLength(1);
  });

  it("refuses new params past maxStateEntries with ERROR 501, updates still work", async () => {
    const h = await harness({ maxStateEntries: 2 });
    const a = h.client();
    a.send(SET("/1", 1));
    a.send(SET("/2", 1));
    expect(a.send(SET("/3", 1)).get(a.conn)![0]).toMatchObject({ code: 501, message: "state is full" });
    expect(types(a.send(SET("/1", 2)).get(a.conn))).toEqual(["ACK"]);
  });

  it("refuses frames over maxMessageSize with ERROR 100", async () => {
    const h = await harness({ maxMessageSize: 100 });
    const a = h.client();
    expect(a.send(SET("/big", "x".repeat(200))).get(a.conn)![0]).toMatchObject({ code: 100, message: "message too large" });
    expect(h.router.size).toBe(0);
  });

  it("rejects invalid configurations", async () => {
    await expect(MiniRouter.load({ maxSessions: -1 })).rejects.toBeInstanceOf(RouterConfigError);
    await expect(MiniRouter.load({ security: "closed" as never })).rejects.toBeInstanceOf(RouterConfigError);
    await expect(MiniRouter.load({ tokens: [{ token: "t", read: ["no-slash"] }] })).rejects.toThrow(/does not compile/);
  });
});

describe("authentication and scopes", () => {
  const config = {
    security: "authenticated" as const,
    tokens: [
      { token: "admin" },
      { token: "mixer", read: ["/mixer/**", "/show/**"], write: ["/mixer/**"] },
    ],
  };

  it("closes a session without a known token after ERROR 300", async () => {
    const h = await harness(config);
    for (const token of [undefined, "wrong"]) {
      const conn = h.router.connect(h.now);
      const step = h.router.receive(conn, encode({ type: "HELLO", version: 1, name: "x", features: [], ...(token ? { token } : {}) }), h.now);
      expect(decode(step.frames[0]!).message).toMatchObject({ type: "ERROR", code: 300 });
      expect(step.events).toContainEqual({ type: "close", conn, code: 300 });
    }
  });

  it("checks write scopes (301) and read scopes for GET (301), deliveries and snapshots", async () => {
    const h = await harness(config);
    const admin = h.client("admin", "admin");
    const mixer = h.client("mixer", "mixer");
    expect(mixer.send(SET("/show/x", 1)).get(mixer.conn)![0]).toMatchObject({ code: 301, address: "/show/x" });
    expect(mixer.send({ type: "GET", address: "/secret" }).get(mixer.conn)![0]).toMatchObject({ code: 301 });
    admin.send(SET("/secret/k", 1));
    admin.send(SET("/mixer/1", 1));
    const snap = mixer.send({ type: "SUBSCRIBE", id: 1, pattern: "/**" }).get(mixer.conn)!;
    expect((snap[0] as Extract<Message, { type: "SNAPSHOT" }>).params.map((p) => p.address)).toEqual(["/mixer/1"]);
    expect(admin.send(SET("/secret/k", 2)).get(mixer.conn)).toBeUndefined();
    expect(admin.send(SET("/mixer/1", 2)).get(mixer.conn)).toHaveLength(1);
    expect(types(mixer.send(SET("/mixer/2", 1)).get(mixer.conn))).toContain("ACK");
  });
});

describe("persistence records", () => {
  it("restores params, revisions and writers into a new router", async () => {
    const h = await harness();
    const a = h.client();
    a.send(SET("/p/1", 1));
    a.send(SET("/p/1", 2));
    a.send(SET("/p/2", { deep: [1, "x"] }, { ttl: 0 }));
    const latest = new Map<string, Uint8Array | null>();
    for (const e of h.events) if (e.type === "state") latest.set(e.address, e.record);
    const fresh = await harness();
    for (const [address, record] of latest) expect(fresh.router.restore(address, record!, fresh.now)).toBe(true);
    const c = fresh.client();
    const snap = c.send({ type: "SUBSCRIBE", id: 1, pattern: "/p/**" }).get(c.conn)![0] as Extract<Message, { type: "SNAPSHOT" }>;
    expect(snap.params.sort((x, y) => x.address.localeCompare(y.address))).toEqual([
      { address: "/p/1", value: 2, revision: 2 },
      { address: "/p/2", value: { deep: [1, "x"] }, revision: 1 },
    ]);
    expect(types(c.send(SET("/p/1", 3, { revision: 2 })).get(c.conn))).toEqual(["SET", "ACK"]);
  });

  it("refuses malformed records and leaves the state as it was", async () => {
    const h = await harness();
    expect(h.router.restore("/x", new Uint8Array([2, 0, 0]))).toBe(false);
    expect(h.router.restore("/x", new Uint8Array(40))).toBe(false);
    expect(h.router.size).toBe(0);
  });
});

describe("host writes (governance)", () => {
  it("hostSet writes past locks and revisions, broadcasts the new revision, persists it", async () => {
    const h = await harness({ name: "gov" });
    const a = h.client();
    const b = h.client();
    b.send({ type: "SUBSCRIBE", id: 1, pattern: "/state/**" });
    a.send(SET("/state/x", 1, { lock: true }));
    const step = h.router.hostSet("/state/x", { total: 3 }, h.now);
    expect(step.revision).toBe(2);
    const to = (conn: number) => Array.from({ length: step.deliveries.length / 2 }, (_, i) => i).filter((i) => step.deliveries[i * 2] === conn).map((i) => decode(step.frames[step.deliveries[i * 2 + 1]!]!).message);
    expect(to(b.conn)).toEqual([{ type: "SET", address: "/state/x", value: { total: 3 }, revision: 2 }]);
    expect(step.events).toContainEqual(expect.objectContaining({ type: "state", address: "/state/x" }));
    const got = b.send({ type: "GET", address: "/state/x" }).get(b.conn)![0] as Extract<Message, { type: "SNAPSHOT" }>;
    expect(got.params[0]).toMatchObject({ value: { total: 3 }, revision: 2 });
    expect(() => h.router.hostSet("/state/big", "x".repeat(65_500))).toThrow(RangeError);
  });

  it("tells whether a session may write an address", async () => {
    const h = await harness({ security: "authenticated", tokens: [{ token: "t", write: ["/mine/**"] }] });
    const a = h.client("a", "t");
    expect(h.router.writable(a.conn, "/mine/x")).toBe(true);
    expect(h.router.writable(a.conn, "/other")).toBe(false);
    expect(h.router.writable(999, "/mine/x")).toBe(false);
  });

  it("says when a tick is due for a buffered gesture move", async () => {
    const h = await harness();
    const a = h.client();
    h.client();
    a.send({ type: "PUBLISH", address: "/g", signal: "gesture", id: 1, phase: "start" });
    const step = h.router.receive(a.conn, encode({ type: "PUBLISH", address: "/g", signal: "gesture", id: 1, phase: "move" }), h.now);
    expect(step.due).toBe(h.now + 16_000);
    expect(h.router.receive(a.conn, encode({ type: "PING" }), h.now).due).toBe(0);
  });
});

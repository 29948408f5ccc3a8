/**
 * Compatibility with the published client's codec, @clasp-to/core 3.3.2, both ways; and
 * every place where it is lossy or refuses (clasp-wire.md §8), with what we do instead.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import * as peer from "@clasp-to/core";
import { encode, decode, encodeValue, ClaspDecodeError, type Message } from "../../src/clasp/index.js";
import { message } from "./arbitraries.js";
import { frame, hex, str, u16, u64 } from "./wire.js";

/** The peer decodes absent optional fields as explicit `undefined`s; drop them. */
function clean<T>(x: T): T {
  if (Array.isArray(x)) return x.map(clean) as T;
  if (x && typeof x === "object" && !(x instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) if (v !== undefined) out[k] = clean(v);
    return out as T;
  }
  return x;
}

/** The peer's QoS default for PUBLISH timeline is confirm; ours (Rust's) is commit. */
const peerQos = (m: Message) => (m.type === "PUBLISH" && m.signal === "timeline" ? { qos: 1 } : {});

describe("round trips with @clasp-to/core 3.3.2", () => {
  it("decodes every frame the peer encodes to the peer's own reading", () => {
    fc.assert(
      fc.property(message({ peerSafe: true }), (m) => {
        const bytes = peer.encode(m as peer.Message);
        const theirs = clean(peer.decodeMessage(bytes));
        const ours = decode(bytes);
        expect(ours.message).toEqual(theirs.message);
        expect(ours.flags).toEqual(theirs.flags);
      }),
      { numRuns: 3_000 },
    );
  });

  it("writes the same bytes as the peer", () => {
    fc.assert(
      fc.property(message({ peerSafe: true }), (m) => {
        expect(hex(encode(m, peerQos(m)))).toBe(hex(peer.encode(m as peer.Message)));
      }),
      { numRuns: 3_000 },
    );
  });

  it("encodes frames the peer decodes to the same message", () => {
    fc.assert(
      fc.property(message({ peerSafe: true }), (m) => {
        expect(clean(peer.decode(encode(m)))).toEqual(decode(encode(m)).message);
      }),
      { numRuns: 3_000 },
    );
  });
});

describe("where the peer is lossy or refuses, and what we do", () => {
  it("empty optional strings: the peer drops the flag, we write it; both readings agree on the value", () => {
    const ack: Message = { type: "ACK", address: "", holder: "" };
    expect(hex(peer.encode(ack as peer.Message))).toBe("5301000250" + "00");
    expect(hex(encode(ack))).toBe(hex(frame(0x01, [0x50, 0x09, ...str(""), ...str("")])));
    expect(peer.decode(encode(ack))).toMatchObject({ address: "", holder: "" });
    expect(decode(peer.encode(ack as peer.Message)).message).toEqual({ type: "ACK" });
  });

  it("numbers: the peer writes every number as f64, so do we; i64 needs a bigint", () => {
    expect(hex(encodeValue(3))).toBe("07" + "4008000000000000");
    const big = 2n ** 53n + 1n;
    const set = encode({ type: "SET", address: "/n", value: big });
    expect(decode(set).message).toMatchObject({ value: big }); // exact for us
    expect((peer.decode(set) as peer.SetMessage).value).toBe(2 ** 53); // the peer rounds
    // and the peer cannot send one: a bigint becomes null
    expect(decode(peer.encode({ type: "SET", address: "/n", value: 5n as never })).message).toMatchObject({ value: null });
  });

  it("big messages: the peer's 4 KiB scratch buffer refuses them; we encode up to the frame limit", () => {
    const params = Array.from({ length: 300 }, (_, i) => ({ address: `/param/${i}`, value: i * 0.5, revision: i + 1 }));
    const snap: Message = { type: "SNAPSHOT", params };
    expect(() => peer.encode(snap as peer.Message)).toThrow(RangeError);
    const ours = encode(snap);
    expect((peer.decode(ours) as peer.SnapshotMessage).params).toHaveLength(300); // it reads them fine
    const euro = "€".repeat(1363);
    expect(() => peer.encode({ type: "SET", address: "/e", value: euro })).toThrow(RangeError);
    expect(decode(encode({ type: "SET", address: "/e", value: euro })).message).toMatchObject({ value: euro });
  });

  it("REPLAY and FEDERATION_SYNC: the peer cannot decode them; we do", () => {
    const replay = encode({ type: "REPLAY", pattern: "/a/**", limit: 10 });
    expect(() => peer.decode(replay)).toThrow(/Unknown message type/);
    expect(decode(replay).message).toEqual({ type: "REPLAY", pattern: "/a/**", limit: 10 });
    const fed = encode({ type: "FEDERATION_SYNC", op: "request-sync", patterns: ["/a/**"], revisions: [] });
    expect(() => peer.decode(fed)).toThrow(/Unknown message type/);
  });

  it("SET ttl: the peer ignores it when reading, harmlessly (last field)", () => {
    const bytes = encode({ type: "SET", address: "/t", value: 1, ttl: 30 });
    expect(clean(peer.decode(bytes))).toEqual({ type: "SET", address: "/t", value: 1 });
  });

  it("PUBLISH timeline: the peer defaults to QoS confirm, we use commit (Rust)", () => {
    const m: Message = { type: "PUBLISH", address: "/tl", signal: "timeline" };
    expect(peer.decodeMessage(peer.encode(m as peer.Message)).flags.qos).toBe(1);
    expect(decode(encode(m)).flags.qos).toBe(2);
  });

  it("invalid UTF-8: the peer substitutes U+FFFD, we refuse the frame (101) like Rust", () => {
    const bad = frame(0x01, [0x22, ...u16(1), 0xff]);
    expect((peer.decode(bad) as peer.GetMessage).address).toBe("\ufffd");
    expect(() => decode(bad)).toThrow(ClaspDecodeError);
  });

  it("a leading BOM: the peer strips it, we keep the string as sent", () => {
    const bom = frame(0x01, [0x22, ...str("\ufeff/a")]);
    expect((peer.decode(bom) as peer.GetMessage).address).toBe("/a");
    expect(decode(bom).message).toEqual({ type: "GET", address: "\ufeff/a" });
  });

  it("a __proto__ map key: the peer installs a prototype, we keep an own key", () => {
    const bytes = frame(0x41, [0x21, 0x0b, ...str("/p"), ...u16(1), ...str("__proto__"), 0x07, ...u64(0)]);
    expect(Object.keys((peer.decode(bytes) as peer.SetMessage).value as object)).toEqual([]);
    expect(Object.keys((decode(bytes).message as { value: object }).value)).toEqual(["__proto__"]);
  });

  it("a WELCOME without the token field (the embedded MiniRouter's): both refuse it", () => {
    const welcome = frame(0x01, [0x02, 1, 0xf8, ...u64(0), ...str("embedded"), ...str("MiniRouter")]);
    expect(() => peer.decode(welcome)).toThrow(RangeError);
    expect(() => decode(welcome)).toThrow(/truncated/);
  });
});

/**
 * An independent test oracle: builds CLASP frames byte by byte in the Rust layout of
 * clasp-wire.md §4, without the codec under test. Also a corpus of hand-built frames with
 * the message each must decode to.
 */
import type { DecodedFrame, Message } from "../../src/clasp/index.js";

type Bytes = number[];

export const u8 = (v: number): Bytes => [v & 0xff];
export const u16 = (v: number): Bytes => [(v >>> 8) & 0xff, v & 0xff];
export const u32 = (v: number): Bytes => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
export function u64(v: bigint | number): Bytes {
  const b = BigInt.asUintN(64, BigInt(v));
  return [...u32(Number(b >> 32n)), ...u32(Number(b & 0xffffffffn))];
}
export function f64(v: number): Bytes {
  const d = new DataView(new ArrayBuffer(8));
  d.setFloat64(0, v);
  return [...new Uint8Array(d.buffer)];
}
export function f32(v: number): Bytes {
  const d = new DataView(new ArrayBuffer(4));
  d.setFloat32(0, v);
  return [...new Uint8Array(d.buffer)];
}
export function str(s: string): Bytes {
  const b = [...new TextEncoder().encode(s)];
  return [...u16(b.length), ...b];
}

/** A frame: magic, flags, u16 length, optional u64 timestamp, payload. */
export function frame(flags: number, payload: Bytes, timestamp?: bigint): Uint8Array {
  const ts = flags & 0x20 ? u64(timestamp ?? 0n) : [];
  return new Uint8Array([0x53, flags, ...u16(payload.length), ...ts, ...payload]);
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ""), "hex"));

const flags = (qos: number, extra: Partial<DecodedFrame["flags"]> = {}): DecodedFrame["flags"] => ({
  qos,
  hasTimestamp: false,
  encrypted: false,
  compressed: false,
  version: 1,
  ...extra,
});

export interface Vector {
  name: string;
  bytes: Uint8Array;
  frame: DecodedFrame;
  /** Our encoder writes exactly these bytes back (canonical form, widths kept). */
  canonical: boolean;
}

const set = (f: number, body: Bytes, tail: Bytes = []): Bytes => [0x21, f, ...str("/x"), ...body, ...tail];
const m = (message: Message, qos = 0, extra: Partial<DecodedFrame["flags"]> = {}, timestamp?: number | bigint): DecodedFrame =>
  timestamp === undefined ? { message, flags: flags(qos, extra) } : { message, flags: flags(qos, extra), timestamp };

/** Hand-built frames in the Rust layout (clasp-wire.md §4) and what each decodes to. */
export const VECTORS: Vector[] = [
  {
    name: "SET /a = 1.0, confirm (clasp-wire.md §4.1 example)",
    bytes: unhex("5341000e2107 00022f61 3ff0000000000000"),
    frame: m({ type: "SET", address: "/a", value: 1 }, 1),
    canonical: true,
  },
  {
    name: "the JS client's default HELLO (§4.1 example)",
    bytes: unhex(`53010016 0101e0 000f ${Buffer.from("CLASP JS Client").toString("hex")} 0000`),
    frame: m({ type: "HELLO", version: 1, name: "CLASP JS Client", features: ["param", "event", "stream"] }),
    canonical: true,
  },
  { name: "PING", bytes: unhex("5301000141"), frame: m({ type: "PING" }), canonical: true },
  { name: "PONG", bytes: unhex("5301000142"), frame: m({ type: "PONG" }), canonical: true },
  { name: "empty SNAPSHOT (router's answer to HELLO)", bytes: unhex("53010003230000"), frame: m({ type: "SNAPSHOT", params: [] }), canonical: true },
  { name: "SET i8 −1", bytes: frame(0x41, set(0x02, [0xff])), frame: m({ type: "SET", address: "/x", value: -1 }, 1), canonical: false },
  { name: "SET i16 −300", bytes: frame(0x41, set(0x03, u16(-300 & 0xffff))), frame: m({ type: "SET", address: "/x", value: -300 }, 1), canonical: false },
  { name: "SET i32 −70000", bytes: frame(0x41, set(0x04, u32(-70000 >>> 0))), frame: m({ type: "SET", address: "/x", value: -70000 }, 1), canonical: false },
  {
    name: "SET i64 2^53+1 (exact as bigint)",
    bytes: frame(0x41, set(0x05, u64(2n ** 53n + 1n))),
    frame: m({ type: "SET", address: "/x", value: 2n ** 53n + 1n }, 1),
    canonical: true,
  },
  { name: "SET i64 −1", bytes: frame(0x41, set(0x05, u64(-1n))), frame: m({ type: "SET", address: "/x", value: -1n }, 1), canonical: true },
  { name: "SET f32 1.5", bytes: frame(0x41, set(0x06, f32(1.5))), frame: m({ type: "SET", address: "/x", value: 1.5 }, 1), canonical: false },
  {
    name: "SET with revision, lock and sliding TTL 60 s (Rust ≥ 4.x)",
    bytes: frame(0x41, set(0x80 | 0x40 | 0x10 | 0x07, f64(0.25), [...u64(5), ...u32(60)])),
    frame: m({ type: "SET", address: "/x", value: 0.25, revision: 5, lock: true, ttl: 60 }, 1),
    canonical: true,
  },
  {
    name: "SET with unlock and absolute TTL",
    bytes: frame(0x41, set(0x20 | 0x10 | 0x08, str("on"), u32(0x80000000 | 1_700_000_000))),
    frame: m({ type: "SET", address: "/x", value: "on", unlock: true, ttl: (0x80000000 | 1_700_000_000) >>> 0 }, 1),
    canonical: true,
  },
  {
    name: "SET bool written as 2 reads true",
    bytes: frame(0x41, set(0x01, [0x02])),
    frame: m({ type: "SET", address: "/x", value: true }, 1),
    canonical: false,
  },
  {
    name: "SET nested map and array with bytes and null",
    bytes: frame(0x41, set(0x0b, [...u16(2), ...str("a"), 0x0a, ...u16(2), 0x00, 0x09, ...u16(2), 1, 2, ...str("b"), 0x08, ...str("é")])),
    frame: m({ type: "SET", address: "/x", value: { a: [null, new Uint8Array([1, 2])], b: "é" } }, 1),
    canonical: true,
  },
  {
    name: "REPLAY with from, to, limit and type mask (Rust only)",
    bytes: frame(0x41, [0x24, 0xe0, ...str("/a/**"), ...u64(10), ...u64(20), ...u32(100), 0x03]),
    frame: m({ type: "REPLAY", pattern: "/a/**", from: 10, to: 20, limit: 100, types: ["param", "event"] }, 1),
    canonical: true,
  },
  {
    name: "FEDERATION_SYNC revision vector (Rust only)",
    bytes: frame(0x41, [0x04, 3, ...u16(1), ...str("/a/**"), ...u16(2), ...str("/a/x"), ...u64(4), ...str("/a/y"), ...u64(7), 0xc0, ...u64(3), ...str("peer-1")]),
    frame: m(
      { type: "FEDERATION_SYNC", op: "revision-vector", patterns: ["/a/**"], revisions: [["/a/x", 4], ["/a/y", 7]], sinceRevision: 3, origin: "peer-1" },
      1,
    ),
    canonical: true,
  },
  {
    name: "HELLO with the federation feature bit (Rust)",
    bytes: frame(0x01, [0x01, 1, 0xfc, ...str("rust"), ...str("tok")]),
    frame: m({ type: "HELLO", version: 1, name: "rust", features: ["param", "event", "stream", "gesture", "timeline", "federation"], token: "tok" }),
    canonical: true,
  },
  {
    name: "WELCOME with token",
    bytes: frame(0x01, [0x02, 1, 0xf8, ...u64(1_700_000_000_000_000n), ...str("sess"), ...str("router"), ...str("t")]),
    frame: m({ type: "WELCOME", version: 1, session: "sess", name: "router", features: ["param", "event", "stream", "gesture", "timeline"], time: 1_700_000_000_000_000, token: "t" }),
    canonical: true,
  },
  {
    name: "PUBLISH stream samples with a rate (no flag for rate)",
    bytes: frame(0x01, [0x20, (2 << 5) | 0x10, ...str("/s"), 2, ...u16(2), ...f64(0.5), ...f64(-1), ...u64(77), ...u32(48000)]),
    frame: m({ type: "PUBLISH", address: "/s", signal: "stream", phase: "start", samples: [0.5, -1], timestamp: 77, rate: 48000 }),
    canonical: true,
  },
  {
    name: "PUBLISH gesture move with id (flags 0x79 of §4.1)",
    bytes: frame(0x01, [0x20, 0x79, ...str("/g"), 1, 0x00, ...u64(5), ...u32(3)]),
    frame: m({ type: "PUBLISH", address: "/g", signal: "gesture", phase: "move", value: null, timestamp: 5, id: 3 }),
    canonical: true,
  },
  {
    name: "PUBLISH kind 3 reads as no value; unknown signal/phase read as event/start",
    bytes: frame(0x41, [0x20, (7 << 5) | 5, ...str("/p"), 3]),
    frame: m({ type: "PUBLISH", address: "/p", signal: "event", phase: "start" }, 1),
    canonical: false,
  },
  {
    name: "SUBSCRIBE with all options",
    bytes: frame(0x41, [0x10, ...u32(9), ...str("/a/*"), 0x05, 0x0f, ...u32(30), ...f64(0.01), ...u32(10), ...u32(1000)]),
    frame: m({ type: "SUBSCRIBE", id: 9, pattern: "/a/*", types: ["param", "stream"], options: { maxRate: 30, epsilon: 0.01, history: 10, window: 1000 } }, 1),
    canonical: true,
  },
  {
    name: "SUBSCRIBE type mask 0x00 reads as no filter",
    bytes: frame(0x41, [0x10, ...u32(1), ...str("/**"), 0x00, 0x00]),
    frame: m({ type: "SUBSCRIBE", id: 1, pattern: "/**" }, 1),
    canonical: false,
  },
  {
    name: "BUNDLE with a timestamp, a nested BUNDLE and a PING",
    bytes: frame(0x81, [0x30, 0x80, ...u16(2), ...u64(99), ...u16(7), 0x30, 0x00, ...u16(1), ...u16(1), 0x41, ...u16(1), 0x41]),
    frame: m({ type: "BUNDLE", timestamp: 99, messages: [{ type: "BUNDLE", messages: [{ type: "PING" }] }, { type: "PING" }] }, 2),
    canonical: true,
  },
  { name: "SYNC with t3 but no t2", bytes: frame(0x01, [0x40, 0x02, ...u64(1), ...u64(3)]), frame: m({ type: "SYNC", t1: 1, t3: 3 }), canonical: true },
  {
    name: "ACK with every optional field",
    bytes: frame(0x01, [0x50, 0x1f, ...str("/a"), ...u64(2), 1, ...str("holder"), ...u32(7)]),
    frame: m({ type: "ACK", address: "/a", revision: 2, locked: true, holder: "holder", correlationId: 7 }),
    canonical: true,
  },
  {
    name: "ACK with an empty address written with its flag (Rust)",
    bytes: frame(0x01, [0x50, 0x01, ...str("")]),
    frame: m({ type: "ACK", address: "" }),
    canonical: true,
  },
  {
    name: "ERROR 400 with address",
    bytes: frame(0x01, [0x51, ...u16(400), ...str("RevisionConflict"), 0x01, ...str("/a")]),
    frame: m({ type: "ERROR", code: 400, message: "RevisionConflict", address: "/a" }),
    canonical: true,
  },
  {
    name: "ANNOUNCE with meta",
    bytes: frame(0x01, [0x03, ...str("/ns"), ...u16(1), ...str("/ns/v"), 0, 0x05, ...str("f64"), 0x0f, ...str("dB"), ...f64(-60), ...f64(6), 0x07, ...f64(0), ...str("gain")]),
    frame: m({ type: "ANNOUNCE", namespace: "/ns", signals: [{ address: "/ns/v", type: "param", datatype: "f64", meta: { unit: "dB", range: [-60, 6], default: 0, description: "gain" } }] }),
    canonical: true,
  },
  {
    name: "RESULT",
    bytes: frame(0x01, [0x61, ...u16(1), ...str("/ns/v"), 2, 0x02, ...str("r")]),
    frame: m({ type: "RESULT", signals: [{ address: "/ns/v", type: "stream", access: "r" }] }),
    canonical: true,
  },
  { name: "GET", bytes: frame(0x01, [0x22, ...str("/a")]), frame: m({ type: "GET", address: "/a" }), canonical: true },
  { name: "QUERY", bytes: frame(0x01, [0x60, ...str("/**")]), frame: m({ type: "QUERY", pattern: "/**" }), canonical: true },
  { name: "UNSUBSCRIBE", bytes: frame(0x41, [0x11, ...u32(4)]), frame: m({ type: "UNSUBSCRIBE", id: 4 }, 1), canonical: true },
  {
    name: "header timestamp (flags 0x61)",
    bytes: frame(0x61, [0x41], 123456789n),
    frame: m({ type: "PING" }, 1, { hasTimestamp: true }, 123456789),
    canonical: true,
  },
  { name: "QoS 3 (reserved) kept", bytes: frame(0xc1, [0x41]), frame: m({ type: "PING" }, 3), canonical: true },
  {
    name: "encrypted and compressed bits carried",
    bytes: frame(0x01 | 0x10 | 0x08, [0x41]),
    frame: m({ type: "PING" }, 0, { encrypted: true, compressed: true }),
    canonical: true,
  },
  { name: "version 0 with a binary payload still decodes", bytes: frame(0x00, [0x41]), frame: m({ type: "PING" }, 0, { version: 0 }), canonical: true },
];

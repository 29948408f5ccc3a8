import { describe, it, expect } from "vitest";
import {
  encode,
  decode,
  decodeAll,
  decodeBatch,
  encodeBatch,
  encodeValue,
  decodeValue,
  ClaspCodec,
  ClaspDecodeError,
  ClaspEncodeError,
  i8,
  i16,
  i32,
  f32,
  QoS,
  codec,
  type Message,
} from "../../src/clasp/index.js";
import fc from "fast-check";
import { value } from "./arbitraries.js";
import { VECTORS, f64, frame, hex, str, u16, u64, unhex } from "./wire.js";

describe("decoding hand-built frames in the Rust layout (clasp-wire.md §4)", () => {
  for (const v of VECTORS) {
    it(`decodes ${v.name}`, () => {
      expect(decode(v.bytes)).toEqual(v.frame);
    });
  }
});

describe("encoding", () => {
  for (const v of VECTORS.filter((x) => x.canonical)) {
    it(`writes the same bytes back: ${v.name}`, () => {
      const { message, flags, timestamp } = decode(v.bytes, { widths: true });
      const out = encode(message, { qos: flags.qos, timestamp, encrypted: flags.encrypted, compressed: flags.compressed, version: flags.version });
      expect(hex(out)).toBe(hex(v.bytes));
    });
  }

  it("keeps explicit widths byte-exact with { widths: true }", () => {
    for (const v of VECTORS.filter((x) => !x.canonical && x.name.startsWith("SET i") || x.name.startsWith("SET f32"))) {
      const d = decode(v.bytes, { widths: true });
      expect(hex(encode(d.message, { qos: d.flags.qos }))).toBe(hex(v.bytes));
    }
    const m: Message = { type: "SET", address: "/w", value: [i8(-128), i16(32767), i32(-(2 ** 31)), f32(0.1)] };
    const back = decode(encode(m), { widths: true }).message;
    expect(back).toEqual(m);
  });

  it("uses the Rust default QoS per type (PUBLISH timeline is commit)", () => {
    const qos = (m: Message) => decode(encode(m)).flags.qos;
    expect(qos({ type: "SET", address: "/a", value: 1 })).toBe(QoS.Confirm);
    expect(qos({ type: "PUBLISH", address: "/a", signal: "event" })).toBe(QoS.Confirm);
    expect(qos({ type: "PUBLISH", address: "/a", signal: "stream", samples: [1] })).toBe(QoS.Fire);
    expect(qos({ type: "PUBLISH", address: "/a", signal: "gesture", id: 1, phase: "move" })).toBe(QoS.Fire);
    expect(qos({ type: "PUBLISH", address: "/a", signal: "timeline" })).toBe(QoS.Commit);
    expect(qos({ type: "BUNDLE", messages: [] })).toBe(QoS.Commit);
    expect(qos({ type: "SUBSCRIBE", id: 1, pattern: "/a" })).toBe(QoS.Confirm);
    expect(qos({ type: "PING" })).toBe(QoS.Fire);
    expect(decode(encode({ type: "PING" }, { qos: QoS.Commit })).flags.qos).toBe(QoS.Commit);
  });

  it("writes numbers as f64 and bigints as i64", () => {
    expect(hex(encodeValue(3))).toBe("074008000000000000");
    expect(hex(encodeValue(-2n))).toBe("05fffffffffffffffe");
    expect(decodeValue(encodeValue(-(2n ** 63n)))).toBe(-(2n ** 63n));
  });

  it("treats a __proto__ key as data", () => {
    const bytes = unhex(`0b 0001 0009 ${Buffer.from("__proto__").toString("hex")} 08 0001 78`);
    const v = decodeValue(bytes) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(["__proto__"]);
    expect(v["__proto__"]).toBe("x");
  });

  it("takes string-keyed Maps and undefined as values", () => {
    const v = decodeValue(encodeValue(new Map<string, unknown>([["k", undefined]]) as never));
    expect(v).toEqual({ k: null });
  });

  it("encodes batches as views into one buffer, in order", () => {
    const frames = encodeBatch([{ type: "PING" }, { type: "SET", address: "/a", value: 1 }, { type: "PONG" }]);
    expect(frames.map(hex)).toEqual(["5301000141", "5341000e210700022f613ff0000000000000", "5301000142"]);
    expect(frames[0]!.buffer).toBe(frames[2]!.buffer);
  });

  it("frames batches with a u32 length prefix or SLIP", () => {
    const [lp] = encodeBatch([{ type: "PING" }], { framing: "length-prefixed" });
    expect(hex(lp!)).toBe("000000055301000141");
    // 0xC0 and 0xDB inside the frame are escaped (RFC 1055)
    const [slip] = encodeBatch([{ type: "SET", address: "/a", value: new Uint8Array([0xc0, 0xdb]) }], { framing: "slip" });
    const inner = hex(encode({ type: "SET", address: "/a", value: new Uint8Array([0xc0, 0xdb]) }));
    expect(hex(slip!)).toBe(`c0${inner.replace("c0db", "dbdcdbdd")}c0`);
  });
});

describe("SNAPSHOT params (the decoder's fast path for the common nodes)", () => {
  it("reads every shape: interned and long addresses, f64, i32, other values, writer, timestamp, big revisions", () => {
    const long = `/${"x".repeat(40)}/é`;
    const params = [
      { address: "/a", value: 0.5, revision: 1 },
      { address: "/a", value: i32(-7), revision: 2n ** 53n, writer: "w", timestamp: 2 ** 53 - 1 },
      { address: long, value: "text", revision: 2n ** 60n, timestamp: 2n ** 63n },
      { address: "/b", value: [1, { k: null }], revision: 3, writer: "" },
      { address: "/c", value: i8(3), revision: 4 },
    ];
    const m = { type: "SNAPSHOT", params } as Message;
    for (let round = 0; round < 2; round++) {
      // The second round reads the addresses from the intern table.
      expect(decode(encode(m)).message).toEqual({
        type: "SNAPSHOT",
        params: params.map((p) => ({ ...p, value: p.value === params[1]!.value ? -7 : p.value === params[4]!.value ? 3 : p.value })),
      });
      expect(decode(encode(m), { widths: true }).message).toEqual(m);
    }
  });
});

describe("SNAPSHOT params the core reads in one step (an f64 value, no writer, no timestamp)", () => {
  /** One param on the wire (clasp-wire.md §4.1): address, tagged value, revision, options byte, then the optional fields. */
  const param = (address: string, value: number[], revision: bigint | number, options: number, tail: number[] = []) => [
    ...str(address), ...value, ...u64(revision), options, ...tail,
  ];
  const snapshot = (params: number[][]) => frame(0x41, [0x23, ...u16(params.length), ...params.flat()]);
  const f64v = (v: number) => [0x07, ...f64(v)];

  it("reads the f64, the revision (number below 2^53, bigint above) and leaves writer and timestamp absent", () => {
    const values = [0.25, -0, Number.NaN, Number.POSITIVE_INFINITY, 5e-324, -1.5e308, 3];
    const revisions: Array<bigint | number> = [0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, 2n ** 53n, 2n ** 64n - 1n];
    const params = values.flatMap((v, i) => revisions.map((r, j) => ({ address: `/p/${i}/${j}`, value: v, revision: r })));
    const got = decode(snapshot(params.map((p) => param(p.address, f64v(p.value), p.revision, 0)))).message;
    expect(got.type).toBe("SNAPSHOT");
    if (got.type !== "SNAPSHOT") return;
    expect(got.params).toHaveLength(params.length);
    got.params.forEach((p, i) => {
      const want = params[i]!;
      expect(p.address).toBe(want.address);
      expect(Object.is(p.value, want.value)).toBe(true); // -0 and NaN exactly
      expect(p.revision).toBe(typeof want.revision === "bigint" && want.revision < 2n ** 53n ? Number(want.revision) : want.revision);
      expect(Object.keys(p)).toEqual(["address", "value", "revision"]);
    });
  });

  it("reads params with a writer, a timestamp or unknown option bits as the general path does", () => {
    const bytes = snapshot([
      param("/a", f64v(0.5), 7, 0x00),
      param("/b", f64v(1.5), 8, 0x01, str("writer-1")),
      param("/c", f64v(2.5), 9, 0x02, u64(1_700_000_000_000_000)),
      param("/d", f64v(3.5), 10, 0x03, [...str("w"), ...u64(2n ** 63n)]),
      param("/e", f64v(4.5), 11, 0xfc), // bits the format does not define are ignored on either path
      param("/f", [0x04, 0xff, 0xff, 0xff, 0xf9], 12, 0x00), // an i32: the general path
      param("/g", f64v(5.5), 13, 0x00),
    ]);
    expect(decode(bytes).message).toEqual({
      type: "SNAPSHOT",
      params: [
        { address: "/a", value: 0.5, revision: 7 },
        { address: "/b", value: 1.5, revision: 8, writer: "writer-1" },
        { address: "/c", value: 2.5, revision: 9, timestamp: 1_700_000_000_000_000 },
        { address: "/d", value: 3.5, revision: 10, writer: "w", timestamp: 2n ** 63n },
        { address: "/e", value: 4.5, revision: 11 },
        { address: "/f", value: -7, revision: 12 },
        { address: "/g", value: 5.5, revision: 13 },
      ],
    });
  });

  it("refuses a param cut anywhere in its value, revision or options byte, at the offset of the field that is short", () => {
    const whole = param("/a", f64v(0.5), 7, 0x00);
    const at = 4 + 1 + 2 + 2 + 2; // header, type byte, count, the address's length and bytes
    for (let keep = 0; keep < 18; keep++) {
      const bytes = snapshot([whole.slice(0, whole.length - 18 + keep)]);
      const short = keep === 0 ? at : keep <= 8 ? at + 1 : keep <= 16 ? at + 9 : at + 17;
      expect(() => decode(bytes), `${keep} of 18 bytes`).toThrow(ClaspDecodeError);
      try {
        decode(bytes);
      } catch (e) {
        expect(e, `${keep} of 18 bytes`).toMatchObject({ code: 101, reason: "message truncated", offset: short });
      }
    }
    // A param cut short before the one after it: the fast path never reads into the next param's bytes.
    const next = param("/b", f64v(1.5), 8, 0x00);
    expect(decode(snapshot([param("/a", f64v(0.5), 7, 0x00), next])).message).toMatchObject({ params: [{ address: "/a" }, { address: "/b", value: 1.5 }] });
  });

  it("builds addresses of every length, ASCII or not, fresh and from the intern table", () => {
    const addresses = Array.from({ length: 40 }, (_, i) => `/${"abcdefghijklmnopqrstuvwxyz0123456789\u0000\u007f~".repeat(2).slice(i % 7, i % 7 + i)}`);
    addresses.push("/é", "/€/x", `/${"é".repeat(20)}`);
    const m: Message = { type: "SNAPSHOT", params: addresses.map((address, i) => ({ address, value: i + 0.5, revision: i })) };
    for (let round = 0; round < 2; round++) expect(decode(encode(m)).message, `round ${round}`).toEqual(m);
  });
});

describe("decode errors", () => {
  const err = (bytes: Uint8Array) => {
    try {
      decode(bytes);
    } catch (e) {
      expect(e).toBeInstanceOf(ClaspDecodeError);
      return e as ClaspDecodeError;
    }
    throw new Error("decoded");
  };

  it("reports 100 for a short header, bad magic and a length past the end", () => {
    expect(err(unhex("5301"))).toMatchObject({ code: 100, offset: 0 });
    expect(err(unhex("5401000141"))).toMatchObject({ code: 100, reason: expect.stringMatching(/magic/) });
    expect(err(unhex("530100054141"))).toMatchObject({ code: 100, offset: 2 });
    expect(err(unhex("5321000141"))).toMatchObject({ code: 100 }); // timestamp flag, no room for it
  });

  it("reports 101 with the offset of the failure", () => {
    expect(err(unhex("530100017f"))).toMatchObject({ code: 101, offset: 4, reason: "unknown message type" });
    expect(err(unhex("53010000"))).toMatchObject({ code: 101, reason: expect.stringMatching(/empty payload/) });
    expect(err(frame(0x41, [0x21, 0x0c, ...str("/x")]))).toMatchObject({ code: 101, reason: "unknown value type" });
    expect(err(frame(0x41, [0x21, 0x07, ...str("/x"), 0x3f, 0xf0]))).toMatchObject({ code: 101, reason: "message truncated", offset: 10 });
    expect(err(frame(0x41, [0x21, 0x08, ...str("/x"), ...u16(2), 0xc3, 0x28]))).toMatchObject({ code: 101, reason: "invalid UTF-8 in string" });
    expect(err(frame(0x41, [0x04, 9, 0, 0, 0, 0, 0]))).toMatchObject({ code: 101, reason: expect.stringMatching(/FEDERATION_SYNC/) });
  });

  it("rejects invalid UTF-8: overlongs, surrogates, above U+10FFFF, truncated sequences", () => {
    for (const bad of [[0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82], [0xff]]) {
      expect(err(frame(0x41, [0x22, ...u16(bad.length), ...bad]))).toMatchObject({ code: 101 });
    }
    expect(decode(frame(0x41, [0x22, ...str("€𝄞é")])).message).toEqual({ type: "GET", address: "€𝄞é" });
  });

  it("reports 102 for a legacy MessagePack payload", () => {
    expect(err(frame(0x00, [0x81, 0xa1, 0x61, 0x01]))).toMatchObject({ code: 102 });
  });

  it("refuses nesting deeper than 64", () => {
    const deep = (n: number) => [...Array(n)].flatMap(() => [0x0a, 0x00, 0x01]).concat([0x00]);
    let nested: unknown = null;
    for (let i = 0; i < 64; i++) nested = [nested];
    expect(decodeValue(new Uint8Array(deep(64)))).toEqual(nested);
    expect(() => decodeValue(new Uint8Array(deep(65)))).toThrow(/nesting deeper than 64/);
  });

  it("ignores bytes after a frame, as upstream decoders do", () => {
    expect(decode(unhex("5301000141ffff")).message).toEqual({ type: "PING" });
  });

  it("rejects bytes after a value", () => {
    expect(() => decodeValue(unhex("0000"))).toThrow(/trailing bytes/);
  });

  it("decodes batches item by item: one bad frame never hides the others", () => {
    const out = decodeBatch([unhex("5301000141"), unhex("53"), unhex("5301000142ff")]);
    expect(out[0]).toEqual({ message: { type: "PING" }, flags: expect.anything() });
    expect(out[1]).toBeInstanceOf(ClaspDecodeError);
    expect((out[1] as ClaspDecodeError).offset).toBe(0);
    expect((out[2] as { message: Message }).message).toEqual({ type: "PONG" });
  });

  it("decodes frames back to back and stops at an unusable header", () => {
    const out = decodeAll(unhex("5301000141 530100017f 5301000142 99"));
    expect(out.map((x) => (x instanceof ClaspDecodeError ? x.code : x.message.type))).toEqual(["PING", 101, "PONG", 100]);
    expect((out[1] as ClaspDecodeError).offset).toBe(9);
    expect((out[3] as ClaspDecodeError).offset).toBe(15);
  });

  it("reads the tape right when decoding grows the core's memory", async () => {
    const fresh = await ClaspCodec.load();
    const ping = unhex("5301000141");
    const n = 50_000; // 250 KB of frames, whose tape outgrows the memory the input fits in
    const all = new Uint8Array(n * ping.length);
    for (let i = 0; i < n; i++) all.set(ping, i * ping.length);
    const out = fresh.decodeAll(all);
    expect(out).toHaveLength(n);
    expect(out.every((x) => !(x instanceof ClaspDecodeError) && x.message.type === "PING")).toBe(true);
    const batch = fresh.decodeBatch(Array.from({ length: n }, () => ping));
    expect(batch.every((x) => !(x instanceof ClaspDecodeError) && x.message.type === "PING")).toBe(true);
  });
});

describe("encodeValueInto", () => {
  it("hands the bytes encodeValue returns to the target, as a view it must copy (fuzzed)", () => {
    const c = codec;
    fc.assert(
      fc.property(value({ typed: true }), (v) => {
        const want = encodeValue(v);
        let seen: Uint8Array | undefined;
        const n = c.encodeValueInto(v, (bytes) => {
          seen = bytes.slice();
          // a view into the core's memory, not a fresh buffer of its own
          expect(bytes.buffer.byteLength).toBeGreaterThan(bytes.length);
          return bytes.length;
        });
        expect(n).toBe(want.length);
        expect(hex(seen!)).toBe(hex(want));
      }),
      { numRuns: 500 },
    );
  });

  it("throws what encodeValue throws, before calling the target", () => {
    let called = false;
    const target = () => (called = true);
    expect(() => codec.encodeValueInto("é".repeat(40000), target)).toThrow(/string or bytes over 65535 bytes \(80000\)/);
    expect(() => codec.encodeValueInto((() => 1) as never, target)).toThrow(TypeError);
    expect(called).toBe(false);
  });
});

describe("encode limits", () => {
  it("accepts a payload of exactly 65,535 bytes and refuses one more", () => {
    const fill = (n: number) => "x".repeat(n);
    // SET payload: type 1 + flags 1 + address 2+2 + string value 2+n = 8 + n
    const ok = encode({ type: "SET", address: "/a", value: fill(65535 - 8) });
    expect(ok.length).toBe(4 + 65535);
    expect(() => encode({ type: "SET", address: "/a", value: fill(65535 - 7) })).toThrow(ClaspEncodeError);
    expect(() => encode({ type: "SET", address: "/a", value: fill(65535 - 7) })).toThrow(/payload over 65535 bytes/);
  });

  it("refuses a string over 65,535 bytes, naming its size", () => {
    expect(() => encodeValue("é".repeat(40000))).toThrow(/string or bytes over 65535 bytes \(80000\)/);
    expect(() => encodeValue(new Uint8Array(70000))).toThrow(/\(70000\)/);
  });

  it("refuses arrays, maps and lists over 65,535 entries", () => {
    expect(() => encodeValue(new Array(65536).fill(null))).toThrow(/over 65535 entries \(65536\)/);
    expect(() => encode({ type: "SNAPSHOT", params: new Array(65536).fill({ address: "", value: null, revision: 1 }) })).toThrow(ClaspEncodeError);
  });

  it("refuses cycles and nesting over 64 with a clear error", () => {
    const a: unknown[] = [];
    a.push(a);
    expect(() => encodeValue(a as never)).toThrow(/nesting deeper than 64/);
  });

  it("names the failing message of a batch", () => {
    try {
      encodeBatch([{ type: "PING" }, { type: "GET", address: "x".repeat(70000) }]);
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ name: "ClaspEncodeError", index: 1 });
    }
  });

  it("rejects wrong field types with TypeError naming the field", () => {
    expect(() => encode({ type: "SET", address: 5 } as never)).toThrow(/address must be a string/);
    expect(() => encode({ type: "SUBSCRIBE", id: -1, pattern: "/a" })).toThrow(/id must be an integer/);
    expect(() => encode({ type: "NOPE" } as never)).toThrow(/message.type/);
    expect(() => encodeValue(2n ** 64n)).toThrow(/i64 range/);
    expect(() => encodeValue(new Float32Array(2) as never)).toThrow(/Uint8Array/);
    expect(() => encodeValue((() => 1) as never)).toThrow(TypeError);
  });

  it("keeps working after every error", () => {
    expect(hex(encode({ type: "PING" }))).toBe("5301000141");
  });
});

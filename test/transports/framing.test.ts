// The codec's undecoded frame reader (FrameReader) and wrapFrame: what the serial and Web
// Serial transports put on and take off a byte stream. Each fault a serial line shows — line
// noise, a frame cut short, bytes between frames, an oversized frame — must cost only the
// bytes it spoiled: the reader resyncs at the next frame boundary and counts the loss.
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { codec, encode, ClaspDecodeError, type Framing, type Message } from "../../src/clasp/index.js";
import { message } from "../clasp/arbitraries.js";

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Splits `bytes` at the given cut points. */
function cut(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.slice(prev, c));
    prev = c;
  }
  return out;
}

const frames = (items: Array<Uint8Array | ClaspDecodeError>) => items.filter((x): x is Uint8Array => x instanceof Uint8Array);
const errors = (items: Array<Uint8Array | ClaspDecodeError>) => items.filter((x): x is ClaspDecodeError => x instanceof ClaspDecodeError);

const PING = encode({ type: "PING" });
const SET = encode({ type: "SET", address: "/dev/led", value: 0.5 });

describe("wrapFrame", () => {
  it("SLIP-frames bytes as RFC 1055 says: END, END and ESC escaped, END", () => {
    expect([...codec.wrapFrame(new Uint8Array([1, 0xc0, 2, 0xdb, 3]), "slip")]).toEqual([0xc0, 1, 0xdb, 0xdc, 2, 0xdb, 0xdd, 3, 0xc0]);
  });

  it("prefixes a u32 big-endian length, or leaves a bare frame as it is", () => {
    expect([...codec.wrapFrame(PING, "length-prefixed")]).toEqual([0, 0, 0, PING.length, ...PING]);
    expect(codec.wrapFrame(SET, "frame")).toEqual(SET);
  });

  it("writes what encodeBatch writes for the same message", () => {
    fc.assert(
      fc.property(message(), fc.constantFrom<Framing>("slip", "length-prefixed"), (m: Message, framing) => {
        expect(codec.wrapFrame(encode(m), framing)).toEqual(codec.encodeBatch([m], { framing })[0]);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses an unknown framing", () => {
    expect(() => codec.wrapFrame(PING, "cobs" as Framing)).toThrow(TypeError);
  });
});

describe("FrameReader: undecoded frames out of a byte stream", () => {
  for (const framing of ["slip", "length-prefixed", "frame"] as Framing[]) {
    it(`gives back each ${framing} frame byte for byte however the stream is cut`, () => {
      fc.assert(
        fc.property(fc.array(message(), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (ms, cuts) => {
          const bare = ms.map((m) => encode(m));
          const reader = codec.createReader({ framing });
          const out = cut(concat(...bare.map((f) => codec.wrapFrame(f, framing))), cuts).flatMap((c) => reader.push(c));
          expect(out).toEqual(bare);
          expect(reader.pending).toBe(0);
          expect(reader.lost).toBe(0);
          reader.close();
        }),
        { numRuns: 300 },
      );
    });
  }

  it("hands over frames it cannot decode (the router answers them), checking only the header", () => {
    // A well-formed header around an unknown message type 0x7f.
    const odd = new Uint8Array([0x53, 0x00, 0x00, 0x02, 0x7f, 0x01]);
    const reader = codec.createReader({ framing: "slip" });
    expect(reader.push(codec.wrapFrame(odd, "slip"))).toEqual([odd]);
    reader.close();
  });

  it("is unusable after close, and close is idempotent", () => {
    const reader = codec.createReader({ framing: "slip" });
    reader.close();
    reader.close();
    expect(() => reader.push(PING)).toThrow(/closed/);
    expect(reader.lost).toBe(0);
  });
});

describe("SLIP resync: each fault costs only the bytes it spoiled", () => {
  const slip = (f: Uint8Array) => codec.wrapFrame(f, "slip");

  it("line noise between frames: dropped, counted, the next frame comes through", () => {
    const noise = new Uint8Array([0x12, 0x34, 0x56, 0x78, 0x9a]);
    const reader = codec.createReader({ framing: "slip" });
    const out = reader.push(concat(slip(PING), noise, slip(SET)));
    expect(frames(out)).toEqual([PING, SET]);
    expect(errors(out)).toHaveLength(1);
    expect(errors(out)[0]!.code).toBe(100);
    expect(reader.lost).toBe(noise.length);
    reader.close();
  });

  it("a boot message before the first frame (text, no END before it)", () => {
    const banner = new TextEncoder().encode("boot v1.2\r\n");
    const reader = codec.createReader({ framing: "slip" });
    const out = reader.push(concat(banner, slip(PING)));
    expect(frames(out)).toEqual([PING]);
    expect(reader.lost).toBe(banner.length);
    reader.close();
  });

  it("a frame cut short (the device reset mid-frame): its remains are dropped, the next frame survives", () => {
    const whole = slip(SET);
    const truncated = whole.subarray(0, whole.length - 4); // END + the first bytes, no closing END
    const reader = codec.createReader({ framing: "slip" });
    const out = [...reader.push(truncated), ...reader.push(slip(PING))];
    expect(frames(out)).toEqual([PING]);
    expect(errors(out).map((e) => e.reason)).toEqual([expect.stringMatching(/past the end/)]);
    expect(reader.lost).toBe(truncated.length - 1); // all but its leading END
    reader.close();
  });

  it("a packet shorter than a header, and one with a bad magic byte", () => {
    const reader = codec.createReader({ framing: "slip" });
    const out = reader.push(concat(new Uint8Array([0xc0, 0x53, 0x00, 0xc0, 0xc0, 0x41, 0x00, 0x00, 0x01, 0x41, 0xc0]), slip(PING)));
    expect(frames(out)).toEqual([PING]);
    expect(errors(out).map((e) => e.reason)).toEqual([expect.stringMatching(/shorter than its header/), expect.stringMatching(/magic/)]);
    expect(reader.lost).toBe(2 + 5);
    reader.close();
  });

  it("an invalid escape: the packet is dropped up to the next END", () => {
    const bad = new Uint8Array([0xc0, 0x53, 0xdb, 0x01, 0x00, 0x01, 0x41, 0xc0]);
    const reader = codec.createReader({ framing: "slip" });
    const out = reader.push(concat(bad, slip(PING)));
    expect(frames(out)).toEqual([PING]);
    expect(errors(out)[0]!.reason).toMatch(/SLIP escape/);
    expect(reader.lost).toBe(6);
    reader.close();
  });

  it("an oversized frame: dropped at the limit, counted whole, and the stream goes on", () => {
    const big = encode({ type: "SET", address: "/blob", value: new Uint8Array(300).fill(0xc0) });
    const reader = codec.createReader({ framing: "slip", maxFrameSize: 128 });
    const wrapped = slip(big);
    const out = [...reader.push(wrapped.subarray(0, 100)), ...reader.push(wrapped.subarray(100)), ...reader.push(slip(PING))];
    expect(frames(out)).toEqual([PING]);
    expect(errors(out).map((e) => e.reason)).toEqual([expect.stringMatching(/maximum size/)]);
    expect(reader.lost).toBe(wrapped.length - 2); // every byte between its two ENDs, escapes included
    reader.close();
  });

  it("random noise anywhere never loses a frame it did not touch", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(message(), fc.uint8Array({ maxLength: 20 })), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (items, cuts) => {
          // Noise sits between frames, each frame SLIP-wrapped with its own leading END.
          const bare = items.map(([m]) => encode(m));
          const stream = concat(...items.flatMap(([, noise], i) => [noise, slip(bare[i]!)]));
          const reader = codec.createReader({ framing: "slip" });
          const out = cut(stream, cuts).flatMap((c) => reader.push(c));
          expect(frames(out)).toEqual(bare);
          const noiseBytes = items.reduce((n, [, noise]) => n + noise.filter((b) => b !== 0xc0).length, 0);
          expect(reader.lost).toBeLessThanOrEqual(noiseBytes);
          reader.close();
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("bare and length-prefixed streams count their losses too", () => {
  it("garbage between bare frames", () => {
    const reader = codec.createReader({ framing: "frame" });
    const out = reader.push(concat(new Uint8Array([1, 2, 3]), PING, new Uint8Array([0xff]), SET));
    expect(frames(out)).toEqual([PING, SET]);
    expect(reader.lost).toBe(4);
    reader.close();
  });

  it("a bare frame announcing more than the maximum is skipped in one piece", () => {
    const big = encode({ type: "GET", address: "x".repeat(100) });
    const reader = codec.createReader({ maxFrameSize: 64 });
    const out = reader.push(concat(big, PING));
    expect(errors(out).map((e) => e.reason)).toEqual([expect.stringMatching(/maximum size/)]);
    expect(frames(out)).toEqual([PING]);
    expect(reader.lost).toBe(big.length);
    reader.close();
  });

  it("a length prefix that disagrees with the frame's own header", () => {
    const reader = codec.createReader({ framing: "length-prefixed" });
    const lying = concat(new Uint8Array([0, 0, 0, 3]), PING.subarray(0, 3));
    const out = reader.push(concat(lying, codec.wrapFrame(SET, "length-prefixed")));
    expect(frames(out)).toEqual([SET]);
    expect(reader.lost).toBe(lying.length);
    reader.close();
  });
});

import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { FrameError } from "../../src/pipeline/errors.js";
import { chunkPayload, encodeFrame, END_FRAME, FrameReader, frameHeader } from "../../src/pipeline/frames.js";
import { isCompatibleProtocol, parseErrorFrame } from "../../src/pipeline/protocol.js";

const bytes = (...b: number[]) => new Uint8Array(b);

/** Feeds `stream` cut at `cuts` and returns the payloads. */
function parse(stream: Uint8Array, cuts: number[], max = 1 << 20): Uint8Array[] {
  const r = new FrameReader(max);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts.filter((c) => c > 0 && c < stream.length)].sort((a, b) => a - b)) {
    out.push(...r.push(stream.subarray(at, c)).map((f) => f.slice()));
    at = c;
  }
  out.push(...r.push(stream.subarray(at)).map((f) => f.slice()));
  r.end();
  return out;
}

describe("frames", () => {
  it("encodes the length as a little-endian u32", () => {
    expect(encodeFrame(bytes(9, 8, 7))).toEqual(bytes(3, 0, 0, 0, 9, 8, 7));
    expect(frameHeader(0x01020304)).toEqual(bytes(4, 3, 2, 1));
    expect(END_FRAME).toEqual(bytes(0, 0, 0, 0));
    expect(() => frameHeader(-1)).toThrow(RangeError);
    expect(() => frameHeader(2 ** 32)).toThrow(RangeError);
  });

  it("decodes known frames, the end frame included, cut byte by byte", () => {
    const stream = bytes(2, 0, 0, 0, 0xaa, 0xbb, 0, 0, 0, 0, 1, 0, 0, 0, 0xcc);
    const cuts = Array.from({ length: stream.length }, (_, i) => i);
    expect(parse(stream, cuts)).toEqual([bytes(0xaa, 0xbb), bytes(), bytes(0xcc)]);
  });

  it("returns a whole frame inside one chunk as a view (no copy)", () => {
    const chunk = encodeFrame(bytes(1, 2, 3));
    const [f] = new FrameReader().push(chunk);
    expect(f!.buffer).toBe(chunk.buffer);
  });

  it("refuses a header over the maximum at once, and a cut frame at the end", () => {
    const r = new FrameReader(16);
    expect(() => r.push(frameHeader(17))).toThrow(/17 bytes exceeds the maximum of 16/);
    const t = new FrameReader();
    t.push(bytes(5, 0, 0, 0, 1, 2));
    expect(() => t.end()).toThrow(FrameError);
    const h = new FrameReader();
    h.push(bytes(5, 0));
    expect(() => h.end()).toThrow(/inside a frame header/);
  });

  it("cuts payloads into frames of at most max_frame, never empty", () => {
    expect([...chunkPayload(new Uint8Array(10), 4)].map((c) => c.length)).toEqual([4, 4, 2]);
    expect([...chunkPayload(new Uint8Array(0), 4)]).toEqual([]);
  });

  it("property: any frames, cut anywhere, decode to the same payloads", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.array(fc.nat(7000), { maxLength: 30 }), (payloads, cuts) => {
        const stream = new Uint8Array(Buffer.concat(payloads.map(encodeFrame)));
        expect(parse(stream, cuts)).toEqual(payloads);
      }),
      { numRuns: 300 },
    );
  });

  it("fuzz: arbitrary bytes give payloads or a FrameError, never anything else, within max_frame", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.array(fc.nat(2000), { maxLength: 10 }), fc.integer({ min: 1, max: 4096 }), (junk, cuts, max) => {
        try {
          for (const f of parse(junk, cuts, max)) expect(f.length).toBeLessThanOrEqual(max);
        } catch (e) {
          expect(e).toBeInstanceOf(FrameError);
          expect(["FRAME_TOO_LARGE", "TRUNCATED_FRAME"]).toContain((e as FrameError).code);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("protocol", () => {
  it("accepts the same major and an equal or older minor version only", () => {
    expect(isCompatibleProtocol("1.0")).toBe(true);
    expect(isCompatibleProtocol("1")).toBe(true);
    expect(isCompatibleProtocol("1.1")).toBe(false);
    expect(isCompatibleProtocol("0.1")).toBe(false);
    expect(isCompatibleProtocol("2.0")).toBe(false);
    expect(isCompatibleProtocol("one")).toBe(false);
  });

  it("parses error frames, defaulting fatal to true, and rejects anything else", () => {
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    expect(parseErrorFrame(enc({ type: "X", message: "m" }))).toEqual({ type: "X", message: "m", fatal: true });
    expect(parseErrorFrame(enc({ type: "X", message: "m", fatal: false }))).toEqual({ type: "X", message: "m", fatal: false });
    expect(parseErrorFrame(enc({ type: "X" }))).toBeNull();
    expect(parseErrorFrame(enc({ type: "", message: "m" }))).toBeNull();
    expect(parseErrorFrame(enc({ type: "X", message: "m", fatal: "yes" }))).toBeNull();
    expect(parseErrorFrame(enc([1]))).toBeNull();
    expect(parseErrorFrame(bytes(0xff, 0xfe))).toBeNull();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => void parseErrorFrame(b)));
  });
});

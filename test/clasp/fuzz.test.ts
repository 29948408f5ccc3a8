/**
 * Property-based fuzzing of the codec core (assembly/clasp): over 100,000 cases per run.
 * Whatever bytes arrive, decoding returns a message or a typed ClaspDecodeError with the
 * CLASP code and an offset inside the input, the wasm instance never traps, and it keeps
 * decoding correctly afterwards.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { ClaspCodec, ClaspDecodeError, type DecodedFrame } from "../../src/clasp/index.js";
import { message, value } from "./arbitraries.js";

const codec = await ClaspCodec.load();
const debugCodec = await ClaspCodec.load(new URL("../../build/debug/clasp.wasm", import.meta.url));
const PING = new Uint8Array([0x53, 0x01, 0x00, 0x01, 0x41]);
const CODES = [100, 101, 102];

/** Decodes with both builds; checks the outcome is a frame or a well-formed error, the same in both. */
function checkDecode(bytes: Uint8Array): void {
  const results = [codec, debugCodec].map((c) => c.decodeBatch([bytes])[0]!);
  for (const r of results) {
    if (r instanceof ClaspDecodeError) {
      expect(CODES).toContain(r.code);
      expect(r.offset).toBeGreaterThanOrEqual(0);
      expect(r.offset).toBeLessThanOrEqual(bytes.length);
    } else {
      expect(typeof r.message.type).toBe("string");
    }
  }
  expect(results[1]).toEqual(results[0]);
}

/** A frame with a consistent header around a random payload, to reach the message decoders. */
const framedPayload = fc
  .tuple(
    fc.constantFrom(0x01, 0x41, 0x81, 0x61, 0x00),
    fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x20, 0x21, 0x22, 0x23, 0x24, 0x30, 0x40, 0x41, 0x42, 0x50, 0x51, 0x60, 0x61),
    fc.uint8Array({ maxLength: 120 }),
  )
  .map(([flags, type, body]) => {
    const ts = flags & 0x20 ? 8 : 0;
    const out = new Uint8Array(4 + ts + 1 + body.length);
    out[0] = 0x53;
    out[1] = flags;
    out[2] = (body.length + 1) >> 8;
    out[3] = (body.length + 1) & 0xff;
    out[4 + ts] = type;
    out.set(body, 5 + ts);
    return out;
  });

/** A valid frame, then damaged: bytes flipped, cut short, bytes inserted, length field changed. */
const mutatedFrame = fc
  .tuple(message(), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 3 })), { minLength: 1, maxLength: 4 }))
  .map(([m, edits]) => {
    let b = Array.from(codec.encode(m));
    for (const [pos, byte, kind] of edits) {
      const at = pos % (b.length + 1);
      if (kind === 0 && at < b.length) b[at] = byte;
      else if (kind === 1) b = b.slice(0, at);
      else if (kind === 2) b.splice(at, 0, byte);
      else if (b.length >= 4) b[2 + (byte & 1)] = byte;
    }
    return new Uint8Array(b);
  });

// Generous timeouts: CI runs test files in parallel on 2 cores.
describe("fuzzing the decoder", { timeout: 600_000 }, () => {
  it("survives 40,000 random byte strings", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => checkDecode(b)), { numRuns: 40_000 });
  });

  it("survives 30,000 random payloads behind valid headers", () => {
    fc.assert(fc.property(framedPayload, (b) => checkDecode(b)), { numRuns: 30_000 });
  });

  it("survives 30,000 mutated valid frames", () => {
    fc.assert(fc.property(mutatedFrame, (b) => checkDecode(b)), { numRuns: 30_000 });
  });

  it("survives 10,000 random value encodings", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
        try {
          codec.decodeValue(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ClaspDecodeError);
          expect((e as ClaspDecodeError).code).toBe(101);
        }
      }),
      { numRuns: 10_000 },
    );
  });

  it("still decodes correctly after all that", () => {
    expect(codec.decode(PING).message).toEqual({ type: "PING" });
    expect(debugCodec.decode(PING).message).toEqual({ type: "PING" });
  });
});

describe("round trips", { timeout: 600_000 }, () => {
  it("decode(encode(m)) is m for any message", () => {
    fc.assert(
      fc.property(message(), (m) => {
        expect(codec.decode(codec.encode(m)).message).toEqual(m);
      }),
      { numRuns: 5_000 },
    );
  });

  it("decode(encode(v)) is v for any value", () => {
    fc.assert(
      fc.property(value(), (v) => {
        expect(codec.decodeValue(codec.encodeValue(v))).toEqual(v);
      }),
      { numRuns: 5_000 },
    );
  });

  it("re-encoding any decodable frame is stable", () => {
    fc.assert(
      fc.property(framedPayload, (b) => {
        const r = codec.decodeBatch([b])[0]!;
        if (r instanceof ClaspDecodeError) return;
        const { message: m, flags, timestamp } = r as DecodedFrame;
        const again = codec.encode(m, { ...flags, timestamp });
        expect(codec.decode(again).message).toEqual(m);
      }),
      { numRuns: 5_000 },
    );
  });
});

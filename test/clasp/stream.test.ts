import { describe, it, expect } from "vitest";
import fc from "fast-check";
import {
  codec,
  encodeBatch,
  decoderStream,
  encoderStream,
  ClaspDecodeError,
  type DecodedFrame,
  type Framing,
  type Message,
} from "../../src/clasp/index.js";
import { message } from "./arbitraries.js";

/** Splits `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const c of [...at, bytes.length]) {
    out.push(bytes.slice(prev, c));
    prev = c;
  }
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const messages = (items: Array<DecodedFrame | ClaspDecodeError>) =>
  items.map((x) => (x instanceof ClaspDecodeError ? x : x.message));

describe("FrameDecoder: whole frames out of arbitrary chunks", () => {
  for (const framing of ["frame", "length-prefixed", "slip"] as Framing[]) {
    it(`reassembles ${framing} streams however they are cut`, () => {
      fc.assert(
        fc.property(fc.array(message(), { minLength: 1, maxLength: 6 }), fc.array(fc.nat(), { maxLength: 12 }), (ms, cuts) => {
          const bytes = concat(encodeBatch(ms, { framing }));
          const decoder = codec.createDecoder({ framing });
          const out = chunk(bytes, cuts).flatMap((c) => decoder.push(c));
          expect(messages(out)).toEqual(ms);
          expect(decoder.pending).toBe(0);
          decoder.close();
        }),
        { numRuns: 500 },
      );
    });
  }

  it("holds a partial frame until the rest arrives", () => {
    const [bytes] = encodeBatch([{ type: "SET", address: "/a", value: 1 }]);
    const d = codec.createDecoder();
    expect(d.push(bytes!.subarray(0, 7))).toEqual([]);
    expect(d.pending).toBe(7);
    expect(messages(d.push(bytes!.subarray(7)))).toEqual([{ type: "SET", address: "/a", value: 1 }]);
    d.close();
  });

  it("skips garbage between bare frames up to the next magic byte, and reports it", () => {
    const [a, b] = encodeBatch([{ type: "PING" }, { type: "PONG" }]);
    const d = codec.createDecoder();
    const out = d.push(concat([new Uint8Array([1, 2, 3]), a!, new Uint8Array([0xff]), b!]));
    expect(out.map((x) => (x instanceof ClaspDecodeError ? [x.code, x.offset, x.fatal] : x.message.type))).toEqual([
      [100, 0, false],
      "PING",
      [100, 8, false],
      "PONG",
    ]);
    d.close();
  });

  it("refuses bare frames over maxFrameSize and resynchronises", () => {
    const [big, small] = encodeBatch([{ type: "GET", address: "x".repeat(100) }, { type: "PING" }]);
    const d = codec.createDecoder({ maxFrameSize: 64 });
    const out = d.push(concat([big!, small!]));
    expect(out[0]).toBeInstanceOf(ClaspDecodeError);
    expect((out[0] as ClaspDecodeError).reason).toMatch(/maximum size/);
    expect(messages(out).at(-1)).toEqual({ type: "PING" });
    d.close();
  });

  it("treats a length prefix over the maximum as fatal", () => {
    const d = codec.createDecoder({ framing: "length-prefixed", maxFrameSize: 1000 });
    const out = d.push(new Uint8Array([0, 0, 0x10, 0, 1, 2]));
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ code: 100, fatal: true });
    expect(d.push(encodeBatch([{ type: "PING" }], { framing: "length-prefixed" })[0]!)[0]).toMatchObject({ fatal: true });
    d.close();
  });

  it("drops a SLIP packet with a bad escape and keeps going", () => {
    const [good] = encodeBatch([{ type: "PING" }], { framing: "slip" });
    const d = codec.createDecoder({ framing: "slip" });
    const out = d.push(concat([new Uint8Array([0xc0, 0x53, 0xdb, 0x01, 0x00, 0xc0]), good!]));
    expect(out[0]).toMatchObject({ code: 100, reason: expect.stringMatching(/SLIP/) });
    expect(messages(out).at(-1)).toEqual({ type: "PING" });
    d.close();
  });

  it("is unusable after close", () => {
    const d = codec.createDecoder();
    d.close();
    d.close();
    expect(() => d.push(new Uint8Array([0x53]))).toThrow(/closed/);
  });
});

describe("WHATWG streams", () => {
  it("pipes messages through an encoder and a decoder stream", async () => {
    const ms: Message[] = [{ type: "PING" }, { type: "SET", address: "/a", value: [1, "b"] }, { type: "PONG" }];
    const frames: Message[] = [];
    await new ReadableStream<Message>({
      start(c) {
        for (const m of ms) c.enqueue(m);
        c.close();
      },
    })
      .pipeThrough(encoderStream({ framing: "length-prefixed" }))
      .pipeThrough(decoderStream({ framing: "length-prefixed" }))
      .pipeTo(new WritableStream({ write: (f) => void frames.push(f.message) }));
    expect(frames).toEqual(ms);
  });

  it("errors the stream on bad bytes unless onError is given", async () => {
    const source = () =>
      new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(new Uint8Array([9, 9, 0x53, 1, 0, 1, 0x41]));
          c.close();
        },
      });
    await expect(source().pipeThrough(decoderStream()).pipeTo(new WritableStream())).rejects.toBeInstanceOf(ClaspDecodeError);
    const errors: ClaspDecodeError[] = [];
    const got: string[] = [];
    await source()
      .pipeThrough(decoderStream({ onError: (e) => errors.push(e) }))
      .pipeTo(new WritableStream({ write: (f) => void got.push(f.message.type) }));
    expect(got).toEqual(["PING"]);
    expect(errors).toHaveLength(1);
  });
});

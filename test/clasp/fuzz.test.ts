/**
 * Property-based fuzzing of the codec core (assembly/clasp), release and debug builds side by
 * side, over 100,000 frames per run. Most inputs are structure-aware: a valid frame of every
 * message type carrying values of every wire type (encoded by the codec, with random header
 * flags), then damaged (bytes changed, cut, inserted, length field rewritten), so the inputs
 * get past the frame header into each message decoder and each value decoder. Whatever
 * arrives, decoding returns a message or a typed ClaspDecodeError with the CLASP code and an
 * offset inside the input, both builds agree, an intact frame decodes to the message it came
 * from, any frame that decodes re-encodes to the same message, and the wasm never traps.
 * The test prints how many frames of each message type and values of each wire type were
 * generated and decoded, and fails when one was never reached.
 *
 * Seeds are fixed (SEEDS), so every run checks the same cases; fast-check prints the seed and
 * the path of a failing case, which `fc.assert(…, { seed, path })` replays.
 */
import { describe, it, expect, afterAll } from "vitest";
import fc from "fast-check";
import { ClaspCodec, ClaspDecodeError, TypedNumber, type ClaspValue, type DecodedFrame, type Message } from "../../src/clasp/index.js";
import { message, value } from "./arbitraries.js";

const codec = await ClaspCodec.load();
const debugCodec = await ClaspCodec.load(new URL("../../build/debug/clasp.wasm", import.meta.url));
const PING = new Uint8Array([0x53, 0x01, 0x00, 0x01, 0x41]);
const CODES = [100, 101, 102];
const WIDTHS = { widths: true } as const;

/** Fixed fast-check seeds, one per property. */
const SEEDS = { bytes: 0x0c1a5901, structured: 0x0c1a5902, values: 0x0c1a5903, messages: 0x0c1a5904, valuesRoundTrip: 0x0c1a5905 };

const MESSAGE_TYPES = [
  "HELLO", "WELCOME", "ANNOUNCE", "FEDERATION_SYNC", "SUBSCRIBE", "UNSUBSCRIBE", "PUBLISH", "SET", "GET", "SNAPSHOT",
  "REPLAY", "BUNDLE", "SYNC", "PING", "PONG", "ACK", "ERROR", "QUERY", "RESULT",
] as const;
const VALUE_TYPES = ["null", "bool", "i8", "i16", "i32", "i64", "f32", "f64", "string", "bytes", "array", "map"] as const;

/** Per message type: frames generated, intact ones decoded, damaged ones decoded / refused. */
const byType = new Map<string, { generated: number; intact: number; damagedDecoded: number; damagedRefused: number }>(
  MESSAGE_TYPES.map((t) => [t, { generated: 0, intact: 0, damagedDecoded: 0, damagedRefused: 0 }]),
);
/** Per wire value type: values seen in decoded frames. */
const byValue = new Map<string, number>(VALUE_TYPES.map((t) => [t, 0]));
let frames = 0;

/** Counts the wire types of a decoded value (decoded with `widths`), nested ones too. */
function countValue(v: ClaspValue): void {
  let kind: string;
  if (v === null) kind = "null";
  else if (typeof v === "boolean") kind = "bool";
  else if (typeof v === "number") kind = "f64";
  else if (typeof v === "bigint") kind = "i64";
  else if (typeof v === "string") kind = "string";
  else if (v instanceof Uint8Array) kind = "bytes";
  else if (v instanceof TypedNumber) kind = v.type;
  else if (Array.isArray(v)) {
    kind = "array";
    for (const x of v) countValue(x);
  } else {
    kind = "map";
    for (const x of Object.values(v)) countValue(x);
  }
  byValue.set(kind, byValue.get(kind)! + 1);
}

/** The values a message carries. */
function valuesOf(m: Message): ClaspValue[] {
  switch (m.type) {
    case "SET":
      return [m.value];
    case "PUBLISH":
      return m.value === undefined ? [] : [m.value];
    case "SNAPSHOT":
      return m.params.map((p) => p.value);
    case "ANNOUNCE":
      return m.signals.flatMap((s) => (s.meta?.default === undefined ? [] : [s.meta.default]));
    case "BUNDLE":
      return m.messages.flatMap(valuesOf);
    default:
      return [];
  }
}

/** A decoding outcome must be a frame or a well-formed error. */
function checkOutcome(r: DecodedFrame | ClaspDecodeError, length: number): void {
  if (r instanceof ClaspDecodeError) {
    expect(CODES).toContain(r.code);
    expect(r.offset).toBeGreaterThanOrEqual(0);
    expect(r.offset).toBeLessThanOrEqual(length);
  } else {
    expect(MESSAGE_TYPES).toContain(r.message.type);
  }
}

/** Decodes `inputs` with both builds in one batch each; checks each outcome, and that the builds agree. */
function decodeBoth(inputs: Uint8Array[]): Array<DecodedFrame | ClaspDecodeError> {
  const release = codec.decodeBatch(inputs, WIDTHS);
  const debug = debugCodec.decodeBatch(inputs, WIDTHS);
  expect(debug).toEqual(release);
  release.forEach((r, i) => checkOutcome(r, inputs[i]!.length));
  frames += inputs.length;
  return release;
}

/** One damage: change a byte, cut the frame, insert a byte, or rewrite its length field. */
const edit = fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 3 }));
type Edit = [number, number, number];

function damage(frame: Uint8Array, edits: Edit[]): Uint8Array {
  let b = Array.from(frame);
  for (const [pos, byte, kind] of edits) {
    // Most damage lands past the header, where the message decoders read.
    const at = b.length > 5 && pos % 4 !== 0 ? 5 + (pos % (b.length - 4)) : pos % (b.length + 1);
    if (kind === 0 && at < b.length) b[at] = byte;
    else if (kind === 1) b = b.slice(0, at);
    else if (kind === 2) b.splice(at, 0, byte);
    else if (b.length >= 4) b[2 + (byte & 1)] = byte;
  }
  return new Uint8Array(b);
}

/**
 * A structure-aware case: a message of any type with values of every wire type, random
 * header flags (QoS, header timestamp), and five damaged copies of its frame.
 */
const structured = fc.record({
  m: message({ typed: true }),
  qos: fc.nat({ max: 3 }),
  timestamp: fc.option(fc.nat({ max: Number.MAX_SAFE_INTEGER }), { nil: undefined }),
  damages: fc.array(fc.array(edit, { minLength: 1, maxLength: 3 }), { minLength: 5, maxLength: 5 }),
});
const PER_CASE = 8 * 6; // 8 messages × (intact + 5 damaged)

function checkStructured(cases: Array<{ m: Message; qos: number; timestamp: number | undefined; damages: Edit[][] }>): void {
  const inputs: Uint8Array[] = [];
  for (const c of cases) {
    const frame = codec.encode(c.m, { qos: c.qos, ...(c.timestamp === undefined ? {} : { timestamp: c.timestamp }) });
    inputs.push(frame, ...c.damages.map((d) => damage(frame, d)));
  }
  const out = decodeBoth(inputs);
  cases.forEach((c, k) => {
    const counts = byType.get(c.m.type)!;
    for (let j = 0; j < 6; j++) {
      const r = out[k * 6 + j]!;
      counts.generated++;
      if (j === 0) {
        // Intact: the very message comes back.
        expect(r).not.toBeInstanceOf(ClaspDecodeError);
        expect((r as DecodedFrame).message).toEqual(c.m);
        counts.intact++;
      } else if (r instanceof ClaspDecodeError) counts.damagedRefused++;
      else counts.damagedDecoded++;
      if (r instanceof ClaspDecodeError) continue;
      for (const v of valuesOf(r.message)) countValue(v);
      if (j > 0) {
        // Whatever decodes re-encodes to the same message.
        const again = codec.encode(r.message, { ...r.flags, timestamp: r.timestamp });
        expect(codec.decode(again, WIDTHS).message).toEqual(r.message);
      }
    }
  });
}

/** A frame with a consistent header around a random payload. */
const framedPayload = fc
  .tuple(fc.constantFrom(0x01, 0x41, 0x81, 0x61, 0x00), fc.constantFrom(0x01, 0x02, 0x03, 0x04, 0x10, 0x11, 0x20, 0x21, 0x22, 0x23, 0x24, 0x30, 0x40, 0x41, 0x42, 0x50, 0x51, 0x60, 0x61), fc.uint8Array({ maxLength: 120 }))
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

afterAll(() => {
  const rows = [...byType].map(([t, c]) => `${t.padEnd(16)} ${String(c.generated).padStart(8)} ${String(c.intact).padStart(7)} ${String(c.damagedDecoded).padStart(9)} ${String(c.damagedRefused).padStart(9)}`);
  console.log(
    [
      `codec fuzz: ${frames} frames decoded by the release and the debug build`,
      `${"message type".padEnd(16)} ${"frames".padStart(8)} ${"intact".padStart(7)} ${"damaged:ok".padStart(9)} ${"refused".padStart(9)}`,
      ...rows,
      `values decoded by wire type: ${[...byValue].map(([t, n]) => `${t} ${n}`).join(", ")}`,
    ].join("\n"),
  );
});

// Generous timeouts: CI runs test files in parallel on 2 cores.
describe("fuzzing the decoder", { timeout: 600_000 }, () => {
  it(`decodes 96,000 structure-aware frames, intact and damaged, of every type (seed ${SEEDS.structured})`, () => {
    fc.assert(fc.property(fc.array(structured, { minLength: 8, maxLength: 8 }), checkStructured), { numRuns: 96_000 / PER_CASE, seed: SEEDS.structured });
    for (const [t, c] of byType) {
      expect(c.intact, `${t} intact`).toBeGreaterThan(0);
      expect(c.damagedDecoded + c.damagedRefused, `${t} damaged`).toBeGreaterThan(0);
    }
    for (const [t, n] of byValue) expect(n, `values of type ${t}`).toBeGreaterThan(0);
  });

  it(`survives 8,000 random byte strings and 8,000 random payloads behind valid headers (seed ${SEEDS.bytes})`, () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 8, maxLength: 8 }), (b) => void decodeBoth(b)), { numRuns: 1_000, seed: SEEDS.bytes });
    fc.assert(fc.property(fc.array(framedPayload, { minLength: 8, maxLength: 8 }), (b) => void decodeBoth(b)), { numRuns: 1_000, seed: SEEDS.bytes });
  });

  it(`survives 10,000 random value encodings (seed ${SEEDS.values})`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (b) => {
        try {
          codec.decodeValue(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ClaspDecodeError);
          expect((e as ClaspDecodeError).code).toBe(101);
        }
      }),
      { numRuns: 10_000, seed: SEEDS.values },
    );
  });

  it("still decodes correctly after all that", () => {
    expect(codec.decode(PING).message).toEqual({ type: "PING" });
    expect(debugCodec.decode(PING).message).toEqual({ type: "PING" });
  });
});

describe("round trips", { timeout: 600_000 }, () => {
  it(`decode(encode(m)) is m for any message (seed ${SEEDS.messages})`, () => {
    fc.assert(
      fc.property(message(), (m) => {
        expect(codec.decode(codec.encode(m)).message).toEqual(m);
      }),
      { numRuns: 5_000, seed: SEEDS.messages },
    );
  });

  it(`decode(encode(v)) is v for any value of any wire type (seed ${SEEDS.valuesRoundTrip})`, () => {
    fc.assert(
      fc.property(value({ typed: true }), (v) => {
        expect(codec.decodeValue(codec.encodeValue(v), WIDTHS)).toEqual(v);
      }),
      { numRuns: 5_000, seed: SEEDS.valuesRoundTrip },
    );
  });
});

/**
 * fast-check arbitraries for CLASP messages, in the canonical form our decoder returns (so
 * `decode(encode(m)).message` equals `m`). `peerSafe` restricts them to what
 * @clasp-to/core 3.3.2 can carry without loss (clasp-wire.md §8).
 */
import fc from "fast-check";
import { TypedNumber, type ClaspValue, type Message, type SignalType, type U64 } from "../../src/clasp/index.js";

const SIGNALS: SignalType[] = ["param", "event", "stream", "gesture", "timeline"];

export interface ArbOptions {
  /** Only what @clasp-to/core 3.3.2 carries losslessly. */
  peerSafe?: boolean;
  /**
   * Values of every wire type: i8, i16, i32 and f32 too, as {@link TypedNumber}s (decode them
   * with `{ widths: true }` to get them back).
   */
  typed?: boolean;
}

/** i8, i16, i32 and f32 values of their full ranges. */
const typedNumber: fc.Arbitrary<ClaspValue> = fc.oneof(
  fc.integer({ min: -128, max: 127 }).map((v) => new TypedNumber("i8", v)),
  fc.integer({ min: -32768, max: 32767 }).map((v) => new TypedNumber("i16", v)),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map((v) => new TypedNumber("i32", v)),
  fc.float({ noNaN: true }).map((v) => new TypedNumber("f32", v)),
) as fc.Arbitrary<ClaspValue>;

/** A string of well-formed code points (lone surrogates are not UTF-8). */
const text = (maxLength = 12) => fc.string({ unit: "binary", maxLength });
/** An optional string: absent or non-empty (the JS peer treats "" as absent). */
const optText = (o: ArbOptions) => fc.option(o.peerSafe ? text().filter((s) => s.length > 0) : text(), { nil: undefined });
const u32 = fc.nat({ max: 0xffffffff });
const u64 = (o: ArbOptions): fc.Arbitrary<U64> =>
  o.peerSafe
    ? fc.nat({ max: Number.MAX_SAFE_INTEGER })
    : fc.oneof(fc.nat({ max: Number.MAX_SAFE_INTEGER }), fc.bigInt({ min: 2n ** 53n, max: 2n ** 64n - 1n }));
const f64 = fc.double();

/** CLASP values: f64 numbers, strings, bytes, nested arrays and maps; i64 bigints unless peer-safe. */
export function value(o: ArbOptions = {}): fc.Arbitrary<ClaspValue> {
  const leaf: fc.Arbitrary<ClaspValue>[] = [
    fc.constant(null),
    fc.boolean(),
    f64,
    text(20),
    fc.uint8Array({ maxLength: 16 }),
  ];
  if (!o.peerSafe) leaf.push(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }));
  if (o.typed) leaf.push(typedNumber);
  return fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: "small", withCrossShrink: true }, ...leaf, tie("array"), tie("map")),
    array: fc.array(tie("value"), { maxLength: 4 }),
    map: fc.dictionary(text(6).filter((k) => k !== "__proto__" && !/^\d+$/.test(k)), tie("value"), { maxKeys: 4 }),
  })).value as fc.Arbitrary<ClaspValue>;
}

function strip<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

const types = fc.option(fc.subarray(SIGNALS, { minLength: 1 }), { nil: undefined });

/** Any message of the given kinds, in canonical decoded form. */
export function message(o: ArbOptions = {}, depth = 0): fc.Arbitrary<Message> {
  const v = value(o);
  const sigdef = (withMeta: boolean) =>
    fc
      .record({
        address: text(),
        type: fc.constantFrom(...SIGNALS),
        datatype: optText(o),
        access: optText(o),
        meta: withMeta
          ? fc.option(
              fc.record({ unit: optText(o), range: fc.option(fc.tuple(f64, f64), { nil: undefined }), default: fc.option(v, { nil: undefined }), description: optText(o) }).map(strip),
              { nil: undefined },
            )
          : fc.constant(undefined),
      })
      .map(strip);
  const arbs: Array<fc.Arbitrary<Message>> = [
    fc.record({ type: fc.constant("HELLO" as const), version: fc.nat({ max: 255 }), name: text(), features: fc.subarray(o.peerSafe ? ["param", "event", "stream", "gesture", "timeline"] as const : ["param", "event", "stream", "gesture", "timeline", "federation"] as const).map((a) => [...a]), token: optText({ peerSafe: true }) }).map(strip),
    fc.record({ type: fc.constant("WELCOME" as const), version: fc.nat({ max: 255 }), session: text(), name: text(), features: fc.subarray(["param", "event", "stream", "gesture", "timeline"] as const).map((a) => [...a]), time: u64(o), token: optText({ peerSafe: true }) }).map(strip),
    fc.record({ type: fc.constant("ANNOUNCE" as const), namespace: text(), signals: fc.array(sigdef(true), { maxLength: 3 }) }),
    fc.record({
      type: fc.constant("SUBSCRIBE" as const),
      id: u32,
      pattern: text(),
      types,
      options: fc.option(
        fc.record({ maxRate: fc.option(u32, { nil: undefined }), epsilon: fc.option(f64, { nil: undefined }), history: fc.option(u32, { nil: undefined }), window: fc.option(u32, { nil: undefined }) }).map(strip).filter((x) => Object.keys(x).length > 0),
        { nil: undefined },
      ),
    }).map(strip),
    fc.record({ type: fc.constant("UNSUBSCRIBE" as const), id: u32 }),
    fc
      .record({
        type: fc.constant("PUBLISH" as const),
        address: text(),
        signal: fc.constantFrom(...SIGNALS),
        phase: fc.constantFrom("start", "move", "end", "cancel" as const),
        body: fc.oneof(fc.constant({}), v.map((value) => ({ value })), fc.array(f64, { maxLength: 5 }).map((samples) => ({ samples }))),
        timestamp: fc.option(u64(o), { nil: undefined }),
        id: fc.option(u32, { nil: undefined }),
        rate: fc.option(u32, { nil: undefined }),
      })
      .map(({ body, ...m }) => strip({ ...m, ...body }) as Message),
    fc
      .record({
        type: fc.constant("SET" as const),
        address: text(),
        value: v,
        revision: fc.option(u64(o), { nil: undefined }),
        lock: fc.option(fc.constant(true as const), { nil: undefined }),
        unlock: fc.option(fc.constant(true as const), { nil: undefined }),
        ttl: o.peerSafe ? fc.constant(undefined) : fc.option(u32, { nil: undefined }),
      })
      .map(strip),
    fc.record({ type: fc.constant("GET" as const), address: text() }),
    fc.record({
      type: fc.constant("SNAPSHOT" as const),
      params: fc.array(fc.record({ address: text(), value: v, revision: u64(o), writer: optText(o), timestamp: fc.option(u64(o), { nil: undefined }) }).map(strip), { maxLength: 4 }),
    }),
    fc.record({ type: fc.constant("SYNC" as const), t1: u64(o), t2: fc.option(u64(o), { nil: undefined }), t3: fc.option(u64(o), { nil: undefined }) }).map(strip),
    fc.constant({ type: "PING" as const }),
    fc.constant({ type: "PONG" as const }),
    fc
      .record({ type: fc.constant("ACK" as const), address: optText(o), revision: fc.option(u64(o), { nil: undefined }), locked: fc.option(fc.boolean(), { nil: undefined }), holder: optText(o), correlationId: fc.option(u32, { nil: undefined }) })
      .map(strip),
    fc.record({ type: fc.constant("ERROR" as const), code: fc.nat({ max: 0xffff }), message: text(), address: optText(o), correlationId: fc.option(u32, { nil: undefined }) }).map(strip),
    fc.record({ type: fc.constant("QUERY" as const), pattern: text() }),
    fc.record({ type: fc.constant("RESULT" as const), signals: fc.array(sigdef(false), { maxLength: 3 }) }),
  ];
  if (!o.peerSafe) {
    arbs.push(
      fc.record({ type: fc.constant("REPLAY" as const), pattern: text(), from: fc.option(u64(o), { nil: undefined }), to: fc.option(u64(o), { nil: undefined }), limit: fc.option(u32, { nil: undefined }), types }).map(strip),
      fc
        .record({
          type: fc.constant("FEDERATION_SYNC" as const),
          op: fc.constantFrom("declare-namespaces", "request-sync", "revision-vector", "sync-complete" as const),
          patterns: fc.array(text(), { maxLength: 3 }),
          revisions: fc.array(fc.tuple(text(), u64(o)), { maxLength: 3 }),
          sinceRevision: fc.option(u64(o), { nil: undefined }),
          origin: optText(o),
        })
        .map(strip),
    );
  }
  if (depth < 2) {
    arbs.push(
      fc
        .record({ type: fc.constant("BUNDLE" as const), timestamp: fc.option(u64(o), { nil: undefined }), messages: fc.array(fc.constant(null).chain(() => message(o, depth + 1)), { maxLength: 3 }) })
        .map(strip),
    );
  }
  return fc.oneof(...arbs);
}

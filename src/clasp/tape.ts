/**
 * JS side of the tape (docs/abi.md): turns messages and values into tape words + an arena of
 * string bytes for the wasm encoder, and turns the decoder's tape back into objects. No wire
 * format knowledge lives here: flag bits, byte order, optional-field encoding and limits are
 * the core's (assembly/clasp). This file knows only the documented field order.
 * @module
 */
import { ClaspDecodeError, ClaspEncodeError } from "./errors.js";
import {
  TypedNumber,
  type ClaspValue,
  type ClaspValueInput,
  type DecodedFrame,
  type EncodeOptions,
  type Feature,
  type FederationOp,
  type GesturePhase,
  type Message,
  type ParamValue,
  type SignalDefinition,
  type SignalType,
  type U64,
} from "./types.js";

const NULL = 0x00, BOOL = 0x01, I8 = 0x02, I16 = 0x03, I32 = 0x04, I64 = 0x05;
const F32 = 0x06, F64 = 0x07, STRING = 0x08, BYTES = 0x09, ARRAY = 0x0a, MAP = 0x0b;
const ASCII = 0x100;
/** String node flags of the core's intern table (assembly/clasp/intern.ts); slot in bits 16–31. */
const HIT = 0x200, STORED = 0x400;
/** Slots of the intern table the TS face enables. */
export const INTERN_SLOTS = 4096;
/** Frame node bit: the caller named no QoS, use the type's default. */
const DEFAULT_QOS = 1 << 16;
const MAX_DEPTH = 64;

/** Message type codes (clasp-wire.md §4). */
export const MessageCode = {
  HELLO: 0x01, WELCOME: 0x02, ANNOUNCE: 0x03, FEDERATION_SYNC: 0x04, SUBSCRIBE: 0x10,
  UNSUBSCRIBE: 0x11, PUBLISH: 0x20, SET: 0x21, GET: 0x22, SNAPSHOT: 0x23, REPLAY: 0x24,
  BUNDLE: 0x30, SYNC: 0x40, PING: 0x41, PONG: 0x42, ACK: 0x50, ERROR: 0x51, QUERY: 0x60,
  RESULT: 0x61,
} as const;

const SIGNALS: SignalType[] = ["param", "event", "stream", "gesture", "timeline"];
const PHASES: GesturePhase[] = ["start", "move", "end", "cancel"];
const FEATURE_BITS: Array<[Feature, number]> = [
  ["param", 0x80], ["event", 0x40], ["stream", 0x20], ["gesture", 0x10], ["timeline", 0x08], ["federation", 0x04],
];
const TYPE_BITS: Record<SignalType, number> = { param: 0x01, event: 0x02, stream: 0x04, gesture: 0x08, timeline: 0x10 };
const FED_OPS: FederationOp[] = ["declare-namespaces", "request-sync", "revision-vector", "sync-complete"];

const scratch = new ArrayBuffer(8);
const scratchF64 = new Float64Array(scratch);
const scratchF32 = new Float32Array(scratch);
const scratchU32 = new Uint32Array(scratch);
const utf8 = new TextEncoder();
const TWO32 = 2 ** 32;

function fail(what: string, want: string, got: unknown): never {
  const shown = typeof got === "bigint" ? `${got}n` : typeof got === "string" ? JSON.stringify(got) : String(got);
  throw new TypeError(`${what} must be ${want}, got ${shown}`);
}

function checkU(v: unknown, bits: number, what: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v >= 2 ** bits) fail(what, `an integer in [0, 2^${bits})`, v);
  return v;
}

/**
 * Collects tape words and arena bytes for one encode call (docs/abi.md). Buffers are reused
 * across calls and grow by doubling.
 */
export class TapeWriter {
  words = new Uint32Array(1024);
  n = 0;
  arena = new Uint8Array(4096);
  a = 0;

  reset(): void {
    this.n = 0;
    this.a = 0;
  }

  private w(x: number): void {
    if (this.n === this.words.length) {
      const next = new Uint32Array(this.words.length * 2);
      next.set(this.words);
      this.words = next;
    }
    this.words[this.n++] = x;
  }

  private room(bytes: number): void {
    if (this.a + bytes <= this.arena.length) return;
    let size = this.arena.length * 2;
    while (size < this.a + bytes) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.arena.subarray(0, this.a));
    this.arena = next;
  }

  private u64(v: unknown, what: string): void {
    if (typeof v === "number") {
      if (!Number.isSafeInteger(v) || v < 0) fail(what, "a non-negative safe integer or a bigint", v);
      this.w(v % TWO32);
      this.w(Math.floor(v / TWO32));
    } else if (typeof v === "bigint") {
      if (v < 0n || v >= 1n << 64n) fail(what, "in [0, 2^64)", v);
      this.w(Number(v & 0xffffffffn));
      this.w(Number(v >> 32n));
    } else fail(what, "a number or bigint", v);
  }

  private f64(x: number): void {
    scratchF64[0] = x;
    this.w(scratchU32[0]!);
    this.w(scratchU32[1]!);
  }

  private opt(present: boolean): boolean {
    this.w(present ? 1 : 0);
    return present;
  }

  /** Puts a string node: bytes go to the arena, the node refers to them. */
  str(s: unknown, what: string): void {
    if (typeof s !== "string") fail(what, "a string", s);
    const len = s.length;
    this.room(len * 3);
    const arena = this.arena;
    const start = this.a;
    let i = 0;
    for (; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      arena[start + i] = c;
    }
    if (i === len) {
      this.w(STRING | ASCII);
      this.w(start);
      this.w(len);
      this.a = start + len;
      return;
    }
    const { written } = utf8.encodeInto(s.slice(i), arena.subarray(start + i));
    this.w(STRING);
    this.w(start);
    this.w(i + written);
    this.a = start + i + written;
  }

  private blob(b: Uint8Array): void {
    this.room(b.length);
    this.arena.set(b, this.a);
    this.w(BYTES);
    this.w(this.a);
    this.w(b.length);
    this.a += b.length;
  }

  private optStr(s: string | undefined, what: string): void {
    if (this.opt(s !== undefined)) this.str(s, what);
  }

  private optU32(v: number | undefined, what: string): void {
    if (this.opt(v !== undefined)) this.w(checkU(v, 32, what));
  }

  private optU64(v: U64 | undefined, what: string): void {
    if (this.opt(v !== undefined)) this.u64(v, what);
  }

  /** Puts a value node (docs/abi.md §Values). */
  value(v: ClaspValueInput, depth: number, what: string): void {
    if (depth > MAX_DEPTH) throw new ClaspEncodeError(`${what}: nesting deeper than ${MAX_DEPTH} levels (a cycle?)`);
    switch (typeof v) {
      case "number":
        this.w(F64);
        this.f64(v);
        return;
      case "string":
        this.str(v, what);
        return;
      case "boolean":
        this.w(v ? BOOL | 0x100 : BOOL);
        return;
      case "undefined":
        this.w(NULL);
        return;
      case "bigint":
        if (v < -(1n << 63n) || v >= 1n << 63n) fail(what, "a bigint in the i64 range", v);
        this.w(I64);
        this.u64(BigInt.asUintN(64, v), what);
        return;
      case "object": {
        if (v === null) {
          this.w(NULL);
        } else if (v instanceof Uint8Array) {
          this.blob(v);
        } else if (Array.isArray(v)) {
          this.w(ARRAY);
          this.w(v.length);
          for (let i = 0; i < v.length; i++) this.value(v[i], depth + 1, what);
        } else if (v instanceof TypedNumber) {
          this.typed(v);
        } else if (v instanceof Map) {
          this.w(MAP);
          this.w(v.size);
          for (const [k, x] of v) {
            this.str(k, `${what} key`);
            this.value(x, depth + 1, what);
          }
        } else if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
          fail(what, "a Uint8Array for bytes (other typed arrays have no CLASP type)", Object.prototype.toString.call(v));
        } else {
          const keys = Object.keys(v);
          this.w(MAP);
          this.w(keys.length);
          for (const k of keys) {
            this.str(k, `${what} key`);
            this.value((v as Record<string, ClaspValueInput>)[k], depth + 1, what);
          }
        }
        return;
      }
      default:
        fail(what, "a CLASP value", typeof v);
    }
  }

  private typed(v: TypedNumber): void {
    switch (v.type) {
      case "i8":
        this.w(I8);
        this.w(v.value >>> 0);
        return;
      case "i16":
        this.w(I16);
        this.w(v.value >>> 0);
        return;
      case "i32":
        this.w(I32);
        this.w(v.value >>> 0);
        return;
      case "f32":
        scratchF32[0] = v.value;
        this.w(F32);
        this.w(scratchU32[0]!);
    }
  }

  private signalCode(s: SignalType | undefined): number {
    if (s === undefined) return 1;
    const i = SIGNALS.indexOf(s);
    if (i < 0) fail("signal", `one of ${SIGNALS.join(", ")}`, s);
    return i;
  }

  private typeMask(types: readonly SignalType[] | undefined): number {
    if (!types || types.length === 0) return 0xff;
    let mask = 0;
    for (const t of types) {
      const bit = TYPE_BITS[t];
      if (bit === undefined) fail("types", `a list of ${SIGNALS.join(", ")}`, t);
      mask |= bit;
    }
    return mask;
  }

  private features(list: readonly Feature[]): number {
    if (!Array.isArray(list)) fail("features", "an array", list);
    let bits = 0;
    for (const [name, bit] of FEATURE_BITS) if (list.includes(name)) bits |= bit;
    return bits;
  }

  private signals(list: readonly SignalDefinition[], withMeta: boolean, depth: number): void {
    if (!Array.isArray(list)) fail("signals", "an array", list);
    this.w(list.length);
    for (const s of list) {
      this.str(s.address, "signal.address");
      this.w(this.signalCode(s.type));
      this.optStr(s.datatype, "signal.datatype");
      this.optStr(s.access, "signal.access");
      if (!withMeta) continue;
      const m = s.meta;
      if (!this.opt(m !== undefined)) continue;
      this.optStr(m!.unit, "meta.unit");
      if (this.opt(m!.range !== undefined)) {
        this.f64(m!.range![0]);
        this.f64(m!.range![1]);
      }
      if (this.opt(m!.default !== undefined)) this.value(m!.default, depth + 1, "meta.default");
      this.optStr(m!.description, "meta.description");
    }
  }

  /** Puts the message type word and the message's fields (docs/abi.md §Messages). */
  message(m: Message, depth: number): void {
    const code = (MessageCode as Record<string, number>)[m?.type];
    if (code === undefined) fail("message.type", "a CLASP message type", m?.type);
    this.w(code);
    this.fields(m, depth);
  }

  /** Puts a frame node: flags word, header timestamp, message fields. */
  frame(m: Message, o: EncodeOptions | undefined): void {
    const code = (MessageCode as Record<string, number>)[m?.type];
    if (code === undefined) fail("message.type", "a CLASP message type", m?.type);
    let word = code | ((o?.version ?? 1) & 7) << 12;
    if (o?.qos === undefined) word |= DEFAULT_QOS;
    else word |= (checkU(o.qos, 2, "qos") << 8);
    if (o?.encrypted) word |= 1 << 10;
    if (o?.compressed) word |= 1 << 11;
    if (o?.timestamp !== undefined) word |= 1 << 15;
    this.w(word >>> 0);
    if (o?.timestamp !== undefined) this.u64(o.timestamp, "timestamp");
    this.fields(m, 0);
  }

  private fields(m: Message, depth: number): void {
    switch (m.type) {
      case "HELLO":
      case "WELCOME":
        this.w(checkU(m.version, 8, "version"));
        this.w(this.features(m.features));
        if (m.type === "WELCOME") {
          this.u64(m.time, "time");
          this.str(m.session, "session");
        }
        this.str(m.name, "name");
        this.str(m.token ?? "", "token");
        return;
      case "ANNOUNCE":
        this.str(m.namespace ?? "", "namespace");
        this.signals(m.signals, true, depth);
        return;
      case "FEDERATION_SYNC": {
        const op = FED_OPS.indexOf(m.op);
        if (op < 0) fail("op", `one of ${FED_OPS.join(", ")}`, m.op);
        this.w(op + 1);
        this.w(m.patterns.length);
        for (const p of m.patterns) this.str(p, "pattern");
        this.w(m.revisions.length);
        for (const [address, rev] of m.revisions) {
          this.str(address, "revisions address");
          this.u64(rev, "revision");
        }
        this.optU64(m.sinceRevision, "sinceRevision");
        this.optStr(m.origin, "origin");
        return;
      }
      case "SUBSCRIBE": {
        this.w(checkU(m.id, 32, "id"));
        this.str(m.pattern, "pattern");
        this.w(this.typeMask(m.types));
        const o = m.options ?? {};
        this.optU32(o.maxRate, "maxRate");
        if (this.opt(o.epsilon !== undefined)) this.f64(o.epsilon!);
        this.optU32(o.history, "history");
        this.optU32(o.window, "window");
        return;
      }
      case "UNSUBSCRIBE":
        this.w(checkU(m.id, 32, "id"));
        return;
      case "PUBLISH": {
        this.w(this.signalCode(m.signal));
        const phase = m.phase === undefined ? 0 : PHASES.indexOf(m.phase);
        if (phase < 0) fail("phase", `one of ${PHASES.join(", ")}`, m.phase);
        this.w(phase);
        this.str(m.address, "address");
        const value = m.value !== undefined ? m.value : m.payload;
        if (value !== undefined) {
          this.w(1);
          this.value(value, depth + 1, "value");
        } else if (m.samples !== undefined) {
          this.w(2);
          this.w(m.samples.length);
          for (const s of m.samples) {
            if (typeof s !== "number") fail("samples", "numbers", s);
            this.f64(s);
          }
        } else {
          this.w(0);
        }
        this.optU64(m.timestamp, "timestamp");
        this.optU32(m.id, "id");
        this.optU32(m.rate, "rate");
        return;
      }
      case "SET":
        this.str(m.address, "address");
        this.value(m.value, depth + 1, "value");
        this.optU64(m.revision, "revision");
        this.w(m.lock ? 1 : 0);
        this.w(m.unlock ? 1 : 0);
        this.optU32(m.ttl, "ttl");
        return;
      case "GET":
        this.str(m.address, "address");
        return;
      case "QUERY":
        this.str(m.pattern, "pattern");
        return;
      case "SNAPSHOT":
        if (!Array.isArray(m.params)) fail("params", "an array", m.params);
        this.w(m.params.length);
        for (const p of m.params) {
          this.str(p.address, "param.address");
          this.value(p.value, depth + 1, "param.value");
          this.u64(p.revision, "param.revision");
          this.optStr(p.writer, "param.writer");
          this.optU64(p.timestamp, "param.timestamp");
        }
        return;
      case "REPLAY":
        this.str(m.pattern, "pattern");
        this.optU64(m.from, "from");
        this.optU64(m.to, "to");
        this.optU32(m.limit, "limit");
        this.w(this.typeMask(m.types));
        return;
      case "BUNDLE":
        if (depth >= MAX_DEPTH) throw new ClaspEncodeError(`bundles nested deeper than ${MAX_DEPTH} levels`);
        this.optU64(m.timestamp, "timestamp");
        if (!Array.isArray(m.messages)) fail("messages", "an array", m.messages);
        this.w(m.messages.length);
        for (const inner of m.messages) this.message(inner, depth + 1);
        return;
      case "SYNC":
        this.u64(m.t1, "t1");
        this.optU64(m.t2, "t2");
        this.optU64(m.t3, "t3");
        return;
      case "PING":
      case "PONG":
        return;
      case "ACK":
        this.optStr(m.address, "address");
        this.optU64(m.revision, "revision");
        if (this.opt(m.locked !== undefined)) this.w(m.locked ? 1 : 0);
        this.optStr(m.holder, "holder");
        this.optU32(m.correlationId, "correlationId");
        return;
      case "ERROR":
        this.w(checkU(m.code, 16, "code"));
        this.str(m.message, "message");
        this.optStr(m.address, "address");
        this.optU32(m.correlationId, "correlationId");
        return;
      case "RESULT":
        this.signals(m.signals, false, depth);
    }
  }
}

// ignoreBOM: a leading U+FEFF is part of the string (the peer strips it, clasp-wire.md §8.6).
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
const fcc = String.fromCharCode;
/** Longest ASCII string built with `String.fromCharCode` instead of the TextDecoder. */
const ASCII_IN_JS = 32;
/** Reused argument list of {@link ascii} for strings of 17–32 bytes. */
const units: number[] = [];

/**
 * The string of the ASCII bytes b[at, at + len), 1 ≤ len ≤ {@link ASCII_IN_JS}. One
 * `fromCharCode` call with the bytes as arguments makes one flat string: appending byte by
 * byte made a string per byte and, past 12 characters, a rope of cons strings that the result
 * kept alive; `TextDecoder.decode` costs a call into the runtime and a subarray per string.
 * (The same technique as msgpackr's short-string decoding. Measured on 100,000 distinct
 * addresses of ~14 bytes: fromCharCode with arguments 3.8 ms, through a reused array 9.6 ms,
 * TextDecoder 14.7 ms, appending 38.6 ms.)
 */
function ascii(b: Uint8Array, at: number, len: number): string {
  switch (len) {
    case 1: return fcc(b[at]);
    case 2: return fcc(b[at], b[at + 1]);
    case 3: return fcc(b[at], b[at + 1], b[at + 2]);
    case 4: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3]);
    case 5: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4]);
    case 6: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5]);
    case 7: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6]);
    case 8: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7]);
    case 9: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8]);
    case 10: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9]);
    case 11: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10]);
    case 12: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10], b[at + 11]);
    case 13: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10], b[at + 11], b[at + 12]);
    case 14: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10], b[at + 11], b[at + 12], b[at + 13]);
    case 15: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10], b[at + 11], b[at + 12], b[at + 13], b[at + 14]);
    case 16: return fcc(b[at], b[at + 1], b[at + 2], b[at + 3], b[at + 4], b[at + 5], b[at + 6], b[at + 7], b[at + 8], b[at + 9], b[at + 10], b[at + 11], b[at + 12], b[at + 13], b[at + 14], b[at + 15]);
  }
  units.length = len;
  for (let i = 0; i < len; i++) units[i] = b[at + i]!;
  return fcc.apply(null, units);
}

/** Reads tapes the core wrote into its memory (docs/abi.md). */
export class TapeReader {
  private u32 = new Uint32Array(0);
  private u8 = new Uint8Array(0);
  /** Word index of the next word. */
  p = 0;
  /** Word index of the end. */
  end = 0;
  /** Address that string offsets are relative to. */
  base = 0;
  widths = false;
  /** The string last stored in each intern slot. */
  private readonly interned: string[] = new Array(INTERN_SLOTS).fill("");

  constructor(private readonly memory: WebAssembly.Memory) {}

  /** Starts reading the tape at [ptr, ptr + bytes); string offsets relative to `base`. */
  open(ptr: number, bytes: number, base: number): void {
    if (this.u8.buffer !== this.memory.buffer) {
      this.u32 = new Uint32Array(this.memory.buffer);
      this.u8 = new Uint8Array(this.memory.buffer);
    }
    this.p = ptr >>> 2;
    this.end = (ptr + bytes) >>> 2;
    this.base = base;
  }

  get done(): boolean {
    return this.p >= this.end;
  }

  private w(): number {
    return this.u32[this.p++]!;
  }

  /** A u64 node: a number below 2^53 (a small integer when the high word is 0: no heap number), else a bigint. */
  private u64(): U64 {
    const lo = this.w();
    const hi = this.w();
    return hi === 0 ? lo : hi < 0x200000 ? hi * TWO32 + lo : (BigInt(hi) << 32n) | BigInt(lo);
  }

  private f64(): number {
    scratchU32[0] = this.w();
    scratchU32[1] = this.w();
    return scratchF64[0]!;
  }

  private opt(): boolean {
    return this.w() === 1;
  }

  /** Reads a string node. */
  str(): string {
    const tag = this.w();
    if (tag & HIT) {
      this.p += 2;
      return this.interned[tag >>> 16]!;
    }
    const at = (this.base + this.w()) >>> 0;
    const len = this.w();
    let s: string;
    if (len === 0) s = "";
    else if (tag & ASCII && len <= ASCII_IN_JS) s = ascii(this.u8, at, len);
    else s = decoder.decode(this.u8.subarray(at, at + len));
    if (tag & STORED) this.interned[tag >>> 16] = s;
    return s;
  }

  /** Reads a value node. */
  value(): ClaspValue {
    const tag = this.w();
    switch (tag & 0xff) {
      case NULL:
        return null;
      case BOOL:
        return (tag & 0x100) !== 0;
      case I8:
      case I16:
      case I32: {
        const v = this.w() | 0;
        return this.widths ? new TypedNumber(tag === I8 ? "i8" : tag === I16 ? "i16" : "i32", v) : v;
      }
      case I64: {
        const lo = this.w();
        const hi = this.w();
        return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
      }
      case F32: {
        scratchU32[0] = this.w();
        const v = scratchF32[0]!;
        return this.widths ? new TypedNumber("f32", v) : v;
      }
      case F64:
        return this.f64();
      case STRING:
        this.p--;
        return this.str();
      case BYTES: {
        const at = (this.base + this.w()) >>> 0;
        const len = this.w();
        return this.u8.slice(at, at + len);
      }
      case ARRAY: {
        const n = this.w();
        const out: ClaspValue[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value();
        return out;
      }
      default: {
        const n = this.w();
        const out: Record<string, ClaspValue> = {};
        for (let i = 0; i < n; i++) {
          const k = this.str();
          const v = this.value();
          // A "__proto__" key is data, not a prototype (unlike @clasp-to/core 3.3.2).
          if (k === "__proto__") Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
          else out[k] = v;
        }
        return out;
      }
    }
  }

  /**
   * Reads a SNAPSHOT's params. Snapshots are the largest messages and mostly repeat addresses
   * and hold numbers, so this loop keeps its position in a local and reads the common nodes
   * itself — an interned address (a HIT), an f64 or i32 value, a revision below 2^53 — and
   * hands anything else to `str()`/`value()`/`u64()`. (`npm run bench -- clasp`, SNAPSHOT row.)
   */
  private params(): ParamValue[] {
    const u32 = this.u32;
    const interned = this.interned;
    let p = this.p;
    const n = u32[p++]!;
    const params: ParamValue[] = new Array(n);
    for (let i = 0; i < n; i++) {
      let address: string;
      const tag = u32[p]!;
      if (tag & HIT) {
        address = interned[tag >>> 16]!;
        p += 3;
      } else {
        this.p = p;
        address = this.str();
        p = this.p;
      }
      let value: ClaspValue;
      const vt = u32[p]!;
      if (vt === F64) {
        scratchU32[0] = u32[p + 1]!;
        scratchU32[1] = u32[p + 2]!;
        value = scratchF64[0]!;
        p += 3;
      } else if (vt === I32 && !this.widths) {
        value = u32[p + 1]! | 0;
        p += 2;
      } else {
        this.p = p;
        value = this.value();
        p = this.p;
      }
      const lo = u32[p]!;
      const hi = u32[p + 1]!;
      p += 2;
      const param: ParamValue = { address, value, revision: hi === 0 ? lo : hi < 0x200000 ? hi * TWO32 + lo : (BigInt(hi) << 32n) | BigInt(lo) };
      if (u32[p++] === 1) {
        this.p = p;
        param.writer = this.str();
        p = this.p;
      }
      if (u32[p++] === 1) {
        this.p = p;
        param.timestamp = this.u64();
        p = this.p;
      }
      params[i] = param;
    }
    this.p = p;
    return params;
  }

  private signal(): SignalType {
    return SIGNALS[this.w()] ?? "event";
  }

  private types(): SignalType[] | undefined {
    const mask = this.w();
    const known = SIGNALS.filter((s) => (mask & TYPE_BITS[s]) !== 0);
    // A mask with no known bit (0, or unknown bits alone such as 0x20) means all types, as
    // upstream's decoders read an empty set and the router applies it: `undefined`, which
    // re-encodes as 0xFF (a decoded `[]` re-encoded as "all" changed the message).
    return mask === 0xff || known.length === 0 ? undefined : known;
  }

  private features(): Feature[] {
    const bits = this.w();
    return FEATURE_BITS.filter(([, bit]) => bits & bit).map(([name]) => name);
  }

  private signals(withMeta: boolean): SignalDefinition[] {
    const n = this.w();
    const out: SignalDefinition[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const s: SignalDefinition = { address: this.str(), type: this.signal() };
      if (this.opt()) s.datatype = this.str();
      if (this.opt()) s.access = this.str();
      if (withMeta && this.opt()) {
        const meta: NonNullable<SignalDefinition["meta"]> = {};
        if (this.opt()) meta.unit = this.str();
        if (this.opt()) meta.range = [this.f64(), this.f64()];
        if (this.opt()) meta.default = this.value();
        if (this.opt()) meta.description = this.str();
        s.meta = meta;
      }
      out[i] = s;
    }
    return out;
  }

  /** Reads the fields of a message of type `code` (its type word already read). */
  message(code: number): Message {
    switch (code) {
      case MessageCode.HELLO:
      case MessageCode.WELCOME: {
        const version = this.w();
        const features = this.features();
        if (code === MessageCode.HELLO) {
          const name = this.str();
          const token = this.str();
          return token ? { type: "HELLO", version, name, features, token } : { type: "HELLO", version, name, features };
        }
        const time = this.u64();
        const session = this.str();
        const name = this.str();
        const token = this.str();
        const m: Message = { type: "WELCOME", version, session, name, features, time };
        if (token) m.token = token;
        return m;
      }
      case MessageCode.ANNOUNCE: {
        const namespace = this.str();
        return { type: "ANNOUNCE", namespace, signals: this.signals(true) };
      }
      case MessageCode.FEDERATION_SYNC: {
        const op = FED_OPS[this.w() - 1]!;
        const patterns: string[] = new Array(this.w());
        for (let i = 0; i < patterns.length; i++) patterns[i] = this.str();
        const revisions: Array<[string, U64]> = new Array(this.w());
        for (let i = 0; i < revisions.length; i++) revisions[i] = [this.str(), this.u64()];
        const m: Message = { type: "FEDERATION_SYNC", op, patterns, revisions };
        if (this.opt()) m.sinceRevision = this.u64();
        if (this.opt()) m.origin = this.str();
        return m;
      }
      case MessageCode.SUBSCRIBE: {
        const m: Message = { type: "SUBSCRIBE", id: this.w(), pattern: this.str() };
        const types = this.types();
        if (types) m.types = types;
        const o: NonNullable<typeof m.options> = {};
        let any = false;
        if (this.opt()) (o.maxRate = this.w()), (any = true);
        if (this.opt()) (o.epsilon = this.f64()), (any = true);
        if (this.opt()) (o.history = this.w()), (any = true);
        if (this.opt()) (o.window = this.w()), (any = true);
        if (any) m.options = o;
        return m;
      }
      case MessageCode.UNSUBSCRIBE:
        return { type: "UNSUBSCRIBE", id: this.w() };
      case MessageCode.PUBLISH: {
        const signal = this.signal();
        const phase = PHASES[this.w()] ?? "start";
        const m: Message = { type: "PUBLISH", address: this.str(), signal, phase };
        const kind = this.w();
        if (kind === 1) m.value = this.value();
        else if (kind === 2) {
          const samples: number[] = new Array(this.w());
          for (let i = 0; i < samples.length; i++) samples[i] = this.f64();
          m.samples = samples;
        }
        if (this.opt()) m.timestamp = this.u64();
        if (this.opt()) m.id = this.w();
        if (this.opt()) m.rate = this.w();
        return m;
      }
      case MessageCode.SET: {
        const m: Message = { type: "SET", address: this.str(), value: this.value() };
        if (this.opt()) m.revision = this.u64();
        if (this.w()) m.lock = true;
        if (this.w()) m.unlock = true;
        if (this.opt()) m.ttl = this.w();
        return m;
      }
      case MessageCode.GET:
        return { type: "GET", address: this.str() };
      case MessageCode.QUERY:
        return { type: "QUERY", pattern: this.str() };
      case MessageCode.SNAPSHOT:
        return { type: "SNAPSHOT", params: this.params() };
      case MessageCode.REPLAY: {
        const m: Message = { type: "REPLAY", pattern: this.str() };
        if (this.opt()) m.from = this.u64();
        if (this.opt()) m.to = this.u64();
        if (this.opt()) m.limit = this.w();
        const types = this.types();
        if (types) m.types = types;
        return m;
      }
      case MessageCode.BUNDLE: {
        const m: Message = { type: "BUNDLE", messages: [] };
        if (this.opt()) m.timestamp = this.u64();
        const n = this.w();
        for (let i = 0; i < n; i++) m.messages.push(this.message(this.w()));
        return m;
      }
      case MessageCode.SYNC: {
        const m: Message = { type: "SYNC", t1: this.u64() };
        if (this.opt()) m.t2 = this.u64();
        if (this.opt()) m.t3 = this.u64();
        return m;
      }
      case MessageCode.PING:
        return { type: "PING" };
      case MessageCode.PONG:
        return { type: "PONG" };
      case MessageCode.ACK: {
        const m: Message = { type: "ACK" };
        if (this.opt()) m.address = this.str();
        if (this.opt()) m.revision = this.u64();
        if (this.opt()) m.locked = this.w() === 1;
        if (this.opt()) m.holder = this.str();
        if (this.opt()) m.correlationId = this.w();
        return m;
      }
      case MessageCode.ERROR: {
        const m: Message = { type: "ERROR", code: this.w(), message: this.str() };
        if (this.opt()) m.address = this.str();
        if (this.opt()) m.correlationId = this.w();
        return m;
      }
      default:
        return { type: "RESULT", signals: this.signals(false) };
    }
  }

  /**
   * Reads one frame node, or an error node as a {@link ClaspDecodeError}. `offsetBias` is
   * subtracted from error offsets (the item's start in a batch). `reason` maps reason ids to text.
   */
  frame(reason: (id: number) => string, offsetBias = 0): DecodedFrame | ClaspDecodeError {
    const w0 = this.w();
    const code = w0 & 0xff;
    if (code === 0) {
      const errCode = this.w();
      const at = this.w();
      return new ClaspDecodeError(errCode, (at - offsetBias) >>> 0, reason(this.w()), (w0 & 0x100) !== 0);
    }
    const flags = {
      qos: (w0 >>> 8) & 3,
      hasTimestamp: (w0 & 0x8000) !== 0,
      encrypted: (w0 & 0x400) !== 0,
      compressed: (w0 & 0x800) !== 0,
      version: (w0 >>> 12) & 7,
    };
    const timestamp = flags.hasTimestamp ? this.u64() : undefined;
    const message = this.message(code);
    return timestamp === undefined ? { message, flags } : { message, flags, timestamp };
  }
}

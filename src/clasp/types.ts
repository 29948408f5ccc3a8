/**
 * CLASP v1 message and value types. Field names follow `@clasp-to/core` 3.3.2 so that code
 * written against it keeps working; the messages it lacks (REPLAY, FEDERATION_SYNC) and the
 * fields it drops (SET `ttl`) follow the Rust reference (clasp-wire.md §4).
 * @module
 */

/** A u64 on the wire: a `number` when it is at most 2^53 − 1, a `bigint` beyond (exact). */
export type U64 = number | bigint;

/** Frame QoS (clasp-wire.md §1): 0 fire, 1 confirm, 2 commit, 3 reserved. */
export enum QoS {
  Fire = 0,
  Confirm = 1,
  Commit = 2,
  Reserved = 3,
}

/** Signal types (clasp-wire.md §4.2); unknown codes decode as `"event"`. */
export type SignalType = "param" | "event" | "stream" | "gesture" | "timeline";

/** Gesture phases (clasp-wire.md §4.2); unknown codes decode as `"start"`. */
export type GesturePhase = "start" | "move" | "end" | "cancel";

/** HELLO/WELCOME feature names; `"federation"` is HELLO-only (Rust). */
export type Feature = "param" | "event" | "stream" | "gesture" | "timeline" | "federation";

/** Fixed-width numbers a JS `number` cannot say by itself; see {@link i8}, {@link f32}, … */
export class TypedNumber {
  /**
   * @param type wire width: `i8`, `i16`, `i32` (two's complement) or `f32` (IEEE-754 single)
   * @param value the number; integers must fit the width, f32 values are rounded to single
   * @throws RangeError when an integer is not one or does not fit its width
   */
  constructor(
    readonly type: "i8" | "i16" | "i32" | "f32",
    readonly value: number,
  ) {
    if (type === "f32") {
      this.value = Math.fround(value);
    } else {
      const bits = type === "i8" ? 8 : type === "i16" ? 16 : 32;
      const min = -(2 ** (bits - 1));
      if (!Number.isInteger(value) || value < min || value >= -min) {
        throw new RangeError(`${type} value must be an integer in [${min}, ${-min - 1}], got ${value}`);
      }
    }
  }

  /** The plain number. */
  valueOf(): number {
    return this.value;
  }
}

/** An i8 value (tag 0x02). @throws RangeError outside [−128, 127] */
export const i8 = (v: number): TypedNumber => new TypedNumber("i8", v);
/** An i16 value (tag 0x03). @throws RangeError outside [−32768, 32767] */
export const i16 = (v: number): TypedNumber => new TypedNumber("i16", v);
/** An i32 value (tag 0x04). @throws RangeError outside the i32 range */
export const i32 = (v: number): TypedNumber => new TypedNumber("i32", v);
/** An f32 value (tag 0x06), rounded to single precision. */
export const f32 = (v: number): TypedNumber => new TypedNumber("f32", v);

/**
 * A CLASP value (clasp-wire.md §3). Encoding: `number` → f64, `bigint` → i64 (must fit),
 * `Uint8Array` → bytes, arrays → array, plain objects and `Map<string, …>` → map,
 * {@link TypedNumber} → its width, `null`/`undefined` → null.
 * Decoding: i8/i16/i32/f32/f64 → `number` (or {@link TypedNumber} with `{ widths: true }`),
 * i64 → `bigint`, bytes → `Uint8Array` (a copy), map → plain object.
 */
export type ClaspValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | TypedNumber
  | ClaspValue[]
  | { [key: string]: ClaspValue };

/** What encoders accept: {@link ClaspValue} plus `undefined` (as null) and string-keyed Maps. */
export type ClaspValueInput =
  | ClaspValue
  | undefined
  | readonly ClaspValueInput[]
  | ReadonlyMap<string, ClaspValueInput>
  | { readonly [key: string]: ClaspValueInput };

export interface HelloMessage {
  type: "HELLO";
  /** Protocol version; writers use 1. */
  version: number;
  name: string;
  features: Feature[];
  /** Empty or absent: no token. */
  token?: string;
}

export interface WelcomeMessage {
  type: "WELCOME";
  version: number;
  /** Session id assigned by the router. */
  session: string;
  /** Router name. */
  name: string;
  features: Feature[];
  /** Server time, µs since the Unix epoch. */
  time: U64;
  token?: string;
}

/** Extra description of an announced signal (ANNOUNCE only). */
export interface SignalMeta {
  unit?: string;
  range?: [number, number];
  default?: ClaspValue;
  description?: string;
}

export interface SignalDefinition {
  address: string;
  type: SignalType;
  datatype?: string;
  access?: string;
  /** ANNOUNCE only; RESULT has no meta on the wire. */
  meta?: SignalMeta;
}

export interface AnnounceMessage {
  type: "ANNOUNCE";
  namespace: string;
  signals: SignalDefinition[];
}

/** FEDERATION_SYNC operations (Rust `FederationOp`). */
export type FederationOp = "declare-namespaces" | "request-sync" | "revision-vector" | "sync-complete";

export interface FederationSyncMessage {
  type: "FEDERATION_SYNC";
  op: FederationOp;
  patterns: string[];
  /** (address, revision) pairs in wire order. */
  revisions: Array<[string, U64]>;
  sinceRevision?: U64;
  origin?: string;
}

/**
 * SUBSCRIBE options (clasp-wire.md §4.1), as the MiniRouter applies them per subscription and
 * address (docs/router.md §Subscription options).
 */
export interface SubscribeOptions {
  /** Most deliveries per second, u32; changes in between are held and the latest is sent. */
  maxRate?: number;
  /** Smallest change of a numeric value that is delivered, f64. */
  epsilon?: number;
  /** Journaled values per address sent right after subscribing (the latest N), u32. */
  history?: number;
  /** Coalescing window in ms, u32: changes are held and the latest goes out when it ends. */
  window?: number;
}

export interface SubscribeMessage {
  type: "SUBSCRIBE";
  /** Subscription id, u32, chosen by the client. */
  id: number;
  pattern: string;
  /** Signal types to receive; absent or empty: all. */
  types?: SignalType[];
  options?: SubscribeOptions;
}

export interface UnsubscribeMessage {
  type: "UNSUBSCRIBE";
  id: number;
}

export interface PublishMessage {
  type: "PUBLISH";
  address: string;
  /** Encoders default to `"event"`; decoders always set it. */
  signal?: SignalType;
  value?: ClaspValue;
  /** Accepted by encoders when `value` is absent (as by @clasp-to/core); decoders use `value`. */
  payload?: ClaspValue;
  /** Stream samples (f64). */
  samples?: number[];
  /** Sample rate; written after the optional fields, read when 4 bytes remain. */
  rate?: number;
  /** Gesture id (u32). */
  id?: number;
  /** Encoders default to `"start"`; decoders always set it. */
  phase?: GesturePhase;
  /** µs. */
  timestamp?: U64;
}

export interface SetMessage {
  type: "SET";
  address: string;
  value: ClaspValue;
  /** Expected current revision (optimistic concurrency); routers echo the new one. */
  revision?: U64;
  lock?: boolean;
  unlock?: boolean;
  /**
   * TTL word (u32, Rust ≥ 4.x; @clasp-to/core 3.3.2 ignores it): 0 never expires; bit 31 set:
   * absolute, seconds in bits 0–30; bit 31 clear: sliding, seconds of idleness.
   */
  ttl?: number;
}

export interface GetMessage {
  type: "GET";
  address: string;
}

/** One param in a SNAPSHOT. */
export interface ParamValue {
  address: string;
  value: ClaspValue;
  revision: U64;
  /** Session id of the last writer. */
  writer?: string;
  /** µs. */
  timestamp?: U64;
}

export interface SnapshotMessage {
  type: "SNAPSHOT";
  params: ParamValue[];
}

export interface ReplayMessage {
  type: "REPLAY";
  pattern: string;
  from?: U64;
  to?: U64;
  limit?: number;
  types?: SignalType[];
}

export interface BundleMessage {
  type: "BUNDLE";
  /** µs; upstream routers ignore it. */
  timestamp?: U64;
  messages: Message[];
}

export interface SyncMessage {
  type: "SYNC";
  t1: U64;
  t2?: U64;
  t3?: U64;
}

export interface PingMessage {
  type: "PING";
}

export interface PongMessage {
  type: "PONG";
}

export interface AckMessage {
  type: "ACK";
  address?: string;
  revision?: U64;
  locked?: boolean;
  holder?: string;
  correlationId?: number;
}

export interface ErrorMessage {
  type: "ERROR";
  /** CLASP error code (clasp-wire.md §4.2), u16. */
  code: number;
  message: string;
  address?: string;
  correlationId?: number;
}

export interface QueryMessage {
  type: "QUERY";
  pattern: string;
}

export interface ResultMessage {
  type: "RESULT";
  signals: SignalDefinition[];
}

/** Every CLASP v1 message, discriminated by `type`. */
export type Message =
  | HelloMessage
  | WelcomeMessage
  | AnnounceMessage
  | FederationSyncMessage
  | SubscribeMessage
  | UnsubscribeMessage
  | PublishMessage
  | SetMessage
  | GetMessage
  | SnapshotMessage
  | ReplayMessage
  | BundleMessage
  | SyncMessage
  | PingMessage
  | PongMessage
  | AckMessage
  | ErrorMessage
  | QueryMessage
  | ResultMessage;

/** The frame header's flags (clasp-wire.md §1). */
export interface FrameFlags {
  qos: QoS;
  hasTimestamp: boolean;
  /** Carried, never acted on (no implementation encrypts). */
  encrypted: boolean;
  /** Carried, never acted on. */
  compressed: boolean;
  /** Encoding version bits; writers put 1. Decoders ignore them. */
  version: number;
}

/** A decoded frame: the message, the header flags and the header timestamp (µs) if any. */
export interface DecodedFrame {
  message: Message;
  flags: FrameFlags;
  timestamp?: U64;
}

/** Options of a frame being encoded. */
export interface EncodeOptions {
  /** Defaults to the message type's default QoS (Rust `Message::default_qos`, clasp-wire.md §4.2). */
  qos?: QoS;
  /** Header timestamp, µs; sets the timestamp flag (12-byte header). */
  timestamp?: U64;
  /** Sets the encrypted flag bit (no payload transformation). Defaults to false. */
  encrypted?: boolean;
  /** Sets the compressed flag bit (no payload transformation). Defaults to false. */
  compressed?: boolean;
  /** Encoding version bits, 0–7. Defaults to 1. */
  version?: number;
}

/**
 * How frames are delimited on a byte stream (clasp-wire.md §9): `"frame"` bare frames
 * delimited by their headers, `"length-prefixed"` a u32 big-endian length before each frame
 * (the CLASP TCP transport), `"slip"` RFC 1055 SLIP (the CLASP docs' serial framing).
 */
export type Framing = "frame" | "length-prefixed" | "slip";

/** Options of value decoding. */
export interface DecodeOptions {
  /** Return i8/i16/i32/f32 as {@link TypedNumber} so re-encoding is byte-exact. Defaults to false. */
  widths?: boolean;
}

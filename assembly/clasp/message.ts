// The 19 CLASP v1 message bodies (clasp-wire.md §4.1): payload bytes <-> tape.
//
// Each message is a fixed list of fields on the tape (docs/abi.md §Messages). An optional
// field is a presence word (0 or 1) followed, when 1, by the field; the wire's per-message
// flag bits are computed here and nowhere else. `depth` bounds BUNDLE nesting together with
// value nesting (MAX_DEPTH).

import {
  fail, Err, INVALID_MESSAGE, ENCODE_LIMIT, ENCODE_TAPE,
  R_UNKNOWN_TYPE, R_TOO_DEEP, R_EMPTY_PAYLOAD, R_BAD_FED_OP, R_TOO_MANY_ENTRIES,
} from "./error";
import { Rd, can, readU8, readU16, readU32, readU64, loadU64BE, Wr, writeU8, writeU16, writeU32, writeU64, writtenBytes } from "./wire";
import { Tw, put, put64, take, take64, badTape } from "./tape";
import { MAX_DEPTH, RAW, F64, decodeString, decodeValue, decodeTagged, encodeString, encodeValue, encodeTagged, takeRaw, rawLength } from "./value";
import { writeBytes } from "./wire";

export const HELLO: u32 = 0x01;
export const WELCOME: u32 = 0x02;
export const ANNOUNCE: u32 = 0x03;
export const FEDERATION_SYNC: u32 = 0x04;
export const SUBSCRIBE: u32 = 0x10;
export const UNSUBSCRIBE: u32 = 0x11;
export const PUBLISH: u32 = 0x20;
export const SET: u32 = 0x21;
export const GET: u32 = 0x22;
export const SNAPSHOT: u32 = 0x23;
export const REPLAY: u32 = 0x24;
export const BUNDLE: u32 = 0x30;
export const SYNC: u32 = 0x40;
export const PING: u32 = 0x41;
export const PONG: u32 = 0x42;
export const ACK: u32 = 0x50;
export const ERROR: u32 = 0x51;
export const QUERY: u32 = 0x60;
export const RESULT: u32 = 0x61;

/** Signal type codes (clasp-wire.md §4.2). */
export const SIGNAL_EVENT: u32 = 1;
export const SIGNAL_STREAM: u32 = 2;
export const SIGNAL_GESTURE: u32 = 3;
export const SIGNAL_TIMELINE: u32 = 4;

// ---------------------------------------------------------------- decode: wire -> tape

/** Puts a presence word and returns whether the optional field follows. */
function opt(present: bool): bool {
  put(present ? 1 : 0);
  return present;
}

function optU64(present: bool): void {
  if (opt(present)) put64(readU64());
}

function optU32(present: bool): void {
  if (opt(present)) put(readU32());
}

function optString(present: bool): void {
  if (opt(present)) decodeString();
}

/** Reads a u16 count and puts it; returns it. */
function count(): u32 {
  let n = readU16();
  put(n);
  return n;
}

function decodeAnnounce(depth: i32): void {
  decodeString();
  let n = count();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    decodeString();
    put(readU8());
    let o = readU8();
    optString((o & 0x01) != 0);
    optString((o & 0x02) != 0);
    if (opt((o & 0x04) != 0)) {
      let m = readU8();
      optString((m & 0x01) != 0);
      if (opt((m & 0x02) != 0)) {
        put64(readU64());
        put64(readU64());
      }
      if (opt((m & 0x04) != 0)) decodeTagged(depth + 1);
      optString((m & 0x08) != 0);
    }
  }
}

function decodeFederationSync(): void {
  let op = readU8();
  if (Err.code == 0 && (op < 1 || op > 4)) {
    fail(INVALID_MESSAGE, R_BAD_FED_OP, <u32>(Rd.pos - Rd.base - 1));
    Rd.pos = Rd.end;
    return;
  }
  put(op);
  let n = count();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) decodeString();
  n = count();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    decodeString();
    put64(readU64());
  }
  let f = readU8();
  optU64((f & 0x80) != 0);
  optString((f & 0x40) != 0);
}

function decodePublish(depth: i32): void {
  let f = readU8();
  put(f >> 5);
  put(f & 0x07);
  decodeString();
  let kind = readU8();
  if (kind == 1) {
    put(1);
    decodeTagged(depth + 1);
  } else if (kind == 2) {
    put(2);
    let n = readU16();
    put(n);
    if (can(<usize>n << 3)) {
      for (let i: u32 = 0; i < n; i++) put64(readU64());
    }
  } else {
    put(0); // kinds 0 and >= 3 carry nothing (both upstream codecs agree)
  }
  optU64((f & 0x10) != 0);
  optU32((f & 0x08) != 0);
  optU32(Rd.end - Rd.pos >= 4); // rate has no flag: present when 4 bytes remain
}

function decodeSet(depth: i32): void {
  let f = readU8();
  decodeString();
  decodeValue(f & 0x0f, depth + 1);
  optU64((f & 0x80) != 0);
  put((f >> 6) & 1);
  put((f >> 5) & 1);
  optU32((f & 0x10) != 0);
}

/**
 * SNAPSHOT params: address str, tagged value, revision u64, options u8 (0x01 writer str,
 * 0x02 timestamp u64). Snapshots are the largest messages and mostly hold numbers, so the
 * common param — an f64 value and neither writer nor timestamp — is read with one bounds
 * check and its eight tape words written directly (what `decodeTagged`, `readU64`, `put64`
 * and `opt` write, without their calls); any other param takes the general path.
 */
function decodeSnapshot(depth: i32): void {
  let n = count();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    decodeString();
    let p = Rd.pos;
    // 18 bytes: the value's type byte and f64, the revision, the options byte.
    if (Rd.end - p >= 18 && <u32>load<u8>(p) == F64 && (load<u8>(p + 17) & 3) == 0) {
      let len = Tw.len;
      assert(len + 28 <= Tw.out.cap, "tape overrun");
      let t = Tw.out.ptr + len;
      store<u32>(t, F64);
      store<u64>(t, loadU64BE(p + 1), 4);
      store<u64>(t, loadU64BE(p + 9), 12);
      store<u64>(t, 0, 20); // no writer, no timestamp
      Tw.len = len + 28;
      Rd.pos = p + 18;
      continue;
    }
    decodeTagged(depth + 1);
    put64(readU64());
    let o = readU8();
    optString((o & 0x01) != 0);
    optU64((o & 0x02) != 0);
  }
}

function decodeBundle(depth: i32): void {
  if (depth >= MAX_DEPTH) {
    fail(INVALID_MESSAGE, R_TOO_DEEP, <u32>(Rd.pos - Rd.base));
    Rd.pos = Rd.end;
    return;
  }
  let f = readU8();
  let n = readU16();
  optU64((f & 0x80) != 0);
  put(n);
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    let len = <usize>readU16();
    let start = Rd.pos;
    if (!can(len)) return;
    if (len == 0) {
      fail(INVALID_MESSAGE, R_EMPTY_PAYLOAD, <u32>(start - Rd.base));
      return;
    }
    let end = Rd.end;
    Rd.end = start + len;
    let type = readU8();
    put(type);
    decodeBody(type, depth + 1);
    Rd.end = end;
    Rd.pos = start + len;
  }
}

/**
 * Reads the body of a message whose type byte was already read and puts its fields.
 * Unknown types record 101 InvalidMessage.
 */
export function decodeBody(type: u32, depth: i32): void {
  switch (type) {
    case HELLO: {
      put(readU8());
      put(readU8());
      decodeString();
      decodeString();
      break;
    }
    case WELCOME: {
      put(readU8());
      put(readU8());
      put64(readU64());
      decodeString();
      decodeString();
      decodeString();
      break;
    }
    case ANNOUNCE: decodeAnnounce(depth); break;
    case FEDERATION_SYNC: decodeFederationSync(); break;
    case SUBSCRIBE: {
      put(readU32());
      decodeString();
      put(readU8());
      let o = readU8();
      optU32((o & 0x01) != 0);
      optU64((o & 0x02) != 0);
      optU32((o & 0x04) != 0);
      optU32((o & 0x08) != 0);
      break;
    }
    case UNSUBSCRIBE: put(readU32()); break;
    case PUBLISH: decodePublish(depth); break;
    case SET: decodeSet(depth); break;
    case GET:
    case QUERY: decodeString(); break;
    case SNAPSHOT: decodeSnapshot(depth); break;
    case REPLAY: {
      let f = readU8();
      decodeString();
      optU64((f & 0x80) != 0);
      optU64((f & 0x40) != 0);
      optU32((f & 0x20) != 0);
      put(readU8());
      break;
    }
    case BUNDLE: decodeBundle(depth); break;
    case SYNC: {
      let f = readU8();
      put64(readU64());
      optU64((f & 0x01) != 0);
      optU64((f & 0x02) != 0);
      break;
    }
    case PING:
    case PONG: break;
    case ACK: {
      let f = readU8();
      optString((f & 0x01) != 0);
      optU64((f & 0x02) != 0);
      if (opt((f & 0x04) != 0)) put(readU8() != 0 ? 1 : 0);
      optString((f & 0x08) != 0);
      optU32((f & 0x10) != 0);
      break;
    }
    case ERROR: {
      put(readU16());
      decodeString();
      let f = readU8();
      optString((f & 0x01) != 0);
      optU32((f & 0x02) != 0);
      break;
    }
    case RESULT: {
      let n = count();
      for (let i: u32 = 0; i < n && Err.code == 0; i++) {
        decodeString();
        put(readU8());
        let o = readU8();
        optString((o & 0x01) != 0);
        optString((o & 0x02) != 0);
      }
      break;
    }
    default:
      fail(INVALID_MESSAGE, R_UNKNOWN_TYPE, <u32>(Rd.pos - Rd.base - 1));
      Rd.pos = Rd.end;
  }
}

// ---------------------------------------------------------------- encode: tape -> wire

/** Writes a placeholder flags byte; returns its offset for `setFlags`. */
function flagSlot(): usize {
  let at = writtenBytes();
  writeU8(0);
  return at;
}

/** Back-patches a flags byte written by `flagSlot`. */
function setFlags(at: usize, flags: u32): void {
  if (Err.code == 0) store<u8>(Wr.out.ptr + at, <u8>flags);
}

/** Takes a presence word; returns `bit` when the field follows, else 0. */
function present(bit: u32): u32 {
  let p = take();
  if (p > 1) badTape();
  return p == 1 ? bit : 0;
}

function encOptU64(bit: u32): u32 {
  let b = present(bit);
  if (b) writeU64(take64());
  return b;
}

function encOptU32(bit: u32): u32 {
  let b = present(bit);
  if (b) writeU32(take());
  return b;
}

function encOptString(bit: u32): u32 {
  let b = present(bit);
  if (b) encodeString();
  return b;
}

/** Takes a count word, checks it fits the wire's u16, writes it and returns it. */
function encCount(): u32 {
  let n = take();
  if (n > 0xffff) {
    fail(ENCODE_LIMIT, R_TOO_MANY_ENTRIES, n);
    return 0;
  }
  writeU16(n);
  return n;
}

function encodeAnnounce(depth: i32): void {
  encodeString();
  let n = encCount();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    encodeString();
    writeU8(take());
    let o = flagSlot();
    let bits = encOptString(0x01);
    bits |= encOptString(0x02);
    if (present(0x04)) {
      bits |= 0x04;
      let m = flagSlot();
      let mb = encOptString(0x01);
      if (present(0x02)) {
        mb |= 0x02;
        writeU64(take64());
        writeU64(take64());
      }
      if (present(0x04)) {
        mb |= 0x04;
        encodeTagged(depth + 1);
      }
      mb |= encOptString(0x08);
      setFlags(m, mb);
    }
    setFlags(o, bits);
  }
}

function encodeFederationSync(): void {
  let op = take();
  if (op < 1 || op > 4) {
    fail(ENCODE_TAPE, R_BAD_FED_OP, op);
    return;
  }
  writeU8(op);
  let n = encCount();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) encodeString();
  n = encCount();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    encodeString();
    writeU64(take64());
  }
  let f = flagSlot();
  let bits = encOptU64(0x80);
  bits |= encOptString(0x40);
  setFlags(f, bits);
}

function encodePublish(depth: i32): void {
  let signal = take() & 0x07;
  let phase = take() & 0x07;
  let f = flagSlot();
  encodeString();
  let kind = take();
  if (kind == 1) {
    writeU8(1);
    encodeTagged(depth + 1);
  } else if (kind == 2) {
    writeU8(2);
    let n = encCount();
    for (let i: u32 = 0; i < n && Err.code == 0; i++) writeU64(take64());
  } else if (kind == 0) {
    writeU8(0);
  } else {
    badTape();
  }
  let bits = (signal << 5) | phase;
  bits |= encOptU64(0x10);
  bits |= encOptU32(0x08);
  encOptU32(0x100); // rate: no flag bit on the wire, written when present
  setFlags(f, bits);
}

function encodeSet(depth: i32): void {
  let f = flagSlot();
  encodeString();
  let w0 = take();
  let tag = w0 & 0xff;
  if (tag == RAW) {
    // A stored tagged value: its type goes into the flags, its body after the address.
    let p = takeRaw();
    if (p == 0) return;
    tag = <u32>load<u8>(p);
    writeBytes(p + 1, rawLength - 1);
  } else if (tag > 0x0b) {
    badTape();
    return;
  } else {
    encodeValue(w0, depth + 1);
  }
  let bits = tag | encOptU64(0x80);
  if (take()) bits |= 0x40;
  if (take()) bits |= 0x20;
  bits |= encOptU32(0x10);
  setFlags(f, bits);
}

function encodeSnapshot(depth: i32): void {
  let n = encCount();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    encodeString();
    encodeTagged(depth + 1);
    writeU64(take64());
    let o = flagSlot();
    let bits = encOptString(0x01);
    bits |= encOptU64(0x02);
    setFlags(o, bits);
  }
}

function encodeBundle(depth: i32): void {
  if (depth >= MAX_DEPTH) {
    fail(ENCODE_LIMIT, R_TOO_DEEP, 0);
    return;
  }
  let f = flagSlot();
  let countAt = writtenBytes();
  writeU16(0);
  let bits = encOptU64(0x80);
  setFlags(f, bits);
  let n = take();
  if (n > 0xffff) {
    fail(ENCODE_LIMIT, R_TOO_MANY_ENTRIES, n);
    return;
  }
  if (Err.code == 0) store<u16>(Wr.out.ptr + countAt, bswap<u16>(<u16>n));
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    let lenAt = writtenBytes();
    writeU16(0);
    let type = take() & 0xff;
    writeU8(type);
    encodeBody(type, depth + 1);
    let len = writtenBytes() - lenAt - 2;
    if (Err.code == 0) store<u16>(Wr.out.ptr + lenAt, bswap<u16>(<u16>len));
  }
}

/**
 * Takes the fields of a message of `type` (its type byte already written) from the tape and
 * writes its body. An unknown type records a malformed tape.
 */
export function encodeBody(type: u32, depth: i32): void {
  switch (type) {
    case HELLO: {
      writeU8(take());
      writeU8(take());
      encodeString();
      encodeString();
      break;
    }
    case WELCOME: {
      writeU8(take());
      writeU8(take());
      writeU64(take64());
      encodeString();
      encodeString();
      encodeString();
      break;
    }
    case ANNOUNCE: encodeAnnounce(depth); break;
    case FEDERATION_SYNC: encodeFederationSync(); break;
    case SUBSCRIBE: {
      writeU32(take());
      encodeString();
      writeU8(take());
      let o = flagSlot();
      let bits = encOptU32(0x01);
      bits |= encOptU64(0x02);
      bits |= encOptU32(0x04);
      bits |= encOptU32(0x08);
      setFlags(o, bits);
      break;
    }
    case UNSUBSCRIBE: writeU32(take()); break;
    case PUBLISH: encodePublish(depth); break;
    case SET: encodeSet(depth); break;
    case GET:
    case QUERY: encodeString(); break;
    case SNAPSHOT: encodeSnapshot(depth); break;
    case REPLAY: {
      let f = flagSlot();
      encodeString();
      let bits = encOptU64(0x80);
      bits |= encOptU64(0x40);
      bits |= encOptU32(0x20);
      writeU8(take());
      setFlags(f, bits);
      break;
    }
    case BUNDLE: encodeBundle(depth); break;
    case SYNC: {
      let f = flagSlot();
      writeU64(take64());
      let bits = encOptU64(0x01);
      bits |= encOptU64(0x02);
      setFlags(f, bits);
      break;
    }
    case PING:
    case PONG: break;
    case ACK: {
      let f = flagSlot();
      let bits = encOptString(0x01);
      bits |= encOptU64(0x02);
      if (present(0x04)) {
        bits |= 0x04;
        writeU8(take() != 0 ? 1 : 0);
      }
      bits |= encOptString(0x08);
      bits |= encOptU32(0x10);
      setFlags(f, bits);
      break;
    }
    case ERROR: {
      writeU16(take());
      encodeString();
      let f = flagSlot();
      let bits = encOptString(0x01);
      bits |= encOptU32(0x02);
      setFlags(f, bits);
      break;
    }
    case RESULT: {
      let n = encCount();
      for (let i: u32 = 0; i < n && Err.code == 0; i++) {
        encodeString();
        writeU8(take());
        let o = flagSlot();
        let bits = encOptString(0x01);
        bits |= encOptString(0x02);
        setFlags(o, bits);
      }
      break;
    }
    default: badTape();
  }
}

/**
 * The frame QoS a message gets when the caller names none: the Rust router's
 * `Message::default_qos` (clasp-wire.md §4.2), so PUBLISH timeline is commit (2).
 * `signal` is the PUBLISH signal type, ignored otherwise.
 */
export function defaultQos(type: u32, signal: u32): u32 {
  switch (type) {
    case SET:
    case SUBSCRIBE:
    case UNSUBSCRIBE:
    case REPLAY:
    case FEDERATION_SYNC: return 1;
    case BUNDLE: return 2;
    case PUBLISH: {
      if (signal == SIGNAL_STREAM || signal == SIGNAL_GESTURE) return 0;
      if (signal == SIGNAL_TIMELINE) return 2;
      return 1;
    }
    default: return 0;
  }
}

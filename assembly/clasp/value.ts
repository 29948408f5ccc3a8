// CLASP tagged values (clasp-wire.md §3): wire bytes <-> tape.
//
// This is the project's one binary value format: CLP state, HNSW metadata and agent messages
// use it too. Value nodes on the tape (docs/abi.md §Values):
//   null [0x00]  bool [0x01 | b<<8]  i8/i16/i32 [tag, i32]  i64 [0x05, lo, hi]
//   f32 [0x06, f32 bits]  f64 [0x07, lo, hi]
//   string [0x08 | ascii<<8 | interning flags (intern.ts), offset, length]
//   bytes [0x09, offset, length]  array [0x0A, n] n×node  map [0x0B, n] n×(string node, node)

import {
  fail, Err, INVALID_MESSAGE, ENCODE_LIMIT,
  R_BAD_VALUE_TYPE, R_BAD_UTF8, R_TOO_DEEP, R_STRING_TOO_LONG, R_TOO_MANY_ENTRIES,
} from "./error";
import { Rd, can, readU8, readU16, readU32, readU64, writeU8, writeU16, writeU32, writeU64, writeBytes } from "./wire";
import { Tr, put, put64, take, take64, arenaRef, badTape } from "./tape";
import { intern } from "./intern";

export const NULL: u32 = 0x00;
export const BOOL: u32 = 0x01;
export const I8: u32 = 0x02;
export const I16: u32 = 0x03;
export const I32: u32 = 0x04;
export const I64: u32 = 0x05;
export const F32: u32 = 0x06;
export const F64: u32 = 0x07;
export const STRING: u32 = 0x08;
export const BYTES: u32 = 0x09;
export const ARRAY: u32 = 0x0a;
export const MAP: u32 = 0x0b;
/**
 * Encode-only node [RAW, offset, length]: an already encoded tagged value, copied verbatim.
 * Accepted only from tapes the core builds itself (`Tr.raw`), e.g. the router's stored values.
 */
export const RAW: u32 = 0x40;

/** Deepest nesting of arrays, maps and bundles accepted in either direction. */
export const MAX_DEPTH: i32 = 64;

/** Tape flag on a string node: every byte is ASCII, so hosts may skip UTF-8 decoding. */
export const ASCII: u32 = 0x100;

/**
 * Checks that bytes [p, p+n) are well-formed UTF-8 (RFC 3629: no overlongs, no surrogates,
 * nothing above U+10FFFF). Returns 0 when malformed, 1 when all ASCII, 2 otherwise.
 */
export function utf8Check(p: usize, n: usize): u32 {
  let end = p + n;
  while (p + 8 <= end && (load<u64>(p) & 0x8080808080808080) == 0) p += 8;
  let ascii = true;
  while (p < end) {
    let c = <u32>load<u8>(p);
    if (c < 0x80) {
      p += 1;
      continue;
    }
    ascii = false;
    let left = end - p;
    if (c < 0xc2) return 0;
    if (c < 0xe0) {
      if (left < 2 || (load<u8>(p + 1) & 0xc0) != 0x80) return 0;
      p += 2;
    } else if (c < 0xf0) {
      if (left < 3) return 0;
      let c1 = <u32>load<u8>(p + 1);
      if ((c1 & 0xc0) != 0x80 || (load<u8>(p + 2) & 0xc0) != 0x80) return 0;
      if (c == 0xe0 && c1 < 0xa0) return 0; // overlong
      if (c == 0xed && c1 >= 0xa0) return 0; // UTF-16 surrogate
      p += 3;
    } else if (c < 0xf5) {
      if (left < 4) return 0;
      let c1 = <u32>load<u8>(p + 1);
      if ((c1 & 0xc0) != 0x80 || (load<u8>(p + 2) & 0xc0) != 0x80 || (load<u8>(p + 3) & 0xc0) != 0x80) return 0;
      if (c == 0xf0 && c1 < 0x90) return 0; // overlong
      if (c == 0xf4 && c1 >= 0x90) return 0; // above U+10FFFF
      p += 4;
    } else {
      return 0;
    }
  }
  return ascii ? 1 : 2;
}

/** Reads a `str` (u16 length + UTF-8) and puts a string node. */
export function decodeString(): void {
  let n = <usize>readU16();
  let p = Rd.pos;
  if (!can(n)) return;
  let kind = utf8Check(p, n);
  if (kind == 0) {
    fail(INVALID_MESSAGE, R_BAD_UTF8, <u32>(p - Rd.base));
    Rd.pos = Rd.end;
    return;
  }
  Rd.pos = p + n;
  put(STRING | (kind == 1 ? ASCII : 0) | intern(p, n));
  put(<u32>(p - Rd.base));
  put(<u32>n);
}

/** Reads a u16-length byte string and puts a bytes node. */
function decodeBytes(): void {
  let n = <usize>readU16();
  let p = Rd.pos;
  if (!can(n)) return;
  Rd.pos = p + n;
  put(BYTES);
  put(<u32>(p - Rd.base));
  put(<u32>n);
}

/** Reads the body of a value whose type code is `tag` and puts its node. */
export function decodeValue(tag: u32, depth: i32): void {
  switch (tag) {
    case NULL: put(NULL); break;
    case BOOL: put(readU8() != 0 ? BOOL | 0x100 : BOOL); break;
    case I8: { let v = readU8(); put(I8); put(<u32><i32><i8>v); break; }
    case I16: { let v = readU16(); put(I16); put(<u32><i32><i16>v); break; }
    case I32: { let v = readU32(); put(I32); put(v); break; }
    case I64: { let v = readU64(); put(I64); put64(v); break; }
    case F32: { let v = readU32(); put(F32); put(v); break; }
    case F64: { let v = readU64(); put(F64); put64(v); break; }
    case STRING: decodeString(); break;
    case BYTES: decodeBytes(); break;
    case ARRAY:
    case MAP: {
      if (depth >= MAX_DEPTH) {
        fail(INVALID_MESSAGE, R_TOO_DEEP, <u32>(Rd.pos - Rd.base));
        Rd.pos = Rd.end;
        return;
      }
      let n = readU16();
      put(tag);
      put(n);
      for (let i: u32 = 0; i < n && Err.code == 0; i++) {
        if (tag == MAP) decodeString();
        decodeValue(readU8(), depth + 1);
      }
      break;
    }
    default:
      fail(INVALID_MESSAGE, R_BAD_VALUE_TYPE, <u32>(Rd.pos - Rd.base - 1));
      Rd.pos = Rd.end;
  }
}

/** Reads a tagged value (type byte + body) and puts its node. */
@inline export function decodeTagged(depth: i32): void {
  decodeValue(readU8(), depth);
}

/** Takes a string or bytes reference from the tape and writes it as u16 length + bytes. */
export function encodeStringRef(): void {
  let off = take();
  let len = take();
  let p = arenaRef(off, len);
  if (Err.code != 0) return;
  if (len > 0xffff) {
    fail(ENCODE_LIMIT, R_STRING_TOO_LONG, len);
    return;
  }
  writeU16(len);
  writeBytes(p, len);
}

/** Takes a string node (its tag word included) from the tape and writes it as a `str`. */
export function encodeString(): void {
  if ((take() & 0xff) != STRING) {
    badTape();
    return;
  }
  encodeStringRef();
}

/** Writes the body of the value whose first tape word `w0` was already taken. */
export function encodeValue(w0: u32, depth: i32): void {
  let tag = w0 & 0xff;
  switch (tag) {
    case NULL: break;
    case BOOL: writeU8((w0 >> 8) & 1); break;
    case I8: writeU8(take()); break;
    case I16: writeU16(take()); break;
    case I32: writeU32(take()); break;
    case I64: writeU64(take64()); break;
    case F32: writeU32(take()); break;
    case F64: writeU64(take64()); break;
    case STRING:
    case BYTES: encodeStringRef(); break;
    case ARRAY:
    case MAP: {
      if (depth >= MAX_DEPTH) {
        fail(ENCODE_LIMIT, R_TOO_DEEP, 0);
        return;
      }
      let n = take();
      if (n > 0xffff) {
        fail(ENCODE_LIMIT, R_TOO_MANY_ENTRIES, n);
        return;
      }
      writeU16(n);
      for (let i: u32 = 0; i < n && Err.code == 0; i++) {
        if (tag == MAP) encodeString();
        encodeTagged(depth + 1);
      }
      break;
    }
    default: badTape();
  }
}

/**
 * Takes a RAW node's reference (its tag word already taken); returns the pointer to the
 * tagged value bytes and leaves their length in `rawLength`, or 0 after a failure.
 */
export function takeRaw(): usize {
  let off = take();
  let len = take();
  let p = arenaRef(off, len);
  if (!Tr.raw || len == 0) {
    badTape();
    return 0;
  }
  rawLength = len;
  return p;
}

/** Length of the bytes `takeRaw` returned. */
export let rawLength: usize = 0;

/** Takes a value node from the tape and writes it as a tagged value (type byte + body). */
export function encodeTagged(depth: i32): void {
  let w0 = take();
  if ((w0 & 0xff) == RAW) {
    let p = takeRaw();
    if (p) writeBytes(p, rawLength);
    return;
  }
  if ((w0 & 0xff) > MAP) {
    badTape();
    return;
  }
  writeU8(w0 & 0xff);
  encodeValue(w0, depth);
}

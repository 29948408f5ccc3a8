// Bounds-checked big-endian reader and size-limited writer for CLASP wire bytes.
//
// All multi-byte integers on the wire are big-endian (clasp-wire.md §1). The reader never
// reads past `Rd.end`: a short read records R_TRUNCATED once, moves to the end and returns 0,
// so parsing runs to completion without trapping and the caller checks `Err.code`.
// The writer never writes past `Wr.limit` (the 65,535-byte payload bound, or none for bare
// values); an overflow records the reason given by `Wr.overflow`.

import { Region } from "../abi/buffer";
import { fail, INVALID_MESSAGE, ENCODE_LIMIT, R_TRUNCATED } from "./error";

/** Reader state: the current position, the end, and the origin that offsets are taken from. */
export class Rd {
  static pos: usize = 0;
  static end: usize = 0;
  static base: usize = 0;
}

/** Points the reader at bytes [start, end); offsets are reported relative to `base`. */
@inline export function readFrom(start: usize, end: usize, base: usize): void {
  Rd.pos = start;
  Rd.end = end;
  Rd.base = base;
}

/** Records a truncation and stops the reader; returns false. Kept out of line: it is cold. */
function truncated(): bool {
  fail(INVALID_MESSAGE, R_TRUNCATED, <u32>(Rd.pos - Rd.base));
  Rd.pos = Rd.end;
  return false;
}

/** True when `n` more bytes can be read; otherwise records a truncation and stops the reader. */
@inline export function can(n: usize): bool {
  return Rd.end - Rd.pos >= n || truncated();
}

@inline export function readU8(): u32 {
  if (!can(1)) return 0;
  let v = <u32>load<u8>(Rd.pos);
  Rd.pos += 1;
  return v;
}

export function readU16(): u32 {
  if (!can(2)) return 0;
  let v = <u32>load<u16>(Rd.pos);
  v = ((v & 0xff) << 8) | (v >> 8); // big-endian; inline, unlike the standard library's bswap<u16>
  Rd.pos += 2;
  return v;
}

export function readU32(): u32 {
  if (!can(4)) return 0;
  let v = bswap<u32>(load<u32>(Rd.pos));
  Rd.pos += 4;
  return v;
}

/**
 * The big-endian u64 at `p` (the caller checked the bounds). Scalar on purpose: the codec core
 * carries no SIMD instruction, so the same clasp.wasm and clp.wasm load in WAMR's interpreters
 * (no SIMD) as in browsers (test/device/wamr.test.ts). Inline, unlike the standard library's
 * `bswap<u64>`, which binaryen kept as a call in the decoder's hottest loop.
 */
@inline export function loadU64BE(p: usize): u64 {
  let v = load<u64>(p);
  v = ((v >> 8) & 0x00ff00ff00ff00ff) | ((v & 0x00ff00ff00ff00ff) << 8);
  v = ((v >> 16) & 0x0000ffff0000ffff) | ((v & 0x0000ffff0000ffff) << 16);
  return rotr<u64>(v, 32);
}

export function readU64(): u64 {
  if (!can(8)) return 0;
  let v = loadU64BE(Rd.pos);
  Rd.pos += 8;
  return v;
}

/** Writer state: the output region, the write position and the position it may not pass. */
export class Wr {
  static out: Region = new Region();
  static pos: usize = 0;
  /** Absolute bound set by the caller (end of the frame's 65,535-byte payload), or max. */
  static limit: usize = usize.MAX_VALUE;
  /** min(limit, end of the output region): writes below it need no further check. */
  static fast: usize = 0;
  /** Reason recorded when `limit` is exceeded. */
  static overflow: u32 = 0;
}

/** Starts writing at `offset` bytes into the output region, with no size limit. */
export function writeAt(offset: usize): void {
  Wr.pos = Wr.out.ptr + offset;
  Wr.limit = usize.MAX_VALUE;
  Wr.fast = Wr.out.ptr + Wr.out.cap;
}

/** Limits the payload written from here on to `max` bytes; `reason` is recorded past it. */
export function limitTo(max: usize, reason: u32): void {
  Wr.limit = Wr.pos + max;
  Wr.overflow = reason;
  let end = Wr.out.ptr + Wr.out.cap;
  Wr.fast = Wr.limit < end ? Wr.limit : end;
}

/** Lifts the limit set by `limitTo`. */
export function unlimit(): void {
  Wr.limit = usize.MAX_VALUE;
  Wr.fast = Wr.out.ptr + Wr.out.cap;
}

/** Slow path of `room`: enforces the limit and grows the output region. */
function roomSlow(n: usize): bool {
  let need = Wr.pos + n;
  if (need > Wr.limit) {
    fail(ENCODE_LIMIT, Wr.overflow, 0);
    return false;
  }
  let out = Wr.out;
  let off = Wr.pos - out.ptr;
  let lim = Wr.limit == usize.MAX_VALUE ? usize.MAX_VALUE : Wr.limit - out.ptr;
  let p = out.reserve(off + n, off);
  Wr.pos = p + off;
  if (lim != usize.MAX_VALUE) Wr.limit = p + lim;
  let end = p + out.cap;
  Wr.fast = Wr.limit < end ? Wr.limit : end;
  return true;
}

/**
 * Makes room for `n` more bytes, growing the output region when needed.
 * Returns false (after recording `Wr.overflow`) when the write would pass `Wr.limit`.
 */
@inline export function room(n: usize): bool {
  if (Wr.pos + n <= Wr.fast) return true;
  return roomSlow(n);
}

export function writeU8(v: u32): void {
  if (!room(1)) return;
  store<u8>(Wr.pos, <u8>v);
  Wr.pos += 1;
}

export function writeU16(v: u32): void {
  if (!room(2)) return;
  store<u16>(Wr.pos, bswap<u16>(<u16>v));
  Wr.pos += 2;
}

export function writeU32(v: u32): void {
  if (!room(4)) return;
  store<u32>(Wr.pos, bswap<u32>(v));
  Wr.pos += 4;
}

export function writeU64(v: u64): void {
  if (!room(8)) return;
  store<u64>(Wr.pos, bswap<u64>(v));
  Wr.pos += 8;
}

export function writeBytes(src: usize, n: usize): void {
  if (!room(n)) return;
  memory.copy(Wr.pos, src, n);
  Wr.pos += n;
}

/** Current write offset from the start of the output region. */
@inline export function writtenBytes(): usize {
  return Wr.pos - Wr.out.ptr;
}

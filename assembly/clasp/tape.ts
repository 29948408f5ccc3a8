// The tape: how structured data crosses the boundary between a core and its host.
//
// A tape is a sequence of little-endian u32 words describing values and messages in a fixed,
// documented order (docs/abi.md). Strings and byte strings are not copied into it: a string
// is (offset, length) into a byte area the host owns (the input frames when decoding, the
// host's arena when encoding). The decoder writes tapes (`Tw`), the encoder reads them (`Tr`,
// bounds-checked, because a component host may hand in anything).

import { Region } from "../abi/buffer";
import { fail, ENCODE_TAPE, R_BAD_TAPE } from "./error";

/** Tape writer: output region and write position (bytes from the region's start). */
export class Tw {
  static out: Region = new Region();
  static len: usize = 0;
}

/** Starts a new output tape. */
@inline export function tapeReset(): void {
  Tw.len = 0;
}

/**
 * Makes room for the nodes of `bytes` more input bytes. A decoded byte yields at most 3 tape
 * words (an ACK's flags byte: 5 presence words for 1 byte + its type byte), plus 4 words per
 * frame (its first word, a timestamp, or an error node); this reserves 4 words per byte and
 * 16 words over, so `put` needs no check of its own. Debug builds assert it.
 */
export function tapeReserve(bytes: usize): void {
  let len = Tw.len;
  Tw.out.reserve(len + (bytes << 4) + 64, len);
}

/** Appends one word (room made by `tapeReserve`). */
@inline export function put(w: u32): void {
  let len = Tw.len;
  assert(len + 4 <= Tw.out.cap, "tape overrun");
  store<u32>(Tw.out.ptr + len, w);
  Tw.len = len + 4;
}

/** Appends a u64 as two words, low word first. */
export function put64(v: u64): void {
  put(<u32>v);
  put(<u32>(v >>> 32));
}

/** Tape reader state: tape bounds and the arena that string references point into. */
export class Tr {
  static pos: usize = 0;
  static end: usize = 0;
  static arena: usize = 0;
  static arenaLen: usize = 0;
  /** Whether RAW value nodes are accepted (only tapes the core builds itself). */
  static raw: bool = false;
}

/** Points the reader at the tape [tape, tape + bytes) and the arena [arena, arena + arenaLen). */
export function readTape(tape: usize, bytes: usize, arena: usize, arenaLen: usize): void {
  Tr.pos = tape;
  Tr.end = tape + (bytes & ~3);
  Tr.arena = arena;
  Tr.arenaLen = arenaLen;
}

/** Records a malformed tape and stops the reader. */
export function badTape(): void {
  fail(ENCODE_TAPE, R_BAD_TAPE, 0);
  Tr.pos = Tr.end;
}

/** Reads one word, or 0 (and a failure) past the end. */
export function take(): u32 {
  if (Tr.pos >= Tr.end) {
    badTape();
    return 0;
  }
  let w = load<u32>(Tr.pos);
  Tr.pos += 4;
  return w;
}

/** Reads a u64 written as two words, low word first. */
export function take64(): u64 {
  let lo = <u64>take();
  return lo | (<u64>take() << 32);
}

/**
 * Resolves a string reference (offset, length) into the arena.
 * Returns the absolute pointer, or 0 with a failure when the reference leaves the arena.
 */
export function arenaRef(offset: u32, length: u32): usize {
  if (<u64>offset + <u64>length > <u64>Tr.arenaLen) {
    badTape();
    return 0;
  }
  return Tr.arena + offset;
}

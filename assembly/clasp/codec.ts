// The codec's verbs over plain pointers, shared by the raw ABI (index.ts) and the component
// (component.ts). Each verb leaves its result in the tape writer (`Tw`) or the wire writer
// (`Wr`) and its failure, if any, in `Err`.

import { Err, clearError, fail, INVALID_MESSAGE, ENCODE_TAPE, R_TRAILING, R_BAD_TAPE } from "./error";
import { Rd, readFrom, readU8, Wr, writeAt, writeBytes, writeU32, writtenBytes, room } from "./wire";
import { Tw, Tr, tapeReset, tapeReserve, readTape } from "./tape";
import { decodeValue, encodeTagged } from "./value";
import { decodeFrame, encodeFrame } from "./frame";
import { FRAMING_LENGTH, FRAMING_SLIP } from "./stream";
import { internMark, internRollback } from "./intern";

/**
 * Decodes frames in [base, base + len) into a tape of frame and error nodes, offsets
 * relative to `base`. `items` = 0: frames back to back, stopping at a frame whose header is
 * unusable. `items` > 0: `bounds` holds `items` u32 end offsets, one frame per item (bytes
 * after a frame are ignored, as upstream decoders do).
 * Returns the number of nodes; `decoded` receives the bytes decoded.
 */
export function decodeFrames(base: usize, len: usize, bounds: usize, items: u32): u32 {
  tapeReset();
  let count: u32 = 0;
  let consumed: usize = 0;
  if (items == 0) {
    while (consumed < len) {
      let size = decodeFrame(base + consumed, base + len, base);
      count++;
      if (size == 0) break;
      consumed += size;
    }
  } else {
    for (let i: u32 = 0; i < items; i++) {
      let end = <usize>load<u32>(bounds + (<usize>i << 2));
      if (end < consumed || end > len) end = consumed;
      decodeFrame(base + consumed, base + end, base);
      consumed = end;
      count++;
    }
  }
  clearError();
  decoded = consumed;
  return count;
}

/** Bytes consumed by the last `decodeFrames`. */
export let decoded: usize = 0;

/** Rewrites the frame at output [from, end) in SLIP framing: END, escaped bytes, END (RFC 1055). */
function slipWrap(from: usize): void {
  let n = writtenBytes() - from;
  let p = Wr.out.ptr + from;
  let k: usize = 0;
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(p + i);
    if (c == 0xc0 || c == 0xdb) k++;
  }
  if (!room(k + 2)) return;
  p = Wr.out.ptr + from;
  let dst = p + n + k;
  store<u8>(dst + 1, 0xc0);
  for (let i = n; i > 0; i--) {
    let c = <u32>load<u8>(p + i - 1);
    if (c == 0xc0 || c == 0xdb) {
      store<u8>(dst, c == 0xc0 ? 0xdc : 0xdd);
      store<u8>(dst - 1, 0xdb);
      dst -= 2;
    } else {
      store<u8>(dst, <u8>c);
      dst -= 1;
    }
  }
  store<u8>(p, 0xc0);
  Wr.pos += k + 2;
}

/**
 * Encodes `count` frame nodes from the tape [tape, tape + tapeBytes), strings pointing into
 * [arena, arena + arenaBytes), back to back into the wire writer. `framing`: 0 bare frames,
 * 1 u32 big-endian length prefix, 2 SLIP. When `ends` is non-zero, the end offset of each
 * frame is stored there as a u32. Returns the number of frames written; on failure fewer,
 * with the reason in `Err`.
 */
export function encodeFrames(tape: usize, tapeBytes: usize, arena: usize, arenaBytes: usize, count: u32, framing: u32, ends: usize): u32 {
  readTape(tape, tapeBytes, arena, arenaBytes);
  writeAt(0);
  clearError();
  let done: u32 = 0;
  while (done < count) {
    let start = writtenBytes();
    if (framing == FRAMING_LENGTH) writeU32(0);
    encodeFrame();
    if (Err.code != 0) break;
    if (framing == FRAMING_LENGTH) {
      store<u32>(Wr.out.ptr + start, bswap<u32>(<u32>(writtenBytes() - start - 4)));
    } else if (framing == FRAMING_SLIP) {
      slipWrap(start);
    }
    if (ends) store<u32>(ends + (<usize>done << 2), <u32>writtenBytes());
    done++;
  }
  if (Err.code == 0 && Tr.pos != Tr.end) fail(ENCODE_TAPE, R_BAD_TAPE, 0);
  return done;
}

/**
 * Writes the frame [p, p + n), as it is, into the wire writer delimited by `framing` (0 bare,
 * 1 u32 big-endian length prefix, 2 SLIP): how a transport puts a router's frames on a byte
 * stream. Returns the bytes written.
 */
export function wrapFrame(p: usize, n: usize, framing: u32): usize {
  writeAt(0);
  if (framing == FRAMING_LENGTH) writeU32(<u32>n);
  writeBytes(p, n);
  if (framing == FRAMING_SLIP) slipWrap(0);
  return writtenBytes();
}

/**
 * Encodes the one value node of the tape [tape, tape + tapeBytes) as a tagged CLASP value
 * into the wire writer. Returns the bytes written, 0 on failure (`Err`).
 */
export function encodeValueAt(tape: usize, tapeBytes: usize, arena: usize, arenaBytes: usize): usize {
  readTape(tape, tapeBytes, arena, arenaBytes);
  writeAt(0);
  clearError();
  encodeTagged(0);
  if (Err.code == 0 && Tr.pos != Tr.end) fail(ENCODE_TAPE, R_BAD_TAPE, 0);
  return Err.code == 0 ? writtenBytes() : 0;
}

/**
 * Decodes the one tagged CLASP value in [base, base + len) into a tape holding its node,
 * offsets relative to `base`. Returns the tape's size in bytes, 0 on failure (`Err`).
 */
export function decodeValueAt(base: usize, len: usize): usize {
  tapeReset();
  clearError();
  internMark();
  tapeReserve(len);
  readFrom(base, base + len, base);
  decodeValue(readU8(), 0);
  if (Err.code == 0 && Rd.pos != Rd.end) fail(INVALID_MESSAGE, R_TRAILING, <u32>(Rd.pos - base));
  if (Err.code != 0) internRollback();
  return Err.code == 0 ? Tw.len : 0;
}

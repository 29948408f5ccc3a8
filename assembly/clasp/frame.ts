// CLASP v1 frames (clasp-wire.md §1): header + payload <-> tape.
//
// Frame node on the tape: w0 = type | qos<<8 | encrypted<<10 | compressed<<11 |
// version<<12 | hasTimestamp<<15, then the u64 timestamp (2 words) when present, then the
// message fields. An encode tape may also set bit 16 ("use the type's default QoS").
// A frame that fails to decode becomes an error node instead: [0, code, offset, reason].

import {
  fail, Err, clearError, INVALID_FRAME, INVALID_MESSAGE, UNSUPPORTED_VERSION,
  R_SHORT_HEADER, R_BAD_MAGIC, R_FRAME_PAST_END, R_EMPTY_PAYLOAD, R_MSGPACK, R_PAYLOAD_TOO_LARGE,
} from "./error";
import { readFrom, Wr, writeU8, writeU16, writeU64, writtenBytes, limitTo, unlimit } from "./wire";
import { Tw, put, put64, take, take64, Tr, tapeReserve } from "./tape";
import { decodeBody, encodeBody, defaultQos, PUBLISH } from "./message";
import { internMark, internRollback } from "./intern";

export const MAGIC: u32 = 0x53;
export const MAX_PAYLOAD: usize = 0xffff;
/** Largest frame: 12-byte header (with timestamp) + 65,535-byte payload. */
export const MAX_FRAME: usize = 12 + MAX_PAYLOAD;

/** Flag bit of a frame node: the caller asked for the message type's default QoS. */
const DEFAULT_QOS: u32 = 1 << 16;

/** A payload whose first byte is a MessagePack map header is legacy encoding (clasp-wire.md §1). */
@inline function isMsgpackMap(b: u32): bool {
  return (b & 0xf0) == 0x80 || b == 0xde || b == 0xdf;
}

/**
 * Size of the frame starting at `p` with `avail` bytes available, read from its header:
 * 0 when fewer than 4 bytes are there yet. Does not check the magic byte.
 */
export function frameSize(p: usize, avail: usize): usize {
  if (avail < 4) return 0;
  let flags = <u32>load<u8>(p + 1);
  let len = <usize>bswap<u16>(load<u16>(p + 2));
  return ((flags & 0x20) != 0 ? 12 : 4) + len;
}

/**
 * Decodes the frame at [p, end) and appends its node to the tape; bytes after the frame are
 * not read. Offsets (string references, errors) are relative to `base`. On failure the tape
 * is rolled back and an error node is appended instead.
 * Returns the frame's size, or 0 when its header is unusable (no frame boundary known).
 */
export function decodeFrame(p: usize, end: usize, base: usize): usize {
  let mark = Tw.len;
  clearError();
  internMark();
  let size: usize = 0;
  let avail = end - p;
  tapeReserve(avail < MAX_FRAME ? avail : MAX_FRAME);
  if (avail < 4) {
    fail(INVALID_FRAME, R_SHORT_HEADER, <u32>(p - base));
  } else if (<u32>load<u8>(p) != MAGIC) {
    fail(INVALID_FRAME, R_BAD_MAGIC, <u32>(p - base));
  } else {
    let flags = <u32>load<u8>(p + 1);
    let hasTs = (flags & 0x20) != 0;
    let header: usize = hasTs ? 12 : 4;
    let len = <usize>bswap<u16>(load<u16>(p + 2));
    if (avail < header + len) {
      fail(INVALID_FRAME, R_FRAME_PAST_END, <u32>(p - base + 2));
    } else {
      size = header + len;
      let payload = p + header;
      if (len == 0) {
        fail(INVALID_MESSAGE, R_EMPTY_PAYLOAD, <u32>(payload - base));
      } else {
        let type = <u32>load<u8>(payload);
        if (isMsgpackMap(type)) {
          fail(UNSUPPORTED_VERSION, R_MSGPACK, <u32>(payload - base));
        } else {
          put(type | ((flags >> 6) << 8) | ((flags & 0x10) << 6) | ((flags & 0x08) << 8) | ((flags & 0x07) << 12) | ((flags & 0x20) << 10));
          if (hasTs) put64(bswap<u64>(load<u64>(p + 4)));
          readFrom(payload + 1, payload + len, base);
          decodeBody(type, 0);
        }
      }
    }
  }
  if (Err.code != 0) {
    Tw.len = mark;
    internRollback();
    put(0);
    put(Err.code);
    put(Err.at);
    put(Err.reason);
  }
  return size;
}

/**
 * Takes one frame node from the tape and writes the frame. The payload is limited to
 * 65,535 bytes; a larger one records ENCODE_LIMIT/R_PAYLOAD_TOO_LARGE.
 */
export function encodeFrame(): void {
  let w0 = take();
  let type = w0 & 0xff;
  let hasTs = (w0 & (1 << 15)) != 0;
  let qos = (w0 >> 8) & 3;
  if ((w0 & DEFAULT_QOS) != 0) {
    // PUBLISH's default depends on its signal, the first body word (after the timestamp).
    let at = Tr.pos + (hasTs ? 8 : 0);
    let signal: u32 = type == PUBLISH && at + 4 <= Tr.end ? load<u32>(at) : 1;
    qos = defaultQos(type, signal);
  }
  let flags = (qos << 6) | (hasTs ? 0x20 : 0) | ((w0 >> 6) & 0x10) | ((w0 >> 8) & 0x08) | ((w0 >> 12) & 0x07);
  writeU8(MAGIC);
  writeU8(flags);
  let lenAt = writtenBytes();
  writeU16(0);
  if (hasTs) writeU64(take64());
  let start = writtenBytes();
  limitTo(MAX_PAYLOAD, R_PAYLOAD_TOO_LARGE);
  writeU8(type);
  encodeBody(type, 0);
  unlimit();
  if (Err.code == 0) store<u16>(Wr.out.ptr + lenAt, bswap<u16>(<u16>(writtenBytes() - start)));
}

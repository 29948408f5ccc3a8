// Streaming frame reassembly: bytes arrive in arbitrary chunks, whole frames come out.
//
// Three framings (clasp-wire.md §9):
// - FRAME:  bare CLASP frames back to back, delimited by their own headers (the Rust serial
//           transport writes them this way). Garbage is skipped up to the next magic byte.
// - LENGTH: a u32 big-endian length before each frame (the CLASP TCP transport). A length
//           over the maximum is fatal: the stream cannot find the next boundary.
// - SLIP:   RFC 1055 (END 0xC0, ESC 0xDB, ESC_END 0xDC, ESC_ESC 0xDD), the framing the
//           CLASP docs name for serial links. A bad packet is dropped up to the next END.
// Error offsets are positions in the stream (mod 2^32).

import { Region } from "../abi/buffer";
import { INVALID_FRAME, R_BAD_MAGIC, R_FRAME_TOO_LARGE, R_SLIP_ESCAPE } from "./error";
import { put, tapeReserve } from "./tape";
import { decodeFrame, frameSize, MAGIC } from "./frame";

export const FRAMING_FRAME: u32 = 0;
export const FRAMING_LENGTH: u32 = 1;
export const FRAMING_SLIP: u32 = 2;

const SLIP_END: u32 = 0xc0;
const SLIP_ESC: u32 = 0xdb;
const SLIP_ESC_END: u32 = 0xdc;
const SLIP_ESC_ESC: u32 = 0xdd;

/** Reassembly state of one stream; its pending bytes live in the inherited region. */
@unmanaged export class FrameStream extends Region {
  framing: u32 = 0;
  /** Largest frame accepted, in bytes (header included). */
  max: u32 = 0;
  /** Bytes held in the region. */
  len: usize = 0;
  /** Bytes at the front of the region already delivered; dropped on the next push. */
  done: usize = 0;
  /** Stream position of the region's first byte (mod 2^32). */
  pos: u32 = 0;
  /** SLIP: the previous byte was ESC. */
  escaped: bool = false;
  /** SLIP: discarding a bad packet up to the next END. */
  dropping: bool = false;
  /** LENGTH: a fatal error happened; the stream delivers nothing more. */
  failed: bool = false;
}

/** Appends an error node; `fatal` marks a stream that cannot continue. */
function streamError(code: u32, reason: u32, at: u32, fatal: bool): void {
  tapeReserve(0);
  put(fatal ? 0x100 : 0);
  put(code);
  put(at);
  put(reason);
}

/**
 * Feeds `n` bytes at `src` into stream `s`, appending a node per complete frame (or error).
 * Returns the base that the nodes' offsets are relative to.
 */
export function pushChunk(s: FrameStream, src: usize, n: usize): usize {
  // Drop what the previous push delivered (its tape is no longer read).
  if (s.done > 0) {
    memory.copy(s.ptr, s.ptr + s.done, s.len - s.done);
    s.len -= s.done;
    s.pos += <u32>s.done;
    s.done = 0;
  }
  s.reserve(s.len + n, s.len);
  let base = s.ptr - <usize>s.pos;
  if (s.failed) {
    streamError(INVALID_FRAME, R_FRAME_TOO_LARGE, s.pos, true);
    return base;
  }
  if (s.framing == FRAMING_SLIP) {
    pushSlip(s, src, n, base);
    return base;
  }
  memory.copy(s.ptr + s.len, src, n);
  s.len += n;
  let p: usize = 0;
  let max = <usize>s.max;
  while (p < s.len) {
    let at = s.ptr + p;
    let avail = s.len - p;
    if (s.framing == FRAMING_LENGTH) {
      if (avail < 4) break;
      let size = <usize>bswap<u32>(load<u32>(at));
      if (size > max) {
        s.failed = true;
        streamError(INVALID_FRAME, R_FRAME_TOO_LARGE, <u32>(at - base), true);
        p = s.len;
        break;
      }
      if (avail < 4 + size) break;
      decodeFrame(at + 4, at + 4 + size, base);
      p += 4 + size;
    } else {
      if (<u32>load<u8>(at) != MAGIC) {
        let q = p + 1;
        while (q < s.len && <u32>load<u8>(s.ptr + q) != MAGIC) q++;
        streamError(INVALID_FRAME, R_BAD_MAGIC, <u32>(at - base), false);
        p = q;
        continue;
      }
      let size = frameSize(at, avail);
      if (size == 0) break;
      if (size > max) {
        streamError(INVALID_FRAME, R_FRAME_TOO_LARGE, <u32>(at - base), false);
        p += 1;
        continue;
      }
      if (avail < size) break;
      decodeFrame(at, at + size, base);
      p += size;
    }
  }
  s.done = p;
  return base;
}

/** SLIP framing: unescapes into the region and decodes each packet at its END byte. */
function pushSlip(s: FrameStream, src: usize, n: usize, base: usize): void {
  let start: usize = 0; // start of the packet being assembled (a partial one sits at 0)
  let len = s.len;
  let max = <usize>s.max;
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(src + i);
    if (s.dropping) {
      if (c == SLIP_END) {
        s.dropping = false;
        s.escaped = false;
      }
      continue;
    }
    if (s.escaped) {
      s.escaped = false;
      if (c == SLIP_ESC_END) c = SLIP_END;
      else if (c == SLIP_ESC_ESC) c = SLIP_ESC;
      else {
        streamError(INVALID_FRAME, R_SLIP_ESCAPE, <u32>(s.ptr + start - base), false);
        s.dropping = c != SLIP_END;
        len = start;
        continue;
      }
    } else if (c == SLIP_ESC) {
      s.escaped = true;
      continue;
    } else if (c == SLIP_END) {
      if (len > start) {
        decodeFrame(s.ptr + start, s.ptr + len, base);
        start = len;
      }
      continue;
    }
    if (len - start >= max) {
      streamError(INVALID_FRAME, R_FRAME_TOO_LARGE, <u32>(s.ptr + start - base), false);
      s.dropping = true;
      len = start;
      continue;
    }
    store<u8>(s.ptr + len, <u8>c);
    len++;
  }
  s.len = len;
  s.done = start;
}

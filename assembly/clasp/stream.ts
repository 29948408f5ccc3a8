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
//
// A stream decodes each frame into a frame node, or, opened `raw`, hands it over undecoded
// as a raw node [1, offset, length] (the bytes stay in the stream's region until the next
// push): for transports that pass frames on to a router, which decodes them itself. A raw
// frame is only checked for its header (magic byte, length within the packet). Either way
// the stream counts the bytes it throws away (noise, bad and oversized packets) in `lost`.

import { Region } from "../abi/buffer";
import { Err, INVALID_FRAME, R_BAD_MAGIC, R_FRAME_PAST_END, R_FRAME_TOO_LARGE, R_SHORT_HEADER, R_SLIP_ESCAPE } from "./error";
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
  /** Frames go out as raw nodes, undecoded. */
  raw: bool = false;
  /** SLIP: stream bytes (escapes included) of the packet being assembled or dropped. */
  packetIn: u32 = 0;
  /** Stream bytes thrown away so far (mod 2^32): noise, bad, truncated and oversized packets. */
  lost: u32 = 0;
}

/**
 * Appends a node of four words: an error [0, INVALID_FRAME, offset, reason] (0x100 in the
 * first word: fatal, the stream cannot continue) or a raw frame [1, offset, length, 0].
 */
function node(w0: u32, w1: u32, w2: u32, w3: u32): void {
  tapeReserve(0);
  put(w0);
  put(w1);
  put(w2);
  put(w3);
}

/**
 * Hands over the frame in the packet [p, end): a frame node (decoded), or a raw node once its
 * header checks out (bytes after the frame in its packet are ignored, as decoders do).
 * Returns false, after appending an error node, when the packet holds no frame.
 */
function deliver(s: FrameStream, p: usize, end: usize, base: usize): bool {
  if (!s.raw) {
    decodeFrame(p, end, base);
    return Err.code == 0;
  }
  let avail = end - p;
  let size = frameSize(p, avail);
  let reason = avail < 4 ? R_SHORT_HEADER : <u32>load<u8>(p) != MAGIC ? R_BAD_MAGIC : size > avail ? R_FRAME_PAST_END : 0;
  if (reason == 0) node(1, <u32>(p - base), <u32>size, 0);
  else node(0, INVALID_FRAME, <u32>(p - base), reason);
  return reason == 0;
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
    node(0x100, INVALID_FRAME, s.pos, R_FRAME_TOO_LARGE);
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
        node(0x100, INVALID_FRAME, <u32>(at - base), R_FRAME_TOO_LARGE);
        p = s.len;
        break;
      }
      if (avail < 4 + size) break;
      if (!deliver(s, at + 4, at + 4 + size, base)) s.lost += <u32>(size + 4);
      p += 4 + size;
    } else {
      // Garbage, or a header announcing more than the maximum: skip to the next magic byte.
      let size = frameSize(at, avail);
      let magic = <u32>load<u8>(at) == MAGIC;
      if (!magic || size > max) {
        let q = p + 1;
        while (q < s.len && <u32>load<u8>(s.ptr + q) != MAGIC) q++;
        node(0, INVALID_FRAME, <u32>(at - base), magic ? R_FRAME_TOO_LARGE : R_BAD_MAGIC);
        s.lost += <u32>(q - p);
        p = q;
        continue;
      }
      if (size == 0 || avail < size) break;
      if (!deliver(s, at, at + size, base)) s.lost += <u32>size;
      p += size;
    }
  }
  s.done = p;
  return base;
}

/**
 * SLIP framing: unescapes into the region and hands over each packet at its END byte. A bad
 * escape or an oversized packet drops the packet up to the next END; so does a packet that
 * is no frame (noise between frames, a frame cut short by a reset).
 */
function pushSlip(s: FrameStream, src: usize, n: usize, base: usize): void {
  let start: usize = 0; // start of the packet being assembled (a partial one sits at 0)
  let len = s.len;
  let max = <usize>s.max;
  for (let i: usize = 0; i < n; i++) {
    let c = <u32>load<u8>(src + i);
    if (c == SLIP_END) {
      if (s.escaped && !s.dropping) node(0, INVALID_FRAME, <u32>(s.ptr + start - base), R_SLIP_ESCAPE);
      if (s.escaped || s.dropping || (len > start && !deliver(s, s.ptr + start, s.ptr + len, base))) {
        s.lost += s.packetIn;
        len = start;
      }
      start = len;
      s.escaped = false;
      s.dropping = false;
      s.packetIn = 0;
      continue;
    }
    s.packetIn++;
    if (s.dropping) continue;
    if (s.escaped) {
      s.escaped = false;
      if (c == SLIP_ESC_END) c = SLIP_END;
      else if (c == SLIP_ESC_ESC) c = SLIP_ESC;
      else {
        node(0, INVALID_FRAME, <u32>(s.ptr + start - base), R_SLIP_ESCAPE);
        s.dropping = true;
        len = start;
        continue;
      }
    } else if (c == SLIP_ESC) {
      s.escaped = true;
      continue;
    }
    if (len - start >= max) {
      node(0, INVALID_FRAME, <u32>(s.ptr + start - base), R_FRAME_TOO_LARGE);
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

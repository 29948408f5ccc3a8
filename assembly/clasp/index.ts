// CLASP codec core: raw exports for the TypeScript face and WASI hosts (docs/abi.md).
//
// The host writes its input into the `input` region (frames, or an encode tape) and the
// `aux` region (frame boundaries, or the encode arena), calls one verb, and reads the result
// through the INFO block of little-endian u32 words:
//   [0] result pointer  [1] result bytes  [2] input bytes consumed  [3] items
//   [4] error code      [5] error reason  [6] error offset/value    [7] failing item
//   [8] pointer to the u32 end offset of each encoded frame
//   [9] base that tape offsets are relative to
// Nothing here traps on bad input: every failure is an error code (clasp-wire.md §4.2).

import { Region } from "../abi/buffer";
import { Err, clearError, reasonText, textPart, partLength } from "./error";
import { Wr, writtenBytes } from "./wire";
import { Tw } from "./tape";
import { FrameStream, pushChunk } from "./stream";
import { decodeFrames, decoded, encodeFrames, encodeValueAt, decodeValueAt, wrapFrame } from "./codec";
import { enableIntern } from "./intern";
import { Pattern, PatternError, PATTERN_ERRORS, compilePattern, matchAddress } from "./pattern";

const INFO: usize = memory.data(48, 8);
const IN = new Region();
const AUX = new Region();
const ENDS = new Region();

/** Address of the INFO block (12 little-endian u32 words, layout above). */
export function info(): usize {
  return INFO;
}

/** Makes the input region at least `size` bytes; returns its address. */
export function input(size: usize): usize {
  return IN.reserve(size);
}

/** Makes the auxiliary region at least `size` bytes; returns its address. */
export function aux(size: usize): usize {
  return AUX.reserve(size);
}

/**
 * Turns string interning on with `slots` slots (a power of two ≤ 65,536), or off with 0.
 * With it on, string nodes carry the HIT/STORED flags of assembly/clasp/intern.ts; only a
 * host that keeps a string per slot should enable it.
 */
export function internStrings(slots: u32): void {
  enableIntern(slots);
}

/** Address of the UTF-16 text of error reason `id` (see `reasonLength`). */
export function reason(id: u32): usize {
  return reasonText(id);
}

/** Length in UTF-16 code units of the text of error reason `id` (0 when unknown). */
export function reasonLength(id: u32): u32 {
  reasonText(id);
  return <u32>partLength;
}

function report(out: usize, bytes: usize, consumed: usize, items: u32, base: usize): void {
  store<u32>(INFO, <u32>out);
  store<u32>(INFO, <u32>bytes, 4);
  store<u32>(INFO, <u32>consumed, 8);
  store<u32>(INFO, items, 12);
  store<u32>(INFO, Err.code, 16);
  store<u32>(INFO, Err.reason, 20);
  store<u32>(INFO, Err.at, 24);
  store<u32>(INFO, <u32>base, 36);
}

/**
 * Decodes frames from input[0, len) into a tape of frame and error nodes.
 * `items` = 0: frames back to back, stopping at a frame whose header is unusable.
 * `items` > 0: aux holds `items` u32 end offsets, one frame per item.
 * Returns the number of nodes.
 */
export function decode(len: usize, items: u32): u32 {
  let count = decodeFrames(IN.ptr, len, AUX.ptr, items);
  report(Tw.out.ptr, Tw.len, decoded, count, IN.ptr);
  return count;
}

/**
 * Encodes `count` frame nodes from the tape in input[0, tapeBytes), whose strings point into
 * aux[0, arenaBytes). `framing`: 0 bare frames, 1 u32 big-endian length prefix, 2 SLIP.
 * Frames are written back to back; INFO[8] points at the end offset of each.
 * Returns the number of frames written (fewer than `count` on failure; see INFO[4..7]).
 */
export function encode(tapeBytes: usize, arenaBytes: usize, count: u32, framing: u32): u32 {
  let ends = ENDS.reserve(<usize>count << 2);
  let done = encodeFrames(IN.ptr, tapeBytes, AUX.ptr, arenaBytes, count, framing, ends);
  report(Wr.out.ptr, writtenBytes(), tapeBytes, done, AUX.ptr);
  store<u32>(INFO, done, 28);
  store<u32>(INFO, <u32>ends, 32);
  return Err.code == 0 ? done : 0;
}

/**
 * Encodes the one value node in input[0, tapeBytes) (strings in aux[0, arenaBytes)) as a
 * tagged CLASP value. Returns the number of bytes written, 0 on failure (INFO[4..6]).
 */
export function encodeValue(tapeBytes: usize, arenaBytes: usize): usize {
  let bytes = encodeValueAt(IN.ptr, tapeBytes, AUX.ptr, arenaBytes);
  report(Wr.out.ptr, bytes, tapeBytes, 1, AUX.ptr);
  return bytes;
}

/**
 * Decodes the one tagged CLASP value in input[0, len) into a tape holding its node.
 * Returns the tape's size in bytes, 0 on failure (INFO[4..6]).
 */
export function decodeValue(len: usize): usize {
  let bytes = decodeValueAt(IN.ptr, len);
  report(Tw.out.ptr, bytes, len, 1, IN.ptr);
  return bytes;
}

/**
 * Opens a reassembly stream. `framing`: 0 bare frames, 1 u32 length prefix, 2 SLIP;
 * `maxFrame`: largest frame accepted in bytes; `raw`: frames come out as raw nodes
 * `[1, offset, length]` (undecoded bytes at INFO[9] + offset) instead of frame nodes.
 * Returns the stream's handle.
 */
export function streamOpen(framing: u32, maxFrame: u32, raw: bool): usize {
  let s = new FrameStream();
  s.framing = framing;
  s.max = maxFrame;
  s.raw = raw;
  return changetype<usize>(s);
}

/**
 * Feeds input[0, len) to stream `handle`; the tape holds a node per frame or error that
 * completed. Tape offsets are relative to INFO[9]. Returns the tape's size in bytes.
 */
export function streamPush(handle: usize, len: usize): usize {
  Tw.len = 0;
  let base = pushChunk(changetype<FrameStream>(handle), IN.ptr, len);
  clearError();
  report(Tw.out.ptr, Tw.len, len, 0, base);
  return Tw.len;
}

/** Bytes held by stream `handle` that do not yet form a whole frame. */
export function streamPending(handle: usize): usize {
  let s = changetype<FrameStream>(handle);
  return s.len - s.done;
}

/** Stream bytes that stream `handle` threw away (noise, bad or oversized packets), mod 2^32. */
export function streamLost(handle: usize): u32 {
  return changetype<FrameStream>(handle).lost;
}

/**
 * Writes the frame in input[0, len) delimited by `framing` (0 bare, 1 u32 length prefix,
 * 2 SLIP) to the output, at INFO[0]. Returns its size in bytes.
 */
export function frameWrap(len: usize, framing: u32): usize {
  let bytes = wrapFrame(IN.ptr, len, framing);
  store<u32>(INFO, <u32>Wr.out.ptr);
  return bytes;
}

/** Releases stream `handle`. */
export function streamClose(handle: usize): void {
  let s = changetype<FrameStream>(handle);
  if (s.ptr) heap.free(s.ptr);
  heap.free(handle);
}

// ---- address patterns, for clients that dispatch incoming messages to local callbacks
// (router trie semantics, pattern.ts). Compiled patterns are kept for the instance's life,
// referenced by raw pointers in PATTERNS: sound because this core never collects garbage
// (minimal runtime, no __collect); the host compiles each distinct pattern once.

const PATTERNS = new Region();
let patternCount: u32 = 0;

/**
 * Compiles the address pattern in input[0, len). Returns its handle (> 0), or 0 when it
 * does not compile; then INFO[4] = 202 (PatternError) and INFO[5] = the reason, whose text
 * `patternReason` gives.
 */
export function patternCompile(len: usize): u32 {
  let p = compilePattern(IN.ptr, len);
  store<u32>(INFO, p === null ? 202 : 0, 16);
  store<u32>(INFO, PatternError.reason, 20);
  if (p === null) return 0;
  store<usize>(PATTERNS.reserve((<usize>patternCount + 1) * sizeof<usize>(), <usize>patternCount * sizeof<usize>()) + <usize>patternCount * sizeof<usize>(), changetype<usize>(p));
  return ++patternCount;
}

/** Whether pattern `handle` matches the address in input[0, len) (false for an unknown handle). */
export function patternMatch(handle: u32, len: usize): bool {
  if (handle == 0 || handle > patternCount) return false;
  return matchAddress(changetype<Pattern>(load<usize>(PATTERNS.ptr + (<usize>(handle - 1) * sizeof<usize>()))), IN.ptr, len);
}

/** Address of the UTF-16 text of pattern error `id` (INFO[5] after a failed compile); its length goes to INFO[6]. */
export function patternReason(id: u32): usize {
  let p = textPart(PATTERN_ERRORS, id);
  store<u32>(INFO, <u32>partLength, 24);
  return p;
}

// The `normalize` pipeline plugin: a WASI preview1 command speaking the framed plugin protocol
// (docs/plugin-protocol.md) on stdin/stdout. text/plain in, text/plain out: numbers to words,
// common abbreviations, whitespace. Streams: output follows every input frame.

import { fd_read, fd_write } from "bindings/wasi_snapshot_preview1";
import { J_BOOL, J_NUM, J_OBJ, J_STR, parseJsonBytes, quote } from "../json";
import { Normalizer, Settings } from "./text";

const CHUNK: i32 = 65536;
const PROTOCOL_MAJOR = "1";

// I/O scratch: one iovec pair and a size slot.
const IOV: usize = memory.data(16, 4);
const SIZE: usize = memory.data(4, 4);

let inBuf: usize = heap.alloc(CHUNK);
let inLen: i32 = 0;
let inAt: i32 = 0;
let inEof = false;
let maxFrame: i32 = 1 << 20;
let norm: Normalizer | null = null;

/** Refills the input buffer; false at end of stdin. */
function fill(): bool {
  if (inEof) return false;
  store<u32>(IOV, <u32>inBuf);
  store<u32>(IOV, <u32>CHUNK, 4);
  const err = fd_read(0, IOV, 1, SIZE);
  const n = <i32>load<u32>(SIZE);
  if (err != 0 || n == 0) {
    inEof = true;
    return false;
  }
  inLen = n;
  inAt = 0;
  return true;
}

/** Reads exactly `n` bytes into `dst`; false when stdin ends first. */
function readExact(dst: usize, n: i32): bool {
  let got = 0;
  while (got < n) {
    if (inAt == inLen && !fill()) return false;
    const take = min(n - got, inLen - inAt);
    memory.copy(dst + got, inBuf + inAt, take);
    inAt += take;
    got += take;
  }
  return true;
}

/** Writes all of [ptr, ptr+len) to stdout. */
function writeAll(ptr: usize, len: i32): void {
  while (len > 0) {
    store<u32>(IOV, <u32>ptr);
    store<u32>(IOV, <u32>len, 4);
    if (fd_write(1, IOV, 1, SIZE) != 0) process.exit(1);
    const n = <i32>load<u32>(SIZE);
    ptr += n;
    len -= n;
  }
}

const HEADER: usize = memory.data(4, 4);

/** Writes one frame with the payload [ptr, ptr+len). */
function writeFrame(ptr: usize, len: i32): void {
  store<u32>(HEADER, <u32>len);
  writeAll(HEADER, 4);
  if (len > 0) writeAll(ptr, len);
}

/** Writes `text` as data frames of at most max_frame bytes (cut at character boundaries). */
function writeText(text: string): void {
  if (text.length == 0) return;
  const bytes = String.UTF8.encode(text);
  const base = changetype<usize>(bytes);
  const total = bytes.byteLength;
  let at = 0;
  while (at < total) {
    let n = min(maxFrame, total - at);
    // Frames may cut anywhere, but keeping characters whole is kinder to readers.
    while (n > 4 && at + n < total && (load<u8>(base + at + n) & 0xc0) == 0x80) n--;
    writeFrame(base + at, n);
    at += n;
  }
}

/** Sends the end frame, an error frame, and exits 1. */
function fail(type: string, message: string): void {
  writeFrame(0, 0);
  const json = String.UTF8.encode("{\"type\":" + quote(type) + ",\"message\":" + quote(message) + ",\"fatal\":true}");
  writeFrame(changetype<usize>(json), json.byteLength);
  process.exit(1);
}

/**
 * Length of the longest prefix of [ptr, ptr+len) made of complete, valid UTF-8 characters.
 * An incomplete character at the end is left out unless `final`; an invalid sequence gives
 * -(offset + 1).
 */
function utf8Prefix(ptr: usize, len: i32, final: bool): i32 {
  let i = 0;
  while (i < len) {
    const b = <i32>load<u8>(ptr + i);
    let need = 0;
    let min: i32 = 0;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return -(i + 1);
    if (i + need >= len) {
      // The character is cut by the end of the buffer: valid so far, complete it next time.
      for (let k = 1; i + k < len; k++) if ((<i32>load<u8>(ptr + i + k) & 0xc0) != 0x80) return -(i + 1);
      return final ? -(i + 1) : i;
    }
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = <i32>load<u8>(ptr + i + k);
      if ((c & 0xc0) != 0x80) return -(i + 1);
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return -(i + 1);
    i += need + 1;
  }
  return i;
}

function main(): void {
  // Handshake.
  if (!readExact(HEADER, 4)) process.exit(1);
  const hsLen = <i32>load<u32>(HEADER);
  if (hsLen <= 0 || hsLen > (1 << 20)) fail("INVALID_INPUT", "handshake frame of " + hsLen.toString() + " bytes");
  const hsBuf = heap.alloc(hsLen);
  if (!readExact(hsBuf, hsLen)) process.exit(1);
  const hsOk = utf8Prefix(hsBuf, hsLen, true);
  if (hsOk != hsLen) fail("INVALID_INPUT", "handshake is not UTF-8");
  const hs = parseJsonBytes(hsBuf, hsLen);
  heap.free(hsBuf);
  if (hs === null || hs.kind != J_OBJ) fail("INVALID_INPUT", "handshake is not a JSON object");
  const proto = hs!.get("protocol");
  if (proto === null || proto.kind != J_STR) fail("INVALID_INPUT", "handshake has no protocol");
  const major = proto!.s.split(".")[0];
  if (major != PROTOCOL_MAJOR) fail("UNSUPPORTED_PROTOCOL", "protocol " + proto!.s + " (this plugin implements 1.x)");
  const inType = hs!.get("input_type");
  const outType = hs!.get("output_type");
  if (inType === null || inType.s != "text/plain" || outType === null || outType.s != "text/plain") {
    fail("UNSUPPORTED_TYPE", "normalize reads and writes text/plain");
  }
  const mf = hs!.get("max_frame");
  if (mf !== null && mf.kind == J_NUM && mf.n >= 16 && mf.n <= 2147483647) maxFrame = <i32>mf.n;
  const settings = new Settings();
  const config = hs!.get("config");
  if (config !== null && config.kind == J_OBJ) {
    for (let i = 0; i < config.keys.length; i++) {
      const k = config.keys[i];
      const v = config.items[i];
      if (k != "numbers" && k != "abbreviations" && k != "years") fail("INVALID_CONFIG", "unknown option " + k);
      if (v.kind != J_BOOL) fail("INVALID_CONFIG", "option " + k + " must be a boolean");
      if (k == "numbers") settings.numbers = v.b;
      else if (k == "abbreviations") settings.abbreviations = v.b;
      else settings.years = v.b;
    }
  }

  // A global, not a local: the minimal runtime's __collect() only sees globals as roots.
  norm = new Normalizer(settings);
  // Bytes of an incomplete UTF-8 character carried to the next frame (at most 3).
  let carry: usize = heap.alloc(4);
  let carryLen: i32 = 0;
  let offset: i64 = 0; // input bytes consumed, for error messages
  while (true) {
    if (!readExact(HEADER, 4)) process.exit(1); // stdin closed without an end frame: host aborted
    const len = <i32>load<u32>(HEADER);
    if (<u32>len > <u32>maxFrame) fail("INVALID_INPUT", "frame of " + (<u32>len).toString() + " bytes exceeds max_frame " + maxFrame.toString());
    const final = len == 0;
    const buf = heap.alloc(carryLen + len);
    memory.copy(buf, carry, carryLen);
    if (len > 0 && !readExact(buf + carryLen, len)) process.exit(1);
    const total = carryLen + len;
    const ok = utf8Prefix(buf, total, final);
    if (ok < 0) {
      fail("INVALID_INPUT", "input is not valid UTF-8 at byte " + (offset + <i64>(-ok - 1 - carryLen)).toString());
    }
    carryLen = total - ok;
    memory.copy(carry, buf + ok, carryLen);
    offset += len;
    const text = String.UTF8.decodeUnsafe(buf, ok);
    heap.free(buf);
    writeText(norm!.push(text));
    if (final) break;
    // Only globals are roots for the minimal runtime's collector: no managed local is live here.
    __collect();
  }
  writeText(norm!.finish());
  writeFrame(0, 0);
}

main();

// `clawft.wasm router`: the agent's MiniRouter (assembly/agent/clasp.ts, the one instance the
// tools use too) serving one peer over stdin/stdout — a serial line, a pipe — as one CLASP
// session. Frames in both directions are delimited by SLIP (RFC 1055, the default: a serial
// line has no other way to find frame boundaries, and a lost byte costs one frame) or by a
// u32 big-endian length prefix (`--framing length`, the CLASP TCP framing; for reliable byte
// streams only: it cannot find a boundary in line noise).
//
// Input goes through the codec's stream reassembly (assembly/clasp/stream.ts, raw mode: the
// router decodes frames itself). Line noise, a truncated or oversized SLIP packet or a frame
// that does not decode is dropped up to the next frame boundary and counted; the session goes
// on. Params persist in $CLAWFT_HOME/state/ after every step that changed one (Clasp) and are
// back after a restart. The router's clock runs while the line is idle: the wait for input is
// a poll_oneoff that also wakes when the router has something due (gesture flushes, TTL expiry
// swept once a second). End of input: the session ends, exit 0.

import { EXIT_OK, fail, usage } from "./exit";
import { poll_oneoff, errno } from "bindings/wasi_snapshot_preview1";
import { Clasp, Outlet, codecReason } from "./clasp";
import { Stdin, writeBytes, errLine } from "./host/io";
import { Region } from "../abi/buffer";
import { Outbox, EV_CLOSE } from "../clasp/router/outbox";
import * as R from "../clasp/router/router";
import { FrameStream, pushChunk, FRAMING_LENGTH, FRAMING_SLIP } from "../clasp/stream";
import { wrapFrame } from "../clasp/codec";
import { Tw } from "../clasp/tape";
import { Wr } from "../clasp/wire";

/** Largest frame accepted from the line: a 4-byte header, an 8-byte timestamp, 65,535 payload bytes (clasp-wire.md §2). */
const MAX_FRAME: u32 = 12 + 0xffff;
/** How often the router's sweep (TTL expiry, idle sessions) runs while the line is quiet, µs. */
const SWEEP_US: u64 = 1_000_000;
const CHUNK: i32 = 16384;

/** What `routerCommand` counts; printed to stderr at the end. */
class Line {
  static framing: u32 = FRAMING_SLIP;
  static conn: u32 = 0;
  static stream: FrameStream | null = null;
  /** Bytes of the current input still to throw away (length framing, after an oversized frame). */
  static skip: u64 = 0;
  static framesIn: u64 = 0;
  static framesOut: u64 = 0;
  /** Input bytes thrown away by streams already replaced, plus skipped ones. */
  static lostBefore: u64 = 0;
  static dropped: u64 = 0;
  static writeFailed: bool = false;
  /** When the router wants `tick` for a gesture flush (µs), 0: nothing due. */
  static nextDue: u64 = 0;
  static out: Region = new Region();
  static outLen: usize = 0;
}

/** Sends the frames the agent's own steps (a tool's SET or PUBLISH) deliver to the line. */
class LineOutlet extends Outlet {
  carry(): void {
    carryOutbox();
    flush();
  }
}

function nowUs(): u64 {
  return <u64>Date.now() * 1000;
}

/** A new reassembly stream for the line's framing, undecoded frames out. */
function openStream(): FrameStream {
  let s = new FrameStream();
  s.framing = Line.framing;
  s.max = MAX_FRAME;
  s.raw = true;
  return s;
}

function closeStream(s: FrameStream): void {
  if (s.ptr) heap.free(s.ptr);
  heap.free(changetype<usize>(s));
}

/** Appends frame [p, p + n) to the pending output, delimited by the line's framing. */
function queueFrame(p: usize, n: usize): void {
  let size = wrapFrame(p, n, Line.framing);
  let at = Line.outLen;
  Line.out.reserve(at + size, at);
  memory.copy(Line.out.ptr + at, Wr.out.ptr, size);
  Line.outLen = at + size;
  Line.framesOut++;
}

/** Writes the pending output to stdout. */
function flush(): void {
  if (Line.outLen == 0) return;
  if (!writeBytes(1, Line.out.ptr, Line.outLen)) Line.writeFailed = true;
  Line.outLen = 0;
}

/**
 * Carries out the router's outbox: frames delivered to the line are queued, in order; a
 * `close` for the line (its session timed out, or was refused) ends that session and opens a
 * fresh connection, since the line itself is still there. Deliveries to the agent's own
 * session are not the line's.
 */
function carryOutbox(): void {
  for (let i: u32 = 0; i < Outbox.nDeliveries; i++) {
    let d = Outbox.deliveries.ptr + (<usize>i << 3);
    if (load<u32>(d) != Line.conn) continue;
    let t = Outbox.table.ptr + <usize>load<u32>(d, 4) * 12;
    let start = <usize>load<u32>(t);
    queueFrame(Outbox.frames.ptr + start, <usize>load<u32>(t, 4) - start);
  }
  let closed = false;
  for (let i: u32 = 0; i < Outbox.nEvents; i++) {
    let e = Outbox.events.ptr + <usize>i * 24;
    if (load<u32>(e) == EV_CLOSE && load<u32>(e, 4) == Line.conn) closed = true;
  }
  if (closed) {
    flush();
    if (!Clasp.disconnect(Line.conn)) errLine("clawft: router: " + Clasp.error);
    Line.conn = Clasp.connect();
  }
}

/** Reports a dropped packet or frame (an error node of the stream's tape). */
function dropped(offset: u32, reason: u32): void {
  Line.dropped++;
  errLine("clawft: router: dropped input at byte " + offset.toString() + ": " + codecReason(reason) + "; resynchronised at the next frame");
}

/**
 * Feeds `n` input bytes at `p` to the line's stream and hands every whole frame to the router.
 * Returns false when saving the state failed (`Clasp.error`).
 */
function feed(p: usize, n: usize): bool {
  if (Line.skip > 0) {
    let k = <usize>min<u64>(Line.skip, <u64>n);
    Line.skip -= <u64>k;
    Line.lostBefore += <u64>k;
    p += k;
    n -= k;
    if (n == 0) return true;
  }
  let s = Line.stream!;
  Tw.len = 0;
  let base = pushChunk(s, p, n);
  // The router's steps reuse the tape: first note every frame (its bytes stay in the
  // stream's region until the next push).
  let count = <i32>(Tw.len >>> 4);
  let nodes = new StaticArray<u32>(count * 4);
  memory.copy(changetype<usize>(nodes), Tw.out.ptr, <usize>count << 4);
  for (let i = 0; i < count; i++) {
    let w0 = nodes[i * 4];
    if ((w0 & 0xff) == 1) {
      Line.framesIn++;
      Clasp.error = "";
      let ok = Clasp.receive(Line.conn, base + <usize>nodes[i * 4 + 1], <usize>nodes[i * 4 + 2]);
      if (!ok && Clasp.error.length > 0) return false;
      if (R.dueAt != 0 && (Line.nextDue == 0 || R.dueAt < Line.nextDue)) Line.nextDue = R.dueAt;
      carryOutbox();
      continue;
    }
    dropped(nodes[i * 4 + 2], nodes[i * 4 + 3]);
    if ((w0 & 0x100) != 0) {
      resyncLength(s, base + <usize>nodes[i * 4 + 2]);
      break;
    }
  }
  return true;
}

/**
 * Length framing: an announced size over the maximum fails the stream, but the length still
 * says where the next frame starts. Skip to there in a fresh stream: the frame's bytes
 * already held are dropped with it, the rest of them as they arrive.
 */
function resyncLength(s: FrameStream, header: usize): void {
  let size = <u64>bswap<u32>(load<u32>(header)) + 4;
  let held = <u64>(s.ptr + s.len - header);
  Line.lostBefore += <u64>s.lost + min<u64>(size, held);
  let fresh = openStream();
  Line.stream = fresh;
  if (held > size) {
    let rest = header + <usize>size;
    let n = <usize>(held - size);
    let copy = heap.alloc(n);
    memory.copy(copy, rest, n);
    closeStream(s);
    feed(copy, n);
    heap.free(copy);
    return;
  }
  closeStream(s);
  Line.skip = size - held;
}

// poll_oneoff: one fd_read subscription on stdin and one relative clock timeout (WASI
// preview1 `subscription`: 48 bytes; `event`: 32 bytes).
const SUBS: usize = memory.data(96, 8);
const EVENTS: usize = memory.data(64, 8);
const NEVENTS: usize = memory.data(4, 4);

/**
 * Waits until stdin is readable or `timeoutUs` passes (0: no timeout). Returns true when
 * stdin may be read; false on a timeout. A host without poll_oneoff for stdin (an error) is
 * treated as readable: the read then blocks, and the clock advances with the input.
 */
function waitInput(timeoutUs: u64): bool {
  memory.fill(SUBS, 0, 96);
  store<u64>(SUBS, 1); // userdata
  store<u8>(SUBS, 1, 8); // eventtype.FD_READ
  store<u32>(SUBS, 0, 16); // fd 0
  let n: usize = 1;
  if (timeoutUs > 0) {
    store<u64>(SUBS + 48, 2);
    store<u8>(SUBS + 48, 0, 8); // eventtype.CLOCK
    store<u32>(SUBS + 48, 1, 16); // clockid.MONOTONIC
    store<u64>(SUBS + 48, timeoutUs * 1000, 24); // relative, ns
    n = 2;
  }
  if (poll_oneoff(SUBS, EVENTS, n, NEVENTS) != errno.SUCCESS) return true;
  let got = load<u32>(NEVENTS);
  for (let i: u32 = 0; i < got; i++) {
    if (load<u64>(EVENTS + <usize>i * 32) == 1) return true;
  }
  return false;
}

/**
 * `clawft.wasm router [--framing slip|length]`: runs until end of input. Exit codes: 0 at
 * end of input, 1 when the state cannot be loaded or saved or stdout fails, 2 for a usage
 * error. Counts (frames in and out, packets dropped, bytes lost) go to stderr at the end.
 */
export function routerCommand(args: string[]): i32 {
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    if (a == "--framing" && i + 1 < args.length) {
      let f = args[++i];
      if (f == "slip") Line.framing = FRAMING_SLIP;
      else if (f == "length") Line.framing = FRAMING_LENGTH;
      else return usage("router: --framing takes slip or length, not \"" + f + "\"");
    } else if (a == "--framing") {
      return usage("router: --framing needs slip or length");
    } else {
      return usage("router: unknown option \"" + a + "\"");
    }
  }
  if (!Clasp.load()) return fail("router: " + Clasp.error);
  Line.conn = Clasp.connect();
  if (Line.conn == 0) return fail("router: the router is full (maxSessions)");
  Line.stream = openStream();
  Clasp.outlet = new LineOutlet();

  let buf = heap.alloc(CHUNK);
  let nextSweep = nowUs() + SWEEP_US;
  let code = EXIT_OK;
  while (true) {
    let now = nowUs();
    if (now >= nextSweep || (Line.nextDue != 0 && now >= Line.nextDue)) {
      Line.nextDue = <u64>Clasp.tick();
      carryOutbox();
      flush();
      nextSweep = now + SWEEP_US;
      now = nowUs();
    }
    let wake = Line.nextDue != 0 && Line.nextDue < nextSweep ? Line.nextDue : nextSweep;
    if (!waitInput(wake > now ? wake - now : 1)) continue;
    let n = Stdin.read(buf, CHUNK);
    if (n == 0) break;
    if (!feed(buf, <usize>n)) {
      code = fail("router: " + Clasp.error);
      break;
    }
    flush();
    if (Line.writeFailed) {
      code = fail("router: stdout is closed or failing; stopping");
      break;
    }
  }
  heap.free(buf);
  let s = Line.stream!;
  // A packet still open at the end of input was cut short.
  let pending = <u64>(s.len - s.done);
  let lost = Line.lostBefore + <u64>s.lost + pending;
  if (pending > 0) Line.dropped++;
  Clasp.outlet = null;
  flush();
  if (!Clasp.disconnect(Line.conn) && code == EXIT_OK) code = fail("router: " + Clasp.error);
  errLine(
    "clawft: router: end of input; frames in " + Line.framesIn.toString() + ", out " + Line.framesOut.toString() +
      ", dropped " + Line.dropped.toString() + " (" + lost.toString() + " bytes lost)",
  );
  return code;
}

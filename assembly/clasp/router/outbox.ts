// What one router step produces, for the host to carry out: frames (each encoded once),
// deliveries (connection, frame) — the same bytes go to every subscriber, and a delivery is
// two words in a reused region, so fan-out allocates nothing — and events (closes, state
// changes to persist, metrics).
//
// Layout (all little-endian u32, regions reused across steps):
//   frame table  [start, end, qos] per frame; bytes in the frames region
//   deliveries   [connection, frame index]
//   events       [kind, a, b, c, d, e]   (EV_* below)
//   records      bytes events refer to by offset: addresses, session ids and the persistence
//                records of EV_STATE (docs/router.md §Persistence); copied, so they stay valid
//                whatever the router frees after the event

import { Region } from "../../abi/buffer";
import { Wr, writeAt } from "../wire";

/** A connection must be closed (after its pending frames are sent): a = connection, b = CLASP code or 0. */
export const EV_CLOSE: u32 = 1;
/** A param changed: a = address offset, b = address length, c = record offset, d = record length (0: deleted). */
export const EV_STATE: u32 = 2;
/** A SET or PUBLISH fanned out: a = address offset, b = address length, c = deliveries. */
export const EV_FANOUT: u32 = 3;
/** A frame was received: a = connection, b = message type (0: undecodable), c = bytes. */
export const EV_MESSAGE: u32 = 4;
/** An ERROR was sent: a = connection, b = code. */
export const EV_ERROR: u32 = 5;
/** A session started: a = connection, b = session id offset, c = length. */
export const EV_SESSION: u32 = 6;
/** A session ended: a = connection, b = session id offset, c = length. */
export const EV_SESSION_END: u32 = 7;

export class Outbox {
  static frames: Region = new Region();
  static table: Region = new Region();
  static nFrames: u32 = 0;
  static deliveries: Region = new Region();
  static nDeliveries: u32 = 0;
  static events: Region = new Region();
  static nEvents: u32 = 0;
  static records: Region = new Region();
  static recordsLen: usize = 0;
  /** Bytes written to the frames region. */
  static framesLen: usize = 0;
}

/** Starts a router step: empties every list. */
export function outboxReset(): void {
  Outbox.nFrames = 0;
  Outbox.nDeliveries = 0;
  Outbox.nEvents = 0;
  Outbox.recordsLen = 0;
  Outbox.framesLen = 0;
}

/** Points the wire writer at the end of the frames region. */
export function writeFrames(): void {
  Wr.out = Outbox.frames;
  writeAt(Outbox.framesLen);
}

/** Records the frame the wire writer just wrote, from byte `start`; returns its index. */
export function addFrame(start: usize, end: usize, qos: u32): u32 {
  let i = Outbox.nFrames;
  let at = Outbox.table.reserve((<usize>i + 1) * 12, <usize>i * 12) + <usize>i * 12;
  store<u32>(at, <u32>start);
  store<u32>(at, <u32>end, 4);
  store<u32>(at, qos, 8);
  Outbox.nFrames = i + 1;
  Outbox.framesLen = end;
  return i;
}

/** Address of frame `i`'s bytes (valid until the frames region grows). */
export function frameAt(i: u32): usize {
  return Outbox.frames.ptr + <usize>load<u32>(Outbox.table.ptr + <usize>i * 12);
}

/** Length of frame `i` in bytes. */
export function frameLength(i: u32): usize {
  let at = Outbox.table.ptr + <usize>i * 12;
  return <usize>(load<u32>(at, 4) - load<u32>(at));
}

/** Queues frame `frame` for connection `conn`. */
@inline export function deliver(conn: u32, frame: u32): void {
  let i = Outbox.nDeliveries;
  let at = Outbox.deliveries.reserve((<usize>i + 1) << 3, <usize>i << 3) + (<usize>i << 3);
  store<u32>(at, conn);
  store<u32>(at, frame, 4);
  Outbox.nDeliveries = i + 1;
}

/** Copies bytes [p, p + n) into the records region; returns their offset there. */
export function keep(p: usize, n: usize): u32 {
  let start = Outbox.recordsLen;
  Outbox.records.reserve(start + n, start);
  memory.copy(Outbox.records.ptr + start, p, n);
  Outbox.recordsLen = start + n;
  return <u32>start;
}

/** Adds an event record. */
export function event(kind: u32, a: u32, b: u32, c: u32 = 0, d: u32 = 0, e: u32 = 0): void {
  let i = Outbox.nEvents;
  let at = Outbox.events.reserve((<usize>i + 1) * 24, <usize>i * 24) + <usize>i * 24;
  store<u32>(at, kind);
  store<u32>(at, a, 4);
  store<u32>(at, b, 8);
  store<u32>(at, c, 12);
  store<u32>(at, d, 16);
  store<u32>(at, e, 20);
  Outbox.nEvents = i + 1;
}

// The MiniRouter: the full router semantics of clasp-wire.md §6 in wasm, with upstream's bugs
// fixed (docs/router.md lists every deliberate difference). One call = one step: a frame in
// (or a tick), then an outbox of frames, deliveries and events for the host.
//
// The router decodes with the codec (frame.ts) into a tape and reads it with the tape reader
// (Tr); it writes replies as tapes that point at its own memory (arena 0, RAW stored values)
// and encodes them with the same encoder. No message layout is written twice.

import { Err, clearError, textPart, partLength, REASON_TEXT as REASON_LIST } from "../error";
import { Wr, writeAt, writtenBytes, writeBytes } from "../wire";
import { Tw, Tr, tapeReset, readTape, take, take64, arenaRef } from "../tape";
import { STRING, RAW, encodeTagged } from "../value";
import { decodeFrame, encodeFrame, MAX_PAYLOAD } from "../frame";
import { decodeValueAt } from "../codec";
import * as M from "../message";
import { Region, copyBytes } from "../../abi/buffer";
import { BytesMap, Keyed } from "../bytesmap";
import { Pattern, PatternError, PATTERN_ERRORS, compilePattern, splitAddress, matchSplit } from "../pattern";
import { Trie, Subscription } from "./subscriptions";
import { Holder, Param, State, writeRecord } from "./state";
import { Journal, Entry } from "./journal";
import { SubscribeOptions, laneOf, admit, sent, flushedAt, fanOutStart, waiting, taggedNumber, publishNumber, HOLD, DROP } from "./options";
import {
  Outbox, writeFrames, addFrame, deliver, event, keep, frameAt, frameLength,
  EV_CLOSE, EV_STATE, EV_FANOUT, EV_MESSAGE, EV_ERROR, EV_SESSION, EV_SESSION_END,
} from "./outbox";

// ---------------------------------------------------------------- configuration

/** RouterConfig (docs/router.md §Configuration); set by the host before the first step. */
export class Config {
  static name: ArrayBuffer = ascii("clawft");
  static maxSessions: u32 = 100;
  static maxSubscriptions: u32 = 1000;
  /** 0: unlimited. */
  static maxStateEntries: u32 = 0;
  static maxMessageSize: u32 = 65547;
  /** Seconds of idleness before a param expires; 0: never. */
  static stateTtl: u32 = 0;
  /** Seconds without traffic before a session is closed; 0: never. */
  static sessionTimeout: u32 = 0;
  static authenticated: bool = false;
}

/** An ASCII string's bytes (low bytes of its UTF-16 code units). */
function ascii(text: string): ArrayBuffer {
  let n = text.length;
  let b = new ArrayBuffer(n);
  for (let i = 0; i < n; i++) store<u8>(changetype<usize>(b) + <usize>i, <u8>text.charCodeAt(i));
  return b;
}

/** Read and write scopes of a token (null list: everything). */
export class Scope extends Keyed {
  read: Array<Pattern> | null = null;
  write: Array<Pattern> | null = null;
}

export const tokens = new BytesMap();

// ---------------------------------------------------------------- sessions

/** Features the router announces in WELCOME: param, event, stream, gesture, timeline. */
const ROUTER_FEATURES: u32 = 0xf8;

export class Session extends Holder {
  conn: u32 = 0;
  active: bool = false;
  read: Array<Pattern> | null = null;
  write: Array<Pattern> | null = null;
  /** Subscriptions sorted by id (binary search; a session has at most `maxSubscriptions`). */
  subs: Array<Subscription> = new Array<Subscription>();
  /** µs of the last frame received or delivered. */
  lastActive: u64 = 0;
}

/** Connection slots, indexed by handle (0 unused). */
const conns = new Array<Session | null>();
const freeConns = new Array<u32>();
let sessionCount: i32 = 0;
const trie = new Trie();

// xorshift64* for session ids, seeded by the host.
let rng: u64 = 0x9e3779b97f4a7c15;
export function seed(lo: u32, hi: u32): void {
  rng = (<u64>hi << 32) | <u64>lo;
  if (rng == 0) rng = 0x9e3779b97f4a7c15;
}
function random(): u64 {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return rng * 0x2545f4914f6cdd1d;
}

/** A random UUID v4 (RFC 9562 §5.4) as text. */
function uuid(): ArrayBuffer {
  let a = random();
  let b = random();
  a = (a & ~(<u64>0xf000)) | 0x4000; // version 4: the 13th hex digit
  b = (b & 0x3fffffffffffffff) | 0x8000000000000000; // variant 10
  let out = new ArrayBuffer(36);
  let p = changetype<usize>(out);
  let k: usize = 0;
  for (let i = 0; i < 32; i++) {
    if (i == 8 || i == 12 || i == 16 || i == 20) store<u8>(p + k++, 0x2d);
    let nib = i < 16 ? <u32>((a >> (<u64>(60 - i * 4))) & 0xf) : <u32>((b >> (<u64>(124 - i * 4))) & 0xf);
    store<u8>(p + k++, <u8>(nib < 10 ? 0x30 + nib : 0x57 + nib));
  }
  return out;
}

/** Opens a connection slot; returns its handle, or 0 when `maxSessions` sessions exist. */
export function connect(now: u64): u32 {
  if (<u32>sessionCount >= Config.maxSessions) return 0;
  let s = new Session();
  s.lastActive = now;
  let handle: u32;
  if (freeConns.length) {
    handle = freeConns.pop();
    conns[handle] = s;
  } else {
    if (conns.length == 0) conns.push(null);
    handle = <u32>conns.length;
    conns.push(s);
  }
  s.conn = handle;
  return handle;
}

function sessionOf(conn: u32): Session | null {
  return conn > 0 && conn < <u32>conns.length ? unchecked(conns[conn]) : null;
}

/** Ends the session on `s` (subscriptions, locks), keeping the connection open. */
function endSession(s: Session): void {
  if (!s.active) return;
  let subs = s.subs;
  for (let i = 0; i < subs.length; i++) trie.remove(unchecked(subs[i]));
  subs.length = 0;
  let locks = s.locks;
  for (let i = 0; i < locks.length; i++) {
    let p = unchecked(locks[i]);
    if (p.holder === s) p.holder = null;
  }
  locks.length = 0;
  s.active = false;
  sessionCount--;
  event(EV_SESSION_END, s.conn, keep(changetype<usize>(s.id), <usize>s.id.byteLength), <u32>s.id.byteLength);
}

/** Closes connection `conn`: its session ends. Unknown handles are ignored. */
export function disconnect(conn: u32): void {
  let s = sessionOf(conn);
  if (!s) return;
  endSession(s);
  conns[conn] = null;
  freeConns.push(conn);
}

// ---------------------------------------------------------------- step context

/**
 * µs time by which the host should call `tick` because of this step (a gesture move now
 * waits to be flushed), or 0. Reset by the host wrapper before each step.
 */
export let dueAt: u64 = 0;

/** Clears `dueAt` before a step. */
export function clearDue(): void {
  dueAt = 0;
}

class Step {
  static now: u64 = 0;
  static frame: usize = 0;
  static frameLen: usize = 0;
  static qos: u32 = 0;
  /** Subscriber not to deliver to (a PUBLISH's sender). */
  static exclude: Session | null = null;
}

// ---------------------------------------------------------------- reading the input tape

/** The string last read by `takeString`: absolute pointer and length. */
let sp: usize = 0;
let sl: usize = 0;

function takeString(): void {
  take();
  let off = take();
  sl = <usize>take();
  sp = arenaRef(off, <u32>sl);
}

@inline function present(): bool {
  return take() == 1;
}

const valueBuf = new Region();
let vl: usize = 0;

/** Re-encodes the value node at the reader into `valueBuf` as tagged bytes; sets `vl`. */
function takeValue(): void {
  Wr.out = valueBuf;
  writeAt(0);
  encodeTagged(1);
  vl = writtenBytes();
}

/** Skips a value node at the reader without encoding it. */
function skipValue(): void {
  let w0 = take();
  let tag = w0 & 0xff;
  if (tag == 0 || tag == 1) return;
  if (tag <= 4 || tag == 6) take();
  else if (tag == 5 || tag == 7) take64();
  else if (tag == 8 || tag == 9) {
    take();
    take();
  } else {
    let n = take();
    for (let i: u32 = 0; i < n && Err.code == 0; i++) {
      if (tag == 11) {
        take();
        take();
        take();
      }
      skipValue();
    }
  }
}

// ---------------------------------------------------------------- writing replies

const outTape = new Region();
let ot: usize = 0;

function o(w: u32): void {
  outTape.reserve(ot + 4, ot);
  store<u32>(outTape.ptr + ot, w);
  ot += 4;
}
function o64(v: u64): void {
  o(<u32>v);
  o(<u32>(v >>> 32));
}
function oStr(p: usize, n: usize): void {
  o(STRING);
  o(<u32>p);
  o(<u32>n);
}
function oBuf(b: ArrayBuffer): void {
  oStr(changetype<usize>(b), <usize>b.byteLength);
}

/** Starts a reply message of `type` with frame QoS `qos`. */
function begin(type: u32, qos: u32): void {
  ot = 0;
  o(type | (qos << 8) | (1 << 12));
}

/**
 * Encodes the reply built since `begin` into the frames region; returns its frame index, or
 * -1 when it does not fit a frame (the caller splits snapshots so that never happens).
 */
function finish(): i32 {
  let pos = Tr.pos, end = Tr.end, arena = Tr.arena, arenaLen = Tr.arenaLen;
  let code = Err.code, reason = Err.reason, at = Err.at;
  clearError();
  readTape(outTape.ptr, ot, 0, <usize>memory.size() << 16);
  Tr.raw = true;
  writeFrames();
  let start = writtenBytes();
  encodeFrame();
  Tr.raw = false;
  let ok = Err.code == 0;
  let index: i32 = ok ? <i32>addFrame(start, writtenBytes(), (load<u32>(outTape.ptr) >> 8) & 3) : -1;
  Tr.pos = pos;
  Tr.end = end;
  Tr.arena = arena;
  Tr.arenaLen = arenaLen;
  Err.code = code;
  Err.reason = reason;
  Err.at = at;
  return index;
}

function send(conn: u32): void {
  let i = finish();
  if (i >= 0) deliver(conn, <u32>i);
}

/** Copies bytes [p, p + n) into the frames region as one frame; returns its index. */
function rawFrame(p: usize, n: usize, qos: u32): u32 {
  writeFrames();
  let start = writtenBytes();
  writeBytes(p, n);
  return addFrame(start, writtenBytes(), qos);
}

/** The router's ERROR texts, "|"-separated, indexed by the T_* constants (one string: small data). */
// prettier-ignore
const TEXTS = "forbidden|too many sessions|unknown token|a token is required|too many subscriptions|value too large for a snapshot|locked by |revision conflict: expected |, current |state is full|address not found|message too large|HELLO expected first|REPLAY needs a journal; this router keeps none (journal depth 0)|federation is not supported|internal error: ";
const T_FORBIDDEN: u32 = 0;
const T_TOO_MANY_SESSIONS: u32 = 1;
const T_UNKNOWN_TOKEN: u32 = 2;
const T_TOKEN_REQUIRED: u32 = 3;
const T_TOO_MANY_SUBSCRIPTIONS: u32 = 4;
const T_VALUE_TOO_LARGE: u32 = 5;
const T_LOCKED_BY: u32 = 6;
const T_REVISION_CONFLICT: u32 = 7;
const T_CURRENT: u32 = 8;
const T_STATE_FULL: u32 = 9;
const T_NOT_FOUND: u32 = 10;
const T_MESSAGE_TOO_LARGE: u32 = 11;
const T_HELLO_FIRST: u32 = 12;
const T_NO_JOURNAL: u32 = 13;
const T_NO_FEDERATION: u32 = 14;
const T_INTERNAL: u32 = 15;

// ERROR texts are built here as UTF-8 (ASCII parts plus bytes), without string conversions.
const msgBuf = new Region();
let ml: usize = 0;

/** Appends bytes [p, p + n) to the ERROR text. */
function msgBytes(p: usize, n: usize): void {
  msgBuf.reserve(ml + n, ml);
  memory.copy(msgBuf.ptr + ml, p, n);
  ml += n;
}

/** Appends ASCII UTF-16 text [p, p + 2·n) to the ERROR text. */
function msgAscii(p: usize, n: usize): void {
  msgBuf.reserve(ml + n, ml);
  for (let i: usize = 0; i < n; i++) store<u8>(msgBuf.ptr + ml + i, load<u8>(p + (i << 1)));
  ml += n;
}

/** Appends part `id` of the "|"-separated `list` to the ERROR text. */
function msgList(list: string, id: u32): void {
  let p = textPart(list, id);
  msgAscii(p, partLength);
}

/** Appends router text `id` (T_*) to the ERROR text. */
function msgPart(id: u32): void {
  msgList(TEXTS, id);
}

/** Appends a decimal number to the ERROR text. */
function msgNumber(v: u64): void {
  let digits = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  msgBuf.reserve(ml + <usize>digits, ml);
  for (let i = digits - 1; i >= 0; i--) {
    store<u8>(msgBuf.ptr + ml + <usize>i, <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
  }
  ml += <usize>digits;
}

/** Starts the ERROR text with router text `id` (T_*). */
function msg(id: u32): void {
  ml = 0;
  msgPart(id);
}

/** Sends ERROR `code` with the text built by msg…() (and `address` when given) to `conn`. */
function sendError(conn: u32, code: u32, ap: usize = 0, an: usize = 0): void {
  begin(M.ERROR, 0);
  o(code);
  oStr(msgBuf.ptr, ml);
  if (an > 0 || ap != 0) {
    o(1);
    oStr(ap, an);
  } else o(0);
  o(0);
  send(conn);
  event(EV_ERROR, conn, code);
}

/** Sends ERROR `code` with router text `id` (T_*). */
function refuse(conn: u32, code: u32, id: u32, ap: usize = 0, an: usize = 0): void {
  msg(id);
  sendError(conn, code, ap, an);
}

function sendAck(conn: u32, ap: usize, an: usize, hasRevision: bool, revision: u64): void {
  begin(M.ACK, 0);
  if (ap != 0) {
    o(1);
    oStr(ap, an);
  } else o(0);
  if (hasRevision) {
    o(1);
    o64(revision);
  } else o(0);
  o(0);
  o(0);
  o(0);
  send(conn);
}

// ---------------------------------------------------------------- scopes

function allows(scopes: Array<Pattern> | null): bool {
  if (scopes === null) return true;
  for (let i = 0; i < scopes.length; i++) if (matchSplit(unchecked(scopes[i]))) return true;
  return false;
}

/** Whether the address [p, p + n) is in `scopes` (a session's read or write scope). Splits it (Segments). */
function inScope(scopes: Array<Pattern> | null, p: usize, n: usize): bool {
  if (scopes === null) return true;
  splitAddress(p, n);
  return allows(scopes);
}

/** Trie filter: not the excluded sender, and readable by the subscriber (Segments = address). */
function accept(sub: Subscription): bool {
  let s = changetype<Session>(sub.owner);
  if (s === Step.exclude) return false;
  return allows(s.read);
}

const TYPE_PARAM: u32 = 0x01;

/**
 * Delivers frame `frame` (numeric value `x`, NaN when none) to the subscribers of the address
 * [p, p + n) for signal bit `typeBit`, through each subscription's delivery options, and
 * journals it.
 */
function fanOut(p: usize, n: usize, typeBit: u32, frame: u32, x: f64): void {
  Journal.record(p, n, <u32>ctz(typeBit), frameAt(frame), frameLength(frame), Step.now);
  splitAddress(p, n);
  let matched = trie.match(typeBit, accept);
  fanOutStart();
  let count: u32 = 0;
  for (let i = 0; i < matched.length; i++) {
    let sub = unchecked(matched[i]);
    let s = changetype<Session>(sub.owner);
    let opts = sub.options;
    let lane = opts !== null && opts.gates ? laneOf(opts, p, n, s.conn) : null;
    if (lane) {
      let verdict = admit(lane, x, frameAt(frame), frameLength(frame), Step.now);
      if (verdict == HOLD) {
        if (dueAt == 0 || lane.due < dueAt) dueAt = lane.due;
        continue;
      }
      if (verdict == DROP) continue;
      sent(lane, x, Step.now);
    }
    s.lastActive = Step.now;
    deliver(s.conn, frame);
    count++;
  }
  event(EV_FANOUT, keep(p, n), <u32>n, count);
}

/** Sends held changes that are due (SUBSCRIBE maxRate/window); returns the next due time or 0. */
function flushLanes(now: u64): u64 {
  let next: u64 = 0;
  let k = 0;
  // Lanes held by one fan-out share its frame: write it into the outbox once for all of them.
  let last: ArrayBuffer | null = null;
  let lastFrame: u32 = 0;
  for (let i = 0; i < waiting.length; i++) {
    let lane = unchecked(waiting[i]);
    let pending = lane.pending;
    if (pending === null || !lane.options.live) continue; // dropped, or its subscription went
    if (lane.due <= now) {
      lane.pending = null;
      sent(lane, lane.pendingNumber, flushedAt(lane, now));
      let s = sessionOf(lane.conn);
      if (s) s.lastActive = now;
      if (pending !== last) {
        last = pending;
        lastFrame = rawFrame(changetype<usize>(pending), <usize>pending.byteLength, (<u32>load<u8>(changetype<usize>(pending) + 1) >> 6) & 3);
      }
      deliver(lane.conn, lastFrame);
      continue;
    }
    unchecked((waiting[k++] = lane));
    if (next == 0 || lane.due < next) next = lane.due;
  }
  waiting.length = k;
  return next;
}

// ---------------------------------------------------------------- snapshots

/** Budget of a SNAPSHOT payload: 65,535 minus its type byte and count. */
const SNAPSHOT_BUDGET: usize = MAX_PAYLOAD - 3;
/** Longest address + value a param may have so that its snapshot entry always fits a frame. */
const MAX_PARAM_BYTES: usize = SNAPSHOT_BUDGET - 80;

let chunkCount: u32 = 0;
let chunkBytes: usize = 0;
let chunkCountAt: usize = 0;

function chunkBegin(): void {
  begin(M.SNAPSHOT, 0);
  chunkCountAt = ot;
  o(0);
  chunkCount = 0;
  chunkBytes = 0;
}

function chunkSend(conn: u32): void {
  store<u32>(outTape.ptr + chunkCountAt, chunkCount);
  send(conn);
}

/** Adds `p` to the snapshot being built for `conn`, starting a new chunk when it would not fit. */
function chunkAdd(conn: u32, p: Param, full: bool): void {
  let size: usize = <usize>(2 + p.address.byteLength + p.value.byteLength + 9 + (full ? 12 + p.writer.byteLength : 0));
  if (chunkCount > 0 && (chunkBytes + size > SNAPSHOT_BUDGET || chunkCount == 0xffff)) {
    chunkSend(conn);
    chunkBegin();
  }
  oBuf(p.address);
  o(RAW);
  o(<u32>changetype<usize>(p.value));
  o(<u32>p.value.byteLength);
  o64(p.revision);
  if (full) {
    o(1);
    oBuf(p.writer);
    o(1);
    o64(p.timestamp);
  } else {
    o(0);
    o(0);
  }
  chunkCount++;
  chunkBytes += size;
}

/**
 * Sends `conn` a SNAPSHOT (chunked under the frame limit) of the params `s` may read that
 * `pattern` matches (all when null). With `always`, an empty SNAPSHOT is sent when none match.
 */
function sendSnapshot(conn: u32, s: Session, pattern: Pattern | null, always: bool): void {
  chunkBegin();
  let params = State.params;
  for (let i = 0; i < params.capacity; i++) {
    let p = State.at(i);
    if (!p) continue;
    splitAddress(changetype<usize>(p.address), <usize>p.address.byteLength);
    if (pattern !== null && !matchSplit(pattern)) continue;
    if (!allows(s.read)) continue;
    chunkAdd(conn, p, false);
  }
  if (chunkCount > 0 || always) chunkSend(conn);
}

// ---------------------------------------------------------------- handlers

function handleHello(s: Session): void {
  take(); // version: not checked (as upstream)
  take(); // client features
  takeString(); // name
  takeString(); // token
  if (s.active) endSession(s); // a second HELLO starts a new session on the same connection
  let scope = sl > 0 ? changetype<Scope | null>(tokens.get(sp, sl)) : null;
  if (Config.authenticated && scope === null) {
    refuse(s.conn, 300, sl > 0 ? T_UNKNOWN_TOKEN : T_TOKEN_REQUIRED);
    event(EV_CLOSE, s.conn, 300);
    return;
  }
  if (<u32>sessionCount >= Config.maxSessions) {
    refuse(s.conn, 501, T_TOO_MANY_SESSIONS);
    event(EV_CLOSE, s.conn, 501);
    return;
  }
  s.read = Config.authenticated ? scope!.read : null;
  s.write = Config.authenticated ? scope!.write : null;
  s.id = uuid();
  s.active = true;
  sessionCount++;
  event(EV_SESSION, s.conn, keep(changetype<usize>(s.id), <usize>s.id.byteLength), <u32>s.id.byteLength);
  begin(M.WELCOME, 0);
  o(1);
  o(ROUTER_FEATURES);
  o64(Step.now);
  oBuf(s.id);
  oBuf(Config.name);
  oStr(0, 0); // token: the field is always there, empty (the embedded MiniRouter forgets it)
  send(s.conn);
  sendSnapshot(s.conn, s, null, true);
}

/** Signal type bits clasp-wire.md §4.1 defines (param 0x01 … timeline 0x10). */
const KNOWN_TYPES: u32 = 0x1f;

/**
 * The type mask a SUBSCRIBE or REPLAY applies: one with no known bit (0, or unknown bits
 * alone such as 0x20) means all types, as upstream's decoders read it (an empty set: no filter).
 */
function typeMask(mask: u32): u32 {
  return (mask & KNOWN_TYPES) == 0 ? 0xff : mask;
}

function handleSubscribe(s: Session): void {
  let id = take();
  takeString();
  let mask = typeMask(take());
  let opts = takeOptions();
  let pattern = compilePattern(sp, sl);
  if (pattern === null) {
    ml = 0;
    msgList(PATTERN_ERRORS, PatternError.reason);
    sendError(s.conn, 202, sp, sl);
    return;
  }
  let index = findSubscription(s, id);
  if (index < 0 && <u32>s.subs.length >= Config.maxSubscriptions) {
    refuse(s.conn, 429, T_TOO_MANY_SUBSCRIPTIONS, sp, sl);
    return;
  }
  if (pattern.literal && !inScope(s.read, sp, sl)) {
    refuse(s.conn, 301, T_FORBIDDEN, sp, sl);
    return;
  }
  let sub = new Subscription(s, id, pattern, mask);
  sub.options = opts;
  let subs = s.subs;
  if (index >= 0) {
    trie.remove(unchecked(subs[index])); // reusing an id replaces the subscription (no ghost)
    unchecked((subs[index] = sub));
  } else {
    // Insert at ~index (the insertion point), keeping ids sorted.
    let at = ~index;
    subs.push(sub);
    for (let i = subs.length - 1; i > at; i--) unchecked((subs[i] = subs[i - 1]));
    unchecked((subs[at] = sub));
  }
  trie.add(sub);
  if (mask & TYPE_PARAM) sendSnapshot(s.conn, s, pattern, false);
  if (opts !== null && opts.history > 0) sendJournal(s, pattern, mask, 0, U64.MAX_VALUE, U32.MAX_VALUE, opts.history);
}

/**
 * Reads a SUBSCRIBE's options (maxRate Hz, epsilon, history frames, window ms) from the input
 * tape; null when none is given or none has an effect (router/options.ts says how they apply).
 */
function takeOptions(): SubscribeOptions | null {
  let maxRate: u32 = present() ? take() : 0;
  let epsilon: f64 = present() ? reinterpret<f64>(take64()) : 0;
  let history: u32 = present() ? take() : 0;
  let window: u32 = present() ? take() : 0;
  let opts = new SubscribeOptions();
  if (maxRate > 0) opts.interval = (1_000_000 + <u64>maxRate - 1) / <u64>maxRate;
  let w = <u64>window * 1000;
  if (w > 0 && w >= opts.interval) {
    opts.interval = w;
    opts.trailing = true;
  }
  if (epsilon > 0 && isFinite(epsilon)) {
    opts.hasEpsilon = true;
    opts.epsilon = epsilon;
  }
  opts.history = history;
  return opts.gates || history > 0 ? opts : null;
}

/**
 * Sends `s` the journaled frames (oldest first, in the order they were fanned out) of the
 * addresses `pattern` matches that `s` may read, of the signal types in `mask`, fanned out
 * within [from, to] µs: at most `perAddress` per address (the latest), `limit` in all.
 */
function sendJournal(s: Session, pattern: Pattern, mask: u32, from: u64, to: u64, limit: u32, perAddress: u32): void {
  let picked = new Array<Entry>();
  let tracks = Journal.tracks;
  for (let i = 0; i < tracks.capacity; i++) {
    let t = Journal.trackAt(i);
    if (!t) continue;
    splitAddress(changetype<usize>(t.address), <usize>t.address.byteLength);
    if (!matchSplit(pattern) || !allows(s.read)) continue;
    let n = t.length;
    let first = <u32>n > perAddress ? n - <i32>perAddress : 0;
    for (let k = first; k < n; k++) {
      let e = t.at(k);
      if (e.time < from || e.time > to || ((<u32>1 << e.signal) & mask) == 0) continue;
      picked.push(e);
    }
  }
  picked.sort((a: Entry, b: Entry): i32 => (a.seq < b.seq ? -1 : 1));
  let count = <u32>picked.length < limit ? <u32>picked.length : limit;
  for (let i: u32 = 0; i < count; i++) {
    let f = unchecked(picked[i]).frame;
    let p = changetype<usize>(f);
    deliver(s.conn, rawFrame(p, <usize>f.byteLength, (<u32>load<u8>(p + 1) >> 6) & 3));
  }
}

/**
 * REPLAY (clasp-wire.md §4.1): the journaled SET and PUBLISH frames matching the pattern and
 * type mask, fanned out within [from, to] µs, oldest first, at most `limit`. No journal
 * (depth 0) → ERROR 501; a literal pattern outside read scope → ERROR 301.
 */
function handleReplay(s: Session): void {
  takeString();
  let pattern = compilePattern(sp, sl);
  let pp = sp, pn = sl;
  let from: u64 = present() ? take64() : 0;
  let to: u64 = present() ? take64() : U64.MAX_VALUE;
  let limit: u32 = present() ? take() : U32.MAX_VALUE;
  let mask = typeMask(take());
  if (pattern === null) {
    ml = 0;
    msgList(PATTERN_ERRORS, PatternError.reason);
    sendError(s.conn, 202, pp, pn);
    return;
  }
  if (Journal.depth == 0) {
    refuse(s.conn, 501, T_NO_JOURNAL, pp, pn);
    return;
  }
  if (pattern.literal && !inScope(s.read, pp, pn)) {
    refuse(s.conn, 301, T_FORBIDDEN, pp, pn);
    return;
  }
  sendJournal(s, pattern, mask, from, to, limit, U32.MAX_VALUE);
}

/** Index of subscription `id` in `s.subs`, or ~(where it would go). */
function findSubscription(s: Session, id: u32): i32 {
  let subs = s.subs;
  let lo = 0;
  let hi = subs.length - 1;
  while (lo <= hi) {
    let mid = (lo + hi) >>> 1;
    let x = unchecked(subs[mid]).id;
    if (x == id) return mid;
    if (x < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return ~lo;
}

function handleUnsubscribe(s: Session): void {
  let index = findSubscription(s, take());
  if (index < 0) return;
  let subs = s.subs;
  trie.remove(unchecked(subs[index]));
  for (let i = index; i < subs.length - 1; i++) unchecked((subs[i] = subs[i + 1]));
  subs.pop();
}

/** A parsed SET, kept while a BUNDLE is validated. */
class SetOp {
  address: ArrayBuffer;
  value: ArrayBuffer;
  hasRevision: bool = false;
  revision: u64 = 0;
  lock: bool = false;
  unlock: bool = false;
  hasTtl: bool = false;
  ttl: u32 = 0;
  constructor(ap: usize, an: usize, vp: usize, vn: usize) {
    this.address = copyBytes(ap, an);
    this.value = copyBytes(vp, vn);
  }
}

/** Reads a SET's fields from the input tape. */
function takeSet(): SetOp {
  takeString();
  let ap = sp, an = sl;
  takeValue();
  let op = new SetOp(ap, an, valueBuf.ptr, vl);
  if (present()) {
    op.hasRevision = true;
    op.revision = take64();
  }
  op.lock = take() != 0;
  op.unlock = take() != 0;
  if (present()) {
    op.hasTtl = true;
    op.ttl = take();
  }
  return op;
}

/** What a param looks like to a BUNDLE being validated, after its earlier SETs. */
class Simulated extends Keyed {
  exists: bool = false;
  revision: u64 = 0;
  holder: Holder | null = null;
}

/** Why `op` from `s` would fail against `sim`: a CLASP code (0 ok), its text built by msg…(). */
function check(s: Session, op: SetOp, sim: Simulated, newParams: u32): u32 {
  let ap = changetype<usize>(op.address), an = <usize>op.address.byteLength;
  if (!inScope(s.write, ap, an)) {
    msg(T_FORBIDDEN);
    return 301;
  }
  if (an + <usize>op.value.byteLength > MAX_PARAM_BYTES) {
    msg(T_VALUE_TOO_LARGE);
    return 402;
  }
  if (sim.exists) {
    if (sim.holder !== null && sim.holder !== s) {
      msg(T_LOCKED_BY);
      msgBytes(changetype<usize>(sim.holder!.id), <usize>sim.holder!.id.byteLength);
      return 401;
    }
    if (op.hasRevision && op.revision != sim.revision) {
      msg(T_REVISION_CONFLICT);
      msgNumber(op.revision);
      msgPart(T_CURRENT);
      msgNumber(sim.revision);
      return 400;
    }
  } else if (Config.maxStateEntries != 0 && <u32>State.params.size + newParams >= Config.maxStateEntries) {
    msg(T_STATE_FULL);
    return 501;
  }
  return 0;
}

function simulate(p: Param | null): Simulated {
  let sim = new Simulated();
  if (p) {
    sim.exists = true;
    sim.revision = p.revision;
    sim.holder = p.holder;
  }
  return sim;
}

/** The effect of applying `op` from `s` on `sim`. */
function advance(s: Session, op: SetOp, sim: Simulated): void {
  sim.revision = sim.exists ? sim.revision + 1 : 1;
  sim.exists = true;
  if (op.unlock && sim.holder === s) sim.holder = null;
  if (op.lock) sim.holder = s;
}

/** Releases `s`'s lock on `p`. */
function release(s: Holder, p: Param): void {
  p.holder = null;
  let locks = s.locks;
  for (let i = 0; i < locks.length; i++) {
    if (unchecked(locks[i]) === p) {
      unchecked((locks[i] = locks[locks.length - 1]));
      locks.pop();
      return;
    }
  }
}

/** Applies a checked `op`; returns the param. Emits its persistence record. */
function apply(s: Holder, op: SetOp): Param {
  let ap = changetype<usize>(op.address), an = <usize>op.address.byteLength;
  let p = State.get(ap, an);
  if (!p) {
    p = new Param(op.address);
    State.params.set(ap, an, p);
  }
  p.revision += 1;
  p.value = op.value;
  p.writer = s.id;
  p.timestamp = Step.now;
  if (op.unlock && p.holder === s) release(s, p);
  if (op.lock && p.holder !== s) {
    p.holder = s;
    s.locks.push(p);
  }
  if (op.hasTtl) {
    p.hasTtl = true;
    p.ttl = op.ttl;
  }
  p.refresh(Step.now, Config.stateTtl);
  persist(p);
  return p;
}

/** Emits EV_STATE with the param's record (or a deletion when `deleted`). */
function persist(p: Param, deleted: bool = false): void {
  let address = keep(changetype<usize>(p.address), <usize>p.address.byteLength);
  let start = Outbox.recordsLen;
  if (!deleted) {
    Wr.out = Outbox.records;
    writeAt(start);
    writeRecord(p);
    Outbox.recordsLen = writtenBytes();
  }
  event(EV_STATE, address, <u32>p.address.byteLength, <u32>start, <u32>(Outbox.recordsLen - start));
}

/** Broadcasts the SET carrying `p`'s new revision to its subscribers, sender included. */
function broadcastSet(p: Param): void {
  begin(M.SET, 1);
  oBuf(p.address);
  o(RAW);
  o(<u32>changetype<usize>(p.value));
  o(<u32>p.value.byteLength);
  o(1);
  o64(p.revision);
  o(0);
  o(0);
  o(0);
  let frame = finish();
  Step.exclude = null;
  if (frame >= 0) {
    let x = taggedNumber(changetype<usize>(p.value), <usize>p.value.byteLength);
    fanOut(changetype<usize>(p.address), <usize>p.address.byteLength, TYPE_PARAM, <u32>frame, x);
  }
}

function handleSet(s: Session): void {
  let op = takeSet();
  let p = State.get(changetype<usize>(op.address), <usize>op.address.byteLength);
  let code = check(s, op, simulate(p), 0);
  if (code != 0) {
    sendError(s.conn, code, changetype<usize>(op.address), <usize>op.address.byteLength);
    return;
  }
  let applied = apply(s, op);
  broadcastSet(applied);
  if (Step.qos >= 1) sendAck(s.conn, changetype<usize>(applied.address), <usize>applied.address.byteLength, true, applied.revision);
}

function handleGet(s: Session): void {
  takeString();
  if (!inScope(s.read, sp, sl)) {
    refuse(s.conn, 301, T_FORBIDDEN, sp, sl);
    return;
  }
  let p = State.get(sp, sl);
  if (!p) {
    refuse(s.conn, 201, T_NOT_FOUND, sp, sl);
    return;
  }
  chunkBegin();
  chunkAdd(s.conn, p, true);
  chunkSend(s.conn);
}

// ---- gestures: moves coalesced per (address, gesture id), flushed every 16 ms (clasp-wire.md §6)

const GESTURE_WINDOW: u64 = 16_000;

class Gesture extends Keyed {
  pending: ArrayBuffer | null = null;
  sender: Session | null = null;
  due: u64 = 0;
  constructor(public address: ArrayBuffer) {
    super();
  }
}

const gestures = new BytesMap();
const gestureKey = new Region();
let gestureKeyLen: usize = 0;

function keyOf(ap: usize, an: usize, id: u32): void {
  gestureKey.reserve(an + 4);
  memory.copy(gestureKey.ptr, ap, an);
  store<u32>(gestureKey.ptr + an, id);
  gestureKeyLen = an + 4;
}

/** Forwards a PUBLISH frame's bytes to the subscribers of its address, `sender` excluded. */
function forward(ap: usize, an: usize, signal: u32, fp: usize, fn: usize, sender: Session | null): void {
  let frame = rawFrame(fp, fn, (<u32>load<u8>(fp + 1) >> 6) & 3);
  Step.exclude = sender;
  fanOut(ap, an, <u32>1 << signal, frame, publishNumber(fp, fn));
  Step.exclude = null;
}

function flushGesture(g: Gesture): void {
  let pending = g.pending;
  if (pending === null) return;
  g.pending = null;
  forward(changetype<usize>(g.address), <usize>g.address.byteLength, M.SIGNAL_GESTURE, changetype<usize>(pending), <usize>pending.byteLength, g.sender);
}

function handlePublish(s: Session): void {
  let signal = take() & 7;
  let phase = take();
  takeString();
  let ap = sp, an = sl;
  if (!inScope(s.write, ap, an)) {
    refuse(s.conn, 301, T_FORBIDDEN, ap, an);
    return;
  }
  if (signal > M.SIGNAL_TIMELINE) signal = M.SIGNAL_EVENT; // unknown signal: an event
  let kind = take();
  if (kind == 1) skipValue();
  else if (kind == 2) {
    let n = take();
    for (let i: u32 = 0; i < n; i++) take64();
  }
  if (present()) take64();
  let hasId = present();
  let id: u32 = hasId ? take() : 0;
  if (signal == M.SIGNAL_GESTURE && hasId) {
    keyOf(ap, an, id);
    let g = changetype<Gesture | null>(gestures.get(gestureKey.ptr, gestureKeyLen));
    if (phase == 0) {
      if (!g) {
        g = new Gesture(copyBytes(ap, an));
        gestures.set(gestureKey.ptr, gestureKeyLen, g);
      }
    } else if (phase == 1 && g) {
      if (g.pending === null) {
        g.due = Step.now + GESTURE_WINDOW;
        if (dueAt == 0 || g.due < dueAt) dueAt = g.due;
      }
      g.pending = copyBytes(Step.frame, Step.frameLen);
      g.sender = s;
      return;
    } else if (g) {
      flushGesture(g);
      gestures.delete(gestureKey.ptr, gestureKeyLen);
    }
  }
  forward(ap, an, signal, Step.frame, Step.frameLen, s);
}

function handleBundle(s: Session): void {
  if (present()) take64(); // timestamp: scheduling is the host's (docs/router.md)
  let n = take();
  let ops = new Array<SetOp>();
  let publishes = new Array<ArrayBuffer>(); // re-encoded inner PUBLISH frames
  let pubAddr = new Array<ArrayBuffer>();
  let pubSignal = new Array<u32>();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    let type = take();
    let at = Tr.pos;
    if (type == M.SET) {
      ops.push(takeSet());
    } else if (type == M.PUBLISH) {
      let signal = take() & 7;
      take();
      takeString();
      let addr = copyString();
      // Re-encode the inner PUBLISH as a frame of its own, from its tape: its type word
      // becomes a frame word (version 1, default QoS) for the encoder, then is put back.
      Tr.pos = at - 4;
      let saved = load<u32>(Tr.pos);
      store<u32>(Tr.pos, M.PUBLISH | (1 << 12) | (1 << 16));
      Wr.out = valueBuf;
      writeAt(0);
      encodeFrame();
      store<u32>(at - 4, saved);
      publishes.push(copyBytes(valueBuf.ptr, writtenBytes()));
      pubAddr.push(addr);
      pubSignal.push(signal > M.SIGNAL_TIMELINE ? M.SIGNAL_EVENT : signal);
      if (!inScope(s.write, changetype<usize>(addr), <usize>addr.byteLength)) {
        refuse(s.conn, 301, T_FORBIDDEN, changetype<usize>(addr), <usize>addr.byteLength);
        return;
      }
    } else {
      skipMessage(type);
    }
  }
  if (Err.code != 0) return;
  // Phase 1: every SET must succeed against the state as the earlier ones leave it.
  let sims = new BytesMap();
  let newParams: u32 = 0;
  for (let i = 0; i < ops.length; i++) {
    let op = unchecked(ops[i]);
    let ap = changetype<usize>(op.address), an = <usize>op.address.byteLength;
    let sim = changetype<Simulated | null>(sims.get(ap, an));
    if (!sim) {
      sim = simulate(State.get(ap, an));
      sims.set(ap, an, sim);
    }
    let code = check(s, op, sim, newParams);
    if (code != 0) {
      sendError(s.conn, code, ap, an);
      return;
    }
    if (!sim.exists) newParams++;
    advance(s, op, sim);
  }
  // Phase 2: apply each SET and broadcast its revision (nothing can fail any more).
  let last: u64 = 0;
  for (let i = 0; i < ops.length; i++) {
    let p = apply(s, unchecked(ops[i]));
    broadcastSet(p);
    last = p.revision;
  }
  for (let i = 0; i < publishes.length; i++) {
    let a = unchecked(pubAddr[i]);
    let f = unchecked(publishes[i]);
    forward(changetype<usize>(a), <usize>a.byteLength, unchecked(pubSignal[i]), changetype<usize>(f), <usize>f.byteLength, s);
  }
  if (Step.qos >= 1) sendAck(s.conn, 0, 0, ops.length > 0, last);
}

/** Skips the fields of an inner message the router ignores in a BUNDLE. */
function skipMessage(type: u32): void {
  // Re-encoding into scratch consumes exactly the message's fields.
  Wr.out = valueBuf;
  writeAt(0);
  M.encodeBody(type, 1);
}

function handleSync(s: Session): void {
  let t1 = take64();
  begin(M.SYNC, 0);
  o64(t1);
  o(1);
  o64(Step.now);
  o(1);
  o64(Step.now);
  send(s.conn);
}

// ---- ANNOUNCE / QUERY: signal introspection

const ANNOUNCE_LIFETIME: u64 = 3_600_000_000;

class Signal extends Keyed {
  type: u32 = 0;
  datatype: ArrayBuffer | null = null;
  access: ArrayBuffer | null = null;
  expires: u64 = 0;
  constructor(public address: ArrayBuffer) {
    super();
  }
}

const signals = new BytesMap();

/** A copy of the string last read by `takeString`. */
function copyString(): ArrayBuffer {
  return copyBytes(sp, sl);
}

function handleAnnounce(s: Session): void {
  takeString();
  let namespace = copyString();
  let n = take();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    takeString();
    let sig = new Signal(copyString());
    sig.type = take();
    if (present()) {
      takeString();
      sig.datatype = copyString();
    }
    if (present()) {
      takeString();
      sig.access = copyString();
    }
    if (present()) {
      if (present()) takeString();
      if (present()) {
        take64();
        take64();
      }
      if (present()) skipValue();
      if (present()) takeString();
    }
    sig.expires = Step.now + ANNOUNCE_LIFETIME;
    if (inScope(s.write, changetype<usize>(sig.address), <usize>sig.address.byteLength)) {
      signals.set(changetype<usize>(sig.address), <usize>sig.address.byteLength, sig);
    }
  }
  sendAck(s.conn, changetype<usize>(namespace), <usize>namespace.byteLength, false, 0);
}

function handleQuery(s: Session): void {
  takeString();
  let pattern = compilePattern(sp, sl);
  if (pattern === null) {
    ml = 0;
    msgList(PATTERN_ERRORS, PatternError.reason);
    sendError(s.conn, 202, sp, sl);
    return;
  }
  // Split like SNAPSHOT: a RESULT is sent whenever the next signal would not fit the frame.
  begin(M.RESULT, 0);
  let countAt = ot;
  o(0);
  let count: u32 = 0;
  let bytes: usize = 3;
  for (let i = 0; i < signals.capacity; i++) {
    let sig = changetype<Signal | null>(signals.valueAt(i));
    if (!sig || sig.expires <= Step.now) continue;
    splitAddress(changetype<usize>(sig.address), <usize>sig.address.byteLength);
    if (!matchSplit(pattern) || !allows(s.read)) continue;
    let size: usize = <usize>(4 + sig.address.byteLength + (sig.datatype ? 2 + sig.datatype!.byteLength : 0) + (sig.access ? 2 + sig.access!.byteLength : 0));
    if (count > 0 && (bytes + size > SNAPSHOT_BUDGET || count == 0xffff)) {
      store<u32>(outTape.ptr + countAt, count);
      send(s.conn);
      begin(M.RESULT, 0);
      o(0);
      count = 0;
      bytes = 3;
    }
    bytes += size;
    oBuf(sig.address);
    o(sig.type);
    if (sig.datatype) {
      o(1);
      oBuf(sig.datatype!);
    } else o(0);
    if (sig.access) {
      o(1);
      oBuf(sig.access!);
    } else o(0);
    count++;
  }
  store<u32>(outTape.ptr + countAt, count);
  send(s.conn);
}

// ---------------------------------------------------------------- the step

/**
 * Handles the frame [p, p + len) received on connection `conn` at `now` (µs since the epoch).
 * Returns false when `conn` is unknown.
 */
export function receive(conn: u32, p: usize, len: usize, now: u64): bool {
  let s = sessionOf(conn);
  if (!s) return false;
  Step.now = now;
  s.lastActive = now;
  if (len > <usize>Config.maxMessageSize) {
    event(EV_MESSAGE, conn, 0, <u32>len);
    refuse(conn, 100, T_MESSAGE_TOO_LARGE);
    return true;
  }
  tapeReset();
  let size = decodeFrame(p, p + len, p);
  let w0 = load<u32>(Tw.out.ptr);
  let type = w0 & 0xff;
  event(EV_MESSAGE, conn, type, <u32>len);
  if (type == 0) {
    ml = 0;
    msgList(REASON_LIST, load<u32>(Tw.out.ptr, 12));
    sendError(conn, load<u32>(Tw.out.ptr, 4));
    return true;
  }
  Step.frame = p;
  Step.frameLen = size;
  Step.qos = (w0 >> 8) & 3;
  readTape(Tw.out.ptr, Tw.len, p, len);
  take();
  if (w0 & (1 << 15)) take64();
  clearError();
  if (type == M.HELLO) {
    handleHello(s);
  } else if (!s.active) {
    refuse(conn, 300, T_HELLO_FIRST);
  } else {
    switch (type) {
      case M.SUBSCRIBE: handleSubscribe(s); break;
      case M.UNSUBSCRIBE: handleUnsubscribe(s); break;
      case M.SET: handleSet(s); break;
      case M.PUBLISH: handlePublish(s); break;
      case M.GET: handleGet(s); break;
      case M.BUNDLE: handleBundle(s); break;
      case M.PING: {
        begin(M.PONG, 0);
        send(conn);
        break;
      }
      case M.SYNC: handleSync(s); break;
      case M.ANNOUNCE: handleAnnounce(s); break;
      case M.QUERY: handleQuery(s); break;
      case M.REPLAY: handleReplay(s); break;
      case M.FEDERATION_SYNC: refuse(conn, 501, T_NO_FEDERATION); break;
      default: break; // PONG, ACK, ERROR, SNAPSHOT, … from a client: nothing to do
    }
  }
  if (Err.code != 0) {
    // Only a router bug reaches here: the frame decoded, so its tape is well formed.
    msg(T_INTERNAL);
    msgList(REASON_LIST, Err.reason);
    sendError(conn, 500);
    clearError();
  }
  return true;
}

/** Sweeps done by `tick`, at most once a second. */
let nextSweep: u64 = 0;

/**
 * Advances time to `now`: sends held changes of rate-limited subscriptions and coalesced
 * gesture moves that are due, expires params and
 * announcements whose TTL passed, and closes sessions idle past `sessionTimeout`.
 * Returns the µs time of the next thing due (0: nothing); `dueAt` is the earliest held change
 * or gesture move still waiting (0: none), without the once-a-second sweep.
 */
export function tick(now: u64): u64 {
  Step.now = now;
  let next = flushLanes(now);
  for (let i = 0; i < gestures.capacity; i++) {
    let g = changetype<Gesture | null>(gestures.valueAt(i));
    if (!g || g.pending === null) continue;
    if (g.due <= now) flushGesture(g);
    else if (next == 0 || g.due < next) next = g.due;
  }
  // What is still held (not the sweep): a host that does not tick while idle waits for it.
  dueAt = next;
  if (now >= nextSweep) {
    nextSweep = now + 1_000_000;
    let params = State.params;
    for (let i = 0; i < params.capacity; i++) {
      let p = State.at(i);
      if (!p || p.expires == 0 || p.expires > now) continue;
      if (p.holder) p.holder = null;
      persist(p, true);
      Journal.forget(changetype<usize>(p.address), <usize>p.address.byteLength);
      params.delete(changetype<usize>(p.address), <usize>p.address.byteLength);
    }
    for (let i = 0; i < signals.capacity; i++) {
      let sig = changetype<Signal | null>(signals.valueAt(i));
      if (sig && sig.expires <= now) signals.delete(changetype<usize>(sig.address), <usize>sig.address.byteLength);
    }
    if (Config.sessionTimeout) {
      let limit = <u64>Config.sessionTimeout * 1_000_000;
      for (let c = 1; c < conns.length; c++) {
        let s = unchecked(conns[c]);
        if (s && now - s.lastActive > limit) event(EV_CLOSE, s.conn, 0);
      }
    }
  }
  if (next == 0 || nextSweep < next) next = nextSweep;
  return next;
}

/**
 * Whether the session on `conn` may write the address [p, p + n): it said HELLO and the
 * address is in its write scope. A governance layer asks before it takes a SET over.
 */
export function writable(conn: u32, p: usize, n: usize): bool {
  let s = sessionOf(conn);
  return s !== null && s.active && inScope(s.write, p, n);
}

/** Writer id of the host's own writes (`hostSet`): the router's name. */
let hostHolder: Holder | null = null;

/**
 * Writes the tagged value [vp, vp + vn) at the address [ap, ap + an) on the host's behalf (a
 * governance layer publishing a committed change): no scope, lock or revision check; the
 * new revision is broadcast to every matching subscriber and persisted. Returns it, or 0
 * when the value is not one valid tagged CLASP value or too large.
 */
export function hostSet(ap: usize, an: usize, vp: usize, vn: usize, now: u64): u64 {
  if (an + vn > MAX_PARAM_BYTES || decodeValueAt(vp, vn) == 0) {
    clearError();
    return 0;
  }
  Step.now = now;
  if (hostHolder === null) {
    hostHolder = new Holder();
    hostHolder!.id = Config.name;
  }
  let op = new SetOp(ap, an, vp, vn);
  let p = apply(hostHolder!, op);
  broadcastSet(p);
  return p.revision;
}

/**
 * Gives the session on `conn` back the id [p, p + n) it had before its host rebuilt the router
 * (a Cloudflare room waking from hibernation replays each socket's HELLO, which draws a new
 * id): the id the client was told in WELCOME, and the writer its params carry. Reported as a
 * `session` event. Returns false when `conn` has no session.
 */
export function resumeSession(conn: u32, p: usize, n: usize): bool {
  let s = sessionOf(conn);
  if (s === null || !s.active || n == 0) return false;
  let id = new ArrayBuffer(<i32>n);
  memory.copy(changetype<usize>(id), p, n);
  s.id = id;
  event(EV_SESSION, s.conn, keep(p, n), <u32>n);
  return true;
}

/**
 * Gives the session on `conn` the lock of the param at address [p, p + n) again, after its
 * host rebuilt the router (locks are not persisted). Returns false when there is no such
 * session or param, or another writer holds the lock.
 */
export function relock(conn: u32, p: usize, n: usize): bool {
  let s = sessionOf(conn);
  let param = State.get(p, n);
  if (s === null || !s.active || param === null) return false;
  if (param.holder === s) return true;
  if (param.holder !== null) return false;
  param.holder = s;
  s.locks.push(param);
  return true;
}

/** The connection whose session holds the lock of the param at [p, p + n), or 0 (no lock, no param, or the host's own). */
export function lockHolder(p: usize, n: usize): u32 {
  let param = State.get(p, n);
  if (param === null || param.holder === null) return 0;
  let holder = param.holder!;
  return holder instanceof Session ? changetype<Session>(holder).conn : 0;
}

/** Restores a persisted param (host start-up). Returns false when `p` expired already. */
export function restore(p: Param, now: u64): bool {
  if (p.expires != 0 && p.expires <= now) return false;
  State.params.set(changetype<usize>(p.address), <usize>p.address.byteLength, p);
  return true;
}

/**
 * Applies a param whose revision was decided outside this router (a relay cluster's shared
 * store, docs/relay.md §Cluster): address [ap, ap + an), writer session id [wp, wp + wn),
 * tagged value [vp, vp + vn), written at `timestamp` µs with the SET's TTL word (`hasTtl`).
 * No scope, lock or revision check (the store made them). When the router holds the same or
 * a newer revision of a live param the commit is stale (it arrived late) and nothing
 * changes; else the param takes the commit's fields, is persisted and its SET broadcast.
 * Returns 1 applied, 2 stale, 0 when the value is not one valid tagged CLASP value, the
 * revision is 0 or the param would be too large.
 */
export function commitParam(ap: usize, an: usize, wp: usize, wn: usize, vp: usize, vn: usize, revision: u64, timestamp: u64, hasTtl: bool, ttl: u32, now: u64): u32 {
  if (revision == 0 || an + vn > MAX_PARAM_BYTES || decodeValueAt(vp, vn) == 0) {
    clearError();
    return 0;
  }
  Step.now = now;
  let p = State.get(ap, an);
  if (p && p.revision >= revision && (p.expires == 0 || p.expires > now)) return 2;
  if (!p) {
    p = new Param(copyBytes(ap, an));
    State.params.set(ap, an, p);
  }
  p.revision = revision;
  p.value = copyBytes(vp, vn);
  p.writer = copyBytes(wp, wn);
  p.timestamp = timestamp;
  p.hasTtl = hasTtl;
  p.ttl = ttl;
  p.refresh(timestamp, Config.stateTtl);
  persist(p);
  broadcastSet(p);
  return 1;
}

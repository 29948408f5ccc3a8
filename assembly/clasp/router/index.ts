// MiniRouter core (build/router.wasm): raw exports for the TypeScript face and WASI hosts.
//
// The host opens a connection per transport peer (`connect`), hands each frame it receives
// to `receive`, calls `tick` when the time `tick` returned comes, and after every call carries
// out the outbox described by the INFO block (little-endian u32 words):
//   [0] frames region   [1] frame table (start, end, qos)   [2] frames
//   [3] deliveries (connection, frame)                      [4] deliveries
//   [5] events (6 words each, router/outbox.ts)             [6] events
//   [7] records region (bytes events refer to)
//   [8..9] f64: µs time by which `tick` must run because of this step (gesture moves), or 0
// Times are µs since the Unix epoch, passed as f64 (exact below 2^53).

import { Region, copyBytes } from "../../abi/buffer";
import { Err, clearError } from "../error";
import { Tw, readTape, take, arenaRef } from "../tape";
import { decodeValueAt } from "../codec";
import { compilePattern, Pattern } from "../pattern";
import { Outbox, outboxReset } from "./outbox";
import { Param, State, readRecord } from "./state";
import { Journal } from "./journal";
import * as R from "./router";

const INFO: usize = memory.data(40, 8);
const IN = new Region();

function report(): void {
  store<u32>(INFO, <u32>Outbox.frames.ptr);
  store<u32>(INFO, <u32>Outbox.table.ptr, 4);
  store<u32>(INFO, Outbox.nFrames, 8);
  store<u32>(INFO, <u32>Outbox.deliveries.ptr, 12);
  store<u32>(INFO, Outbox.nDeliveries, 16);
  store<u32>(INFO, <u32>Outbox.events.ptr, 20);
  store<u32>(INFO, Outbox.nEvents, 24);
  store<u32>(INFO, <u32>Outbox.records.ptr, 28);
  store<f64>(INFO, <f64>R.dueAt, 32);
}

/** Address of the INFO block. */
export function info(): usize {
  return INFO;
}

/** Makes the input region at least `size` bytes; returns its address. */
export function input(size: usize): usize {
  return IN.reserve(size);
}

/**
 * Sets the RouterConfig limits (docs/router.md §Configuration). 0 for `maxStateEntries`,
 * `stateTtl` and `sessionTimeout` means unlimited / never.
 */
export function configure(
  maxSessions: u32,
  maxSubscriptions: u32,
  maxStateEntries: u32,
  maxMessageSize: u32,
  stateTtl: u32,
  sessionTimeout: u32,
  authenticated: bool,
): void {
  R.Config.maxSessions = maxSessions;
  R.Config.maxSubscriptions = maxSubscriptions;
  R.Config.maxStateEntries = maxStateEntries;
  R.Config.maxMessageSize = maxMessageSize;
  R.Config.stateTtl = stateTtl;
  R.Config.sessionTimeout = sessionTimeout;
  R.Config.authenticated = authenticated;
}

/**
 * Sizes the journal REPLAY and SUBSCRIBE `history` read (router/journal.ts): `depth` frames
 * per address (0: no journal, REPLAY gets ERROR 501), at most `maxAddresses` addresses.
 */
export function configureJournal(depth: u32, maxAddresses: u32): void {
  Journal.depth = depth;
  Journal.maxAddresses = maxAddresses;
}

/** Sets the router name sent in WELCOME: UTF-8 bytes in input[0, len). */
export function setName(len: usize): void {
  R.Config.name = copyBytes(IN.ptr, len);
}

/** Seeds the generator of session ids (UUID v4); give it 64 random bits. */
export function seed(lo: u32, hi: u32): void {
  R.seed(lo, hi);
}

/** Reads an optional list of patterns (null node: all addresses); false when malformed. */
function takePatterns(): Array<Pattern> | null {
  let w0 = take();
  if ((w0 & 0xff) == 0) return null;
  let list = new Array<Pattern>();
  if ((w0 & 0xff) != 0x0a) {
    Err.code = 1;
    return list;
  }
  let n = take();
  for (let i: u32 = 0; i < n && Err.code == 0; i++) {
    if ((take() & 0xff) != 0x08) {
      Err.code = 1;
      break;
    }
    let off = take();
    let len = take();
    let pat = compilePattern(arenaRef(off, len), len);
    if (pat === null) Err.code = 1;
    else list.push(pat);
  }
  return list;
}

/**
 * Adds a token: input[0, len) is the CLASP-encoded value [token, read, write], where read and
 * write are arrays of patterns or null (everything). Returns false when it is malformed or a
 * pattern does not compile.
 */
export function addToken(len: usize): bool {
  if (decodeValueAt(IN.ptr, len) == 0) return false;
  readTape(Tw.out.ptr, Tw.len, IN.ptr, len);
  clearError();
  if (take() != 0x0a || take() != 3 || (take() & 0xff) != 0x08) return false;
  let off = take();
  let tlen = take();
  let token = arenaRef(off, tlen);
  let scope = new R.Scope();
  scope.read = takePatterns();
  scope.write = takePatterns();
  if (Err.code != 0 || tlen == 0) {
    clearError();
    return false;
  }
  R.tokens.set(token, tlen, scope);
  return true;
}

/** Opens a connection; returns its handle, or 0 when the router is full (close it). */
export function connect(now: f64): u32 {
  outboxReset();
  R.clearDue();
  let c = R.connect(<u64>now);
  report();
  return c;
}

/** Closes connection `conn`: its session ends, its subscriptions and locks go. */
export function disconnect(conn: u32): void {
  outboxReset();
  R.clearDue();
  R.disconnect(conn);
  report();
}

/** Steps between garbage collections (besides the one in every tick). */
const COLLECT_EVERY: u32 = 2048;
let steps: u32 = 0;

/**
 * Handles the frame in input[0, len) received on `conn` at `now`. Returns false when `conn`
 * is not open. The outbox (INFO) holds what to send.
 */
export function receive(conn: u32, len: usize, now: f64): bool {
  if (++steps >= COLLECT_EVERY) {
    steps = 0;
    __collect(); // no managed reference is live here (see tick)
  }
  outboxReset();
  R.clearDue();
  let ok = R.receive(conn, IN.ptr, len, <u64>now);
  report();
  return ok;
}

/**
 * Advances time to `now`; returns when to call again (µs, 0: nothing due). Also collects
 * garbage: the minimal runtime collects only when asked, and here no reference is live.
 */
export function tick(now: f64): f64 {
  __collect();
  outboxReset();
  R.clearDue();
  let next = R.tick(<u64>now);
  report();
  return <f64>next;
}

/**
 * Restores a persisted param: input holds its address (addressLen bytes) then its record
 * (recordLen bytes, docs/router.md §Persistence). Returns false for a malformed or expired
 * record (nothing changes).
 */
export function restoreParam(addressLen: usize, recordLen: usize, now: f64): bool {
  let p: Param | null = readRecord(IN.ptr, addressLen, IN.ptr + addressLen, recordLen);
  clearError();
  if (p === null) return false;
  return R.restore(p, <u64>now);
}

/**
 * Gives the session on `conn` back the id in input[0, len) (a host that rebuilt its router);
 * the `session` event is in the outbox. False when `conn` has no session.
 */
export function resumeSession(conn: u32, len: usize): bool {
  outboxReset();
  R.clearDue();
  let ok = R.resumeSession(conn, IN.ptr, len);
  report();
  return ok;
}

/** Gives the session on `conn` the lock of the param at the address in input[0, len) again. */
export function relock(conn: u32, len: usize): bool {
  return R.relock(conn, IN.ptr, len);
}

/** The connection whose session holds the lock of the param at the address in input[0, len), or 0. */
export function lockHolder(len: usize): u32 {
  return R.lockHolder(IN.ptr, len);
}

/** Whether the session on `conn` may write the address in input[0, len) (HELLO done, in write scope). */
export function writable(conn: u32, len: usize): bool {
  return R.writable(conn, IN.ptr, len);
}

/**
 * Writes on the host's behalf (a governance layer): input holds the address (addressLen
 * bytes) then one tagged CLASP value (valueLen bytes). No scope, lock or revision check; the
 * SET with its new revision goes to every matching subscriber (outbox). Returns the revision,
 * 0 when the value is invalid or too large.
 */
export function hostSet(addressLen: usize, valueLen: usize, now: f64): f64 {
  outboxReset();
  R.clearDue();
  let revision = R.hostSet(IN.ptr, addressLen, IN.ptr + addressLen, valueLen, <u64>now);
  report();
  return <f64>revision;
}

/**
 * Applies a param committed elsewhere (a relay cluster's store decided its revision): input
 * holds the address (addressLen bytes), the writer's session id (writerLen), then one tagged
 * CLASP value (valueLen). `timestamp` is the write's µs time, `ttl` the SET's TTL word when
 * `hasTtl`. Returns 1 applied (the outbox holds the SET's deliveries), 2 stale (the router
 * holds that revision or a newer one; nothing changes), 0 invalid.
 */
export function commitParam(addressLen: usize, writerLen: usize, valueLen: usize, revision: f64, timestamp: f64, hasTtl: bool, ttl: u32, now: f64): u32 {
  outboxReset();
  R.clearDue();
  let w = IN.ptr + addressLen;
  let r = R.commitParam(IN.ptr, addressLen, w, writerLen, w + writerLen, valueLen, <u64>revision, <u64>timestamp, hasTtl, ttl, <u64>now);
  report();
  return r;
}

/** Number of params held. */
export function paramCount(): u32 {
  return <u32>State.params.size;
}

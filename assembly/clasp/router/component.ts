// MiniRouter as a WASI preview2 component: the `clawft:router/router` interface of
// wit/router.wit, lowered by hand (assembly/abi/canonical.ts) over the raw core ABI of
// ./index.ts, so each verb keeps one home: parameters are copied into the core's input region
// and the raw function runs; the outbox it reports (INFO) is lowered as the WIT `outbox`
// record, its lists pointing at the core's own regions (the host copies them out when it
// lifts the result; they are reused by the next call, so nothing is freed after return).
// Export names follow the build's convention `<interface>__<function>` (scripts/build.mjs
// renames them to `clawft:router/router@<version>#<function>`).

import { freeParam } from "../../abi/canonical";
import { Outbox } from "./outbox";
import * as I from "./index";

export { cabi_realloc } from "../../abi/canonical";

/** Static return area: `result<outbox, receive-error>`, `option<outbox>` and `written` take 56 bytes, align 8. */
const RET: usize = memory.data(56, 8);

/** Copies a parameter buffer into the core's input region at `at` and frees it; returns `len`. */
function take(at: usize, ptr: usize, len: usize): usize {
  memory.copy(at, ptr, len);
  freeParam(ptr, len);
  return len;
}

/**
 * Lowers the outbox of the last core call (INFO, ./index.ts) at `at` as the WIT record
 * `outbox` { frames, frame-table, deliveries, events, records: lists (ptr, len); due: f64 @40 }.
 * The frame table's words (start, end, qos: u32) are the `frame` record's layout (u32, u32,
 * u8 and padding; little-endian, so qos is the low byte).
 */
function lowerOutbox(at: usize, due: f64): void {
  let info = I.info();
  let table = load<u32>(info, 4);
  let nFrames = load<u32>(info, 8);
  store<u32>(at, load<u32>(info));
  store<u32>(at, nFrames ? load<u32>(<usize>table + <usize>(nFrames - 1) * 12, 4) : 0, 4);
  store<u32>(at, table, 8);
  store<u32>(at, nFrames, 12);
  store<u32>(at, load<u32>(info, 12), 16);
  store<u32>(at, load<u32>(info, 16), 20);
  store<u32>(at, load<u32>(info, 20), 24);
  store<u32>(at, load<u32>(info, 24), 28);
  store<u32>(at, load<u32>(info, 28), 32);
  store<u32>(at, <u32>Outbox.recordsLen, 36);
  store<f64>(at, due, 40);
}

/** The `due` time the last receive/disconnect/host write reported. */
function due(): f64 {
  return load<f64>(I.info(), 32);
}

/** configure: func(config: config) — the record's fields flattened in order. */
export function router__configure(
  namePtr: usize, nameLen: usize, maxSessions: u32, maxSubscriptions: u32, maxStateEntries: u32,
  maxMessageSize: u32, stateTtl: u32, sessionTimeout: u32, authenticated: bool, journalDepth: u32, journalAddresses: u32,
): void {
  I.configure(maxSessions, maxSubscriptions, maxStateEntries, maxMessageSize, stateTtl, sessionTimeout, authenticated);
  I.configureJournal(journalDepth, journalAddresses);
  I.setName(take(I.input(nameLen), namePtr, nameLen));
}

/** seed: func(lo: u32, hi: u32) */
export function router__seed(lo: u32, hi: u32): void {
  I.seed(lo, hi);
}

/** add-token: func(spec: list<u8>) -> bool */
export function router__add_token(ptr: usize, len: usize): bool {
  return I.addToken(take(I.input(len), ptr, len));
}

/** connect: func(now: f64) -> u32 */
export function router__connect(now: f64): u32 {
  return I.connect(now);
}

/** disconnect: func(conn: u32) -> outbox */
export function router__disconnect(conn: u32): usize {
  I.disconnect(conn);
  lowerOutbox(RET, due());
  return RET;
}

/** receive: func(conn: u32, frame: list<u8>, now: f64) -> result<outbox, receive-error> */
export function router__receive(conn: u32, ptr: usize, len: usize, now: f64): usize {
  let ok = I.receive(conn, take(I.input(len), ptr, len), now);
  if (!ok) {
    store<u8>(RET, 1);
    store<u8>(RET, 0, 8); // receive-error.not-open
    return RET;
  }
  store<u8>(RET, 0);
  lowerOutbox(RET + 8, due());
  return RET;
}

/** tick: func(now: f64) -> outbox (its `due`: when to call again) */
export function router__tick(now: f64): usize {
  let next = I.tick(now);
  lowerOutbox(RET, next);
  return RET;
}

/** restore: func(address: string, record: list<u8>, now: f64) -> bool */
export function router__restore(ap: usize, an: usize, rp: usize, rn: usize, now: f64): bool {
  let at = I.input(an + rn);
  take(at, ap, an);
  take(at + an, rp, rn);
  return I.restoreParam(an, rn, now);
}

/** writable: func(conn: u32, address: string) -> bool */
export function router__writable(conn: u32, ap: usize, an: usize): bool {
  return I.writable(conn, take(I.input(an), ap, an));
}

/** host-set: func(address: string, value: list<u8>, now: f64) -> written { revision: u64 @0, outbox @8 } */
export function router__host_set(ap: usize, an: usize, vp: usize, vn: usize, now: f64): usize {
  let at = I.input(an + vn);
  take(at, ap, an);
  take(at + an, vp, vn);
  let revision = I.hostSet(an, vn, now);
  store<u64>(RET, <u64>revision);
  lowerOutbox(RET + 8, due());
  return RET;
}

/** param-count: func() -> u32 */
export function router__param_count(): u32 {
  return I.paramCount();
}

/** resume-session: func(conn: u32, session: string) -> option<outbox> */
export function router__resume_session(conn: u32, sp: usize, sn: usize): usize {
  if (!I.resumeSession(conn, take(I.input(sn), sp, sn))) {
    store<u8>(RET, 0); // none
    return RET;
  }
  store<u8>(RET, 1);
  lowerOutbox(RET + 8, due());
  return RET;
}

/** relock: func(conn: u32, address: string) -> bool */
export function router__relock(conn: u32, ap: usize, an: usize): bool {
  return I.relock(conn, take(I.input(an), ap, an));
}

/** lock-holder: func(address: string) -> u32 */
export function router__lock_holder(ap: usize, an: usize): u32 {
  return I.lockHolder(take(I.input(an), ap, an));
}

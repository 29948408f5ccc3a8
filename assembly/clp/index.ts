// CLP engine core: raw exports for the TypeScript face and WASI hosts (docs/clp-formats.md
// §ABI). The host writes a verb's argument, one CLASP value, into the input region, calls the
// verb, and reads the answer through the INFO block of little-endian u32 words:
//   [0] answer pointer  [1] answer bytes  [2] status (0 ok, 1 need, 2 error)
// The answer is a CLASP value, except for the raw verbs (state, stateHash, events,
// snapshot) which answer bytes when the status is 0. Nothing here traps on bad input.

import { Region } from "../abi/buffer";
import { Wr } from "../clasp/wire";
import { vNull, vF64, encode, Val } from "./val";
import { Engine, newEngine, readArgs, failValue, Result, Raw, OK, ERROR } from "./engine";
import { clearFail, fail, E_ARGS, E_LIMIT, LR_ENCODE, AR_HANDLE } from "./error";
import { Err } from "../clasp/error";

const INFO: usize = memory.data(16, 8);
const IN = new Region();

/** Live engines; a handle is an index + 1. */
const engines = new Array<Engine | null>();

let calls: u32 = 0;
let pages: i32 = 0;

/** Address of the INFO block (layout above). */
export function info(): usize {
  return INFO;
}

/** Makes the input region at least `size` bytes; returns its address. */
export function input(size: usize): usize {
  return IN.reserve(size);
}

/**
 * Writes the answer of a verb to INFO and collects garbage now and then: every 256 calls, or
 * when memory grew since the last collection. Runs with no object on the stack.
 */
function done(status: u32): u32 {
  let v: Val = Result.v;
  if (status == ERROR && v.t == 0) v = failValue();
  if (status == OK && Result.raw) {
    store<u32>(INFO, <u32>Raw.ptr());
    store<u32>(INFO, <u32>Raw.len, 4);
  } else {
    let n = encode(v);
    if (n == 0) {
      clearFail();
      fail(E_LIMIT, LR_ENCODE, [vF64(<f64>Err.reason)]);
      status = ERROR;
      n = encode(failValue());
    }
    store<u32>(INFO, <u32>Wr.out.ptr);
    store<u32>(INFO, <u32>n, 4);
  }
  store<u32>(INFO, status, 8);
  clearFail();
  Result.v = vNull();
  Result.raw = false;
  if (++calls >= 256 || memory.size() > pages) {
    __collect();
    calls = 0;
    pages = memory.size();
  }
  return status;
}

function engine(h: u32): Engine | null {
  let e = h >= 1 && h <= <u32>engines.length ? engines[h - 1] : null;
  if (e === null) fail(E_ARGS, AR_HANDLE, [vF64(<f64>h)]);
  return e;
}

/** Creates an engine from the contract descriptor in input[0, len). Returns its handle, 0 on error. */
export function create(len: usize): u32 {
  clearFail();
  let d = readArgs(IN.ptr, len);
  let e: Engine | null = d === null ? null : newEngine(d!);
  if (e === null) {
    done(ERROR);
    return 0;
  }
  engines.push(e);
  let h = <u32>engines.length;
  Result.v = vF64(<f64>h);
  done(OK);
  return h;
}

/** Releases engine `h`. */
export function destroy(h: u32): u32 {
  if (h >= 1 && h <= <u32>engines.length) engines[h - 1] = null;
  return done(OK);
}

// Verbs 1–6 take one CLASP value argument, 7–13 none, 14–16 raw bytes in input[0, len).
const V_DISPATCH: u32 = 1, V_PROPOSE: u32 = 2, V_ACCEPT: u32 = 3, V_COMMIT: u32 = 4, V_GET: u32 = 5, V_PATH: u32 = 6;
const V_CONFIRM: u32 = 7, V_ABORT: u32 = 8, V_HEAD: u32 = 10, V_STATE: u32 = 11;
const V_HASH: u32 = 12, V_SNAPSHOT: u32 = 13, V_RESTORE: u32 = 14, V_APPEND: u32 = 15, V_REPLAY: u32 = 16;

function run(h: u32, len: usize, verb: u32): u32 {
  clearFail();
  let e = engine(h);
  if (e === null) return done(ERROR);
  let a = vNull();
  if (verb <= V_PATH) {
    let v = readArgs(IN.ptr, len);
    if (v === null) return done(ERROR);
    a = v;
  }
  let s: u32 = ERROR;
  switch (verb) {
    case V_DISPATCH: s = e.dispatch(a); break;
    case V_PROPOSE: s = e.propose(a); break;
    case V_ACCEPT: s = e.accept(a); break;
    case V_COMMIT: s = e.commit(a); break;
    case V_GET: s = e.get(a); break;
    case V_PATH: s = e.path(a); break;
    case V_CONFIRM: s = e.confirm(); break;
    case V_ABORT: s = e.abort(); break;
    case V_HEAD: s = e.headInfo(); break;
    case V_STATE: s = e.state(false); break;
    case V_HASH: s = e.state(true); break;
    case V_SNAPSHOT: s = e.snapshot(); break;
    case V_RESTORE: s = e.restore(IN.ptr, len); break;
    default: s = e.append(IN.ptr, len, verb == V_REPLAY);
  }
  return done(s);
}

/** dispatch [name, payload] → [complete] */
export function dispatch(h: u32, len: usize): u32 { return run(h, len, V_DISPATCH); }
/** propose [name, proposal] → null */
export function propose(h: u32, len: usize): u32 { return run(h, len, V_PROPOSE); }
/** accept [name] → [complete, payload] */
export function accept(h: u32, len: usize): u32 { return run(h, len, V_ACCEPT); }
/** commit [transition, time, now, key, guards, whens, ops, confirm] → result, need, or error */
export function commit(h: u32, len: usize): u32 { return run(h, len, V_COMMIT); }
/** get path → [found, value] */
export function get(h: u32, len: usize): u32 { return run(h, len, V_GET); }
/** path path → its segments */
export function path(h: u32, len: usize): u32 { return run(h, len, V_PATH); }
/** confirm → null: makes a prepared commit final */
export function confirm(h: u32): u32 { return run(h, 0, V_CONFIRM); }
/** abort → null: reverts a prepared commit */
export function abort(h: u32): u32 { return run(h, 0, V_ABORT); }
/** head → [seq, hash, pending] */
export function head(h: u32): u32 { return run(h, 0, V_HEAD); }
/** state → CLASP bytes of the state (raw) */
export function state(h: u32): u32 { return run(h, 0, V_STATE); }
/** stateHash → SHA-256 of the state's CLASP bytes (raw, 32 bytes) */
export function stateHash(h: u32): u32 { return run(h, 0, V_HASH); }
/** snapshot → snapshot bytes (raw) */
export function snapshot(h: u32): u32 { return run(h, 0, V_SNAPSHOT); }
/** restore snapshot → head */
export function restore(h: u32, len: usize): u32 { return run(h, len, V_RESTORE); }
/** append eventLog → head: verifies and applies events that continue this engine's log */
export function append(h: u32, len: usize): u32 { return run(h, len, V_APPEND); }
/** replay eventLog → head: rebuilds the state from an event log that starts at event 0 */
export function replay(h: u32, len: usize): u32 { return run(h, len, V_REPLAY); }

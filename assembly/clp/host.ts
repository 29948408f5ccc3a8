// The host boundary shared by the raw ABI (index.ts) and the component (component.ts): engine
// handles, verb dispatch, answers in the INFO block, and garbage collection between calls.
//
// INFO holds little-endian u32 words: [0] answer pointer, [1] answer bytes, [2] status
// (0 ok, 1 need, 2 error), [3] error code (0 unless status 2), [4] record pointer and [5]
// record bytes of the last event the verb built (0 and 0 when it built none), [6] the
// `complete` flag of dispatch and accept (0 otherwise), [7] 0; then at byte 32 an f64: the
// built event's sequence number. A host reads these instead of decoding the answer when
// they are all it needs. The answer is a CLASP value, except for the raw verbs (state,
// stateHash, snapshot), whose answer is bytes when the status is 0 (docs/clp-formats.md §ABI).

import { Region } from "../abi/buffer";
import { Wr } from "../clasp/wire";
import { Err } from "../clasp/error";
import { vNull, vF64, encode, item, Val, NULL } from "./val";
import { Engine, newEngine, readArgs, failValue, Result, Raw, OK, ERROR } from "./engine";
import { Fail, clearFail, fail, fail1, E_ARGS, E_LIMIT, LR_ENCODE, AR_HANDLE } from "./error";

export const INFO: usize = memory.data(40, 8);

/** Live engines; a handle is an index + 1. */
const engines = new Array<Engine | null>();

let calls: u32 = 0;
let pages: i32 = 0;

// Verbs 1–6 take one CLASP value argument, 7–12 none, 13–15 raw bytes.
export const V_DISPATCH: u32 = 1, V_PROPOSE: u32 = 2, V_ACCEPT: u32 = 3, V_COMMIT: u32 = 4, V_GET: u32 = 5, V_BATCH: u32 = 6;
export const V_CONFIRM: u32 = 7, V_ABORT: u32 = 8, V_HEAD: u32 = 9, V_STATE: u32 = 10, V_HASH: u32 = 11;
export const V_SNAPSHOT: u32 = 12, V_RESTORE: u32 = 13, V_APPEND: u32 = 14, V_REPLAY: u32 = 15;

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
  } else if (status == OK && Result.wrote != 0) {
    store<u32>(INFO, <u32>Result.at);
    store<u32>(INFO, <u32>Result.wrote, 4);
  } else {
    let n = encode(v);
    if (n == 0) {
      clearFail();
      fail1(E_LIMIT, LR_ENCODE, vF64(<f64>Err.reason));
      status = ERROR;
      n = encode(failValue());
    }
    store<u32>(INFO, <u32>Wr.out.ptr);
    store<u32>(INFO, <u32>n, 4);
  }
  store<u32>(INFO, status, 8);
  store<u32>(INFO, status == ERROR ? Fail.code : 0, 12);
  let rec = Result.recLen;
  store<u32>(INFO, rec == 0 ? 0 : <u32>Result.recAt, 16);
  store<u32>(INFO, <u32>rec, 20);
  store<u32>(INFO, Result.flag, 24);
  store<u32>(INFO, 0, 28);
  store<f64>(INFO, rec == 0 ? 0 : Result.seq, 32);
  clearFail();
  Result.v = vNull();
  Result.raw = false;
  Result.wrote = 0;
  if (++calls >= 256 || memory.size() > pages) {
    __collect();
    calls = 0;
    pages = memory.size();
  }
  return status;
}

/** Creates an engine from the contract descriptor at [p, p + len). Returns its handle, 0 on error. */
export function createEngine(p: usize, len: usize): u32 {
  clearFail();
  Result.start();
  let d = readArgs(p, len);
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
export function destroyEngine(h: u32): void {
  Result.start();
  if (h >= 1 && h <= <u32>engines.length) engines[h - 1] = null;
  done(OK);
}

/**
 * The last `commit` argument without host ops (at most 64 bytes) and its value: a host that
 * commits with the same argument bytes each time (the TypeScript face's rules-only commits,
 * the time passed with `clock`) has them decoded once. Safe to share: `commit` neither
 * changes nor keeps its argument value (host ops, the only part that could enter the state,
 * are never cached).
 */
const LAST = new Region();
let lastLen: usize = 0;
let lastArgs: Val = vNull();

/** The argument of a value verb at [p, p + len), from the cache for a repeated commit argument; null (with the error) when it is not a CLASP value. */
function argsOf(p: usize, len: usize, verb: u32): Val | null {
  if (verb == V_COMMIT && len != 0 && len == lastLen && memory.compare(LAST.ptr, p, len) == 0) return lastArgs;
  let v = readArgs(p, len);
  if (v !== null && verb == V_COMMIT && len <= 64) {
    let ops = item(v, 6);
    if (ops === null || ops.t == NULL) {
      memory.copy(LAST.reserve(len), p, len);
      lastLen = len;
      lastArgs = v;
    }
  }
  return v;
}

/** Runs `verb` on engine `h` with the argument at [p, p + len); answers through INFO. */
export function run(h: u32, p: usize, len: usize, verb: u32): u32 {
  clearFail();
  Result.start();
  let e = h >= 1 && h <= <u32>engines.length ? engines[h - 1] : null;
  if (e === null) {
    fail1(E_ARGS, AR_HANDLE, vF64(<f64>h));
    return done(ERROR);
  }
  // dispatch decodes its argument itself (Engine.dispatchAt: no argument array built)
  if (verb == V_DISPATCH) return done(e.dispatchAt(p, len));
  let a = vNull();
  if (verb <= V_BATCH) {
    let v = argsOf(p, len, verb);
    if (v === null) return done(ERROR);
    a = v;
  }
  let s: u32 = ERROR;
  switch (verb) {
    case V_PROPOSE: s = e.propose(a); break;
    case V_ACCEPT: s = e.accept(a); break;
    case V_COMMIT: s = e.commit(a); break;
    case V_GET: s = e.get(a); break;
    case V_BATCH: s = e.batch(a); break;
    case V_CONFIRM: s = e.confirm(); break;
    case V_ABORT: s = e.abort(); break;
    case V_HEAD: s = e.headInfo(); break;
    case V_STATE: s = e.state(false); break;
    case V_HASH: s = e.state(true); break;
    case V_SNAPSHOT: s = e.snapshot(); break;
    case V_RESTORE: s = e.restore(p, len); break;
    default: s = e.append(p, len, verb == V_REPLAY);
  }
  return done(s);
}

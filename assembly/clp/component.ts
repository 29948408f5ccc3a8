// The CLP engine as a WASI preview2 component: the `clawft:clp/engine` interface of
// wit/clp.wit, lowered by hand (assembly/abi/canonical.ts). Export names follow the build's
// convention `<interface>__<function>`.

import { freeParam, RET } from "../abi/canonical";
import {
  INFO, createEngine, destroyEngine, run, V_DISPATCH, V_PROPOSE, V_ACCEPT, V_COMMIT, V_GET,
  V_CONFIRM, V_ABORT, V_HEAD, V_STATE, V_HASH, V_SNAPSHOT, V_RESTORE, V_APPEND, V_REPLAY,
} from "./host";

export { cabi_realloc } from "../abi/canonical";

/**
 * Lowers the answer in INFO as `result<T, clp-error>`: discriminant at 0; ok: `T` at 4 (a
 * list, or for commit-reply a bool at 4 and the list at 8); err: code (u16) at 4, list at 8.
 */
function lower(status: u32, reply: bool): usize {
  let ptr = load<u32>(INFO);
  let len = load<u32>(INFO, 4);
  let err = status == 2;
  store<u8>(RET, err ? 1 : 0);
  if (err || reply) {
    store<u32>(RET, err ? load<u32>(INFO, 12) : status, 4);
    store<u32>(RET, ptr, 8);
    store<u32>(RET, len, 12);
  } else {
    store<u32>(RET, ptr, 4);
    store<u32>(RET, len, 8);
  }
  return RET;
}

function call(h: u32, p: usize, n: usize, verb: u32): usize {
  let s = run(h, p, n, verb);
  freeParam(p, n);
  return lower(s, false);
}

/** create: func(contract: list<u8>) -> result<u32, clp-error> */
export function engine__create(p: usize, n: usize): usize {
  let h = createEngine(p, n);
  freeParam(p, n);
  if (h == 0) return lower(2, false);
  store<u8>(RET, 0);
  store<u32>(RET, h, 4);
  return RET;
}

/** destroy: func(engine: u32) */
export function engine__destroy(h: u32): void { destroyEngine(h); }
/** dispatch: func(engine, args) -> result<list<u8>, clp-error> */
export function engine__dispatch(h: u32, p: usize, n: usize): usize { return call(h, p, n, V_DISPATCH); }
/** propose: func(engine, args) -> result<list<u8>, clp-error> */
export function engine__propose(h: u32, p: usize, n: usize): usize { return call(h, p, n, V_PROPOSE); }
/** accept: func(engine, args) -> result<list<u8>, clp-error> */
export function engine__accept(h: u32, p: usize, n: usize): usize { return call(h, p, n, V_ACCEPT); }
/** commit: func(engine, args) -> result<commit-reply, clp-error> */
export function engine__commit(h: u32, p: usize, n: usize): usize {
  let s = run(h, p, n, V_COMMIT);
  freeParam(p, n);
  return lower(s, true);
}
/** confirm: func(engine) -> result<list<u8>, clp-error> */
export function engine__confirm(h: u32): usize { return call(h, 0, 0, V_CONFIRM); }
/** abort: func(engine) -> result<list<u8>, clp-error> */
export function engine__abort(h: u32): usize { return call(h, 0, 0, V_ABORT); }
/** get: func(engine, path) -> result<list<u8>, clp-error> */
export function engine__get(h: u32, p: usize, n: usize): usize { return call(h, p, n, V_GET); }
/** head: func(engine) -> result<list<u8>, clp-error> */
export function engine__head(h: u32): usize { return call(h, 0, 0, V_HEAD); }
/** state: func(engine) -> result<list<u8>, clp-error> */
export function engine__state(h: u32): usize { return call(h, 0, 0, V_STATE); }
/** state-hash: func(engine) -> result<list<u8>, clp-error> */
export function engine__state_hash(h: u32): usize { return call(h, 0, 0, V_HASH); }
/** snapshot: func(engine) -> result<list<u8>, clp-error> */
export function engine__snapshot(h: u32): usize { return call(h, 0, 0, V_SNAPSHOT); }
/** restore: func(engine, snapshot) -> result<list<u8>, clp-error> */
export function engine__restore(h: u32, p: usize, n: usize): usize { return call(h, p, n, V_RESTORE); }
/** append: func(engine, log) -> result<list<u8>, clp-error> */
export function engine__append(h: u32, p: usize, n: usize): usize { return call(h, p, n, V_APPEND); }
/** replay: func(engine, log) -> result<list<u8>, clp-error> */
export function engine__replay(h: u32, p: usize, n: usize): usize { return call(h, p, n, V_REPLAY); }

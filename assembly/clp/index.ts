// CLP engine core: raw exports for the TypeScript face and WASI hosts (docs/clp-formats.md
// §ABI). The host writes a verb's argument (one CLASP value, or raw bytes for restore, append
// and replay) into the input region, calls the verb with the engine handle and the argument's
// length, and reads the answer through the INFO block (host.ts). Nothing here traps on bad input.

import { Region } from "../abi/buffer";
import { Clock } from "./engine";
import {
  INFO, createEngine, destroyEngine, run, V_DISPATCH, V_PROPOSE, V_ACCEPT, V_COMMIT, V_GET, V_BATCH,
  V_CONFIRM, V_ABORT, V_HEAD, V_STATE, V_HASH, V_SNAPSHOT, V_RESTORE, V_APPEND, V_REPLAY,
} from "./host";

const IN = new Region();

/** Address of the INFO block: [0] answer pointer, [1] answer bytes, [2] status, [3] error code. */
export function info(): usize { return INFO; }
/** Makes the input region at least `size` bytes; returns its address. */
export function input(size: usize): usize { return IN.reserve(size); }

/** Sets the time (ms since the epoch) of the commits that pass null as their time. */
export function clock(ms: f64): void { Clock.ms = ms; }
/** create contract → handle (0 on error, the error in INFO) */
export function create(len: usize): u32 { return createEngine(IN.ptr, len); }
/** Releases an engine. */
export function destroy(h: u32): void { destroyEngine(h); }
/** dispatch [name, payload] → [complete] */
export function dispatch(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_DISPATCH); }
/** propose [name, proposal] → null */
export function propose(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_PROPOSE); }
/** accept [name] → [complete, payload] */
export function accept(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_ACCEPT); }
/** commit [transition, time, now, key, guards, whens, ops, confirm, lean?] → result, need, or error */
export function commit(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_COMMIT); }
/** batch [time, now, [[name, payload], …]] → [results, failure]: dispatch + commit of each intent, in one call */
export function batch(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_BATCH); }
/** get path → [found, value, segments] */
export function get(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_GET); }
/** confirm → null: makes a prepared commit final */
export function confirm(h: u32): u32 { return run(h, 0, 0, V_CONFIRM); }
/** abort → null: reverts a prepared commit */
export function abort(h: u32): u32 { return run(h, 0, 0, V_ABORT); }
/** head → [seq, hash, pending] */
export function head(h: u32): u32 { return run(h, 0, 0, V_HEAD); }
/** state → CLASP bytes of the state (raw) */
export function state(h: u32): u32 { return run(h, 0, 0, V_STATE); }
/** stateHash → SHA-256 of the state's CLASP bytes (raw, 32 bytes) */
export function stateHash(h: u32): u32 { return run(h, 0, 0, V_HASH); }
/** snapshot → snapshot bytes (raw) */
export function snapshot(h: u32): u32 { return run(h, 0, 0, V_SNAPSHOT); }
/** restore snapshot → head */
export function restore(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_RESTORE); }
/** append eventLog → head: verifies and applies events that continue this engine's log */
export function append(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_APPEND); }
/** replay eventLog → head: rebuilds the state from an event log that starts at event 0 */
export function replay(h: u32, len: usize): u32 { return run(h, IN.ptr, len, V_REPLAY); }

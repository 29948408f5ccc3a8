// Wall clock and sleeping for clawft.wasm (WASI clock_time_get / poll_oneoff).

import { poll_oneoff, errno } from "bindings/wasi_snapshot_preview1";

/** Milliseconds since the Unix epoch (the realtime clock). */
export function nowMs(): f64 {
  return <f64>Date.now();
}

/** The current time as an ISO 8601 UTC string (`2026-12-03T10:11:08.123Z`). */
export function isoNow(): string {
  return new Date(Date.now()).toISOString();
}

/**
 * Blocks for `ms` milliseconds: one relative monotonic-clock subscription to poll_oneoff
 * (WASI preview1 `subscription`: userdata u64 @0, tag u8 @8 = clock, clock id u32 @16,
 * timeout u64 ns @24, precision u64 @32, flags u16 @40; 48 bytes; the event is 32 bytes).
 */
export function sleepMs(ms: i32): void {
  if (ms <= 0) return;
  let sub = heap.alloc(48 + 32 + 8);
  memory.fill(sub, 0, 48);
  store<u32>(sub, 1, 16); // CLOCKID_MONOTONIC
  store<u64>(sub, <u64>ms * 1000000, 24);
  let e = poll_oneoff(sub, sub + 48, 1, sub + 80);
  heap.free(sub);
  if (e != errno.SUCCESS) return;
}

// String interning for hosts that turn tape strings into their own string objects.
//
// CLASP traffic repeats the same addresses and keys constantly. When a host enables it, the
// decoder keeps a direct-mapped table of short strings it has emitted: a string already in
// the table is marked as a hit with its slot, so the host reuses the string it built before
// instead of decoding the bytes again (msgpack-javascript's CachedKeyDecoder does the same in
// JS; here the byte comparison runs in wasm). String nodes keep their (offset, length), so a
// host may ignore the marks. Slots written while decoding a frame that then fails are
// invalidated, because the host never reads that frame's nodes.

import { Region } from "../abi/buffer";
import { hashBytes, equalBytes } from "./bytesmap";

/** Longest string interned, in bytes. */
export const INTERN_MAX: usize = 32;
/** Slot layout: u32 length (or EMPTY), then INTERN_MAX bytes. */
const SLOT: usize = 4 + INTERN_MAX;
const EMPTY: u32 = 0xffffffff;

/** String node flag: the string is in slot `tag >>> 16`, which the host has seen before. */
export const HIT: u32 = 0x200;
/** String node flag: the string was just stored in slot `tag >>> 16`; the host should remember it. */
export const STORED: u32 = 0x400;

export class Intern {
  static table: usize = 0;
  static mask: u32 = 0;
  /** Slots written since the current frame started (u32 each, for rollback). */
  static undo: Region = new Region();
  static undoLen: u32 = 0;
}

/** Enables interning with `slots` slots (a power of two, at most 65,536); 0 disables it. */
export function enableIntern(slots: u32): void {
  if (Intern.table) heap.free(Intern.table);
  Intern.table = 0;
  Intern.undoLen = 0;
  if (slots == 0 || slots > 65536 || (slots & (slots - 1)) != 0) return;
  Intern.table = heap.alloc(<usize>slots * SLOT);
  Intern.mask = slots - 1;
  for (let i: u32 = 0; i < slots; i++) store<u32>(Intern.table + <usize>i * SLOT, EMPTY);
}

/**
 * Looks up bytes [p, p + n) in the table. Returns the string node flags to add:
 * HIT | slot<<16, STORED | slot<<16 (the slot now holds these bytes), or 0.
 */
export function intern(p: usize, n: usize): u32 {
  if (Intern.table == 0 || n > INTERN_MAX) return 0;
  let h = hashBytes(p, n);
  let slot = (h ^ (h >>> 16)) & Intern.mask;
  let at = Intern.table + <usize>slot * SLOT;
  if (load<u32>(at) == <u32>n && equalBytes(at + 4, p, n)) return HIT | (slot << 16);
  store<u32>(at, <u32>n);
  memory.copy(at + 4, p, n);
  let used = <usize>Intern.undoLen << 2;
  store<u32>(Intern.undo.reserve(used + 4, used) + used, slot);
  Intern.undoLen++;
  return STORED | (slot << 16);
}

/** Marks the start of a frame: its stores may be rolled back. */
@inline export function internMark(): void {
  Intern.undoLen = 0;
}

/** Invalidates the slots stored since `internMark` (their frame failed). */
export function internRollback(): void {
  for (let i: u32 = 0; i < Intern.undoLen; i++) {
    store<u32>(Intern.table + <usize>load<u32>(Intern.undo.ptr + (<usize>i << 2)) * SLOT, EMPTY);
  }
  Intern.undoLen = 0;
}

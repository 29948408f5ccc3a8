// Binary formats of the engine (docs/clp-formats.md): event records, event logs and
// snapshots. All integers are big-endian, like the CLASP wire format.
//
//   record    u32 n | n bytes: the event, a CLASP map | 32 bytes: SHA-256(previous hash ‖ event)
//   event log "CLPL" | u8 version 1 | u8 0 | u16 0 | u64 base seq | 32 base hash | records…
//   snapshot  "CLPS" | u8 version 1 | u8 0 | u16 0 | u64 seq | 32 head hash | u32 n |
//             n bytes: CLASP map { state, keys } | 32 bytes: SHA-256 of everything before

import { Region } from "../abi/buffer";
import { sha256 } from "./sha256";

export const LOG_MAGIC: u32 = 0x434c504c; // "CLPL"
export const SNAP_MAGIC: u32 = 0x434c5053; // "CLPS"
export const FORMAT_VERSION: u32 = 1;
export const LOG_HEADER: usize = 48;
export const SNAP_HEADER: usize = 52;
export const HASH: usize = 32;

/** A growable output buffer. */
@final export class Out {
  r: Region = new Region();
  len: usize = 0;

  reset(): void {
    this.len = 0;
  }

  @inline ptr(): usize {
    return this.r.ptr;
  }

  room(n: usize): usize {
    let p = this.r.reserve(this.len + n, this.len);
    let at = p + this.len;
    this.len += n;
    return at;
  }

  u16(v: u32): void {
    store<u16>(this.room(2), bswap<u16>(<u16>v));
  }

  u32(v: u32): void {
    store<u32>(this.room(4), bswap<u32>(v));
  }

  u64(v: u64): void {
    store<u64>(this.room(8), bswap<u64>(v));
  }

  bytes(p: usize, n: usize): void {
    memory.copy(this.room(n), p, n);
  }
}

@inline export function rdU32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

@inline export function rdU64(p: usize): u64 {
  return bswap<u64>(load<u64>(p));
}

const SCRATCH = new Region();

/** hash ← SHA-256(prev ‖ event[0, n)), the chain step of every record. */
export function chain(prev: usize, event: usize, n: usize, out: usize): void {
  let p = SCRATCH.reserve(n + HASH);
  memory.copy(p, prev, HASH);
  memory.copy(p + HASH, event, n);
  sha256(p, n + HASH, out);
}

/** True when the 32 bytes at `a` and `b` are equal. */
export function sameHash(a: usize, b: usize): bool {
  for (let i: usize = 0; i < HASH; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  return true;
}

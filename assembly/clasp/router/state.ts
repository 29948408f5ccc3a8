// Router state: params with revisions, writers, locks and TTLs (clasp-wire.md §6), and the
// versioned record a param is persisted as (docs/router.md §Persistence).

import { copyBytes } from "../../abi/buffer";
import { BytesMap, Keyed } from "../bytesmap";
import { Subscriber } from "./subscriptions";
import { writeU8, writeU32, writeU64, writeBytes, Rd, readFrom, can, readU8, readU32, readU64 } from "../wire";
import { Err, clearError } from "../error";
import { decodeValueAt } from "../codec";

/** A SET's TTL word (clasp-wire.md §4.1): 0 never; bit 31 absolute (seconds since the epoch); else sliding seconds. */
export const TTL_ABSOLUTE: u32 = 0x80000000;

/** Version byte of persisted param records. */
export const RECORD_VERSION: u32 = 1;

/** A session as the state sees it: an owner of locks. */
export class Holder extends Subscriber {
  /** Session id (UUID text). */
  id: ArrayBuffer = new ArrayBuffer(0);
  /** Params this session holds locked, released when it ends. */
  locks: Array<Param> = new Array<Param>();
}

export class Param extends Keyed {
  revision: u64 = 0;
  /** Tagged CLASP value bytes (type byte + body). */
  value: ArrayBuffer = new ArrayBuffer(0);
  /** Session id of the last writer. */
  writer: ArrayBuffer = new ArrayBuffer(0);
  /** µs since the epoch of the last write. */
  timestamp: u64 = 0;
  holder: Holder | null = null;
  /** TTL word from the last SET that carried one. */
  ttl: u32 = 0;
  /** Whether a SET ever carried a TTL (else the router's default TTL applies). */
  hasTtl: bool = false;
  /** µs since the epoch when the param expires; 0 never. */
  expires: u64 = 0;
  constructor(public address: ArrayBuffer) {
    super();
  }

  /** Recomputes `expires` after a write at `now` (µs), with the router's default TTL `defaultTtl` (s, 0 none). */
  refresh(now: u64, defaultTtl: u32): void {
    if (this.hasTtl) {
      if (this.ttl == 0) this.expires = 0;
      else if (this.ttl & TTL_ABSOLUTE) this.expires = <u64>(this.ttl & ~TTL_ABSOLUTE) * 1_000_000;
      else this.expires = now + <u64>this.ttl * 1_000_000;
    } else {
      this.expires = defaultTtl ? now + <u64>defaultTtl * 1_000_000 : 0;
    }
  }
}

export class State {
  static params: BytesMap = new BytesMap();

  /** The param at address [p, p + n), or null. */
  static get(p: usize, n: usize): Param | null {
    return changetype<Param | null>(State.params.get(p, n));
  }

  /** The param in slot `i` of the map, or null. */
  static at(i: i32): Param | null {
    return changetype<Param | null>(State.params.valueAt(i));
  }
}

/**
 * Writes the persistence record of `p` to the wire writer (big-endian, like CLASP):
 * u8 version (1) | u64 revision | u64 timestamp µs | u64 expires µs (0 never) | u8 hasTtl |
 * u32 ttl | str writer | tagged value.
 */
export function writeRecord(p: Param): void {
  writeU8(RECORD_VERSION);
  writeU64(p.revision);
  writeU64(p.timestamp);
  writeU64(p.expires);
  writeU8(p.hasTtl ? 1 : 0);
  writeU32(p.ttl);
  writeU32(<u32>p.writer.byteLength);
  writeBytes(changetype<usize>(p.writer), <usize>p.writer.byteLength);
  writeBytes(changetype<usize>(p.value), <usize>p.value.byteLength);
}

/**
 * Restores a param from its address [ap, ap + an) and record [rp, rp + rn). The value must be
 * one valid tagged CLASP value. Returns null for a malformed record or one from another
 * version.
 */
export function readRecord(ap: usize, an: usize, rp: usize, rn: usize): Param | null {
  clearError();
  readFrom(rp, rp + rn, rp);
  if (readU8() != RECORD_VERSION) return null;
  let revision = readU64();
  let timestamp = readU64();
  let expires = readU64();
  let hasTtl = readU8() != 0;
  let ttl = readU32();
  let wn = <usize>readU32();
  if (Err.code != 0 || !can(wn)) return null;
  let wp = Rd.pos;
  let vp = wp + wn;
  let vn = rp + rn - vp;
  if (vn == 0 || revision == 0) return null;
  if (decodeValueAt(vp, vn) == 0) return null;
  let p = new Param(copyBytes(ap, an));
  p.revision = revision;
  p.timestamp = timestamp;
  p.expires = expires;
  p.hasTtl = hasTtl;
  p.ttl = ttl;
  p.writer = copyBytes(wp, wn);
  p.value = copyBytes(vp, vn);
  return p;
}

// The router's journal: the last `depth` SET and PUBLISH frames delivered per address, kept as
// the very bytes that were fanned out, so REPLAY (clasp-wire.md §4.1 REPLAY 0x24) and a
// SUBSCRIBE's `history` option send them again without re-encoding. Bounded twice: `depth`
// frames per address (a ring: the oldest goes first) and `maxAddresses` addresses (a new
// address past it is not journaled; an address goes when its param expires).

import { copyBytes } from "../../abi/buffer";
import { BytesMap, Keyed } from "../bytesmap";

/** One journaled frame. */
export class Entry {
  constructor(
    /** Position in the router's total order of journaled frames (replies are sent in it). */
    public seq: u64,
    /** µs since the epoch when the frame was fanned out (REPLAY's `from`/`to` compare with it). */
    public time: u64,
    /** Signal type (0 param … 4 timeline), for REPLAY's and SUBSCRIBE's type masks. */
    public signal: u32,
    /** The frame's bytes. */
    public frame: ArrayBuffer,
  ) {}
}

/** The frames of one address, oldest first, at most `Journal.depth`. */
export class Track extends Keyed {
  entries: Array<Entry> = new Array<Entry>();
  /** Index of the oldest entry once the ring is full. */
  head: i32 = 0;
  constructor(public address: ArrayBuffer) {
    super();
  }

  /** Entries held. */
  get length(): i32 {
    return this.entries.length;
  }

  /** The `i`-th oldest entry (0 ≤ i < length). */
  at(i: i32): Entry {
    let n = this.entries.length;
    let k = this.head + i;
    return unchecked(this.entries[k >= n ? k - n : k]);
  }
}

export class Journal {
  /** Frames kept per address; 0 turns the journal off (REPLAY then gets ERROR 501). */
  static depth: u32 = 16;
  /** Addresses journaled at most. */
  static maxAddresses: u32 = 10_000;
  static tracks: BytesMap = new BytesMap();
  static seq: u64 = 0;

  /** Keeps a copy of frame [fp, fp + fn) fanned out at address [ap, ap + an). */
  static record(ap: usize, an: usize, signal: u32, fp: usize, fn: usize, now: u64): void {
    let depth = <i32>Journal.depth;
    if (depth == 0) return;
    let t = changetype<Track | null>(Journal.tracks.get(ap, an));
    if (!t) {
      if (<u32>Journal.tracks.size >= Journal.maxAddresses) return;
      t = new Track(copyBytes(ap, an));
      Journal.tracks.set(ap, an, t);
    }
    let e = new Entry(++Journal.seq, now, signal, copyBytes(fp, fn));
    let entries = t.entries;
    if (entries.length < depth) {
      entries.push(e);
    } else {
      // Full ring (or a depth lowered since): overwrite the oldest.
      if (t.head >= entries.length) t.head = 0;
      unchecked((entries[t.head] = e));
      t.head++;
      if (t.head == entries.length) t.head = 0;
    }
  }

  /** Forgets the frames of address [ap, ap + an) (its param expired). */
  static forget(ap: usize, an: usize): void {
    Journal.tracks.delete(ap, an);
  }

  /** The track in slot `i` of the map, or null. */
  static trackAt(i: i32): Track | null {
    return changetype<Track | null>(Journal.tracks.valueAt(i));
  }
}

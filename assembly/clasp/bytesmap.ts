// A hash map keyed by byte strings, looked up straight from linear memory (ptr, len):
// the router's addresses, segments and tokens are UTF-8 bytes in a frame, and turning each
// into an AssemblyScript string (UTF-16) would allocate on every message.
// Open addressing with linear probing and tombstones; keys are copied into ArrayBuffers the
// map owns, values are managed references, so the GC sees them. Values share one base class
// (`Keyed`) rather than a type parameter: one copy of the code serves every map.

import { copyBytes } from "../abi/buffer";

/** FNV-1a over bytes [p, p + n). */
export function hashBytes(p: usize, n: usize): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + i)) * 0x01000193;
  return h | 1; // 0 marks an empty slot
}

/**
 * Whether bytes [a, a + n) equal bytes [b, b + n): 8 bytes per step with unaligned loads
 * (`memory.compare` goes byte by byte unless both pointers share their alignment, which the
 * strings inside frames rarely do).
 */
export function equalBytes(a: usize, b: usize, n: usize): bool {
  let i: usize = 0;
  for (; i + 8 <= n; i += 8) if (load<u64>(a + i) != load<u64>(b + i)) return false;
  for (; i < n; i++) if (load<u8>(a + i) != load<u8>(b + i)) return false;
  return true;
}

@inline function sameBytes(key: ArrayBuffer, p: usize, n: usize): bool {
  return <usize>key.byteLength == n && equalBytes(changetype<usize>(key), p, n);
}

const TOMBSTONE: u32 = 0xffffffff;

/** Base class of everything stored in a BytesMap; cast back with changetype<T | null>. */
export class Keyed {}

export class BytesMap {
  private hashes: StaticArray<u32> = new StaticArray<u32>(16);
  private keys: StaticArray<ArrayBuffer | null> = new StaticArray<ArrayBuffer | null>(16);
  private vals: StaticArray<Keyed | null> = new StaticArray<Keyed | null>(16);
  /** Live entries. */
  size: i32 = 0;
  /** Live entries plus tombstones. */
  private used: i32 = 0;

  /** Slot of key [p, p + n), or -1. */
  private find(p: usize, n: usize, h: u32): i32 {
    let mask = this.hashes.length - 1;
    let i = <i32>(h & <u32>mask);
    while (true) {
      let x = unchecked(this.hashes[i]);
      if (x == 0) return -1;
      if (x == h && sameBytes(unchecked(this.keys[i])!, p, n)) return i;
      i = (i + 1) & mask;
    }
  }

  /** The value stored under bytes [p, p + n), or null. */
  get(p: usize, n: usize): Keyed | null {
    let i = this.find(p, n, hashBytes(p, n));
    return i < 0 ? null : unchecked(this.vals[i]);
  }

  /** Stores `v` under bytes [p, p + n), replacing any value there. */
  set(p: usize, n: usize, v: Keyed): void {
    let h = hashBytes(p, n);
    let i = this.find(p, n, h);
    if (i >= 0) {
      unchecked((this.vals[i] = v));
      return;
    }
    if ((this.used + 1) * 4 > this.hashes.length * 3) this.rehash();
    let mask = this.hashes.length - 1;
    i = <i32>(h & <u32>mask);
    while (true) {
      let x = unchecked(this.hashes[i]);
      if (x == 0 || x == TOMBSTONE) break;
      i = (i + 1) & mask;
    }
    if (unchecked(this.hashes[i]) == 0) this.used++;
    unchecked((this.hashes[i] = h));
    unchecked((this.keys[i] = copyBytes(p, n)));
    unchecked((this.vals[i] = v));
    this.size++;
  }

  /** Removes bytes [p, p + n); returns whether they were there. */
  delete(p: usize, n: usize): bool {
    let i = this.find(p, n, hashBytes(p, n));
    if (i < 0) return false;
    unchecked((this.hashes[i] = TOMBSTONE));
    unchecked((this.keys[i] = null));
    unchecked((this.vals[i] = null));
    this.size--;
    return true;
  }

  /** Number of slots, for iteration with `valueAt`. */
  get capacity(): i32 {
    return this.hashes.length;
  }

  /** The value in slot `i`, or null when the slot is empty. */
  valueAt(i: i32): Keyed | null {
    let x = unchecked(this.hashes[i]);
    return x == 0 || x == TOMBSTONE ? null : unchecked(this.vals[i]);
  }

  private rehash(): void {
    let oldH = this.hashes;
    let oldK = this.keys;
    let oldV = this.vals;
    let cap = oldH.length;
    if (this.size * 2 >= cap) cap <<= 1;
    this.hashes = new StaticArray<u32>(cap);
    this.keys = new StaticArray<ArrayBuffer | null>(cap);
    this.vals = new StaticArray<Keyed | null>(cap);
    this.used = this.size;
    let mask = cap - 1;
    for (let j = 0; j < oldH.length; j++) {
      let h = unchecked(oldH[j]);
      if (h == 0 || h == TOMBSTONE) continue;
      let i = <i32>(h & <u32>mask);
      while (unchecked(this.hashes[i]) != 0) i = (i + 1) & mask;
      unchecked((this.hashes[i] = h));
      unchecked((this.keys[i] = unchecked(oldK[j])));
      unchecked((this.vals[i] = unchecked(oldV[j])));
    }
  }
}

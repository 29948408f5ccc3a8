// Growable byte regions in linear memory, shared by every core's host boundary, and owned
// copies of bytes read out of them.
//
// A host writes its input into a region and reads results out of one; regions are reused
// across calls, so the steady state allocates nothing. Growth doubles, so a run of calls
// costs O(log n) reallocations.

/** A growable region: `ptr` is its start in linear memory, `cap` its size in bytes. */
@unmanaged export class Region {
  ptr: usize = 0;
  cap: usize = 0;

  /**
   * Makes the region at least `size` bytes long, keeping its first `keep` bytes.
   * Returns the (possibly moved) start pointer.
   */
  reserve(size: usize, keep: usize = 0): usize {
    if (size <= this.cap) return this.ptr;
    let cap = this.cap < 256 ? <usize>256 : this.cap;
    while (cap < size) cap <<= 1;
    let p = heap.alloc(cap);
    if (keep > 0) memory.copy(p, this.ptr, keep);
    if (this.ptr) heap.free(this.ptr);
    this.ptr = p;
    this.cap = cap;
    return p;
  }
}

/** A new ArrayBuffer holding a copy of bytes [p, p + n) (e.g. a key or value read from a frame). */
export function copyBytes(p: usize, n: usize): ArrayBuffer {
  let b = new ArrayBuffer(<i32>n);
  memory.copy(changetype<usize>(b), p, n);
  return b;
}

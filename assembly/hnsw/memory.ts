// Flat linear memory of the HNSW core: no allocator, no per-node objects.
//
// Ten regions lie back to back above the static data, 16-byte aligned, in this order:
//   SCRATCH  query vector, selected-neighbour list, heuristic buffers, CRC-32 table
//   LABELS   u32 label per internal id
//   UPPER    u32 offset into ARENA of each element's level-1 link list
//   TAGS     u16 visited tag per element (hnswlib VisitedList: reset by a new tag, not a clear)
//   MAP      label → id open-addressing table, 8 bytes per slot
//   BITS     allow-list bitset of a filtered search, 1 bit per element
//   HEAPS    candidate heap and result heap of a layer search, 8 bytes per entry
//   LEVEL0   level-0 records: links and vector of each element, contiguous
//   ARENA    link lists of levels ≥ 1, bump-allocated as elements arrive
//   IO       where the host writes inputs and reads results
// A region only ever grows. To grow some, `relayout` computes the new addresses (each at or
// above the old one), grows linear memory itself (a refusal becomes `false`, never a trap),
// then moves the live bytes of each region, last region first, so no move overwrites bytes
// not yet moved. Growing the last regions (ARENA during inserts, IO) moves little or nothing.
//
// Heap build (HNSW_HEAP defined: by `asc --use HNSW_HEAP=1`, or by a `@global` constant of
// the program, as assembly/agent/memory.ts declares): a program that also uses
// AssemblyScript's managed heap (clawft.wasm links the core beside the codec, the CLP engine
// and the agent) cannot let the core claim memory above __heap_base. There the regions lie in
// one block of that heap, laid out the same way from the block's start: `relayout` asks
// heap.realloc for the bigger block (which copies it, if it moves), then moves the regions
// within it as above. Everything that addresses a region is refreshed after a relayout,
// SCRATCH included, since the whole block may move. AssemblyScript's allocator traps when
// memory.grow is refused, so a layout past what wasm32 can hold is refused up front (`false`,
// as above); a host that caps memory lower still makes it trap, as it would any allocation of
// that program. The choice is made at compile time: the core alone (build/hnsw.wasm) compiles
// to the same bytes as without this mode.

import { H } from "./state";

export const SCRATCH: u32 = 0;
export const LABELS: u32 = 1;
export const UPPER: u32 = 2;
export const TAGS: u32 = 3;
export const MAP: u32 = 4;
export const BITS: u32 = 5;
export const HEAPS: u32 = 6;
export const LEVEL0: u32 = 7;
export const ARENA: u32 = 8;
export const IO: u32 = 9;
const REGIONS: u32 = 10;

const BASE: usize = memory.data(REGIONS << 2, 16);
const CAP: usize = memory.data(REGIONS << 2, 16);
/** Requested capacity of each region (u64, 0 = keep), consumed by relayout. */
const WANT: usize = memory.data(REGIONS << 3, 16);
/** Highest end address the core lays out: 4 GiB minus one page. */
const LIMIT: u64 = 0xFFFF0000;
/** Largest block of the heap build: TLSF's BLOCK_MAXSIZE (1 GiB − 4, std/assembly/rt/common.ts), rounded down to 16. */
const BLOCK_LIMIT: u64 = (1 << 30) - 16;

/** HNSW_HEAP is defined: the regions lie in a heap block (see above). */
// @ts-ignore: HNSW_HEAP is defined by asc --use or a @global of the program, if at all
export const HEAP_BUILD: bool = isDefined(HNSW_HEAP);

/** The heap block holding every region in the heap build (0 before the first layout). */
let block: usize = 0;

/** Start address of region `r`. */
export function base(r: u32): usize {
  return load<u32>(BASE + (r << 2));
}

/** Capacity of region `r` in bytes. */
export function capacity(r: u32): usize {
  return load<u32>(CAP + (r << 2));
}

/** Asks the next relayout for at least `bytes` in region `r`. */
export function want(r: u32, bytes: u64): void {
  store<u64>(WANT + (r << 3), bytes);
}

/** Bytes of region `r` whose contents survive a move. */
function live(r: u32): usize {
  let n = <usize>H.count;
  if (r == LABELS || r == UPPER) return n << 2;
  if (r == LEVEL0) return n * H.elemSize;
  if (r == ARENA) return H.arenaUsed;
  if (r == IO) return capacity(IO);
  return 0;
}

/**
 * Lays the regions out with capacities max(current, wanted). Returns false, with nothing
 * changed, when the layout passes 4 GiB or memory.grow is refused. Regions whose contents
 * are not live (TAGS, MAP, BITS, HEAPS) are the caller's to reset after a move.
 */
export function relayout(): bool {
  let end: u64 = HEAP_BUILD ? 0 : (<u64>__heap_base + 15) & ~15;
  for (let r: u32 = 0; r < REGIONS; r++) {
    let w = load<u64>(WANT + (r << 3));
    let c = <u64>capacity(r);
    if (w < c) w = c;
    w = (w + 15) & ~15;
    store<u64>(WANT + (r << 3), w);
    end += w;
  }
  let ok = end <= LIMIT;
  let at: usize = 0;
  if (HEAP_BUILD) {
    // TLSF aborts instead of failing: refuse what it could not hold, and what would pass
    // 4 GiB if the block had to move (old and new block both live during the copy).
    ok = end <= BLOCK_LIMIT && (<u64>memory.size() << 16) + end <= LIMIT;
    if (ok) at = block == 0 ? heap.alloc(<usize>end) : heap.realloc(block, <usize>end);
  } else if (ok) {
    let have = <u64>memory.size() << 16;
    if (end > have) ok = memory.grow(<i32>((end - have + 0xFFFF) >> 16)) >= 0;
  }
  for (let r = REGIONS; r-- > 0; ) {
    let w = load<u64>(WANT + (r << 3));
    store<u64>(WANT + (r << 3), 0);
    if (!ok) continue;
    end -= w;
    let to = <usize>end;
    let from = base(r);
    if (HEAP_BUILD) {
      to += at;
      from = from - block + at;
    }
    let n = live(r);
    if (to != from && n != 0) memory.copy(to, from, n);
    store<u32>(BASE + (r << 2), <u32>to);
    store<u32>(CAP + (r << 2), <u32>w);
  }
  if (HEAP_BUILD && ok) {
    let moved = at - block;
    H.query += moved;
    H.qcode += moved;
    H.orig += moved;
    H.sel += moved;
    H.res += moved;
    H.sorted += moved;
    H.crc += moved;
    block = at;
  }
  if (ok) sync();
  return ok;
}

/** Refreshes the region addresses cached in H. */
function sync(): void {
  H.labels = base(LABELS);
  H.upper = base(UPPER);
  H.tags = base(TAGS);
  H.map = base(MAP);
  H.bits = base(BITS);
  H.cand = base(HEAPS);
  H.top = H.cand + (<usize>H.heapCap << 3);
  H.level0 = base(LEVEL0);
  H.arena = base(ARENA);
  H.io = base(IO);
}

/** Makes the IO region at least `bytes` long; returns its address, or 0 when memory is refused. */
export function io(bytes: usize): usize {
  let c = capacity(IO);
  if (bytes > c) {
    want(IO, max<u64>(bytes, <u64>c << 1));
    if (!relayout()) return 0;
  }
  return H.io;
}

/** Makes room for `bytes` more in the arena (doubling); false when memory is refused. */
export function reserveArena(bytes: usize): bool {
  let need = <u64>H.arenaUsed + bytes;
  let c = <u64>capacity(ARENA);
  if (need <= c) return true;
  want(ARENA, max<u64>(need, c << 1));
  return relayout();
}

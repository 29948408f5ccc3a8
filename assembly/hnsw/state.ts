// The HNSW index's scalar state, in hnswlib's terms (hnswalg.h): one index per instance.
//
// Everything bigger than a word lives in the flat regions of memory.ts; the fields here are
// wasm globals (static class fields compile to globals, so every module shares them).

/** Space of an index: squared Euclidean distance. */
export const L2: u32 = 0;
/** Space of an index: inner product, distance 1 - a·b. */
export const IP: u32 = 1;
/** Space of an index: cosine, vectors normalised at insert, then distance 1 - a·b. */
export const COSINE: u32 = 2;

/** No element (empty index / no entry point). */
export const NONE: u32 = 0xFFFFFFFF;

/** Bit of a level-0 header word that marks an element deleted (hnswlib: markDelete). */
export const DELETED: u32 = 1 << 16;

/** Index parameters and counters; `ready` is false until init succeeds. */
export class H {
  static ready: bool = false;
  /** Vector length as the caller gives it. */
  static dim: u32 = 0;
  /** Floats stored per vector: dim rounded up to a multiple of 8, zero padded. */
  static dim8: u32 = 0;
  static space: u32 = 0;
  /** Links per element on levels ≥ 1 (hnswlib maxM_). */
  static M: u32 = 0;
  /** Links per element on level 0: 2·M (hnswlib maxM0_). */
  static M0: u32 = 0;
  static efConstruction: u32 = 0;
  /** Default search ef (hnswlib ef_). */
  static ef: u32 = 10;
  static maxElements: u32 = 0;
  /** Elements stored, deleted ones included (internal ids are 0 … count-1). */
  static count: u32 = 0;
  static deleted: u32 = 0;
  static entryPoint: u32 = NONE;
  static maxLevel: u32 = 0;
  /** Bytes per level-0 record: header word, M0 links, padding to 16, then the vector. */
  static elemSize: u32 = 0;
  /** Offset of the vector inside a level-0 record. */
  static vecOff: u32 = 0;
  /** Bytes per upper-level link list: count word + M links. */
  static upperSize: u32 = 0;
  /** Bytes of the upper-level arena in use. */
  static arenaUsed: u32 = 0;
  /** Level generator state (splitmix64). */
  static rng: u64 = 0;
  /** Current visited-list tag (1 … 65535); hnswlib VisitedList::curV. */
  static epoch: u32 = 0;
  static mapMask: u32 = 0;
  static mapShift: u32 = 0;
  /** Entries per search heap (maxElements + M0 + 2 at the last resize). */
  static heapCap: u32 = 0;
  /** Sink of the prefetching loads of searchLayer (kept so they are not optimised away). */
  static touch: u32 = 0;
  /** Filter of the running search: 0 none, 1 allow-list bitset, 2 host predicate. */
  static filter: u32 = 0;

  // Region addresses, refreshed after every relayout (memory.ts sync).
  static labels: usize = 0;
  static upper: usize = 0;
  static tags: usize = 0;
  static map: usize = 0;
  static bits: usize = 0;
  static cand: usize = 0;
  static top: usize = 0;
  static level0: usize = 0;
  static arena: usize = 0;
  static io: usize = 0;
  // Parts of the scratch region (fixed between inits).
  static query: usize = 0;
  static sel: usize = 0;
  static res: usize = 0;
  static sorted: usize = 0;
  static crc: usize = 0;
}

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

/** Quantization of the vectors the graph walk reads: f32 as given (normalised for cosine). */
export const Q_F32: u32 = 0;
/** Quantization: int8 codes with one scale per vector (distance.ts encodeI8). */
export const Q_I8: u32 = 1;
/** Quantization: one sign bit per component, compared by Hamming distance (distance.ts encodeB1). */
export const Q_B1: u32 = 2;

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
  /** dim rounded up to a multiple of 16: bytes of an int8 code. */
  static dim16: u32 = 0;
  /** dim rounded up to a multiple of 128: bits of a sign code. */
  static dim128: u32 = 0;
  static space: u32 = 0;
  /** Q_F32, Q_I8 or Q_B1: what the graph walk compares (the level-0 record's code). */
  static quant: u32 = 0;
  /**
   * Quantized modes: the exact f32 vectors for re-ranking live in each level-0 record (true)
   * or with the host, which hands them over through Originals.fn (false). Always true for f32.
   */
  static keep: bool = true;
  /** Bytes of the walk vector (code) in a record: 4·dim8 (f32), dim16 + 16 (i8), dim128 / 8 (b1). */
  static codeBytes: u32 = 0;
  /** Offset of the kept f32 original inside a record (quantized modes with `keep`); vecOff for f32. */
  static origOff: u32 = 0;
  /** Quantized modes: candidates re-ranked with exact f32 distances, as a multiple of k (≥ 1). */
  static rerank: u32 = 1;
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
  /** The query's code in quantized modes (the f32 query itself in f32 mode). */
  static qcode: usize = 0;
  /** Where the host copies an original for re-ranking (dim8 floats). */
  static orig: usize = 0;
  static sel: usize = 0;
  static res: usize = 0;
  static sorted: usize = 0;
  static crc: usize = 0;
}

// Error codes of the HNSW core and the INFO block every export reports through.
//
// INFO is a block of little-endian u32 words (docs/hnsw-abi.md):
//   [0] result pointer  [1] result count  [2] error code  [3] error value  [4] flag
//   [5..14] (pointer, length) of the five snapshot segments  [15] snapshot CRC-32
//   [16..31] stats (see index.ts `stats`)
// Nothing in the core traps on bad input: every failure is one of these codes.

export const INFO: usize = memory.data(128, 16);

export const OK: u32 = 0;
/** A parameter is out of range; value = which (0 dim, 1 space, 2 M, 3 efConstruction, 4 maxElements, 5 ef, 6 mode, 7 IO size, 8 quantization, 9 originals: getPoint of an index that keeps none). */
export const E_ARGUMENT: u32 = 1;
/** A vector component is NaN or infinite; value = index of the component (item · dim + j in a batch). */
export const E_NOT_FINITE: u32 = 2;
/** The index holds maxElements elements; value = maxElements. */
export const E_FULL: u32 = 3;
/** No element has this label (or it is deleted, for getPoint); value = the label. */
export const E_UNKNOWN_LABEL: u32 = 4;
/** Linear memory could not grow; value = elements or bytes wanted. */
export const E_MEMORY: u32 = 5;
/** A snapshot is not valid; value = one of the R_* reasons below. */
export const E_SNAPSHOT: u32 = 6;
/** The index has not been initialised. */
export const E_STATE: u32 = 7;

/** Snapshot reasons (value of E_SNAPSHOT). */
export const R_LENGTH: u32 = 1;
export const R_MAGIC: u32 = 2;
export const R_VERSION: u32 = 3;
export const R_PARAMS: u32 = 4;
export const R_CHECKSUM: u32 = 5;
export const R_GRAPH: u32 = 6;
export const R_VECTOR: u32 = 7;
export const R_LABELS: u32 = 8;
/** The snapshot's quantization is not the one the loader expects. */
export const R_QUANT: u32 = 9;

/** Records a failure in INFO[2..3]; returns `code`. */
export function fail(code: u32, value: u32): u32 {
  store<u32>(INFO, code, 8);
  store<u32>(INFO, value, 12);
  return code;
}

// HNSW core: raw exports for the TypeScript face and WASI hosts (docs/hnsw-abi.md).
//
// The host writes inputs into the IO region (`io(bytes)` returns its address; it may move
// after any call that adds points, resizes or loads), calls one verb, and reads the result
// through INFO (error.ts). Every verb returns an error code, 0 on success; on failure the
// index is unchanged. Two imports: `hnsw.accept(label) -> i32`, called during a search with
// filter mode 2 to ask the host whether a label may be returned, and `hnsw.original(label,
// dst) -> i32`, called while re-ranking in a quantized index that keeps no originals, for the
// host to write the label's dim f32 at `dst` (1) or say it has none (0).

import { H } from "./state";
import { io as reserveIo, capacity, IO } from "./memory";
import { INFO, OK, E_ARGUMENT, E_NOT_FINITE, E_STATE, E_UNKNOWN_LABEL, fail } from "./error";
import {
  Filter, Originals, init as initIndex, resize, addPoint, addBatch as addMany, setDeleted, knn, find, orig,
  isDeleted, filterOn, filterOff, labelOf,
} from "./graph";
import { prepare } from "./distance";
import { pop, topKey, topId } from "./heap";
import { loadBegin as begin } from "./snapshot";

export { save, loadEnd } from "./snapshot";

/**
 * First half of loading a snapshot of `total` bytes whose header the host wrote to IO[0, 64);
 * `expect` is the quantization it must have (0 f32, 1 i8, 2 b1) or 0xFFFFFFFF for any.
 */
export function loadBegin(total: u32, expect: u32): u32 {
  return begin(total, H.io, expect);
}

// @ts-ignore: decorator
@external("hnsw", "accept")
declare function accept(label: u32): bool;

function hostAccept(label: u32): bool {
  return accept(label);
}

// @ts-ignore: decorator
@external("hnsw", "original")
declare function original(label: u32, dst: usize): bool;

function hostOriginal(label: u32, dst: usize): bool {
  return original(label, dst);
}

/** Address of the INFO block. */
export function info(): usize {
  return INFO;
}

/** Makes the IO region at least `bytes` long; returns its address, 0 when memory is refused. */
export function io(bytes: usize): usize {
  return reserveIo(bytes);
}

/**
 * Sets up an empty index: `dim` floats per vector, `space` 0 l2 / 1 ip / 2 cosine, `m` links
 * per element (M0 = 2·m on level 0), `efConstruction`, room for `maxElements`, level
 * generator `seed`, `quant` 0 f32 / 1 i8 / 2 b1, and `keep` 1 when a quantized index keeps its
 * f32 originals for re-ranking (0: the host's `original` import supplies them).
 */
export function init(dim: u32, space: u32, m: u32, efConstruction: u32, maxElements: u32, seed: u32, quant: u32, keep: u32): u32 {
  return initIndex(dim, space, m, efConstruction, maxElements, seed, quant, keep != 0);
}

/** Sets the default search ef (≥ 1). */
export function setEf(ef: u32): u32 {
  if (ef == 0) return fail(E_ARGUMENT, 5);
  H.ef = ef;
  return OK;
}

/** Adds (or updates) the vector in IO[0, dim·4) under `label`. */
export function add(label: u32): u32 {
  if (!H.ready) return fail(E_STATE, 0);
  return addPoint(H.io, label);
}

/** Adds `n` vectors from IO[0, n·dim·4) under the `n` u32 labels that follow them. */
export function addBatch(n: u32): u32 {
  if (!H.ready) return fail(E_STATE, 0);
  if (<u64>n * (H.dim + 1) * 4 > <u64>capacity(IO)) return fail(E_ARGUMENT, 7);
  return addMany(n, 0, <usize>n * H.dim << 2);
}

/**
 * Searches the `n` queries in IO[0, n·dim·4) for their `k` nearest neighbours with `ef`
 * (0: the default; at least k is used). `mode` 1 restricts results to the `nf` u32 labels
 * that follow the queries, mode 2 to labels the host's `accept` approves. Quantized indexes
 * re-rank the best k·`rerank` candidates (0: the index's default) by exact distance. Results
 * follow the inputs (INFO[0] points at them): n·k u32 labels, n·k f32 distances, n u32
 * counts, each query's results nearest first. INFO[1] = results of the last query.
 */
export function search(n: u32, k: u32, ef: u32, mode: u32, nf: u32, rerank: u32): u32 {
  if (!H.ready) return fail(E_STATE, 0);
  let dim = H.dim;
  let inputs = (<u64>n * dim + nf) << 2;
  let outputs = (<u64>n * k * 2 + n) << 2;
  if (mode > 2) return fail(E_ARGUMENT, 6);
  if (inputs + outputs > <u64>capacity(IO)) return fail(E_ARGUMENT, 7);
  let io = H.io;
  let filter = io + <usize>(n * dim << 2);
  let out = io + <usize>inputs;
  let dists = out + (<usize>n * k << 2);
  let counts = dists + (<usize>n * k << 2);
  if (mode == 2) Filter.fn = hostAccept;
  Originals.fn = hostOriginal;
  filterOn(mode, filter, nf);
  let code = OK;
  let found: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let bad = prepare(H.query, io + (<usize>i * dim << 2));
    if (bad >= 0) {
      code = fail(E_NOT_FINITE, i * dim + <u32>bad);
      break;
    }
    found = knn(H.query, k, ef != 0 ? ef : H.ef, rerank);
    store<u32>(counts + (<usize>i << 2), found);
    let at = <usize>i * k + found;
    for (let j = found; j-- > 0; ) {
      at--;
      store<u32>(out + (at << 2), labelOf(topId(H.top)));
      store<f32>(dists + (at << 2), topKey(H.top));
      pop(H.top, j + 1);
    }
  }
  filterOff(mode, filter, nf);
  store<u32>(INFO, <u32>out);
  store<u32>(INFO, found, 4);
  return code;
}

/** Marks the element of `label` deleted (hnswlib markDelete); INFO[4] = 1 if it was live. */
export function markDelete(label: u32): u32 {
  if (!H.ready) return fail(E_STATE, 0);
  return setDeleted(label, true);
}

/** Unmarks the element of `label` (hnswlib unmarkDelete); INFO[4] = 1 if it was deleted. */
export function unmarkDelete(label: u32): u32 {
  if (!H.ready) return fail(E_STATE, 0);
  return setDeleted(label, false);
}

/** Changes maxElements, keeping every element (hnswlib resizeIndex). */
export function resizeIndex(maxElements: u32): u32 {
  if (!H.ready) return fail(E_STATE, 0);
  return resize(maxElements);
}

/**
 * INFO[0] = address of the stored f32 vector of `label` (dim8 floats; normalised for cosine);
 * a quantized index that keeps no originals has none (E_ARGUMENT, value 9).
 */
export function getPoint(label: u32): u32 {
  if (!H.ready) return fail(E_STATE, 0);
  if (!H.keep) return fail(E_ARGUMENT, 9);
  let id = find(label);
  if (id < 0 || isDeleted(<u32>id)) return fail(E_UNKNOWN_LABEL, label);
  store<u32>(INFO, <u32>orig(<u32>id));
  return OK;
}

/**
 * INFO[16..30] = count, deleted, maxElements, maxLevel, entry point, dim, space, M,
 * efConstruction, ef, memory pages (64 KiB), arena bytes used, level-0 record bytes,
 * quantization (bits 0-7) | originals kept (bit 8), walk-vector (code) bytes per element.
 */
export function stats(): void {
  let s = INFO + 64;
  store<u32>(s, H.count);
  store<u32>(s, H.deleted, 4);
  store<u32>(s, H.maxElements, 8);
  store<u32>(s, H.maxLevel, 12);
  store<u32>(s, H.entryPoint, 16);
  store<u32>(s, H.dim, 20);
  store<u32>(s, H.space, 24);
  store<u32>(s, H.M, 28);
  store<u32>(s, H.efConstruction, 32);
  store<u32>(s, H.ef, 36);
  store<u32>(s, <u32>memory.size(), 40);
  store<u32>(s, H.arenaUsed, 44);
  store<u32>(s, H.elemSize, 48);
  store<u32>(s, H.quant | (H.keep ? 0x100 : 0), 52);
  store<u32>(s, H.codeBytes, 56);
}

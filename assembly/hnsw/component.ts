// HNSW index as a WASI preview2 component: the `clawft:hnsw/index` interface of wit/hnsw.wit,
// lowered by hand (assembly/abi/canonical.ts). Export names follow the build's convention
// `<interface>__<function>`, renamed by scripts/build.mjs to canonical names.
//
// The core owns all of linear memory (memory.ts), so this entry brings its own cabi_realloc:
// parameter lists are bump-allocated in the IO region and released when the call returns.
// A relayout (adding, resizing, loading) may move IO, so parameters are kept as offsets.

import { H } from "./state";
import { io } from "./memory";
import { INFO, OK, E_ARGUMENT, E_NOT_FINITE, E_UNKNOWN_LABEL, E_MEMORY, E_STATE, fail } from "./error";
import {
  init as initIndex, resize, addPoint, addBatch, setDeleted, knn, find, orig, isDeleted, filterOn, filterOff, labelOf,
} from "./graph";
import { prepare } from "./distance";
import { pop, topKey, topId } from "./heap";
import { save as saveSegments, loadBegin, loadEnd } from "./snapshot";
import { RET, returnError, returnOkList } from "../abi/canonical";

/** Bytes of IO handed out by cabi_realloc for the current call's parameters. */
let used: usize = 0;

const MESSAGES: StaticArray<string> = [
  "",
  "argument out of range",
  "vector component is NaN or infinite",
  "index is full (max-elements); resize it first",
  "no live element has this label",
  "out of memory",
  "snapshot refused",
  "index not initialised: call init or load",
];

/** Canonical ABI realloc: bump allocation in IO (traps only if memory cannot grow). */
export function cabi_realloc(old: usize, oldSize: usize, align: usize, newSize: usize): usize {
  let at = (used + align - 1) & ~(align - 1);
  let base = io(at + newSize);
  if (base == 0) unreachable();
  if (old != 0) memory.copy(base + at, old, min(oldSize, newSize));
  used = at + newSize;
  return base + at;
}

/** Ends a call: releases the parameters, lowers `code` (0: ok without payload). */
function done(code: u32): usize {
  used = 0;
  if (code == OK) {
    store<u8>(RET, 0);
    return RET;
  }
  let text = MESSAGES[code];
  return returnError(code, load<u32>(INFO, 12), changetype<usize>(text), <usize>text.length);
}

/** The error for a vector of `len` floats in an index of another dimension, or -1. */
function checkLength(len: usize): i32 {
  if (!H.ready) return fail(E_STATE, 0);
  return len == <usize>H.dim ? -1 : fail(E_ARGUMENT, <u32>len);
}

/** init: func(dim, space, m, ef-construction, max-elements, seed, quantization) -> result<_, hnsw-error> */
export function index__init(dim: u32, space: u32, m: u32, efc: u32, max: u32, seed: u32, quant: u32): usize {
  // The originals stay in the records: a component has no host to re-rank from.
  return done(initIndex(dim, space, m, efc, max, seed, quant, true));
}

/** add-point: func(vector: list<f32>, label: u32) -> result<_, hnsw-error> */
export function index__add_point(ptr: usize, len: usize, label: u32): usize {
  let bad = checkLength(len);
  return done(bad >= 0 ? <u32>bad : addPoint(ptr, label));
}

/** add-batch: func(vectors: list<f32>, labels: list<u32>) -> result<_, hnsw-error> */
export function index__add_batch(vptr: usize, vlen: usize, lptr: usize, llen: usize): usize {
  let bad = checkLength(llen == 0 ? <usize>H.dim : vlen / llen);
  if (bad < 0 && <u64>vlen != <u64>llen * H.dim) bad = fail(E_ARGUMENT, <u32>vlen);
  return done(bad >= 0 ? <u32>bad : addBatch(<u32>llen, vptr - H.io, lptr - H.io));
}

/** One search; the neighbours are lowered at IO[0, found·8). */
function search(ptr: usize, len: usize, k: u32, ef: u32, mode: u32, allow: usize, nf: usize): usize {
  let bad = checkLength(len);
  if (bad < 0) {
    let j = prepare(H.query, ptr);
    if (j >= 0) bad = fail(E_NOT_FINITE, <u32>j);
  }
  if (bad >= 0) return done(<u32>bad);
  filterOn(mode, allow, <u32>nf);
  let found = knn(H.query, k, ef != 0 ? ef : H.ef);
  filterOff(mode, allow, <u32>nf);
  let out = io(used + (<usize>found << 3)) + used; // after the parameters, which stay readable
  for (let j = found; j-- > 0; ) {
    let at = out + (<usize>j << 3);
    store<u32>(at, labelOf(topId(H.top)));
    store<f32>(at, topKey(H.top), 4);
    pop(H.top, j + 1);
  }
  used = 0;
  return returnOkList(out, found);
}

/** search-knn: func(query: list<f32>, k: u32, ef: u32) -> result<list<neighbor>, hnsw-error> */
export function index__search_knn(ptr: usize, len: usize, k: u32, ef: u32): usize {
  return search(ptr, len, k, ef, 0, 0, 0);
}

/** search-filtered: func(query: list<f32>, k: u32, ef: u32, allow: list<u32>) -> result<list<neighbor>, hnsw-error> */
export function index__search_filtered(ptr: usize, len: usize, k: u32, ef: u32, allow: usize, nf: usize): usize {
  return search(ptr, len, k, ef, 1, allow, nf);
}

function deleted(label: u32, on: bool): usize {
  if (!H.ready) return done(fail(E_STATE, 0));
  let code = setDeleted(label, on);
  if (code != OK) return done(code);
  store<u8>(RET, 0);
  store<u8>(RET, <u8>load<u32>(INFO, 16), 4);
  return RET;
}

/** mark-delete: func(label: u32) -> result<bool, hnsw-error> */
export function index__mark_delete(label: u32): usize {
  return deleted(label, true);
}

/** unmark-delete: func(label: u32) -> result<bool, hnsw-error> */
export function index__unmark_delete(label: u32): usize {
  return deleted(label, false);
}

/** resize-index: func(max-elements: u32) -> result<_, hnsw-error> */
export function index__resize_index(max: u32): usize {
  return done(H.ready ? resize(max) : fail(E_STATE, 0));
}

/** get-point: func(label: u32) -> result<list<f32>, hnsw-error> */
export function index__get_point(label: u32): usize {
  if (!H.ready) return done(fail(E_STATE, 0));
  let id = find(label);
  if (id < 0 || isDeleted(<u32>id)) return done(fail(E_UNKNOWN_LABEL, label));
  return returnOkList(orig(<u32>id), H.dim);
}

/** size: func() -> u32 */
export function index__size(): u32 {
  return H.count - H.deleted;
}

/** save: func() -> result<list<u8>, hnsw-error> */
export function index__save(): usize {
  if (!H.ready) return done(fail(E_STATE, 0));
  saveSegments();
  let total: usize = 4;
  for (let i: usize = 0; i < 5; i++) total += load<u32>(INFO + 24 + (i << 3));
  let out = io(total);
  if (out == 0) return done(fail(E_MEMORY, <u32>total));
  let o = out;
  for (let i: usize = 0; i < 5; i++) {
    let n = <usize>load<u32>(INFO + 24 + (i << 3));
    memory.copy(o, load<u32>(INFO + 20 + (i << 3)), n);
    o += n;
  }
  store<u32>(o, load<u32>(INFO, 60));
  return returnOkList(out, total);
}

/** load: func(snapshot: list<u8>) -> result<_, hnsw-error> */
export function index__load(ptr: usize, len: usize): usize {
  let off = ptr - H.io;
  let code = loadBegin(<u32>len, ptr);
  if (code != OK) return done(code);
  // init moved IO (and the snapshot with it): copy each segment from its new place.
  let src = H.io + off + 64;
  for (let i: usize = 1; i < 5; i++) {
    let n = <usize>load<u32>(INFO + 24 + (i << 3));
    memory.copy(load<u32>(INFO + 20 + (i << 3)), src, n);
    src += n;
  }
  return done(loadEnd(load<u32>(src)));
}

// Hierarchical Navigable Small World graph: Malkov & Yashunin, "Efficient and robust
// approximate nearest neighbor search using Hierarchical Navigable Small World graphs"
// (TPAMI 2018), following hnswlib's hnswalg.h (names in comments) function by function.
//
// Level-0 record of element `id` at level0 + id·elemSize:
//   u32 header: link count (bits 0-15) | deleted (bit 16) | level (bits 24-31)
//   M0 × u32 links, zero padding to 16 bytes, then the walk vector: dim8 × f32 (zero padded)
//   or, quantized, its code (distance.ts), then the exact f32 original when the index keeps it
// Quantized search walks the graph on codes and re-ranks the best k·rerank candidates with
// exact f32 distances to the originals (knn), as USearch and EdgeVec (`searchBQRescored`) do.
// Upper link list of `id` on level l ≥ 1 at arena + upper[id] + (l-1)·upperSize:
//   u32 count, M × u32 links

import { H, NONE, DELETED, COSINE, Q_F32, Q_I8, Q_B1 } from "./state";
import { dist, distInline, distF32, encode, prepare } from "./distance";
import { push, pop, topKey, topId } from "./heap";
import { SCRATCH, LABELS, UPPER, TAGS, MAP, BITS, HEAPS, LEVEL0, base, capacity, want, relayout, reserveArena } from "./memory";
import { OK, E_ARGUMENT, E_NOT_FINITE, E_FULL, E_UNKNOWN_LABEL, E_MEMORY, fail, INFO } from "./error";

/** The predicate of a filtered search in mode 2 (set by the raw ABI to call its host). */
export class Filter {
  static fn: (label: u32) => bool = acceptAll;
}

function acceptAll(label: u32): bool {
  return true;
}

/**
 * Where a quantized index that does not keep its originals (H.keep false) gets them for
 * re-ranking: `fn(label, dst)` writes the label's H.dim f32 components at `dst` and returns
 * true, or returns false when it has none. Set by the raw ABI to call its host.
 */
export class Originals {
  static fn: (label: u32, dst: usize) => bool = noOriginal;
}

function noOriginal(label: u32, dst: usize): bool {
  return false;
}

// ---------------------------------------------------------------- element access

@inline export function record(id: u32): usize {
  return H.level0 + <usize>id * H.elemSize;
}

@inline export function vec(id: u32): usize {
  return H.level0 + <usize>id * H.elemSize + H.vecOff;
}

/** The exact f32 original of `id` (dim8 floats): the vector itself in f32 mode; only when H.keep. */
@inline export function orig(id: u32): usize {
  return H.level0 + <usize>id * H.elemSize + H.origOff;
}

@inline export function levelOf(id: u32): u32 {
  return load<u32>(record(id)) >>> 24;
}

@inline export function isDeleted(id: u32): bool {
  return (load<u32>(record(id)) & DELETED) != 0;
}

@inline export function labelOf(id: u32): u32 {
  return load<u32>(H.labels + (<usize>id << 2));
}

/** Link list of `id` on `level` (hnswlib get_linklist0 / get_linklist). */
@inline export function links(id: u32, level: u32): usize {
  return level == 0
    ? record(id)
    : H.arena + load<u32>(H.upper + (<usize>id << 2)) + <usize>(level - 1) * H.upperSize;
}

@inline export function linkCount(list: usize): u32 {
  return load<u32>(list) & 0xffff;
}

@inline function setLinkCount(list: usize, n: u32): void {
  store<u32>(list, (load<u32>(list) & 0xffff0000) | n);
}

/** Starts a new visited set; clears the tags only when the 16-bit tag wraps. */
export function newEpoch(): u32 {
  let e = H.epoch + 1;
  if (e > 0xffff) {
    memory.fill(H.tags, 0, <usize>H.maxElements << 1);
    e = 1;
  }
  H.epoch = e;
  return e;
}

// ---------------------------------------------------------------- labels

/** Internal id of `label`, or -1 (hnswlib label_lookup_). */
export function find(label: u32): i32 {
  let i = (label * 0x9e3779b1) >>> H.mapShift;
  while (true) {
    let at = H.map + (<usize>i << 3);
    let v = load<u32>(at, 4);
    if (v == 0) return -1;
    if (load<u32>(at) == label) return <i32>(v - 1);
    i = (i + 1) & H.mapMask;
  }
}

/** Rebuilds the label map from LABELS; false if two elements share a label. */
export function rebuildMap(): bool {
  memory.fill(H.map, 0, <usize>(H.mapMask + 1) << 3);
  for (let id: u32 = 0; id < H.count; id++) {
    let label = labelOf(id);
    if (find(label) >= 0) return false;
    mapInsert(label, id);
  }
  return true;
}

function mapInsert(label: u32, id: u32): void {
  let i = (label * 0x9e3779b1) >>> H.mapShift;
  while (load<u32>(H.map + (<usize>i << 3), 4) != 0) i = (i + 1) & H.mapMask;
  let at = H.map + (<usize>i << 3);
  store<u32>(at, label);
  store<u32>(at, id + 1, 4);
}

// ---------------------------------------------------------------- setup

/**
 * Sets up an empty index (any previous one is dropped). Parameters as hnswlib's initIndex;
 * `seed` seeds the level generator; `quant` Q_F32, Q_I8 or Q_B1; `keep` (quantized modes):
 * the records keep the exact f32 originals for re-ranking, else Originals.fn supplies them.
 * Returns OK, E_ARGUMENT or E_MEMORY.
 */
export function init(dim: u32, space: u32, m: u32, efc: u32, maxElements: u32, seed: u64, quant: u32 = Q_F32, keep: bool = true): u32 {
  if (dim == 0 || dim > 65536) return fail(E_ARGUMENT, 0);
  if (space > COSINE) return fail(E_ARGUMENT, 1);
  if (m < 2 || m > 32767) return fail(E_ARGUMENT, 2);
  if (efc == 0) return fail(E_ARGUMENT, 3);
  if (quant > Q_B1) return fail(E_ARGUMENT, 8);
  H.ready = false;
  H.count = 0;
  H.deleted = 0;
  H.entryPoint = NONE;
  H.maxLevel = 0;
  H.arenaUsed = 0;
  H.filter = 0;
  H.dim = dim;
  H.dim8 = (dim + 7) & ~7;
  H.dim16 = (dim + 15) & ~15;
  H.dim128 = (dim + 127) & ~127;
  H.space = space;
  H.quant = quant;
  H.keep = quant == Q_F32 || keep;
  H.codeBytes = <u32>codeBytes(dim, quant);
  // Re-ranking a few times k candidates recovers what the code loses (docs/hnsw.md, figures).
  H.rerank = quant == Q_B1 ? 16 : quant == Q_I8 ? 2 : 1;
  H.M = m;
  H.M0 = m << 1;
  H.efConstruction = efc;
  H.ef = 10;
  H.rng = seed;
  H.vecOff = (((H.M0 + 1) << 2) + 15) & ~15;
  H.origOff = quant == Q_F32 ? H.vecOff : H.vecOff + H.codeBytes;
  H.elemSize = <u32>recordBytes(dim, m, quant, H.keep);
  H.upperSize = (m + 1) << 2;
  // Scratch: query (f32, then its code and a host-supplied original in quantized modes),
  // selected neighbours, heuristic result, heuristic input, CRC-32 tables.
  let q: usize = quant == Q_F32 ? <usize>H.dim8 << 2 : (<usize>H.dim8 << 3) + H.codeBytes;
  let sel: usize = ((<usize>H.M0 << 2) + 15) & ~15;
  let res: usize = <usize>(H.M0 + 2) << 3;
  let sorted: usize = <usize>(max<u32>(efc, H.M0 + 1) + 2) << 3;
  want(SCRATCH, q + sel + res + sorted + 4096);
  let r = resize(maxElements);
  if (r != OK) return r;
  let s = base(SCRATCH);
  H.query = s;
  H.qcode = quant == Q_F32 ? s : s + (<usize>H.dim8 << 2);
  H.orig = H.qcode + H.codeBytes;
  H.sel = s + q;
  H.res = H.sel + sel;
  H.sorted = H.res + res;
  H.crc = H.sorted + sorted;
  // CRC-32 tables for slice-by-4 (snapshot.ts): T0 the bytewise table, Tk[i] = T(k-1)[i] advanced one byte.
  let t = H.crc;
  for (let i: usize = 0; i < 256; i++) {
    let c = <u32>i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    store<u32>(t + (i << 2), c);
  }
  for (let i: usize = 256; i < 1024; i++) {
    let prev = load<u32>(t + ((i - 256) << 2));
    store<u32>(t + (i << 2), (prev >>> 8) ^ load<u32>(t + ((prev & 0xff) << 2)));
  }
  H.ready = true;
  return OK;
}

/**
 * Bytes of a level-0 record: header and 2·m links padded to 16, then the walk vector (dim
 * floats padded to 8, or its code), then the f32 original when a quantized index keeps it.
 */
export function recordBytes(dim: u32, m: u32, quant: u32 = Q_F32, keep: bool = true): u64 {
  let floats = <u64>((dim + 7) & ~7) << 2;
  return ((<u64>m * 8 + 4 + 15) & ~15) + codeBytes(dim, quant) + (quant != Q_F32 && keep ? floats : 0);
}

/** Bytes of a walk vector: dim8 floats (f32), dim16 codes + scale, norm and 8 zero bytes (i8), dim128 bits (b1). */
export function codeBytes(dim: u32, quant: u32): u64 {
  if (quant == Q_I8) return <u64>((dim + 15) & ~15) + 16;
  if (quant == Q_B1) return <u64>((dim + 127) & ~127) >> 3;
  return <u64>((dim + 7) & ~7) << 2;
}

/**
 * Changes maxElements (hnswlib resizeIndex), keeping every element. Returns OK, E_ARGUMENT
 * (fewer than the elements stored) or E_MEMORY (then nothing changed).
 */
export function resize(max: u32): u32 {
  if (max < H.count) return fail(E_ARGUMENT, 4);
  let n = <u64>max;
  let mapCap: u64 = 16;
  while (mapCap < n << 1) mapCap <<= 1;
  let heapCap = n + H.M0 + 2;
  want(LABELS, n << 2);
  want(UPPER, n << 2);
  want(TAGS, n << 1);
  want(MAP, mapCap << 3);
  want(BITS, ((n + 31) >> 5) << 2);
  want(HEAPS, heapCap << 4);
  want(LEVEL0, n * H.elemSize);
  let old = H.heapCap;
  H.heapCap = <u32>heapCap;
  if (!relayout()) {
    H.heapCap = old;
    return fail(E_MEMORY, max);
  }
  H.maxElements = max;
  memory.fill(H.tags, 0, capacity(TAGS));
  memory.fill(H.bits, 0, capacity(BITS));
  H.epoch = 0;
  H.mapMask = <u32>mapCap - 1;
  H.mapShift = 32 - <u32>ctz(mapCap);
  rebuildMap();
  return OK;
}

/** Next level from the generator (hnswlib getRandomLevel: floor(-ln(u)·mult), mult = 1/ln M). */
function randomLevel(): u32 {
  // splitmix64
  let z = (H.rng += 0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  z ^= z >> 31;
  // u in (0, 1]; floor(-ln(u)/ln(M)) ≥ l  ⇔  u ≤ M^-l, so count the powers of 1/M above u.
  let u = 1.0 - <f64>(z >> 11) * (1.0 / 9007199254740992.0);
  let p = 1.0 / <f64>H.M;
  let step = p;
  let level: u32 = 0;
  while (u <= p && level < 255) {
    level++;
    p *= step;
  }
  return level;
}

// ---------------------------------------------------------------- search

/** May element `id` enter a result set? (not deleted, and passes the search's filter) */
@inline function allowed(id: u32): bool {
  if (isDeleted(id)) return false;
  let f = H.filter;
  if (f == 0) return true;
  if (f == 1) return (load<u32>(H.bits + ((<usize>id >> 5) << 2)) & (1 << (id & 31))) != 0;
  return Filter.fn(labelOf(id));
}

/**
 * Greedy descent from the entry point over levels `from` … `to`+1 (hnswlib searchKnn's and
 * addPoint's upper-level loop). Returns the closest element found.
 */
function greedy(q: usize, from: u32, to: u32): u32 {
  let cur = H.entryPoint;
  let best = dist(q, vec(cur));
  for (let level = from; level > to; level--) {
    let changed = true;
    while (changed) {
      changed = false;
      let list = links(cur, level);
      let n = linkCount(list);
      for (let i: u32 = 1; i <= n; i++) {
        let e = load<u32>(list + (<usize>i << 2));
        let d = dist(q, vec(e));
        if (d < best) {
          best = d;
          cur = e;
          changed = true;
        }
      }
    }
  }
  return cur;
}

/**
 * Best-first search of one level from `ep` (hnswlib searchBaseLayer / searchBaseLayerST):
 * leaves the `ef` closest allowed elements found in the TOP heap and returns their number.
 * Deleted and filtered-out elements are still walked through, so the graph stays connected.
 */
function searchLayer(ep: u32, q: usize, level: u32, ef: u32): u32 {
  let epoch = newEpoch();
  let tags = H.tags;
  let cand = H.cand;
  let top = H.top;
  let bare = H.deleted == 0 && H.filter == 0;
  let buf = H.sel;
  let touch: u32 = 0;
  let lineSpan = min<usize>(<usize>H.codeBytes, 2048);
  let nc: u32 = 1;
  let nt: u32 = 0;
  let d = dist(q, vec(ep));
  let lower = Infinity as f32;
  if (bare || allowed(ep)) {
    push(top, 0, d, ep);
    nt = 1;
    lower = d;
  }
  push(cand, 0, -d, ep);
  store<u16>(tags + (<usize>ep << 1), <u16>epoch);
  while (nc != 0) {
    if (-topKey(cand) > lower && (nt == ef || bare)) break;
    let c = topId(cand);
    pop(cand, nc--);
    // Tag the unvisited neighbours and touch each one's vector (wasm has no prefetch; hnswlib
    // uses _mm_prefetch), so their cache misses overlap; then measure them.
    let list = links(c, level);
    let n = linkCount(list);
    let m: u32 = 0;
    for (let i: u32 = 1; i <= n; i++) {
      let e = load<u32>(list + (<usize>i << 2));
      let t = tags + (<usize>e << 1);
      if (<u32>load<u16>(t) == epoch) continue;
      store<u16>(t, <u16>epoch);
      store<u32>(buf + (<usize>(m++) << 2), e);
      let v = vec(e);
      for (let end = v + lineSpan; v < end; v += 64) touch ^= load<u32>(v);
    }
    for (let i: u32 = 0; i < m; i++) {
      let e = load<u32>(buf + (<usize>i << 2));
      let de = distInline(q, vec(e));
      if (nt < ef || de < lower) {
        push(cand, nc++, -de, e);
        if (bare || allowed(e)) {
          push(top, nt++, de, e);
          if (nt > ef) pop(top, nt--);
        }
        if (nt != 0) lower = topKey(top);
      }
    }
  }
  H.touch = touch;
  return nt;
}

/**
 * k nearest allowed elements to the prepared f32 query at `q` (hnswlib searchKnn); leaves
 * them in the TOP heap (popping yields the farthest first) and returns how many. Quantized:
 * walks with the query's code, keeps the best k·`rerank` (0: the index's H.rerank) of at least
 * that many candidates and orders them by exact f32 distance, which are the distances left.
 */
export function knn(q: usize, k: u32, ef: u32, rerank: u32 = 0): u32 {
  if (H.entryPoint == NONE || k == 0) return 0;
  let walk = q;
  let keep = k;
  if (H.quant != Q_F32) {
    encode(H.qcode, q);
    walk = H.qcode;
    keep = <u32>min<u64>(<u64>k * (rerank != 0 ? rerank : H.rerank), H.count);
  }
  let cur = greedy(walk, H.maxLevel, 0);
  let nt = searchLayer(cur, walk, 0, max<u32>(ef, keep));
  while (nt > keep) pop(H.top, nt--);
  if (H.quant != Q_F32) nt = rescore(q, nt);
  while (nt > k) pop(H.top, nt--);
  return nt;
}

/**
 * Replaces the code distances of the `nt` TOP entries with exact f32 distances between the
 * query `q` and the originals (kept in the records, or from Originals.fn; one it cannot give
 * ranks last, at +∞) and rebuilds the heap. Returns nt.
 */
function rescore(q: usize, nt: u32): u32 {
  let top = H.top;
  let cand = H.cand;
  memory.copy(cand, top, <usize>nt << 3);
  for (let i: u32 = 0; i < nt; i++) {
    let at = cand + (<usize>i << 3);
    let id = load<u32>(at, 4);
    let d = Infinity as f32;
    if (H.keep) {
      d = distF32(q, orig(id));
    } else {
      let o = H.orig;
      memory.fill(o, 0, <usize>H.dim8 << 2);
      if (Originals.fn(labelOf(id), o) && prepare(o, o) < 0) d = distF32(q, o);
    }
    push(top, i, d, id);
  }
  return nt;
}

// ---------------------------------------------------------------- construction

/**
 * Neighbour-selection heuristic (paper algorithm 4; hnswlib getNeighborsByHeuristic2):
 * keeps, closest first, each of the `nt` TOP entries that is closer to the base than to
 * every entry kept so far, up to `m`. Returns the new TOP size.
 */
function heuristic(nt: u32, m: u32): u32 {
  if (nt < m) return nt;
  let top = H.top;
  let sorted = H.sorted;
  let res = H.res;
  for (let i = nt; i-- > 0; ) {
    store<u64>(sorted + (<usize>i << 3), load<u64>(top));
    pop(top, i + 1);
  }
  let r: u32 = 0;
  for (let i: u32 = 0; i < nt && r < m; i++) {
    let at = sorted + (<usize>i << 3);
    let d = load<f32>(at);
    let ve = vec(load<u32>(at, 4));
    let good = true;
    for (let j: u32 = 0; j < r; j++) {
      if (dist(vec(load<u32>(res + (<usize>j << 3), 4)), ve) < d) {
        good = false;
        break;
      }
    }
    if (good) store<u64>(res + (<usize>(r++) << 3), load<u64>(at));
  }
  for (let j: u32 = 0; j < r; j++) {
    let at = res + (<usize>j << 3);
    push(top, j, load<f32>(at), load<u32>(at, 4));
  }
  return r;
}

/** Writes the TOP heap's `n` ids into `list` (farthest first) and sets its count. */
function writeList(list: usize, n: u32): void {
  for (let j: u32 = 0; j < n; j++) {
    store<u32>(list + (<usize>(j + 1) << 2), topId(H.top));
    pop(H.top, n - j);
  }
  setLinkCount(list, n);
}

/**
 * Links `id` on `level` to the heuristic's pick of the `nt` TOP entries and each of them back
 * to `id`, re-pruning full lists (hnswlib mutuallyConnectNewElement). Returns the closest pick.
 */
function connect(id: u32, level: u32, nt: u32, update: bool): u32 {
  let mcur = level != 0 ? H.M : H.M0;
  nt = heuristic(nt, H.M);
  let sel = H.sel;
  let top = H.top;
  for (let i: u32 = 0; i < nt; i++) {
    store<u32>(sel + (<usize>i << 2), topId(top));
    pop(top, nt - i);
  }
  let own = links(id, level);
  setLinkCount(own, nt);
  memory.copy(own + 4, sel, <usize>nt << 2);
  let vq = vec(id);
  for (let i: u32 = 0; i < nt; i++) {
    let s = load<u32>(sel + (<usize>i << 2));
    let list = links(s, level);
    let sz = linkCount(list);
    if (update && has(list, sz, id)) continue;
    if (sz < mcur) {
      store<u32>(list + (<usize>(sz + 1) << 2), id);
      setLinkCount(list, sz + 1);
    } else {
      let vs = vec(s);
      push(top, 0, dist(vq, vs), id);
      for (let j: u32 = 1; j <= sz; j++) {
        let e = load<u32>(list + (<usize>j << 2));
        push(top, j, dist(vec(e), vs), e);
      }
      writeList(list, heuristic(sz + 1, mcur));
    }
  }
  return load<u32>(sel + (<usize>(nt - 1) << 2));
}

function has(list: usize, n: u32, id: u32): bool {
  for (let j: u32 = 1; j <= n; j++) if (load<u32>(list + (<usize>j << 2)) == id) return true;
  return false;
}

/**
 * Adds the vector at `src` (H.dim floats) under `label`, or, when the label exists, replaces
 * its vector and repairs its links (hnswlib addPoint / updatePoint). Returns OK, E_NOT_FINITE,
 * E_FULL or E_MEMORY; on failure nothing changed.
 */
export function addPoint(src: usize, label: u32): u32 {
  let q = H.query;
  let bad = prepare(q, src);
  if (bad >= 0) return fail(E_NOT_FINITE, bad);
  encode(H.qcode, q);
  let found = find(label);
  if (found >= 0) {
    update(<u32>found);
    return OK;
  }
  if (H.count >= H.maxElements) return fail(E_FULL, H.maxElements);
  let saved = H.rng;
  let level = randomLevel();
  if (!reserveArena(<usize>level * H.upperSize)) {
    H.rng = saved;
    return fail(E_MEMORY, level * H.upperSize);
  }
  // Fresh link lists are zeroed whole: regions that moved leave stale bytes behind, and a
  // snapshot must carry nothing but the index.
  let id = H.count;
  let rec = record(id);
  memory.fill(rec, 0, H.vecOff);
  store<u32>(rec, level << 24);
  writeVector(rec);
  store<u32>(H.labels + (<usize>id << 2), label);
  store<u32>(H.upper + (<usize>id << 2), H.arenaUsed);
  memory.fill(H.arena + H.arenaUsed, 0, level * H.upperSize);
  H.arenaUsed += level * H.upperSize;
  mapInsert(label, id);
  H.count = id + 1;

  let ep = H.entryPoint;
  if (ep == NONE) {
    H.entryPoint = id;
    H.maxLevel = level;
    return OK;
  }
  let top = H.maxLevel;
  let vq = vec(id);
  let cur = level < top ? greedy(vq, top, level) : ep;
  let epDeleted = isDeleted(ep);
  for (let l = <i32>min(level, top); l >= 0; l--) {
    let nt = searchLayer(cur, vq, l, H.efConstruction);
    if (epDeleted) {
      push(H.top, nt++, dist(vq, vec(ep)), ep);
      if (nt > H.efConstruction) pop(H.top, nt--);
    }
    if (nt != 0) cur = connect(id, l, nt, false);
  }
  if (level > top) {
    H.entryPoint = id;
    H.maxLevel = level;
  }
  return OK;
}

/** Appends `e` to the candidate list at H.cand unless it is tagged already. */
@inline function collect(e: u32, n: u32, epoch: u32): u32 {
  let t = H.tags + (<usize>e << 1);
  if (<u32>load<u16>(t) == epoch) return n;
  store<u16>(t, <u16>epoch);
  store<u32>(H.cand + (<usize>n << 2), e);
  return n + 1;
}

/**
 * Writes the prepared vector (H.query, H.qcode) into the record at `rec`: its walk vector and,
 * when a quantized index keeps it, its original. SCRATCH is read afresh: in the heap build
 * (memory.ts) the arena's growth may have moved it with the block.
 */
function writeVector(rec: usize): void {
  memory.copy(rec + H.vecOff, H.qcode, <usize>H.codeBytes);
  if (H.quant != Q_F32 && H.keep) memory.copy(rec + H.origOff, H.query, <usize>H.dim8 << 2);
}

/**
 * Replaces the vector of `id` with the prepared one (H.query, H.qcode) and repairs the graph
 * around it (hnswlib updatePoint with updateNeighborProbability 1, then repairConnectionsForUpdate).
 */
function update(id: u32): void {
  let rec = record(id);
  let h = load<u32>(rec);
  if (h & DELETED) {
    store<u32>(rec, h & ~DELETED);
    H.deleted--;
  }
  writeVector(rec);
  if (H.entryPoint == id && H.count == 1) return;
  let level = levelOf(id);
  let efc = H.efConstruction;
  let top = H.top;
  for (let layer: u32 = 0; layer <= level; layer++) {
    let own = links(id, layer);
    let n1 = linkCount(own);
    if (n1 == 0) continue;
    // Candidates: the element, its neighbours and their neighbours.
    let epoch = newEpoch();
    let ns = collect(id, 0, epoch);
    for (let i: u32 = 1; i <= n1; i++) {
      let e = load<u32>(own + (<usize>i << 2));
      ns = collect(e, ns, epoch);
      let two = links(e, layer);
      let n2 = linkCount(two);
      for (let j: u32 = 1; j <= n2; j++) ns = collect(load<u32>(two + (<usize>j << 2)), ns, epoch);
    }
    // Each neighbour re-picks its links among the candidates.
    let keep = min(efc, ns - 1);
    for (let i: u32 = 1; i <= n1; i++) {
      let e = load<u32>(own + (<usize>i << 2));
      let ve = vec(e);
      let nt: u32 = 0;
      for (let j: u32 = 0; j < ns; j++) {
        let c = load<u32>(H.cand + (<usize>j << 2));
        if (c == e) continue;
        let d = dist(ve, vec(c));
        if (nt < keep) {
          push(top, nt++, d, c);
        } else if (d < topKey(top)) {
          pop(top, nt--);
          push(top, nt++, d, c);
        }
      }
      writeList(links(e, layer), heuristic(nt, layer != 0 ? H.M : H.M0));
    }
  }
  // Re-link the element as if inserted at its level.
  let maxLevel = H.maxLevel;
  let vq = vec(id);
  let cur = level < maxLevel ? greedy(vq, maxLevel, level) : H.entryPoint;
  for (let l = <i32>level; l >= 0; l--) {
    let nt = drop(searchLayer(cur, vq, l, efc), id);
    if (nt == 0) continue;
    let ep = H.entryPoint;
    if (ep != id && isDeleted(ep)) {
      push(top, nt++, dist(vq, vec(ep)), ep);
      if (nt > efc) pop(top, nt--);
    }
    cur = connect(id, <u32>l, nt, true);
  }
}

/** Removes `id` from the TOP heap of `nt` entries; returns the new size. */
function drop(nt: u32, id: u32): u32 {
  let top = H.top;
  let sorted = H.sorted;
  let m: u32 = 0;
  for (let i: u32 = 0; i < nt; i++) {
    let at = top + (<usize>i << 3);
    if (load<u32>(at, 4) != id) store<u64>(sorted + (<usize>(m++) << 3), load<u64>(at));
  }
  if (m == nt) return nt;
  for (let i: u32 = 0; i < m; i++) {
    let at = sorted + (<usize>i << 3);
    push(top, i, load<f32>(at), load<u32>(at, 4));
  }
  return m;
}

/**
 * Adds `n` vectors (n·dim floats at H.io + `vecAt`) under the `n` labels at H.io + `labelAt`.
 * Everything is checked first, so a failure leaves the index unchanged. A label repeated in
 * the batch counts once per occurrence against maxElements.
 */
export function addBatch(n: u32, vecAt: usize, labelAt: usize): u32 {
  let dim = H.dim;
  let saved = H.rng;
  let fresh: u64 = 0;
  let need: u64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    let v = H.io + vecAt + (<usize>i * dim << 2);
    for (let j: u32 = 0; j < dim; j++) {
      if (!isFinite<f32>(load<f32>(v + (<usize>j << 2)))) {
        H.rng = saved;
        return fail(E_NOT_FINITE, i * dim + j);
      }
    }
    if (find(load<u32>(H.io + labelAt + (<usize>i << 2))) < 0) {
      fresh++;
      need += <u64>randomLevel() * H.upperSize;
    }
  }
  H.rng = saved;
  if (<u64>H.count + fresh > <u64>H.maxElements) return fail(E_FULL, H.maxElements);
  if (need > 0xffffffff || !reserveArena(<usize>need)) return fail(E_MEMORY, <u32>min<u64>(need, 0xffffffff));
  for (let i: u32 = 0; i < n; i++) {
    // IO may move while the arena grows: address it afresh each time.
    addPoint(H.io + vecAt + (<usize>i * dim << 2), load<u32>(H.io + labelAt + (<usize>i << 2)));
  }
  return OK;
}

/** Marks (`on`) or unmarks the element of `label` deleted; INFO[4] = 1 when it changed. */
export function setDeleted(label: u32, on: bool): u32 {
  let id = find(label);
  if (id < 0) return fail(E_UNKNOWN_LABEL, label);
  let rec = record(<u32>id);
  let h = load<u32>(rec);
  let was = (h & DELETED) != 0;
  store<u32>(INFO, <u32>(was != on), 16);
  if (was != on) {
    store<u32>(rec, on ? h | DELETED : h & ~DELETED);
    if (on) H.deleted++;
    else H.deleted--;
  }
  return OK;
}

/** Sets (`on`) or clears the allow-list bits of the `n` labels at `at`; unknown labels are skipped. */
function allowList(at: usize, n: u32, on: bool): void {
  for (let i: u32 = 0; i < n; i++) {
    let id = find(load<u32>(at + (<usize>i << 2)));
    if (id >= 0) {
      let w = H.bits + ((<usize>id >> 5) << 2);
      let b: u32 = 1 << (id & 31);
      store<u32>(w, on ? load<u32>(w) | b : load<u32>(w) & ~b);
    }
  }
}

/** Filters the searches that follow: `mode` 0 none, 1 the `n` labels at `at`, 2 Filter.fn. */
export function filterOn(mode: u32, at: usize, n: u32): void {
  if (mode == 1) allowList(at, n, true);
  H.filter = mode;
}

/** Ends what {@link filterOn} began (same arguments); construction runs unfiltered. */
export function filterOff(mode: u32, at: usize, n: u32): void {
  H.filter = 0;
  if (mode == 1) allowList(at, n, false);
}

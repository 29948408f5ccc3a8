// Snapshot format v1 (f32) and v2 (quantized) (docs/hnsw-snapshot.md): a 64-byte
// little-endian header, the index's own regions verbatim, and a CRC-32 of everything before it.
// An f32 index writes v1, byte for byte as before quantization existed, so v1 readers (and old
// snapshots) keep working; v2 differs only in the mode byte and flag of header word 12.
//
//   header | level-0 records (count·elemSize) | labels (count·4) | upper offsets (count·4)
//          | upper arena (arenaUsed) | CRC-32 (4)
//
// The regions are handed to the host as (pointer, length) segments, so saving copies each
// byte once, straight from the index, and loading copies each byte once, straight into it.
// A loaded snapshot is checked in full (checksum, then every header field, link, level,
// label and vector) before it is used, so no byte string can make a search read out of
// bounds or trap.

import { H, NONE, DELETED, COSINE, Q_F32, Q_I8, Q_B1 } from "./state";
import { LEVEL0, LABELS, UPPER, ARENA, base, reserveArena } from "./memory";
import { init, recordBytes, rebuildMap, record, links, linkCount, levelOf, newEpoch } from "./graph";
import {
  INFO, OK, E_ARGUMENT, E_MEMORY, E_SNAPSHOT, fail,
  R_LENGTH, R_MAGIC, R_VERSION, R_PARAMS, R_CHECKSUM, R_GRAPH, R_VECTOR, R_LABELS, R_QUANT,
} from "./error";

/** "HNSW" read as a little-endian u32. */
const MAGIC: u32 = 0x57534e48;
/** Version of f32 snapshots; quantized ones are version 2. */
const VERSION: u32 = 1;
const VERSION_QUANTIZED: u32 = 2;
/** Header word 12, version 2: space (bits 0-7), quantization (bits 8-15), originals not kept (bit 16). */
const EXTERNAL: u32 = 1 << 16;
/** `expect` of loadBegin that accepts every quantization. */
export const ANY_QUANT: u32 = 0xFFFFFFFF;
const HEADER: u32 = 64;
/** The header of the snapshot being saved or loaded. */
const HDR: usize = memory.data(64, 16);

/** CRC-32 (ISO-HDLC, as zlib's crc32) of `n` bytes at `p`, continuing from `crc`; slice-by-4. */
function crc32(crc: u32, p: usize, n: usize): u32 {
  let t = H.crc;
  crc = ~crc;
  for (let end = p + (n & ~3); p < end; p += 4) {
    crc ^= load<u32>(p);
    crc =
      load<u32>(t + 3072 + ((crc & 0xff) << 2)) ^
      load<u32>(t + 2048 + (((crc >>> 8) & 0xff) << 2)) ^
      load<u32>(t + 1024 + (((crc >>> 16) & 0xff) << 2)) ^
      load<u32>(t + ((crc >>> 24) << 2));
  }
  for (let end = p + (n & 3); p < end; p++) crc = load<u32>(t + (((crc ^ load<u8>(p)) & 0xff) << 2)) ^ (crc >>> 8);
  return ~crc;
}

/** Fills INFO[5..14] with the snapshot's five segments: header, level 0, labels, upper, arena. */
function segments(): void {
  let n = <usize>H.count;
  store<u32>(INFO, <u32>HDR, 20);
  store<u32>(INFO, HEADER, 24);
  store<u32>(INFO, <u32>base(LEVEL0), 28);
  store<u32>(INFO, <u32>(n * H.elemSize), 32);
  store<u32>(INFO, <u32>base(LABELS), 36);
  store<u32>(INFO, <u32>(n << 2), 40);
  store<u32>(INFO, <u32>base(UPPER), 44);
  store<u32>(INFO, <u32>(n << 2), 48);
  store<u32>(INFO, <u32>base(ARENA), 52);
  store<u32>(INFO, H.arenaUsed, 56);
}

/** CRC-32 over the five segments in INFO. */
function checksum(): u32 {
  let crc: u32 = 0;
  for (let i: usize = 0; i < 5; i++) {
    crc = crc32(crc, load<u32>(INFO + 20 + (i << 3)), load<u32>(INFO + 24 + (i << 3)));
  }
  return crc;
}

/**
 * Prepares a snapshot of the index: writes its header, lists its segments in INFO[5..14]
 * and their CRC-32 in INFO[15]. The host concatenates the segments and the CRC (LE u32).
 */
export function save(): u32 {
  store<u32>(HDR, MAGIC);
  store<u16>(HDR, <u16>(H.quant == Q_F32 ? VERSION : VERSION_QUANTIZED), 4);
  store<u16>(HDR, <u16>HEADER, 6);
  store<u32>(HDR, H.dim, 8);
  store<u32>(HDR, H.space | (H.quant << 8) | (H.keep ? 0 : EXTERNAL), 12);
  store<u32>(HDR, H.M, 16);
  store<u32>(HDR, H.efConstruction, 20);
  store<u32>(HDR, H.ef, 24);
  store<u32>(HDR, H.maxElements, 28);
  store<u32>(HDR, H.count, 32);
  store<u32>(HDR, H.deleted, 36);
  store<u32>(HDR, H.entryPoint, 40);
  store<u32>(HDR, H.maxLevel, 44);
  store<u64>(HDR, H.rng, 48);
  store<u32>(HDR, H.arenaUsed, 56);
  store<u32>(HDR, H.elemSize, 60);
  segments();
  store<u32>(INFO, checksum(), 60);
  return OK;
}

/**
 * First half of a load: reads the header at `at` (the raw ABI: IO[0, 64)), checks it against
 * the snapshot's total length and the quantization `expect` (Q_* or ANY_QUANT), and sets up
 * an empty index of its shape. INFO[5..14] then give where the host copies each segment.
 * Returns OK, E_SNAPSHOT (index unchanged) or E_MEMORY.
 */
export function loadBegin(total: u32, at: usize, expect: u32 = ANY_QUANT): u32 {
  if (total < HEADER + 4) return fail(E_SNAPSHOT, R_LENGTH);
  memory.copy(HDR, at, HEADER);
  if (load<u32>(HDR) != MAGIC) return fail(E_SNAPSHOT, R_MAGIC);
  let version = <u32>load<u16>(HDR, 4);
  if ((version != VERSION && version != VERSION_QUANTIZED) || <u32>load<u16>(HDR, 6) != HEADER) return fail(E_SNAPSHOT, R_VERSION);
  let word = load<u32>(HDR, 12);
  let space = word & 0xff;
  let quant = (word >>> 8) & 0xff;
  let keep = (word & EXTERNAL) == 0;
  if (
    space > COSINE || (word & ~(EXTERNAL | 0xffff)) != 0 ||
    (version == VERSION ? word != space : quant == Q_F32 || quant > Q_B1)
  ) return fail(E_SNAPSHOT, R_PARAMS);
  if (expect != ANY_QUANT && quant != expect) return fail(E_SNAPSHOT, R_QUANT);
  let dim = load<u32>(HDR, 8);
  let m = load<u32>(HDR, 16);
  let ef = load<u32>(HDR, 24);
  let max = load<u32>(HDR, 28);
  let count = load<u32>(HDR, 32);
  let arena = load<u32>(HDR, 56);
  let elem = recordBytes(dim, m, quant, keep);
  if (
    dim == 0 || dim > 65536 || m < 2 || m > 32767 || ef == 0 || count > max ||
    (arena & 3) != 0 || <u64>load<u32>(HDR, 60) != elem || load<u32>(HDR, 44) > 255
  ) return fail(E_SNAPSHOT, R_PARAMS);
  if (<u64>HEADER + <u64>count * (elem + 8) + arena + 4 != <u64>total) return fail(E_SNAPSHOT, R_LENGTH);
  let r = init(dim, space, m, load<u32>(HDR, 20), max, load<u64>(HDR, 48), quant, keep);
  if (r == E_ARGUMENT) return fail(E_SNAPSHOT, R_PARAMS);
  if (r != OK) return r;
  H.ef = ef;
  H.ready = false;
  H.count = count;
  H.arenaUsed = arena;
  if (!reserveArena(0)) {
    H.count = 0;
    H.arenaUsed = 0;
    return fail(E_MEMORY, arena);
  }
  segments();
  H.count = 0;
  H.arenaUsed = 0;
  return OK;
}

/**
 * Second half of a load, once the host has copied the segments: checks the CRC-32 `crc`
 * and the whole graph, then opens the index. On failure the index is left empty and usable.
 */
export function loadEnd(crc: u32): u32 {
  H.count = load<u32>(HDR, 32);
  H.arenaUsed = load<u32>(HDR, 56);
  let reason = checksum() != crc ? R_CHECKSUM : check();
  if (reason != 0) {
    H.count = 0;
    H.deleted = 0;
    H.arenaUsed = 0;
    H.entryPoint = NONE;
    H.maxLevel = 0;
    rebuildMap();
    H.ready = true;
    return fail(E_SNAPSHOT, reason);
  }
  H.ready = true;
  return OK;
}

/** Checks the loaded graph; returns 0 or the R_* reason it is unusable for. */
function check(): u32 {
  let n = H.count;
  let maxLevel = load<u32>(HDR, 44);
  let ep = load<u32>(HDR, 40);
  if (n == 0 ? ep != NONE || maxLevel != 0 : ep >= n) return R_GRAPH;
  let deleted: u32 = 0;
  for (let id: u32 = 0; id < n; id++) {
    let rec = record(id);
    let h = load<u32>(rec);
    let level = h >>> 24;
    if ((h & 0xfe0000) != 0 || level > maxLevel) return R_GRAPH;
    if (!checkList(rec, H.M0, id, 0)) return R_GRAPH;
    if (level != 0) {
      let off = <u64>load<u32>(H.upper + (<usize>id << 2));
      if ((off & 3) != 0 || off + <u64>level * H.upperSize > H.arenaUsed) return R_GRAPH;
      for (let l: u32 = 1; l <= level; l++) if (!checkList(links(id, l), H.M, id, l)) return R_GRAPH;
    }
    if (h & DELETED) deleted++;
    if (!checkCode(rec + H.vecOff)) return R_VECTOR;
    if (H.quant != Q_F32 && H.keep && !checkFloats(rec + H.origOff)) return R_VECTOR;
  }
  if (n != 0 && levelOf(ep) != maxLevel) return R_GRAPH;
  if (deleted != load<u32>(HDR, 36)) return R_GRAPH;
  if (!rebuildMap()) return R_LABELS;
  H.deleted = deleted;
  H.entryPoint = ep;
  H.maxLevel = maxLevel;
  return 0;
}

/** dim8 floats at `v` are usable: the first dim finite, the padding +0. */
function checkFloats(v: usize): bool {
  for (let j: u32 = 0; j < H.dim8; j++) {
    let x = load<f32>(v + (<usize>j << 2));
    if (j < H.dim ? !isFinite<f32>(x) : reinterpret<u32>(x) != 0) return false;
  }
  return true;
}

/**
 * A walk vector at `v` is usable: f32 as checkFloats; i8 codes in −127 … 127, padding zero,
 * a finite scale and norm ≥ 0; b1 with zero padding bits. (Codes are not re-derived from
 * the originals: any such code only changes which neighbours a walk prefers.)
 */
function checkCode(v: usize): bool {
  let q = H.quant;
  if (q == Q_F32) return checkFloats(v);
  let n = H.dim;
  if (q == Q_I8) {
    for (let j: u32 = 0; j < H.dim16; j++) {
      let c = <i32>load<i8>(v + <usize>j);
      if (j < n ? c < -127 : c != 0) return false;
    }
    let end = v + <usize>H.dim16;
    let s = load<f32>(end);
    let sq = load<f32>(end, 4);
    return isFinite<f32>(s) && s >= 0 && isFinite<f32>(sq) && sq >= 0 && load<u64>(end, 8) == 0;
  }
  for (let j = n; j < H.dim128; j++) if ((load<u8>(v + (<usize>j >> 3)) >>> (j & 7)) & 1) return false;
  return true;
}

/**
 * A link list of element `id` on `level` is usable when it holds at most `cap` links, each
 * to another existing element that lives on `level`, none twice.
 */
function checkList(list: usize, cap: u32, id: u32, level: u32): bool {
  let c = level == 0 ? linkCount(list) : load<u32>(list);
  if (c > cap) return false;
  let epoch = newEpoch();
  for (let i: u32 = 1; i <= c; i++) {
    let e = load<u32>(list + (<usize>i << 2));
    if (e >= H.count || e == id) return false;
    let t = H.tags + (<usize>e << 1);
    if (<u32>load<u16>(t) == epoch) return false;
    store<u16>(t, <u16>epoch);
    if (levelOf(e) < level) return false;
  }
  return true;
}

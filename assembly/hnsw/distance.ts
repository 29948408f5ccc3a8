// Distance kernels over the vectors the graph walk compares, and the quantizers that make them.
//
// f32: H.dim8 floats (zero padded to a multiple of 8). Two builds: wasm SIMD (f32x4) when the
// compiler has SIMD enabled, plain f32 otherwise (hosts without SIMD, e.g. WAMR's
// interpreters). Both sum float i into accumulator i mod 8 in the same order and reduce the
// accumulators the same way, so the two builds return the same bits, build the same graph
// and write the same snapshots.
//
// i8 (scalar quantization, one scale per vector): H.dim16 signed bytes q_j = round(x_j / s)
// with s = max_j |x_j| / 127 (symmetric, so 0 stays 0 and no offset term is needed), then
// f32 s and f32 s²·Σq_j², then 8 zero bytes. Per vector rather than per dimension because an
// HNSW index grows one vector at a time: a per-dimension range needs a training set up front
// and goes stale as data arrives, while a per-vector scale is exact for each vector alone and
// suits normalised embeddings (cosine), whose components share one range. USearch's i8 is
// per vector too (it quantizes each vector on the fly, scaling by 127); EdgeVec's SQ8 keeps one
// global range. Both sides of a comparison are codes (the query is quantized the same way), so
// the inner sum Σ q_a·q_b is an exact integer: the SIMD build (i32x4.dot_i16x8_s) and the
// scalar one return the same bits. a·b ≈ s_a·s_b·Σq_a·q_b and |a − b|² ≈ sq_a + sq_b − 2·a·b.
//
// b1 (binary quantization): bit j set when x_j > 0, H.dim128 bits (zero padded), compared by
// Hamming distance (popcount of the XOR, i64.popcnt): the fraction of differing signs
// estimates the angle between the vectors (Charikar, "Similarity estimation techniques from
// rounding algorithms", STOC 2002), which orders neighbours for cosine and inner product of
// centred data. As in EdgeVec's `searchBQRescored` and USearch's b1 indexes, the codes only
// steer the walk: the best candidates are re-ranked with exact f32 distances (graph.ts knn).

import { H, L2, COSINE, Q_I8, Q_B1 } from "./state";

/** Squared Euclidean distance of the vectors at `a` and `b`. */
@inline function l2(a: usize, b: usize): f32 {
  let end = a + (<usize>H.dim8 << 2);
  if (ASC_FEATURE_SIMD) {
    let s0 = f32x4.splat(0);
    let s1 = s0;
    while (a < end) {
      let d0 = f32x4.sub(v128.load(a), v128.load(b));
      let d1 = f32x4.sub(v128.load(a, 16), v128.load(b, 16));
      s0 = f32x4.add(s0, f32x4.mul(d0, d0));
      s1 = f32x4.add(s1, f32x4.mul(d1, d1));
      a += 32;
      b += 32;
    }
    return lanes(f32x4.add(s0, s1));
  } else {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    let a4: f32 = 0, a5: f32 = 0, a6: f32 = 0, a7: f32 = 0;
    while (a < end) {
      let d = load<f32>(a) - load<f32>(b);
      a0 += d * d;
      d = load<f32>(a, 4) - load<f32>(b, 4);
      a1 += d * d;
      d = load<f32>(a, 8) - load<f32>(b, 8);
      a2 += d * d;
      d = load<f32>(a, 12) - load<f32>(b, 12);
      a3 += d * d;
      d = load<f32>(a, 16) - load<f32>(b, 16);
      a4 += d * d;
      d = load<f32>(a, 20) - load<f32>(b, 20);
      a5 += d * d;
      d = load<f32>(a, 24) - load<f32>(b, 24);
      a6 += d * d;
      d = load<f32>(a, 28) - load<f32>(b, 28);
      a7 += d * d;
      a += 32;
      b += 32;
    }
    return ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));
  }
}

/** Inner product of the vectors at `a` and `b`. */
@inline export function dot(a: usize, b: usize): f32 {
  let end = a + (<usize>H.dim8 << 2);
  if (ASC_FEATURE_SIMD) {
    let s0 = f32x4.splat(0);
    let s1 = s0;
    while (a < end) {
      s0 = f32x4.add(s0, f32x4.mul(v128.load(a), v128.load(b)));
      s1 = f32x4.add(s1, f32x4.mul(v128.load(a, 16), v128.load(b, 16)));
      a += 32;
      b += 32;
    }
    return lanes(f32x4.add(s0, s1));
  } else {
    let a0: f32 = 0, a1: f32 = 0, a2: f32 = 0, a3: f32 = 0;
    let a4: f32 = 0, a5: f32 = 0, a6: f32 = 0, a7: f32 = 0;
    while (a < end) {
      a0 += load<f32>(a) * load<f32>(b);
      a1 += load<f32>(a, 4) * load<f32>(b, 4);
      a2 += load<f32>(a, 8) * load<f32>(b, 8);
      a3 += load<f32>(a, 12) * load<f32>(b, 12);
      a4 += load<f32>(a, 16) * load<f32>(b, 16);
      a5 += load<f32>(a, 20) * load<f32>(b, 20);
      a6 += load<f32>(a, 24) * load<f32>(b, 24);
      a7 += load<f32>(a, 28) * load<f32>(b, 28);
      a += 32;
      b += 32;
    }
    return ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7));
  }
}

/** (s0 + s1) + (s2 + s3): the reduction the scalar kernels mirror. */
@inline function lanes(s: v128): f32 {
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
}

/** Exact distance of the index's space between the f32 vectors at `a` and `b` (hnswlib fstdistfunc_). */
export function distF32(a: usize, b: usize): f32 {
  return H.space == L2 ? l2(a, b) : <f32>1 - dot(a, b);
}

/** Σ q_a·q_b over the H.dim16 int8 codes at `a` and `b` (exact; |sum| < 2^31 for dim ≤ 65,536). */
@inline function dotI8(a: usize, b: usize): i32 {
  let end = a + <usize>H.dim16;
  if (ASC_FEATURE_SIMD) {
    let s = i32x4.splat(0);
    while (a < end) {
      let x = v128.load(a);
      let y = v128.load(b);
      s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), i16x8.extend_low_i8x16_s(y)));
      s = i32x4.add(s, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), i16x8.extend_high_i8x16_s(y)));
      a += 16;
      b += 16;
    }
    return i32x4.extract_lane(s, 0) + i32x4.extract_lane(s, 1) + i32x4.extract_lane(s, 2) + i32x4.extract_lane(s, 3);
  } else {
    let s0: i32 = 0, s1: i32 = 0;
    while (a < end) {
      s0 += <i32>load<i8>(a) * <i32>load<i8>(b) + <i32>load<i8>(a, 1) * <i32>load<i8>(b, 1);
      s1 += <i32>load<i8>(a, 2) * <i32>load<i8>(b, 2) + <i32>load<i8>(a, 3) * <i32>load<i8>(b, 3);
      a += 4;
      b += 4;
    }
    return s0 + s1;
  }
}

/** Distance of the index's space estimated from the int8 codes at `a` and `b`. */
@inline function distI8(a: usize, b: usize): f32 {
  let n = <usize>H.dim16;
  let ab = load<f32>(a + n) * load<f32>(b + n) * <f32>dotI8(a, b);
  if (H.space != L2) return <f32>1 - ab;
  return max<f32>(0, load<f32>(a + n, 4) + load<f32>(b + n, 4) - <f32>2 * ab);
}

/** Hamming distance of the H.dim128-bit sign codes at `a` and `b`. */
@inline function hamming(a: usize, b: usize): f32 {
  let end = a + (<usize>H.dim128 >> 3);
  let h: u64 = 0;
  while (a < end) {
    h += popcnt<u64>(load<u64>(a) ^ load<u64>(b)) + popcnt<u64>(load<u64>(a, 8) ^ load<u64>(b, 8));
    a += 16;
    b += 16;
  }
  return <f32>h;
}

/**
 * Distance between the walk vectors (codes) at `a` and `b`: exact in f32 mode, the code's
 * estimate in the quantized modes (graph construction and the graph walk).
 */
export function dist(a: usize, b: usize): f32 {
  return distInline(a, b);
}

/** {@link dist}, inlined into the search loop, where a call per neighbour costs ~5%. */
@inline export function distInline(a: usize, b: usize): f32 {
  let q = H.quant;
  if (q == Q_I8) return distI8(a, b);
  if (q == Q_B1) return hamming(a, b);
  return H.space == L2 ? l2(a, b) : <f32>1 - dot(a, b);
}

/**
 * Writes the code of the prepared f32 vector at `src` (dim8 floats) to `dst` (H.codeBytes):
 * a copy in f32 mode, else the i8 or b1 code described at the top of this file.
 */
export function encode(dst: usize, src: usize): void {
  let q = H.quant;
  let n = H.dim;
  if (q == Q_I8) {
    let m: f32 = 0;
    for (let j: u32 = 0; j < n; j++) m = max<f32>(m, Mathf.abs(load<f32>(src + (<usize>j << 2))));
    let inv: f32 = m > 0 ? <f32>127 / m : 0;
    let sum: i32 = 0;
    for (let j: u32 = 0; j < n; j++) {
      let c = <i32>nearest<f32>(load<f32>(src + (<usize>j << 2)) * inv);
      c = min<i32>(127, max<i32>(-127, c));
      store<i8>(dst + <usize>j, <i8>c);
      sum += c * c;
    }
    let end = dst + <usize>H.dim16;
    memory.fill(dst + <usize>n, 0, <usize>(H.dim16 - n) + 16);
    let s = m / <f32>127;
    store<f32>(end, s);
    store<f32>(end, s * s * <f32>sum, 4);
  } else if (q == Q_B1) {
    memory.fill(dst, 0, <usize>H.codeBytes);
    for (let j: u32 = 0; j < n; j++) {
      if (load<f32>(src + (<usize>j << 2)) > 0) {
        let at = dst + (<usize>j >> 3);
        store<u8>(at, load<u8>(at) | (<u8>1 << <u8>(j & 7)));
      }
    }
  } else if (dst != src) {
    memory.copy(dst, src, <usize>H.dim8 << 2);
  }
}

/**
 * Copies the H.dim floats at `src` to `dst`, zero padding to H.dim8, and normalises them in
 * the cosine space (v / (|v| + 1e-30), as hnswlib's normalize_vector). Returns -1, or the
 * index of the first NaN or infinite component (then `dst` is partly written).
 */
export function prepare(dst: usize, src: usize): i32 {
  let n = H.dim;
  for (let i: u32 = 0; i < n; i++) {
    let x = load<f32>(src + (<usize>i << 2));
    if (!isFinite<f32>(x)) return <i32>i;
    store<f32>(dst + (<usize>i << 2), x);
  }
  memory.fill(dst + (<usize>n << 2), 0, <usize>(H.dim8 - n) << 2);
  if (H.space == COSINE) {
    let inv = <f32>1 / (Mathf.sqrt(dot(dst, dst)) + <f32>1e-30);
    for (let i: u32 = 0; i < n; i++) {
      let p = dst + (<usize>i << 2);
      store<f32>(p, load<f32>(p) * inv);
    }
  }
  return -1;
}

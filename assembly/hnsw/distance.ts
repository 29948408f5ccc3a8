// Distance kernels over stored vectors of H.dim8 floats (zero padded to a multiple of 8).
//
// Two builds: wasm SIMD (f32x4) when the compiler has SIMD enabled, plain f32 otherwise
// (hosts without SIMD, e.g. WAMR's interpreters). Both sum float i into accumulator i mod 8
// in the same order and reduce the accumulators the same way, so the two builds return the
// same bits, build the same graph and write the same snapshots.

import { H, L2, COSINE } from "./state";

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

/** Distance of the index's space between the vectors at `a` and `b` (hnswlib fstdistfunc_). */
export function dist(a: usize, b: usize): f32 {
  return distInline(a, b);
}

/** {@link dist}, inlined into the search loop, where a call per neighbour costs ~5%. */
@inline export function distInline(a: usize, b: usize): f32 {
  return H.space == L2 ? l2(a, b) : <f32>1 - dot(a, b);
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

/**
 * Data for the HNSW tests and benchmark, generated (never stored): a seeded Gaussian mixture
 * and exact (brute-force) k-nearest neighbours as ground truth.
 * @module
 */

/** Spaces as the index names them. */
export type DataSpace = "l2" | "ip" | "cosine";

/** sfc32: a small, fast, seedable PRNG; returns floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  const next = () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}

/** Standard normal samples from a uniform source (Box–Muller). */
function normal(u: () => number): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    spare = r * Math.sin(t);
    return r * Math.cos(t);
  };
}

/** Options of {@link gaussianMixture}. */
export interface MixtureOptions {
  /** Vectors in the data set. */
  n: number;
  /** Floats per vector. */
  dim: number;
  /** Queries drawn from the same distribution. Defaults to 0. */
  queries?: number;
  /** Mixture components; centres are N(0, 1) per coordinate. Defaults to 100. */
  clusters?: number;
  /** Standard deviation of a point around its centre. Defaults to 0.5. */
  spread?: number;
  /** Seed; equal seeds give equal data. Defaults to 1. */
  seed?: number;
}

/**
 * A seeded Gaussian mixture: `n` vectors and `queries` queries (each n × dim, row-major),
 * every vector its cluster's centre plus N(0, spread²) noise per coordinate.
 */
export function gaussianMixture(o: MixtureOptions): { data: Float32Array; queries: Float32Array } {
  const { n, dim, queries = 0, clusters = 100, spread = 0.5, seed = 1 } = o;
  const u = rng(seed);
  const g = normal(u);
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = g();
  const draw = (count: number) => {
    const out = new Float32Array(count * dim);
    for (let i = 0; i < count; i++) {
      const c = Math.floor(u() * clusters) * dim;
      for (let j = 0; j < dim; j++) out[i * dim + j] = centres[c + j]! + spread * g();
    }
    return out;
  };
  const data = draw(n);
  return { data, queries: draw(queries) };
}

/** Copies `vectors` (rows of `dim`) scaled to unit length, as the cosine space stores them. */
export function normalised(vectors: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(vectors.length);
  for (let i = 0; i < vectors.length; i += dim) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += vectors[i + j]! * vectors[i + j]!;
    const inv = 1 / (Math.sqrt(s) + 1e-30);
    for (let j = 0; j < dim; j++) out[i + j] = vectors[i + j]! * inv;
  }
  return out;
}

/**
 * Exact k nearest neighbours (labels = row numbers, nearest first) of each query by scanning
 * every vector: the brute-force baseline and the ground truth of recall.
 */
export function bruteForce(data: Float32Array, queries: Float32Array, dim: number, k: number, space: DataSpace): Uint32Array {
  const base = space === "cosine" ? normalised(data, dim) : data;
  const qs = space === "cosine" ? normalised(queries, dim) : queries;
  const n = base.length / dim;
  const nq = qs.length / dim;
  const out = new Uint32Array(nq * k);
  const dist = new Float64Array(k);
  const ids = new Uint32Array(k);
  for (let q = 0; q < nq; q++) {
    const qo = q * dim;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const o = i * dim;
      let d = 0;
      if (space === "l2") {
        for (let j = 0; j < dim; j++) {
          const t = base[o + j]! - qs[qo + j]!;
          d += t * t;
        }
      } else {
        for (let j = 0; j < dim; j++) d += base[o + j]! * qs[qo + j]!;
        d = 1 - d;
      }
      if (size < k || d < dist[size - 1]!) {
        // insertion into the sorted top-k
        let p = size < k ? size++ : k - 1;
        while (p > 0 && dist[p - 1]! > d) {
          dist[p] = dist[p - 1]!;
          ids[p] = ids[p - 1]!;
          p--;
        }
        dist[p] = d;
        ids[p] = i;
      }
    }
    out.set(ids.subarray(0, k), q * k);
  }
  return out;
}

/** Mean fraction of each query's true k nearest (`truth`, k per query) found among `found`. */
export function recall(found: ArrayLike<number>[], truth: Uint32Array, k: number): number {
  let hit = 0;
  for (let q = 0; q < found.length; q++) {
    const want = new Set(truth.subarray(q * k, q * k + k));
    const got = found[q]!;
    for (let i = 0; i < Math.min(k, got.length); i++) if (want.has(got[i]!)) hit++;
  }
  return hit / (found.length * k);
}

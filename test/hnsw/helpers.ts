/** Shared fixtures of the HNSW tests: generated data, row views and exact answers. */
import { bruteForce, gaussianMixture, type DataSpace } from "../../bench/hnsw-data.js";
import type { HnswIndex } from "../../src/hnsw/index.js";

export { bruteForce, gaussianMixture, recall } from "../../bench/hnsw-data.js";

/** Row `i` of a row-major matrix of `dim` columns (a view, no copy). */
export function row(m: Float32Array, dim: number, i: number): Float32Array {
  return m.subarray(i * dim, i * dim + dim);
}

/** `n` labels 0 … n-1. */
export function iota(n: number, from = 0): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

/** A small clustered data set with queries, as the benchmark makes (fixed seed). */
export function dataset(n: number, dim: number, queries = 100, seed = 7) {
  return gaussianMixture({ n, dim, queries, seed, clusters: 20 });
}

/** Labels found for every query (k each). */
export function searchAll(index: HnswIndex, queries: Float32Array, k: number, ef = 50): Uint32Array[] {
  return index.searchBatch(queries, k, { ef }).map((r) => r.labels);
}

/** Exact k nearest among the rows whose label passes `keep` (labels are row numbers). */
export function exact(
  data: Float32Array,
  queries: Float32Array,
  dim: number,
  k: number,
  space: DataSpace,
  keep: (label: number) => boolean = () => true,
): number[][] {
  const labels: number[] = [];
  for (let i = 0; i < data.length / dim; i++) if (keep(i)) labels.push(i);
  const sub = new Float32Array(labels.length * dim);
  labels.forEach((l, j) => sub.set(row(data, dim, l), j * dim));
  const kk = Math.min(k, labels.length);
  const found = bruteForce(sub, queries, dim, kk, space);
  const out: number[][] = [];
  for (let q = 0; q < queries.length / dim; q++) out.push(Array.from(found.subarray(q * kk, q * kk + kk), (j) => labels[j]!));
  return out;
}

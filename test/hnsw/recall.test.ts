import { describe, it, expect } from "vitest";
import { createIndex, type Space } from "../../src/hnsw/index.js";
import { bruteForce, dataset, iota, recall, row, searchAll } from "./helpers.js";

const N = 2000;
const DIM = 24;
const K = 10;

describe("hnsw recall against brute force", () => {
  for (const space of ["l2", "ip", "cosine"] as Space[]) {
    it(`finds ≥ 95% of the true 10 nearest (${space})`, async () => {
      const { data, queries } = dataset(N, DIM);
      const index = await createIndex({ dim: DIM, space, maxElements: N, seed: 1 });
      for (let i = 0; i < N; i++) index.add(row(data, DIM, i), i);
      const truth = bruteForce(data, queries, DIM, K, space);
      const r = recall(searchAll(index, queries, K, 50), truth, K);
      expect(r).toBeGreaterThanOrEqual(0.95);
      expect(index.size).toBe(N);
    });
  }

  it("returns results nearest first, with distances of the space", async () => {
    const { data, queries } = dataset(500, 8);
    const index = await createIndex({ dim: 8, maxElements: 500 });
    index.addBatch(data, iota(500));
    const q = row(queries, 8, 0);
    const { labels, distances } = index.search(q, K);
    expect(labels).toHaveLength(K);
    for (let i = 1; i < K; i++) expect(distances[i]!).toBeGreaterThanOrEqual(distances[i - 1]!);
    const v = row(data, 8, labels[0]!);
    const d = v.reduce((s, x, j) => s + (x - q[j]!) ** 2, 0);
    expect(distances[0]).toBeCloseTo(d, 4);
  });

  it("builds the same index one by one and in a batch", async () => {
    const { data, queries } = dataset(800, 16);
    const a = await createIndex({ dim: 16, maxElements: 800 });
    const b = await createIndex({ dim: 16, maxElements: 800 });
    for (let i = 0; i < 800; i++) a.add(row(data, 16, i), i);
    b.addBatch(
      iota(800).map((i) => Array.from(row(data, 16, i))),
      iota(800),
    );
    expect(b.save()).toEqual(a.save());
    const one = iota(20).map((q) => a.search(row(queries, 16, q), 5).labels);
    expect(b.searchBatch(queries.subarray(0, 20 * 16), 5).map((r) => r.labels)).toEqual(one);
  });

  it("a bigger ef does not lose recall", async () => {
    const { data, queries } = dataset(3000, 32, 100, 3);
    const index = await createIndex({ dim: 32, maxElements: 3000, M: 8, efConstruction: 40 });
    index.addBatch(data, iota(3000));
    const truth = bruteForce(data, queries, 32, K, "l2");
    const low = recall(searchAll(index, queries, K, 10), truth, K);
    const high = recall(searchAll(index, queries, K, 200), truth, K);
    expect(high).toBeGreaterThanOrEqual(low);
    expect(high).toBeGreaterThanOrEqual(0.95);
  });

  it("equal seeds and inputs build byte-identical indexes; other seeds differ", async () => {
    const { data } = dataset(300, 8);
    const make = async (seed: number) => {
      const ix = await createIndex({ dim: 8, maxElements: 300, seed });
      ix.addBatch(data, iota(300));
      return ix.save();
    };
    expect(await make(5)).toEqual(await make(5));
    expect(await make(5)).not.toEqual(await make(6));
  });
});

import { describe, it, expect } from "vitest";
import { createIndex, hasSimd, type Space } from "../../src/hnsw/index.js";
import { bruteForce, gaussianMixture, iota, row } from "./helpers.js";

describe("hnsw across dimensions", () => {
  for (const dim of [1, 2, 3, 7, 8, 9, 17, 100, 513, 4096]) {
    it(`dim ${dim}: exact on a small set, as brute force`, async () => {
      const n = dim >= 513 ? 60 : 200;
      const { data, queries } = gaussianMixture({ n, dim, queries: 5, seed: dim, clusters: 5 });
      const index = await createIndex({ dim, maxElements: n });
      index.addBatch(data, iota(n));
      const truth = bruteForce(data, queries, dim, 3, "l2");
      for (let q = 0; q < 5; q++) {
        const { labels, distances } = index.search(row(queries, dim, q), 3, { ef: n });
        expect(Array.from(labels)).toEqual(Array.from(truth.subarray(q * 3, q * 3 + 3)));
        const v = row(data, dim, labels[0]!);
        const d = v.reduce((s, x, j) => s + (x - queries[q * dim + j]!) ** 2, 0);
        expect(distances[0]! / d).toBeCloseTo(1, 4);
      }
      expect(index.getPoint(n - 1)).toEqual(row(data, dim, n - 1));
    });
  }
});

describe("hnsw SIMD and scalar builds", () => {
  it("the host has wasm SIMD (so the SIMD build is the default here)", () => {
    expect(hasSimd()).toBe(true);
  });

  for (const space of ["l2", "ip", "cosine"] as Space[]) {
    for (const dim of [5, 64, 130]) {
      it(`agree on results and build the same graph (${space}, dim ${dim})`, async () => {
        const { data, queries } = gaussianMixture({ n: 400, dim, queries: 20, seed: 3, clusters: 10 });
        const make = async (simd: boolean) => {
          const ix = await createIndex({ dim, space, maxElements: 400, simd, M: 8, efConstruction: 64 });
          ix.addBatch(data, iota(400));
          return ix;
        };
        const [simd, scalar] = [await make(true), await make(false)];
        const a = simd.searchBatch(queries, 10);
        const b = scalar.searchBatch(queries, 10);
        for (let q = 0; q < a.length; q++) {
          expect(b[q]!.labels).toEqual(a[q]!.labels);
          for (let i = 0; i < 10; i++) expect(b[q]!.distances[i]).toBeCloseTo(a[q]!.distances[i]!, 5);
        }
        // Both kernels sum in the same order, so the graphs (and snapshots) are identical.
        expect(scalar.save()).toEqual(simd.save());
      });
    }
  }

  for (const quantization of ["i8", "b1"] as const) {
    for (const [space, dim] of [["cosine", 5], ["l2", 64], ["ip", 130], ["cosine", 200]] as [Space, number][]) {
      it(`agree bit for bit on ${quantization} codes, graph and re-ranked results (${space}, dim ${dim})`, async () => {
        const { data, queries } = gaussianMixture({ n: 400, dim, queries: 20, seed: 5, clusters: 10 });
        const make = async (simd: boolean) => {
          const ix = await createIndex({ dim, space, maxElements: 400, simd, M: 8, efConstruction: 64, quantization });
          ix.addBatch(data, iota(400));
          return ix;
        };
        const [simd, scalar] = [await make(true), await make(false)];
        // Integer code sums are exact in both builds; the exact re-rank is the f32 kernel above.
        expect(scalar.save()).toEqual(simd.save());
        expect(scalar.searchBatch(queries, 10)).toEqual(simd.searchBatch(queries, 10));
      });
    }
  }
});

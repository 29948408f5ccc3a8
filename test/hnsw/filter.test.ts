import { describe, it, expect } from "vitest";
import { createIndex } from "../../src/hnsw/index.js";
import { dataset, exact, iota, row } from "./helpers.js";

const N = 2000;
const DIM = 16;
const K = 10;

async function built() {
  const { data, queries } = dataset(N, DIM);
  const index = await createIndex({ dim: DIM, maxElements: N });
  index.addBatch(data, iota(N));
  return { data, queries, index };
}

describe("hnsw filtered search", () => {
  it("returns only allowed labels, the exact nearest among them for a small allow-list", async () => {
    const { data, queries, index } = await built();
    const allow = iota(N).filter((i) => i % 97 === 3); // 21 labels
    const keep = new Set(allow);
    const truth = exact(data, queries, DIM, K, "l2", (l) => keep.has(l));
    for (let q = 0; q < 20; q++) {
      const { labels } = index.search(row(queries, DIM, q), K, { filter: allow });
      expect(labels).toHaveLength(K); // k results exist, so k come back
      expect(Array.from(labels)).toEqual(truth[q]);
    }
  });

  it("takes a predicate, a Set or a typed array as the filter, with the same answers", async () => {
    const { queries, index } = await built();
    const allow = iota(N).filter((i) => i % 3 === 0);
    const q = row(queries, DIM, 5);
    const byList = index.search(q, K, { filter: allow }).labels;
    expect(index.search(q, K, { filter: new Set(allow) }).labels).toEqual(byList);
    expect(index.search(q, K, { filter: Uint32Array.from(allow) }).labels).toEqual(byList);
    expect(index.search(q, K, { filter: (l) => l % 3 === 0 }).labels).toEqual(byList);
    for (const l of byList) expect(l % 3).toBe(0);
  });

  it("returns fewer than k only when fewer are allowed; unknown labels are ignored", async () => {
    const { queries, index } = await built();
    const r = index.search(row(queries, DIM, 0), K, { filter: [4, 8, 15, 16, 23, 42, 1e6] });
    expect(Array.from(r.labels).sort((a, b) => a - b)).toEqual([4, 8, 15, 16, 23, 42]);
    expect(index.search(row(queries, DIM, 0), K, { filter: [] }).labels).toHaveLength(0);
  });

  it("combines with deletes, and leaves later searches unfiltered", async () => {
    const { data, queries, index } = await built();
    const allow = iota(N).filter((i) => i % 50 === 0);
    index.remove(allow[0]!);
    const keep = new Set(allow.slice(1));
    const truth = exact(data, queries, DIM, K, "l2", (l) => keep.has(l));
    expect(Array.from(index.search(row(queries, DIM, 1), K, { filter: allow }).labels)).toEqual(truth[1]);
    const plain = index.search(row(queries, DIM, 1), K).labels;
    expect(plain.some((l) => !keep.has(l))).toBe(true);
  });

  it("a throwing predicate rejects the search and leaves the index usable", async () => {
    const { queries, index } = await built();
    const q = row(queries, DIM, 2);
    const before = index.search(q, K).labels;
    expect(() =>
      index.search(q, K, {
        filter: () => {
          throw new Error("boom");
        },
      }),
    ).toThrow("boom");
    expect(index.search(q, K).labels).toEqual(before);
    index.resize(N + 1);
    index.add(row(queries, DIM, 3), N + 1); // construction is unfiltered again
    expect(index.search(row(queries, DIM, 3), 1).labels[0]).toBe(N + 1);
  });

  it("a predicate that calls back into the index is refused, and the index is unchanged", async () => {
    const { queries, index } = await built();
    const q = row(queries, DIM, 4);
    const before = index.save();
    let label = N;
    const reentrant = [
      () => index.add(row(queries, DIM, 5), label++), // would run filtered, calling the predicate again
      () => index.search(q, 1),
      () => index.remove(0),
    ];
    for (const call of reentrant) {
      let first = true;
      const filter = () => {
        if (first) {
          first = false;
          call();
        }
        return true;
      };
      expect(() => index.search(q, K, { filter })).toThrow(/inside a search filter/);
    }
    expect(Buffer.compare(index.save(), before)).toBe(0); // (toEqual walks 400 kB slowly)
    expect(index.search(q, K, { filter: (l) => l % 2 === 0 }).labels).toHaveLength(K);
  });
});

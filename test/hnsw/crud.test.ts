import { describe, it, expect } from "vitest";
import { createIndex, HnswFullError, HnswLabelError } from "../../src/hnsw/index.js";
import { dataset, exact, iota, recall, row, searchAll } from "./helpers.js";

const N = 2000;
const DIM = 16;
const K = 10;

/** Recall of `found` against exact answers given as label lists. */
function recallOf(found: ArrayLike<number>[], truth: number[][]): number {
  const flat = new Uint32Array(truth.flat());
  return recall(found, flat, K);
}

describe("hnsw deletes, updates and resizing", () => {
  it("never returns deleted labels and keeps recall over the rest", async () => {
    const { data, queries } = dataset(N, DIM);
    const index = await createIndex({ dim: DIM, maxElements: N });
    index.addBatch(data, iota(N));
    const gone = new Set(iota(N).filter((i) => i % 4 === 1));
    for (const l of gone) expect(index.remove(l)).toBe(true);
    expect(index.remove(1)).toBe(false); // already deleted
    expect(index.size).toBe(N - gone.size);
    expect(index.stats().deleted).toBe(gone.size);
    const found = searchAll(index, queries, K);
    for (const labels of found) for (const l of labels) expect(gone.has(l)).toBe(false);
    const truth = exact(data, queries, DIM, K, "l2", (l) => !gone.has(l));
    expect(recallOf(found, truth)).toBeGreaterThanOrEqual(0.95);
    expect(() => index.getPoint(1)).toThrow(HnswLabelError);
  });

  it("restores deleted labels", async () => {
    const { data } = dataset(300, DIM);
    const index = await createIndex({ dim: DIM, maxElements: 300 });
    index.addBatch(data, iota(300));
    index.remove(42);
    expect(index.restore(42)).toBe(true);
    expect(index.restore(42)).toBe(false);
    expect(index.search(row(data, DIM, 42), 1).labels[0]).toBe(42);
  });

  it("re-adding a label replaces its vector and keeps recall", async () => {
    const { data, queries } = dataset(N, DIM);
    const moved = dataset(N, DIM, 0, 99).data; // other vectors for the updated labels
    const index = await createIndex({ dim: DIM, maxElements: N });
    index.addBatch(data, iota(N));
    const current = data.slice();
    for (let i = 0; i < N; i += 5) {
      index.add(row(moved, DIM, i), i);
      current.set(row(moved, DIM, i), i * DIM);
    }
    expect(index.size).toBe(N);
    expect(index.getPoint(5)).toEqual(row(moved, DIM, 5));
    expect(index.search(row(moved, DIM, 10), 1).labels[0]).toBe(10);
    const truth = exact(current, queries, DIM, K, "l2");
    expect(recallOf(searchAll(index, queries, K), truth)).toBeGreaterThanOrEqual(0.95);
  });

  it("re-adding a deleted label brings it back", async () => {
    const { data } = dataset(200, DIM);
    const index = await createIndex({ dim: DIM, maxElements: 200 });
    index.addBatch(data, iota(200));
    index.remove(7);
    index.add(row(data, DIM, 7), 7);
    expect(index.size).toBe(200);
    expect(index.search(row(data, DIM, 7), 1).labels[0]).toBe(7);
  });

  it("refuses to add past maxElements until resized, then keeps every element", async () => {
    const { data, queries } = dataset(600, DIM);
    const index = await createIndex({ dim: DIM, maxElements: 300 });
    index.addBatch(data.subarray(0, 300 * DIM), iota(300));
    const before = index.save();
    expect(() => index.add(row(data, DIM, 300), 300)).toThrow(HnswFullError);
    expect(() => index.addBatch(data.subarray(300 * DIM, 302 * DIM), [300, 301])).toThrow(HnswFullError);
    expect(index.save()).toEqual(before); // unchanged
    index.add(row(data, DIM, 0), 0); // an update needs no room
    index.resize(600);
    expect(index.stats().maxElements).toBe(600);
    index.addBatch(data.subarray(300 * DIM), iota(300, 300));
    expect(index.size).toBe(600);
    const truth = exact(data, queries, DIM, K, "l2");
    expect(recallOf(searchAll(index, queries, K), truth)).toBeGreaterThanOrEqual(0.95);
    for (let i = 0; i < 600; i += 37) expect(index.getPoint(i)).toEqual(row(data, DIM, i));
  });

  it("stores cosine vectors normalised", async () => {
    const index = await createIndex({ dim: 3, space: "cosine", maxElements: 4 });
    index.add([3, 0, 4], 1);
    const p = index.getPoint(1);
    expect(p[0]).toBeCloseTo(0.6, 6);
    expect(p[2]).toBeCloseTo(0.8, 6);
    index.add([0, 1, 0], 2);
    const r = index.search([6, 0, 8], 2);
    expect(Array.from(r.labels)).toEqual([1, 2]);
    expect(r.distances[0]).toBeCloseTo(0, 6);
    expect(r.distances[1]).toBeCloseTo(1, 6);
  });

  it("adds the first vector even when making room for it grows wasm memory", async () => {
    // The first add sizes the IO region; across these shapes that sometimes crosses a page,
    // so memory grows and every view of the old buffer is detached.
    let grew = 0;
    for (let dim = 1500; dim < 1600; dim += 7) {
      for (const maxElements of [7, 100, 1000]) {
        const index = await createIndex({ dim, maxElements });
        const before = index.stats().memoryBytes;
        const v = new Float32Array(dim).fill(0.5);
        index.add(v, 1);
        expect(index.getPoint(1)).toEqual(v);
        if (index.stats().memoryBytes > before) grew++;
      }
    }
    expect(grew).toBeGreaterThan(0); // the case that matters was exercised
  });

  it("takes labels up to 2^32 - 1 and reports them unsigned", async () => {
    const index = await createIndex({ dim: 2, maxElements: 4 });
    index.add([0, 0], 0xffffffff);
    index.add([1, 1], 0x80000000);
    expect(Array.from(index.search([0.1, 0], 2).labels)).toEqual([0xffffffff, 0x80000000]);
    expect(index.search([1, 1], 1, { filter: (l) => l === 0x80000000 }).labels[0]).toBe(0x80000000);
  });
});

import { describe, it, expect, beforeAll } from "vitest";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import asc from "assemblyscript/asc";
import {
  createIndex,
  HnswArgumentError,
  HnswDimensionError,
  HnswError,
  HnswFullError,
  HnswLabelError,
  HnswMemoryError,
  HnswValueError,
  type HnswIndex,
} from "../../src/hnsw/index.js";
import { dataset, iota, row } from "./helpers.js";

const DIM = 8;

/** Runs `fn`, expects error class `Kind` carrying `value`, and checks the index did not change. */
function refuses(index: HnswIndex, fn: () => unknown, Kind: new (...args: never[]) => HnswError, value?: unknown): HnswError {
  const before = index.save();
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(Kind);
  const err = caught as HnswError;
  expect(err.name).toBe(Kind.name);
  if (arguments.length > 3) expect(err.value).toEqual(value);
  expect(index.save()).toEqual(before);
  return err;
}

describe("hnsw bad input", () => {
  let index: HnswIndex;
  const { data, queries } = dataset(100, DIM, 5);
  const q = row(queries, DIM, 0);

  beforeAll(async () => {
    index = await createIndex({ dim: DIM, maxElements: 100 });
    index.addBatch(data, iota(100));
  });

  it("wrong dimensions", () => {
    refuses(index, () => index.add(new Float32Array(7), 1), HnswDimensionError, 7);
    refuses(index, () => index.search(new Float32Array(9), 1), HnswDimensionError, 9);
    refuses(index, () => index.addBatch(new Float32Array(DIM * 2 - 1), [1, 2]), HnswDimensionError, DIM * 2 - 1);
    refuses(index, () => index.addBatch([new Float32Array(DIM), [1, 2]], [1, 2]), HnswDimensionError, 2);
    refuses(index, () => index.searchBatch(new Float32Array(DIM + 1), 1), HnswDimensionError, DIM + 1);
  });

  it("NaN or infinite components, with the offending value and its position", () => {
    const v = Array.from(row(data, DIM, 3));
    v[5] = NaN;
    const err = refuses(index, () => index.add(v, 3), HnswValueError, NaN) as HnswValueError;
    expect(err.index).toBe(5);
    const batch = data.slice(0, DIM * 3);
    batch[DIM * 2 + 1] = -Infinity;
    const e2 = refuses(index, () => index.addBatch(batch, [0, 1, 2]), HnswValueError, -Infinity) as HnswValueError;
    expect(e2.index).toBe(DIM * 2 + 1);
    expect(e2.message).toMatch(/component 1 of item 2/);
    const bad = q.slice();
    bad[0] = Infinity;
    refuses(index, () => index.search(bad, 3), HnswValueError, Infinity);
  });

  it("k ≤ 0, k past the index size, fractional k, bad ef", () => {
    refuses(index, () => index.search(q, 0), HnswArgumentError, 0);
    refuses(index, () => index.search(q, -2), HnswArgumentError, -2);
    refuses(index, () => index.search(q, 1.5), HnswArgumentError, 1.5);
    refuses(index, () => index.search(q, 101), HnswArgumentError, 101);
    refuses(index, () => index.search(q, 3, { ef: 0 }), HnswArgumentError, 0);
    expect(index.search(q, 100).labels).toHaveLength(100);
  });

  it("labels that are not u32, and unknown labels", () => {
    refuses(index, () => index.add(q, -1), HnswArgumentError, -1);
    refuses(index, () => index.add(q, 2 ** 32), HnswArgumentError, 2 ** 32);
    refuses(index, () => index.add(q, 0.5), HnswArgumentError, 0.5);
    refuses(index, () => index.search(q, 3, { filter: [1, -4] }), HnswArgumentError, -4);
    refuses(index, () => index.remove(12345), HnswLabelError, 12345);
    refuses(index, () => index.restore(12345), HnswLabelError, 12345);
    refuses(index, () => index.getPoint(12345), HnswLabelError, 12345);
  });

  it("adding past maxElements", () => {
    refuses(index, () => index.add(q, 100), HnswFullError, 100);
    refuses(index, () => index.resize(99), HnswArgumentError, 99);
  });

  it("bad options", async () => {
    for (const [options, value] of [
      [{ dim: 0 }, 0],
      [{ dim: 65537 }, 65537],
      [{ dim: 4, M: 1 }, 1],
      [{ dim: 4, efConstruction: 0 }, 0],
      [{ dim: 4, maxElements: -1 }, -1],
      [{ dim: 4, space: "hamming" }, "hamming"],
      [{ dim: 4, ef: 0.5 }, 0.5],
    ] as const) {
      const err = await createIndex(options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HnswArgumentError);
      expect((err as HnswError).value).toBe(value);
    }
  });

  it("an index too big for wasm32 memory is a typed error", async () => {
    const err = await createIndex({ dim: 4096, maxElements: 2 ** 22 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HnswMemoryError);
    refuses(index, () => index.resize(0xffffffff), HnswMemoryError);
  });
});

describe("hnsw when memory.grow is refused", () => {
  let small: Uint8Array;
  let dir: string;

  beforeAll(async () => {
    // The same core, declared with a 2 MiB maximum memory, so memory.grow really fails.
    dir = await mkdtemp(join(tmpdir(), "hnsw-mem-"));
    const out = join(dir, "hnsw-2mib.wasm");
    const { error, stderr } = await asc.main(
      ["assembly/hnsw/index.ts", "--config", "asconfig.json", "--target", "release", "--maximumMemory", "32", "-o", out],
      { stdout: { write: () => true }, stderr: { write: () => true } },
    );
    if (error) throw new Error(String(stderr));
    small = await readFile(out);
    await rm(dir, { recursive: true, force: true });
  }, 120_000);

  it("turns refused growth at init, resize and input into HnswMemoryError", async () => {
    const err = await createIndex({ dim: 64, maxElements: 100_000, source: small }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HnswMemoryError);
    const index = await createIndex({ dim: 64, maxElements: 1000, source: small });
    const { data } = dataset(500, 64, 0);
    index.addBatch(data, iota(500));
    refuses(index, () => index.resize(50_000), HnswMemoryError, 50_000);
    refuses(index, () => index.searchBatch(new Float32Array(64 * 20_000), 1), HnswMemoryError);
  });

  it("turns refused growth of the upper-level links while adding into HnswMemoryError", async () => {
    const DIM = 256;
    const { data, queries } = dataset(4000, DIM, 1);
    // The largest index whose layout and input buffer fit: what is left is < one element, so
    // adding runs out when the upper-level link arena must grow.
    const open = async (maxElements: number) => {
      try {
        const ix = await createIndex({ dim: DIM, maxElements, source: small });
        for (let i = 0; i < 5; i++) ix.add(row(data, DIM, i), i);
        ix.search(row(queries, DIM, 0), 5);
        return ix;
      } catch (e) {
        if (e instanceof HnswMemoryError) return undefined;
        throw e;
      }
    };
    let lo = 1;
    let hi = 4000;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (await open(mid)) lo = mid;
      else hi = mid;
    }
    const index = (await open(lo))!;
    let added = 5;
    let failure: unknown;
    try {
      for (; added < lo; added++) index.add(row(data, DIM, added), added);
    } catch (e) {
      failure = e;
    }
    expect(failure).toBeInstanceOf(HnswMemoryError);
    expect(added).toBeLessThan(lo);
    expect(index.size).toBe(added);
    expect(index.search(row(queries, DIM, 0), 5).labels).toHaveLength(5);
    index.remove(3); // and it keeps working
    expect(index.size).toBe(added - 1);
  });
});

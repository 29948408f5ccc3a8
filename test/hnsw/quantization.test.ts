import { describe, it, expect } from "vitest";
import { crc32 } from "node:zlib";
import {
  createIndex,
  loadIndex,
  HnswArgumentError,
  HnswDimensionError,
  HnswLabelError,
  HnswSnapshotError,
  type HnswIndex,
  type IndexOptions,
  type Quantization,
  type Space,
} from "../../src/hnsw/index.js";
import { normalised } from "../../bench/hnsw-data.js";
import { bruteForce, dataset, exact, iota, recall, row, searchAll } from "./helpers.js";

const N = 2000;
const DIM = 64;
const K = 10;
const { data, queries } = dataset(N, DIM, 100, 11);
const originals = (l: number) => (l < N ? row(data, DIM, l) : undefined);

async function build(options: Partial<IndexOptions> = {}): Promise<HnswIndex> {
  const index = await createIndex({ dim: DIM, space: "cosine", maxElements: N, M: 12, efConstruction: 100, ...options });
  index.addBatch(data, iota(N));
  return index;
}

/** Exact distance of the space between a query and a stored row (cosine on normalised copies). */
function exactDistance(space: Space, q: Float32Array, v: Float32Array): number {
  if (space === "l2") return q.reduce((s, x, j) => s + (x - v[j]!) ** 2, 0);
  const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
  const dot = q.reduce((s, x, j) => s + x * v[j]!, 0);
  return space === "ip" ? 1 - dot : 1 - dot / (norm(q) * norm(v));
}

function resealed(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

describe("hnsw quantized vectors (i8, b1) with exact re-ranking", () => {
  for (const space of ["cosine", "l2", "ip"] as Space[]) {
    for (const quantization of ["i8", "b1"] as Quantization[]) {
      it(`${quantization} in ${space}: recall near f32's, and the distances returned are exact`, async () => {
        const truth = bruteForce(data, queries, DIM, K, space);
        const f32 = recall(searchAll(await build({ space }), queries, K, 50), truth, K);
        const index = await build({ space, quantization });
        const results = index.searchBatch(queries, K, { ef: 50 });
        const r = recall(results.map((x) => x.labels), truth, K);
        // i8 loses almost nothing; sign bits of a Gaussian mixture are a coarser guide, which
        // re-ranking 16·k candidates mostly repairs (l2 and ip keep magnitudes signs do not see).
        expect(r).toBeGreaterThanOrEqual(quantization === "i8" ? f32 - 0.01 : space === "cosine" ? f32 - 0.05 : 0.6);
        for (let q = 0; q < 5; q++) {
          const { labels, distances } = results[q]!;
          for (let i = 0; i < K; i++) {
            expect(distances[i]!).toBeCloseTo(exactDistance(space, row(queries, DIM, q), row(data, DIM, labels[i]!)), 4);
            if (i > 0) expect(distances[i]!).toBeGreaterThanOrEqual(distances[i - 1]!);
          }
        }
      });
    }
  }

  it("stores codes of the documented size: bytes per record for each mode", async () => {
    const sizes: Record<string, [number, number]> = {};
    for (const q of ["f32", "i8", "b1"] as Quantization[]) {
      for (const external of q === "f32" ? [false] : [false, true]) {
        const ix = await createIndex({ dim: 384, M: 16, quantization: q, ...(external ? { originals } : {}) });
        const s = ix.stats();
        expect(s.quantization).toBe(q);
        expect(s.keepsOriginals).toBe(!external);
        sizes[q + (external ? " ext" : "")] = [s.codeBytes, s.recordBytes];
      }
    }
    // Level-0 links: align16(4 + 8·16) = 144 bytes; an f32 original: 1,536.
    expect(sizes).toEqual({
      f32: [1536, 144 + 1536],
      i8: [384 + 16, 144 + 400 + 1536],
      "i8 ext": [400, 144 + 400],
      b1: [48, 144 + 48 + 1536],
      "b1 ext": [48, 144 + 48],
    });
  });

  it("re-ranks from the caller's originals exactly as from kept ones, and holds no f32 copy", async () => {
    for (const quantization of ["i8", "b1"] as Quantization[]) {
      const kept = await build({ quantization });
      const external = await build({ quantization, originals });
      expect(external.searchBatch(queries, K)).toEqual(kept.searchBatch(queries, K));
      expect(external.stats().recordBytes).toBe(kept.stats().recordBytes - 4 * DIM);
      expect(() => external.getPoint(3)).toThrow(HnswArgumentError);
      const unit = normalised(row(data, DIM, 3), DIM);
      kept.getPoint(3).forEach((x, j) => expect(x).toBeCloseTo(unit[j]!, 6));
    }
  });

  it("getPoint gives the kept original (normalised for cosine), not the code; re-adding replaces it", async () => {
    const index = await build({ quantization: "i8", space: "l2" });
    expect(index.getPoint(5)).toEqual(row(data, DIM, 5));
    const v = row(queries, DIM, 0);
    index.add(v, 5);
    expect(index.getPoint(5)).toEqual(v);
    const hit = index.search(v, 1);
    expect(Array.from(hit.labels)).toEqual([5]);
    expect(hit.distances[0]).toBe(0);
  });

  it("a missing or malformed original fails the search with a typed error; the index keeps working", async () => {
    let broken: "missing" | "short" | undefined;
    const index = await build({
      quantization: "b1",
      originals: (l) => (broken === "missing" ? undefined : broken === "short" ? new Float32Array(3) : row(data, DIM, l)),
    });
    const want = index.search(row(queries, DIM, 1), K);
    broken = "missing";
    expect(() => index.search(row(queries, DIM, 1), K)).toThrow(HnswLabelError);
    broken = "short";
    expect(() => index.search(row(queries, DIM, 1), K)).toThrow(HnswDimensionError);
    broken = undefined;
    expect(index.search(row(queries, DIM, 1), K)).toEqual(want);
  });

  it("rerank: more candidates never lose recall; bad factors are refused", async () => {
    const index = await build({ quantization: "b1" });
    const truth = bruteForce(data, queries, DIM, K, "cosine");
    const at = (rerank: number) => recall(index.searchBatch(queries, K, { ef: 10, rerank }).map((x) => x.labels), truth, K);
    const one = at(1);
    const eight = at(8);
    expect(eight).toBeGreaterThan(one);
    expect(eight).toBeGreaterThanOrEqual(0.9);
    expect(() => index.search(row(queries, DIM, 0), K, { rerank: 0 })).toThrow(HnswArgumentError);
    await expect(createIndex({ dim: 4, quantization: "b1", rerank: 1.5 })).rejects.toThrow(HnswArgumentError);
    await expect(createIndex({ dim: 4, quantization: "q4" as Quantization })).rejects.toThrow(HnswArgumentError);
    await expect(createIndex({ dim: 4, originals })).rejects.toThrow(HnswArgumentError);
  });

  it("filters and deletions work on codes as on f32", async () => {
    const index = await build({ quantization: "i8" });
    const allow = iota(50, 100);
    const { labels } = index.search(row(queries, DIM, 2), 5, { filter: allow });
    expect(Array.from(labels)).toEqual(exact(data, row(queries, DIM, 2), DIM, 5, "cosine", (l) => l >= 100 && l < 150)[0]);
    const top = index.search(row(queries, DIM, 2), 1).labels[0]!;
    index.remove(top);
    expect(index.search(row(queries, DIM, 2), 1).labels[0]).not.toBe(top);
  });
});

describe("hnsw quantized snapshots", () => {
  it("round-trip each mode byte for byte, as version 2 with the mode in the header (f32 stays version 1)", async () => {
    for (const quantization of ["f32", "i8", "b1"] as Quantization[]) {
      const index = await build({ quantization });
      const bytes = index.save();
      const v = new DataView(bytes.buffer, bytes.byteOffset);
      expect(v.getUint16(4, true)).toBe(quantization === "f32" ? 1 : 2);
      expect(v.getUint32(12, true)).toBe(2 | (["f32", "i8", "b1"].indexOf(quantization) << 8));
      const back = await loadIndex(bytes);
      expect(back.quantization).toBe(quantization);
      expect(Buffer.from(back.save()).equals(Buffer.from(bytes))).toBe(true);
      const [x, y] = [back.searchBatch(queries.subarray(0, 20 * DIM), K), index.searchBatch(queries.subarray(0, 20 * DIM), K)];
      expect(x).toEqual(y);
    }
  });

  it("a snapshot loads only as its own mode: another is a typed error and the index is unchanged", async () => {
    const i8 = await build({ quantization: "i8" });
    const f32 = await build();
    const b1 = await build({ quantization: "b1" });
    const before = i8.searchBatch(queries, K);
    for (const other of [f32, b1]) {
      const err = await i8.load(other.save()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HnswSnapshotError);
      expect((err as HnswSnapshotError).value).toBe("quantization");
      expect(i8.searchBatch(queries, K)).toEqual(before);
    }
    const err = await f32.load(i8.save()).catch((e: unknown) => e);
    expect((err as HnswSnapshotError).value).toBe("quantization");
    await expect(loadIndex(i8.save(), { quantization: "b1" })).rejects.toThrow(HnswSnapshotError);
    expect((await loadIndex(i8.save(), { quantization: "i8" })).quantization).toBe("i8");
    await i8.load(b1.save(), "any");
    expect(i8.quantization).toBe("b1");
  });

  it("an index that kept no originals saves codes only, and reopens only with originals given", async () => {
    const index = await build({ quantization: "b1", originals });
    const kept = await build({ quantization: "b1" });
    const bytes = index.save();
    expect(bytes.length).toBe(kept.save().length - N * 4 * DIM);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true)).toBe(2 | (2 << 8) | (1 << 16));
    await expect(loadIndex(bytes)).rejects.toThrow(HnswArgumentError);
    const back = await loadIndex(bytes, { originals });
    expect(back.searchBatch(queries, K)).toEqual(index.searchBatch(queries, K));
  });

  it("refuses codes no encoder writes (i8 −128, padding, b1 padding bits) even when resealed", async () => {
    const dim = 20; // i8 codes pad to 32 bytes, b1 to 128 bits
    const make = async (quantization: Quantization) => {
      const ix = await createIndex({ dim, maxElements: 10, quantization, M: 4 });
      ix.addBatch(data.subarray(0, 10 * dim), iota(10));
      return ix.save();
    };
    const i8 = await make("i8");
    const b1 = await make("b1");
    const vecOff = 64 + 48; // header, then align16(4 + 8·4) = 48 bytes of links
    const bad: [Uint8Array, number][] = [
      [i8, vecOff + 3], // a code of −128
      [i8, vecOff + dim + 1], // a padding byte
      [b1, vecOff + 5], // bits 40 … 47 lie past dim 20
    ];
    for (const [bytes, at] of bad) {
      const b = bytes.slice();
      b[at] = 0x80;
      const err = await loadIndex(resealed(b)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HnswSnapshotError);
      expect((err as HnswSnapshotError).value).toBe("vector");
    }
    // An in-range code that differs is accepted: it only steers the walk.
    const b = i8.slice();
    b[vecOff + 3] = 5;
    expect((await loadIndex(resealed(b))).size).toBe(10);
  });
});

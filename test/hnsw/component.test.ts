import { describe, it, expect, beforeAll } from "vitest";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createIndex } from "../../src/hnsw/index.js";
import { dataset, iota, row } from "./helpers.js";

const DIM = 12;
const N = 300;

/** A neighbour as the component returns it. */
interface Neighbor {
  label: number;
  distance: number;
}

/** The component's `clawft:hnsw/index` interface as jco transpiles it (build/jco/hnsw/). */
interface Index {
  init(
    dim: number,
    space: "l2" | "ip" | "cosine",
    m: number,
    efConstruction: number,
    maxElements: number,
    seed: number,
    quantization: "f32" | "i8" | "b1",
  ): void;
  addPoint(vector: Float32Array, label: number): void;
  addBatch(vectors: Float32Array, labels: Uint32Array): void;
  searchKnn(query: Float32Array, k: number, ef: number): Neighbor[];
  searchFiltered(query: Float32Array, k: number, ef: number, allow: Uint32Array): Neighbor[];
  markDelete(label: number): boolean;
  unmarkDelete(label: number): boolean;
  resizeIndex(maxElements: number): void;
  getPoint(label: number): Float32Array;
  size(): number;
  save(): Uint8Array;
  load(snapshot: Uint8Array): void;
}

const GLUE = "../../build/jco/hnsw/hnsw.js";

/** The `hnsw-error` a failed call throws (jco 1.35 throws the error case's payload itself). */
function payload(fn: () => unknown): { code: number; value: number; message: string } {
  try {
    fn();
  } catch (err) {
    return err as { code: number; value: number; message: string };
  }
  throw new Error("expected the call to fail");
}

describe("hnsw WIT component (jco transpile)", () => {
  let index: Index;
  const { data, queries } = dataset(N, DIM, 10);

  beforeAll(async () => {
    ({ index } = (await import(/* @vite-ignore */ GLUE)) as { index: Index });
  });

  it("refuses calls before init", () => {
    expect(payload(() => index.searchKnn(new Float32Array(DIM), 1, 0)).code).toBe(7);
    expect(index.size()).toBe(0);
  });

  it("builds and searches as the core module does", async () => {
    index.init(DIM, "l2", 16, 200, N, 100, "f32");
    for (let i = 0; i < 100; i++) index.addPoint(row(data, DIM, i), i);
    index.addBatch(data.subarray(100 * DIM), Uint32Array.from(iota(N - 100, 100)));
    expect(index.size()).toBe(N);
    const core = await createIndex({ dim: DIM, maxElements: N, ef: 10 }); // the component's default ef
    core.addBatch(data, iota(N));
    for (let q = 0; q < 10; q++) {
      const got = index.searchKnn(row(queries, DIM, q), 5, 50);
      const want = core.search(row(queries, DIM, q), 5, { ef: 50 });
      expect(got.map((n) => n.label)).toEqual(Array.from(want.labels));
      expect(got.map((n) => n.distance)).toEqual(Array.from(want.distances));
    }
    expect(index.save()).toEqual(core.save());
  });

  it("filters, deletes, resizes and reads points", () => {
    const allow = Uint32Array.from([3, 30, 60, 90, 120]);
    const got = index.searchFiltered(row(queries, DIM, 0), 10, 0, allow).map((n) => n.label);
    expect(got.sort((a, b) => a - b)).toEqual(Array.from(allow));
    expect(index.markDelete(30)).toBe(true);
    expect(index.markDelete(30)).toBe(false);
    expect(index.searchFiltered(row(queries, DIM, 0), 10, 0, allow)).toHaveLength(4);
    expect(index.unmarkDelete(30)).toBe(true);
    index.resizeIndex(N + 1);
    index.addPoint(row(queries, DIM, 1), 7777);
    expect(index.getPoint(7777)).toEqual(row(queries, DIM, 1));
  });

  it("returns typed errors with the offending value, and keeps working", () => {
    expect(payload(() => index.addPoint(new Float32Array(DIM + 1), 1))).toMatchObject({ code: 1, value: DIM + 1 });
    const nan = row(queries, DIM, 0).slice();
    nan[4] = NaN;
    expect(payload(() => index.searchKnn(nan, 3, 0))).toMatchObject({ code: 2, value: 4 });
    expect(payload(() => index.addPoint(row(queries, DIM, 2), 8888))).toMatchObject({ code: 3, value: N + 1 });
    expect(payload(() => index.getPoint(4242))).toMatchObject({ code: 4, value: 4242, message: expect.stringMatching(/label/) });
    expect(index.searchKnn(row(queries, DIM, 0), 3, 0)).toHaveLength(3);
  });

  it("saves and loads snapshots; a bad header changes nothing", () => {
    const bytes = index.save();
    const before = index.searchKnn(row(queries, DIM, 3), 5, 0);
    expect(payload(() => index.load(bytes.subarray(0, 100)))).toMatchObject({ code: 6, value: 1 });
    expect(index.searchKnn(row(queries, DIM, 3), 5, 0)).toEqual(before);
    index.init(4, "cosine", 4, 10, 10, 1, "f32");
    index.load(bytes);
    expect(index.size()).toBe(N + 1);
    expect(index.searchKnn(row(queries, DIM, 3), 5, 0)).toEqual(before);
    const corrupt = bytes.slice();
    corrupt[500] ^= 0xff;
    expect(payload(() => index.load(corrupt))).toMatchObject({ code: 6, value: 5 });
    expect(index.size()).toBe(0); // refused for its body: empty, still usable
    index.load(bytes);
    expect(index.searchKnn(row(queries, DIM, 3), 5, 0)).toEqual(before);
  });

  for (const quantization of ["i8", "b1"] as const) {
    it(`a ${quantization} index answers as the core module's, with exact distances, and round-trips`, async () => {
      index.init(DIM, "cosine", 8, 64, N, 100, quantization);
      index.addBatch(data, Uint32Array.from(iota(N)));
      const core = await createIndex({ dim: DIM, space: "cosine", M: 8, efConstruction: 64, maxElements: N, quantization });
      core.addBatch(data, iota(N));
      const want = core.searchBatch(queries, 5, { ef: 40 });
      const got = Array.from({ length: 10 }, (_, q) => index.searchKnn(row(queries, DIM, q), 5, 40));
      expect(got.map((r) => r.map((n) => n.label))).toEqual(want.map((r) => Array.from(r.labels)));
      expect(got.map((r) => r.map((n) => n.distance))).toEqual(want.map((r) => Array.from(r.distances)));
      expect(index.getPoint(3)).toEqual(core.getPoint(3));
      const bytes = index.save();
      // Same graph, codes and originals; the headers differ only in the default ef (the face's 50, the component's 10).
      expect(bytes.subarray(64, -4)).toEqual(core.save().subarray(64, -4));
      expect(new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true)).toBe(2 | ((quantization === "i8" ? 1 : 2) << 8));
      index.init(4, "l2", 4, 10, 10, 1, "f32");
      index.load(bytes);
      expect(index.searchKnn(row(queries, DIM, 0), 5, 40)).toEqual(got[0]);
    });
  }
});

const python = fileURLToPath(new URL("../../.venv/bin/python", import.meta.url));
const hasWasmtime = existsSync(python) && (() => {
  try {
    execFileSync(python, ["-c", "import wasmtime.component"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
if (!hasWasmtime) console.warn("skipped: wasmtime not installable (no .venv with the wasmtime package; see .ci/run)");

describe.skipIf(!hasWasmtime)("hnsw WIT component in Wasmtime", () => {
  it("builds, searches, refuses bad input and round-trips a snapshot as the core module does", async () => {
    const dim = 8;
    const { data, queries } = dataset(200, dim, 5);
    const rows = (m: Float32Array) => Array.from({ length: m.length / dim }, (_, i) => Array.from(row(m, dim, i)));
    const component = fileURLToPath(new URL("../../build/hnsw.component.wasm", import.meta.url));
    const script = fileURLToPath(new URL("./wasmtime_smoke.py", import.meta.url));
    for (const quantization of ["f32", "b1"] as const) {
      const spec = { dim, k: 4, vectors: rows(data), queries: rows(queries), quantization };
      const out = JSON.parse(execFileSync(python, [script, component], { input: JSON.stringify(spec) }).toString());
      const core = await createIndex({ dim, maxElements: 200, quantization });
      core.addBatch(data, iota(200));
      const want = core.searchBatch(queries, 4, { ef: 50 }).map((r) => Array.from(r.labels, (l, i) => [l, r.distances[i]]));
      expect(out.size).toBe(200);
      expect(out.knn).toEqual(want);
      expect(out.reloaded).toEqual(want);
      expect(out.wrong_length).toMatchObject({ code: 1, value: dim + 1 });
    }
  });
});

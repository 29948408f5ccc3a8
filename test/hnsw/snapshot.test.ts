import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { crc32 } from "node:zlib";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { createIndex, loadIndex, HnswMemoryError, HnswSnapshotError, type HnswIndex } from "../../src/hnsw/index.js";
import { MemoryStorage } from "../../src/storage/index.js";
import { FileStorage } from "../../src/storage/fs.js";
import { dataset, iota, row } from "./helpers.js";

const DIM = 12;
const N = 400;

/** Every query's labels and distances, for comparing two indexes bit for bit. */
function answers(index: HnswIndex, queries: Float32Array) {
  return index.searchBatch(queries, 5).map((r) => [Array.from(r.labels), Array.from(r.distances)]);
}

/** A snapshot whose trailing CRC-32 is recomputed, so only the structural checks stand guard. */
function resealed(bytes: Uint8Array): Uint8Array {
  const out = bytes.slice();
  if (out.length >= 4) new DataView(out.buffer).setUint32(out.length - 4, crc32(out.subarray(0, out.length - 4)), true);
  return out;
}

describe("hnsw snapshots", () => {
  let index: HnswIndex;
  let snapshot: Uint8Array;
  let queries: Float32Array;
  let expected: ReturnType<typeof answers>;

  beforeAll(async () => {
    const d = dataset(N, DIM, 30);
    queries = d.queries;
    index = await createIndex({ dim: DIM, space: "cosine", maxElements: N + 50, M: 6, efConstruction: 40, seed: 9 });
    index.addBatch(d.data, iota(N, 1000));
    index.remove(1003);
    index.ef = 77;
    snapshot = index.save();
    expected = answers(index, queries);
  });

  it("save → load gives an identical index", async () => {
    const copy = await loadIndex(snapshot);
    expect(answers(copy, queries)).toEqual(expected);
    expect(copy.stats()).toEqual(index.stats());
    expect(copy.save()).toEqual(snapshot);
  });

  it("load replaces an index of another shape", async () => {
    const other = await createIndex({ dim: 3, maxElements: 2 });
    other.add([1, 2, 3], 1);
    await other.load(snapshot);
    expect(other.dim).toBe(DIM);
    expect(answers(other, queries)).toEqual(expected);
    // the loaded index keeps building the same way as the original would
    const a = await loadIndex(snapshot);
    const b = await loadIndex(snapshot);
    a.add(row(queries, DIM, 0), 1);
    b.add(row(queries, DIM, 0), 1);
    expect(a.save()).toEqual(b.save());
  });

  it("ends in a CRC-32 (zlib's) of everything before it, after a versioned header", () => {
    const v = new DataView(snapshot.buffer, snapshot.byteOffset);
    expect(new TextDecoder().decode(snapshot.subarray(0, 4))).toBe("HNSW");
    expect(v.getUint16(4, true)).toBe(1);
    expect(v.getUint32(8, true)).toBe(DIM);
    expect(v.getUint32(snapshot.length - 4, true)).toBe(crc32(snapshot.subarray(0, snapshot.length - 4)));
  });

  it("refuses truncated, extended and corrupted snapshots with a reason, leaving the index unchanged", async () => {
    const target = await loadIndex(snapshot);
    const cases: [Uint8Array, string][] = [
      [snapshot.subarray(0, snapshot.length - 1), "length"],
      [snapshot.subarray(0, 10), "length"],
      [new Uint8Array(0), "length"],
      [Uint8Array.from([...snapshot, 0]), "length"],
      [(() => { const b = snapshot.slice(); b[0] = 0x58; return b; })(), "magic"],
      [(() => { const b = snapshot.slice(); b[4] = 3; return b; })(), "version"],
      // Version 2 is a quantized snapshot: an f32 mode in it is a bad parameter.
      [resealed((() => { const b = snapshot.slice(); b[4] = 2; return b; })()), "params"],
      [(() => { const b = snapshot.slice(); b[200] ^= 1; return b; })(), "checksum"],
      [resealed((() => { const b = snapshot.slice(); b[12] = 9; return b; })()), "params"],
    ];
    for (const [bytes, why] of cases) {
      const err = await target.load(bytes).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HnswSnapshotError);
      expect((err as HnswSnapshotError).value).toBe(why);
      expect(answers(target, queries)).toEqual(expected);
    }
  });

  it("checks the graph itself when the checksum is forged", async () => {
    const target = await loadIndex(snapshot);
    const v = new DataView(snapshot.buffer);
    const elem = v.getUint32(60, true);
    const link = (id: number, i: number) => 64 + id * elem + 4 + 4 * i;
    const cases: [(b: DataView) => void, string][] = [
      [(b) => b.setUint32(link(0, 0), N + 5, true), "graph"], // link past the end
      [(b) => b.setUint32(link(2, 0), 2, true), "graph"], // link to itself
      [(b) => b.setUint32(64 + 3 * elem, 0xffff, true), "graph"], // link count over M0
      [(b) => b.setFloat32(64 + 5 * elem + (elem - 16 * 4) + 8, NaN, true), "vector"], // dim 12 pads to 16
      [(b) => b.setUint32(64 + N * elem + 4, 1000, true), "labels"], // duplicate label
      [(b) => b.setUint32(36, 0, true), "graph"], // deleted count
    ];
    for (const [mutate, why] of cases) {
      const bytes = snapshot.slice();
      mutate(new DataView(bytes.buffer));
      const err = await target.load(resealed(bytes)).catch((e: unknown) => e);
      expect(err, why).toBeInstanceOf(HnswSnapshotError);
      expect((err as HnswSnapshotError).value).toBe(why);
    }
    expect(answers(target, queries)).toEqual(expected);
  });

  it("fuzz: random bytes never load and never trap", async () => {
    const target = await loadIndex(snapshot);
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 400 }), async (bytes) => {
        const err = await target.load(bytes).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(HnswSnapshotError);
      }),
      { numRuns: 150, seed: 4242 },
    );
    expect(answers(target, queries)).toEqual(expected);
  });

  it("fuzz: mutated snapshots (resealed or not) are refused with a typed error or load into a usable index", async () => {
    const target = await loadIndex(snapshot);
    const mutation = fc.record({
      edits: fc.array(fc.tuple(fc.nat({ max: snapshot.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
      cut: fc.option(fc.nat({ max: snapshot.length })),
      reseal: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(mutation, async ({ edits, cut, reseal }) => {
        let bytes: Uint8Array = snapshot.slice();
        for (const [at, value] of edits) bytes[at] = value;
        if (cut !== null) bytes = bytes.subarray(0, cut);
        if (reseal) bytes = resealed(bytes);
        const probe = await loadIndex(snapshot);
        try {
          await probe.load(bytes);
        } catch (err) {
          // A forged maxElements may ask for more memory than wasm32 has: also a typed refusal.
          expect(err instanceof HnswSnapshotError || err instanceof HnswMemoryError).toBe(true);
          expect(answers(probe, queries)).toEqual(expected);
          return;
        }
        // Accepted (a harmless edit): it must search and save without trapping.
        probe.searchBatch(queries, 3);
        await target.load(probe.save());
      }),
      { numRuns: 120, seed: 4242 },
    );
  });

  describe("persistence through Storage", () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "hnsw-"));
    });
    afterAll(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    for (const [name, open] of [
      ["memory", async () => new MemoryStorage()],
      ["files", async () => new FileStorage(dir)],
    ] as const) {
      it(`saves to and loads from ${name} storage`, async () => {
        const storage = await open();
        await index.saveTo(storage, "indexes/a");
        const copy = await createIndex({ dim: 1 });
        expect(await copy.loadFrom(storage, "indexes/missing")).toBe(false);
        expect(copy.dim).toBe(1);
        expect(await copy.loadFrom(storage, "indexes/a")).toBe(true);
        expect(answers(copy, queries)).toEqual(expected);
        await storage.close();
      });
    }
  });
});

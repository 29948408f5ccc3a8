/**
 * Same bytes, same results, in WAMR (issue 11): the codec's test vectors, HNSW search results
 * and a CLP event log's replay hash come out of WAMR's fast interpreter exactly as out of
 * Node. The raw-ABI cores run in WAMR as they are (the very files in build/, no rebuild, no
 * wrapper program): test/helpers/wamr.ts drives their exports from the same TypeScript
 * faces Node uses, so both hosts see the same calls and only the engine differs.
 */
import { describe, it, expect, vi, afterEach } from "vitest";
import { fileURLToPath } from "node:url";
import { readFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClaspCodec, ClaspDecodeError, codec } from "../../src/clasp/index.js";
import { ClpCore, replayStateHash } from "../../src/clp/index.js";
import { createIndex, type HnswIndex, type Space } from "../../src/hnsw/index.js";
import { VECTORS, hex, unhex } from "../clasp/wire.js";
import { runWorkload } from "../helpers/clp-workload.js";
import { gaussianMixture, iota } from "../hnsw/helpers.js";
import { runNodeWasi } from "../helpers/node-wasi.js";
import { runWamr, wamrInstance, wamrSimdUnavailable, wamrUnavailable, type WamrInstance } from "../helpers/wamr.js";

const skip = await wamrUnavailable();
const skipSimd = await wamrSimdUnavailable();
const build = (name: string) => fileURLToPath(new URL(`../../build/${name}`, import.meta.url));
const open: WamrInstance[] = [];
afterEach(() => open.splice(0).forEach((i) => i.close()));

/** A core running in WAMR, closed after the test. */
function inWamr(name: string, imports = {}, simd = false): WebAssembly.Instance {
  const i = wamrInstance(build(name), imports, { simd });
  open.push(i);
  return i as unknown as WebAssembly.Instance;
}

const BAD = ["53", "5401000141", "530100017f", "5341000621080001ff"].map(unhex);

describe.skipIf(skip)(`the CLASP codec core in WAMR ${skip ?? ""}`, () => {
  it("decodes every test vector to the frame Node decodes, and re-encodes them to Node's bytes", async () => {
    const wamr = ClaspCodec.fromInstance(inWamr("clasp.wasm"));
    const node = await ClaspCodec.load();
    for (const v of VECTORS) {
      expect(wamr.decode(v.bytes)).toEqual(v.frame);
      const { message, flags, timestamp } = wamr.decode(v.bytes, { widths: true });
      expect(node.decode(v.bytes, { widths: true })).toEqual({ message, flags, ...(timestamp === undefined ? {} : { timestamp }) });
      const options = { qos: flags.qos, timestamp, encrypted: flags.encrypted, compressed: flags.compressed, version: flags.version };
      const out = wamr.encode(message, options);
      if (v.canonical) expect(hex(out)).toBe(hex(v.bytes));
      expect(hex(out)).toBe(hex(node.encode(message, options)));
    }
    for (const b of BAD) {
      const refusal = (c: ClaspCodec) => {
        try {
          c.decode(b);
        } catch (e) {
          expect(e).toBeInstanceOf(ClaspDecodeError);
          return { ...(e as object), message: (e as Error).message };
        }
        return undefined;
      };
      expect(refusal(wamr)).toEqual(refusal(node));
    }
  });

  it("writes the same frames for a batch, bare, length-prefixed and SLIP-framed", async () => {
    const wamr = ClaspCodec.fromInstance(inWamr("clasp.wasm"));
    const node = await ClaspCodec.load();
    const messages = VECTORS.map((v) => v.frame.message);
    for (const framing of ["frame", "length-prefixed", "slip"] as const) {
      expect(wamr.encodeBatch(messages, { framing }).map(hex)).toEqual(node.encodeBatch(messages, { framing }).map(hex));
    }
  });
});

describe.skipIf(skip)(`the CLP engine core in WAMR ${skip ?? ""}`, () => {
  it("replays an event log of 3000 transitions to Node's state hash and state bytes", async () => {
    const rt = runWorkload(3000, 7);
    const log = rt.exportLog();
    const node = replayStateHash(await ClpCore.load(), log);
    expect(node.hash).toBe(rt.stateHash());
    const wamr = replayStateHash(ClpCore.fromInstance(inWamr("clp.wasm"), codec), log);
    expect(wamr.hash).toBe(node.hash);
    expect(hex(wamr.state)).toBe(hex(node.state));
    expect(wamr.head).toBe(node.head);
    expect(wamr.seq).toBe(node.seq);
  });

  it("refuses a tampered log as Node does", async () => {
    const log = runWorkload(200, 7).exportLog();
    log[100]! ^= 1;
    const refusal = (core: ClpCore) => {
      try {
        replayStateHash(core, log);
      } catch (e) {
        return { name: (e as Error).name, message: (e as Error).message };
      }
      return undefined;
    };
    const node = refusal(await ClpCore.load());
    expect(node).toBeDefined();
    expect(refusal(ClpCore.fromInstance(inWamr("clp.wasm"), codec))).toEqual(node);
  });
});

/**
 * An HNSW index whose core runs in WAMR: the face instantiates its module through
 * `WebAssembly.instantiate`, which hands back the WAMR instance for this one call.
 */
async function wamrIndex(file: string, simd: boolean, options: Parameters<typeof createIndex>[0]): Promise<HnswIndex> {
  const bytes = await readFile(build(file));
  const spy = vi.spyOn(WebAssembly, "instantiate").mockImplementationOnce((async (_m: unknown, imports: Record<string, Record<string, never>>) =>
    inWamr(file, imports, simd)) as never);
  try {
    const index = await createIndex({ ...options, simd, source: bytes });
    expect(spy).toHaveBeenCalledTimes(1);
    return index;
  } finally {
    spy.mockRestore();
  }
}

describe.skipIf(skip)(`the HNSW core in WAMR ${skip ?? ""}`, () => {
  for (const space of ["l2", "cosine"] as Space[]) {
    it(`scalar build, same seed: the same graph and the same search results as Node (${space})`, async () => {
      const dim = 24;
      const { data, queries } = gaussianMixture({ n: 300, dim, queries: 20, seed: 11, clusters: 6 });
      const opts = { dim, space, maxElements: 300, M: 8, efConstruction: 48, seed: 5 };
      const node = await createIndex({ ...opts, simd: false });
      const wamr = await wamrIndex("hnsw.scalar.wasm", false, opts);
      node.addBatch(data, iota(300));
      wamr.addBatch(data, iota(300));
      const a = node.searchBatch(queries, 10);
      const b = wamr.searchBatch(queries, 10);
      for (let q = 0; q < a.length; q++) {
        expect(Array.from(b[q]!.labels)).toEqual(Array.from(a[q]!.labels));
        expect(Array.from(b[q]!.distances)).toEqual(Array.from(a[q]!.distances)); // bit for bit
      }
      expect(hex(wamr.save())).toBe(hex(node.save()));
    });
  }

  it("calls the host's filter predicate from inside WAMR (the hnsw.accept import)", async () => {
    const dim = 8;
    const { data, queries } = gaussianMixture({ n: 100, dim, queries: 3, seed: 2, clusters: 4 });
    const opts = { dim, maxElements: 100, seed: 9 };
    const node = await createIndex({ ...opts, simd: false });
    const wamr = await wamrIndex("hnsw.scalar.wasm", false, opts);
    node.addBatch(data, iota(100));
    wamr.addBatch(data, iota(100));
    const odd = (label: number) => label % 2 === 1;
    for (let q = 0; q < 3; q++) {
      const query = queries.subarray(q * dim, (q + 1) * dim);
      const got = wamr.search(query, 5, { filter: odd });
      expect(Array.from(got.labels).every(odd)).toBe(true);
      expect(Array.from(got.labels)).toEqual(Array.from(node.search(query, 5, { filter: odd }).labels));
    }
  });

  it.skipIf(skipSimd)(`SIMD build in WAMR's SIMD host gives the scalar graph ${skipSimd ?? ""}`, async () => {
    const dim = 20;
    const { data, queries } = gaussianMixture({ n: 150, dim, queries: 10, seed: 4, clusters: 5 });
    const opts = { dim, maxElements: 150, M: 8, efConstruction: 40, seed: 3 };
    const node = await createIndex({ ...opts, simd: true });
    const wamr = await wamrIndex("hnsw.wasm", true, opts);
    node.addBatch(data, iota(150));
    wamr.addBatch(data, iota(150));
    expect(hex(wamr.save())).toBe(hex(node.save()));
    const a = node.searchBatch(queries, 5);
    const b = wamr.searchBatch(queries, 5);
    for (let q = 0; q < a.length; q++) expect(Array.from(b[q]!.labels)).toEqual(Array.from(a[q]!.labels));
  });
});

describe.skipIf(skip)(`clawft.p1.wasm in WAMR and in node:wasi ${skip ?? ""}`, () => {
  it("`version` prints the same line in both and exits 0", async () => {
    const home = await mkdtemp(join(tmpdir(), "clawft-home-"));
    try {
      const w = await runWamr(build("clawft.p1.wasm"), ["version"], { dirs: [home], env: { CLAWFT_HOME: home } });
      expect(w.stderr).toBe("");
      expect(w.code).toBe(0);
      expect(w.stdout.toString()).toMatch(/^clawft\.wasm \d+\.\d+\.\d+/);
      const n = await runNodeWasi(build("clawft.p1.wasm"), ["version"], { dirs: [home], env: { CLAWFT_HOME: home } });
      expect(n.code).toBe(0);
      expect(w.stdout.toString()).toBe(n.stdout.toString());
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("a module WAMR cannot load is a clear error with exit status 1, not a crash", async () => {
    const w = await runWamr(fileURLToPath(import.meta.url), []);
    expect(w.code).toBe(1);
    expect(w.stderr).toMatch(/^clawft-wamr: cannot load the module/);
  });
});

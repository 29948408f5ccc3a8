import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { Worker } from "node:worker_threads";
import { createWorkerIndex, WorkerCrashError, type WorkerIndex } from "../../src/hnsw/worker.js";
import { createIndex, HnswArgumentError, HnswDimensionError, HnswLabelError, HnswSnapshotError } from "../../src/hnsw/index.js";
import { MemoryStorage } from "../../src/storage/index.js";
import { dataset, iota, row } from "./helpers.js";

const DIM = 16;
const N = 1000;

/** A Node worker_threads Worker running workers/hnsw.worker.ts (through tsx, see worker-boot.mjs). */
function spawn(): Worker {
  return new Worker(new URL("./worker-boot.mjs", import.meta.url));
}

/** The same Worker, which throws an uncaught error when it receives "crash" (test/web/worker-boot.mjs). */
function spawnDoomed(): Worker {
  return new Worker(new URL("../web/worker-boot.mjs", import.meta.url), { workerData: { entry: "hnsw.worker.ts", crashOn: "crash" } });
}

describe("hnsw in a Worker (comlink, worker_threads)", () => {
  let index: WorkerIndex;
  const { data, queries } = dataset(N, DIM, 10);

  beforeAll(async () => {
    index = await createWorkerIndex(spawn(), { dim: DIM, maxElements: N, seed: 4 });
    await index.addBatch(data, iota(N));
  });
  afterAll(async () => {
    await index.terminate();
  });

  it("can build and search off-thread with the same answers as in-thread", async () => {
    const local = await createIndex({ dim: DIM, maxElements: N, seed: 4 });
    local.addBatch(data, iota(N));
    const remote = await index.searchBatch(queries, 5);
    expect(remote).toEqual(local.searchBatch(queries, 5));
    const one = await index.search(row(queries, DIM, 0), 5, { filter: new Set([1, 2, 3, 500, 900]) });
    expect(one).toEqual(local.search(row(queries, DIM, 0), 5, { filter: [1, 2, 3, 500, 900] }));
    expect(await index.size).toBe(N);
    expect(await index.save()).toEqual(local.save());
  });

  it("can remove, restore, resize and read points", async () => {
    expect(await index.remove(7)).toBe(true);
    expect((await index.stats()).deleted).toBe(1);
    expect(await index.restore(7)).toBe(true);
    await index.resize(N + 10);
    await index.add(row(queries, DIM, 1), N + 1);
    expect(await index.getPoint(N + 1)).toEqual(row(queries, DIM, 1));
    await index.setEf(123);
    expect((await index.stats()).ef).toBe(123);
  });

  it("can rebuild typed errors by name, and keep working after them", async () => {
    await expect(index.add(new Float32Array(3), 1)).rejects.toBeInstanceOf(HnswDimensionError);
    const err = await index.getPoint(99999).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HnswLabelError);
    expect((err as HnswLabelError).value).toBe(99999);
    await expect(index.load(new Uint8Array(10))).rejects.toBeInstanceOf(HnswSnapshotError);
    await expect(index.search(row(queries, DIM, 0), 3, { filter: (() => true) as never })).rejects.toThrow(/predicate/);
    expect((await index.search(row(queries, DIM, 0), 3)).labels).toHaveLength(3);
  });

  it("can pass quantization and rerank through, and refuse a snapshot of another mode", async () => {
    const remote = await createWorkerIndex(spawn(), { dim: DIM, maxElements: N, seed: 4, quantization: "i8", rerank: 3 });
    try {
      const local = await createIndex({ dim: DIM, maxElements: N, seed: 4, quantization: "i8", rerank: 3 });
      local.addBatch(data, iota(N));
      await remote.addBatch(data, iota(N));
      expect((await remote.stats()).quantization).toBe("i8");
      expect(await remote.searchBatch(queries, 5)).toEqual(local.searchBatch(queries, 5));
      expect(await remote.searchBatch(queries, 5, { rerank: 1 })).toEqual(local.searchBatch(queries, 5, { rerank: 1 }));
      const err = await remote.load(await index.save()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HnswSnapshotError);
      expect((err as HnswSnapshotError).value).toBe("quantization");
      expect(await remote.save()).toEqual(local.save());
    } finally {
      await remote.terminate();
    }
    const withFunction = { dim: DIM, quantization: "b1", originals: () => undefined } as never;
    const worker = spawn();
    try {
      await expect(createWorkerIndex(worker, withFunction)).rejects.toBeInstanceOf(HnswArgumentError);
    } finally {
      await worker.terminate();
    }
  });

  it("can save to and load from Storage on the calling thread", async () => {
    const storage = new MemoryStorage();
    await index.saveTo(storage, "w");
    const other = await createWorkerIndex(spawn(), { dim: 2 });
    try {
      expect(await other.loadFrom(storage, "w")).toBe(true);
      expect(await other.searchBatch(queries, 4)).toEqual(await index.searchBatch(queries, 4));
    } finally {
      await other.terminate();
    }
  });
});

describe("an HNSW Worker that dies", () => {
  const { data } = dataset(N, DIM, 1);

  it("rejects pending and later calls with WorkerCrashError when it throws an uncaught error", async () => {
    const thread = spawnDoomed();
    const index = await createWorkerIndex(thread, { dim: DIM, maxElements: N });
    // Queued behind the message that kills the thread: pending when it dies.
    thread.postMessage("crash");
    const err = await index.addBatch(data, iota(N)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashError);
    expect((err as WorkerCrashError).message).toMatch(/HNSW index Worker crashed: worker crashed on purpose/);
    await expect(index.stats()).rejects.toBeInstanceOf(WorkerCrashError);
    await index.terminate();
  });

  it("rejects a pending call with WorkerCrashError when its thread exits", async () => {
    const thread = spawn();
    const index = await createWorkerIndex(thread, { dim: DIM, maxElements: N });
    const pending = index.addBatch(data, iota(N)).catch((e: unknown) => e);
    await thread.terminate(); // from outside the WorkerIndex: to it, the thread just exited
    const err = await pending;
    expect(err).toBeInstanceOf(WorkerCrashError);
    expect((err as WorkerCrashError).message).toMatch(/exited with code 1/);
    await expect(index.search(row(data, DIM, 0), 1)).rejects.toBeInstanceOf(WorkerCrashError);
  });

  it("rejects calls after terminate instead of leaving them pending", async () => {
    const index = await createWorkerIndex(spawn(), { dim: DIM });
    await index.terminate();
    await expect(index.stats()).rejects.toBeInstanceOf(WorkerCrashError);
  });
});

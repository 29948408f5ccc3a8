/**
 * HNSW and CLP in a Durable Object (examples/cloudflare-memory/worker.ts) in real workerd: the
 * contract decides what enters the index, search answers the exact nearest neighbours (a
 * brute-force oracle over these few vectors), and both survive a workerd restart through
 * their snapshots in the object's storage.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WorkerdRoom, workerdMissing } from "./workerd.js";
import { RawClient } from "../relay/helpers.js";

const DIM = 8;
const QUOTA = 64;
let w: WorkerdRoom;

/** Deterministic vectors (xorshift32). */
function vectors(n: number, seed = 7): number[][] {
  let x = seed;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
  return Array.from({ length: n }, () => Array.from({ length: DIM }, () => Math.fround(next() * 2 - 1)));
}

function nearest(data: number[][], q: number[], k: number): number[] {
  const d = data.map((v, label) => [v.reduce((s, x, i) => s + (x - q[i]!) ** 2, 0), label] as const);
  return d.sort((a, b) => a[0] - b[0]).slice(0, k).map(([, label]) => label);
}

async function post(path: string, body: unknown): Promise<[number, Record<string, unknown>]> {
  const res = await fetch(`${w.base}${path}`, { method: "POST", body: JSON.stringify(body) });
  return [res.status, (await res.json()) as Record<string, unknown>];
}

describe.skipIf(workerdMissing)(workerdMissing ?? "HNSW and CLP in a Durable Object (examples/cloudflare-memory)", () => {
  beforeAll(async () => {
    w = await WorkerdRoom.start({
      entry: "examples/cloudflare-memory/worker.ts",
      objects: [
        { className: "ClaspRoom", binding: "CLASP_ROOMS" },
        { className: "MemoryObject", binding: "MEMORY" },
      ],
      wasm: ["clasp.wasm", "router.wasm", "hnsw.wasm", "clp.wasm"],
    });
  }, 60_000);

  afterAll(async () => {
    await w?.close();
  });

  const data = vectors(40);

  it("remembers what the contract allows and finds the exact nearest neighbours", async () => {
    for (let label = 0; label < data.length; label++) {
      const [status, body] = await post("/memory/notes/remember", { label, vector: data[label], tag: `n${label}` });
      expect([status, body.count]).toEqual([200, label + 1]);
    }
    for (const q of vectors(5, 99)) {
      const [status, body] = await post("/memory/notes/search", { vector: q, k: 3 });
      expect(status).toBe(200);
      expect(body.labels).toEqual(nearest(data, q, 3));
    }
  });

  it("refuses what the contract denies (guards named) and stores nothing for it", async () => {
    const [s1, b1] = await post("/memory/notes/remember", { label: -1, vector: data[0], tag: "x" });
    expect([s1, b1.error, b1.guard]).toEqual([403, "GuardDeniedError", "label_not_negative"]);
    const [s2, b2] = await post("/memory/notes/remember", { label: 100, vector: data[0], tag: "" });
    expect([s2, b2.guard]).toEqual([403, "tag_not_empty"]);
    const [s3] = await post("/memory/notes/remember", { label: 1.5, vector: data[0], tag: "x" });
    expect(s3).toBe(400);
    const [s4] = await post("/memory/notes/search", { vector: [1, 2], k: 1 });
    expect(s4).toBe(400);
    const state = await (await fetch(`${w.base}/memory/notes/state`)).json();
    expect(state).toEqual({ count: data.length, last: data.length - 1, size: data.length });
  });

  it("enforces the quota guard", async () => {
    const more = vectors(QUOTA, 3);
    for (let i = 0; i < QUOTA; i++) {
      const [status, body] = await post("/memory/full/remember", { label: i, vector: more[i], tag: "t" });
      expect(status).toBe(200);
      expect(body.count).toBe(i + 1);
    }
    const [status, body] = await post("/memory/full/remember", { label: QUOTA, vector: more[0], tag: "t" });
    expect([status, body.guard]).toEqual([403, "quota"]);
  }, 30_000);

  it("finds the index and the contract's state again after workerd restarts, and serves rooms beside them", async () => {
    await w.restart();
    const state = await (await fetch(`${w.base}/memory/notes/state`)).json();
    expect(state).toEqual({ count: data.length, last: data.length - 1, size: data.length });
    for (const q of vectors(5, 99)) {
      const [, body] = await post("/memory/notes/search", { vector: q, k: 3 });
      expect(body.labels).toEqual(nearest(data, q, 3));
    }
    const [status] = await post("/memory/notes/remember", { label: 41, vector: data[1], tag: "after" });
    expect(status).toBe(200);
    const c = await RawClient.hello(w.url("lobby"));
    c.send({ type: "PING" });
    await c.next("PONG");
    c.close();
  }, 30_000);
});

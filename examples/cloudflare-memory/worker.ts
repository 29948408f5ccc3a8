/**
 * A Worker with CLASP rooms and a governed vector memory, each a Durable Object:
 *
 *   GET  /ws/<room>                    a CLASP room (ClaspRoom from clawft/cloudflare)
 *   POST /memory/<name>/remember       {label, vector, tag}  → 200 {count}, or 403 {guard} when the contract denies it
 *   POST /memory/<name>/search         {vector, k}           → {labels, distances} (nearest first)
 *   GET  /memory/<name>/state          → {count, last, size}
 *
 * `MemoryObject` keeps an HNSW index (clawft/hnsw) and a CLP runtime (clawft/clp) whose contract
 * decides what may be remembered: a label must be a non-negative integer and the memory holds
 * at most `QUOTA` vectors. A vector enters the index only after the contract committed the
 * intent; both are then snapshotted to the object's SQLite storage in the same request
 * (table `memory_snapshots`), so a restart or an eviction finds them again. The cores are
 * imported as wasm modules (workerd compiles no wasm from bytes). docs/cloudflare.md shows the
 * wrangler config; test/cloudflare/memory.test.ts runs this file in workerd. In your project,
 * import from "clawft/cloudflare", "clawft/hnsw" and "clawft/clp".
 */
import { handleRoomRequest, type DurableObjectNamespace, type DurableObjectState, type SqlStorage } from "../../src/cloudflare/index.js";
import { HnswIndex } from "../../src/hnsw/index.js";
import { createContract, initClp, createRuntime, ClpError, GuardDeniedError, type Runtime } from "../../src/clp/index.js";
import hnswWasm from "../../build/hnsw.wasm";
import clpWasm from "../../build/clp.wasm";

export { ClaspRoom } from "../../src/cloudflare/index.js";

/** Floats per vector. (Not exported: workerd takes every export of the entry for a handler.) */
const DIM = 8;
/** Most vectors one memory holds (the contract's `quota` guard). */
const QUOTA = 64;

/** What may enter the memory: the contract's guards decide, its transition counts. */
const contract = () =>
  createContract({
    intents: { remember: { inputs: { label: "number", tag: "string" } } },
    state: { count: "number", last: "number" },
    guards: [
      { name: "quota", deny: { ">=": [{ var: ["state.count", 0] }, QUOTA] } },
      { name: "label_not_negative", deny: { "<": [{ var: "intent.payload.label" }, 0] } },
      { name: "tag_not_empty", deny: { "==": [{ var: "intent.payload.tag" }, ""] } },
    ],
    transitions: {
      store: {
        when: { var: "intent.complete" },
        effects: { count: { "+": [{ var: ["state.count", 0] }, 1] }, last: { var: "intent.payload.label" } },
      },
    },
  });

/** The engine core is loaded once per isolate, from the imported module. */
let clpReady: Promise<unknown> | undefined;

/** Environment of this Worker. */
export interface Env {
  CLASP_ROOMS: DurableObjectNamespace;
  MEMORY: DurableObjectNamespace;
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** An HNSW index and the CLP contract that governs it, snapshotted to the object's storage. */
export class MemoryObject {
  readonly #sql: SqlStorage;
  #index!: HnswIndex;
  #rt!: Runtime;

  constructor(state: DurableObjectState) {
    this.#sql = state.storage.sql;
    void state.blockConcurrencyWhile(() => this.#open());
  }

  async #open(): Promise<void> {
    clpReady ??= initClp(clpWasm);
    await clpReady;
    this.#sql.exec("CREATE TABLE IF NOT EXISTS memory_snapshots (name TEXT PRIMARY KEY, bytes BLOB NOT NULL)");
    this.#index = await HnswIndex.create({ dim: DIM, maxElements: QUOTA, source: hnswWasm, simd: true });
    this.#rt = createRuntime(contract());
    const rows = this.#sql.exec<{ name: string; bytes: ArrayBuffer }>("SELECT name, bytes FROM memory_snapshots").toArray();
    for (const row of rows) {
      if (row.name === "hnsw") await this.#index.load(new Uint8Array(row.bytes));
      if (row.name === "clp") this.#rt.restore(new Uint8Array(row.bytes));
    }
  }

  /** Stores both snapshots in one transaction (the response leaves after it is durable). */
  #snapshot(): void {
    const put = "INSERT INTO memory_snapshots (name, bytes) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET bytes = excluded.bytes";
    const hnsw = this.#index.save();
    const clp = this.#rt.snapshot();
    this.#sql.exec(put, "hnsw", hnsw.slice().buffer);
    this.#sql.exec(put, "clp", clp.slice().buffer);
  }

  async fetch(request: Request): Promise<Response> {
    const action = new URL(request.url).pathname.split("/")[3];
    try {
      if (request.method === "GET" && action === "state") {
        return json({ count: this.#rt.getState("count") ?? 0, last: this.#rt.getState("last") ?? null, size: this.#index.stats().size });
      }
      if (request.method !== "POST") return json({ error: "POST remember or search, GET state" }, 405);
      const body = (await request.json()) as { label?: number; vector?: number[]; tag?: string; k?: number };
      if (!Array.isArray(body.vector) || body.vector.length !== DIM) return json({ error: `vector must be ${DIM} numbers` }, 400);
      if (action === "search") {
        const { labels, distances } = this.#index.search(body.vector, Math.min(body.k ?? 5, QUOTA));
        return json({ labels: [...labels], distances: [...distances] });
      }
      if (action !== "remember") return json({ error: "POST remember or search, GET state" }, 404);
      // The index takes u32 labels: anything else could not be stored after the contract
      // committed. Negative integers go to the contract, whose guard denies them.
      if (!Number.isInteger(body.label) || body.label! > 0xffffffff) return json({ error: "label must be an integer below 2^32" }, 400);
      this.#rt.dispatch("remember", { label: body.label, tag: body.tag });
      this.#rt.commit(); // GuardDeniedError: nothing changed, nothing is stored
      this.#index.add(body.vector, body.label!);
      this.#snapshot();
      return json({ count: this.#rt.getState("count") });
    } catch (e) {
      if (e instanceof GuardDeniedError) return json({ error: e.name, guard: e.guard, message: e.message }, 403);
      if (e instanceof ClpError) return json({ error: e.name, message: e.message }, 403);
      return json({ error: (e as Error).name, message: (e as Error).message }, 400);
    }
  }
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const room = handleRoomRequest(request, env.CLASP_ROOMS);
    if (room) return room;
    const parts = new URL(request.url).pathname.split("/");
    if (parts[1] === "memory" && parts[2]) return env.MEMORY.get(env.MEMORY.idFromName(decodeURIComponent(parts[2]))).fetch(request);
    return new Response("GET /ws/<room>, POST /memory/<name>/remember|search, GET /memory/<name>/state\n", { status: 404 });
  },
};

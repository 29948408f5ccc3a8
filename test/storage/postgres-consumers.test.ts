// PostgreSQL under the three users of Storage: the relay (`--storage postgres://…`, params
// and revisions back after a restart, each ACK given only once its row is committed), a CLP
// runtime (state and event log back in a new runtime), and an HNSW snapshot from a Worker
// index (saveTo, then loadFrom into another Worker). One throwaway server (test/helpers/
// postgres.ts); without PostgreSQL each test is listed as skipped with the reason.
import { Worker } from "node:worker_threads";
import { afterAll, describe, expect, it } from "vitest";
import { counterRules } from "../../examples/counter/contract.js";
import { openRuntime } from "../../src/clp/index.js";
import { createWorkerIndex } from "../../src/hnsw/worker.js";
import { PostgresStorage } from "../../src/storage/postgres.js";
import { startPostgres } from "../helpers/postgres.js";
import { dataset, iota } from "../hnsw/helpers.js";
import { RawClient, startRelay } from "../relay/helpers.js";

const pg = await startPostgres();
const url = pg.server?.url;
afterAll(async () => pg.server?.stop());

/** `it`, or a skipped test named with the reason when PostgreSQL did not start. */
function pgIt(name: string, fn: (url: string) => Promise<void>): void {
  if (!url) it.skip(`${name} (skipped: ${pg.reason})`, () => {});
  else it(name, () => fn(url), 60_000);
}

describe("PostgreSQL under the relay, CLP and HNSW", () => {
  pgIt("relay --storage postgres://: an ACK means the row is committed; params and revisions are back after a restart", async (url) => {
    const a = await startRelay({ storage: url });
    const c = await RawClient.hello(a.url);
    const probe = new PostgresStorage(url);
    for (let i = 1; i <= 3; i++) {
      c.send({ type: "SET", address: "/pg/x", value: i });
      expect((await c.next("ACK")).revision).toBe(i);
      expect(a.persister.backlog).toBe(0); // the ACK waited for the commit
    }
    expect(await probe.keys("relay/param/")).toHaveLength(1);
    c.close();
    await a.close();
    const b = await startRelay({ storage: url });
    expect(b.restored).toEqual({ restored: 1, refused: 0, unreadable: 0 });
    const d = await RawClient.hello(b.url);
    d.send({ type: "GET", address: "/pg/x" });
    expect((await d.next("SNAPSHOT")).params[0]).toMatchObject({ value: 3, revision: 3 });
    d.close();
    await b.close();
    await probe.close();
  });

  pgIt("CLP: each commit is stored before it is reported, and a new runtime hydrates state and event log from it", async (url) => {
    const storage = new PostgresStorage(url, { table: "clp_kv" });
    const a = await openRuntime(counterRules, undefined, { storage, storageKey: "c" });
    for (const amount of [2, 3]) {
      a.dispatch("increment", { amount });
      await a.commitAsync();
    }
    const other = new PostgresStorage(url, { table: "clp_kv" }); // another connection pool
    const b = await openRuntime(counterRules, undefined, { storage: other, storageKey: "c" });
    expect(b.getState("count")).toBe(5);
    expect(b.head()).toEqual(a.head());
    expect(b.stateHash()).toBe(a.stateHash());
    expect(b.exportLog()).toEqual(a.exportLog());
    await storage.close();
    await other.close();
  });

  pgIt("HNSW: a Worker index's snapshot saved to PostgreSQL loads into another Worker with the same answers", async (url) => {
    const storage = new PostgresStorage(url, { table: "hnsw_kv" });
    const spawn = () => new Worker(new URL("../hnsw/worker-boot.mjs", import.meta.url));
    const { data, queries } = dataset(500, 16, 10);
    const index = await createWorkerIndex(spawn(), { dim: 16, maxElements: 500, seed: 4 });
    const other = await createWorkerIndex(spawn(), { dim: 2 });
    try {
      await index.addBatch(data, iota(500));
      await index.saveTo(storage, "indexes/a");
      expect(await other.loadFrom(storage, "indexes/missing")).toBe(false);
      expect(await other.loadFrom(storage, "indexes/a")).toBe(true);
      expect(await other.searchBatch(queries, 5)).toEqual(await index.searchBatch(queries, 5));
    } finally {
      await index.terminate();
      await other.terminate();
      await storage.close();
    }
  });
});

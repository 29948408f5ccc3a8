/**
 * `clawft/hnsw/worker` in real Chromium (module Workers from a vite bundle): the index builds
 * and searches off-thread, typed errors come back as their classes, and a crashing Worker
 * rejects its pending and later calls with WorkerCrashError.
 */
import { expect, it } from "vitest";
import { describeChromium, runFixturePage } from "../helpers/chromium.js";

describeChromium("the HNSW Worker in Chromium", () => {
  it("can build, search and refuse in a Worker, and reject calls to a crashed one", async () => {
    const r = await runFixturePage<Record<string, unknown>>("test/hnsw/fixtures/worker.html", "runHnswWorker");
    expect(r).toMatchObject({ labels: [8, 7], size: 3, badIsClass: true, crashIsClass: true, laterIsClass: true });
    expect(r.crashMessage).toMatch(/HNSW index Worker crashed: .*worker crashed on purpose/);
  }, 180_000);
});

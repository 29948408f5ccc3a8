/**
 * `clawft/hnsw/worker` in real Chromium (module Workers from a vite bundle): the index builds
 * and searches off-thread, typed errors come back as their classes, and a crashing Worker
 * rejects its pending and later calls with WorkerCrashError.
 */
import { rm } from "node:fs/promises";
import { afterAll, expect, it } from "vitest";
import { buildBundle, describeChromium, serveStatic, withPage, type StaticServer } from "../helpers/chromium.js";

let dir: string | undefined;
let server: StaticServer | undefined;
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describeChromium("the HNSW Worker in Chromium", () => {
  it("can build, search and refuse in a Worker, and reject calls to a crashed one", async () => {
    dir = await buildBundle("test/hnsw/fixtures/worker.html");
    server = await serveStatic(dir);
    const r = await withPage(`${server.url}test/hnsw/fixtures/worker.html`, async (page) => {
      await page.waitForFunction(() => "runHnswWorker" in window);
      return page.evaluate(() => (window as unknown as { runHnswWorker: () => Promise<Record<string, unknown>> }).runHnswWorker());
    });
    expect(r).toMatchObject({ labels: [8, 7], size: 3, badIsClass: true, crashIsClass: true, laterIsClass: true });
    expect(r.crashMessage).toMatch(/HNSW index Worker crashed: .*worker crashed on purpose/);
  }, 180_000);
});

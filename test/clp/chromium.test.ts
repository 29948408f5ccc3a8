/**
 * Determinism in a real browser: Debian's Chromium (headless, via test/helpers/chromium.ts)
 * loads a Vite bundle of the CLP face and core and replays the same event log as Node with
 * `replayStateHash`; the state bytes, their SHA-256 and the log head must be identical.
 */
import { rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { replayStateHash, ClpCore } from "../../src/clp/index.js";
import { buildBundle, describeChromium, serveStatic, withPage, type StaticServer } from "../helpers/chromium.js";
import { runWorkload } from "../helpers/clp-workload.js";

let dir: string | undefined;
let server: StaticServer | undefined;
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describeChromium("replaying one event log in Chromium", () => {
  it("ends in the same state bytes, hash and head as in Node", async () => {
    const log = runWorkload(2000, 5).exportLog();
    const node = replayStateHash(await ClpCore.load(), log);
    dir = await buildBundle("test/fixtures/clp-determinism.html");
    await writeFile(join(dir, "clp-events.log"), log);
    server = await serveStatic(dir);
    const r = await withPage(`${server.url}test/fixtures/clp-determinism.html`, async (page) => {
      await page.waitForFunction(() => "clpReplay" in window);
      return page.evaluate(
        (url) => (window as unknown as { clpReplay: (u: string) => Promise<unknown> }).clpReplay(url),
        `${server!.url}clp-events.log`,
      );
    }) as { hash: string; head: string; seq: number; state: number[] };
    expect(r.hash).toBe(node.hash);
    expect(r.head).toBe(node.head);
    expect(r.seq).toBe(node.seq);
    expect(Buffer.from(r.state).equals(Buffer.from(node.state))).toBe(true);
  }, 180_000);
});

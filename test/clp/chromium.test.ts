/**
 * Determinism in a real browser: Debian's Chromium (headless, via test/helpers/chromium.ts)
 * loads a Vite bundle of the CLP face and core and replays the same event log as Node with
 * `replayStateHash`; the state bytes, their SHA-256 and the log head must be identical.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, it } from "vitest";
import { replayStateHash, ClpCore } from "../../src/clp/index.js";
import { describeChromium, runFixturePage } from "../helpers/chromium.js";
import { runWorkload } from "../helpers/clp-workload.js";

describeChromium("replaying one event log in Chromium", () => {
  it("ends in the same state bytes, hash and head as in Node", async () => {
    const log = runWorkload(2000, 5).exportLog();
    const node = replayStateHash(await ClpCore.load(), log);
    const r = await runFixturePage<{ hash: string; head: string; seq: number; state: number[] }>("test/fixtures/clp-determinism.html", "clpReplay", {
      prepare: (dir) => writeFile(join(dir, "clp-events.log"), log),
      arg: (url) => `${url}clp-events.log`,
    });
    expect(r.hash).toBe(node.hash);
    expect(r.head).toBe(node.head);
    expect(r.seq).toBe(node.seq);
    expect(Buffer.from(r.state).equals(Buffer.from(node.state))).toBe(true);
  }, 180_000);
});

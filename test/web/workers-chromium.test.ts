/**
 * `clawft/clasp/worker` and `clawft/clp/worker` in real Chromium (module Workers from a vite
 * bundle): same bytes as in Node, typed errors rebuilt as their classes, input buffers moved
 * with transferInputs, and a crashing Worker rejecting its pending call with WorkerCrashError.
 */
import { expect, it } from "vitest";
import { codec } from "../../src/clasp/index.js";
import { describeChromium, runFixturePage } from "../helpers/chromium.js";

describeChromium("the codec and CLP Workers in Chromium", () => {
  it("can encode, decode, commit and deny across Workers, and reject calls to a crashed one", async () => {
    const r = await runFixturePage<Record<string, unknown>>("test/web/fixtures/workers.html", "runWorkers");
    const set = { type: "SET", address: "/mixer/1/fader", value: 0.75 } as const;
    expect(r.frame).toEqual(Array.from(codec.encode(set)));
    expect(r.decoded).toEqual(set);
    expect(r.inputDetached).toBe(true);
    expect(r).toMatchObject({ badIsClass: true, badCode: 100, deniedIsClass: true, deniedGuard: "no_negative", count: 2 });
    expect(r).toMatchObject({ crashIsClass: true, laterIsClass: true });
    expect(r.crashMessage).toMatch(/CLASP codec Worker crashed: .*worker crashed on purpose/);
  }, 180_000);
});

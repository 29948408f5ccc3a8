/**
 * The script-tag build in real Chromium: a plain HTML page (no bundler, no modules) loads
 * `clawft.global.js` from another folder with `<script src>`, and `window.clawft` encodes,
 * decodes, searches and commits with the wasm cores found beside the script.
 */
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { codec } from "../../src/clasp/index.js";
import { describeChromium, serveStatic, withPage, type StaticServer } from "../helpers/chromium.js";
import { buildGlobal, GLOBAL_WASM } from "../../scripts/global.mjs";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The page: everything through `window.clawft`, results in `window.result`. */
const PAGE = `<!doctype html><meta charset="utf-8"><title>script tag</title>
<script src="../lib/clawft.global.js"></script>
<script>
  window.result = clawft.ready.then(async function (c) {
    var frame = c.clasp.encode({ type: "SET", address: "/mixer/1/fader", value: 0.75 });
    var idx = await c.hnsw.createIndex({ dim: 4, maxElements: 10, seed: 1 });
    idx.addBatch(new Float32Array([0,0,0,1, 0,0,1,0, 0,1,0,0, 1,0,0,0]), [10, 20, 30, 40]);
    var hit = idx.search(new Float32Array([0,0.9,0.1,0]), 2);
    var rt = c.clp.createRuntime(c.clp.createContract({
      intents: { increment: { inputs: { amount: "number?" } } },
      state: { count: "number" },
      guards: [{ name: "no_negative", deny: { "<": [{ var: "intent.payload.amount" }, 0] } }],
      transitions: { apply: { when: { var: "intent.complete" },
        effects: { count: { "+": [{ var: ["state.count", 0] }, { "??": [{ var: "intent.payload.amount" }, 1] }] } } } },
    }));
    rt.dispatch("increment", { amount: 5 }); rt.commit();
    rt.dispatch("increment", { amount: -1 });
    var denied = ""; try { rt.commit(); } catch (e) { denied = e.name; }
    return {
      sameObject: c === window.clawft,
      frame: Array.from(frame),
      decoded: c.clasp.decode(frame).message,
      labels: Array.from(hit.labels),
      count: rt.getState("count"),
      denied: denied,
      client: typeof c.client.ClaspClient,
      transports: Object.keys(c.transports).filter(function (k) { return /Transport$/.test(k); }).sort(),
      wasm: performance.getEntriesByType("resource").map(function (e) { return new URL(e.name).pathname; }).filter(function (p) { return p.endsWith(".wasm"); }).sort(),
    };
  });
</script>`;

let dir: string;
let server: StaticServer;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawft-global-"));
  await buildGlobal(ROOT, join(dir, "lib"));
  await mkdir(join(dir, "page"));
  await writeFile(join(dir, "page", "index.html"), PAGE);
  server = await serveStatic(dir);
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

describeChromium("clawft.global.js on a plain page", () => {
  it("can encode, search and commit through window.clawft, with the wasm found beside the script", async () => {
    const r = await withPage(`${server.url}page/index.html`, (page) => page.evaluate(() => (window as unknown as { result: Promise<unknown> }).result)) as Record<string, unknown>;
    expect(r.sameObject).toBe(true);
    expect(r.frame).toEqual(Array.from(codec.encode({ type: "SET", address: "/mixer/1/fader", value: 0.75 })));
    expect(r.decoded).toEqual({ type: "SET", address: "/mixer/1/fader", value: 0.75 });
    expect(r.labels).toEqual([30, 20]);
    expect(r.count).toBe(5);
    expect(r.denied).toBe("GuardDeniedError");
    expect(r.client).toBe("function");
    expect(r.transports).toEqual(expect.arrayContaining(["BroadcastChannelTransport", "MessagePortTransport", "WebMidiTransport", "WebSerialTransport", "WebSocketTransport"]));
    // Each core came from the script's folder (lib/), not from the page's.
    for (const p of r.wasm as string[]) expect(p).toMatch(/^\/lib\//);
    expect(r.wasm).toEqual(expect.arrayContaining(["/lib/clasp.wasm", "/lib/clp.wasm"]));
    expect(GLOBAL_WASM).toContain("clasp.wasm");
  }, 120_000);
});

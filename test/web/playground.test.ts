/**
 * The playground in real Chromium (vite build of web/, in-browser hub mode, no relay): the
 * vector search panel builds its HNSW index in a Worker, saves it to IndexedDB and after a
 * reload restores it and answers the same queries; the governance panel commits and denies
 * through the CLP Worker with the chain verified live; the signals panel plots a 1 kHz stream;
 * the agent panel's probe reaches an endpoint through preview2-shim's browser wasi:http, whose
 * block() answers with a Promise (why the agent's browser build is a JSPI one: its chats are
 * test/web/agent.test.ts);
 * and at 1280 × 800 and 390 × 844 no panel overflows and no control is clipped (screenshots
 * are written to $TMPDIR/clawft-playground-shots/).
 */
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildBundle, describeChromium, openPage, serveStatic, withBrowser, type PageLog, type StaticServer } from "../helpers/chromium.js";
import type { ProbeResult } from "../../web/panels/agent.js";
import type { GovernanceStep } from "../../web/panels/governance.js";
import type { SearchOutcome } from "../../web/panels/search.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Where the layout test leaves its screenshots (to be looked at). */
export const SHOTS = join(tmpdir(), "clawft-playground-shots");

const QUERIES = ["how does the relay persist state", "recall of the HNSW index against brute force", "guards deny a proposal"];

type Pg = {
  playground: {
    search: { ready: Promise<{ restored: boolean; size: number }>; query(t: string): Promise<SearchOutcome> };
    governance: { ready: Promise<void>; step(): Promise<GovernanceStep>; tamper(): Promise<{ name: string; message: string }> };
    agent: { probe(endpoint: string, key?: string): Promise<ProbeResult>; jspi: boolean };
    signals: { generate(on: boolean): Promise<void>; stats(): { received: number; rateHz: number; points: number } };
    ready: Promise<void>;
  };
};

let dir: string | undefined;
let server: StaticServer | undefined;
beforeAll(async () => {
  dir = await buildBundle("web/index.html");
  // The size report, where the relay serves it (the panel's widest table).
  await copyFile(join(ROOT, "build/sizes.json"), join(dir, "sizes.json"));
  server = await serveStatic(dir);
}, 240_000);
afterAll(async () => {
  await server?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const url = () => `${server!.url}web/index.html?hub=worker`;

/** Waits for the page's module to publish `window.playground`: it runs after its cores load (top-level await), which can be after "load". */
async function playgroundReady(page: Page): Promise<void> {
  await page.waitForFunction(() => "playground" in window && (window as unknown as Pg).playground.search !== undefined);
}

/** Runs `fn` on a fresh page; the page's console is appended to a failure. */
async function onPage<T>(fn: (page: Page) => Promise<T>): Promise<T> {
  return withBrowser(async (context) => {
    const log: PageLog = { lines: [] };
    const page = await openPage(context, url(), log);
    try {
      await playgroundReady(page);
      return await fn(page);
    } catch (err) {
      if (err instanceof Error) err.message += `\n--- page console ---\n${log.lines.join("\n")}`;
      throw err;
    }
  });
}

describeChromium("the playground", () => {
  it("can search the docs with HNSW in a Worker, and after a reload restore the index from IndexedDB", async () => {
    await onPage(async (page) => {
      const search = (q: string) => page.evaluate((q) => (window as unknown as Pg).playground.search.query(q), q);
      const first = await page.evaluate(() => (window as unknown as Pg).playground.search.ready);
      expect(first.restored).toBe(false);
      expect(first.size).toBeGreaterThan(2000);
      const before: SearchOutcome[] = [];
      for (const q of QUERIES) before.push(await search(q));
      for (const o of before) {
        expect(o.labels).toHaveLength(10);
        expect(o.recall).toBeGreaterThanOrEqual(0.8); // HNSW against the brute-force scan, same vectors
        expect(o.distances[0]).toBeLessThan(0.9);
      }
      await page.reload();
      await playgroundReady(page);
      const second = await page.evaluate(() => (window as unknown as Pg).playground.search.ready);
      expect(second).toMatchObject({ restored: true, size: first.size });
      for (const [i, q] of QUERIES.entries()) {
        const again = await search(q);
        expect(again.labels).toEqual(before[i]!.labels);
        expect(again.distances).toEqual(before[i]!.distances);
      }
      // The search box shows the same through the DOM.
      await page.fill("#search-panel input[name=q]", QUERIES[0]!);
      await page.click("#search-panel button");
      await page.waitForFunction(() => document.querySelectorAll("#search-panel .hits li").length === 10);
      expect(await page.textContent("#search-panel .metrics")).toMatch(/recall@10 \d\.\d\d/);
    });
  }, 180_000);

  it("can govern AI proposals through the CLP Worker, verifying the hash chain live", async () => {
    await onPage(async (page) => {
      await page.evaluate(() => (window as unknown as Pg).playground.governance.ready);
      const steps: GovernanceStep[] = [];
      for (let i = 0; i < 10; i++) steps.push(await page.evaluate(() => (window as unknown as Pg).playground.governance.step()));
      // SCRIPT = [0.3, 0.6, 0.95, 0.75, 1.4, 0.2, 0.5, 0.3, -0.1, 0.1]: guards run in order, the first denial wins
      expect(steps.map((s) => (s.committed ? "ok" : s.guard))).toEqual(["ok", "ok", "max_level", "ok", "max_level", "no_jumps", "ok", "ok", "not_negative", "ok"]);
      expect(steps[2]!.suggestion).toEqual({ level: 0.8 });
      expect(steps.every((s) => s.verified)).toBe(true);
      expect(steps.at(-1)!.state).toEqual({ level: 0.1, changes: 6 });
      expect(steps.at(-1)!.head.seq).toBe(6);
      const t = await page.evaluate(() => (window as unknown as Pg).playground.governance.tamper());
      expect(t.name).toBe("EventLogError");
      expect(await page.textContent("#governance-panel .chain")).toMatch(/tampered log refused: EventLogError/);
      expect(await page.locator("#governance-panel tbody tr.denied").count()).toBe(4);
    });
  }, 120_000);

  it("can plot a 1 kHz stream through the in-browser hub", async () => {
    await onPage(async (page) => {
      await page.evaluate(() => (window as unknown as Pg).playground.ready);
      await page.evaluate(() => (window as unknown as Pg).playground.signals.generate(true));
      // The rate over 3 s of arrivals, not the panel's last-second figure: on a loaded machine the
      // generator's catch-up chunks bunch, so one second can hold 1.25 s of samples.
      const sample = () => page.evaluate(() => ({ at: performance.now(), ...(window as unknown as Pg).playground.signals.stats() }));
      await page.waitForTimeout(1000);
      const a = await sample();
      await page.waitForTimeout(3000);
      const b = await sample();
      await page.evaluate(() => (window as unknown as Pg).playground.signals.generate(false));
      const rateHz = ((b.received - a.received) * 1000) / (b.at - a.at);
      expect(rateHz).toBeGreaterThan(700);
      expect(rateHz).toBeLessThan(1300);
      expect(b.rateHz).toBeGreaterThan(0); // the panel's own figure is live
      expect(b.points).toBeGreaterThan(1500);
      // uPlot drew a path from the samples.
      expect(await page.locator("#signals-panel canvas").count()).toBeGreaterThan(0);
    });
  }, 120_000);

  it("probes an endpoint through preview2-shim's wasi:http, whose block() answers with a Promise (so the agent runs on JSPI)", async () => {
    // An OpenAI-compatible endpoint's /models that a browser may call (CORS, preflight included).
    const llm = createServer((req, res) => {
      res.setHeader("access-control-allow-origin", "*");
      res.setHeader("access-control-allow-headers", "authorization");
      if (req.method === "OPTIONS") return void res.end();
      if (req.url === "/v1/models" && req.headers.authorization === "Bearer sk-test") {
        res.setHeader("content-type", "application/json");
        return void res.end(JSON.stringify({ object: "list", data: [{ id: "test-model", object: "model" }] }));
      }
      res.statusCode = 401;
      res.end("{}");
    });
    await new Promise<void>((r) => llm.listen(0, "127.0.0.1", r));
    const endpoint = `http://127.0.0.1:${(llm.address() as { port: number }).port}/v1`;
    try {
      await onPage(async (page) => {
        const r = await page.evaluate(([e]) => (window as unknown as Pg).playground.agent.probe(e!, "sk-test"), [endpoint]);
        // The claim the panel makes: the shim's block() does not block, the answer comes later.
        expect(r).toMatchObject({ blockReturnsPromise: true, readyAtOnce: false, status: 200 });
        expect(JSON.parse(r.text).data[0].id).toBe("test-model");
        expect(await page.evaluate(() => (window as unknown as Pg).playground.agent.jspi)).toBe(true);
        expect(await page.textContent("#agent-panel .why")).toMatch(/clawft\.wasm runs in this page \(JSPI build/);
        await page.fill("#agent-panel input[name=endpoint]", endpoint);
        await page.click("#agent-panel button[name=probe]");
        await page.waitForFunction(() => /HTTP \d+/.test(document.querySelector("#agent-panel .out")?.textContent ?? ""));
        expect(await page.textContent("#agent-panel .out")).toMatch(/^HTTP 401 · block\(\) returned a Promise/);
      });
    } finally {
      llm.closeAllConnections();
      await new Promise((r) => llm.close(r));
    }
    // …so the agent's Node glue, which enters run synchronously, could not wait for it in a page; its
    // browser build (scripts/agent-web.mjs) enters run through WebAssembly.promising.
    const glue = await readFile(join(ROOT, "build/jco/clawft/clawft.js"), "utf8");
    expect(glue).toMatch(/isAsync: false,\s*isManualAsync: false,\s*preserveFutureResult: false,\s*entryFnName: 'run0212Run'/);
    expect(glue).not.toMatch(/run0212Run = WebAssembly\.promising/);
    const webGlue = await readFile(join(ROOT, "build/jco/clawft-web/clawft-web.js"), "utf8");
    expect(webGlue).toMatch(/run0212Run = WebAssembly\.promising/);
  }, 120_000);

  for (const [width, height] of [[1280, 800], [390, 844]] as const) {
    it(`can show every panel at ${width} × ${height} with nothing overflowing or clipped`, async () => {
      await onPage(async (page) => {
        await page.setViewportSize({ width, height });
        await page.evaluate(() => Promise.all([(window as unknown as Pg).playground.ready, (window as unknown as Pg).playground.search.ready, (window as unknown as Pg).playground.governance.ready]));
        await page.evaluate(() => (window as unknown as Pg).playground.governance.step());
        await page.fill("#search-panel input[name=q]", QUERIES[1]!);
        await page.click("#search-panel button");
        await page.waitForFunction(() => document.querySelectorAll("#search-panel .hits li").length === 10);
        await page.waitForFunction(() => document.querySelectorAll("#sizes tbody tr").length > 0);
        await mkdir(SHOTS, { recursive: true });
        await page.screenshot({ path: join(SHOTS, `playground-${width}x${height}.png`), fullPage: true });
        const problems = await page.evaluate(() => {
          const out: string[] = [];
          const vw = document.documentElement.clientWidth;
          if (document.documentElement.scrollWidth > vw) out.push(`page scrolls sideways: ${document.documentElement.scrollWidth} > ${vw}`);
          for (const s of document.querySelectorAll<HTMLElement>("main > section")) {
            if (getComputedStyle(s).display === "none") continue;
            if (s.scrollWidth > s.clientWidth + 1) out.push(`#${s.id} overflows sideways: ${s.scrollWidth} > ${s.clientWidth}`);
            const box = s.getBoundingClientRect();
            for (const c of s.querySelectorAll<HTMLElement>("button, input, select, textarea, audio")) {
              const r = c.getBoundingClientRect();
              if (r.width === 0) continue;
              if (r.left < box.left - 0.5 || r.right > box.right + 0.5) out.push(`#${s.id} clips ${c.tagName.toLowerCase()}[${c.getAttribute("name") ?? c.id ?? ""}]: ${r.left}–${r.right} outside ${box.left}–${box.right}`);
            }
            if (box.right > vw + 0.5) out.push(`#${s.id} passes the viewport: ${box.right} > ${vw}`);
          }
          for (const c of document.querySelectorAll<HTMLElement>("header button, header input, header select")) {
            const r = c.getBoundingClientRect();
            if (r.right > vw + 0.5) out.push(`header clips ${c.tagName.toLowerCase()}#${c.id}: right ${r.right} > ${vw}`);
          }
          return out;
        });
        expect(problems).toEqual([]);
      });
    }, 120_000);
  }
});

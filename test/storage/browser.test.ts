// The Storage conformance suite (conformance.ts) in real Chromium on IndexedDB and
// localStorage, and CLP persistence in the browser: a counter's state and hash-chained event
// log stored in either, back after a page reload. Without Chromium every test is listed as
// skipped with the reason.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildBundle, CHROMIUM_ARGS, CHROMIUM_PATH, chromiumInstalled, serveStatic, type StaticServer } from "../helpers/chromium.js";
import { CONFORMANCE } from "./conformance.js";

const ADAPTERS = ["indexeddb", "localstorage"] as const;
const SKIP = chromiumInstalled() ? undefined : `chromium not installed (${CHROMIUM_PATH})`;

interface Suite {
  run(adapter: string, name: string): Promise<string>;
  clpCommit(adapter: string, amounts: number[]): Promise<unknown>;
  clpOpen(adapter: string): Promise<unknown>;
  quota(): Promise<string>;
}

let bundle = "";
let server: StaticServer | undefined;
let profile = "";
let context: BrowserContext | undefined;
let page: Page | undefined;
const log: string[] = [];

/** The page, loaded and with its suite ready. */
async function ready(p: Page): Promise<void> {
  await p.waitForFunction(() => (window as unknown as { storageSuite?: unknown }).storageSuite !== undefined);
}

if (!SKIP) {
  beforeAll(async () => {
    bundle = await buildBundle("test/fixtures/storage.html");
    server = await serveStatic(bundle);
    profile = await mkdtemp(join(tmpdir(), "clawft-chromium-"));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
    page = await context.newPage();
    page.on("console", (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
    await page.goto(`${server.url}test/fixtures/storage.html`);
    await ready(page);
  }, 180_000);
  afterAll(async () => {
    await context?.close().catch(() => {});
    await server?.close();
    for (const d of [bundle, profile]) if (d) await rm(d, { recursive: true, force: true });
  });
}

for (const adapter of ADAPTERS) {
  describe(`${adapter} conformance in Chromium`, () => {
    for (const c of CONFORMANCE) {
      if (SKIP) {
        it.skip(`${c.name} (skipped: ${SKIP})`, () => {});
        continue;
      }
      it(c.name, async () => {
        const result = await page!.evaluate(([a, n]) => (window as unknown as { storageSuite: Suite }).storageSuite.run(a, n), [adapter, c.name] as const);
        expect(result, log.join("\n")).toBe("ok");
      }, 60_000);
    }
  });
}

describe("localStorage quota in Chromium", () => {
  const name = "a write past the origin's quota fails with StorageQuotaError and keeps what was stored; a commit puts back what it replaced";
  if (SKIP) it.skip(`${name} (skipped: ${SKIP})`, () => {});
  else it(name, async () => {
    expect(await page!.evaluate(() => (window as unknown as { storageSuite: Suite }).storageSuite.quota()), log.join("\n")).toBe("ok");
  }, 60_000);
});

describe("CLP persistence in Chromium", () => {
  for (const adapter of ADAPTERS) {
    const name = `${adapter}: the counter's state and event log are back after a page reload, and it counts on from them`;
    if (SKIP) {
      it.skip(`${name} (skipped: ${SKIP})`, () => {});
      continue;
    }
    it(name, async () => {
      const suite = (a: string, amounts?: number[]) =>
        page!.evaluate(([a, amounts]) => {
          const s = (window as unknown as { storageSuite: Suite }).storageSuite;
          return amounts ? s.clpCommit(a, amounts) : s.clpOpen(a);
        }, [a, amounts] as const);
      const before = (await suite(adapter, [2, 3, 5])) as { state: { count: number }; events: unknown[] };
      expect(before.state.count).toBe(10);
      expect(before.events).toHaveLength(3);
      await page!.reload();
      await ready(page!);
      expect(await suite(adapter)).toEqual(before);
      const after = (await suite(adapter, [1])) as { state: { count: number }; head: { seq: number } };
      expect(after.state.count).toBe(11);
      expect(after.head.seq).toBe(4);
    }, 60_000);
  }
});

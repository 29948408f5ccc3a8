/**
 * Real-Chromium tests from vitest (Node): Debian's `chromium` driven by playwright-core, never
 * a downloaded browser. Reusable by every area (relay playground, CLP determinism, HNSW
 * worker):
 *
 * ```ts
 * import { describeChromium, buildBundle, serveStatic, withPage } from "../helpers/chromium.js";
 * describeChromium("my worker", () => {
 *   it("can …", async () => {
 *     const dir = await buildBundle("test/fixtures/page.html");    // vite build (project config) to a temp dir
 *     const server = await serveStatic(dir);                        // http://127.0.0.1:<port>/
 *     await withPage(`${server.url}test/fixtures/page.html`, async (page) => {
 *       expect(await page.evaluate(() => globalThis.result)).toBe(42);
 *     });
 *     await server.close();
 *   });
 * });
 * ```
 * Without Chromium (`/usr/bin/chromium`, or `CHROMIUM_PATH`), `describeChromium` reports one
 * skipped test "skipped: chromium not installed" instead of passing silently.
 * @module
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import sirv from "sirv";
import { describe } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The Chromium binary: `CHROMIUM_PATH` or Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Flags for a quiet, offline, sandbox-free headless Chromium (toolchain.md). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** True when the Chromium binary exists. */
export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * `describe` that runs only with Chromium installed; otherwise the suite is still collected,
 * so each of its tests shows in the report as skipped, under a name that says why.
 */
export function describeChromium(name: string, fn: () => void): void {
  if (chromiumInstalled()) describe(name, fn);
  else describe.skip(`${name} (skipped: chromium not installed at ${CHROMIUM_PATH})`, fn);
}

/** Messages a page logged and errors it threw, for failure messages. */
export interface PageLog {
  lines: string[];
}

/**
 * Runs `fn` with a fresh browser context (a new user-data-dir: empty IndexedDB and caches),
 * then closes it and removes the directory.
 */
export async function withBrowser<T>(fn: (context: BrowserContext) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "clawft-chromium-"));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  try {
    return await fn(context);
  } finally {
    await context.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

/** Opens a page of `context` at `url` and records its console and errors into `log.lines`. */
export async function openPage(context: BrowserContext, url: string, log: PageLog = { lines: [] }): Promise<Page> {
  const page = await context.newPage();
  page.on("console", (m) => log.lines.push(`[${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => log.lines.push(`[pageerror] ${e.message}`));
  await page.goto(url);
  return page;
}

/**
 * Opens `url` in a fresh browser and runs `fn` with the page; the page's console output is
 * appended to any error `fn` throws.
 */
export async function withPage<T>(url: string, fn: (page: Page, context: BrowserContext) => Promise<T>): Promise<T> {
  return withBrowser(async (context) => {
    const log: PageLog = { lines: [] };
    const page = await openPage(context, url, log);
    try {
      return await fn(page, context);
    } catch (err) {
      if (err instanceof Error && log.lines.length) err.message += `\n--- page console ---\n${log.lines.join("\n")}`;
      throw err;
    }
  });
}

/** A static file server for built bundles (correct types, incl. application/wasm). */
export interface StaticServer {
  /** e.g. `http://127.0.0.1:41234/` */
  url: string;
  close(): Promise<void>;
}

/** Serves `dir` over http on an ephemeral loopback port (pages must not be file://: wasm fetch). */
export async function serveStatic(dir: string): Promise<StaticServer> {
  const serve = sirv(dir, { dev: true, etag: false });
  const server = createServer((req, res) =>
    serve(req, res, () => {
      res.statusCode = 404;
      res.end("not found");
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Builds HTML entries with vite and the project's vite.config.ts (wasm assets, ES workers)
 * into a new temporary directory, and returns it. Entry paths are relative to the project
 * root and keep that path in the output (`web/index.html` → `<dir>/web/index.html`).
 */
export async function buildBundle(...inputs: string[]): Promise<string> {
  const { build } = await import("vite");
  const outDir = await mkdtemp(join(tmpdir(), "clawft-bundle-"));
  await build({
    root: ROOT,
    configFile: join(ROOT, "vite.config.ts"),
    logLevel: "error",
    build: { outDir, emptyOutDir: true, rollupOptions: { input: inputs.map((i) => join(ROOT, i)) } },
  });
  return outDir;
}

/** What {@link runFixturePage} may do besides loading the page. */
export interface FixtureOptions {
  /** Adds files to the built bundle's directory before it is served (served at `<url><name>`). */
  prepare?: (dir: string) => Promise<void>;
  /** The argument of the entry function, from the server's base URL (e.g. a file's URL). */
  arg?: (url: string) => unknown;
}

/**
 * Runs a fixture page's entry function in Chromium: builds `html` (a path from the project
 * root) with {@link buildBundle}, serves it, waits until the page defines `window[entry]`,
 * and returns what `window[entry](arg)` resolves to (structured-cloned out of the page). The
 * server and the bundle are removed afterwards, whatever happened.
 * @throws what the build, the page or the entry throws (with the page's console appended)
 */
export async function runFixturePage<T>(html: string, entry: string, options: FixtureOptions = {}): Promise<T> {
  const dir = await buildBundle(html);
  let server: StaticServer | undefined;
  try {
    await options.prepare?.(dir);
    server = await serveStatic(dir);
    const arg = options.arg?.(server.url);
    return await withPage(`${server.url}${html}`, async (page) => {
      await page.waitForFunction((name) => name in window, entry);
      const run = ([name, a]: readonly [string, unknown]) => (window as unknown as Record<string, (x: unknown) => Promise<unknown>>)[name]!(a);
      return (await page.evaluate(run, [entry, arg] as const)) as T;
    });
  } finally {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

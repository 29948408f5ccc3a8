/**
 * Determinism in a real browser: Debian's Chromium (headless) loads the CLP and CLASP cores
 * through the TypeScript faces (served as ES modules by Vite) and replays the same event log
 * as Node with `replayStateHash`; the state bytes and their SHA-256 must be identical. The
 * page is driven over the DevTools protocol (`ws`), with no browser download. When the
 * project's vitest browser mode lands, the page body below is what its test runs.
 */
import { describe, it, expect, afterAll } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebSocket } from "ws";
import { createServer, type ViteDevServer } from "vite";
import { replayStateHash, ClpCore } from "../../src/clp/index.js";
import { runWorkload } from "../helpers/clp-workload.js";

const CHROMIUM = "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? undefined : "skipped: /usr/bin/chromium not installed (Debian package chromium)";
const ROOT = fileURLToPath(new URL("../..", import.meta.url));

let vite: ViteDevServer | undefined;
let browser: ChildProcess | undefined;
let profile: string | undefined;
afterAll(async () => {
  browser?.kill("SIGTERM");
  await vite?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

/** Evaluates `expression` (awaiting a promise) in the page at `url`, over the DevTools protocol. */
async function evaluateInChromium(url: string, expression: string): Promise<unknown> {
  profile = await mkdtemp(join(tmpdir(), "clp-chromium-"));
  browser = spawn(CHROMIUM, [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--remote-debugging-port=0", `--user-data-dir=${profile}`, url,
  ], { stdio: ["ignore", "ignore", "pipe"] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let err = "";
    browser!.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    browser!.on("exit", (code) => reject(new Error(`chromium exited with ${code}: ${err}`)));
  });
  const port = new URL(endpoint).port;
  let page: { webSocketDebuggerUrl: string } | undefined;
  for (let i = 0; i < 100 && !page; i++) {
    const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as Array<{ type: string; url: string; webSocketDebuggerUrl: string }>;
    page = list.find((t) => t.type === "page" && t.url.startsWith(url));
    if (!page) await new Promise((r) => setTimeout(r, 100));
  }
  const ws = new WebSocket(page!.webSocketDebuggerUrl);
  await new Promise((r) => ws.once("open", r));
  let id = 0;
  const send = (expr: string) =>
    new Promise<{ result?: { result: { value?: unknown }; exceptionDetails?: unknown }; error?: unknown }>((resolve) => {
      const mine = ++id;
      const onMessage = (m: Buffer) => {
        const msg = JSON.parse(m.toString()) as { id?: number };
        if (msg.id !== mine) return;
        ws.off("message", onMessage);
        resolve(msg as never);
      };
      ws.on("message", onMessage);
      ws.send(JSON.stringify({ id: mine, method: "Runtime.evaluate", params: { expression: expr, awaitPromise: true, returnByValue: true } }));
    });
  try {
    // the first evaluations may meet the page still navigating ("context destroyed"): retry
    for (let attempt = 0; ; attempt++) {
      const reply = await send(expression);
      if (reply.result && !reply.result.exceptionDetails) return reply.result.result.value;
      if (attempt >= 50 || reply.result?.exceptionDetails) throw new Error(`page failed: ${JSON.stringify(reply)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    ws.close();
  }
}

describe.skipIf(skip)(`replaying one event log in Chromium ${skip ?? ""}`, () => {
  it("ends in the same state bytes and hash as in Node", async () => {
    const log = runWorkload(2000, 5).exportLog();
    const node = replayStateHash(await ClpCore.load(), log);
    vite = await createServer({
      root: ROOT,
      logLevel: "silent",
      server: { port: 0, host: "127.0.0.1", hmr: false },
      optimizeDeps: { noDiscovery: true, include: [] },
      plugins: [
        {
          name: "clp-determinism-page",
          configureServer(server) {
            server.middlewares.use("/__clp/log", (_req, res) => res.end(Buffer.from(log)));
            server.middlewares.use("/__clp/page.html", (_req, res) => {
              res.setHeader("content-type", "text/html");
              res.end(`<!doctype html><script type="module">
                window.__result = (async () => {
                  const { ClpCore, replayStateHash } = await import("/src/clp/index.ts");
                  const log = new Uint8Array(await (await fetch("/__clp/log")).arrayBuffer());
                  const r = replayStateHash(await ClpCore.load(), log);
                  return { hash: r.hash, head: r.head, seq: r.seq, state: Array.from(r.state) };
                })();
              </script>`);
            });
          },
        },
      ],
    });
    await vite.listen();
    const address = vite.httpServer!.address() as { port: number };
    const url = `http://127.0.0.1:${address.port}/__clp/page.html`;
    const wait = "new Promise((ok) => { const poll = () => (window.__result ? ok(window.__result) : setTimeout(poll, 50)); poll(); })";
    const r = (await evaluateInChromium(url, wait)) as { hash: string; head: string; seq: number; state: number[] };
    expect(r.hash).toBe(node.hash);
    expect(r.head).toBe(node.head);
    expect(r.seq).toBe(node.seq);
    expect(Buffer.from(r.state).equals(Buffer.from(node.state))).toBe(true);
  });
});

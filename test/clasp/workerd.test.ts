/**
 * The codec in the Cloudflare Workers runtime: workers/cloudflare.ts, bundled with esbuild,
 * run by workerd (npm `workerd`, the open-source runtime of Cloudflare Workers), decodes the
 * same vectors as Node and encodes frames back. workerd forbids compiling wasm from bytes:
 * the core is imported as a module.
 */
import { describe, it, expect, beforeAll, afterAll } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile, copyFile, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { decode, encode, type Message } from "../../src/clasp/index.js";
import { toJson, fromJson } from "../../src/clasp/json.js";
import { VECTORS } from "./wire.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** The workerd binary itself (npm's .bin/workerd is a Node wrapper that would outlive a kill). */
const workerd: string | undefined = await import("workerd" as string)
  .then((m: { default: string | { default: string } }) => (typeof m.default === "string" ? m.default : m.default.default))
  .catch(() => undefined);
const why = workerd && existsSync(workerd) ? undefined : "skipped: workerd not installed";

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe.skipIf(why)(why ?? "the codec in workerd", () => {
  let dir = "";
  let proc: ChildProcess | undefined;
  let base = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "clawft-workerd-"));
    await build({
      entryPoints: [join(root, "workers/cloudflare.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      outfile: join(dir, "worker.js"),
      external: ["node:*"],
      logLevel: "warning",
      plugins: [{ name: "wasm-module", setup: (b) => void b.onResolve({ filter: /\.wasm$/ }, () => ({ path: "./clasp.wasm", external: true })) }],
    });
    await copyFile(join(root, "build/clasp.wasm"), join(dir, "clasp.wasm"));
    const port = await freePort();
    await writeFile(
      join(dir, "config.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js"), (name = "clasp.wasm", wasm = embed "clasp.wasm") ],
  compatibilityDate = "2026-11-01",
);
`,
    );
    proc = spawn(workerd!, ["serve", join(dir, "config.capnp")], { stdio: ["ignore", "inherit", "inherit"] });
    base = `http://127.0.0.1:${port}`;
    for (let i = 0; i < 100; i++) {
      try {
        await fetch(base);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error("workerd did not start");
  });

  afterAll(async () => {
    if (proc && proc.exitCode === null) {
      const exited = new Promise((resolve) => proc!.once("exit", resolve));
      proc.kill();
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("decodes every vector as Node does", async () => {
    for (const v of VECTORS) {
      const res = await fetch(`${base}/decode`, { method: "POST", body: v.bytes as Uint8Array<ArrayBuffer> });
      expect(res.status).toBe(200);
      expect(fromJson(await res.text())).toEqual(fromJson(toJson([decode(v.bytes)])));
    }
  });

  it("reports bad frames as CLASP errors", async () => {
    const res = await fetch(`${base}/decode`, { method: "POST", body: new Uint8Array([0x53, 0x01, 0x00, 0x01, 0x7f]) });
    expect(JSON.parse(await res.text())).toEqual([{ error: { code: 101, offset: 4, reason: "unknown message type" } }]);
  });

  it("encodes the same bytes as Node", async () => {
    const messages: Message[] = [
      { type: "SET", address: "/mixer/1", value: { gain: 0.5, id: 7n, raw: new Uint8Array([1, 2]) }, revision: 3 },
      { type: "BUNDLE", messages: [{ type: "PING" }, { type: "GET", address: "/x" }] },
    ];
    for (const m of messages) {
      const res = await fetch(`${base}/encode`, { method: "POST", body: toJson(m) });
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(encode(m));
    }
  });
});

/**
 * Runs a Worker in real workerd (npm `workerd`, the open-source Cloudflare Workers runtime) for
 * the Cloudflare tests and the bench: bundles the entry with esbuild (every `.wasm` import kept
 * as a module of its own, as wrangler does), writes a capnp config with the `ClaspRoom`
 * Durable Object namespace (SQLite-backed) stored on disk in a temp dir, and starts, stops
 * and restarts the process over the same storage.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The workerd binary itself (npm's .bin/workerd is a Node wrapper that would outlive a kill). */
export const workerdBinary: string | undefined = await import("workerd" as string)
  .then((m: { default: string | { default: string } }) => (typeof m.default === "string" ? m.default : m.default.default))
  .catch(() => undefined);

/** Why the workerd tests cannot run here, or undefined when they can. */
export const workerdMissing: string | undefined = !workerdBinary || !existsSync(workerdBinary)
  ? "skipped: the npm workerd binary is not installed"
  : !existsSync(join(ROOT, "build/router.wasm")) || !existsSync(join(ROOT, "build/clasp.wasm"))
    ? "skipped: build/router.wasm or build/clasp.wasm missing (node scripts/build.mjs --only clasp,router)"
    : undefined;
if (workerdMissing) console.log(`test/cloudflare: ${workerdMissing}`);

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A binding of the Worker: text (a var or secret) or JSON (a structured var). */
export type Binding = { name: string; text: string } | { name: string; json: string };

/** Options of {@link WorkerdRoom.start}. */
export interface WorkerdOptions {
  /** Entry to bundle, relative to the repository. Defaults to workers/cloudflare.ts. */
  entry?: string;
  /** Durable Object classes the entry exports (each bound under its binding name). Defaults to ClaspRoom as CLASP_ROOMS. */
  objects?: Array<{ className: string; binding: string }>;
  /** Extra bindings (CLASP_LIMITS, CLASP_TOKENS…). */
  bindings?: Binding[];
  /** Core modules the bundle imports, from build/. Defaults to clasp.wasm and router.wasm. */
  wasm?: string[];
  /** Extra arguments to `workerd serve` (e.g. `--inspector-addr=127.0.0.1:9229` for a CPU profile). Defaults to none. */
  args?: string[];
}

/** capnp text literal. */
const capnpText = (s: string) => JSON.stringify(s);

/** One workerd process serving a bundled Worker, with Durable Object storage in a temp dir. */
export class WorkerdRoom {
  proc: ChildProcess | undefined;
  /** Lines workerd wrote to stderr/stdout (uncaught errors land here). */
  readonly output: string[] = [];

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly args: readonly string[],
  ) {}

  /** http://127.0.0.1:<port> */
  get base(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** ws://127.0.0.1:<port>/ws/<room> */
  url(room: string): string {
    return `ws://127.0.0.1:${this.port}/ws/${encodeURIComponent(room)}`;
  }

  /** Bundles the Worker, writes the config and starts workerd. */
  static async start(options: WorkerdOptions = {}): Promise<WorkerdRoom> {
    const dir = await mkdtemp(join(tmpdir(), "clawft-cf-"));
    const wasm = options.wasm ?? ["clasp.wasm", "router.wasm"];
    await build({
      entryPoints: [join(ROOT, options.entry ?? "workers/cloudflare.ts")],
      bundle: true,
      format: "esm",
      platform: "neutral",
      outfile: join(dir, "worker.js"),
      external: ["node:*"],
      logLevel: "warning",
      plugins: [{ name: "wasm-module", setup: (b) => void b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: `./${basename(a.path)}`, external: true })) }],
    });
    for (const w of wasm) await copyFile(join(ROOT, "build", w), join(dir, w));
    await mkdir(join(dir, "do"));
    const port = await freePort();
    const objects = options.objects ?? [{ className: "ClaspRoom", binding: "CLASP_ROOMS" }];
    const bindings = [
      ...objects.map((o) => `(name = ${capnpText(o.binding)}, durableObjectNamespace = ${capnpText(o.className)})`),
      ...(options.bindings ?? []).map((b) => ("text" in b ? `(name = ${capnpText(b.name)}, text = ${capnpText(b.text)})` : `(name = ${capnpText(b.name)}, json = ${capnpText(b.json)})`)),
    ];
    await writeFile(
      join(dir, "config.capnp"),
      `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .w), (name = "disk", disk = (path = ${capnpText(join(dir, "do"))}, writable = true)) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const w :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js")${wasm.map((w) => `, (name = ${capnpText(w)}, wasm = embed ${capnpText(w)})`).join("")} ],
  compatibilityDate = "2026-11-01",
  durableObjectNamespaces = [ ${objects.map((o) => `(className = ${capnpText(o.className)}, uniqueKey = ${capnpText(`clawft-test-${o.className}`)}, enableSql = true)`).join(", ")} ],
  durableObjectStorage = (localDisk = "disk"),
  bindings = [ ${bindings.join(", ")} ],
);
`,
    );
    const w = new WorkerdRoom(dir, port, options.args ?? []);
    await w.#spawn();
    return w;
  }

  async #spawn(): Promise<void> {
    const proc = spawn(workerdBinary!, ["serve", join(this.dir, "config.capnp"), ...this.args], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc = proc;
    const log = (d: Buffer) => this.output.push(...d.toString().split("\n").filter(Boolean));
    proc.stdout!.on("data", log);
    proc.stderr!.on("data", log);
    for (let i = 0; i < 200; i++) {
      if (proc.exitCode !== null) throw new Error(`workerd exited (${proc.exitCode}): ${this.output.join("\n")}`);
      try {
        await fetch(`${this.base}/`);
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new Error(`workerd did not start: ${this.output.join("\n")}`);
  }

  /** Stops workerd (SIGTERM, then SIGKILL after 3 s); the storage stays. */
  async stop(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((resolve) => proc.once("exit", resolve));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }

  /** Stops and starts workerd again over the same storage. */
  async restart(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }

  /** Stops workerd and deletes the temp dir. */
  async close(): Promise<void> {
    await this.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}

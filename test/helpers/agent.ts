/**
 * Runs clawft.wasm (or another WASI 0.2 command component built the same way, such as the
 * http-probe fixture) in one host and collects what it printed:
 * - "wasmtime": the Wasmtime engine through the Python `wasmtime` package
 *   (test/hosts/agent_wasmtime.py: WASI 0.2 + wasi:http linked);
 * - "node": jco + preview2-shim, through the library's own `runAgent` (src/agent);
 * - "wasmtime-cli": the `wasmtime` command (`wasmtime run -S http --dir … --env …`).
 * Every host gets the same view: `home` preopened under its own absolute path, the given
 * environment only, with `CLAWFT_HOME` set to `home` unless `env` names one.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import { runAgent as runInNode } from "../../src/agent/index.js";
import { python, wasmtimeUnavailable } from "./wasmtime.js";

/** A host that runs WASI 0.2 command components. */
export type AgentHost = "wasmtime" | "node" | "wasmtime-cli";

/** What a run printed and how it ended. */
export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Options of {@link runAgent}. */
export interface AgentRunOptions {
  /** $CLAWFT_HOME: preopened in the guest under the same absolute path. */
  home: string;
  /** The guest's environment (nothing of this process's is passed on). */
  env?: Record<string, string>;
  /** The guest's stdin (empty when not given). */
  stdin?: string | Uint8Array;
  /** Component base name under build/ (default "clawft": build/clawft.wasm, build/jco/clawft/). */
  artifact?: string;
}

const root = new URL("../../", import.meta.url);
const hostScript = fileURLToPath(new URL("test/hosts/agent_wasmtime.py", root));
const wasmFile = (artifact: string) => fileURLToPath(new URL(`build/${artifact}.wasm`, root));
const jcoModule = (artifact: string) => new URL(`build/jco/${artifact}/${artifact}.js`, root);

let cliProbe: Promise<string | undefined> | undefined;

/** Why the `wasmtime` command cannot be used here, or undefined when it can. */
function wasmtimeCliUnavailable(): Promise<string | undefined> {
  cliProbe ??= new Promise((done) =>
    execFile("wasmtime", ["--version"], (err) =>
      done(err ? "skipped: the wasmtime CLI is not installed on this machine (only the Python wasmtime engine is)" : undefined),
    ),
  );
  return cliProbe;
}

/**
 * Why `host` cannot run `artifact` here (a sentence for `it.skipIf(reason)`), or undefined
 * when it can.
 */
export async function agentUnavailable(host: AgentHost, artifact = "clawft"): Promise<string | undefined> {
  const why = host === "wasmtime" ? await wasmtimeUnavailable() : host === "wasmtime-cli" ? await wasmtimeCliUnavailable() : undefined;
  if (why) return why;
  const needed = host === "node" ? fileURLToPath(jcoModule(artifact)) : wasmFile(artifact);
  return existsSync(needed) ? undefined : `skipped: ${needed} is not built (node scripts/build.mjs --only ${artifact})`;
}

/** Runs `program` with `args`, feeding `stdin`; resolves its exit code and output. */
function collect(program: string, args: string[], stdin: string | Uint8Array | undefined): Promise<AgentRun> {
  return new Promise((done, fail) => {
    const child = spawn(program, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.stdin.on("error", () => {});
    child.stdin.end(stdin ?? "");
    child.once("error", fail);
    child.once("close", (code, signal) =>
      done({ code: code ?? 128 + (signal ? constants.signals[signal] : 0), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }),
    );
  });
}

/**
 * Runs the component with `args` (the words after its name) in `host`. Exit codes as the
 * hosts give them: 0 ok, 1 for a `wasi:cli/exit` error (WASI 0.2 carries no other code).
 */
export async function runAgent(host: AgentHost, args: string[], opts: AgentRunOptions): Promise<AgentRun> {
  const artifact = opts.artifact ?? "clawft";
  const home = resolve(opts.home);
  const env = { CLAWFT_HOME: home, ...opts.env };
  const envFlags = Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
  if (host === "wasmtime") {
    return collect(python, [hostScript, "--wasm", wasmFile(artifact), "--dir", `${home}::${home}`, ...envFlags, "--", ...args], opts.stdin);
  }
  if (host === "wasmtime-cli") {
    return collect("wasmtime", ["run", "-S", "http", "--dir", `${home}::${home}`, ...envFlags, wasmFile(artifact), ...args], opts.stdin);
  }
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (b: Buffer) => out.push(b));
  stderr.on("data", (b: Buffer) => err.push(b));
  const code = await runInNode(args, { home, env, stdin: opts.stdin ?? "", stdout, stderr, component: jcoModule(artifact) });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

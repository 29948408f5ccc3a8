/**
 * clawft.wasm in Node: runs the agent component (`build/clawft.wasm`, transpiled by jco into
 * `build/jco/clawft/`) on preview2-shim, the WASI 0.2 implementation for Node, with the
 * agent's home preopened. This is what `clawft agent …` runs (docs/agent.md).
 *
 * Each run is a child Node process (src/agent/child.ts): preview2-shim keeps arguments,
 * environment and preopens in module-global state, writes the guest's stdout and stderr to the
 * process's own file descriptors through its I/O worker, and ends `wasi:cli/exit` with
 * `process.exit`; a child isolates all three, so runs can overlap, output can be captured,
 * and an exit never ends the caller.
 * @module
 */
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { constants } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Readable, Writable } from "node:stream";
import type { ChildSpec } from "./child.js";

/** Options of {@link runAgent}. */
export interface RunAgentOptions {
  /**
   * The agent's home directory ($CLAWFT_HOME): created if missing, preopened under its own
   * absolute path, and passed as `CLAWFT_HOME` unless `env` names one.
   */
  home: string;
  /** The guest's whole environment (nothing of this process's is passed on). */
  env?: Record<string, string>;
  /** The guest's stdin: bytes or text, or a stream piped in; default: this process's stdin. */
  stdin?: Uint8Array | string | Readable;
  /** Where the guest's stdout goes (not ended afterwards); default: this process's stdout. */
  stdout?: Writable;
  /** Where the guest's stderr goes (not ended afterwards); default: this process's stderr. */
  stderr?: Writable;
  /**
   * The jco-transpiled WASI 0.2 command component to run instead of clawft.wasm (a file URL
   * of its JavaScript module), e.g. a test fixture built the same way.
   */
  component?: URL;
}

/** build/jco/clawft/clawft.js, from src/agent/ (tests) or dist/agent/ alike. */
const AGENT_COMPONENT = () => new URL("../../build/jco/clawft/clawft.js", import.meta.url);

const here = import.meta.url;
/** Running from TypeScript sources (tests): the child loads through tsx. */
const fromSource = here.endsWith(".ts");

/**
 * Runs clawft.wasm with `args` (the words after `clawft.wasm`, e.g. `["chat", "hi"]`);
 * resolves its exit code: 0 success, 1 an error (the WASI 0.2 exit status carries no other
 * code, so a usage error's 2 also arrives as 1), 128 + n when the child died of signal n.
 * Rejects when the child process cannot be started.
 */
export async function runAgent(args: string[], opts: RunAgentOptions): Promise<number> {
  const home = resolve(opts.home);
  await mkdir(home, { recursive: true });
  const spec: ChildSpec = {
    module: (opts.component ?? AGENT_COMPONENT()).href,
    args: ["clawft.wasm", ...args],
    env: { CLAWFT_HOME: home, ...opts.env },
    preopens: { [home]: home },
  };
  const child = fileURLToPath(new URL(fromSource ? "./child.ts" : "./child.js", here));
  const proc = spawn(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), child, JSON.stringify(spec)], {
    stdio: [opts.stdin === undefined ? "inherit" : "pipe", opts.stdout ? "pipe" : "inherit", opts.stderr ? "pipe" : "inherit"],
  });
  if (opts.stdout) proc.stdout!.pipe(opts.stdout, { end: false });
  if (opts.stderr) proc.stderr!.pipe(opts.stderr, { end: false });
  const input = opts.stdin;
  if (input !== undefined) {
    // A guest that exits without reading all of its input closes the pipe: not an error here.
    proc.stdin!.on("error", () => {});
    if (typeof input === "string" || input instanceof Uint8Array) proc.stdin!.end(input);
    else input.pipe(proc.stdin!);
  }
  return new Promise((done, fail) => {
    proc.once("error", fail);
    proc.once("close", (code, signal) => done(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

/**
 * clawft.wasm in Node: runs the agent component (`build/clawft.wasm`, transpiled by jco into
 * `build/jco/clawft/`) on preview2-shim, the WASI 0.2 implementation for Node, with the
 * agent's home preopened. This is what `clawft agent …` runs (docs/agent.md).
 *
 * Each run is a child Node process: preview2-shim keeps arguments, environment and preopens
 * in module-global state, writes the guest's stdout and stderr to the process's own file
 * descriptors through its I/O worker, and ends `wasi:cli/exit` with `process.exit`; a child
 * isolates all three, so runs can overlap, output can be captured, and an exit never ends
 * the caller.
 * @module
 */
import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { constants } from "node:os";
import { resolve } from "node:path";
import type { Readable, Writable } from "node:stream";

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

/** What the child runs: the component's module, preview2-shim's modules it shares, argv, env, preopens. */
interface ChildSpec {
  /** file: URL of the jco-transpiled component (exports `run` of wasi:cli/run). */
  module: string;
  /** preview2-shim's `cli` and `filesystem` modules, resolved here: the component imports the same instances. */
  cli: string;
  filesystem: string;
  args: string[];
  env: Record<string, string>;
  /** Guest path → host directory. */
  preopens: Record<string, string>;
}

/**
 * The child's program, an ES module given to `node -e` (plain JavaScript, so that it starts
 * without a TypeScript loader whether this file runs from src/ or dist/); its last argument
 * is the JSON of a {@link ChildSpec}. preview2-shim's `process.exit` (its `wasi:cli/exit`) is
 * replaced by a throw that unwinds out of the guest: exiting at once would drop stdout
 * still queued between the shim's I/O worker and the main thread (a pipe drains
 * asynchronously), while unwinding lets Node end by itself once everything is written.
 */
const CHILD = `
const spec = JSON.parse(process.argv.at(-1));
const { _setArgs, _setEnv } = await import(spec.cli);
const { _setPreopens } = await import(spec.filesystem);
_setArgs(spec.args);
_setEnv(spec.env);
_setPreopens(spec.preopens);
class Exit { constructor(code) { this.code = code; } }
process.exit = (code) => { throw new Exit(code ?? 0); };
const { run } = await import(spec.module);
try {
  run.run();
  process.exitCode = 0;
} catch (e) {
  let cause = e;
  while (cause && !(cause instanceof Exit) && typeof cause === "object" && "cause" in cause) cause = cause.cause;
  if (cause instanceof Exit) process.exitCode = cause.code;
  else {
    if (!(e && typeof e === "object" && "payload" in e)) console.error("clawft agent: " + (e?.stack ?? e));
    process.exitCode = 1;
  }
}`;

/**
 * Runs clawft.wasm with `args` (the words after `clawft.wasm`, e.g. `["chat", "hi"]`);
 * resolves its exit code: 0 success, 1 an error (the WASI 0.2 exit status carries no other
 * code, so a usage error's 2 also arrives as 1), 128 + n when the child died of signal n.
 * Rejects when the child process cannot be started, and with Node's ERR_MODULE_NOT_FOUND when
 * `@bytecodealliance/preview2-shim` (an optional peer dependency of clawft: the agent's WASI
 * 0.2 host in Node) is not installed.
 */
export async function runAgent(args: string[], opts: RunAgentOptions): Promise<number> {
  const home = resolve(opts.home);
  await mkdir(home, { recursive: true });
  const spec: ChildSpec = {
    module: (opts.component ?? AGENT_COMPONENT()).href,
    cli: import.meta.resolve("@bytecodealliance/preview2-shim/cli"),
    filesystem: import.meta.resolve("@bytecodealliance/preview2-shim/filesystem"),
    args: ["clawft.wasm", ...args],
    env: { CLAWFT_HOME: home, ...opts.env },
    preopens: { [home]: home },
  };
  const proc = spawn(process.execPath, ["--input-type=module", "-e", CHILD, JSON.stringify(spec)], {
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

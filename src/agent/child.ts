/**
 * The child process that {@link runAgent} starts: runs one jco-transpiled WASI 0.2 command
 * component on preview2-shim and exits with its status. Its single argument is the JSON of
 * a {@link ChildSpec}. A child of its own, because preview2-shim keeps arguments, environment
 * and preopens in module-global state, writes stdio straight to the process's own streams,
 * and ends a command's `wasi:cli/exit` with `process.exit`.
 * @module
 */
import { _setArgs, _setEnv } from "@bytecodealliance/preview2-shim/cli";
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";

/** What to run: the component's JavaScript module, argv (with the program name first), env, preopens. */
export interface ChildSpec {
  /** file: URL of the jco-transpiled component (exports `run` from wasi:cli/run). */
  module: string;
  args: string[];
  env: Record<string, string>;
  /** Guest path → host directory. */
  preopens: Record<string, string>;
}

/** Thrown in place of preview2-shim's `process.exit`, so stdio drains before the child ends. */
class Exit {
  constructor(readonly code: number) {}
}

const spec = JSON.parse(process.argv[2] ?? "") as ChildSpec;
_setArgs(spec.args);
_setEnv(spec.env);
// The package's `types` condition comes first and names its browser build, whose preopens
// are file data; the Node build (what runs here) takes host directory paths.
_setPreopens(spec.preopens as never);
// process.exit would end the process with the shim's stdout writes still queued between its
// I/O worker and this thread (a pipe drains asynchronously); unwinding out of the guest
// instead lets Node exit on its own once everything is written.
process.exit = ((code?: number) => {
  throw new Exit(code ?? 0);
}) as typeof process.exit;
const { run } = (await import(spec.module)) as { run: { run(): void } };
try {
  run.run();
  process.exitCode = 0;
} catch (e) {
  let cause: unknown = e;
  while (cause && !(cause instanceof Exit) && typeof cause === "object" && "cause" in cause) cause = cause.cause;
  if (cause instanceof Exit) process.exitCode = cause.code;
  else {
    // `run` returned err (jco throws it), or the guest trapped.
    if (!(e && typeof e === "object" && "payload" in e)) console.error(`clawft agent: ${(e as Error)?.stack ?? e}`);
    process.exitCode = 1;
  }
}

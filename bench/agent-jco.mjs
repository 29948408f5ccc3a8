/**
 * Forked by agent.bench.ts (IPC channel, stdout ignored): runs a jco-transpiled WASI 0.2
 * command component RUNS times inside this one Node process on preview2-shim, the way
 * src/agent/index.ts's child program runs it once, and sends back the milliseconds of each run:
 * `load` = importing a fresh copy of the component's JavaScript module (compiling its core
 * wasm and instantiating), `run` = `wasi:cli/run`'s `run` until it returns or exits.
 * Plain JavaScript, so that no TypeScript loader sits between Node and the module imports
 * being timed.
 *
 * argv: <spec JSON: {module, args, env, preopens}, as src/agent/index.ts's ChildSpec> <RUNS>
 */
import { _setArgs, _setEnv } from "@bytecodealliance/preview2-shim/cli";
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";

const spec = JSON.parse(process.argv[2] ?? "");
const runs = Number(process.argv[3]);
_setArgs(spec.args);
_setEnv(spec.env);
_setPreopens(spec.preopens);

/** Thrown in place of preview2-shim's `process.exit` (as src/agent/index.ts's child does), so the loop goes on. */
class Exit {
  constructor(code) {
    this.code = code;
  }
}
process.exit = (code) => {
  throw new Exit(code ?? 0);
};

const times = [];
for (let i = 0; i < runs; i++) {
  const t0 = performance.now();
  // A new query string makes a new module instance: the core wasm is compiled and instantiated again.
  const { run } = await import(`${spec.module}?run=${i}`);
  const t1 = performance.now();
  let code = 0;
  try {
    run.run();
  } catch (e) {
    let cause = e;
    while (cause && !(cause instanceof Exit) && typeof cause === "object" && "cause" in cause) cause = cause.cause;
    code = cause instanceof Exit ? cause.code : 1;
  }
  times.push({ load: t1 - t0, run: performance.now() - t1, code });
}
process.send(times, () => process.disconnect());

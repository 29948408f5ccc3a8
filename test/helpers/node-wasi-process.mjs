// Runs a WASI preview1 command module (e.g. build/clawft.p1.wasm) under node:wasi in a process
// of its own, with that process's stdin, stdout and stderr, and exits with the module's code:
//
//   node --no-turbo-fast-api-calls test/helpers/node-wasi-process.mjs MODULE HOME [ARG…]
//
// HOME is preopened as /home and named by CLAWFT_HOME; argv[0] is "clawft.wasm".
//
// Why a process of its own (test/helpers/node-wasi.ts runs modules inside the test's): only
// a fresh Node can be given --no-turbo-fast-api-calls. node:wasi's fast API calls may start a
// garbage collection inside the call (uvwasi allocates through
// AdjustAmountOfExternalAllocatedMemory), which crashes Node 20 to 22 with SIGABRT or SIGSEGV
// (nodejs/node#46777, #53087); seen with clawft.wasm once it held 4,100 memories.
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";

const [module, home, ...args] = process.argv.slice(2);
if (!module || !home) {
  process.stderr.write("usage: node --no-turbo-fast-api-calls node-wasi-process.mjs MODULE HOME [ARG…]\n");
  process.exit(2);
}
const wasi = new WASI({
  version: "preview1",
  args: ["clawft.wasm", ...args],
  env: { CLAWFT_HOME: "/home" },
  preopens: { "/home": home },
  returnOnExit: true,
});
const instance = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(module)), wasi.getImportObject());
process.exitCode = wasi.start(instance);

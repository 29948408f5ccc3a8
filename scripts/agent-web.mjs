// The browser build of clawft.wasm: the same WASI 0.2 command component (build/clawft.wasm)
// transpiled by jco a second time, for JSPI, into build/jco/clawft-web/ (web/panels/agent-chat.ts
// loads it when the playground's agent panel first chats).
//
// Why a second transpile: in a browser, preview2-shim performs wasi:http requests with fetch and
// waits on timers and response bodies with Promises, so its `poll`, `pollable.block` and
// `blocking-read` return Promises where the WIT says they block. The Node glue (build/jco/clawft)
// calls the agent's `run` synchronously and cannot wait for them. With `asyncMode: "jspi"` jco wraps
// the imports named below in `WebAssembly.Suspending` and the `run` export in
// `WebAssembly.promising` (JS Promise Integration, WebAssembly/js-promise-integration): when an
// import returns a Promise the guest's stack is suspended until it settles, and `run` returns a
// Promise. `instantiation: "async"`: the page passes the WASI imports (a CLI with its own
// arguments, environment and stdout, an in-memory home directory) for each run, instead of the
// shim's process-wide globals. jco's fallback that fetches the core modules from beside the glue
// is taken out (withoutFallbackLoader): the page names each one.

import { join } from "node:path";
import { readFile, rm, writeFile } from "node:fs/promises";
import { transpileBytes, writeFiles } from "@bytecodealliance/jco-transpile";

/** The core whose component gets a browser build, and the name of that build. */
export const AGENT_WEB = { core: "clawft", name: "clawft-web" };

/**
 * The imports jco makes suspending: the blocking wasi:io calls, which the browser shim may answer
 * with a Promise (`poll` waits for a response, a body chunk or a retry timer; `blocking-read` is
 * stdin and response bodies; the blocking writes and flushes are stdout, stderr and request
 * bodies, synchronous in the shim today, marked so a Promise would still be waited for). The
 * component imports four of them today (poll, blocking-read, blocking-flush,
 * blocking-write-and-flush, through the preview1 adapter and assembly/agent/host/wasi-http.ts);
 * `pollable.block` and `blocking-skip` are listed so a guest or adapter that starts calling them
 * still suspends. `future-incoming-response.get` needs no mark: the shim answers it at once (none
 * until the fetch settled), and the guest polls before it asks. jco-transpile's own list
 * (ASYNC_WASI_IMPORTS) adds write-zeroes and splice, which nothing here calls.
 */
export const ASYNC_IMPORTS = [
  "wasi:io/poll@0.2.12#poll",
  "wasi:io/poll@0.2.12#[method]pollable.block",
  "wasi:io/streams@0.2.12#[method]input-stream.blocking-read",
  "wasi:io/streams@0.2.12#[method]input-stream.blocking-skip",
  "wasi:io/streams@0.2.12#[method]output-stream.blocking-flush",
  "wasi:io/streams@0.2.12#[method]output-stream.blocking-write-and-flush",
];

/** The export entered through `WebAssembly.promising`: the command's `run`. */
export const ASYNC_EXPORTS = ["wasi:cli/run@0.2.12#run"];

/**
 * Transpiles the release command `component` (bytes of build/clawft.wasm) for JSPI into
 * `<build>/jco/clawft-web/`: `clawft-web.js` (exports `instantiate(getCoreModule, imports)`) and
 * its core modules. Returns the glue's path relative to the project root, for the size table.
 * Throws what jco throws (an import name the component lacks is ignored by jco, so a WIT
 * version bump must update ASYNC_IMPORTS: the browser test then fails to chat).
 */
export async function buildAgentWeb(component, build) {
  const outDir = join(build, "jco", AGENT_WEB.name);
  await rm(outDir, { recursive: true, force: true });
  const { files } = await transpileBytes(component, {
    name: AGENT_WEB.name,
    outDir,
    instantiation: "async",
    asyncMode: "jspi",
    asyncImports: ASYNC_IMPORTS,
    asyncExports: ASYNC_EXPORTS,
    emitTypescriptDeclarations: true,
  });
  await writeFiles(files);
  const glue = join(outDir, `${AGENT_WEB.name}.js`);
  await writeFile(glue, withoutFallbackLoader(await readFile(glue, "utf8")));
  return `build/jco/${AGENT_WEB.name}/${AGENT_WEB.name}.js`;
}

/** jco's fallback when no core-module getter is passed: fetch each core module from beside the glue. */
const FALLBACK_LOADER = "if (!getCoreModule) getCoreModule = (name) => fetchCompile(new URL(`./${name}`, import.meta.url));";

/**
 * The glue without jco's fallback loader. Vite turns its `new URL(\`./${name}\`, import.meta.url)`
 * into a glob that ships every file of the folder (the .d.ts included) with the page
 * (toolchain.md); the page always passes its getter (web/panels/agent-chat.ts), so a missing one
 * is now an error. Throws when the line is not found, so a jco upgrade that changes it is seen.
 */
function withoutFallbackLoader(js) {
  if (!js.includes(FALLBACK_LOADER)) throw new Error(`${AGENT_WEB.name}.js: jco's fallback core-module loader not found; check scripts/agent-web.mjs against this jco version`);
  return js.replace(FALLBACK_LOADER, 'if (!getCoreModule) throw new TypeError("clawft-web: pass getCoreModule (the page names each core module: web/panels/agent-chat.ts)");');
}

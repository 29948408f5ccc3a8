// The cores and programs that scripts/build.mjs compiles, one entry each.
//
// name       artifact base name: build/<name>.wasm (release), build/debug/<name>.wasm (debug)
// entry      AssemblyScript entry of the raw-ABI core module (docs/abi.md)
// flags      extra asc flags for this variant (e.g. a scalar build without SIMD)
// releaseFlags  extra asc flags for the release builds only (the debug build keeps asc's defaults)
// component  optional: { entry, wit, world } for the WASI preview2 component build/<name>.component.wasm,
//            transpiled by jco into build/jco/<name>/
// command    true for a WASI preview1 command module (uses @assemblyscript/wasi-shim)
// adapter    optional, with `command`: { wit, world } of what the module imports besides
//            preview1; build/<name>.wasm (and build/debug/<name>.wasm) is then the WASI 0.2
//            command component made with jco's preview1 command adapter, transpiled by jco
//            into build/jco/<name>/

/**
 * Release flags of the agent's builds (clawft, clawft.p1, clawft.wamr): binaryen's shrink level 2
 * (little inlining) instead of asconfig.json's 1: 12.5 KB less code in clawft.wasm's core. The
 * bounds checks and the incremental collector stay.
 */
const AGENT_RELEASE = ["--shrinkLevel", "2"];

/** @type {Array<{name: string, entry: string, flags?: string[], releaseFlags?: string[], component?: {entry: string, wit: string, world: string}, command?: boolean, adapter?: {wit: string, world: string}}>} */
export const cores = [
  {
    name: "clasp",
    entry: "assembly/clasp/index.ts",
    component: { entry: "assembly/clasp/component.ts", wit: "wit/clasp.wit", world: "clasp" },
  },
  {
    name: "clp",
    entry: "assembly/clp/index.ts",
    // Every index is validated before use; the debug build keeps the bounds checks and is fuzzed.
    releaseFlags: ["--uncheckedBehavior", "always"],
    component: { entry: "assembly/clp/component.ts", wit: "wit/clp.wit", world: "clp" },
  },
  {
    // The MiniRouter with the codec it decodes and encodes with. It keeps state in managed
    // objects under the minimal runtime: no write barriers (the incremental collector's cost
    // 15 KB here); it collects in `tick`, between steps, when no reference is on the stack.
    name: "router",
    entry: "assembly/clasp/router/index.ts",
    flags: ["--runtime", "minimal", "--shrinkLevel", "2"],
    // The same core behind wit/router.wit (a step in, an outbox out), for component hosts.
    component: { entry: "assembly/clasp/router/component.ts", wit: "wit/router.wit", world: "mini-router" },
  },
  // The pipeline's `normalize` plugin (plugins/normalize): a WASI command speaking the framed
  // plugin protocol on stdin/stdout (docs/plugin-protocol.md).
  { name: "normalize", entry: "assembly/normalize/index.ts", command: true },
  {
    name: "hnsw",
    entry: "assembly/hnsw/index.ts",
    component: { entry: "assembly/hnsw/component.ts", wit: "wit/hnsw.wit", world: "hnsw" },
  },
  {
    // clawft.wasm, the WASI agent (assembly/agent/, docs/agent.md) as a preview1 command for
    // WAMR and node:wasi. It links every core as AssemblyScript; the incremental runtime
    // collects garbage by itself, since the agent's loop allocates between no fixed points.
    // Scalar: WAMR's interpreters run no SIMD. initialMemory 0: as many pages as the static
    // data needs (asconfig.json's 1 page is too few for the agent's texts).
    name: "clawft.p1",
    entry: "assembly/agent/p1.ts",
    command: true,
    flags: ["--runtime", "incremental", "--disable", "simd", "--initialMemory", "0"],
    releaseFlags: AGENT_RELEASE,
  },
  {
    // clawft.p1 for WAMR: the same entry with HTTP/1.1 over WAMR's socket extension
    // (assembly/agent/p1.ts: only this build imports sock_open, sock_connect, …, which
    // node:wasi lacks). Run with `iwasm --addr-pool=<LLM server>/32`.
    name: "clawft.wamr",
    entry: "assembly/agent/p1.ts",
    command: true,
    flags: ["--runtime", "incremental", "--disable", "simd", "--initialMemory", "0", "--use", "CLAWFT_SOCKETS=1"],
    releaseFlags: AGENT_RELEASE,
  },
  {
    // clawft.wasm itself: the same program as a WASI 0.2 command component (wasi:cli/run) with
    // HTTP over wasi:http, for Wasmtime and Node (jco). SIMD stays on: both run it.
    name: "clawft",
    entry: "assembly/agent/p2.ts",
    command: true,
    flags: ["--runtime", "incremental", "--initialMemory", "0"],
    releaseFlags: AGENT_RELEASE,
    adapter: { wit: "wit/clawft.wit", world: "clawft" },
  },
  {
    // Test fixture: one HTTP request through wasi:http, printed (test/agent/http.test.ts),
    // built exactly like clawft.wasm so the HTTP layer is proved on its own.
    name: "http-probe",
    entry: "test/fixtures/assembly/http-probe.ts",
    command: true,
    flags: ["--runtime", "incremental"],
    adapter: { wit: "wit/clawft.wit", world: "clawft" },
  },
  {
    // Test fixture, not a product: the agent's JSON, SSE and TOML parsers behind a raw ABI
    // (test/fixtures/assembly/parsers.ts) for test/agent/{json,sse,toml}.test.ts, with clawft.p1's runtime.
    name: "parsers",
    entry: "test/fixtures/assembly/parsers.ts",
    flags: ["--runtime", "incremental", "--disable", "simd"],
  },
  {
    // Test fixture: the governed tools and the audit log without the chat loop
    // (test/fixtures/assembly/tools-cli.ts: callTool from argv) for test/agent/{tools,audit}.test.ts,
    // built like clawft.p1 (scalar, incremental runtime, static data as large as it needs).
    name: "tools-cli",
    entry: "test/fixtures/assembly/tools-cli.ts",
    command: true,
    flags: ["--runtime", "incremental", "--disable", "simd", "--initialMemory", "0"],
  },
  {
    // Test fixture: the http-probe (test/fixtures/assembly/http-probe.ts) with the WAMR socket client,
    // for test/device/sockets.test.ts, built like clawft.wamr.
    name: "sockets-probe",
    entry: "test/fixtures/assembly/http-probe.ts",
    command: true,
    flags: ["--runtime", "incremental", "--disable", "simd", "--use", "CLAWFT_SOCKETS=1"],
  },
  {
    // The agent's hashed n-gram text embedding on its own (assembly/embed/index.ts), for the
    // playground's vector search; the incremental runtime collects between calls.
    name: "embed",
    entry: "assembly/embed/index.ts",
    flags: ["--runtime", "incremental"],
  },
  {
    // The same core without SIMD, for hosts that lack it (WAMR's interpreters).
    name: "hnsw.scalar",
    entry: "assembly/hnsw/index.ts",
    flags: ["--disable", "simd"],
  },
];

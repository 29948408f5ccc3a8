// The cores and programs that scripts/build.mjs compiles, one entry each.
//
// name       artifact base name: build/<name>.wasm (release), build/debug/<name>.wasm (debug)
// entry      AssemblyScript entry of the raw-ABI core module (docs/abi.md)
// flags      extra asc flags for this variant (e.g. a scalar build without SIMD)
// releaseFlags  extra asc flags for the release builds only (the debug build keeps asc's defaults)
// component  optional: { entry, wit, world } for the WASI preview2 component build/<name>.component.wasm,
//            transpiled by jco into build/jco/<name>/
// command    true for a WASI preview1 command module (uses @assemblyscript/wasi-shim)

/** @type {Array<{name: string, entry: string, flags?: string[], releaseFlags?: string[], component?: {entry: string, wit: string, world: string}, command?: boolean}>} */
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
    // Scalar: WAMR's interpreters run no SIMD.
    name: "clawft.p1",
    entry: "assembly/agent/p1.ts",
    command: true,
    flags: ["--runtime", "incremental", "--disable", "simd"],
  },
  {
    // Test fixture, not a product: the agent's JSON, SSE and TOML parsers behind a raw ABI
    // (test/fixtures/parsers.ts) for test/agent/{json,sse,toml}.test.ts, with clawft.p1's runtime.
    name: "parsers",
    entry: "test/fixtures/parsers.ts",
    flags: ["--runtime", "incremental", "--disable", "simd"],
  },
  {
    // The same core without SIMD, for hosts that lack it (WAMR's interpreters).
    name: "hnsw.scalar",
    entry: "assembly/hnsw/index.ts",
    flags: ["--disable", "simd"],
  },
];

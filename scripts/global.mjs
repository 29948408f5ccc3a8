// The script-tag build: dist/clawft.global.js, one classic script (no modules, no bundler)
// that defines `window.clawft`, with the release wasm cores copied beside it.
//
// The faces load their cores with top-level await, which esbuild cannot put into an IIFE;
// so the bundle is built as an ES module with no imports or exports left (everything inlined,
// web/global.ts exports nothing at run time) and wrapped into an async function by hand:
//   var clawft = { ready: Promise<clawft> }   (then clasp, hnsw, clp, client, transports)
// The faces find a core at `new URL("../../build/<core>.wasm", import.meta.url)`; here each
// such path becomes "./<core>.wasm" and import.meta.url the script's own URL
// (document.currentScript, read while the script first runs), so the wasm beside the script is used.

import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { build } from "esbuild";

/** The release cores the faces in web/global.ts load (hnsw.scalar: hosts without SIMD). */
export const GLOBAL_WASM = ["clasp.wasm", "clp.wasm", "hnsw.wasm", "hnsw.scalar.wasm"];

/** esbuild plugin: a core's `../../build/x.wasm` becomes `./x.wasm` (beside the script). */
const wasmBesideScript = {
  name: "wasm-beside-script",
  setup(b) {
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      return { contents: text.replace(/(["'`])(?:\.\.\/)+build\/([\w.-]+\.wasm)\1/g, '"./$2"'), loader: "ts" };
    });
  },
};

/**
 * Builds `dist/clawft.global.js` (minified) and copies {@link GLOBAL_WASM} from build/ beside it.
 * @param root the project root
 * @param outDir where to write; defaults to <root>/dist
 * @returns the written script's path
 */
export async function buildGlobal(root, outDir = join(root, "dist")) {
  const out = await build({
    entryPoints: [join(root, "web/global.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    write: false,
    legalComments: "none",
    // Node-only branches (file reads in Node) stay as dynamic imports that never run here.
    external: ["node:*"],
    define: { "import.meta.url": "__clawftScript" },
    plugins: [wasmBesideScript],
    logLevel: "error",
  });
  const code = out.outputFiles[0].text;
  if (/^\s*(import|export)\s/m.test(code)) throw new Error("clawft.global.js: the bundle kept an import or export statement");
  const script = `/* clawft ${JSON.parse(await readFile(join(root, "package.json"), "utf8")).version} — script-tag build; MIT */
var clawft = (function () {
  var __clawftScript = (document.currentScript && document.currentScript.src) || location.href;
  var __clawftGlobal = {};
  __clawftGlobal.ready = (async function () {
${code}
    return __clawftGlobal;
  })();
  return __clawftGlobal;
})();
`;
  await mkdir(outDir, { recursive: true });
  const file = join(outDir, "clawft.global.js");
  await writeFile(file, script);
  for (const w of GLOBAL_WASM) await copyFile(join(root, "build", w), join(outDir, w));
  return file;
}

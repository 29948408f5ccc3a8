import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "vite";
import { defineConfig } from "vitest/config";
import { commentProse, docSentences } from "./web/sentences.js";

/**
 * `virtual:clawft-doc-sentences`: the project's own prose (docs/*.md, README.md and the
 * comments of src/ and assembly/) split into sentences at build time (web/sentences.ts), the
 * corpus of the playground's vector search.
 */
function docSentencesPlugin(): Plugin {
  const id = "virtual:clawft-doc-sentences";
  return {
    name: "clawft-doc-sentences",
    resolveId: (source) => (source === id ? `\0${id}` : undefined),
    load(resolved) {
      if (resolved !== `\0${id}`) return undefined;
      const root = fileURLToPath(new URL(".", import.meta.url));
      const docs = readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).sort().map((f) => ({ name: `docs/${f}`, text: readFileSync(join(root, "docs", f), "utf8") }));
      docs.push({ name: "README.md", text: readFileSync(join(root, "README.md"), "utf8") });
      for (const dir of ["src", "assembly"]) {
        for (const f of (readdirSync(join(root, dir), { recursive: true }) as string[]).filter((f) => f.endsWith(".ts")).sort()) {
          docs.push({ name: `${dir}/${f}`, text: commentProse(readFileSync(join(root, dir, f), "utf8")) });
        }
      }
      return `export default ${JSON.stringify(docSentences(docs))};`;
    },
  };
}

// One config for the playground (web/, served by vite and by the relay) and the tests.
export default defineConfig({
  root: ".",
  plugins: [docSentencesPlugin()],
  build: {
    outDir: "dist/web",
    emptyOutDir: true,
    rollupOptions: { input: "web/index.html" },
    // The cores load with top-level await (src/clasp/index.ts).
    target: "es2022",
  },
  // The hub worker (workers/router.worker.ts) splits code (dynamic imports): ES module workers.
  worker: { format: "es" },
  test: {
    include: ["test/**/*.test.ts"],
    // Prints which hosts (engines, browsers, servers) run and which are skipped, and why.
    globalSetup: ["test/hosts-summary.ts"],
    exclude: ["test/browser/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // node:wasi crashes Node when a garbage collection runs inside a WASI host call of a
    // module with a large memory, through V8's fast API calls (nodejs/node#46777); the
    // agent's tests run such modules in node:wasi.
    execArgv: ["--no-turbo-fast-api-calls"],
  },
});

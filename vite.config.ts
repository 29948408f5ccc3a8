import { defineConfig } from "vitest/config";

// One config for the playground (web/, served by vite and by the relay) and the tests.
export default defineConfig({
  root: ".",
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

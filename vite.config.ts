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
    exclude: ["test/browser/**", "node_modules/**"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});

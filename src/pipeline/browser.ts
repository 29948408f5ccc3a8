/**
 * Browser runners: `wasi` and `worker` plugins in Web Workers, speaking the same frames as
 * processes (docs/plugin-protocol.md §7). `process` plugins cannot run in a browser. WASI
 * modules are compiled once per URL on the page and posted to each worker; when the page is
 * cross-origin isolated, stdin streams through shared memory, otherwise the worker collects the
 * whole input first. No Node modules: this file is bundled for browsers.
 * @module
 */
import type { PluginInfo } from "./manifest.js";
import type { Runners } from "./runner.js";
import { canShareMemory, compileOncePerUrl, startWasiPlugin, startWorkerPlugin, type WorkerLike } from "./worker-host.js";

/** Options of {@link browserRunners}. */
export interface BrowserRunnerOptions {
  /**
   * Creates the Web Worker that runs `plugin`. Bundlers only bundle a worker they can see, so the
   * page passes a literal `new Worker(new URL("…/pipeline.worker.ts", import.meta.url), { type: "module" })`.
   */
  readonly createWorker: (plugin: PluginInfo) => WorkerLike;
  /** Compiles a WASI plugin's module. Defaults to `WebAssembly.compileStreaming(fetch(url))`. */
  readonly compile?: (url: string) => Promise<WebAssembly.Module>;
  /** Share memory with workers (streaming stdin for WASI). Defaults to {@link canShareMemory}. */
  readonly sharedMemory?: boolean;
}

async function compileUrl(url: string): Promise<WebAssembly.Module> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`fetching ${url} failed: HTTP ${res.status}`);
  return res.headers.get("content-type")?.startsWith("application/wasm") ? WebAssembly.compileStreaming(res) : WebAssembly.compile(await res.arrayBuffer());
}

/** Runners for `wasi` and `worker` plugins in Web Workers. */
export function browserRunners(options: BrowserRunnerOptions): Runners {
  const compile = compileOncePerUrl(options.compile ?? compileUrl);
  const shared = options.sharedMemory ?? canShareMemory();
  return {
    wasi: async (plugin) => startWasiPlugin(plugin, await compile(plugin.entrypointUrl), () => options.createWorker(plugin), shared),
    worker: async (plugin) => startWorkerPlugin(options.createWorker(plugin), plugin),
  };
}

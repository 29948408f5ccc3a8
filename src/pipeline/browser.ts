/**
 * Browser runners: `wasi` and `worker` plugins in Web Workers, speaking the same frames as
 * processes (docs/plugin-protocol.md §7). `process` plugins cannot run in a browser. WASI
 * modules are compiled once per URL on the page and posted to each worker; when the page is
 * cross-origin isolated, stdin streams through shared memory, otherwise the worker collects the
 * whole input first. No Node modules: this file is bundled for browsers.
 * @module
 */
import type { PluginInfo } from "./manifest.js";
import { PROTOCOL_VERSION } from "./protocol.js";
import type { Runner, Runners } from "./runner.js";
import { canShareMemory, SHARED_CAPACITY, SHARED_HEADER, workerProcess, type WorkerLike } from "./worker-host.js";

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
  const modules = new Map<string, Promise<WebAssembly.Module>>();
  const compile = options.compile ?? compileUrl;
  const shared = options.sharedMemory ?? canShareMemory();
  const env = { CLAWFT_PROTOCOL: PROTOCOL_VERSION };

  const wasi: Runner = async (plugin) => {
    let m = modules.get(plugin.entrypointUrl);
    if (!m) {
      m = compile(plugin.entrypointUrl);
      modules.set(plugin.entrypointUrl, m);
      m.catch(() => modules.delete(plugin.entrypointUrl));
    }
    const module = await m;
    const bad = WebAssembly.Module.imports(module).find((i) => i.module !== "wasi_snapshot_preview1");
    if (bad) throw new Error(`${plugin.entrypointUrl} imports ${bad.module}.${bad.name}; a WASI command may only import wasi_snapshot_preview1`);
    const sab = shared ? new SharedArrayBuffer(SHARED_HEADER + SHARED_CAPACITY) : undefined;
    return workerProcess(options.createWorker(plugin), { type: "start", plugin: plugin.id, args: [plugin.id, ...plugin.manifest.args], env, module }, sab);
  };

  const worker: Runner = async (plugin) =>
    workerProcess(options.createWorker(plugin), { type: "start", plugin: plugin.id, args: plugin.manifest.args, env });

  return { wasi, worker };
}

/**
 * Node runners (docs/plugin-protocol.md §7): `process` plugins as child processes, `wasi` plugins
 * with `node:wasi` in a `worker_threads` worker, `worker` plugins in a `worker_threads` worker
 * that sees a Web-Worker-like `self`.
 * @module
 */
import { spawn, type ChildProcess } from "node:child_process";
import { access, readFile } from "node:fs/promises";
import { constants } from "node:fs";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { PluginInfo } from "../manifest.js";
import { PROTOCOL_VERSION } from "../protocol.js";
import { TailBuffer, type ExitStatus, type PluginProcess, type Runner, type Runners } from "../runner.js";
import { compileOncePerUrl, startWasiPlugin, startWorkerPlugin, type WorkerLike } from "../worker-host.js";

/** Live child processes, killed if the host process exits first (no orphans). */
const live = new Set<ChildProcess>();
let exitHook = false;

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    try {
      child.kill("SIGKILL");
    } catch {
      /* already gone */
    }
  }
}

/** The command that runs an entrypoint: Node for JS, python3 for .py, else the file itself. */
function commandFor(entry: string, args: readonly string[]): [string, string[]] {
  const ext = extname(entry);
  if (ext === ".mjs" || ext === ".js" || ext === ".cjs") return [process.execPath, [entry, ...args]];
  if (ext === ".py") return ["python3", [entry, ...args]];
  return [entry, [...args]];
}

/** Options of {@link processRunner}. */
export interface ProcessRunnerOptions {
  /** Extra environment variables for every plugin (the host's own environment is not passed). */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * Runs `process` plugins as child processes in their own process group (so a plugin's own
 * children die with it), with the plugin directory as working directory and a minimal
 * environment: `PATH`, `LANG`, `CLAWFT_PROTOCOL`, `CLAWFT_PLUGIN_DIR`.
 */
export function processRunner(options: ProcessRunnerOptions = {}): Runner {
  return async (plugin: PluginInfo): Promise<PluginProcess> => {
    const dir = fileURLToPath(plugin.baseUrl);
    const entry = fileURLToPath(plugin.entrypointUrl);
    await access(entry, constants.R_OK).catch(() => {
      throw new Error(`entrypoint ${entry} does not exist or is not readable`);
    });
    const [cmd, args] = commandFor(entry, plugin.manifest.args);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      LANG: process.env.LANG ?? "C.UTF-8",
      CLAWFT_PROTOCOL: PROTOCOL_VERSION,
      CLAWFT_PLUGIN_DIR: dir,
      ...options.env,
    };
    const child = spawn(cmd, args, { cwd: dir, env, stdio: ["pipe", "pipe", "pipe"], detached: true });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    live.add(child);
    if (!exitHook) {
      exitHook = true;
      process.once("exit", () => live.forEach(killGroup));
    }
    const stderr = new TailBuffer();
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (s: string) => stderr.push(s));
    child.stderr!.on("error", () => {});

    let stdinOpen = true;
    let wakeWriter: ((err?: Error) => void) | null = null;
    const stdin = child.stdin!;
    const closed = (): void => {
      stdinOpen = false;
      wakeWriter?.(new Error("stdin is closed"));
    };
    stdin.on("error", closed);
    stdin.on("close", closed);
    stdin.on("drain", () => wakeWriter?.());

    const it = child.stdout![Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    child.once("exit", () => live.delete(child));
    // 'close' comes once the process has exited and its stdio has ended. (A grandchild holding
    // stdout open delays it; the executor's inactivity timeout then kills the group, see kill().)
    const exited = new Promise<ExitStatus>((resolve) => child.once("close", (code, signal) => resolve({ code, signal })));

    return {
      write(chunk) {
        if (!stdinOpen) return Promise.reject(new Error("stdin is closed"));
        if (stdin.write(chunk)) return Promise.resolve();
        return new Promise<void>((resolve, reject) => {
          wakeWriter = (err) => {
            wakeWriter = null;
            if (err) reject(err);
            else resolve();
          };
        });
      },
      closeStdin() {
        if (stdinOpen) stdin.end();
      },
      async read() {
        try {
          const r = await it.next();
          return r.done ? null : new Uint8Array(r.value.buffer, r.value.byteOffset, r.value.length);
        } catch {
          return null;
        }
      },
      exited,
      kill() {
        if (child.exitCode === null && child.signalCode === null) killGroup(child);
        // Nobody reads any more: unread output must not keep the pipes (and 'close') open.
        child.stdout!.destroy();
        child.stderr!.destroy();
        stdin.destroy();
      },
      stderrTail: () => stderr.toString(),
    };
  };
}

const here = import.meta.url;
const fromSource = here.endsWith(".ts");

/** Wraps a Node worker as a {@link WorkerLike}. */
function asWorkerLike(w: Worker): WorkerLike {
  return {
    postMessage: (m, t) => w.postMessage(m, t as never),
    addEventListener: ((type: string, fn: (ev: unknown) => void) => {
      if (type === "message") w.on("message", (data) => fn({ data }));
      else if (type === "error") w.on("error", (error) => fn({ message: error.message, error }));
    }) as WorkerLike["addEventListener"],
    terminate: () => w.terminate(),
  };
}

/**
 * Starts `entry` in a worker thread where `self` is the parent port (the Web Worker shape).
 * From TypeScript sources (tests), the tsx loader is registered in the worker first.
 */
function startWorker(entry: URL): Worker {
  const tsx = entry.pathname.endsWith(".ts") ? import.meta.resolve("tsx/esm/api") : null;
  const code = `
const { parentPort, workerData } = require("node:worker_threads");
globalThis.self = parentPort;
(workerData.tsx ? import(workerData.tsx).then((m) => m.register()) : Promise.resolve())
  .then(() => import(workerData.entry))
  .catch((e) => {
    parentPort.postMessage({ type: "stderr", text: "worker failed to load: " + (e && e.stack || e) + "\\n" });
    parentPort.postMessage({ type: "exit", code: 1 });
  });`;
  return new Worker(code, { eval: true, workerData: { entry: entry.href, tsx }, execArgv: ["--no-warnings"] });
}

/**
 * Starts a Web-Worker-shaped module (`self.postMessage`, `self.addEventListener`) in a worker
 * thread, as a {@link WorkerLike}: lets Node run browser worker entries (used by the tests of the
 * browser runners).
 * @param entry file URL of the module (`.ts` sources load through tsx)
 */
export function nodeWorker(entry: URL): WorkerLike {
  return asWorkerLike(startWorker(entry));
}

/** Runs `worker` plugins (a JavaScript module using `self.postMessage`) in worker threads. */
export function workerRunner(): Runner {
  return async (plugin) => {
    const entry = new URL(plugin.entrypointUrl);
    await access(fileURLToPath(entry), constants.R_OK).catch(() => {
      throw new Error(`entrypoint ${fileURLToPath(entry)} does not exist or is not readable`);
    });
    return startWorkerPlugin(asWorkerLike(startWorker(entry)), plugin);
  };
}

/** Compiles (once per URL) a plugin's WASI module. */
const compileWasm = compileOncePerUrl(async (url) => WebAssembly.compile(await readFile(fileURLToPath(url))));

/**
 * Runs `wasi` plugins: the command module runs with `node:wasi` in a worker thread, stdin
 * streamed through shared memory (the module blocks in `fd_read`), stdout posted back.
 * Terminating the worker stops even a module stuck in a loop.
 */
export function wasiRunner(): Runner {
  const entry = new URL(fromSource ? "./wasi-worker.ts" : "./wasi-worker.js", here);
  return async (plugin) => {
    const module = await compileWasm(plugin.entrypointUrl);
    return startWasiPlugin(plugin, module, () => asWorkerLike(startWorker(entry)), true);
  };
}

/** Every runner Node offers: process, wasi and worker. */
export function nodeRunners(options: ProcessRunnerOptions = {}): Runners {
  return { process: processRunner(options), wasi: wasiRunner(), worker: workerRunner() };
}

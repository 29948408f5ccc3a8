/**
 * Host side of the worker transport (docs/plugin-protocol.md §7): turns a Web Worker (or a Node
 * `worker_threads` worker shaped like one) into a {@link PluginProcess}. The same stdin/stdout
 * byte streams as a process travel in `postMessage` messages with acknowledgement-based flow
 * control; for WASI plugins, stdin can instead go through a {@link SharedStdin} mailbox so the
 * module can block in `fd_read` while the host streams. Runs in every host (no Node modules).
 * @module
 */
import type { PluginInfo } from "./manifest.js";
import { PROTOCOL_VERSION } from "./protocol.js";
import type { ExitStatus, PluginProcess } from "./runner.js";
import { TailBuffer } from "./runner.js";

/** Unacknowledged bytes either side may have in flight. */
export const WORKER_WINDOW = 256 * 1024;

/** The part of `Worker` the runner uses (browsers' Worker; Node's is adapted to it). */
export interface WorkerLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (ev: { data: unknown }) => void): void;
  addEventListener(type: "error", listener: (ev: { message?: string; error?: unknown }) => void): void;
  terminate(): unknown;
}

/** Messages a worker plugin sends to the host. */
export type WorkerToHost =
  | { type: "stdout"; data: Uint8Array }
  | { type: "stdin-ack"; bytes: number }
  | { type: "stderr"; text: string }
  | { type: "exit"; code: number };

/** Messages the host sends to a worker plugin. */
export type HostToWorker =
  | { type: "start"; plugin: string; args: readonly string[]; env: Readonly<Record<string, string>>; [extra: string]: unknown }
  | { type: "stdin"; data: Uint8Array }
  | { type: "stdin-end" }
  | { type: "stdout-ack"; bytes: number };

/**
 * Layout of the shared stdin mailbox (Int32 slots, then data):
 * slot 0 = bytes in the mailbox (0 empty, -1 stdin closed); slot 1 = stdout bytes posted and
 * not yet consumed by the host. The worker blocks with `Atomics.wait` on both.
 */
export const SHARED_HEADER = 16;
/** Capacity of the shared stdin mailbox in bytes. */
export const SHARED_CAPACITY = 64 * 1024;

/** True when this host can share memory with workers (Node; cross-origin isolated pages). */
export function canShareMemory(): boolean {
  return typeof SharedArrayBuffer === "function" && (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated !== false;
}

async function waitWhile(ctl: Int32Array, index: number, value: number): Promise<void> {
  const waitAsync = (Atomics as { waitAsync?: (a: Int32Array, i: number, v: number, t?: number) => { async: boolean; value: unknown } }).waitAsync;
  if (waitAsync) {
    const r = waitAsync(ctl, index, value, 1000);
    if (r.async) await r.value;
  } else {
    await new Promise((res) => setTimeout(res, 1));
  }
}

/**
 * Wraps a started worker as a plugin process.
 * @param worker the worker, already created
 * @param start the `start` message (plugin name, args, env, and anything the worker needs)
 * @param shared when given, stdin goes through this SharedArrayBuffer mailbox (layout above)
 *   instead of `stdin` messages; it is included in the start message as `shared`
 */
export function workerProcess(worker: WorkerLike, start: HostToWorker & { type: "start" }, shared?: SharedArrayBuffer): PluginProcess {
  const stderr = new TailBuffer();
  const stdout: Uint8Array[] = [];
  let stdoutEnded = false;
  let wakeReader: (() => void) | null = null;
  let stdinInFlight = 0;
  let stdinClosed = false;
  let wakeWriter: (() => void) | null = null;
  let resolveExit!: (s: ExitStatus) => void;
  const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
  let gone = false;
  const ctl = shared ? new Int32Array(shared, 0, SHARED_HEADER / 4) : null;
  const mailbox = shared ? new Uint8Array(shared, SHARED_HEADER) : null;

  const finish = (status: ExitStatus): void => {
    if (gone) return;
    gone = true;
    stdinClosed = true;
    stdoutEnded = true;
    wakeReader?.();
    wakeWriter?.();
    void Promise.resolve(worker.terminate()).then(
      () => resolveExit(status),
      () => resolveExit(status),
    );
  };

  worker.addEventListener("message", (ev) => {
    const m = ev.data as WorkerToHost;
    if (m.type === "stdout") {
      stdout.push(m.data);
      wakeReader?.();
    } else if (m.type === "stdin-ack") {
      stdinInFlight -= m.bytes;
      wakeWriter?.();
    } else if (m.type === "stderr") {
      stderr.push(m.text);
    } else if (m.type === "exit") {
      stdoutEnded = true;
      wakeReader?.();
      finish({ code: m.code, signal: null });
    }
  });
  worker.addEventListener("error", (ev) => {
    stderr.push(`uncaught error in worker: ${ev.message ?? String(ev.error)}\n`);
    finish({ code: 1, signal: null });
  });
  worker.postMessage(shared ? { ...start, shared } : start);

  let writeChain: Promise<void> = Promise.resolve();
  const sharedWrite = async (chunk: Uint8Array): Promise<void> => {
    for (let at = 0; at < chunk.length; ) {
      let v: number;
      while ((v = Atomics.load(ctl!, 0)) !== 0) {
        if (gone) throw new Error("worker plugin exited");
        await waitWhile(ctl!, 0, v);
      }
      if (gone) throw new Error("worker plugin exited");
      const n = Math.min(chunk.length - at, mailbox!.length);
      mailbox!.set(chunk.subarray(at, at + n));
      at += n;
      Atomics.store(ctl!, 0, n);
      Atomics.notify(ctl!, 0);
    }
  };

  return {
    write(chunk) {
      if (stdinClosed) return Promise.reject(new Error("stdin is closed"));
      if (shared) {
        writeChain = writeChain.then(() => sharedWrite(chunk));
        return writeChain;
      }
      return (async () => {
        while (stdinInFlight >= WORKER_WINDOW && !gone) await new Promise<void>((r) => (wakeWriter = r));
        if (gone) throw new Error("worker plugin exited");
        const copy = chunk.slice();
        stdinInFlight += copy.length;
        worker.postMessage({ type: "stdin", data: copy } satisfies HostToWorker, [copy.buffer]);
      })();
    },
    closeStdin() {
      if (stdinClosed) return;
      stdinClosed = true;
      if (shared) {
        writeChain = writeChain
          .then(async () => {
            let v: number;
            while ((v = Atomics.load(ctl!, 0)) !== 0 && !gone) await waitWhile(ctl!, 0, v);
            Atomics.store(ctl!, 0, -1);
            Atomics.notify(ctl!, 0);
          })
          .catch(() => {});
      } else if (!gone) {
        worker.postMessage({ type: "stdin-end" } satisfies HostToWorker);
      }
    },
    async read() {
      while (stdout.length === 0 && !stdoutEnded) await new Promise<void>((r) => (wakeReader = r));
      const chunk = stdout.shift();
      if (!chunk) return null;
      if (!gone) {
        if (ctl) {
          Atomics.sub(ctl, 1, chunk.length);
          Atomics.notify(ctl, 1);
        } else {
          worker.postMessage({ type: "stdout-ack", bytes: chunk.length } satisfies HostToWorker);
        }
      }
      return chunk;
    },
    exited,
    kill() {
      finish({ code: null, signal: "terminated" });
    },
    stderrTail: () => stderr.toString(),
  };
}

/** Environment every worker and wasi plugin gets (docs/plugin-protocol.md §7). */
const PLUGIN_ENV: Readonly<Record<string, string>> = { CLAWFT_PROTOCOL: PROTOCOL_VERSION };

/**
 * Starts a `worker` plugin in `worker` (a module using `self.postMessage`): its `start` message
 * carries the plugin id, the manifest's `args` and `CLAWFT_PROTOCOL`.
 */
export function startWorkerPlugin(worker: WorkerLike, plugin: PluginInfo): PluginProcess {
  return workerProcess(worker, { type: "start", plugin: plugin.id, args: plugin.manifest.args, env: PLUGIN_ENV });
}

/**
 * Starts a `wasi` plugin: checks that `module` is a WASI preview1 command, then creates its worker
 * (which runs `serveWasi` of wasi-host.ts) and sends it the module, argv (`[plugin id, ...manifest args]`)
 * and `CLAWFT_PROTOCOL`.
 * @param createWorker called only once the module passed the check
 * @param sharedMemory stream stdin through a SharedArrayBuffer mailbox of
 *   {@link SHARED_CAPACITY} bytes; otherwise the worker collects the whole input first
 * @throws Error when the module imports anything outside `wasi_snapshot_preview1` (the executor
 *   reports it as `SPAWN_FAILED`)
 */
export function startWasiPlugin(plugin: PluginInfo, module: WebAssembly.Module, createWorker: () => WorkerLike, sharedMemory: boolean): PluginProcess {
  const bad = WebAssembly.Module.imports(module).find((i) => i.module !== "wasi_snapshot_preview1");
  if (bad) throw new Error(`${plugin.entrypointUrl} imports ${bad.module}.${bad.name}; a WASI command may only import wasi_snapshot_preview1`);
  const shared = sharedMemory ? new SharedArrayBuffer(SHARED_HEADER + SHARED_CAPACITY) : undefined;
  return workerProcess(createWorker(), { type: "start", plugin: plugin.id, args: [plugin.id, ...plugin.manifest.args], env: PLUGIN_ENV, module }, shared);
}

/**
 * Wraps `compile` so each URL is compiled once (concurrent callers share the promise); a failed
 * compilation is forgotten so a later call retries.
 */
export function compileOncePerUrl(compile: (url: string) => Promise<WebAssembly.Module>): (url: string) => Promise<WebAssembly.Module> {
  const modules = new Map<string, Promise<WebAssembly.Module>>();
  return (url) => {
    let m = modules.get(url);
    if (!m) {
      m = compile(url);
      modules.set(url, m);
      m.catch(() => modules.delete(url));
    }
    return m;
  };
}

/**
 * Worker-thread entry of Node's `wasi` runner: serves one plugin run with `node:wasi`
 * (stdin/stdout replaced by the worker transport, see ../wasi-host.ts).
 * @module
 */
import { parentPort } from "node:worker_threads";
import { WASI } from "node:wasi";
import { serveWasi, type PortLike } from "../wasi-host.js";

serveWasi(parentPort as unknown as PortLike, (args, env) => {
  // node:wasi fails environ_get with an empty env (toolchain.md): the host always passes one.
  const wasi = new WASI({ version: "preview1", args: [...args], env: { ...env }, returnOnExit: true });
  return {
    imports: (wasi.getImportObject() as { wasi_snapshot_preview1: Record<string, (...args: never[]) => unknown> }).wasi_snapshot_preview1,
    start: (instance) => wasi.start(instance) ?? 0,
  };
});

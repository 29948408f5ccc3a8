/**
 * Web Worker entry of the browser pipeline: runs one plugin per worker, chosen by the first
 * (`start`) message — a WASI module (any `start` carrying `module`, run with
 * @bjorn3/browser_wasi_shim), `speak` (eSpeak NG wasm) or `mp3` (LAME wasm) — speaking the worker
 * transport of docs/plugin-protocol.md §7. Also runs under Node's `worker_threads` (tests), where
 * the runner makes `self` the parent port.
 * @module
 */
import { WASI, WASIProcExit } from "@bjorn3/browser_wasi_shim";
import { serveWasi, type PortLike } from "../src/pipeline/wasi-host.js";

declare const self: PortLike;

type Listener = (ev: { data: unknown }) => void;
const early: Array<{ data: unknown }> = [];
let handedOver = false;

/** A port that first replays the messages received so far, then listens on `self`. */
const replayPort: PortLike = {
  postMessage: (m, t) => self.postMessage(m, t),
  addEventListener(_type: "message", fn: Listener) {
    handedOver = true;
    for (const ev of early.splice(0)) fn(ev);
    self.addEventListener("message", fn);
  },
};

async function start(first: { plugin?: string; module?: unknown }): Promise<void> {
  if (first.module !== undefined) {
    serveWasi(replayPort, (args, env) => {
      const wasi = new WASI([...args], Object.entries(env).map(([k, v]) => `${k}=${v}`), []);
      return {
        imports: wasi.wasiImport as Record<string, (...args: never[]) => unknown>,
        start: (instance) => {
          try {
            return wasi.start(instance as never);
          } catch (e) {
            if (e instanceof WASIProcExit) return e.code;
            throw e;
          }
        },
      };
    });
    return;
  }
  const sdk = await import("../plugins/lib/sdk.mjs");
  const transport = () => {
    handedOver = true;
    return sdk.workerTransport(self, early.splice(1)); // drop the start message itself
  };
  if (first.plugin === "speak") {
    const { createSynth, speakHandler } = await import("../plugins/speak/speak-core.mjs");
    const synth = createSynth(async () => {
      const { default: ESpeakNg } = await import("espeak-ng");
      const url = new URL("../node_modules/espeak-ng/dist/espeak-ng.wasm", import.meta.url);
      const module = url.protocol === "file:" ? await compileFile(url) : await WebAssembly.compileStreaming(fetch(url));
      return { ESpeakNg, module };
    });
    await sdk.runPlugin(transport(), speakHandler(synth), { input: ["text/plain"], output: ["audio/wav"] });
  } else if (first.plugin === "mp3") {
    const { mp3Handler } = await import("../plugins/mp3/mp3-core.mjs");
    const { createMp3Encoder } = await import("wasm-media-encoders");
    await sdk.runPlugin(transport(), mp3Handler(() => createMp3Encoder()), { input: ["audio/wav"], output: ["audio/mpeg"] });
  } else {
    self.postMessage({ type: "stderr", text: `pipeline.worker: unknown plugin "${String(first.plugin)}"\n` });
    self.postMessage({ type: "exit", code: 1 });
  }
}

/** Node (the tests run this entry in worker threads) cannot fetch file: URLs; browsers never get here. */
async function compileFile(url: URL): Promise<WebAssembly.Module> {
  const fs = "node:fs/promises"; // through a variable: bundlers leave it alone
  const { readFile } = (await import(/* @vite-ignore */ fs)) as { readFile(u: URL): Promise<Uint8Array<ArrayBuffer>> };
  return WebAssembly.compile(await readFile(url));
}

self.addEventListener("message", (ev) => {
  if (handedOver) return;
  early.push(ev);
  if (early.length === 1) {
    start(ev.data as { plugin?: string; module?: unknown }).catch((e: unknown) => {
      self.postMessage({ type: "stderr", text: `pipeline.worker: ${(e as Error).stack ?? String(e)}\n` });
      self.postMessage({ type: "exit", code: 1 });
    });
  }
});

#!/usr/bin/env node
// Process entry of the `speak` plugin (Node): stdio transport, eSpeak NG from node_modules.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { runPlugin, stdioTransport } from "../lib/sdk.mjs";
import { createSynth, speakHandler } from "./speak-core.mjs";

const synth = createSynth(async () => {
  const { default: ESpeakNg } = await import("espeak-ng");
  const wasm = new URL("espeak-ng.wasm", import.meta.resolve("espeak-ng"));
  return { ESpeakNg, module: await WebAssembly.compile(await readFile(fileURLToPath(wasm))) };
});
await runPlugin(stdioTransport(), speakHandler(synth), { input: ["text/plain"], output: ["audio/wav"] });

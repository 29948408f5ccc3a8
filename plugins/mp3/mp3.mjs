#!/usr/bin/env node
// Process entry of the `mp3` plugin (Node): stdio transport, LAME wasm from node_modules.
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { createEncoder } from "wasm-media-encoders";
import { runPlugin, stdioTransport } from "../lib/sdk.mjs";
import { mp3Handler } from "./mp3-core.mjs";

// `wasm-media-encoders/wasm/mp3` is the working export path (`./wasm/mp3.wasm` points nowhere).
const wasm = readFile(fileURLToPath(import.meta.resolve("wasm-media-encoders/wasm/mp3")));
await runPlugin(stdioTransport(), mp3Handler(async (mime) => createEncoder(mime, await wasm)), { input: ["audio/wav"], output: ["audio/mpeg"] });

/**
 * `npm run bench -- pipeline`: the media pipeline.
 *
 * 1. Text → MP3 (normalize → speak → mp3, the executor with real plugins): real-time factor
 *    (seconds of audio per second of wall time) and time to the first MP3 byte, against a
 *    monolith doing the same work in one process (eSpeak NG once on the whole text, then LAME).
 * 2. Executor overhead per frame: three pass-through plugins run by the executor, against the same
 *    three processes piped to each other directly (`a | b | c`, the bytes never touch the host).
 * Medians of several runs; the machine may be shared, so the same-run ratios matter most.
 */
import { spawn } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { createEncoder } from "wasm-media-encoders";
import ESpeakNg from "espeak-ng";
import { iterateStream } from "../src/pipeline/executor.js";
import { encodeFrame, END_FRAME } from "../src/pipeline/frames.js";
import { encodeHandshake, PROTOCOL_VERSION } from "../src/pipeline/protocol.js";
import { PipelineHost } from "../src/pipeline/node/host.js";
import type { ResolvedPipeline } from "../src/pipeline/orchestration.js";
import { median, table } from "./util.js";

const root = fileURLToPath(new URL("../", import.meta.url));

const PARAGRAPH = `The lighthouse on Gull Rock was built in 1874, and for 112 years a keeper climbed its 97 steps every evening.
Dr. Margaret Hale, who kept the light from 1951 to 1986, wrote that the lamp burned 3.5 litres of oil a night.
On Jan. 14th, 1962, a storm pushed waves over the gallery, 40 metres above the sea; she kept the lamp lit until dawn.
Today the tower is automatic, but visitors still climb the stairs, read her log, and look out at the 12 miles of coast she watched.`;
const TEXT = Array(6).fill(PARAGRAPH).join("\n\n");

const MP3_CR = `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "normalize"\n[[nodes]]\nplugin = "speak"\n[[nodes]]\nplugin = "mp3"\noptions = { bitrate = 64 }\n`;
const WAV_CR = `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "normalize"\n[[nodes]]\nplugin = "speak"\n`;

/** Seconds of audio in a WAV stream from the speak plugin (44-byte header, 16-bit mono, 22 050 Hz). */
const wavSeconds = (bytes: number) => (bytes - 44) / (2 * 22050);

async function textToMp3(host: PipelineHost, pipeline: ResolvedPipeline): Promise<{ totalMs: number; firstMs: number; bytes: number }> {
  const t0 = performance.now();
  const run = host.run(pipeline, TEXT);
  let firstMs = 0;
  let bytes = 0;
  for await (const c of iterateStream(run.output)) {
    if (!firstMs) firstMs = performance.now() - t0;
    bytes += c.length;
  }
  await run.done;
  return { totalMs: performance.now() - t0, firstMs, bytes };
}

/** The same work without a pipeline: eSpeak NG on the whole text once, then LAME, in this process. */
async function monolith(espeakModule: WebAssembly.Module, lameWasm: Uint8Array): Promise<{ totalMs: number; bytes: number }> {
  const t0 = performance.now();
  const es = await ESpeakNg({
    arguments: ["-v", "en-us", "-s", "175", "-w", "/out.wav", "-f", "/in.txt"],
    preRun: [(m) => m.FS.writeFile("/in.txt", TEXT)],
    instantiateWasm(imports, receive) {
      void WebAssembly.instantiate(espeakModule, imports).then((i) => receive(i));
      return {};
    },
    print: () => {},
    printErr: () => {},
  });
  const wav = es.FS.readFile("/out.wav");
  const pcm = new DataView(wav.buffer, wav.byteOffset + 44, wav.byteLength - 44);
  const samples = new Float32Array(pcm.byteLength / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = pcm.getInt16(i * 2, true) / 32768;
  const enc = await createEncoder("audio/mpeg", lameWasm);
  enc.configure({ sampleRate: 22050, channels: 1, bitrate: 64 });
  let bytes = enc.encode([samples]).length;
  bytes += enc.finalize().length;
  return { totalMs: performance.now() - t0, bytes };
}

/**
 * Three echo plugins connected by kernel pipes (`sh -c "a | b | c"`): the bytes between them never
 * touch the host, which only writes the input and reads the output.
 */
async function directPipes(entry: string, frames: number, size: number): Promise<{ ms: number; cpuUs: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const node = JSON.stringify(process.execPath);
  const stage = `${node} ${JSON.stringify(entry)}`;
  const sh = spawn("sh", ["-c", `${stage} | FAULT_NO_HANDSHAKE=1 ${stage} | FAULT_NO_HANDSHAKE=1 ${stage}`], { stdio: ["pipe", "pipe", "inherit"] });
  const done = (async () => {
    let n = 0;
    for await (const c of sh.stdout) n += (c as Buffer).length;
    return n;
  })();
  const stdin = sh.stdin;
  const write = (b: Uint8Array) => new Promise<void>((r) => (stdin.write(b) ? r() : stdin.once("drain", () => r())));
  await write(encodeFrame(encodeHandshake({ protocol: PROTOCOL_VERSION, input_type: "application/octet-stream", output_type: "application/octet-stream", config: { mode: "ok", delay_ms: 0 }, max_frame: size })));
  const frame = encodeFrame(new Uint8Array(size).fill(42));
  for (let i = 0; i < frames; i++) await write(frame);
  await write(END_FRAME);
  stdin.end();
  const n = await done;
  if (n !== frames * (size + 4) + 4) throw new Error(`direct pipes lost bytes: ${n}`);
  await new Promise((r) => (sh.exitCode !== null ? r(null) : sh.once("exit", r)));
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuUs: c.user + c.system };
}

async function viaExecutor(host: PipelineHost, pipeline: ResolvedPipeline, frames: number, size: number): Promise<{ ms: number; cpuUs: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  async function* input() {
    const chunk = new Uint8Array(size).fill(42);
    for (let i = 0; i < frames; i++) yield chunk;
  }
  const run = host.run(pipeline, input());
  let n = 0;
  for await (const c of iterateStream(run.output)) n += c.length;
  await run.done;
  if (n !== frames * size) throw new Error(`executor lost bytes: ${n}`);
  const c = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuUs: c.user + c.system };
}

export default async function (): Promise<void> {
  const host = await PipelineHost.open({ pluginDirs: [join(root, "plugins")], cacheFile: null, verify: false, timeoutMs: 120_000 });
  const mp3 = await host.prepare(MP3_CR);
  const wav = await host.prepare(WAV_CR);
  // Audio length of the text, from the WAV stream (its byte count).
  let wavBytes = 0;
  const wr = host.run(wav, TEXT);
  for await (const c of iterateStream(wr.output)) wavBytes += c.length;
  await wr.done;
  const audio = wavSeconds(wavBytes);
  const espeakModule = await WebAssembly.compile(await readFile(join(root, "node_modules/espeak-ng/dist/espeak-ng.wasm")));
  const lameWasm = new Uint8Array(await readFile(fileURLToPath(import.meta.resolve("wasm-media-encoders/wasm/mp3"))));

  const RUNS = 5;
  const ours: Array<{ totalMs: number; firstMs: number }> = [];
  const peer: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await textToMp3(host, mp3));
    peer.push((await monolith(espeakModule, lameWasm)).totalMs);
  }
  const oursMs = median(ours.map((r) => r.totalMs));
  const firstMs = median(ours.map((r) => r.firstMs));
  const peerMs = median(peer);
  console.log(`Text → MP3: ${TEXT.length} characters, ${audio.toFixed(1)} s of speech, ${RUNS} runs, medians.\n`);
  table(
    ["", "pipeline (normalize → speak → mp3, 3 plugins)", "monolith (eSpeak NG + LAME in one process)", "pipeline / monolith"],
    [
      ["wall time", `${oursMs.toFixed(0)} ms`, `${peerMs.toFixed(0)} ms`, (oursMs / peerMs).toFixed(2)],
      ["real-time factor (s of audio per s)", `${(audio / (oursMs / 1000)).toFixed(1)}×`, `${(audio / (peerMs / 1000)).toFixed(1)}×`, (peerMs / oursMs).toFixed(2)],
      ["time to first output byte", `${firstMs.toFixed(0)} ms`, `${peerMs.toFixed(0)} ms (batch)`, (firstMs / peerMs).toFixed(2)],
    ],
  );
  // The test fixture `fault` plugin in its default mode echoes every frame back.
  const fixtures = join(root, "test/pipeline/fixtures/plugins");
  const ECHO3 = `[input]\ntype = "application/octet-stream"\n[[nodes]]\nid = "a"\nplugin = "fault"\n[[nodes]]\nid = "b"\nplugin = "fault"\n[[nodes]]\nid = "c"\nplugin = "fault"\n`;
  const entry = join(fixtures, "fault/fault.mjs");
  console.log("\nExecutor overhead: 3 pass-through plugins (Node processes), the executor vs kernel pipes between them (`sh -c \"a | b | c\"`).");
  console.log("Host CPU is this process's user+system time: with the executor it frames, parses and copies every frame at every stage;");
  console.log("with kernel pipes it only writes the input and reads the output.\n");
  const rows: string[][] = [];
  for (const [frames, size] of [
    [20_000, 1024],
    [2_000, 16 * 1024],
    [200, 256 * 1024],
  ] as const) {
    const h = await PipelineHost.open({ pluginDirs: [fixtures], verify: false, cacheFile: null, maxFrame: size });
    const echo3 = await h.prepare(ECHO3);
    const e: Array<{ ms: number; cpuUs: number }> = [];
    const d: Array<{ ms: number; cpuUs: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      e.push(await viaExecutor(h, echo3, frames, size));
      d.push(await directPipes(entry, frames, size));
    }
    const em = median(e.map((x) => x.ms));
    const dm = median(d.map((x) => x.ms));
    const ec = median(e.map((x) => x.cpuUs));
    const dc = median(d.map((x) => x.cpuUs));
    rows.push([`${frames} × ${size / 1024} KiB`, `${em.toFixed(0)} ms`, `${dm.toFixed(0)} ms`, (em / dm).toFixed(2), `${(ec / 1000).toFixed(0)} ms`, `${(dc / 1000).toFixed(0)} ms`, `${((ec - dc) / frames / 3).toFixed(1)} µs`]);
  }
  table(["frames × size", "wall: executor", "wall: kernel pipes", "executor / pipes", "host CPU: executor", "host CPU: pipes", "host CPU per frame per stage"], rows);
}

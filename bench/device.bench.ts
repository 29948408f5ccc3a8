/**
 * Device links (issue 11, `npm run bench -- device`): CLASP over a serial line, a socat
 * pseudo-terminal pair, at 115,200 and 921,600 baud. A client (ClaspClient over
 * SerialTransport) SETs a param on a device at the other end, and each SET is acknowledged.
 * Two devices: a MiniRouter in Node (bench/device-peer.ts, in its own process) and the real
 * one, `build/clawft.p1.wasm router` in WAMR's fast interpreter with the pty as its stdin and
 * stdout (skipped with the reason when the WAMR host is not built):
 *   1. saturation: acknowledged SETs/s with 32 in flight;
 *   2. latency: p50/p99 of SET → ACK, one at a time.
 * Next to them, the line's own limit at that speed: 8N1 takes 10 bits per byte, so a line
 * carries baud/10 bytes/s; frames/s = that ÷ the SLIP-framed frame size (the larger of SET and
 * ACK, which travel on opposite wires), and the round trip cannot beat both frames' time on
 * the wire. A pty applies no baud timing, so the measured numbers show what our side costs
 * (codec, SLIP, serialport, router); a real line at that speed caps them at the limit.
 * Rounds alternate between the speeds; medians are reported.
 *
 * Then the router step alone, what a device pays for its runtime: `clawft.p1.wasm router`,
 * the same bytes, in WAMR's interpreter and in Node (node:wasi, test/helpers/node-wasi-process.mjs),
 * each fed the same SLIP input on a pipe — HELLO, SUBSCRIBE /**, then STEPS SETs over 64
 * params — one step being one SET frame in, decoded and routed, the param saved to
 * $CLAWFT_HOME/state/, its ACK and its fan-out SET written out. A run without the SETs is
 * timed next to each run with them, so step = (run − empty run) ÷ STEPS without the start-up;
 * the empty run is the start-up. Rounds alternate between the hosts; medians are reported.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ClaspClient } from "../src/clasp/client.js";
import { codec, encode, type Message } from "../src/clasp/index.js";
import { SerialTransport } from "../src/transports/serial.js";
import { fmt, median, table } from "./util.js";
import { wamrCommand, wamrUnavailable } from "../test/helpers/wamr.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLAWFT = join(ROOT, "build/clawft.p1.wasm");
const NODE_WASI = join(ROOT, "test/helpers/node-wasi-process.mjs");
const BAUDS = [115_200, 921_600];
const WINDOW = 32;
const ROUNDS = 3;
const SAT_MS = 2000;
const LAT_MS = 2000;
const WARM = 200;
const STEPS = 5000;
const STEP_ROUNDS = 7;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The device on the line's far end: a MiniRouter in Node, or clawft.wasm router in WAMR. */
type Device = "node" | "wamr";
const DEVICE_NAMES: Record<Device, string> = { node: "MiniRouter (Node)", wamr: "clawft.p1.wasm router (WAMR)" };

/** A socat pty pair and the device process on its far end. */
interface Line {
  dir: string;
  socat: ChildProcess;
  device: ChildProcess;
  a: string;
}

async function openLine(kind: Device): Promise<Line> {
  const dir = await mkdtemp(join(tmpdir(), "clawft-bench-pty-"));
  const a = join(dir, "a");
  const b = join(dir, "b");
  const socat = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: "ignore" });
  while (!existsSync(a) || !existsSync(b)) await sleep(5);
  if (kind === "wamr") {
    // The terminal itself as the router's stdin and stdout; its home inside the line's folder.
    const [program, argv] = wamrCommand(CLAWFT, ["router"], { dirs: [dir], env: { CLAWFT_HOME: dir } });
    const fd = openSync(b, "r+");
    const device = spawn(program, argv, { stdio: [fd, fd, "ignore"] });
    closeSync(fd);
    return { dir, socat, device, a };
  }
  const device = spawn(process.execPath, ["--import", "tsx", "bench/device-peer.ts", b], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    device.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && resolve());
    device.on("exit", (code) => reject(new Error(`device exited with ${code}`)));
  });
  return { dir, socat, device, a };
}

async function closeLine(l: Line): Promise<void> {
  const gone = (p: ChildProcess) => new Promise((r) => (p.exitCode !== null ? r(null) : p.once("exit", r)));
  l.device.kill("SIGTERM");
  await gone(l.device);
  l.socat.kill("SIGTERM");
  await gone(l.socat);
  await rm(l.dir, { recursive: true, force: true });
}

/** Acknowledged SETs/s with WINDOW in flight for SAT_MS. */
async function saturate(client: ClaspClient): Promise<number> {
  let done = 0;
  let stop = false;
  const worker = async (k: number) => {
    for (let i = 0; !stop; i++) {
      await client.set(`/bench/${k}`, i);
      done++;
    }
  };
  const t0 = performance.now();
  const workers = Array.from({ length: WINDOW }, (_, k) => worker(k));
  await sleep(SAT_MS);
  const rate = (done * 1000) / (performance.now() - t0);
  stop = true;
  await Promise.all(workers);
  return rate;
}

/** p50 and p99 of SET → ACK, ms, one at a time for LAT_MS. */
async function latency(client: ClaspClient): Promise<{ p50: number; p99: number }> {
  const lat: number[] = [];
  const end = performance.now() + LAT_MS;
  for (let i = 0; performance.now() < end; i++) {
    const t0 = performance.now();
    await client.set("/bench/latency", i);
    lat.push(performance.now() - t0);
  }
  lat.sort((x, y) => x - y);
  return { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]! };
}

async function round(kind: Device, baud: number): Promise<{ rate: number; p50: number; p99: number }> {
  const line = await openLine(kind);
  const client = await ClaspClient.connect(new SerialTransport({ path: line.a, baudRate: baud }), { name: "bench", requestTimeoutMs: 10_000 });
  try {
    for (let i = 0; i < WARM; i++) await client.set("/bench/warm", i);
    const rate = await saturate(client);
    const { p50, p99 } = await latency(client);
    return { rate, p50, p99 };
  } finally {
    client.close();
    await closeLine(line);
  }
}

/** SLIP input of one router-step run: HELLO, SUBSCRIBE /**, then `steps` SETs over 64 params. */
function stepInput(steps: number): Buffer {
  const messages: Message[] = [
    { type: "HELLO", version: 1, name: "bench", features: ["param"] },
    { type: "SUBSCRIBE", id: 1, pattern: "/**" },
  ];
  for (let i = 0; i < steps; i++) messages.push({ type: "SET", address: `/bench/${i % 64}`, value: i });
  return Buffer.concat(codec.encodeBatch(messages, { framing: "slip" }));
}

/**
 * Runs `clawft.p1.wasm router` on `host` in a fresh home with `input` on its stdin; returns
 * the wall time, spawn to exit, in ms.
 * @throws when it fails or did not answer every SET with an ACK and its fan-out
 */
async function routerRun(host: Device, input: Buffer, steps: number): Promise<number> {
  const home = await mkdtemp(join(tmpdir(), "clawft-bench-step-"));
  const [program, argv] =
    host === "wamr"
      ? wamrCommand(CLAWFT, ["router"], { dirs: [home], env: { CLAWFT_HOME: home } })
      : [process.execPath, ["--no-turbo-fast-api-calls", "--no-warnings", NODE_WASI, CLAWFT, home, "router"]];
  try {
    const t0 = performance.now();
    const child = spawn(program, argv, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (d: Buffer) => (stderr += d));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on("error", reject);
      child.on("close", resolve);
      child.stdin!.end(input);
    });
    const ms = performance.now() - t0;
    const summary = /frames in (\d+), out (\d+), dropped 0 /.exec(stderr);
    if (code !== 0 || !summary || Number(summary[1]) !== steps + 2 || Number(summary[2]) !== 2 * steps + 2) {
      throw new Error(`clawft.p1.wasm router in ${host} (exit ${code}): ${stderr.trim()}`);
    }
    return ms;
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** The router step in WAMR's interpreter against Node: per-step µs, start-up ms, medians over rounds. */
async function routerStep(): Promise<void> {
  const full = stepInput(STEPS);
  const empty = stepInput(0);
  const hosts: Device[] = ["node", "wamr"];
  const stepUs = new Map<Device, number[]>(hosts.map((h) => [h, []]));
  const startMs = new Map<Device, number[]>(hosts.map((h) => [h, []]));
  const ratios: number[] = [];
  for (const h of hosts) await routerRun(h, full, STEPS); // warm-up: the file cache, V8's code cache
  for (let r = 0; r < STEP_ROUNDS; r++) {
    const step: Partial<Record<Device, number>> = {};
    for (const h of hosts) {
      const t0 = await routerRun(h, empty, 0);
      const tn = await routerRun(h, full, STEPS);
      step[h] = ((tn - t0) * 1000) / STEPS;
      stepUs.get(h)!.push(step[h]!);
      startMs.get(h)!.push(t0);
    }
    ratios.push(step.wamr! / step.node!);
  }
  console.log(
    `\nThe router step (one SET frame in; routed, saved to state/; its ACK and fan-out SET out) in clawft.p1.wasm router, ` +
      `${STEPS} steps per run, fed on a pipe; median of ${STEP_ROUNDS} rounds. Start-up: the run with no SETs, spawn to exit.\n`,
  );
  table(
    ["host", "router step, µs", "steps/s", "start-up, ms"],
    hosts.map((h) => [h === "wamr" ? "WAMR fast interpreter" : "Node node:wasi (V8)", fmt(median(stepUs.get(h)!), 1), fmt(1e6 / median(stepUs.get(h)!)), fmt(median(startMs.get(h)!), 1)]),
  );
  console.log(`\nWAMR ÷ Node, router step: ${fmt(median(ratios), 1)}× (median of per-round ratios)`);
}

export default async function (): Promise<void> {
  const noSocat = spawnSync("socat", ["-V"], { stdio: "ignore" }).error ? "skipped: socat not installed (Debian package socat)" : undefined;
  const noWamr = await wamrUnavailable();
  if (noSocat) console.log(noSocat);
  else await overPty(noWamr ? ["node"] : ["node", "wamr"]);
  if (noWamr) console.log(`WAMR device and router step ${noWamr}`);
  else await routerStep();
}

/** SET → ACK over the pty, each device at each speed, against the line's limit. */
async function overPty(devices: Device[]): Promise<void> {
  // The frames on the wire: a SET of an f64 and its ACK with a revision, SLIP-framed.
  const set = codec.wrapFrame(encode({ type: "SET", address: "/bench/7", value: 12345 }), "slip").length;
  const ack = codec.wrapFrame(encode({ type: "ACK", address: "/bench/7", revision: 12345 }), "slip").length;
  const cases = devices.flatMap((kind) => BAUDS.map((baud) => ({ kind, baud, rs: [] as Array<{ rate: number; p50: number; p99: number }> })));
  for (let r = 0; r < ROUNDS; r++) for (const c of cases) c.rs.push(await round(c.kind, c.baud));
  const rows = cases.map(({ kind, baud, rs }) => {
    const limit = baud / 10 / Math.max(set, ack);
    const floor = ((set + ack) * 10 * 1000) / baud;
    const rate = median(rs.map((x) => x.rate));
    return [
      DEVICE_NAMES[kind],
      fmt(baud),
      fmt(limit),
      fmt(rate),
      `${fmt(rate / limit, 1)}×`,
      fmt(floor, 2),
      fmt(median(rs.map((x) => x.p50)), 2),
      fmt(median(rs.map((x) => x.p99)), 2),
    ];
  });
  console.log(`SET ${set} B and ACK ${ack} B on the wire (SLIP); ${WINDOW} SETs in flight for saturation; median of ${ROUNDS} rounds.\n`);
  table(["device", "baud", "line limit, frames/s", "pty, acked SETs/s", "pty ÷ limit", "line RTT floor, ms", "pty RTT p50, ms", "pty RTT p99, ms"], rows);
}

/**
 * Device links (issue 11, `npm run bench -- device`): CLASP over a serial line, a socat
 * pseudo-terminal pair, at 115,200 and 921,600 baud. A client (ClaspClient over
 * SerialTransport) SETs a param on a device that runs a MiniRouter on the other end
 * (bench/device-peer.ts, in its own process, as `clawft.wasm router` runs on a device), and
 * each SET is acknowledged:
 *   1. saturation: acknowledged SETs/s with 32 in flight;
 *   2. latency: p50/p99 of SET → ACK, one at a time.
 * Next to them, the line's own limit at that speed: 8N1 takes 10 bits per byte, so a line
 * carries baud/10 bytes/s; frames/s = that ÷ the SLIP-framed frame size (the larger of SET and
 * ACK, which travel on opposite wires), and the round trip cannot beat both frames' time on
 * the wire. A pty applies no baud timing, so the measured numbers show what our side costs
 * (codec, SLIP, serialport, router); a real line at that speed caps them at the limit.
 * Rounds alternate between the speeds; medians are reported.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ClaspClient } from "../src/clasp/client.js";
import { codec, encode } from "../src/clasp/index.js";
import { SerialTransport } from "../src/transports/serial.js";
import { fmt, median, table } from "./util.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const BAUDS = [115_200, 921_600];
const WINDOW = 32;
const ROUNDS = 3;
const SAT_MS = 2000;
const LAT_MS = 2000;
const WARM = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A socat pty pair and the device process on its far end. */
interface Line {
  dir: string;
  socat: ChildProcess;
  device: ChildProcess;
  a: string;
}

async function openLine(): Promise<Line> {
  const dir = await mkdtemp(join(tmpdir(), "clawft-bench-pty-"));
  const a = join(dir, "a");
  const b = join(dir, "b");
  const socat = spawn("socat", [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: "ignore" });
  while (!existsSync(a) || !existsSync(b)) await sleep(5);
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

async function round(baud: number): Promise<{ rate: number; p50: number; p99: number }> {
  const line = await openLine();
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

export default async function (): Promise<void> {
  if (spawnSync("socat", ["-V"], { stdio: "ignore" }).error) {
    console.log("skipped: socat not installed (Debian package socat)");
    return;
  }
  // The frames on the wire: a SET of an f64 and its ACK with a revision, SLIP-framed.
  const set = codec.wrapFrame(encode({ type: "SET", address: "/bench/7", value: 12345 }), "slip").length;
  const ack = codec.wrapFrame(encode({ type: "ACK", address: "/bench/7", revision: 12345 }), "slip").length;
  const results = new Map<number, Array<{ rate: number; p50: number; p99: number }>>(BAUDS.map((b) => [b, []]));
  for (let r = 0; r < ROUNDS; r++) for (const baud of BAUDS) results.get(baud)!.push(await round(baud));
  const rows = BAUDS.map((baud) => {
    const rs = results.get(baud)!;
    const limit = baud / 10 / Math.max(set, ack);
    const floor = ((set + ack) * 10 * 1000) / baud;
    const rate = median(rs.map((x) => x.rate));
    return [
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
  table(["baud", "line limit, frames/s", "pty, acked SETs/s", "pty ÷ limit", "line RTT floor, ms", "pty RTT p50, ms", "pty RTT p99, ms"], rows);
}

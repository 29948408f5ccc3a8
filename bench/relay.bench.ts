/**
 * Relay end to end on loopback: 50 WebSocket clients all subscribed to `/bench/**`, 5 of them
 * publishing events; every message goes to the 49 others. Measured side by side with two
 * broadcast servers on the same `ws` library that do no routing (bench/relay-peer.ts): one
 * socket write per frame, and with the relay's write batching (the transport's limit). Each
 * server runs in its own process, with the same clients and the same frames:
 *   1. saturation: delivered messages/s with a bounded number of messages in flight;
 *   2. latency: p50/p99 from publish to delivery at fixed rates, half and a tenth of the
 *      batched broadcast's saturation throughput (the limit).
 * Rounds alternate between the servers; medians are reported. Then the rows of
 * bench/relay-load.ts: single-hop latency (against the forwarder and mosquitto), RSS per idle
 * session, and SUBSCRIBE maxRate.
 *
 * `npm run bench -- relay --rows single,idle,maxrate,fanout` picks rows (default: all).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { cpus } from "node:os";
import { relative } from "node:path";
import WebSocket from "ws";
import { codec } from "../src/clasp/index.js";
import { idleSessions, maxRate, singleHop } from "./relay-load.js";
import { claspSocket, fmt, median, saturate, table } from "./util.js";
import { barPlot } from "./plot.js";

const ROWS = ["fanout", "single", "idle", "maxrate"] as const;

/** The rows asked for with `--rows a,b` (all by default). @throws for an unknown row */
function rowsWanted(): Set<string> {
  const i = process.argv.indexOf("--rows");
  if (i < 0) return new Set(ROWS);
  const wanted = (process.argv[i + 1] ?? "").split(",").filter(Boolean);
  const unknown = wanted.filter((r) => !(ROWS as readonly string[]).includes(r));
  if (unknown.length || wanted.length === 0) throw new Error(`--rows takes ${ROWS.join(",")}; got ${JSON.stringify(process.argv[i + 1] ?? "")}`);
  return new Set(wanted);
}

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLIENTS = 50;
const PUBLISHERS = 5;
const WINDOW = 64; // messages in flight during saturation
const ROUNDS = 3;
const SAT_MS = 2500;
const LAT_MS = 2500;
const WARM_MS = 500;

type Mode = "relay" | "broadcast" | "broadcast-batched";
const MODES: Mode[] = ["broadcast", "broadcast-batched", "relay"];
const LABEL: Record<Mode, string> = {
  broadcast: "ws broadcast, no routing, a write per frame",
  "broadcast-batched": "ws broadcast, no routing, batched writes (limit)",
  relay: "clawft relay (MiniRouter, batched writes)",
};

interface Server {
  proc: ChildProcess;
  url: string;
}

async function startServer(mode: Mode): Promise<Server> {
  const proc = spawn(process.execPath, ["--import", "tsx", "bench/relay-peer.ts", mode], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      const m = /port (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  return { proc, url: `ws://127.0.0.1:${port}/` };
}

async function stopServer(s: Server): Promise<void> {
  await new Promise<void>((resolve) => {
    s.proc.once("exit", () => resolve());
    s.proc.kill("SIGTERM");
  });
}

/** The frame every publisher sends: PUBLISH event /bench/x with an f64 send time (its last 8 bytes). */
const TEMPLATE = codec.encode({ type: "PUBLISH", address: "/bench/x", signal: "event", value: 0.5 });

interface Clients {
  sockets: WebSocket[];
  delivered: number;
  /** Latencies (ms) of deliveries while recording. */
  lat: Float64Array;
  nLat: number;
  recording: boolean;
  onDelivery: (() => void) | undefined;
}

async function connectClients(url: string, mode: Mode): Promise<Clients> {
  const c: Clients = { sockets: [], delivered: 0, lat: new Float64Array(1 << 23), nLat: 0, recording: false, onDelivery: undefined };
  let checked = false;
  await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      // The relay gets HELLO and SUBSCRIBE; the broadcast servers send everything to everyone.
      const ws = await claspSocket(url, mode === "relay" ? { features: ["event"], subscribe: { type: "SUBSCRIBE", id: 1, pattern: "/bench/**" } } : undefined);
      ws.on("message", (data: Buffer) => {
        if (data[4] !== 0x20) return; // PUBLISH only
        if (!checked) {
          // What arrives must carry the send time as its last 8 bytes, as sent.
          checked = true;
          if ((codec.decode(new Uint8Array(data)).message as { value?: unknown }).value !== data.readDoubleBE(data.length - 8)) {
            throw new Error(`${mode}: the delivered frame's layout differs from the sent one`);
          }
        }
        c.delivered++;
        if (c.recording && c.nLat < c.lat.length) c.lat[c.nLat++] = performance.now() - data.readDoubleBE(data.length - 8);
        c.onDelivery?.();
      });
      c.sockets.push(ws);
    }),
  );
  return c;
}

function publish(c: Clients, i: number): void {
  const frame = Buffer.from(TEMPLATE);
  frame.writeDoubleBE(performance.now(), frame.length - 8);
  c.sockets[i % PUBLISHERS]!.send(frame);
}

/** Saturation: keeps WINDOW messages in flight; returns delivered messages per second. */
async function saturation(c: Clients): Promise<number> {
  const { rate, sent } = await saturate(c, (i) => publish(c, i), { fanout: CLIENTS - 1, window: WINDOW, warmMs: WARM_MS, runMs: SAT_MS });
  await settle(c, sent);
  return rate;
}

/** Waits until every message sent so far was delivered (or 5 s). */
async function settle(c: Clients, sent: number): Promise<void> {
  const end = Date.now() + 5000;
  while (c.delivered < sent * (CLIENTS - 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  c.delivered = 0;
}

/** Fixed rate (deliveries/s): returns p50 and p99 latency in ms and the delivered rate. */
async function latency(c: Clients, deliveriesPerSecond: number): Promise<{ p50: number; p99: number; rate: number }> {
  const perMs = deliveriesPerSecond / (CLIENTS - 1) / 1000;
  let sent = 0;
  const start = performance.now();
  let warmDone = false;
  let d0 = 0;
  let t0 = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.floor((now - start) * perMs);
      while (sent < due) publish(c, sent++);
      if (!warmDone && now - start > WARM_MS) {
        warmDone = true;
        c.nLat = 0;
        c.recording = true;
        d0 = c.delivered;
        t0 = now;
      }
      if (now - start > WARM_MS + LAT_MS) return resolve();
      setTimeout(tick, 1); // ~1 ms steps: the clients' sockets get the rest of this process
    };
    tick();
  });
  c.recording = false;
  const rate = ((c.delivered - d0) * 1000) / (performance.now() - t0);
  await settle(c, sent);
  const lat = c.lat.slice(0, c.nLat).sort();
  return { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]!, rate };
}

async function round<T>(mode: Mode, fn: (c: Clients) => Promise<T>): Promise<T> {
  const server = await startServer(mode);
  const c = await connectClients(server.url, mode);
  try {
    return await fn(c);
  } finally {
    for (const ws of c.sockets) ws.terminate();
    await stopServer(server);
  }
}

export default async function (): Promise<void> {
  const rows = rowsWanted();
  if (rows.has("fanout")) await fanout();
  if (rows.has("single")) await singleHop();
  if (rows.has("idle")) await idleSessions();
  if (rows.has("maxrate")) await maxRate();
}

/** Fan-out to 50 clients: saturation and latency at fixed loads (the module's first rows). */
async function fanout(): Promise<void> {
  // The template's value must be its last 8 bytes (the relay forwards the PUBLISH as is).
  const probe = Buffer.from(TEMPLATE);
  probe.writeDoubleBE(1234.5, probe.length - 8);
  if ((codec.decode(probe).message as { value?: unknown }).value !== 1234.5) throw new Error("bench frame layout changed");

  const sat: Record<Mode, number[]> = { relay: [], broadcast: [], "broadcast-batched": [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of MODES) sat[mode].push(await round(mode, saturation));
  }
  const limit = median(sat["broadcast-batched"]);
  // Latency at fixed rates: half the limit (the goal's load) and a tenth of it. The
  // write-per-frame broadcast saturates far below half the limit, so it is left out.
  const LOADS = [0.5, 0.1];
  const LAT_MODES: Mode[] = ["broadcast-batched", "relay"];
  type Lat = { p50: number; p99: number; rate: number };
  const lat = new Map<string, Lat[]>();
  for (let r = 0; r < ROUNDS; r++) {
    for (const load of LOADS) {
      for (const mode of LAT_MODES) {
        const key = `${mode} ${load}`;
        lat.set(key, [...(lat.get(key) ?? []), await round(mode, (c) => latency(c, limit * load))]);
      }
    }
  }
  console.log(
    `${CLIENTS} clients subscribed to /bench/**, ${PUBLISHERS} publishing events (each to ${CLIENTS - 1} others); ` +
      `${ROUNDS} alternating rounds per server, medians. Saturation keeps ${WINDOW} messages in flight. ` +
      `The clients share one process. Machine shared with other work: expect noise.\n`,
  );
  table(
    ["server", "delivered msg/s (saturation)", "ratio to the limit"],
    MODES.map((mode) => [LABEL[mode], fmt(median(sat[mode])), `${((median(sat[mode]) / limit) * 100).toFixed(0)}%`]),
  );
  console.log(`\nper-round saturation (msg/s): ${MODES.map((m) => `${m} ${sat[m].map((x) => fmt(x)).join(", ")}`).join("; ")}\n`);
  const rows: string[][] = [];
  for (const load of LOADS) {
    for (const mode of LAT_MODES) {
      const xs = lat.get(`${mode} ${load}`)!;
      const m = (k: keyof Lat) => median(xs.map((x) => x[k]));
      rows.push([LABEL[mode], `${load * 100}% of the limit`, fmt(m("rate")), fmt(m("p50"), 2), fmt(m("p99"), 2)]);
    }
  }
  table(["server", "offered load", "delivered msg/s", "p50 latency (ms)", "p99 latency (ms)"], rows);

  const subtitle = `${CLIENTS} clients, ${PUBLISHERS} publishing; medians of ${ROUNDS} rounds; ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`;
  const throughput = await barPlot(
    "relay-throughput",
    MODES.map((mode) => ({ group: "saturation", series: LABEL[mode], value: median(sat[mode]) })),
    { title: "Relay fan-out: delivered messages/s", value: "delivered msg/s", subtitle },
  );
  const latencyPlot = await barPlot(
    "relay-latency",
    LOADS.flatMap((load) =>
      LAT_MODES.flatMap((mode) => {
        const xs = lat.get(`${mode} ${load}`)!;
        return (["p50", "p99"] as const).map((k) => ({ group: `${k}, ${load * 100}% load`, series: LABEL[mode], value: median(xs.map((x) => x[k])) }));
      }),
    ),
    { title: "Relay fan-out: publish-to-delivery latency", value: "latency (ms)", subtitle: [subtitle, "load: a share of the batched broadcast's saturation throughput"] },
  );
  console.log(`\nPlots: ${[throughput, latencyPlot].map((f) => relative(process.cwd(), f)).join(", ")}\n`);
}

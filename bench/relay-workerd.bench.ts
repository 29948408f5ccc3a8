/**
 * A CLASP room in workerd (ClaspRoom, workers/cloudflare.ts, one Durable Object) against the
 * Node relay (bench/relay-peer.ts `relay`) on the same machine: 20 WebSocket clients
 * subscribed to `/bench/**`, 4 of them publishing events, every message delivered to the 19
 * others. Both run the same wasm MiniRouter through the same RouterHost; what differs is the
 * runtime (workerd's isolate and its WebSocket stack, the Durable Object's single thread and
 * the Hibernation API's event per message) against Node with `ws` and write batching.
 *   1. saturation: delivered messages/s with a bounded number of messages in flight;
 *   2. latency: p50/p99 from publish to delivery at a fixed rate, half the room's saturation.
 * Rounds alternate between the servers; medians are reported. workerd runs with its storage in
 * a temp dir (events touch no storage). Started by `npm run bench -- relay` (or `relay-workerd`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { codec } from "../src/clasp/index.js";
import { WorkerdRoom, workerdMissing } from "../test/cloudflare/workerd.js";
import { claspSocket, fmt, median, saturate, table } from "./util.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** Clients connected to the server, each subscribed to `/bench/**`. */
export const CLIENTS = 20;
const PUBLISHERS = 4;
const WINDOW = 32; // messages in flight during saturation
const ROUNDS = 3;
const SAT_MS = 2500;
const LAT_MS = 2500;
const WARM_MS = 500;

type Mode = "node" | "workerd";
const MODES: Mode[] = ["node", "workerd"];
const LABEL: Record<Mode, string> = {
  node: "clawft relay (Node, ws, batched writes)",
  workerd: "ClaspRoom in workerd (Durable Object, hibernatable sockets)",
};

/** A server under test: where its clients connect, its process id, and how to stop it. */
export interface Server {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

/** Starts the Node relay (bench/relay-peer.ts `relay`) in a child process on a free port. */
export async function startNode(): Promise<Server> {
  const proc: ChildProcess = spawn(process.execPath, ["--import", "tsx", "bench/relay-peer.ts", "relay"], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => {
      const m = /port (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    proc.on("exit", (code) => reject(new Error(`relay exited with ${code}`)));
  });
  return {
    url: `ws://127.0.0.1:${port}/`,
    pid: proc.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once("exit", () => resolve());
        proc.kill("SIGTERM");
      }),
  };
}

/**
 * Starts workerd serving `entry` (relative to the repository; workers/cloudflare.ts by default)
 * with `args`, its storage in a temp dir; `url` is the room `bench`.
 */
export async function startWorkerd(args: string[] = [], entry?: string): Promise<Server> {
  const w = await WorkerdRoom.start({ bindings: [{ name: "CLASP_LIMITS", json: JSON.stringify({ max_sessions: 1000 }) }], args, ...(entry ? { entry } : {}) });
  return { url: w.url("bench"), pid: w.proc!.pid!, stop: () => w.close() };
}

/** The frame every publisher sends: PUBLISH event /bench/x with an f64 send time (its last 8 bytes). */
const TEMPLATE = codec.encode({ type: "PUBLISH", address: "/bench/x", signal: "event", value: 0.5 });

/** The bench's clients and what they counted. */
export interface Clients {
  sockets: WebSocket[];
  delivered: number;
  lat: number[];
  recording: boolean;
  onDelivery: (() => void) | undefined;
}

/** Connects {@link CLIENTS} clients to `url`, each with HELLO and SUBSCRIBE `/bench/**`, counting the PUBLISH frames they get. */
export async function connectClients(url: string): Promise<Clients> {
  const c: Clients = { sockets: [], delivered: 0, lat: [], recording: false, onDelivery: undefined };
  for (let i = 0; i < CLIENTS; i++) {
    const ws = await claspSocket(url, { features: ["event"], subscribe: { type: "SUBSCRIBE", id: 1, pattern: "/bench/**" } });
    ws.on("message", (data: Buffer) => {
      if (data[4] !== 0x20) return; // PUBLISH only
      c.delivered++;
      if (c.recording) c.lat.push(performance.now() - data.readDoubleBE(data.length - 8));
      c.onDelivery?.();
    });
    c.sockets.push(ws);
  }
  return c;
}

/** Client `i % PUBLISHERS` publishes the bench event, stamped with the send time. */
export function publish(c: Clients, i: number): void {
  const frame = Buffer.from(TEMPLATE);
  frame.writeDoubleBE(performance.now(), frame.length - 8);
  c.sockets[i % PUBLISHERS]!.send(frame);
}

/** Waits until every message sent so far was delivered (or 5 s). */
async function settle(c: Clients, sent: number): Promise<void> {
  const end = Date.now() + 5000;
  while (c.delivered < sent * (CLIENTS - 1) && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  c.delivered = 0;
}

/** Saturation: keeps WINDOW messages in flight; returns delivered messages per second. */
async function saturation(c: Clients): Promise<number> {
  const { rate, sent } = await saturate(c, (i) => publish(c, i), { fanout: CLIENTS - 1, window: WINDOW, warmMs: WARM_MS, runMs: SAT_MS });
  await settle(c, sent);
  return rate;
}

/** Fixed rate (deliveries/s): p50 and p99 latency in ms, and the delivered rate. */
async function latency(c: Clients, deliveriesPerSecond: number): Promise<{ p50: number; p99: number; rate: number }> {
  const perMs = deliveriesPerSecond / (CLIENTS - 1) / 1000;
  let sent = 0;
  const start = performance.now();
  let d0 = 0;
  let t0 = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.floor((now - start) * perMs);
      while (sent < due) publish(c, sent++);
      if (!c.recording && t0 === 0 && now - start > WARM_MS) {
        c.lat = [];
        c.recording = true;
        d0 = c.delivered;
        t0 = now;
      }
      if (now - start > WARM_MS + LAT_MS) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  c.recording = false;
  const rate = ((c.delivered - d0) * 1000) / (performance.now() - t0);
  await settle(c, sent);
  const lat = Float64Array.from(c.lat).sort();
  return { p50: lat[Math.floor(lat.length * 0.5)]!, p99: lat[Math.floor(lat.length * 0.99)]!, rate };
}

async function round<T>(mode: Mode, fn: (c: Clients) => Promise<T>): Promise<T> {
  const server = mode === "node" ? await startNode() : await startWorkerd();
  const c = await connectClients(server.url);
  try {
    return await fn(c);
  } finally {
    for (const ws of c.sockets) ws.terminate();
    await server.stop();
  }
}

export default async function (): Promise<void> {
  if (workerdMissing) {
    console.log(`relay-workerd ${workerdMissing}`);
    return;
  }
  const probe = Buffer.from(TEMPLATE);
  probe.writeDoubleBE(1234.5, probe.length - 8);
  if ((codec.decode(probe).message as { value?: unknown }).value !== 1234.5) throw new Error("bench frame layout changed");

  const sat: Record<Mode, number[]> = { node: [], workerd: [] };
  for (let r = 0; r < ROUNDS; r++) for (const mode of MODES) sat[mode].push(await round(mode, saturation));
  const load = median(sat.workerd) * 0.5;
  type Lat = { p50: number; p99: number; rate: number };
  const lat: Record<Mode, Lat[]> = { node: [], workerd: [] };
  for (let r = 0; r < ROUNDS; r++) for (const mode of MODES) lat[mode].push(await round(mode, (c) => latency(c, load)));

  console.log(
    `${CLIENTS} clients subscribed to /bench/**, ${PUBLISHERS} publishing events (each to ${CLIENTS - 1} others), one room; ` +
      `${ROUNDS} alternating rounds per server, medians. Saturation keeps ${WINDOW} messages in flight; latency at ` +
      `${fmt(load)} deliveries/s (half the room's saturation). The clients share one process. Machine shared with other work: expect noise.\n`,
  );
  const node = median(sat.node);
  table(
    ["server", "delivered msg/s (saturation)", "ratio to the Node relay"],
    MODES.map((mode) => [LABEL[mode], fmt(median(sat[mode])), `${(median(sat[mode]) / node).toFixed(2)}×`]),
  );
  console.log(`\nper-round saturation (msg/s): ${MODES.map((m) => `${m} ${sat[m].map((x) => fmt(x)).join(", ")}`).join("; ")}\n`);
  table(
    ["server", "delivered msg/s", "p50 latency (ms)", "p99 latency (ms)"],
    MODES.map((mode) => {
      const m = (k: keyof Lat) => median(lat[mode].map((x) => x[k]));
      return [LABEL[mode], fmt(m("rate")), fmt(m("p50"), 2), fmt(m("p99"), 2)];
    }),
  );
}

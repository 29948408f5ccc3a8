/**
 * The relay cluster (docs/relay.md §Cluster) on loopback: 1, 2 and 3 `clawft relay --cluster`
 * processes behind one redis-server (no persistence), against one standalone relay (the
 * peer: no Redis at all), with the same clients in the same run:
 *   1. PUBLISH saturation: 30 clients spread round-robin over the relays, all subscribed to
 *      `/bench/**`, 3 of them (on different relays when there are several) publishing events
 *      with 32 messages in flight; delivered messages/s.
 *   2. PUBLISH latency at a fixed 1,000 deliveries/s: p50/p99 publish → delivery, and the
 *      p50 of deliveries on the publisher's own relay and on another one: the difference is
 *      what a cross-relay hop (Redis PUBLISH, the other relay's router) costs.
 *   3. SET commits: 3 writers (one per relay), 8 SETs each in flight, confirm QoS: committed
 *      SETs/s, SET → ACK p50/p99, and the CPU time the relays and redis-server spent per
 *      committed SET (from /proc: what a SET costs, whatever share of the cores the scheduler
 *      gave them). In a cluster the SETs a relay receives in one event-loop turn are one Lua
 *      script run in Redis, pipelined behind the runs still in flight.
 * On a 2-core machine more relays add processes competing for the same cores: this shows the
 * overhead per hop, not how a cluster scales. Rounds alternate between the set-ups; medians.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { codec } from "../src/clasp/index.js";
import { freePort } from "../test/helpers/redis.js";
import { claspSocket, fmt, median, saturate, table } from "./util.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLIENTS = 30;
const PUBLISHERS = 3;
const WINDOW = 32;
const SET_WINDOW = 8;
const RATE = 1_000; // deliveries/s for the latency runs: a light load, far below every set-up's saturation
const ROUNDS = 3;
const RUN_MS = 2000;
const WARM_MS = 500;

interface Setup {
  label: string;
  relays: number;
  cluster: boolean;
}
const SETUPS: Setup[] = [
  { label: "standalone relay (no Redis; the peer)", relays: 1, cluster: false },
  { label: "cluster, 1 relay", relays: 1, cluster: true },
  { label: "cluster, 2 relays", relays: 2, cluster: true },
  { label: "cluster, 3 relays", relays: 3, cluster: true },
];

/** Clock ticks per second of /proc's CPU times. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) process `pid` has used so far, from /proc/<pid>/stat (fields 14 and 15); NaN where there is no /proc. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // the fields after the command name, from field 3
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return NaN;
  }
}

function spawnRelay(args: string[]): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ["--import", "tsx", "src/cli/index.ts", "relay", "--port", "0", "--no-web", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /clawft relay on (ws:\/\/\S+)/.exec(out);
      if (m) resolve({ proc, url: m[1]! });
    });
    proc.on("exit", (code) => reject(new Error(`relay exited with ${code}: ${out}`)));
  });
}

function stop(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill("SIGTERM");
  });
}

async function startRedis(): Promise<{ proc: ChildProcess; url: string }> {
  const port = await freePort();
  const proc = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on("data", (d: Buffer) => d.toString().includes("Ready to accept connections") && resolve());
    proc.on("exit", (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return { proc, url: `redis://127.0.0.1:${port}` };
}

/** PUBLISH event /bench/<relay> with an f64 send time as its last 8 bytes, per publishing relay. */
const TEMPLATES = [0, 1, 2].map((r) => codec.encode({ type: "PUBLISH", address: `/bench/${r}`, signal: "event", value: 0.5 }));
/** Offset of the relay digit in the templates' address. */
const DIGIT = Buffer.from(TEMPLATES[0]!).indexOf("/bench/0") + 7;

interface Clients {
  sockets: WebSocket[];
  /** Relay index of each socket. */
  relayOf: number[];
  delivered: number;
  lat: Float64Array;
  /** Whether each recorded latency was on the publisher's own relay. */
  local: Uint8Array;
  nLat: number;
  recording: boolean;
  onDelivery: (() => void) | undefined;
  /** Per writer: send times of its SETs awaiting ACK, in order. */
  pendingSets: number[][];
  acks: number;
  ackLat: number[];
  onAck: ((writer: number) => void) | undefined;
}

async function connect(urls: string[]): Promise<Clients> {
  const c: Clients = {
    sockets: [],
    relayOf: [],
    delivered: 0,
    lat: new Float64Array(1 << 22),
    local: new Uint8Array(1 << 22),
    nLat: 0,
    recording: false,
    onDelivery: undefined,
    pendingSets: [],
    acks: 0,
    ackLat: [],
    onAck: undefined,
  };
  for (let i = 0; i < CLIENTS; i++) {
    const relay = i % urls.length;
    const ws = await claspSocket(urls[relay]!, { features: ["event", "param"], subscribe: { type: "SUBSCRIBE", id: 1, pattern: "/bench/**", types: ["event"] } });
    const writer = i;
    c.pendingSets.push([]);
    ws.on("message", (data: Buffer) => {
      const type = data[4];
      if (type === 0x50) {
        // ACK of one of this client's SETs (in order per connection).
        const t = c.pendingSets[writer]!.shift();
        if (t !== undefined) {
          c.acks++;
          if (c.recording) c.ackLat.push(performance.now() - t);
          c.onAck?.(writer);
        }
        return;
      }
      if (type !== 0x20) return;
      c.delivered++;
      if (c.recording && c.nLat < c.lat.length) {
        c.local[c.nLat] = data[DIGIT]! - 0x30 === relay ? 1 : 0;
        c.lat[c.nLat++] = performance.now() - data.readDoubleBE(data.length - 8);
      }
      c.onDelivery?.();
    });
    c.sockets.push(ws);
    c.relayOf.push(relay);
  }
  // Every relay sees every subscription before anything is measured.
  await new Promise((r) => setTimeout(r, 200));
  return c;
}

/** Publisher p is client p: clients 0, 1, 2 sit on relays 0, 1, 2 (mod the relay count). */
function publish(c: Clients, n: number): void {
  const p = n % PUBLISHERS;
  const frame = Buffer.from(TEMPLATES[c.relayOf[p]!]!);
  frame.writeDoubleBE(performance.now(), frame.length - 8);
  c.sockets[p]!.send(frame);
}

/** Waits until `expected()` (everything sent so far arrived), at most 5 s. */
async function settle(expected: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!expected() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
}

/** Saturation: keeps WINDOW messages in flight; returns delivered messages per second. */
async function saturation(c: Clients): Promise<number> {
  c.delivered = 0;
  const fanout = CLIENTS - 1;
  const { rate, sent } = await saturate(c, (i) => publish(c, i), { fanout, window: WINDOW, warmMs: WARM_MS, runMs: RUN_MS });
  await settle(() => c.delivered >= sent * fanout);
  return rate;
}

type Lat = { p50: number; p99: number; local: number; cross: number };

async function latency(c: Clients): Promise<Lat> {
  const perMs = RATE / (CLIENTS - 1) / 1000;
  let sent = 0;
  c.delivered = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.floor((now - start) * perMs);
      while (sent < due) publish(c, sent++);
      if (!c.recording && now - start > WARM_MS) {
        c.nLat = 0;
        c.recording = true;
      }
      if (now - start > WARM_MS + RUN_MS) return resolve();
      setTimeout(tick, 1);
    };
    tick();
  });
  c.recording = false;
  await settle(() => c.delivered >= sent * (CLIENTS - 1));
  const all: number[] = [];
  const local: number[] = [];
  const cross: number[] = [];
  for (let i = 0; i < c.nLat; i++) {
    all.push(c.lat[i]!);
    (c.local[i] ? local : cross).push(c.lat[i]!);
  }
  all.sort((a, b) => a - b);
  return { p50: median(all), p99: all[Math.floor(all.length * 0.99)]!, local: median(local), cross: cross.length ? median(cross) : NaN };
}

/** SET commits: writers 0..2 keep SET_WINDOW confirm-QoS SETs in flight each; `pids` are the processes whose CPU time is counted per SET. */
async function sets(c: Clients, writers: number, pids: Array<number | undefined>): Promise<{ rate: number; p50: number; p99: number; cpuUs: number }> {
  const frames = Array.from({ length: writers }, (_, w) => Buffer.from(codec.encode({ type: "SET", address: `/bench/param/${w}`, value: 1 })) /* confirm QoS: ACKed */);
  const send = (w: number) => {
    c.pendingSets[w]!.push(performance.now());
    c.sockets[w]!.send(frames[w]!);
  };
  let running = true;
  c.acks = 0;
  c.ackLat = [];
  c.onAck = (w) => running && w < writers && send(w);
  for (let w = 0; w < writers; w++) for (let i = 0; i < SET_WINDOW; i++) send(w);
  await new Promise((r) => setTimeout(r, WARM_MS));
  c.recording = true;
  const cpu = (): number => pids.reduce<number>((sum, pid) => sum + cpuSeconds(pid), 0);
  const cpu0 = cpu();
  const a0 = c.acks;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, RUN_MS));
  const rate = ((c.acks - a0) * 1000) / (performance.now() - t0);
  const cpuUs = ((cpu() - cpu0) * 1e6) / (c.acks - a0);
  c.recording = false;
  running = false;
  await settle(() => c.pendingSets.every((p) => p.length === 0));
  c.onAck = undefined;
  const lat = c.ackLat.sort((a, b) => a - b);
  return { rate, p50: median(lat), p99: lat[Math.floor(lat.length * 0.99)]!, cpuUs };
}

export default async function (): Promise<void> {
  try {
    execFileSync("redis-server", ["--version"], { stdio: "ignore" });
  } catch {
    console.log("skipped: redis-server is not installed (Debian package redis-server)");
    return;
  }
  const probe = Buffer.from(TEMPLATES[2]!);
  probe.writeDoubleBE(1234.5, probe.length - 8);
  const m = codec.decode(probe).message as { value?: unknown; address?: string };
  if (m.value !== 1234.5 || m.address !== "/bench/2" || probe[DIGIT] !== 0x32) throw new Error("bench frame layout changed");

  const redis = await startRedis();
  type Result = { sat: number; lat: Lat; set: { rate: number; p50: number; p99: number; cpuUs: number } };
  const results = new Map<Setup, Result[]>(SETUPS.map((s) => [s, []]));
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const setup of SETUPS) {
        const relays = await Promise.all(Array.from({ length: setup.relays }, () => spawnRelay(setup.cluster ? ["--cluster", redis.url] : [])));
        const c = await connect(relays.map((x) => x.url));
        try {
          const sat = await saturation(c);
          const lat = await latency(c);
          const set = await sets(c, PUBLISHERS, [...relays.map((x) => x.proc.pid), ...(setup.cluster ? [redis.proc.pid] : [])]);
          results.get(setup)!.push({ sat, lat, set });
        } finally {
          for (const ws of c.sockets) ws.terminate();
          await Promise.all(relays.map((x) => stop(x.proc)));
        }
      }
    }
  } finally {
    await stop(redis.proc);
  }
  console.log(
    `${CLIENTS} clients spread round-robin over the relays, all subscribed to /bench/** (events); ${PUBLISHERS} publishers on ` +
      `different relays; ${ROUNDS} alternating rounds, medians. Relays and redis-server are separate processes, the clients share ` +
      `this one: on 2 cores more relays compete for the same CPU, so this shows the overhead per hop, not scale.\n`,
  );
  const peer = median(results.get(SETUPS[0]!)!.map((x) => x.sat));
  const peerSets = median(results.get(SETUPS[0]!)!.map((x) => x.set.rate));
  const rows = SETUPS.map((s) => {
    const xs = results.get(s)!;
    const med = (f: (x: Result) => number) => median(xs.map(f));
    const cross = med((x) => x.lat.cross);
    return [
      s.label,
      fmt(med((x) => x.sat)),
      `${((med((x) => x.sat) / peer) * 100).toFixed(0)}%`,
      fmt(med((x) => x.lat.p50), 2),
      fmt(med((x) => x.lat.p99), 2),
      fmt(med((x) => x.lat.local), 2),
      Number.isNaN(cross) ? "–" : fmt(cross, 2),
      Number.isNaN(cross) ? "–" : fmt(med((x) => x.lat.cross - x.lat.local), 2),
    ];
  });
  table(["set-up", "delivered msg/s (saturation)", "of the standalone relay", `p50 (ms) at ${fmt(RATE)}/s`, "p99 (ms)", "p50 same relay", "p50 other relay", "cross-relay hop (ms)"], rows);
  console.log();
  table(
    ["set-up", "committed SETs/s", "of the standalone relay", "SET → ACK p50 (ms)", "p99 (ms)", "relays + Redis CPU per SET (µs)"],
    SETUPS.map((s) => {
      const xs = results.get(s)!.map((x) => x.set);
      const rate = median(xs.map((x) => x.rate));
      return [s.label, fmt(rate), `${((rate / peerSets) * 100).toFixed(0)}%`, fmt(median(xs.map((x) => x.p50)), 2), fmt(median(xs.map((x) => x.p99)), 2), fmt(median(xs.map((x) => x.cpuUs)))];
    }),
  );
}

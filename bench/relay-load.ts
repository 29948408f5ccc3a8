/**
 * Rows of `npm run bench -- relay` that are about one relay under a particular load, each
 * measured against a peer in the same run (servers from bench/relay-peer.ts, each in its own
 * process; the clients share the bench's process):
 *   - single hop: one publisher → server → one subscriber, one message in flight (CLASP's
 *     own README measures its router this way), against a plain `ws` forwarder (the floor)
 *     and mosquitto over WebSocket (MQTT 3.1.1, QoS 0) when it is installed;
 *   - idle sessions: RSS per held WebSocket session (HELLO done, nothing else), relay against
 *     the forwarder holding as many sockets;
 *   - maxRate: subscribers of a 1 kHz stream with SUBSCRIBE `maxRate` 30 against the same
 *     subscribers without it: delivered rate per subscriber and the relay's CPU.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, connect as tcpConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { codec } from "../src/clasp/index.js";
import { fmt, median, table } from "./util.js";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** A server process of bench/relay-peer.ts (or mosquitto). */
interface Server {
  proc: ChildProcess;
  url: string;
  /** For mosquitto: whether its listener is WebSocket (else MQTT over plain TCP). */
  websocket?: boolean;
  /** Resident set size (bytes) and CPU time used so far (µs, user + system), as the process reports them. */
  stats(): Promise<{ rss: number; cpu: number }>;
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`; 100 on Linux almost always). */
let clockTicks: number | undefined;

/**
 * CPU time a process used so far (s, user + system), from /proc/<pid>/stat (fields 14 and 15,
 * proc(5)): the same reading for every server, Node or not, at the kernel's 10 ms
 * resolution. Undefined where there is no /proc.
 */
async function cpuSeconds(proc: ChildProcess): Promise<number | undefined> {
  const stat = await readFile(`/proc/${proc.pid}/stat`, "utf8").catch(() => undefined);
  if (stat === undefined) return undefined;
  clockTicks ??= Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" })) || 100;
  // The command name (field 2) is in parentheses and may hold spaces: count from its end.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Starts `bench/relay-peer.ts <mode> [args]` and waits for its port. */
export async function startPeer(mode: string, args: string[] = []): Promise<Server> {
  const proc = spawn(process.execPath, ["--import", "tsx", "bench/relay-peer.ts", mode, ...args], { cwd: ROOT, stdio: ["pipe", "pipe", "inherit"] });
  let buffered = "";
  const waiters: Array<(line: string) => void> = [];
  const lines: string[] = [];
  proc.stdout!.on("data", (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve, reject) => {
    const l = lines.shift();
    if (l !== undefined) return resolve(l);
    waiters.push(resolve);
    proc.once("exit", (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
  const port = Number(/port (\d+)/.exec(await nextLine())?.[1]);
  return {
    proc,
    url: `ws://127.0.0.1:${port}/`,
    async stats() {
      proc.stdin!.write("stats\n");
      const [rss, cpu] = (await nextLine()).split(" ").slice(1).map(Number);
      return { rss: rss!, cpu: cpu! };
    },
  };
}

/** Stops a server process (SIGTERM) and waits for it to exit. */
export async function stopPeer(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    s.proc.once("exit", () => resolve());
    s.proc.kill("SIGTERM");
  });
}

/** A free TCP port on 127.0.0.1 (for servers that cannot be told to pick one). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/**
 * The mosquitto binary: CLAWFT_MOSQUITTO, else the WebSocket-capable build of
 * scripts/mosquitto-ws.sh when it is there, else `mosquitto` on the PATH (Debian 12's, built
 * without WebSocket support).
 */
const MOSQUITTO =
  process.env.CLAWFT_MOSQUITTO ?? (existsSync(join(ROOT, ".bench/mosquitto-ws/bin/mosquitto")) ? join(ROOT, ".bench/mosquitto-ws/bin/mosquitto") : "mosquitto");

/**
 * Starts mosquitto ({@link MOSQUITTO}) with one listener on loopback, WebSocket or
 * (`websocket` false) MQTT over TCP, or returns why it cannot (not installed; Debian 12's
 * mosquitto 2.0.11 is built without WebSocket support and exits with "Unable to start any
 * listening sockets": scripts/mosquitto-ws.sh builds one with it).
 */
async function startMosquitto(websocket: boolean): Promise<Server | string> {
  const dir = await mkdtemp(join(tmpdir(), "clawft-mosquitto-"));
  const port = await freePort();
  const conf = join(dir, "mosquitto.conf");
  const protocol = websocket ? "protocol websockets\n" : "";
  await writeFile(conf, `listener ${port} 127.0.0.1\n${protocol}allow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n`);
  const proc = spawn(MOSQUITTO, ["-c", conf], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  proc.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const spawned = await new Promise<true | string>((resolve) => {
    proc.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ENOENT" ? "mosquitto not installed" : e.message));
    proc.once("spawn", () => resolve(true));
  });
  if (spawned !== true) {
    await rm(dir, { recursive: true, force: true });
    return spawned;
  }
  proc.once("exit", () => void rm(dir, { recursive: true, force: true }));
  // Wait for the listener (or an early exit, e.g. no WebSocket support in this build).
  const end = Date.now() + 5000;
  for (;;) {
    if (proc.exitCode !== null) return `mosquitto exited: ${err.trim() || proc.exitCode}`;
    const ok = await new Promise<boolean>((resolve) => {
      const s = tcpConnect(port, "127.0.0.1", () => (s.end(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    // A port another process took between freePort and mosquitto's bind also answers: mosquitto
    // then exits ("Unable to start any listening sockets"), so it must still be running a moment later.
    if (ok) await new Promise((r) => setTimeout(r, 100));
    if (ok && proc.exitCode === null) break;
    if (ok) continue;
    if (Date.now() > end) {
      proc.kill("SIGKILL");
      return "mosquitto did not listen within 5 s";
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    proc,
    url: websocket ? `ws://127.0.0.1:${port}/` : `mqtt://127.0.0.1:${port}`,
    websocket,
    stats: () => Promise.reject(new Error("no stats from mosquitto")),
  };
}

/** An MQTT connection: whole control packets in and out, over a WebSocket or a TCP stream. */
interface MqttLink {
  send(packet: Buffer): void;
  onPacket: (packet: Buffer) => void;
  close(): void;
  /** The WebSocket or TCP socket under it (for its errors). */
  socket: WebSocket | Socket;
}

/** Connects to mosquitto: over a WebSocket (subprotocol `mqtt`, a packet per message) or TCP (packets cut from the stream). */
async function mqttLink(server: Server): Promise<MqttLink> {
  if (server.websocket) {
    const ws = await open(server.url, "mqtt");
    const link: MqttLink = { send: (p) => ws.send(p), onPacket: () => {}, close: () => ws.terminate(), socket: ws };
    ws.on("message", (d: Buffer) => link.onPacket(d));
    return link;
  }
  const url = new URL(server.url);
  const socket = tcpConnect(Number(url.port), url.hostname);
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  const link: MqttLink = { send: (p) => socket.write(p), onPacket: () => {}, close: () => socket.destroy(), socket };
  let pending: Buffer = Buffer.alloc(0);
  socket.on("data", (d: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, d]) : d;
    for (;;) {
      // Remaining Length: up to 4 bytes of 7 bits each (MQTT 3.1.1 §2.2.3).
      let len = 0;
      let i = 1;
      for (let shift = 0; i < pending.length; i++, shift += 7) {
        len |= (pending[i]! & 0x7f) << shift;
        if (!(pending[i]! & 0x80)) break;
      }
      if (i >= pending.length || pending.length < i + 1 + len) return;
      const packet = pending.subarray(0, i + 1 + len);
      pending = pending.subarray(i + 1 + len);
      link.onPacket(packet);
    }
  });
  return link;
}

// ---------------------------------------------------------------- MQTT 3.1.1, just enough

/** An MQTT control packet: type and flags byte, Remaining Length (varint, MQTT 3.1.1 §2.2.3), body. */
function mqttPacket(first: number, body: Uint8Array): Buffer {
  const len: number[] = [];
  let n = body.length;
  do {
    let b = n & 0x7f;
    n >>= 7;
    if (n) b |= 0x80;
    len.push(b);
  } while (n);
  return Buffer.concat([Buffer.from([first, ...len]), body]);
}

/** A UTF-8 string with its 2-byte length prefix (MQTT 3.1.1 §1.5.3). */
function mqttString(s: string): Buffer {
  const b = Buffer.from(s);
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

/** The offset of a PUBLISH packet's payload (QoS 0: fixed header, topic, no packet id). */
function mqttPayloadOffset(p: Buffer): number {
  let i = 1;
  while (p[i]! & 0x80) i++;
  i++;
  return i + 2 + p.readUInt16BE(i);
}

// ---------------------------------------------------------------- clients

const TOPIC = "/bench/hop";
/**
 * The frame the publisher sends: a PUBLISH event whose value (its last 8 bytes) is the send
 * time, with the encoder's default QoS (confirm: the relay ACKs it to the publisher) or fire.
 */
const HOP_FRAME = codec.encode({ type: "PUBLISH", address: TOPIC, signal: "event", value: 0.5 });
const HOP_FRAME_FIRE = codec.encode({ type: "PUBLISH", address: TOPIC, signal: "event", value: 0.5 }, { qos: 0 });

/** Opens a WebSocket and waits for it. */
function open(url: string, protocol: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [protocol], { perMessageDeflate: false });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Waits for the first binary message that `accept` takes. */
function waitFor(ws: WebSocket, accept: (data: Buffer) => boolean): Promise<void> {
  return new Promise((resolve) => {
    ws.on("message", function f(data: Buffer) {
      if (accept(data)) {
        ws.off("message", f);
        resolve();
      }
    });
  });
}

type Kind = "relay" | "relay-fire" | "forwarder" | "mosquitto";

/**
 * A connected publisher and subscriber: `send(t)` publishes one message carrying `t`;
 * `onTime` receives the `t` of each delivered message.
 */
interface Pair {
  send(t: number): void;
  onTime: (t: number) => void;
  /** Called when a socket of the pair fails or closes before {@link Pair.close}. */
  onFail: (err: Error) => void;
  close(): void;
}

/** Reports the first error or unasked-for close of a pair's sockets to `pair.onFail`; returns what marks the close that follows as asked for. */
function watch(pair: Pair, sockets: Array<{ on(event: "error", f: (err: Error) => void): unknown; on(event: "close", f: () => void): unknown }>): () => void {
  let closing = false;
  const fail = (err: Error) => {
    if (closing) return;
    closing = true;
    pair.onFail(err);
  };
  for (const s of sockets) {
    s.on("error", fail);
    s.on("close", () => fail(new Error("connection closed by the server")));
  }
  return () => void (closing = true);
}

/** A publisher and a subscriber of mosquitto, MQTT 3.1.1 QoS 0, the CLASP frame as payload. */
async function connectMqttPair(server: Server): Promise<Pair> {
  const [pub, sub] = await Promise.all([mqttLink(server), mqttLink(server)]);
  const pair: Pair = {
    send: () => {},
    onTime: () => {},
    onFail: () => {},
    close() {
      closing();
      pub.close();
      sub.close();
    },
  };
  const closing = watch(pair, [pub.socket, sub.socket]);
  const expect = (link: MqttLink, type: number) => new Promise<void>((resolve) => (link.onPacket = (p) => p[0] === type && resolve()));
  for (const [link, id] of [[pub, "pub"], [sub, "sub"]] as const) {
    // CONNECT: "MQTT", level 4, clean session, keep-alive 60 s, client id.
    const connack = expect(link, 0x20);
    link.send(mqttPacket(0x10, Buffer.concat([mqttString("MQTT"), Buffer.from([4, 0x02, 0, 60]), mqttString(`clawft-bench-${id}`)])));
    await connack;
  }
  const suback = expect(sub, 0x90);
  sub.send(mqttPacket(0x82, Buffer.concat([Buffer.from([0, 1]), mqttString(TOPIC), Buffer.from([0])])));
  await suback;
  const template = mqttPacket(0x30, Buffer.concat([mqttString(TOPIC), HOP_FRAME]));
  pair.send = (t) => {
    const p = Buffer.from(template);
    p.writeDoubleBE(t, p.length - 8);
    pub.send(p);
  };
  sub.onPacket = (d) => {
    if ((d[0]! & 0xf0) === 0x30 && d.length - mqttPayloadOffset(d) === HOP_FRAME.length) pair.onTime(d.readDoubleBE(d.length - 8));
  };
  return pair;
}

/**
 * A publisher and a subscriber of the relay (HELLO, SUBSCRIBE; `relay-fire` publishes with
 * fire QoS, so no ACK comes back) or of the forwarder (nothing to set up).
 */
async function connectPair(kind: "relay" | "relay-fire" | "forwarder", url: string): Promise<Pair> {
  const [pub, sub] = await Promise.all([open(url, "clasp"), open(url, "clasp")]);
  const pair: Pair = {
    send: () => {},
    onTime: () => {},
    onFail: () => {},
    close() {
      closing();
      pub.terminate();
      sub.terminate();
    },
  };
  const closing = watch(pair, [pub, sub]);
  if (kind !== "forwarder") {
    const hello = codec.encode({ type: "HELLO", version: 1, name: "bench", features: ["event"] });
    for (const ws of [pub, sub]) {
      const welcome = waitFor(ws, (d) => d[4] === 0x02);
      ws.send(hello);
      await welcome;
    }
    const pong = waitFor(sub, (d) => d[4] === 0x42);
    sub.send(codec.encode({ type: "SUBSCRIBE", id: 1, pattern: TOPIC }));
    sub.send(codec.encode({ type: "PING" }));
    await pong; // subscribed
  }
  const template = kind === "relay-fire" ? HOP_FRAME_FIRE : HOP_FRAME;
  pair.send = (t) => {
    const f = Buffer.from(template);
    f.writeDoubleBE(t, f.length - 8);
    pub.send(f);
  };
  sub.on("message", (d: Buffer) => {
    if (d[4] === 0x20) pair.onTime(d.readDoubleBE(d.length - 8));
  });
  return pair;
}

/**
 * Messages of a fresh server process measured as its cold start: its first ones after the
 * handshake, while V8 still runs the hot paths (ws, the relay's host, the router's wasm)
 * unoptimized. Both Node servers' medians are about 3× their steady ones for their first
 * 3,000 messages or so (docs/relay.md §Single hop).
 */
const COLD_MESSAGES = 5000;
/** Wall time of one-at-a-time messages between the cold and the steady measurement, ms. */
const HOP_WARM_MS = 2000;
/** Messages measured per round once the server is warm. */
const HOP_MESSAGES = 10000;
/**
 * Messages per turn of the steady measurement: the servers take turns, so that the load of a
 * shared machine, which changes from millisecond to millisecond, meets each alike. One: every
 * server's next message waits for one message through each of the others (one message is in
 * flight at a time, through one server). Each round's p99 still depends on how many of that
 * server's hops waited for a time slice (docs/relay.md §Single hop): hence several rounds,
 * and the rounds' spread printed.
 */
const HOP_SLICE = 1;

/**
 * Sends messages one at a time (the next once the previous was delivered), `count` of them,
 * and writes their latencies (ms) to `lat` from index `from` on.
 * @throws the error of a socket of the pair that failed meanwhile
 */
function hop(pair: Pair, lat: Float64Array, from = 0, count = lat.length - from): Promise<void> {
  let i = from;
  const end = from + count;
  return new Promise((resolve, reject) => {
    pair.onFail = reject;
    pair.onTime = (t) => {
      lat[i] = performance.now() - t;
      if (++i === end) return resolve();
      pair.send(performance.now());
    };
    pair.send(performance.now());
  });
}

/** Sends messages one at a time, as {@link hop} does, for `ms` milliseconds, and records nothing. */
function busy(pair: Pair, ms: number): Promise<void> {
  const end = performance.now() + ms;
  return new Promise((resolve, reject) => {
    pair.onFail = reject;
    pair.onTime = () => {
      if (performance.now() >= end) return resolve();
      pair.send(performance.now());
    };
    pair.send(performance.now());
  });
}

const pct = (sorted: Float64Array, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

/**
 * Single-hop latency: relay, plain ws forwarder and mosquitto, alternating rounds, medians.
 * Each round starts every server afresh, measures its cold start (its first
 * {@link COLD_MESSAGES}) and keeps it busy for {@link HOP_WARM_MS}; then the servers take
 * turns, {@link HOP_SLICE} messages at a time, until each has {@link HOP_MESSAGES} measured in
 * the steady state the goal is about. Both are reported.
 */
export async function singleHop(rounds = 5): Promise<void> {
  const kinds: Kind[] = ["forwarder", "relay", "relay-fire"];
  const notes: string[] = [];
  // mosquitto over WebSocket when this build has it, else over TCP (said in the table).
  let websocket = true;
  let probe = await startMosquitto(true);
  if (typeof probe === "string" && !/not installed/.test(probe)) {
    notes.push(`mosquitto over WebSocket: skipped: ${probe} (this build has no WebSocket support: scripts/mosquitto-ws.sh builds one); measured over MQTT/TCP instead`);
    websocket = false;
    probe = await startMosquitto(false);
  }
  if (typeof probe === "string") notes.push(`mosquitto: skipped: ${probe}`);
  else {
    await stopPeer(probe);
    kinds.push("mosquitto");
  }
  /** Percentiles (ms) and, for the steady state, the server's CPU time per message (µs). */
  type Pcts = { p50: number; p95: number; p99: number; cpu?: number };
  const pcts = (lat: Float64Array): Pcts => {
    const sorted = lat.slice().sort();
    return { p50: pct(sorted, 0.5), p95: pct(sorted, 0.95), p99: pct(sorted, 0.99) };
  };
  /** Each server's percentiles by round (a hole where a round was left out), steady and cold. */
  const steady = new Map<Kind, Array<Pcts | undefined>>(kinds.map((k) => [k, []]));
  const cold = new Map<Kind, Array<Pcts | undefined>>(kinds.map((k) => [k, []]));
  for (let r = 0; r < rounds; r++) {
    const live: Array<{ kind: Kind; server: Server; pair: Pair; lat: Float64Array; failed?: boolean }> = [];
    /** A server whose connection failed is left out of this round, and the output says why. */
    const leaveOut = (l: (typeof live)[number], err: unknown) => {
      l.failed = true;
      notes.push(`${l.kind}: round ${r + 1} left out: ${(err as Error)?.message ?? err}`);
    };
    try {
      for (const kind of kinds) {
        const started = kind === "mosquitto" ? await startMosquitto(websocket) : await startPeer(kind === "forwarder" ? "broadcast" : "relay");
        if (typeof started === "string") {
          notes.push(`mosquitto: round ${r + 1} left out: ${started}`);
          continue;
        }
        const pair = await (kind === "mosquitto" ? connectMqttPair(started) : connectPair(kind, started.url)).catch(async (err: unknown) => {
          await stopPeer(started);
          throw err;
        });
        const l = { kind, server: started, pair, lat: new Float64Array(HOP_MESSAGES) };
        live.push(l);
        // Its cold start and warm-up, while the servers started before it wait.
        const first = new Float64Array(COLD_MESSAGES);
        try {
          await hop(pair, first);
          cold.get(kind)![r] = pcts(first);
          await busy(pair, HOP_WARM_MS);
        } catch (err) {
          leaveOut(l, err);
        }
      }
      const cpu0 = await Promise.all(live.map((l) => cpuSeconds(l.server.proc)));
      for (let at = 0; at < HOP_MESSAGES; at += HOP_SLICE) {
        for (const l of live) {
          if (l.failed) continue;
          await hop(l.pair, l.lat, at, Math.min(HOP_SLICE, HOP_MESSAGES - at)).catch((err: unknown) => leaveOut(l, err));
        }
      }
      const cpu1 = await Promise.all(live.map((l) => cpuSeconds(l.server.proc)));
      live.forEach((l, i) => {
        if (l.failed) return;
        const used = cpu0[i] === undefined || cpu1[i] === undefined ? NaN : cpu1[i]! - cpu0[i]!;
        steady.get(l.kind)![r] = { ...pcts(l.lat), cpu: (used / HOP_MESSAGES) * 1e6 };
      });
    } finally {
      for (const l of live) {
        l.pair.close();
        await stopPeer(l.server);
      }
    }
  }
  const label: Record<Kind, string> = {
    forwarder: "plain ws forwarder (floor)",
    relay: "clawft relay (confirm QoS: ACK to the publisher)",
    "relay-fire": "clawft relay, fire QoS (no ACK)",
    mosquitto: `mosquitto 2 over ${websocket ? "WebSocket" : "TCP (no WebSocket in this build)"}, MQTT QoS 0`,
  };
  const us = (ms: number) => fmt(ms * 1000);
  const done = (stats: Map<Kind, Array<Pcts | undefined>>, k: Kind) => stats.get(k)!.filter((x): x is Pcts => x !== undefined);
  /** Per-round ratios of `k` to `to`, over the rounds both servers completed. */
  const ratios = (stats: Map<Kind, Array<Pcts | undefined>>, k: Kind, to: Kind, q: "p50" | "p95" | "p99") => {
    const other = stats.get(to)!;
    return stats.get(k)!.flatMap((x, i) => (x && other[i] ? [x[q] / other[i]![q]] : []));
  };
  const ratio = (stats: Map<Kind, Array<Pcts | undefined>>, k: Kind, to: Kind, q: "p50" | "p95" | "p99") => {
    const rs = ratios(stats, k, to, q);
    return rs.length ? median(rs).toFixed(2) : "–";
  };
  const spread = (stats: Map<Kind, Array<Pcts | undefined>>, k: Kind, q: "p50" | "p95" | "p99") => {
    const rs = ratios(stats, k, "forwarder", q);
    return rs.length ? `${Math.min(...rs).toFixed(2)}–${Math.max(...rs).toFixed(2)}` : "–";
  };
  const print = (stats: Map<Kind, Array<Pcts | undefined>>, withCpu: boolean) => {
    // A server with no round done (mosquitto failing to start each time) shows dashes.
    const m = (k: Kind, q: "p50" | "p95" | "p99") => (done(stats, k).length ? us(median(done(stats, k).map((x) => x[q]))) : "–");
    const cpu = (k: Kind) => {
      const c = done(stats, k).map((x) => x.cpu ?? NaN);
      return c.length === 0 || Number.isNaN(median(c)) ? "–" : fmt(median(c), 1);
    };
    table(
      ["server", "p50 µs", "p95 µs", "p99 µs", "p50 ratio to forwarder", "p99 ratio to forwarder", "p99 ratio, rounds' min–max", ...(withCpu ? ["server CPU µs per message"] : [])],
      kinds.map((k) => [
        label[k],
        m(k, "p50"),
        m(k, "p95"),
        m(k, "p99"),
        ratio(stats, k, "forwarder", "p50"),
        ratio(stats, k, "forwarder", "p99"),
        spread(stats, k, "p99"),
        ...(withCpu ? [cpu(k)] : []),
      ]),
    );
  };
  console.log(
    `Single hop: one publisher → server → one subscriber, one message in flight; ${rounds} rounds, every server started afresh each round; ` +
      `medians of each round's percentiles (µs), ratios per round, then the median.\n\n` +
      `Steady state (the goal's measure): ${fmt(HOP_MESSAGES)} messages per server and round, after its ${fmt(COLD_MESSAGES)} cold ones and ${HOP_WARM_MS / 1000} s of warm-up, ` +
      `the servers taking turns ${HOP_SLICE === 1 ? "message by message" : `every ${HOP_SLICE} messages`}.\n`,
  );
  print(steady, true);
  for (const n of notes) console.log(`\n${n}`);
  if (kinds.includes("mosquitto")) console.log(`\nrelay / mosquitto (steady): p50 ${ratio(steady, "relay", "mosquitto", "p50")}×, p99 ${ratio(steady, "relay", "mosquitto", "p99")}×`);
  console.log(`per-round p99, steady (µs): ${kinds.map((k) => `${k} ${done(steady, k).map((x) => us(x.p99)).join(", ")}`).join("; ")}`);
  console.log(`\nCold start: the first ${fmt(COLD_MESSAGES)} messages of each fresh server process (V8 has not optimized the hot paths yet).\n`);
  print(cold, false);
}

/** Opens `n` connections in batches; with `hello`, each says HELLO and waits for WELCOME. */
async function openMany(url: string, n: number, hello: boolean): Promise<WebSocket[]> {
  const out: WebSocket[] = [];
  const frame = codec.encode({ type: "HELLO", version: 1, name: "idle", features: ["param"] });
  for (let i = 0; i < n; i += 250) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(250, n - i) }, async () => {
        const ws = await open(url, "clasp");
        if (hello) {
          const welcome = waitFor(ws, (d) => d[4] === 0x02);
          ws.send(frame);
          await welcome;
        }
        return ws;
      }),
    );
    out.push(...batch);
  }
  return out;
}

/** RSS per idle session: `sessions` HELLO'd sessions held by the relay, as many sockets by the forwarder. */
export async function idleSessions(sessions = 5000, rounds = 2): Promise<void> {
  const per = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const kind of ["forwarder", "relay"] as const) {
      const server = await startPeer(kind === "relay" ? "relay" : "broadcast", kind === "relay" ? [String(sessions + 10)] : []);
      try {
        const before = await server.stats();
        const sockets = await openMany(server.url, sessions, kind === "relay");
        await new Promise((res) => setTimeout(res, 500));
        const after = await server.stats();
        per.set(kind, [...(per.get(kind) ?? []), (after.rss - before.rss) / sessions]);
        for (const ws of sockets) ws.terminate();
      } finally {
        await stopPeer(server);
      }
    }
  }
  const relay = median(per.get("relay")!);
  const fwd = median(per.get("forwarder")!);
  console.log(`\nIdle sessions: ${fmt(sessions)} WebSocket connections held (the relay's with HELLO done), RSS growth per connection, read 0.5 s after the last one connected; ${rounds} rounds, medians.\n`);
  table(
    ["server", "RSS per session (bytes)", "RSS for all (MB)", "ratio to forwarder"],
    [
      ["plain ws forwarder (sockets only)", fmt(fwd), fmt((fwd * sessions) / 1e6, 1), "1.00"],
      ["clawft relay (CLASP sessions)", fmt(relay), fmt((relay * sessions) / 1e6, 1), (relay / fwd).toFixed(2)],
    ],
  );
}

/** 1 kHz stream to `clients` subscribers with and without SUBSCRIBE maxRate 30: delivered rate and relay CPU. */
export async function maxRate(clients = 200, seconds = 3): Promise<void> {
  const rows: string[][] = [];
  const results: Record<string, { rate: number; cpu: number }> = {};
  for (const limited of [false, true]) {
    const server = await startPeer("relay", [String(clients + 10)]);
    const subs = await openMany(server.url, clients, true);
    const pub = (await openMany(server.url, 1, true))[0]!;
    let delivered = 0;
    await Promise.all(
      subs.map((ws) => {
        const pong = waitFor(ws, (d) => d[4] === 0x42);
        ws.on("message", (d: Buffer) => {
          if (d[4] === 0x20) delivered++;
        });
        ws.send(codec.encode({ type: "SUBSCRIBE", id: 1, pattern: "/rate/**", ...(limited ? { options: { maxRate: 30 } } : {}) }));
        ws.send(codec.encode({ type: "PING" }));
        return pong;
      }),
    );
    const frame = Buffer.from(codec.encode({ type: "PUBLISH", address: "/rate/x", signal: "stream", value: 0.5 }));
    // 1 kHz, paced against the clock (timers fire at ~1 ms at best: send what is due).
    let sent = 0;
    const start = performance.now();
    let d0 = 0;
    let t0 = 0;
    let c0 = 0;
    let warm = false;
    let end = 0;
    let c1 = 0;
    await new Promise<void>((resolve) => {
      const tick = async () => {
        const now = performance.now();
        const due = Math.floor(now - start);
        while (sent < due) {
          frame.writeDoubleBE(sent++, frame.length - 8);
          pub.send(frame);
        }
        if (!warm && now - start >= 500) {
          warm = true;
          d0 = delivered;
          t0 = now;
          c0 = (await server.stats()).cpu;
        }
        if (warm && now - t0 >= seconds * 1000) {
          end = performance.now();
          c1 = (await server.stats()).cpu;
          return resolve();
        }
        setTimeout(tick, 1);
      };
      void tick();
    });
    const elapsed = (end - t0) / 1000;
    const rate = (delivered - d0) / elapsed / clients;
    const cpu = (c1 - c0) / 1e6 / elapsed;
    results[limited ? "limited" : "all"] = { rate, cpu };
    rows.push([limited ? "SUBSCRIBE maxRate 30" : "no maxRate", fmt(sent / ((performance.now() - start) / 1000)), fmt(rate, 1), `${(cpu * 100).toFixed(0)}%`]);
    for (const ws of [...subs, pub]) ws.terminate();
    await stopPeer(server);
  }
  console.log(
    `\nmaxRate: ${clients} subscribers of a 1 kHz stream (one publisher), ${seconds} s after 0.5 s of warm-up; relay CPU is user + system time of its process per wall second. ` +
      `The publisher and the subscribers share the bench's process: without maxRate it cannot take 200k deliveries/s, so the publisher falls behind 1 kHz (its rate is shown).\n`,
  );
  table(["subscription", "published msg/s", "delivered per subscriber msg/s", "relay CPU"], rows);
  const { all, limited } = results as Record<"all" | "limited", { rate: number; cpu: number }>;
  console.log(`\nwith maxRate 30: ${(limited.rate / all.rate).toFixed(3)}× the deliveries, ${(limited.cpu / all.cpu).toFixed(2)}× the relay CPU`);
}

/**
 * The CLASP relay for Node: HTTP + WebSocket (subprotocol `clasp`, one frame per binary
 * message) in front of a MiniRouter, with write-behind state storage, Prometheus metrics,
 * per-peer backpressure, the playground page, and a clean shutdown (docs/relay.md).
 * @module
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sirv from "sirv";
import { WebSocketServer, type WebSocket, type RawData } from "ws";
import { codec } from "../clasp/index.js";
import { MiniRouter } from "../clasp/router.js";
import type { Storage } from "../storage/index.js";
import { checkConfig, defaultConfig, openStorage, RelayConfigError, type RelayConfig } from "./config.js";
import { RouterHost, wsClose, type HostPeer } from "./host.js";
import { combineMetrics, type RelayMetrics } from "./metrics.js";
import { StatePersister, type RestoreReport } from "./persist.js";
import { PrometheusMetrics } from "./prometheus.js";
import type { DeviceBridge } from "./serial.js";
import type { RelayCluster } from "./cluster.js";

/** Options of {@link Relay.start}: a {@link RelayConfig} (every field optional) and more. */
export interface RelayOptions extends Partial<RelayConfig> {
  /** A storage instance to use instead of opening `storage` (closed by the relay on close). */
  storageInstance?: Storage;
  /** Extra metric hooks, called beside the relay's Prometheus metrics. */
  metrics?: RelayMetrics;
  /**
   * Directory of the built playground (vite build of web/), or false for none. Defaults to
   * the package's dist/web when it exists.
   */
  web?: string | false;
  /** Milliseconds state changes are gathered before they are written. Defaults to 20. */
  persistDelayMs?: number;
  /** Called with operational messages (storage failures). Defaults to console.error. */
  log?: (message: string) => void;
}

/** The built playground in the package: dist/web beside dist/relay, or from src/relay. */
function packagedWeb(): string | undefined {
  for (const rel of ["../web/", "../../dist/web/"]) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (pageOf(dir)) return dir;
  }
  return undefined;
}

/**
 * The playground page inside a vite build directory: vite keeps the input's path relative to
 * the project root, so web/index.html is built to <outDir>/web/index.html.
 */
function pageOf(dir: string): string | undefined {
  return ["web/index.html", "index.html"].find((p) => existsSync(join(dir, p)));
}

const SIZES = new URL("../../build/sizes.json", import.meta.url);

/** Milliseconds a closing peer has to finish the close handshake before its socket is destroyed. */
const CLOSE_GRACE_MS = 2000;

/** The CLASP PING the relay sends a quiet session: a live client answers PONG, which is traffic. */
const PING_FRAME = Buffer.from(codec.encode({ type: "PING" }));

/** The subprotocols a WebSocket upgrade offers (`Sec-WebSocket-Protocol`, RFC 6455 §4.1), or none. */
function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers["sec-websocket-protocol"];
  return header === undefined ? [] : header.split(",").map((p) => p.trim());
}

/**
 * One WebSocket connection: sends straight to the socket while its buffer (corked frames
 * included) is under `sendBufferBytes`; beyond, the peer is slow: droppable (fire-QoS) frames
 * are dropped and the others queue, and past `maxQueuePerSession` queued frames or
 * `maxQueueBytes` queued bytes the peer is disconnected (1008). So a peer holds at most about
 * `sendBufferBytes + maxQueueBytes` of the relay's memory, and a slow peer never delays anyone
 * else: nothing here waits.
 */
class WsPeer implements HostPeer {
  conn = 0;
  readonly opened = performance.now();
  /** performance.now() of the last frame received from the peer. */
  lastFrame = performance.now();
  /** Whether the peer answered the last WebSocket ping (or none was sent yet). */
  alive = true;
  /** Whether a CLASP PING was sent since the peer's last frame. */
  asked = false;
  /** Fires at the HELLO deadline: closes the connection unless its HELLO was accepted by then. */
  helloTimer: ReturnType<typeof setTimeout> | undefined;
  #queue: Uint8Array[] = [];
  #head = 0;
  #queuedBytes = 0;
  #waiting = false;
  #closing: [number, string] | undefined;
  #gone = false;
  #corked = false;

  constructor(
    readonly ws: WebSocket,
    readonly socket: Socket,
    readonly relay: Relay,
  ) {}

  /** Frames waiting in the queue. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Bytes of the frames waiting in the queue. */
  get queuedBytes(): number {
    return this.#queuedBytes;
  }

  send(frame: Uint8Array, droppable: boolean): void {
    if (this.#gone || this.#closing) return;
    // bufferedAmount counts what the corked socket holds: a turn's burst (a SNAPSHOT) is
    // bounded by sendBufferBytes like any other.
    if (this.#head === this.#queue.length && this.ws.bufferedAmount < this.relay.config.sendBufferBytes) {
      // Frames sent in one turn of the event loop leave in one write (uncorked on next tick).
      if (!this.#corked) {
        this.#corked = true;
        this.socket.cork();
        this.relay.corked(this);
      }
      this.ws.send(frame);
      return;
    }
    if (droppable) {
      this.relay.metricsHooks.dropped?.();
      this.relay.droppedFrames++;
      return;
    }
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.queued > this.relay.router.maxQueuePerSession || this.#queuedBytes > this.relay.config.maxQueueBytes) {
      this.relay.metricsHooks.slowDisconnect?.();
      this.kill(1008, "send queue full");
      return;
    }
    this.#wait();
  }

  /** Writes what was sent since the socket was corked. */
  uncork(): void {
    this.#corked = false;
    this.socket.uncork();
  }

  #wait(): void {
    if (this.#waiting) return;
    this.#waiting = true;
    const resume = () => {
      this.#waiting = false;
      if (!this.#gone) this.#flush();
    };
    // 'drain' comes only after a write found the socket over its own high-water mark; with a
    // `sendBufferBytes` below that mark, look again shortly instead.
    if (this.socket.writableNeedDrain) this.socket.once("drain", resume);
    else setTimeout(resume, 10);
  }

  #flush(): void {
    const limit = this.relay.config.sendBufferBytes;
    while (this.#head < this.#queue.length && this.ws.bufferedAmount < limit) {
      const frame = this.#queue[this.#head]!;
      this.#queuedBytes -= frame.length;
      this.ws.send(frame);
      this.#queue[this.#head++] = undefined as unknown as Uint8Array;
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.#queuedBytes = 0;
      if (this.#closing) this.#closeNow(...this.#closing);
    } else {
      if (this.#head > 1024) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      this.#wait();
    }
  }

  close(code: number): void {
    // The router closes a session idle past sessionTimeout with code 0.
    if (code === 0) this.relay.metricsHooks.refused?.("idle");
    this.closeWith(...wsClose(code));
  }

  /** Closes with a WebSocket code once the queue is flushed. */
  closeWith(code: number, reason: string): void {
    if (this.#gone || this.#closing) return;
    this.#closing = [code, reason];
    if (this.queued === 0) this.#closeNow(code, reason);
  }

  #closeNow(code: number, reason: string): void {
    this.ws.close(code, reason);
    setTimeout(() => this.ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** Stops routing to this peer now and closes its socket (destroyed if it does not close in time). */
  kill(code: number, reason: string): void {
    if (this.#gone) return;
    this.#closing = [code, reason];
    this.#queue = [];
    this.#head = 0;
    this.#queuedBytes = 0;
    this.relay.detach(this);
    this.#closeNow(code, reason);
  }

  /** The socket closed: detach from the router. */
  gone(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#queue = [];
    this.#queuedBytes = 0;
    clearTimeout(this.helloTimer);
    this.relay.detach(this);
  }
}

/**
 * A running relay. Start one with {@link Relay.start}; stop it with {@link Relay.close}
 * (also on SIGINT/SIGTERM in the CLI).
 */
export class Relay {
  readonly config: RelayConfig;
  readonly router: MiniRouter;
  readonly host: RouterHost;
  /** The relay's Prometheus metrics (`/metrics`). */
  readonly metrics: PrometheusMetrics;
  /** The hooks the host calls: Prometheus plus any extra hooks given. */
  readonly metricsHooks: RelayMetrics;
  readonly persister: StatePersister;
  readonly storage: Storage;
  /** What was restored from storage at start. */
  readonly restored: RestoreReport;
  /** Fire-QoS frames dropped for slow consumers since start. */
  droppedFrames = 0;
  /** The relay's membership of a cluster (`cluster` option, src/relay/cluster.ts), if any. */
  cluster: RelayCluster | undefined;
  /** The serial devices joined to the router (`serial` option, src/relay/serial.ts). */
  readonly devices: DeviceBridge[] = [];
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #peers = new Set<WsPeer>();
  readonly #static: ((req: IncomingMessage, res: ServerResponse, next: () => void) => void) | undefined;
  /** Path of the playground page under the static directory, served at "/". */
  readonly #page: string | undefined;
  readonly #log: (message: string) => void;
  #closing: Promise<void> | undefined;
  /** Sockets corked this turn, uncorked on the next tick; senders' sockets after the others'. */
  #corked: WsPeer[] = [];
  #corkedSenders: WsPeer[] = [];
  #uncorkQueued = false;
  /** The peer whose frame the router is handling now (see {@link corked}). */
  #receiving: WsPeer | undefined;
  /** The keepalive sweep (WebSocket pings, CLASP PINGs to quiet sessions), while listening. */
  #sweepTimer: ReturnType<typeof setInterval> | undefined;
  #lastPing = performance.now();

  private constructor(
    config: RelayConfig,
    router: MiniRouter,
    storage: Storage,
    persister: StatePersister,
    restored: RestoreReport,
    options: RelayOptions,
  ) {
    this.config = config;
    this.router = router;
    this.storage = storage;
    this.persister = persister;
    this.restored = restored;
    this.#log = options.log ?? ((m) => console.error(m));
    this.metrics = new PrometheusMetrics();
    this.metrics.observe({
      connections: () => this.host.connections,
      params: () => this.router.size,
      queued: () => {
        let n = 0;
        for (const p of this.#peers) n += p.queued;
        return n;
      },
      queuedBytes: () => this.queuedBytes,
    });
    this.metricsHooks = options.metrics ? combineMetrics(this.metrics, options.metrics) : this.metrics;
    this.host = new RouterHost(router, {
      persister,
      metrics: this.metricsHooks,
      // One Buffer view per frame, shared by every recipient (the step's bytes are not copied).
      wrapFrame: (f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength),
    });
    const web = options.web === undefined ? packagedWeb() : options.web || undefined;
    this.#page = web ? pageOf(web) : undefined;
    this.#static = web && this.#page ? sirv(web, { etag: true, dev: false }) : undefined;
    this.#http = createServer((req, res) => this.#serveHttp(req, res));
    // Messages up to twice the router's limit reach the router, which answers ERROR 100;
    // larger ones make ws close that connection (1009) before buffering them.
    const maxPayload = Math.max(2 * (config.router.maxMessageSize ?? 65547), 1 << 17);
    this.#wss = new WebSocketServer({
      server: this.#http,
      maxPayload,
      perMessageDeflate: false,
      // A client that offers subprotocols but not `clasp` speaks something else: refuse the
      // upgrade (400) rather than answer 101 without one (what ws does when handleProtocols
      // returns false). A client that offers none is taken to speak CLASP.
      verifyClient: (info, done) => {
        const offered = offeredProtocols(info.req);
        if (offered.length === 0 || offered.includes("clasp")) return done(true);
        this.metricsHooks.refused?.("subprotocol");
        done(false, 400, "subprotocol clasp required");
      },
      handleProtocols: () => "clasp",
    });
    this.#wss.on("connection", (ws, req) => this.#accept(ws, req));
    // ws re-emits the HTTP server's errors; a listen error is the caller's (Relay.start
    // rejects with it), so only later ones are logged here.
    this.#wss.on("error", (err) => {
      if (this.#http.listening) this.#log(`relay: ${err.message}`);
    });
  }

  /**
   * Starts a relay: opens storage, restores params, listens.
   * @throws RelayConfigError for a bad storage spec; RouterConfigError for bad router limits or
   *   tokens; the listen error (e.g. EADDRINUSE) when the port is taken
   */
  static async start(options: RelayOptions = {}): Promise<Relay> {
    const d = defaultConfig();
    const config: RelayConfig = {
      host: options.host ?? d.host,
      port: options.port ?? d.port,
      storage: options.storage ?? d.storage,
      sendBufferBytes: options.sendBufferBytes ?? d.sendBufferBytes,
      maxQueueBytes: options.maxQueueBytes ?? d.maxQueueBytes,
      helloTimeout: options.helloTimeout ?? d.helloTimeout,
      pingInterval: options.pingInterval ?? d.pingInterval,
      router: { ...d.router, ...options.router },
      ...(options.serial?.length ? { serial: options.serial } : {}),
      ...(options.cluster ? { cluster: options.cluster } : {}),
    };
    checkConfig(config);
    const log = options.log ?? ((m: string) => console.error(m));
    // A cluster member keeps its params in the cluster's Redis (docs/relay.md §Cluster).
    if (config.cluster && (config.storage !== "memory" || options.storageInstance)) throw new RelayConfigError("a cluster member keeps its params in the cluster's Redis: leave storage at \"memory\"");
    const cluster = config.cluster ? await (await import("./cluster.js")).RelayCluster.connect(config.cluster, { log, stateTtl: config.router.stateTtl ?? 0 }) : undefined;
    let router: MiniRouter;
    try {
      const tokens = config.router.tokens;
      router = await MiniRouter.load(cluster && config.router.security === "authenticated" ? { ...config.router, tokens: [...(tokens ?? []), cluster.token] } : config.router);
    } catch (err) {
      await cluster?.close();
      throw err;
    }
    const storage = options.storageInstance ?? (await openStorage(config.storage));
    const errorHook = options.metrics?.error;
    let relay: Relay | undefined;
    // Failures are retried every second, per address: log at most one line per 10 s.
    let lastLog = -Infinity;
    let unlogged = 0;
    const persister = new StatePersister(storage, {
      delayMs: options.persistDelayMs ?? 20,
      onError: (err, address) => {
        if (relay) relay.metricsHooks.error?.("storage");
        else errorHook?.("storage");
        if (performance.now() - lastLog < 10_000) return void unlogged++;
        const more = unlogged ? ` (and ${unlogged} more failures since the last message)` : "";
        log(`relay: storage failed for ${JSON.stringify(address.slice(0, 80))}: ${(err as Error)?.message ?? err}; retrying${more}`);
        lastLog = performance.now();
        unlogged = 0;
      },
    });
    let restored: RestoreReport;
    try {
      restored = cluster ? await cluster.restore(router) : await persister.restore(router);
    } catch (err) {
      await storage.close().catch(() => {});
      await cluster?.close();
      throw err;
    }
    relay = new Relay(config, router, storage, persister, restored, options);
    if (cluster) {
      relay.cluster = cluster;
      cluster.bind(relay.host);
    }
    try {
      await relay.#listen();
    } catch (err) {
      await cluster?.close(); // its Redis connections would keep the process alive
      throw err;
    }
    if (config.serial?.length) {
      try {
        // Loaded only when asked for: it brings the serialport package's native binding.
        const { DeviceBridge } = await import("./serial.js");
        const name = config.router.name;
        for (const spec of config.serial) relay.devices.push(new DeviceBridge(relay.host, spec, { log, ...(name ? { name } : {}) }));
        for (const device of relay.devices) device.start();
      } catch (err) {
        await relay.close();
        throw err;
      }
    }
    return relay;
  }

  #listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.#http.off("listening", onListening);
        reject(err);
      };
      const onListening = () => {
        this.#http.off("error", onError);
        this.#startSweep();
        resolve();
      };
      this.#http.once("error", onError);
      this.#http.once("listening", onListening);
      this.#http.listen(this.config.port, this.config.host);
    });
  }

  /** The TCP port listened on (the real one when `port` was 0). */
  get port(): number {
    const a = this.#http.address();
    return typeof a === "object" && a ? a.port : this.config.port;
  }

  /** The WebSocket URL clients connect to, e.g. `ws://127.0.0.1:7330/`. */
  get url(): string {
    return `ws://${hostForUrl(this.config.host)}:${this.port}/`;
  }

  /** The playground's URL. */
  get httpUrl(): string {
    return `http://${hostForUrl(this.config.host)}:${this.port}/`;
  }

  /** Open WebSocket connections. */
  get connections(): number {
    return this.#peers.size;
  }

  /** Bytes of the frames queued for slow peers, in total (`clawft_relay_queued_bytes`). */
  get queuedBytes(): number {
    let n = 0;
    for (const p of this.#peers) n += p.queuedBytes;
    return n;
  }

  /**
   * Starts the keepalive sweep. Every `pingInterval` s each peer gets a WebSocket ping, and a
   * peer that did not answer the previous one is dropped (its TCP connection is dead: no
   * close will ever come). A session silent for half of `sessionTimeout` gets one CLASP PING:
   * a live client answers PONG, which the router counts as traffic, so only sessions whose
   * client is gone (or does not answer PING) reach the timeout.
   */
  #startSweep(): void {
    const pingMs = this.config.pingInterval * 1000;
    const quietMs = ((this.config.router.sessionTimeout ?? 0) * 1000) / 2;
    const periods = [pingMs, quietMs / 2].filter((ms) => ms > 0);
    if (periods.length === 0) return;
    // Quarter-timeout steps: a quiet session is asked between ½ and ¾ of its timeout.
    const every = Math.max(100, Math.min(...periods));
    this.#lastPing = performance.now();
    this.#sweepTimer = setInterval(() => {
      const now = performance.now();
      const pingNow = pingMs > 0 && now - this.#lastPing >= pingMs - every / 2;
      if (pingNow) this.#lastPing = now;
      for (const p of this.#peers) {
        if (pingNow) {
          if (!p.alive) {
            this.metricsHooks.refused?.("dead_peer");
            p.ws.terminate();
            continue;
          }
          p.alive = false;
          p.ws.ping();
        }
        if (quietMs > 0 && !p.asked && now - p.lastFrame >= quietMs) {
          p.asked = true;
          p.send(PING_FRAME, false);
        }
      }
    }, every);
    this.#sweepTimer.unref();
  }

  #accept(ws: WebSocket, req: IncomingMessage): void {
    ws.on("error", () => this.metricsHooks.error?.("socket"));
    if (this.#closing) {
      ws.close(1001, "relay shutting down");
      return;
    }
    const peer = new WsPeer(ws, req.socket, this);
    const conn = this.host.attach(peer);
    if (conn === 0) {
      this.metricsHooks.refused?.("full");
      ws.close(1013, "router full");
      return;
    }
    peer.conn = conn;
    this.#peers.add(peer);
    if (this.config.helloTimeout > 0) {
      // A connection that never says HELLO must not hold its socket (and a connection slot) forever.
      peer.helloTimer = setTimeout(() => {
        if (!this.#peers.has(peer) || this.host.sessionOf(peer.conn) !== undefined) return;
        this.metricsHooks.refused?.("hello_timeout");
        peer.kill(1008, "no HELLO in time");
      }, this.config.helloTimeout * 1000);
      peer.helloTimer.unref();
    }
    ws.on("pong", () => (peer.alive = true));
    ws.on("message", (data: RawData, isBinary: boolean) => {
      peer.lastFrame = performance.now();
      peer.alive = true;
      peer.asked = false;
      if (!isBinary) {
        this.metricsHooks.error?.("text");
        return;
      }
      this.#receiving = peer;
      try {
        this.host.receive(peer.conn, data as Buffer);
      } finally {
        this.#receiving = undefined;
      }
    });
    ws.on("close", () => peer.gone());
  }

  /**
   * Uncorks `peer`'s socket on the next tick (with every other socket corked meanwhile). The
   * sender of the frame being routed is uncorked last: its own replies (the ACK of a confirm
   * PUBLISH or SET) must not make the subscribers' deliveries wait one more socket write.
   */
  corked(peer: WsPeer): void {
    (peer === this.#receiving ? this.#corkedSenders : this.#corked).push(peer);
    if (this.#uncorkQueued) return;
    this.#uncorkQueued = true;
    process.nextTick(this.#uncork);
  }

  readonly #uncork = (): void => {
    this.#uncorkQueued = false;
    const peers = this.#corked;
    const senders = this.#corkedSenders;
    this.#corked = [];
    this.#corkedSenders = [];
    for (const p of peers) p.uncork();
    for (const p of senders) p.uncork();
  };

  /** Detaches a peer from the router (its socket closed or it was disconnected). */
  detach(peer: WsPeer): void {
    if (!this.#peers.delete(peer)) return;
    this.host.detach(peer.conn, (performance.now() - peer.opened) / 1000);
  }

  async #serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? "/").split("?")[0];
    try {
      if (req.method === "GET" && path === "/metrics") {
        const body = await this.metrics.text();
        res.writeHead(200, { "content-type": this.metrics.contentType }).end(body);
        return;
      }
      if (req.method === "GET" && path === "/sizes.json") {
        const body = await readFile(SIZES).catch(() => undefined);
        if (body) res.writeHead(200, { "content-type": "application/json" }).end(body);
        else res.writeHead(404, { "content-type": "text/plain" }).end("no size report: run node scripts/build.mjs\n");
        return;
      }
      const probe = () => {
        // Plain HTTP probes (as the Rust relay answers them): 200 ok on "/", 404 elsewhere.
        if (path === "/") res.writeHead(200, { "content-type": "text/plain" }).end(req.method === "HEAD" ? undefined : "ok\n");
        else res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      };
      if (this.#static && (req.method === "GET" || req.method === "HEAD")) {
        if (path === "/") req.url = `/${this.#page}`;
        this.#static(req, res, probe);
      } else probe();
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain" }).end(`${(err as Error).message}\n`);
    }
  }

  /**
   * Shuts down: stops accepting, sends every client a close frame (1001, after the frames
   * already queued for it), ends the router's sessions, writes every pending state change,
   * and closes storage. Idempotent.
   * @throws PersistError when pending state could not be written
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#sweepTimer);
    const closed = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    const peers = [...this.#peers];
    await Promise.all(
      peers.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.ws.readyState === p.ws.CLOSED) return resolve();
            p.ws.once("close", () => resolve());
            p.closeWith(1001, "relay shutting down");
            // A peer that does not read its queue gets no more time than the close grace.
            setTimeout(() => p.ws.terminate(), CLOSE_GRACE_MS).unref();
          }),
      ),
    );
    await Promise.all(this.devices.map((d) => d.close()));
    this.host.stop();
    await this.cluster?.close();
    this.#wss.close();
    this.#http.closeAllConnections();
    await closed;
    try {
      await this.persister.flush();
    } finally {
      await this.storage.close();
    }
  }
}

function hostForUrl(host: string): string {
  if (host === "0.0.0.0" || host === "::") return "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

/**
 * {@link RelayMetrics} as Prometheus metrics (prom-client), served as text at the relay's
 * `/metrics`. Each instance has its own registry, so several relays in one process do not
 * collide. Metric names are listed in docs/relay.md §Metrics.
 * @module
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RelayMetrics } from "./metrics.js";

/** Values read when `/metrics` is scraped. */
export interface RelayGauges {
  /** Open transport connections. */
  connections(): number;
  /** Params the router holds. */
  params(): number;
  /** Frames waiting in slow consumers' queues, in total. */
  queued(): number;
}

/** Options of {@link PrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** Metric name prefix. Defaults to `"clawft_relay_"`. */
  prefix?: string;
  /** Also export Node's process metrics (CPU, memory, event loop lag). Defaults to true. */
  processMetrics?: boolean;
}

/** Prometheus implementation of the relay's metric hooks. */
export class PrometheusMetrics implements RelayMetrics {
  /** The registry holding this relay's metrics. */
  readonly registry = new Registry();
  readonly #connections: Counter<"result">;
  readonly #refused;
  readonly #accepted;
  readonly #disconnects: Counter;
  readonly #duration: Histogram;
  readonly #messages: Counter<"type">;
  readonly #byType = new Map<string, Counter.Internal>();
  readonly #received: Counter;
  readonly #fanouts: Counter;
  readonly #deliveries: Counter;
  readonly #state: Counter<"op">;
  readonly #set;
  readonly #deleted;
  readonly #errors: Counter<"category" | "code">;
  readonly #sentFrames: Counter;
  readonly #sentBytes: Counter;
  readonly #dropped: Counter;
  readonly #slow: Counter;
  readonly #step: Histogram;
  #gauges: RelayGauges | undefined;

  constructor(options: PrometheusMetricsOptions = {}) {
    const p = options.prefix ?? "clawft_relay_";
    const registers = [this.registry];
    this.#connections = new Counter({ name: `${p}connections_total`, help: "WebSocket connections opened, by result (accepted, refused: router full)", labelNames: ["result"], registers });
    this.#accepted = this.#connections.labels("accepted");
    this.#refused = this.#connections.labels("refused");
    this.#disconnects = new Counter({ name: `${p}disconnects_total`, help: "Connections closed", registers });
    this.#duration = new Histogram({ name: `${p}connection_seconds`, help: "How long connections lasted", buckets: [1, 10, 60, 600, 3600, 86400], registers });
    this.#messages = new Counter({ name: `${p}messages_total`, help: "Frames received, by CLASP message type", labelNames: ["type"], registers });
    this.#received = new Counter({ name: `${p}received_bytes_total`, help: "Bytes of frames received", registers });
    this.#fanouts = new Counter({ name: `${p}fanouts_total`, help: "SETs and PUBLISHes fanned out", registers });
    this.#deliveries = new Counter({ name: `${p}fanout_deliveries_total`, help: "Subscriber deliveries of fanned-out SETs and PUBLISHes", registers });
    this.#state = new Counter({ name: `${p}state_updates_total`, help: "Param changes persisted, by op (set, delete)", labelNames: ["op"], registers });
    this.#set = this.#state.labels("set");
    this.#deleted = this.#state.labels("delete");
    this.#errors = new Counter({ name: `${p}errors_total`, help: "Errors by category (protocol: ERROR frames sent, with their CLASP code; storage; socket; text)", labelNames: ["category", "code"], registers });
    this.#sentFrames = new Counter({ name: `${p}sent_frames_total`, help: "Frames handed to sockets", registers });
    this.#sentBytes = new Counter({ name: `${p}sent_bytes_total`, help: "Bytes of frames handed to sockets", registers });
    this.#dropped = new Counter({ name: `${p}dropped_frames_total`, help: "Fire-QoS frames dropped for slow consumers", registers });
    this.#slow = new Counter({ name: `${p}slow_disconnects_total`, help: "Slow consumers disconnected (queue over maxQueuePerSession)", registers });
    this.#step = new Histogram({ name: `${p}step_seconds`, help: "Host CPU time of one router step (frame in, frames out)", buckets: [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2], registers });
    // Gauges read through `this.#gauges` at scrape time (set by `observe`).
    const self = this;
    for (const [name, help, key] of [
      ["connections", "Open connections", "connections"],
      ["params", "Params held by the router", "params"],
      ["queued_frames", "Frames queued for slow consumers", "queued"],
    ] as const) {
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          if (self.#gauges) this.set(self.#gauges[key]());
        },
      });
    }
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: p });
  }

  /** Sets where the gauges (connections, params, queued frames) are read from at scrape time. */
  observe(gauges: RelayGauges): void {
    this.#gauges = gauges;
  }

  /** The metrics in the Prometheus text exposition format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /** Content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  connect(refused: boolean): void {
    (refused ? this.#refused : this.#accepted).inc();
  }

  disconnect(seconds: number): void {
    this.#disconnects.inc();
    this.#duration.observe(seconds);
  }

  message(type: string, bytes: number): void {
    let c = this.#byType.get(type);
    if (!c) this.#byType.set(type, (c = this.#messages.labels(type)));
    c.inc();
    this.#received.inc(bytes);
  }

  fanout(count: number): void {
    this.#fanouts.inc();
    this.#deliveries.inc(count);
  }

  stateUpdate(deleted: boolean): void {
    (deleted ? this.#deleted : this.#set).inc();
  }

  error(category: string, code?: number): void {
    this.#errors.labels(category, code === undefined ? "" : String(code)).inc();
  }

  sent(frames: number, bytes: number): void {
    this.#sentFrames.inc(frames);
    this.#sentBytes.inc(bytes);
  }

  dropped(): void {
    this.#dropped.inc();
  }

  slowDisconnect(): void {
    this.#slow.inc();
  }

  step(seconds: number): void {
    this.#step.observe(seconds);
  }
}

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
  /** Bytes of the frames waiting in slow consumers' queues, in total. */
  queuedBytes(): number;
}

/** Options of {@link PrometheusMetrics}. */
export interface PrometheusMetricsOptions {
  /** Metric name prefix. Defaults to `"clawft_relay_"`. */
  prefix?: string;
  /** Also export Node's process metrics (CPU, memory, event loop lag). Defaults to true. */
  processMetrics?: boolean;
}

/**
 * Prometheus implementation of the relay's metric hooks. The hooks only add to plain numbers
 * (they run for every frame); the prom-client metrics take them when scraped.
 */
export class PrometheusMetrics implements RelayMetrics {
  /** The registry holding this relay's metrics. */
  readonly registry = new Registry();
  readonly #duration: Histogram;
  /** Counts not yet handed to prom-client, by metric name (and label key). */
  readonly #n = {
    accepted: 0,
    refused: 0,
    disconnects: 0,
    received: 0,
    fanouts: 0,
    deliveries: 0,
    set: 0,
    deleted: 0,
    sentFrames: 0,
    sentBytes: 0,
    dropped: 0,
    slow: 0,
    stepSeconds: 0,
    steps: 0,
  };
  readonly #byType = new Map<string, number>();
  readonly #errors = new Map<string, number>();
  readonly #refusals = new Map<string, number>();
  #gauges: RelayGauges | undefined;

  constructor(options: PrometheusMetricsOptions = {}) {
    const p = options.prefix ?? "clawft_relay_";
    const registers = [this.registry];
    const n = this.#n;
    /** A counter fed from `#n` fields at scrape time. */
    const counter = (name: string, help: string, fields: Partial<Record<string, keyof typeof n>>, labelName?: string) =>
      new Counter({
        name: `${p}${name}`,
        help,
        registers,
        labelNames: labelName ? [labelName] : [],
        collect() {
          for (const [label, field] of Object.entries(fields)) {
            const v = n[field!];
            n[field!] = 0;
            if (labelName) this.labels(label).inc(v);
            else this.inc(v);
          }
        },
      });
    const byLabel = (name: string, help: string, labelNames: string[], counts: Map<string, number>) =>
      new Counter({
        name: `${p}${name}`,
        help,
        registers,
        labelNames,
        collect() {
          for (const [key, v] of counts) this.labels(...key.split("|")).inc(v);
          counts.clear();
        },
      });
    counter("connections_total", "WebSocket connections opened, by result (accepted, refused: router full)", { accepted: "accepted", refused: "refused" }, "result");
    counter("disconnects_total", "Connections closed", { "": "disconnects" });
    this.#duration = new Histogram({ name: `${p}connection_seconds`, help: "How long connections lasted", buckets: [1, 10, 60, 600, 3600, 86400], registers });
    byLabel("messages_total", "Frames received, by CLASP message type", ["type"], this.#byType);
    counter("received_bytes_total", "Bytes of frames received", { "": "received" });
    counter("fanouts_total", "SETs and PUBLISHes fanned out", { "": "fanouts" });
    counter("fanout_deliveries_total", "Subscriber deliveries of fanned-out SETs and PUBLISHes", { "": "deliveries" });
    counter("state_updates_total", "Param changes persisted, by op (set, delete)", { set: "set", delete: "deleted" }, "op");
    byLabel("errors_total", "Errors by category (protocol: ERROR frames sent, with their CLASP code; storage; socket; text)", ["category", "code"], this.#errors);
    counter("sent_frames_total", "Frames handed to sockets", { "": "sentFrames" });
    counter("sent_bytes_total", "Bytes of frames handed to sockets", { "": "sentBytes" });
    counter("dropped_frames_total", "Fire-QoS frames dropped for slow consumers", { "": "dropped" });
    counter("slow_disconnects_total", "Slow consumers disconnected (queue over maxQueuePerSession frames or maxQueueBytes bytes)", { "": "slow" });
    byLabel("refusals_total", "Clients refused or cut off by the relay, by reason (subprotocol, full, hello_timeout, idle, dead_peer)", ["reason"], this.#refusals);
    counter("steps_total", "Router steps (frames received, ticks)", { "": "steps" });
    counter("step_seconds_total", "Host time spent in router steps (frame in, frames out), seconds", { "": "stepSeconds" });
    // Gauges read through `this.#gauges` at scrape time (set by `observe`).
    const self = this;
    for (const [name, help, key] of [
      ["connections", "Open connections", "connections"],
      ["params", "Params held by the router", "params"],
      ["queued_frames", "Frames queued for slow consumers", "queued"],
      ["queued_bytes", "Bytes of the frames queued for slow consumers", "queuedBytes"],
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

  /** Sets where the gauges (connections, params, queued frames and bytes) are read from at scrape time. */
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
    if (refused) this.#n.refused++;
    else this.#n.accepted++;
  }

  disconnect(seconds: number): void {
    this.#n.disconnects++;
    this.#duration.observe(seconds);
  }

  message(type: string, bytes: number): void {
    this.#byType.set(type, (this.#byType.get(type) ?? 0) + 1);
    this.#n.received += bytes;
  }

  fanout(count: number): void {
    this.#n.fanouts++;
    this.#n.deliveries += count;
  }

  stateUpdate(deleted: boolean): void {
    if (deleted) this.#n.deleted++;
    else this.#n.set++;
  }

  error(category: string, code?: number): void {
    const key = `${category}|${code ?? ""}`;
    this.#errors.set(key, (this.#errors.get(key) ?? 0) + 1);
  }

  sent(frames: number, bytes: number): void {
    this.#n.sentFrames += frames;
    this.#n.sentBytes += bytes;
  }

  dropped(): void {
    this.#n.dropped++;
  }

  slowDisconnect(): void {
    this.#n.slow++;
  }

  refused(reason: string): void {
    this.#refusals.set(reason, (this.#refusals.get(reason) ?? 0) + 1);
  }

  step(seconds: number): void {
    this.#n.steps++;
    this.#n.stepSeconds += seconds;
  }
}

/**
 * Carries out a MiniRouter's steps for a set of transport peers: the part of a relay that
 * does not depend on the transport, shared by the Node relay (WebSocket) and the in-browser
 * hub (MessagePort / BroadcastChannel). Platform-neutral.
 *
 * For each step: every frame becomes one shared view (never re-encoded per subscriber) and
 * is handed to each peer a delivery names; `close` events close their peer after its frames;
 * `state` events go to the persister; the rest feed the metrics. Ticks run at the time the
 * router asks for, at least once a second.
 * @module
 */
import type { MiniRouter, RouterStep } from "../clasp/router.js";
import { messageTypeName, type RelayMetrics } from "./metrics.js";
import type { StatePersister } from "./persist.js";

/** One transport connection as the host sees it. */
export interface HostPeer {
  /**
   * Sends one frame. `droppable` marks a fire-QoS frame that is not a reply to this peer's
   * own request: a peer that cannot keep up may drop it (and report it).
   */
  send(frame: Uint8Array, droppable: boolean): void;
  /** Closes the connection once the frames already sent are flushed; `code` is the CLASP code (0: none). */
  close(code: number): void;
}

/** Options of a {@link RouterHost}. */
export interface RouterHostOptions {
  /** Where param changes are persisted. Defaults to none (state lives in memory only). */
  persister?: StatePersister;
  /** Metric hooks. Defaults to none. */
  metrics?: RelayMetrics;
  /**
   * Turns a frame into what the peers' sockets send, once per frame (the relay makes a Node
   * Buffer view, so `ws` need not wrap it again for every recipient). Defaults to the frame.
   */
  wrapFrame?: (frame: Uint8Array) => Uint8Array;
}

/** Longest wait between ticks, ms: TTLs, idle sessions and garbage collection need them. */
const MAX_TICK_MS = 1000;
/** Messages after which a tick is run soon, so the core collects its garbage under load. */
const TICK_EVERY_MESSAGES = 4096;

/** Runs a router for peers: connect, receive, disconnect, ticks. */
export class RouterHost {
  readonly router: MiniRouter;
  readonly #persister: StatePersister | undefined;
  readonly #metrics: RelayMetrics;
  readonly #wrap: ((frame: Uint8Array) => Uint8Array) | undefined;
  /** Peers by connection handle. */
  readonly #peers: Array<HostPeer | undefined> = [];
  #connections = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #messages = 0;
  #stopped = false;
  /** Set while a step is carried out: the router reuses its step object, so no call into it may happen then. */
  #applying = false;
  /** Detaches requested during a step (a peer cut off for its queue), done right after it. */
  #detachLater: Array<[number, number]> = [];

  constructor(router: MiniRouter, options: RouterHostOptions = {}) {
    this.router = router;
    this.#persister = options.persister;
    this.#metrics = options.metrics ?? {};
    this.#wrap = options.wrapFrame;
    this.#schedule(MAX_TICK_MS);
  }

  /** Open connections. */
  get connections(): number {
    return this.#connections;
  }

  /**
   * Attaches a new peer.
   * @returns its connection handle, or 0 when the router is full (close the peer with 1013)
   */
  attach(peer: HostPeer): number {
    const conn = this.#stopped ? 0 : this.router.connect();
    this.#metrics.connect?.(conn === 0);
    if (conn === 0) return 0;
    this.#peers[conn] = peer;
    this.#connections++;
    return conn;
  }

  /** Hands the router one frame `conn` sent, and carries out the step. */
  receive(conn: number, frame: Uint8Array): void {
    if (this.#stopped || !this.#peers[conn]) return;
    const t0 = performance.now();
    const step = this.router.receive(conn, frame);
    // A gesture move waits in the router until a tick flushes it (16 ms coalescing window).
    const due = step.due;
    this.apply(step, conn);
    this.#metrics.step?.((performance.now() - t0) / 1000);
    if (due > 0) this.#schedule(Math.max(0, Math.ceil((due - (performance.timeOrigin + performance.now()) * 1000) / 1000)));
    if (++this.#messages >= TICK_EVERY_MESSAGES) {
      this.#messages = 0;
      this.#schedule(0);
    }
  }

  /** Detaches `conn` (its transport closed): its session, subscriptions and locks end. */
  detach(conn: number, seconds = 0): void {
    if (!this.#peers[conn]) return;
    if (this.#applying) return void this.#detachLater.push([conn, seconds]);
    this.#peers[conn] = undefined;
    this.#connections--;
    this.#metrics.disconnect?.(seconds);
    this.apply(this.router.disconnect(conn), 0);
  }

  /**
   * Carries out a step: deliveries, then events. `from` is the connection whose frame caused
   * it (0 for ticks): fire-QoS frames to other peers are droppable, replies to `from` are not.
   */
  apply(step: RouterStep, from: number): void {
    this.#applying = true;
    try {
      this.#carryOut(step, from);
    } finally {
      this.#applying = false;
    }
    while (this.#detachLater.length) {
      const [conn, seconds] = this.#detachLater.shift()!;
      this.detach(conn, seconds);
    }
  }

  #carryOut(step: RouterStep, from: number): void {
    const { frames, qos, deliveries, events } = step;
    const peers = this.#peers;
    const wrap = this.#wrap;
    if (wrap) for (let i = 0; i < frames.length; i++) frames[i] = wrap(frames[i]!);
    let bytes = 0;
    for (let i = 0; i < deliveries.length; i += 2) {
      const conn = deliveries[i]!;
      const index = deliveries[i + 1]!;
      const peer = peers[conn];
      if (!peer) continue;
      const frame = frames[index]!;
      bytes += frame.length;
      peer.send(frame, qos[index] === 0 && conn !== from);
    }
    const m = this.#metrics;
    if (deliveries.length) m.sent?.(deliveries.length >> 1, bytes);
    for (const ev of events) {
      switch (ev.type) {
        case "state":
          m.stateUpdate?.(ev.record === null);
          this.#persister?.put(ev.address, ev.record);
          break;
        case "close":
          peers[ev.conn]?.close(ev.code);
          break;
        case "message":
          m.message?.(messageTypeName(ev.messageType), ev.bytes);
          break;
        case "fanout":
          m.fanout?.(ev.count);
          break;
        case "error":
          m.error?.("protocol", ev.code);
          break;
        default:
          break;
      }
    }
  }

  /** Makes sure a tick runs within `ms`. */
  #schedule(ms: number): void {
    if (this.#stopped) return;
    const at = performance.now() + ms;
    if (at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), ms);
    // Ticks alone do not keep a Node process alive (the relay's server does).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    const step = this.router.tick();
    this.apply(step, 0);
    const wait = step.next > 0 ? (step.next - (performance.timeOrigin + performance.now()) * 1000) / 1000 : MAX_TICK_MS;
    this.#schedule(Math.max(0, Math.min(MAX_TICK_MS, Math.ceil(wait))));
  }

  /**
   * Stops routing: frames received later are ignored, ticks stop, every peer is detached
   * (sessions end). Call after closing the transports; flush the persister afterwards.
   */
  stop(): void {
    if (this.#stopped) return;
    for (let conn = 1; conn < this.#peers.length; conn++) if (this.#peers[conn]) this.detach(conn);
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

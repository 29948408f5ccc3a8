/**
 * A CLASP router hub that runs in the browser (a Web Worker, or a page): the wasm MiniRouter
 * for apps that need a hub and no server. Pages reach it over MessagePorts (handed to
 * {@link RouterHub.connect}) and other tabs over a BroadcastChannel; params persist to
 * IndexedDB, so a restarted hub has its state and revisions back.
 *
 * In a worker, {@link exposeRouterHub} makes the hub reachable through comlink; pages use
 * `startWorkerHub` (worker-hub.ts). docs/relay.md §In-browser hub.
 * @module
 */
import { expose, type Endpoint } from "comlink";
import { MiniRouter, type RouterConfig } from "../clasp/router.js";
import type { Storage } from "../storage/index.js";
import { HUB_READY, hubLockName, frameBuffer, type PortControl, type PortLike } from "../transports/port.js";
import { RouterHost, wsClose, type HostPeer } from "./host.js";
import type { RelayMetrics } from "./metrics.js";
import { StatePersister, type RestoreReport } from "./persist.js";

/** Options of {@link RouterHub.start}. */
export interface RouterHubOptions {
  /** Router identity and limits. Defaults to `{ name: "clawft hub" }`. */
  router?: RouterConfig;
  /**
   * Where params persist. Defaults to IndexedDB (database `clawft-hub`, store `params`) when
   * IndexedDB exists, else nothing; false for nothing.
   */
  storage?: Storage | false;
  /** BroadcastChannel to serve other tabs on, or false. Defaults to `"clawft-hub"`. */
  channel?: string | false;
  /** Milliseconds state changes are gathered before they are written. Defaults to 20. */
  persistDelayMs?: number;
  /** Metric hooks. */
  metrics?: RelayMetrics;
}

/** Thrown when another hub already serves the BroadcastChannel (it holds the channel's Web Lock). */
export class HubBusyError extends Error {
  override name = "HubBusyError";
}

/** Counters of a running hub. */
export interface HubStats {
  /** Open connections (ports and channel clients). */
  connections: number;
  /** Params the router holds. */
  params: number;
  /** What was restored from storage at start. */
  restored: RestoreReport;
  /** State changes not yet durable. */
  backlog: number;
}

/** A hub connection over a MessagePort. MessagePorts have no backpressure: nothing is dropped. */
class PortPeer implements HostPeer {
  conn = 0;
  constructor(readonly port: PortLike) {}
  send(frame: Uint8Array): void {
    const buf = frameBuffer(frame);
    this.port.postMessage(buf, [buf]);
  }
  close(code: number): void {
    const [ws, reason] = wsClose(code);
    this.port.postMessage({ t: "close", code: ws, reason } satisfies PortControl);
  }
}

/** A hub connection of another tab, over the BroadcastChannel. */
class ChannelPeer implements HostPeer {
  conn = 0;
  constructor(
    readonly channel: BroadcastChannel,
    readonly id: string,
  ) {}
  send(frame: Uint8Array): void {
    this.channel.postMessage({ t: "frame", to: this.id, data: frameBuffer(frame) } satisfies PortControl);
  }
  close(code: number): void {
    const [ws, reason] = wsClose(code);
    this.channel.postMessage({ t: "close", to: this.id, code: ws, reason } satisfies PortControl);
  }
}

/** A running in-browser hub. */
export class RouterHub {
  readonly host: RouterHost;
  readonly persister: StatePersister | undefined;
  readonly restored: RestoreReport;
  readonly #storage: Storage | undefined;
  #channel: BroadcastChannel | undefined;
  readonly #channelPeers = new Map<string, ChannelPeer>();
  #releaseLock: (() => void) | undefined;
  readonly #ports = new Map<PortLike, () => void>();

  private constructor(host: RouterHost, storage: Storage | undefined, persister: StatePersister | undefined, restored: RestoreReport) {
    this.host = host;
    this.#storage = storage;
    this.persister = persister;
    this.restored = restored;
  }

  /**
   * Loads the router, restores persisted params, and starts serving the channel.
   * @throws HubBusyError when another hub serves the channel; RouterConfigError for a bad config
   */
  static async start(options: RouterHubOptions = {}): Promise<RouterHub> {
    const channel = options.channel === undefined ? "clawft-hub" : options.channel;
    const release = channel ? await takeLock(channel) : undefined;
    if (channel && release === undefined && (await hubAnswers(channel))) {
      throw new HubBusyError(`another hub already serves "${channel}"`);
    }
    try {
      const router = await MiniRouter.load({ name: "clawft hub", ...options.router });
      let storage = options.storage === false ? undefined : options.storage;
      if (storage === undefined && options.storage !== false && typeof indexedDB !== "undefined") {
        const { IndexedDbStorage } = await import("../storage/indexeddb.js");
        storage = new IndexedDbStorage("clawft-hub", "params");
      }
      const persister = storage ? new StatePersister(storage, { delayMs: options.persistDelayMs ?? 20, prefix: "hub/" }) : undefined;
      const restored = persister ? await persister.restore(router) : { restored: 0, refused: 0, unreadable: 0 };
      const host = new RouterHost(router, { ...(persister ? { persister } : {}), ...(options.metrics ? { metrics: options.metrics } : {}) });
      const hub = new RouterHub(host, storage, persister, restored);
      hub.#releaseLock = release;
      if (channel) hub.#serveChannel(channel);
      return hub;
    } catch (err) {
      release?.();
      throw err;
    }
  }

  /** Attaches a connection over `port` (one end of a MessageChannel); the other end is the client's. */
  connect(port: PortLike): void {
    const peer = new PortPeer(port);
    const conn = this.host.attach(peer);
    if (conn === 0) {
      port.postMessage({ t: "close", code: 1013, reason: "router full" } satisfies PortControl);
      return;
    }
    peer.conn = conn;
    const listener = (ev: MessageEvent) => {
      if (ev.data instanceof ArrayBuffer) this.host.receive(conn, new Uint8Array(ev.data));
      else if ((ev.data as PortControl)?.t === "close") detach();
    };
    const detach = () => {
      port.removeEventListener("message", listener);
      this.#ports.delete(port);
      this.host.detach(conn);
    };
    this.#ports.set(port, detach);
    port.addEventListener("message", listener);
    port.start?.();
    port.postMessage({ t: "open" } satisfies PortControl);
  }

  #serveChannel(name: string): void {
    const ch = new BroadcastChannel(name);
    this.#channel = ch;
    ch.onmessage = (ev: MessageEvent) => {
      const m = ev.data as PortControl | null;
      if (!m || typeof m !== "object") return; // other users of the channel
      if (m.t === "who") {
        ch.postMessage({ t: "here" } satisfies PortControl);
      } else if (m.t === "hello" && typeof m.from === "string") {
        const old = this.#channelPeers.get(m.from);
        if (old) this.host.detach(old.conn); // a repeated hello replaces the connection; the old one would linger
        const peer = new ChannelPeer(ch, m.from);
        const conn = this.host.attach(peer);
        if (conn === 0) return void ch.postMessage({ t: "close", to: m.from, code: 1013, reason: "router full" } satisfies PortControl);
        peer.conn = conn;
        this.#channelPeers.set(m.from, peer);
        ch.postMessage({ t: "open", to: m.from } satisfies PortControl);
      } else if (m.t === "frame" && m.from) {
        const peer = this.#channelPeers.get(m.from);
        if (peer && m.data instanceof ArrayBuffer) this.host.receive(peer.conn, new Uint8Array(m.data));
      } else if (m.t === "close" && m.from) {
        const peer = this.#channelPeers.get(m.from);
        if (peer) {
          this.#channelPeers.delete(m.from);
          this.host.detach(peer.conn);
        }
      }
    };
  }

  /** Connections, params, what was restored, and the persistence backlog. */
  stats(): HubStats {
    return { connections: this.host.connections, params: this.host.router.size, restored: this.restored, backlog: this.persister?.backlog ?? 0 };
  }

  /** Waits until every state change so far is durable. @throws PersistError */
  async flush(): Promise<void> {
    await this.persister?.flush();
  }

  /** Closes every connection (1001), stops routing, writes pending state, releases the channel. */
  async close(): Promise<void> {
    for (const [port, detach] of [...this.#ports]) {
      port.postMessage({ t: "close", code: 1001, reason: "hub stopped" } satisfies PortControl);
      detach();
    }
    this.#channel?.postMessage({ t: "bye" } satisfies PortControl);
    this.#channel?.close();
    this.#channel = undefined;
    this.host.stop();
    try {
      await this.persister?.flush();
    } finally {
      await this.#storage?.close();
      this.#releaseLock?.();
    }
  }
}

/**
 * Takes the Web Lock of `channel` ({@link hubLockName}) for as long as the hub runs; resolves
 * to its release function, or undefined where there are no Web Locks.
 * @throws HubBusyError when another context holds it
 */
async function takeLock(channel: string): Promise<(() => void) | undefined> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (!locks) return undefined;
  return new Promise((resolve, reject) => {
    locks
      .request(hubLockName(channel), { ifAvailable: true }, (lock) => {
        if (!lock) {
          reject(new HubBusyError(`another hub already serves "${channel}"`));
          return undefined;
        }
        return new Promise<void>((release) => resolve(release));
      })
      .catch(reject);
  });
}

/** Whether a hub answers on `channel` within `ms` (for contexts without Web Locks). */
async function hubAnswers(channel: string, ms = 150): Promise<boolean> {
  const ch = new BroadcastChannel(channel);
  try {
    return await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      ch.onmessage = (ev: MessageEvent) => {
        if ((ev.data as PortControl)?.t === "here") {
          clearTimeout(timer);
          resolve(true);
        }
      };
      ch.postMessage({ t: "who" } satisfies PortControl);
    });
  } finally {
    ch.close();
  }
}

/** Options of the hub a worker starts for {@link exposeRouterHub}: storage is chosen by name. */
export type WorkerHubOptions = Omit<RouterHubOptions, "storage" | "metrics"> & {
  /** `"indexeddb"` (the default), `"memory"` (nothing survives) or false. */
  storage?: "indexeddb" | "memory" | false;
};

/** The API a hub worker exposes through comlink. */
export interface RouterHubWorkerApi {
  /** Starts the hub; resolves with what was restored. @throws HubBusyError, RouterConfigError */
  start(options?: WorkerHubOptions): Promise<RestoreReport>;
  /** Attaches a connection over a transferred MessagePort. */
  connect(port: MessagePort): void;
  /** The hub's counters. @throws Error when the hub is not started */
  stats(): HubStats;
  /** Waits until every state change so far is durable. @throws PersistError; Error when not started */
  flush(): Promise<void>;
  /** Stops the hub (see {@link RouterHub.close}); a no-op when it is not started. */
  close(): Promise<void>;
}

/** What {@link exposeRouterHub} posts once it listens (defined with the port protocol, transports/port.ts). */
export { HUB_READY };

/**
 * Serves a {@link RouterHub} through comlink on `endpoint` (the worker's global scope by
 * default): workers/router.worker.ts is this one call. Posts `{ t: HUB_READY }` when it
 * listens: messages sent to a module worker before then are lost, so callers wait for it.
 */
export function exposeRouterHub(endpoint: Endpoint = globalThis as unknown as Endpoint): void {
  let hub: RouterHub | undefined;
  const need = () => {
    if (!hub) throw new Error("hub not started: call start() first");
    return hub;
  };
  const api: RouterHubWorkerApi = {
    async start(options = {}) {
      if (hub) return hub.restored;
      const { storage, ...rest } = options;
      let store: Storage | false | undefined;
      if (storage === "memory") store = new (await import("../storage/memory.js")).MemoryStorage();
      else if (storage === false) store = false;
      hub = await RouterHub.start({ ...rest, ...(store !== undefined ? { storage: store } : {}) });
      return hub.restored;
    },
    connect: (port) => need().connect(port),
    stats: () => need().stats(),
    flush: () => need().flush(),
    async close() {
      await hub?.close();
      hub = undefined;
    },
  };
  expose(api, endpoint);
  endpoint.postMessage({ t: HUB_READY });
}

/**
 * CLASP frames between browser contexts, to an in-browser router hub (src/relay/hub.ts):
 * over a MessagePort (a page and the hub's Worker) or over a BroadcastChannel (any tab or
 * worker of the same origin, without a port handed over).
 *
 * Port protocol: an ArrayBuffer is one frame; `{ t: "open" }` (hub → client: attached),
 * `{ t: "close", code, reason }` (either way). Channel protocol: the same, in envelopes
 * `{ t, from | to, data? }` addressed by a random client id, plus `{ t: "hello", from }` to
 * attach and `{ t: "bye" }` when the hub stops. The hub holds the Web Lock
 * `clawft-hub:<channel>` while it runs, so clients also notice a hub whose tab was closed,
 * and a second hub knows the channel is taken (without Web Locks — not a secure context —
 * it asks `{ t: "who" }` and a hub answers `{ t: "here" }`).
 * @module
 */
import { TransportError, type Transport, type TransportHandlers } from "./index.js";

/** Something that posts and receives messages: a MessagePort, a Worker, a worker's global scope. */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
  removeEventListener(type: "message", listener: (ev: MessageEvent) => void): void;
  /** MessagePorts need it to start delivering messages. */
  start?(): void;
  close?(): void;
}

/** A control message of the port and channel protocols. */
export type PortControl =
  | { t: "open"; to?: string }
  | { t: "close"; code?: number; reason?: string; to?: string; from?: string }
  | { t: "hello"; from: string }
  | { t: "frame"; data: ArrayBuffer; to?: string; from?: string }
  | { t: "bye" }
  /** Is a hub serving this channel? (used where Web Locks are missing), and its answer. */
  | { t: "who" }
  | { t: "here" };

/**
 * What a hub worker posts on its global scope once it listens (`{ t: HUB_READY }`): messages
 * sent to a module worker before its modules have loaded are lost, so the page waits for it.
 */
export const HUB_READY = "clawft-hub-ready";

/** The Web Lock a hub holds while it serves `channel`. */
export function hubLockName(channel: string): string {
  return `clawft-hub:${channel}`;
}

/** A copy of `frame` in its own ArrayBuffer, ready to transfer. */
export function frameBuffer(frame: Uint8Array): ArrayBuffer {
  return frame.slice().buffer as ArrayBuffer;
}

/** Options of the port transports. */
export interface PortTransportOptions {
  /** Milliseconds to wait for the hub to attach the connection. Defaults to 5,000. */
  timeoutMs?: number;
}

/**
 * Frames over a MessagePort to a hub (get the port from `WorkerHub.connect()` or hand one
 * end of a MessageChannel to `RouterHub.connect`).
 */
export class MessagePortTransport implements Transport {
  #handlers: TransportHandlers | undefined;
  #open = false;
  #closed = false;
  readonly #timeout: number;
  readonly #listener = (ev: MessageEvent) => this.#receive(ev.data);
  #opened: ((ok: boolean, why?: string) => void) | undefined;

  constructor(
    readonly port: PortLike,
    options: PortTransportOptions = {},
  ) {
    this.#timeout = options.timeoutMs ?? 5000;
  }

  open(handlers: TransportHandlers): Promise<void> {
    if (this.#handlers) return Promise.reject(new TransportError("transport already opened (a transport is one connection)"));
    this.#handlers = handlers;
    this.port.addEventListener("message", this.#listener);
    this.port.start?.();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A hub that attaches the port later reads this first and ends the session it made.
        this.port.postMessage({ t: "close", code: 1000, reason: "timed out" } satisfies PortControl);
        this.#opened?.(false, `no hub answered within ${this.#timeout} ms`);
      }, this.#timeout);
      this.#opened = (ok, why) => {
        clearTimeout(timer);
        this.#opened = undefined;
        if (ok) resolve();
        else {
          this.#shut();
          reject(new TransportError(`hub refused the connection: ${why}`));
        }
      };
    });
  }

  #receive(data: unknown): void {
    if (data instanceof ArrayBuffer) {
      if (this.#open) this.#handlers!.frame(new Uint8Array(data));
      return;
    }
    const m = data as PortControl;
    if (m?.t === "open") {
      this.#open = true;
      this.#opened?.(true);
    } else if (m?.t === "close") {
      if (this.#opened) this.#opened(false, `${m.code ?? 1000} ${m.reason ?? ""}`.trim());
      else this.#finish(m.code ?? 1000, m.reason ?? "");
    }
  }

  #shut(): void {
    this.#open = false;
    this.#closed = true;
    this.port.removeEventListener("message", this.#listener);
    this.port.close?.();
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return;
    this.#shut();
    this.#handlers?.close({ code, reason });
  }

  send(frame: Uint8Array): void {
    if (!this.#open) throw new TransportError("port transport is not open");
    const buf = frameBuffer(frame);
    this.port.postMessage(buf, [buf]);
  }

  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    this.port.postMessage({ t: "close", code, reason } satisfies PortControl);
    this.#finish(code, reason);
  }
}

/**
 * Frames over a BroadcastChannel to the hub serving `channel` (in any tab or worker of the
 * origin). Every context on the channel sees every envelope, so prefer a MessagePort when
 * the hub's Worker is at hand; this is for tabs that have no port to it.
 */
export class BroadcastChannelTransport implements Transport {
  readonly id = crypto.randomUUID();
  #channel: BroadcastChannel | undefined;
  #handlers: TransportHandlers | undefined;
  #open = false;
  #closed = false;
  readonly #timeout: number;
  #lockAbort: AbortController | undefined;
  /** A closing tab says goodbye, so the hub ends its session at once. */
  readonly #onPageHide = () => this.close(1001, "page closed");

  constructor(
    readonly channel = "clawft-hub",
    options: PortTransportOptions = {},
  ) {
    this.#timeout = options.timeoutMs ?? 5000;
  }

  open(handlers: TransportHandlers): Promise<void> {
    if (this.#channel) return Promise.reject(new TransportError("transport already opened (a transport is one connection)"));
    this.#handlers = handlers;
    const ch = new BroadcastChannel(this.channel);
    this.#channel = ch;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        // A hub that answers the hello late sees this after it and ends the session it made.
        ch.postMessage({ t: "close", from: this.id, code: 1000, reason: "timed out" } satisfies PortControl);
        fail(`no hub answered on channel "${this.channel}" within ${this.#timeout} ms`);
      }, this.#timeout);
      const fail = (why: string) => {
        clearTimeout(timer);
        this.#shut();
        reject(new TransportError(why));
      };
      ch.onmessage = (ev: MessageEvent) => {
        const m = ev.data as PortControl | null;
        if (!m || typeof m !== "object") return; // other users of the channel
        if (m.t === "bye") {
          if (this.#open) this.#finish(1001, "hub stopped");
          return;
        }
        if (!("to" in m) || m.to !== this.id) return;
        if (m.t === "frame") {
          if (this.#open && m.data instanceof ArrayBuffer) this.#handlers!.frame(new Uint8Array(m.data));
        } else if (m.t === "open" && !this.#open) {
          clearTimeout(timer);
          this.#open = true;
          this.#watchHub();
          globalThis.addEventListener?.("pagehide", this.#onPageHide);
          resolve();
        } else if (m.t === "close") {
          if (this.#open) this.#finish(m.code ?? 1000, m.reason ?? "");
          else fail(`hub refused the connection: ${m.code ?? 1000} ${m.reason ?? ""}`.trim());
        }
      };
      ch.postMessage({ t: "hello", from: this.id } satisfies PortControl);
    });
  }

  /** Closes this connection when the hub's lock is released (its tab or worker went away). */
  #watchHub(): void {
    const locks = (globalThis.navigator as Navigator | undefined)?.locks;
    if (!locks) return;
    this.#lockAbort = new AbortController();
    locks
      .request(hubLockName(this.channel), { signal: this.#lockAbort.signal }, () => {
        this.#finish(1001, "hub went away");
      })
      .catch(() => {});
  }

  #shut(): void {
    this.#open = false;
    this.#closed = true;
    this.#lockAbort?.abort();
    this.#channel?.close();
    globalThis.removeEventListener?.("pagehide", this.#onPageHide);
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return;
    this.#shut();
    this.#handlers?.close({ code, reason });
  }

  send(frame: Uint8Array): void {
    if (!this.#open) throw new TransportError("channel transport is not open");
    this.#channel!.postMessage({ t: "frame", from: this.id, data: frameBuffer(frame) } satisfies PortControl);
  }

  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    this.#channel?.postMessage({ t: "close", from: this.id, code, reason } satisfies PortControl);
    this.#finish(code, reason);
  }
}

/**
 * CLASP over WebSocket (clasp-wire.md §9): subprotocol `clasp`, binary messages, exactly
 * one frame per message. Uses the platform's WebSocket (browsers, Node ≥ 22, workers) or
 * one you pass (Node 20: `WebSocket` from the `ws` package).
 * @module
 */
import { TransportError, type Transport, type TransportHandlers } from "./index.js";

/** The WebSocket constructor a transport uses (the standard one, or a compatible class such as ws's). */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocket;

/** Options of a {@link WebSocketTransport}. */
export interface WebSocketTransportOptions {
  /** WebSocket class to use. Defaults to `globalThis.WebSocket`. */
  WebSocket?: WebSocketConstructor;
  /** Milliseconds to wait for the socket to open. Defaults to 10,000. */
  timeoutMs?: number;
}

/** A WebSocket connection to a CLASP relay, e.g. `new WebSocketTransport("ws://127.0.0.1:7330/")`. */
export class WebSocketTransport implements Transport {
  #ws: WebSocket | undefined;
  readonly #ctor: WebSocketConstructor | undefined;
  readonly #timeout: number;

  constructor(
    readonly url: string,
    options: WebSocketTransportOptions = {},
  ) {
    this.#ctor = options.WebSocket ?? (globalThis.WebSocket as WebSocketConstructor | undefined);
    this.#timeout = options.timeoutMs ?? 10_000;
  }

  open(handlers: TransportHandlers): Promise<void> {
    if (this.#ws) return Promise.reject(new TransportError("transport already opened (a transport is one connection)"));
    if (!this.#ctor) return Promise.reject(new TransportError("no WebSocket class: pass options.WebSocket (e.g. from the ws package)"));
    const ws = new this.#ctor(this.url, "clasp");
    this.#ws = ws;
    ws.binaryType = "arraybuffer";
    return new Promise<void>((resolve, reject) => {
      let opened = false;
      const timer = setTimeout(() => {
        reject(new TransportError(`${this.url}: no connection within ${this.#timeout} ms`));
        ws.close();
      }, this.#timeout);
      ws.onopen = () => {
        clearTimeout(timer);
        if (ws.protocol !== "clasp") {
          reject(new TransportError(`${this.url}: the server did not accept the "clasp" subprotocol`));
          ws.close(1002, "subprotocol clasp required");
          return;
        }
        opened = true;
        resolve();
      };
      ws.onmessage = (ev: MessageEvent) => {
        // Text messages are not CLASP; upstream clients ignore them too.
        if (ev.data instanceof ArrayBuffer) handlers.frame(new Uint8Array(ev.data));
      };
      ws.onerror = () => {
        if (!opened) {
          clearTimeout(timer);
          reject(new TransportError(`${this.url}: connection failed`));
        }
      };
      ws.onclose = (ev: CloseEvent) => {
        clearTimeout(timer);
        if (!opened) reject(new TransportError(`${this.url}: closed before opening (${ev.code}${ev.reason ? ` ${ev.reason}` : ""})`));
        else handlers.close({ code: ev.code, reason: ev.reason });
      };
    });
  }

  send(frame: Uint8Array): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== 1) throw new TransportError(`${this.url}: not open`);
    ws.send(frame);
  }

  close(code = 1000, reason = ""): void {
    this.#ws?.close(code, reason);
  }
}

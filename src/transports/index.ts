/**
 * Transports carry whole CLASP frames, one per message, between a client and a router: a
 * WebSocket to a relay (websocket.ts), a MessagePort or BroadcastChannel to an in-browser hub
 * (port.ts); serial and MIDI links plug in the same way. A transport object is one
 * connection: open it once, close it once.
 * @module
 */

/** Why a connection closed: a WebSocket close code (1000 normal, 1006 abnormal, …) and reason. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** What a transport calls while it is open. */
export interface TransportHandlers {
  /** One frame arrived (the transport's own copy). */
  frame(frame: Uint8Array): void;
  /** The connection closed (once, whichever side closed it). */
  close(info: CloseInfo): void;
}

/** One connection that carries CLASP frames. */
export interface Transport {
  /**
   * Opens the connection; resolves when frames can be sent.
   * @throws TransportError when it cannot open (refused, no subprotocol echo, timeout)
   */
  open(handlers: TransportHandlers): Promise<void>;
  /**
   * Sends one frame.
   * @throws TransportError when the connection is not open
   */
  send(frame: Uint8Array): void;
  /** Closes the connection (WebSocket code, default 1000); `close` fires once it is closed. */
  close(code?: number, reason?: string): void;
}

/** A transport could not open, or was used while not open. */
export class TransportError extends Error {
  override name = "TransportError";
}

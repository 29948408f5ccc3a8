/**
 * CLASP over a serial port from a browser page or worker: the Web Serial API (WICG "Web
 * Serial API", `navigator.serial`, Chromium), frames SLIP-delimited as on every clawft serial
 * line (slip.ts). The page asks for the port (`navigator.serial.requestPort()` needs a user
 * gesture) and hands it over:
 *
 * ```ts
 * import { WebSerialTransport } from "clawft/transports/webserial";
 * import { ClaspClient } from "clawft/clasp/client";
 * button.onclick = async () => {
 *   const port = await navigator.serial.requestPort();
 *   const client = await ClaspClient.connect(new WebSerialTransport(port, { baudRate: 921600 }));
 * };
 * ```
 *
 * Reading follows the spec's read loop: a parity, framing, break or overrun error ends the
 * current `readable` stream and the port offers a new one (the SLIP reader drops the spoiled
 * packet and resyncs); any other read error, or the end of the stream, means the device is
 * gone and the connection closes with 1006.
 * @module
 */
import { TransportError, type Transport, type TransportHandlers } from "./index.js";
import { SerialError, SlipFraming, type LinkStats, type SlipFramingOptions } from "./slip.js";

export { SerialError, type SerialErrorKind, type LinkStats } from "./slip.js";

/**
 * What the transport uses of a Web Serial `SerialPort` (Web Serial API §SerialPort): open,
 * close and the two streams. A real port from `navigator.serial` has them; tests inject one.
 */
export interface SerialPortLike {
  open(options: { baudRate: number; bufferSize?: number }): Promise<void>;
  close(): Promise<void>;
  readonly readable: ReadableStream<Uint8Array> | null;
  readonly writable: WritableStream<Uint8Array> | null;
}

/** Options of a {@link WebSerialTransport}. */
export interface WebSerialOptions extends SlipFramingOptions {
  /** Line speed, bits/s. Defaults to 115,200. */
  baudRate?: number;
  /** Size of the port's read and write buffers, bytes (Web Serial's default is 255). Defaults to 4,096. */
  bufferSize?: number;
  /** Name of the port in errors. Defaults to `"serial port"`. */
  name?: string;
}

/** Read errors after which the port offers a new `readable` (Web Serial API §readable). */
const RECOVERABLE = new Set(["BreakError", "FramingError", "ParityError", "BufferOverrunError"]);

/** A CLASP connection over one Web Serial port, SLIP-framed. Open it once, close it once. */
export class WebSerialTransport implements Transport {
  readonly port: SerialPortLike;
  readonly baudRate: number;
  readonly #name: string;
  readonly #bufferSize: number;
  readonly #framing: SlipFraming;
  #handlers: TransportHandlers | undefined;
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #reading: Promise<void> | undefined;
  #writer: WritableStreamDefaultWriter<Uint8Array> | undefined;
  #open = false;
  #closed = false;
  #error: SerialError | undefined;
  #buffered = 0;
  #lineErrors = 0;

  /** @throws RangeError for a baud rate or buffer size that is not a positive integer, a `maxFrameSize` under 4 */
  constructor(port: SerialPortLike, options: WebSerialOptions = {}) {
    this.port = port;
    this.baudRate = options.baudRate ?? 115_200;
    this.#bufferSize = options.bufferSize ?? 4096;
    for (const [what, v] of [["baudRate", this.baudRate], ["bufferSize", this.#bufferSize]] as const) {
      if (!Number.isInteger(v) || v <= 0) throw new RangeError(`${what} must be a positive integer, got ${v}`);
    }
    this.#name = options.name ?? "serial port";
    this.#framing = new SlipFraming(options);
  }

  /** Frames and bytes in and out, and bytes lost to noise, on this connection. */
  get stats(): LinkStats {
    return this.#framing.stats;
  }

  /** Parity, framing, break and overrun errors the port reported (each spoils what it hit). */
  get lineErrors(): number {
    return this.#lineErrors;
  }

  /** Bytes handed to the port's writable stream that it has not taken yet. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  /** Why the connection ended, when it was not closed by {@link close}: `gone` or `io`. */
  get error(): SerialError | undefined {
    return this.#error;
  }

  /**
   * Opens the port and starts reading; resolves when frames can be sent.
   * @throws SerialError `open` (already open, the device refused: the DOMException is its
   *   cause); TransportError when already opened
   */
  async open(handlers: TransportHandlers): Promise<void> {
    if (this.#handlers) throw new TransportError("transport already opened (a transport is one connection)");
    this.#handlers = handlers;
    try {
      await this.port.open({ baudRate: this.baudRate, bufferSize: this.#bufferSize });
    } catch (err) {
      this.#closed = true;
      this.#framing.close();
      throw new SerialError("open", this.#name, `cannot open: ${(err as Error).message}`, { cause: err });
    }
    if (!this.port.writable || !this.port.readable) {
      this.#closed = true;
      this.#framing.close();
      throw new SerialError("open", this.#name, "the port opened without streams");
    }
    if (this.#closed) {
      // close() was called while opening.
      await this.port.close().catch(() => {});
      throw new SerialError("gone", this.#name, "closed while opening");
    }
    this.#writer = this.port.writable.getWriter();
    this.#open = true;
    this.#reading = this.#readLoop();
  }

  async #readLoop(): Promise<void> {
    let why = "the port's stream ended";
    while (!this.#closed && this.port.readable) {
      const reader = this.port.readable.getReader();
      this.#reader = reader;
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          this.#framing.receive(value, (f) => this.#handlers!.frame(f));
        }
        break;
      } catch (err) {
        const name = (err as Error)?.name;
        if (RECOVERABLE.has(name)) {
          this.#lineErrors++;
          continue;
        }
        why = `read failed: ${(err as Error)?.message ?? String(err)}`;
        break;
      } finally {
        reader.releaseLock();
        this.#reader = undefined;
      }
    }
    if (!this.#closed) this.#fail(new SerialError("gone", this.#name, why));
  }

  /** The port failed or the device is gone: the connection is over (1006). */
  #fail(error: SerialError): void {
    if (this.#closed) return;
    this.#error = error;
    this.#finish(1006, error.message, false);
  }

  #finish(code: number, reason: string, flush: boolean): void {
    this.#closed = true;
    this.#open = false;
    this.#framing.close();
    void this.#release(flush);
    this.#handlers?.close({ code, reason });
  }

  /** Lets go of the streams (the port cannot close while they are locked), then closes the port. */
  async #release(flush: boolean): Promise<void> {
    await this.#reader?.cancel().catch(() => {});
    await this.#reading; // its reader's lock is released when it ends
    const writer = this.#writer;
    this.#writer = undefined;
    if (writer) {
      await (flush ? writer.close() : writer.abort()).catch(() => {});
      writer.releaseLock();
    }
    await this.port.close().catch(() => {});
  }

  /**
   * Sends one frame (SLIP-framed; the port writes it as the line takes it).
   * @throws SerialError `not-open` when the port is not open; TransportError for a frame over `maxFrameSize`
   */
  send(frame: Uint8Array): void {
    if (!this.#open) throw new SerialError("not-open", this.#name, "the port is not open");
    const bytes = this.#framing.wrap(frame);
    this.#buffered += bytes.length;
    this.#writer!.write(bytes).then(
      () => void (this.#buffered -= bytes.length),
      (err: Error) => this.#fail(new SerialError("io", this.#name, `write failed: ${err?.message ?? err}`, { cause: err })),
    );
  }

  /** Closes the connection (pending writes are flushed first); `close` fires once with `code` (default 1000). */
  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    if (!this.#open) {
      this.#closed = true; // open() is in flight: it closes the port when it lands
      this.#framing.close();
      return;
    }
    this.#finish(code, reason, true);
  }
}

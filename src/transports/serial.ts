/**
 * CLASP over a serial line from Node: a USB CDC device, a UART, a pseudo-terminal. The port
 * is opened with the `serialport` package; frames are SLIP-delimited (RFC 1055, slip.ts).
 *
 * {@link SerialTransport} is one connection: the port from open to close (a device that
 * vanishes closes it with 1006). {@link SerialDevice} keeps a CLASP router on a serial line
 * attached: a {@link ClaspClient} over a new SerialTransport per connection, reopened with
 * exponential backoff when the port cannot be opened, closes or vanishes (a device reboot).
 *
 * ```ts
 * import { SerialDevice } from "clawft/transports/serial";
 * const device = new SerialDevice({ path: "/dev/ttyACM0", baudRate: 921600, onUp: () => console.log("up") });
 * device.client.on("/sensor/**", (value, address) => console.log(address, value));
 * device.start();
 * await device.client.set("/led/1", 1);   // once up
 * ```
 * @module
 */
import { SerialPort } from "serialport";
import { ClaspClient, type ClaspClientOptions } from "../clasp/client.js";
import { codec } from "../clasp/index.js";
import { TransportError, type CloseInfo, type Transport, type TransportHandlers } from "./index.js";
import { SerialError, SlipFraming, emptyStats, type LinkStats, type SerialErrorKind, type SlipFramingOptions } from "./slip.js";

export { SerialError, type SerialErrorKind, type LinkStats } from "./slip.js";

/** The error kind of a failed open, from the `serialport` bindings' message (they carry no errno). */
function openErrorKind(message: string): SerialErrorKind {
  if (/no such file|not found|cannot find/i.test(message)) return "not-found";
  if (/permission denied|access denied/i.test(message)) return "permission";
  if (/cannot lock|resource temporarily unavailable|busy/i.test(message)) return "busy";
  return "open";
}

/** Options of a {@link SerialTransport}. */
export interface SerialTransportOptions extends SlipFramingOptions {
  /** The port: `/dev/ttyACM0`, `/dev/ttyUSB0`, `COM3`, a pty. */
  path: string;
  /** Line speed, bits/s. Defaults to 115,200. */
  baudRate?: number;
}

/** @throws RangeError for a baud rate that is not a positive integer */
function checkBaud(baudRate: number): number {
  if (!Number.isInteger(baudRate) || baudRate <= 0) throw new RangeError(`baudRate must be a positive integer, got ${baudRate}`);
  return baudRate;
}

/** A CLASP connection over one serial port, SLIP-framed. Open it once, close it once. */
export class SerialTransport implements Transport {
  readonly path: string;
  readonly baudRate: number;
  readonly #framing: SlipFraming;
  #port: SerialPort | undefined;
  #handlers: TransportHandlers | undefined;
  #open = false;
  #closed = false;
  #error: SerialError | undefined;

  /** @throws RangeError for a `maxFrameSize` under 4 or a baud rate that is not a positive integer */
  constructor(options: SerialTransportOptions) {
    this.path = options.path;
    this.baudRate = checkBaud(options.baudRate ?? 115_200);
    this.#framing = new SlipFraming(options);
  }

  /** Frames and bytes in and out, and bytes lost to noise, on this connection. */
  get stats(): LinkStats {
    return this.#framing.stats;
  }

  /** Bytes written but not yet taken by the port (the line is slower than the sender). */
  get bufferedAmount(): number {
    return this.#port?.writableLength ?? 0;
  }

  /** Why the connection ended, when it was not closed by {@link close}: `gone` or `io`. */
  get error(): SerialError | undefined {
    return this.#error;
  }

  /**
   * Opens the port (raw 8N1 at `baudRate`); resolves when frames can be sent.
   * @throws SerialError `not-found`, `permission`, `busy` or `open`; TransportError when
   *   already opened
   */
  open(handlers: TransportHandlers): Promise<void> {
    if (this.#handlers) return Promise.reject(new TransportError("transport already opened (a transport is one connection)"));
    this.#handlers = handlers;
    // hupcl off: closing must not drop DTR, which resets many boards (and fails on ptys).
    const port = new SerialPort({ path: this.path, baudRate: this.baudRate, autoOpen: false, hupcl: false });
    this.#port = port;
    return new Promise<void>((resolve, reject) => {
      port.open((err) => {
        if (err) {
          this.#closed = true;
          this.#framing.close();
          reject(new SerialError(openErrorKind(err.message), this.path, `cannot open: ${err.message}`, { cause: err }));
          return;
        }
        if (this.#closed) {
          // close() was called while opening.
          port.close(() => {});
          reject(new SerialError("gone", this.path, "closed while opening"));
          return;
        }
        this.#open = true;
        port.on("data", (chunk: Buffer) => this.#framing.receive(chunk, (f) => this.#handlers!.frame(f)));
        port.on("error", (e: Error) => this.#fail(new SerialError("io", this.path, e.message, { cause: e })));
        port.on("close", (e: (Error & { disconnected?: boolean }) | null) => {
          if (!this.#closed) this.#fail(new SerialError("gone", this.path, `port closed${e?.message ? `: ${e.message}` : ""}`, { cause: e }));
        });
        this.#watchHangup(port);
        resolve();
      });
    });
  }

  /**
   * Watches for the terminal's hangup (POLLHUP). The binding notices a vanished port by a
   * failing read, but a hung-up terminal (a pty whose other side went away, some USB serial
   * drivers) reads as end of file, which the binding reads again and again instead.
   */
  #watchHangup(port: SerialPort): void {
    const poller = (port.port as { poller?: { once(event: "disconnect", cb: (err: Error | null) => void): unknown } } | undefined)?.poller;
    poller?.once("disconnect", (err) => {
      // The poller cancels its waiters with an error when the port is closed on purpose.
      if (!(err as { canceled?: boolean } | null)?.canceled) this.#fail(new SerialError("gone", this.path, "the terminal hung up"));
    });
  }

  /** The port failed or vanished: the connection is over (1006, abnormal closure). */
  #fail(error: SerialError): void {
    if (this.#closed) return;
    this.#error = error;
    this.#finish(1006, error.message);
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open = false;
    this.#framing.close();
    const port = this.#port;
    if (port?.isOpen) port.close(() => {});
    this.#handlers?.close({ code, reason });
  }

  /**
   * Sends one frame (SLIP-framed; written as the line takes it).
   * @throws SerialError `not-open` when the port is not open; TransportError for a frame over `maxFrameSize`
   */
  send(frame: Uint8Array): void {
    if (!this.#open) throw new SerialError("not-open", this.path, "the port is not open");
    this.#port!.write(this.#framing.wrap(frame));
  }

  /** Closes the port; `close` fires once with `code` (default 1000). */
  close(code = 1000, reason = ""): void {
    if (this.#closed) return;
    if (!this.#open) {
      this.#closed = true; // open() is in flight: it closes the port when it lands
      this.#framing.close();
      return;
    }
    this.#finish(code, reason);
  }
}

/** Exponential backoff between connection attempts. */
export interface BackoffOptions {
  /** First wait, ms. Defaults to 250. */
  delayMs?: number;
  /** Longest wait, ms. Defaults to 5,000. */
  maxDelayMs?: number;
  /** Growth per failed attempt. Defaults to 2. */
  factor?: number;
}

/** The wait before attempt `attempt` (0-based): `delayMs · factor^attempt`, at most `maxDelayMs`. */
export function backoffDelay(attempt: number, options: BackoffOptions = {}): number {
  const { delayMs = 250, maxDelayMs = 5000, factor = 2 } = options;
  return Math.min(maxDelayMs, delayMs * factor ** attempt);
}

/** Options of a {@link SerialDevice}. */
export interface SerialDeviceOptions extends SerialTransportOptions {
  /** Options of the CLASP client (name, token, …). `reconnect` is the device's own business and ignored. */
  client?: Omit<ClaspClientOptions, "reconnect">;
  /** Waits between attempts. */
  backoff?: BackoffOptions;
  /** Milliseconds to wait for the device's WELCOME after the port opened. Defaults to 3,000. */
  welcomeTimeoutMs?: number;
  /**
   * Milliseconds between PINGs while the session is up, 0 for none. Defaults to 2,000. A
   * device that answers nothing for two PINGs, or that reset on a port that stayed open (its
   * router answers ERROR 300, HELLO expected first), gets a new session.
   */
  keepaliveMs?: number;
  /** The device answered: a new CLASP session (subscriptions have been sent again). */
  onUp?: () => void;
  /** The session ended: the port closed or vanished (`error` says why) or the device dropped the session. */
  onDown?: (info: CloseInfo, error: SerialError | undefined) => void;
  /** An attempt failed; the next one comes in `delayMs`. */
  onRetry?: (error: Error, delayMs: number) => void;
}

/**
 * A CLASP router on a serial line (such as `clawft.wasm router` on a device), kept attached.
 * Its {@link client} is an ordinary {@link ClaspClient}: register listeners and subscriptions
 * on it at any time; they are sent again on each new session, whose SNAPSHOTs bring the
 * device's state back after a reboot.
 */
export class SerialDevice {
  readonly client: ClaspClient;
  readonly #options: SerialDeviceOptions;
  #transport: SerialTransport | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;
  #wake: (() => void) | undefined;
  #sessionEnded: ((info: CloseInfo) => void) | undefined;
  /** Counters of connections already closed. */
  readonly #past = emptyStats();

  /** @throws RangeError for a baud rate that is not a positive integer or a `maxFrameSize` under 4 */
  constructor(options: SerialDeviceOptions) {
    checkBaud(options.baudRate ?? 115_200);
    const max = options.maxFrameSize;
    if (max !== undefined && (!Number.isInteger(max) || max < 4)) throw new RangeError(`maxFrameSize must be an integer ≥ 4, got ${max}`);
    this.#options = options;
    this.client = new ClaspClient(() => this.#connectTransport(), {
      name: "clawft",
      ...options.client,
      connectTimeoutMs: options.welcomeTimeoutMs ?? 3000,
      reconnect: false,
    });
    this.client.onClose((info) => this.#sessionEnded?.(info));
    // A device that reset without the port closing (a UART) has forgotten our session.
    this.client.onError((e) => {
      if (e.code === 300 && this.client.connected) this.#transport?.close(1000, "device lost the session");
    });
  }

  get path(): string {
    return this.#options.path;
  }

  /** True while a CLASP session with the device is up. */
  get connected(): boolean {
    return this.client.connected;
  }

  /** Counters over every connection so far. */
  get stats(): LinkStats {
    const now = this.#transport?.stats;
    const out = { ...this.#past };
    if (now) for (const k of Object.keys(out) as Array<keyof LinkStats>) out[k] += now[k];
    return out;
  }

  #connectTransport(): SerialTransport {
    this.#retire();
    this.#transport = new SerialTransport(this.#options);
    return this.#transport;
  }

  /** Adds the current connection's counters to the totals. */
  #retire(): void {
    const t = this.#transport;
    if (!t) return;
    const s = t.stats;
    for (const k of Object.keys(this.#past) as Array<keyof LinkStats>) this.#past[k] += s[k];
    this.#transport = undefined;
  }

  /** Starts connecting (and reconnecting) in the background. Idempotent. */
  start(): void {
    this.#running ??= this.#run();
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      const ended = new Promise<CloseInfo>((resolve) => (this.#sessionEnded = resolve));
      try {
        await this.client.connect();
        attempt = 0;
        this.#options.onUp?.();
        const stopKeepalive = this.#keepalive();
        const info = await ended;
        stopKeepalive();
        this.#options.onDown?.(info, this.#transport?.error);
        if (this.#stopped) break;
      } catch (err) {
        if (this.#stopped) break;
        this.#options.onRetry?.(err as Error, backoffDelay(attempt, this.#options.backoff));
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, backoffDelay(attempt++, this.#options.backoff));
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }

  /**
   * PINGs the device every `keepaliveMs` while the session is up; when nothing at all came
   * back since the PING before, the device is gone although its port is not: the session
   * ends (and the loop reconnects). Returns the function that stops it.
   */
  #keepalive(): () => void {
    const ms = this.#options.keepaliveMs ?? 2000;
    const transport = this.#transport;
    if (ms <= 0 || !transport) return () => {};
    const ping = codec.encode({ type: "PING" });
    let seen = transport.stats.framesIn;
    let unanswered = 0;
    const timer = setInterval(() => {
      const now = transport.stats.framesIn;
      unanswered = now === seen ? unanswered + 1 : 0;
      seen = now;
      if (unanswered >= 2) transport.close(1000, "the device stopped answering");
      else if (this.client.connected) transport.send(ping);
    }, ms);
    timer.unref?.();
    return () => clearInterval(timer);
  }

  /** Ends the session, closes the port and stops reconnecting. */
  async close(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    this.client.close();
    this.#sessionEnded?.({ code: 1000, reason: "closed" });
    await this.#running;
    this.#retire();
  }
}


/**
 * CLASP over MIDI from a browser: the Web MIDI API (W3C "Web MIDI API", `navigator.
 * requestMIDIAccess({ sysex: true })`), each frame in one or more System Exclusive messages
 * (`F0 7D 43 …`, 7-bit packed, split and reassembled: sysex.ts, docs/device.md §MIDI
 * framing), for controllers that speak only MIDI. Other MIDI traffic on the ports (notes,
 * controllers, clock, other SysEx) is left alone.
 *
 * ```ts
 * import { WebMidiTransport } from "clawft/transports/webmidi";
 * import { ClaspClient } from "clawft/clasp/client";
 * const transport = await WebMidiTransport.request({ name: /my controller/i });
 * const client = await ClaspClient.connect(transport);
 * ```
 * @module
 */
import { MAX_FRAME_SIZE } from "../clasp/codec.js";
import { TransportError, type Transport, type TransportHandlers } from "./index.js";
import { emptyStats, type LinkStats } from "./slip.js";
import { MIN_SYSEX_BYTES, SysExAssembler, SysExError, isClaspSysEx, toSysEx } from "./sysex.js";

export { SysExError } from "./sysex.js";
export { type LinkStats } from "./slip.js";

/**
 * What went wrong with MIDI: `no-access` (no Web MIDI, SysEx not granted, no MIDI service:
 * headless Chromium answers InvalidStateError), `not-found` (no input and output port match),
 * `gone` (a port was disconnected), `io` (sending failed), `not-open` (sent while not open).
 */
export type MidiErrorKind = "no-access" | "not-found" | "gone" | "io" | "not-open";

/** A MIDI port failure; `kind` says which ({@link MidiErrorKind}). */
export class MidiError extends TransportError {
  override name = "MidiError";
  constructor(
    readonly kind: MidiErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A MIDI message event (Web MIDI API §MIDIMessageEvent): `data` is one whole message. */
export interface MidiMessageEventLike {
  readonly data: Uint8Array | null;
}

/** What the transport uses of a `MIDIPort`: its name, state, `open()` and `statechange`. */
export interface MidiPortLike {
  readonly name?: string | null;
  /** `"connected"` or `"disconnected"`. */
  readonly state?: string;
  open?(): Promise<unknown>;
  addEventListener(type: "statechange", listener: () => void): void;
  removeEventListener(type: "statechange", listener: () => void): void;
}

/** What the transport uses of a `MIDIInput`. */
export interface MidiInputLike extends MidiPortLike {
  addEventListener(type: "midimessage", listener: (ev: MidiMessageEventLike) => void): void;
  addEventListener(type: "statechange", listener: () => void): void;
  removeEventListener(type: "midimessage", listener: (ev: MidiMessageEventLike) => void): void;
  removeEventListener(type: "statechange", listener: () => void): void;
}

/** What the transport uses of a `MIDIOutput`. */
export interface MidiOutputLike extends MidiPortLike {
  send(data: Uint8Array): void;
}

/** What {@link WebMidiTransport.request} uses of a `MIDIAccess`: its port maps. */
export interface MidiAccessLike {
  readonly inputs: { values(): Iterable<MidiInputLike> };
  readonly outputs: { values(): Iterable<MidiOutputLike> };
}

/** Options of a {@link WebMidiTransport}. */
export interface WebMidiOptions {
  /** Longest SysEx message sent, bytes from F0 to F7 (devices' buffers are small). Defaults to 256. */
  maxSysExBytes?: number;
  /** Largest frame sent or accepted, bytes. Defaults to {@link MAX_FRAME_SIZE}. */
  maxFrameSize?: number;
  /** Called with each message or frame thrown away (out of order, bad packing, too large). */
  onNoise?: (error: SysExError) => void;
}

/** Options of {@link WebMidiTransport.request}. */
export interface WebMidiRequest extends WebMidiOptions {
  /** The ports' name (the input and the output of one device usually share it); absent: the first of each. */
  name?: string | RegExp;
  /** A MIDI access to use. Defaults to `navigator.requestMIDIAccess({ sysex: true })`. */
  access?: MidiAccessLike;
}

/** A CLASP connection over a MIDI input and output port. Open it once, close it once. */
export class WebMidiTransport implements Transport {
  readonly input: MidiInputLike;
  readonly output: MidiOutputLike;
  readonly maxSysExBytes: number;
  readonly maxFrameSize: number;
  readonly #assembler: SysExAssembler;
  readonly #onNoise: ((error: SysExError) => void) | undefined;
  readonly #stats = emptyStats();
  #handlers: TransportHandlers | undefined;
  #open = false;
  #closed = false;
  #seq = 0;
  #error: MidiError | undefined;
  readonly #onMessage = (ev: MidiMessageEventLike) => this.#receive(ev.data);
  readonly #onState = () => {
    if (this.input.state === "disconnected" || this.output.state === "disconnected") {
      this.#fail(new MidiError("gone", `MIDI port ${this.input.state === "disconnected" ? this.input.name ?? "input" : this.output.name ?? "output"} disconnected`));
    }
  };

  /** @throws RangeError for a `maxSysExBytes` under 17 or a `maxFrameSize` under 4 */
  constructor(input: MidiInputLike, output: MidiOutputLike, options: WebMidiOptions = {}) {
    this.input = input;
    this.output = output;
    this.maxSysExBytes = options.maxSysExBytes ?? 256;
    this.maxFrameSize = options.maxFrameSize ?? MAX_FRAME_SIZE;
    if (!Number.isInteger(this.maxSysExBytes) || this.maxSysExBytes < MIN_SYSEX_BYTES) {
      throw new RangeError(`maxSysExBytes must be an integer ≥ ${MIN_SYSEX_BYTES}, got ${this.maxSysExBytes}`);
    }
    if (!Number.isInteger(this.maxFrameSize) || this.maxFrameSize < 4) throw new RangeError(`maxFrameSize must be an integer ≥ 4, got ${this.maxFrameSize}`);
    this.#assembler = new SysExAssembler(this.maxFrameSize);
    this.#onNoise = options.onNoise;
  }

  /**
   * Asks for MIDI access with SysEx (the browser may prompt) and picks the input and output
   * port named `name`.
   * @throws MidiError `no-access` or `not-found`
   */
  static async request(options: WebMidiRequest = {}): Promise<WebMidiTransport> {
    let access = options.access;
    if (!access) {
      const nav = (globalThis as { navigator?: { requestMIDIAccess?: (o: { sysex: boolean }) => Promise<MidiAccessLike> } }).navigator;
      if (!nav?.requestMIDIAccess) throw new MidiError("no-access", "this browser has no Web MIDI (navigator.requestMIDIAccess)");
      try {
        access = await nav.requestMIDIAccess({ sysex: true });
      } catch (err) {
        throw new MidiError("no-access", `MIDI access with SysEx refused: ${(err as Error).message}`, { cause: err });
      }
    }
    const name = options.name;
    const matches = (p: MidiPortLike) => name === undefined || (typeof name === "string" ? p.name === name : name.test(p.name ?? ""));
    const input = [...access.inputs.values()].find(matches);
    const output = [...access.outputs.values()].find(matches);
    if (!input || !output) {
      throw new MidiError("not-found", `no MIDI ${input ? "output" : "input"} port${name === undefined ? "" : ` named ${String(name)}`}`);
    }
    return new WebMidiTransport(input, output, options);
  }

  /** Frames and MIDI bytes in and out, and what was thrown away. */
  get stats(): LinkStats {
    return { ...this.#stats };
  }

  /** Why the connection ended, when it was not closed by {@link close}. */
  get error(): MidiError | undefined {
    return this.#error;
  }

  /**
   * Opens both ports and starts listening; resolves when frames can be sent.
   * @throws MidiError `gone` when a port is disconnected or will not open; TransportError when already opened
   */
  async open(handlers: TransportHandlers): Promise<void> {
    if (this.#handlers) throw new TransportError("transport already opened (a transport is one connection)");
    this.#handlers = handlers;
    try {
      await Promise.all([this.input.open?.(), this.output.open?.()]);
    } catch (err) {
      this.#closed = true;
      throw new MidiError("gone", `cannot open the MIDI ports: ${(err as Error).message}`, { cause: err });
    }
    if (this.input.state === "disconnected" || this.output.state === "disconnected") {
      this.#closed = true;
      throw new MidiError("gone", "a MIDI port is disconnected");
    }
    this.input.addEventListener("midimessage", this.#onMessage);
    this.input.addEventListener("statechange", this.#onState);
    this.output.addEventListener("statechange", this.#onState);
    this.#open = true;
  }

  #receive(data: Uint8Array | null): void {
    if (!this.#open || !data || !isClaspSysEx(data)) return;
    this.#stats.bytesIn += data.length;
    for (const item of this.#assembler.push(data)) {
      if (item instanceof SysExError) {
        this.#stats.packetsLost++;
        this.#stats.bytesLost += item.bytes;
        this.#onNoise?.(item);
      } else {
        this.#stats.framesIn++;
        this.#handlers!.frame(item);
      }
    }
  }

  /**
   * Sends one frame as SysEx messages of at most `maxSysExBytes`.
   * @throws MidiError `not-open`, or `io` when the output refuses a message; TransportError for a frame over `maxFrameSize`
   */
  send(frame: Uint8Array): void {
    if (!this.#open) throw new MidiError("not-open", "the MIDI ports are not open");
    if (frame.length > this.maxFrameSize) throw new TransportError(`frame of ${frame.length} bytes is over the link's maximum of ${this.maxFrameSize}`);
    const messages = toSysEx(frame, this.#seq, this.maxSysExBytes);
    this.#seq = (this.#seq + 1) & 0x7f;
    try {
      for (const m of messages) {
        this.output.send(m);
        this.#stats.bytesOut += m.length;
      }
    } catch (err) {
      const error = new MidiError("io", `MIDI send failed: ${(err as Error).message}`, { cause: err });
      this.#fail(error);
      throw error;
    }
    this.#stats.framesOut++;
  }

  #fail(error: MidiError): void {
    if (this.#closed) return;
    this.#error = error;
    this.#finish(1006, error.message);
  }

  #finish(code: number, reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#open = false;
    this.input.removeEventListener("midimessage", this.#onMessage);
    this.input.removeEventListener("statechange", this.#onState);
    this.output.removeEventListener("statechange", this.#onState);
    // The ports stay open: other MIDI users of the page may share them.
    this.#handlers?.close({ code, reason });
  }

  /**
   * Stops listening; `close` fires once with `code` (default 1000). The ports stay open
   * (other MIDI users of the page may share them).
   */
  close(code = 1000, reason = ""): void {
    if (!this.#open) {
      this.#closed = true;
      return;
    }
    this.#finish(code, reason);
  }
}

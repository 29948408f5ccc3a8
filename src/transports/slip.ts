/**
 * SLIP framing (RFC 1055) of CLASP frames on a byte stream, shared by the serial transports
 * (serial.ts for Node, webserial.ts for browsers): the CLASP docs name SLIP for serial links.
 * Each frame goes out as END, the frame with END (0xC0) and ESC (0xDB) escaped as ESC ESC_END
 * (0xDB 0xDC) and ESC ESC_ESC (0xDB 0xDD), END — the leading END flushes line noise into a
 * packet of its own, so noise costs no frame. Both directions run in the codec core
 * (`codec.wrapFrame`, `codec.createReader`, assembly/clasp/stream.ts): a packet that is no
 * frame (noise, a frame cut short by a reset, a bad escape) or is over the maximum is dropped
 * up to the next END and its bytes are counted; the session goes on. Also here: the error
 * type both serial transports throw.
 * @module
 */
import { codec as sharedCodec, MAX_FRAME_SIZE, ClaspDecodeError, type ClaspCodec, type FrameReader } from "../clasp/index.js";
import { TransportError } from "./index.js";

/**
 * What went wrong with a serial port: `not-found` (no such device), `permission` (no access:
 * on Linux, join the `dialout` group; in a browser, the user did not grant it), `busy`
 * (another process holds its lock), `open` (any other open failure: not a terminal, an
 * unsupported baud rate, a port already open), `gone` (the port closed under us: unplugged,
 * the device reset), `io` (a read or write failed), `not-open` (sent while not open).
 */
export type SerialErrorKind = "not-found" | "permission" | "busy" | "open" | "gone" | "io" | "not-open";

/** A serial port failure; `kind` says which ({@link SerialErrorKind}). */
export class SerialError extends TransportError {
  override name = "SerialError";
  constructor(
    readonly kind: SerialErrorKind,
    readonly path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${message}`, options);
  }
}

/** Counters of a framed link (frames and bytes as they cross the line). */
export interface LinkStats {
  /** Whole frames received and handed on. */
  framesIn: number;
  /** Frames sent. */
  framesOut: number;
  /** Bytes received from the line (framing included). */
  bytesIn: number;
  /** Bytes written to the line (framing included). */
  bytesOut: number;
  /** Received bytes thrown away: line noise, bad, truncated or oversized packets. */
  bytesLost: number;
  /** Packets thrown away (each one a {@link ClaspDecodeError} given to `onNoise`). */
  packetsLost: number;
}

/** Options of {@link SlipFraming}. */
export interface SlipFramingOptions {
  /** Largest frame sent or accepted, bytes (header included). Defaults to {@link MAX_FRAME_SIZE}. */
  maxFrameSize?: number;
  /** Codec instance. Defaults to the shared one of `clawft/clasp`. */
  codec?: ClaspCodec;
  /** Called with each packet thrown away (code 100, its stream offset and reason). */
  onNoise?: (error: ClaspDecodeError) => void;
}

/** Fresh zeroed {@link LinkStats}. */
export function emptyStats(): LinkStats {
  return { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, bytesLost: 0, packetsLost: 0 };
}

/**
 * The SLIP side of one connection: bytes in → whole frames out, frames in → bytes out, with
 * counters. One instance per connection (its reassembly state belongs to that byte stream).
 */
export class SlipFraming {
  readonly maxFrameSize: number;
  readonly #codec: ClaspCodec;
  readonly #reader: FrameReader;
  readonly #onNoise: ((error: ClaspDecodeError) => void) | undefined;
  readonly #stats = emptyStats();
  /** Loss of the reader before it was closed (its counter goes with it). */
  #lostAtClose = -1;

  /** @throws RangeError for a `maxFrameSize` under 4 */
  constructor(options: SlipFramingOptions = {}) {
    this.#codec = options.codec ?? sharedCodec;
    this.maxFrameSize = options.maxFrameSize ?? MAX_FRAME_SIZE;
    this.#reader = this.#codec.createReader({ framing: "slip", maxFrameSize: this.maxFrameSize });
    this.#onNoise = options.onNoise;
  }

  /** Counters so far (a copy). */
  get stats(): LinkStats {
    return { ...this.#stats, bytesLost: this.#lostAtClose >= 0 ? this.#lostAtClose : this.#reader.lost };
  }

  /** Bytes received that do not yet form a whole packet. */
  get pending(): number {
    return this.#reader.pending;
  }

  /**
   * Takes a chunk from the line; calls `frame` with each whole frame (its own copy), in order.
   * Packets thrown away go to `onNoise` and the counters.
   */
  receive(chunk: Uint8Array, frame: (frame: Uint8Array) => void): void {
    this.#stats.bytesIn += chunk.length;
    for (const item of this.#reader.push(chunk)) {
      if (item instanceof ClaspDecodeError) {
        this.#stats.packetsLost++;
        this.#onNoise?.(item);
      } else {
        this.#stats.framesIn++;
        frame(item);
      }
    }
  }

  /**
   * The bytes that carry `frame` on the line, counted as sent.
   * @throws TransportError when the frame is over `maxFrameSize` (the other end would drop it)
   */
  wrap(frame: Uint8Array): Uint8Array {
    if (frame.length > this.maxFrameSize) {
      throw new TransportError(`frame of ${frame.length} bytes is over the link's maximum of ${this.maxFrameSize}`);
    }
    const bytes = this.#codec.wrapFrame(frame, "slip");
    this.#stats.framesOut++;
    this.#stats.bytesOut += bytes.length;
    return bytes;
  }

  /** Releases the reassembly state in the core; the counters stay readable. Idempotent. */
  close(): void {
    if (this.#lostAtClose >= 0) return;
    this.#lostAtClose = this.#reader.lost;
    this.#reader.close();
  }
}

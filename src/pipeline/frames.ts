/**
 * The pipeline's framing (docs/plugin-protocol.md §1): each frame is a 4-byte little-endian
 * u32 payload length followed by the payload. A zero-length frame is the end frame.
 * @module
 */
import { FrameError } from "./errors.js";

/** Default maximum payload size of one frame, in bytes (1 MiB). */
export const DEFAULT_MAX_FRAME = 1 << 20;

/** Bytes of a frame header. */
export const HEADER_BYTES = 4;

/** The end frame: a header announcing zero payload bytes. */
export const END_FRAME: Uint8Array = new Uint8Array(HEADER_BYTES);

/**
 * Returns the 4-byte header of a frame of `length` payload bytes.
 * @param length payload length in bytes, 0..2^32-1
 * @throws RangeError when `length` is not a u32
 */
export function frameHeader(length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffffffff) {
    throw new RangeError(`frame length must be a u32 (got ${length})`);
  }
  const h = new Uint8Array(HEADER_BYTES);
  new DataView(h.buffer).setUint32(0, length, true);
  return h;
}

/** Returns one frame (header + a copy of `payload`) as a single buffer. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out.set(payload, HEADER_BYTES);
  return out;
}

/**
 * Cuts `data` into frames of at most `maxFrame` payload bytes each (views into `data`, no copy).
 * Yields nothing for empty data: data frames are never empty.
 */
export function* chunkPayload(data: Uint8Array, maxFrame: number): Generator<Uint8Array> {
  for (let at = 0; at < data.length; at += maxFrame) yield data.subarray(at, Math.min(data.length, at + maxFrame));
}

/**
 * Incremental frame parser: push byte chunks cut anywhere, get complete payloads back.
 * A payload that lies whole inside one pushed chunk is returned as a view into it (no copy);
 * the caller must not reuse that chunk's memory while it holds the payload.
 */
export class FrameReader {
  /** Largest accepted payload in bytes. */
  readonly maxFrame: number;
  #header = new Uint8Array(HEADER_BYTES);
  #headerFill = 0;
  #payload: Uint8Array | null = null;
  #payloadFill = 0;

  /** @param maxFrame largest accepted payload in bytes. Defaults to {@link DEFAULT_MAX_FRAME}. */
  constructor(maxFrame: number = DEFAULT_MAX_FRAME) {
    if (!Number.isInteger(maxFrame) || maxFrame < 1 || maxFrame > 0xffffffff) {
      throw new RangeError(`maxFrame must be an integer in 1..2^32-1 (got ${maxFrame})`);
    }
    this.maxFrame = maxFrame;
  }

  /** Bytes received that do not yet form a complete frame. */
  get buffered(): number {
    return this.#headerFill + this.#payloadFill;
  }

  /**
   * Parses `chunk` and returns the payloads it completes, in order (empty payload = end frame).
   * @throws {@link FrameError} `FRAME_TOO_LARGE` as soon as a header announces more than `maxFrame`
   *   bytes; the reader must not be used after that.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    const frames: Uint8Array[] = [];
    let at = 0;
    while (at < chunk.length) {
      if (this.#payload === null) {
        if (this.#headerFill === 0 && chunk.length - at >= HEADER_BYTES) {
          const length = readU32(chunk, at);
          at += HEADER_BYTES;
          this.#check(length);
          if (chunk.length - at >= length) {
            frames.push(chunk.subarray(at, at + length));
            at += length;
            continue;
          }
          this.#payload = new Uint8Array(length);
          this.#payloadFill = 0;
        } else {
          const take = Math.min(HEADER_BYTES - this.#headerFill, chunk.length - at);
          this.#header.set(chunk.subarray(at, at + take), this.#headerFill);
          this.#headerFill += take;
          at += take;
          if (this.#headerFill < HEADER_BYTES) break;
          this.#headerFill = 0;
          const length = readU32(this.#header, 0);
          this.#check(length);
          if (length === 0) {
            frames.push(new Uint8Array(0));
            continue;
          }
          this.#payload = new Uint8Array(length);
          this.#payloadFill = 0;
        }
      }
      const payload = this.#payload!;
      const take = Math.min(payload.length - this.#payloadFill, chunk.length - at);
      payload.set(chunk.subarray(at, at + take), this.#payloadFill);
      this.#payloadFill += take;
      at += take;
      if (this.#payloadFill === payload.length) {
        frames.push(payload);
        this.#payload = null;
        this.#payloadFill = 0;
      }
    }
    return frames;
  }

  /**
   * Declares the end of the byte stream.
   * @throws {@link FrameError} `TRUNCATED_FRAME` when it ends inside a header or payload
   */
  end(): void {
    if (this.#headerFill > 0) {
      throw new FrameError("TRUNCATED_FRAME", `stream ended inside a frame header (${this.#headerFill} of 4 bytes)`);
    }
    if (this.#payload !== null) {
      throw new FrameError(
        "TRUNCATED_FRAME",
        `stream ended inside a frame payload (${this.#payloadFill} of ${this.#payload.length} bytes)`,
      );
    }
  }

  #check(length: number): void {
    if (length > this.maxFrame) {
      throw new FrameError("FRAME_TOO_LARGE", `frame of ${length} bytes exceeds the maximum of ${this.maxFrame} bytes`);
    }
  }
}

function readU32(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

/**
 * `clawft/clasp`: the CLASP v1 binary codec, byte-compatible with the public CLASP wire
 * format (docs/clasp.md). Importing this module loads the codec core once (top-level await);
 * hosts that must supply the wasm themselves (Cloudflare workerd) use
 * `ClaspCodec.load(module)` from `clawft/clasp/codec` instead.
 *
 * ```ts
 * import { encode, decode } from "clawft/clasp";
 * const frame = encode({ type: "SET", address: "/mixer/1/fader", value: 0.75 });
 * decode(frame).message; // { type: "SET", address: "/mixer/1/fader", value: 0.75 }
 * ```
 * @module
 */
import { ClaspCodec, type FrameDecoderOptions } from "./codec.js";
import { providedCore } from "../core/loader.js";
import { ClaspDecodeError } from "./errors.js";
import type { ClaspValue, ClaspValueInput, DecodeOptions, DecodedFrame, EncodeOptions, Framing, Message } from "./types.js";

export * from "./types.js";
export * from "./errors.js";
export { ClaspCodec, FrameDecoder, FrameReader, MAX_FRAME_SIZE, type FrameDecoderOptions, type FrameReaderOptions } from "./codec.js";

/** The codec instance behind this module's functions. */
export const codec: ClaspCodec = await ClaspCodec.load(providedCore("clasp.wasm"));

/** Encodes one message as a frame. See {@link ClaspCodec.encode}. */
export function encode(message: Message, options?: EncodeOptions): Uint8Array {
  return codec.encode(message, options);
}

/** Encodes many messages in one call; one Uint8Array per message. See {@link ClaspCodec.encodeBatch}. */
export function encodeBatch(messages: readonly Message[], options?: EncodeOptions & { framing?: Framing }): Uint8Array[] {
  return codec.encodeBatch(messages, options);
}

/** Decodes one frame. @throws ClaspDecodeError. See {@link ClaspCodec.decode}. */
export function decode(bytes: Uint8Array, options?: DecodeOptions): DecodedFrame {
  return codec.decode(bytes, options);
}

/** Decodes many frames; per input a frame or its error. See {@link ClaspCodec.decodeBatch}. */
export function decodeBatch(frames: readonly Uint8Array[], options?: DecodeOptions): Array<DecodedFrame | ClaspDecodeError> {
  return codec.decodeBatch(frames, options);
}

/** Decodes frames held back to back. See {@link ClaspCodec.decodeAll}. */
export function decodeAll(bytes: Uint8Array, options?: DecodeOptions): Array<DecodedFrame | ClaspDecodeError> {
  return codec.decodeAll(bytes, options);
}

/** Encodes a value in the CLASP value format (tag + body). See {@link ClaspCodec.encodeValue}. */
export function encodeValue(value: ClaspValueInput): Uint8Array {
  return codec.encodeValue(value);
}

/** Decodes a CLASP-encoded value. @throws ClaspDecodeError. See {@link ClaspCodec.decodeValue}. */
export function decodeValue(bytes: Uint8Array, options?: DecodeOptions): ClaspValue {
  return codec.decodeValue(bytes, options);
}

/** Options of {@link decoderStream}. */
export interface DecoderStreamOptions extends FrameDecoderOptions {
  /**
   * Called with each recoverable error (garbage skipped, a bad SLIP packet); decoding goes
   * on. Without it, the first error errors the stream. Fatal errors always error the stream.
   */
  onError?: (error: ClaspDecodeError) => void;
}

/**
 * A WHATWG TransformStream from byte chunks (Web Serial's `port.readable`, a socket) to
 * decoded frames.
 */
export function decoderStream(options?: DecoderStreamOptions): TransformStream<Uint8Array, DecodedFrame> {
  const decoder = codec.createDecoder(options);
  return new TransformStream({
    transform(chunk, controller) {
      for (const item of decoder.push(chunk)) {
        if (!(item instanceof ClaspDecodeError)) controller.enqueue(item);
        else if (options?.onError && !item.fatal) options.onError(item);
        else {
          decoder.close();
          controller.error(item);
          return;
        }
      }
    },
    flush() {
      decoder.close();
    },
  });
}

/** A WHATWG TransformStream from messages to framed bytes (one chunk per message). */
export function encoderStream(options?: EncodeOptions & { framing?: Framing }): TransformStream<Message, Uint8Array> {
  return new TransformStream({
    transform(message, controller) {
      controller.enqueue(codec.encodeBatch([message], options)[0]!);
    },
  });
}

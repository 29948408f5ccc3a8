/**
 * The CLASP v1 codec: a thin face over the AssemblyScript core (assembly/clasp). Messages
 * become a tape (src/clasp/tape.ts), the core writes the wire bytes, and the reverse.
 * @module
 */
import { instantiateCore, type CoreExports, type WasmSource } from "../core/loader.js";
import { ClaspDecodeError, ClaspEncodeError, ClaspPatternError } from "./errors.js";
import { INTERN_SLOTS, TapeReader, TapeWriter } from "./tape.js";
import type {
  ClaspValue,
  ClaspValueInput,
  DecodeOptions,
  DecodedFrame,
  EncodeOptions,
  Framing,
  Message,
} from "./types.js";

/** The raw exports of build/clasp.wasm (assembly/clasp/index.ts, docs/abi.md). */
interface ClaspCore extends CoreExports {
  info(): number;
  internStrings(slots: number): void;
  input(size: number): number;
  aux(size: number): number;
  reason(id: number): number;
  reasonLength(id: number): number;
  decode(len: number, items: number): number;
  encode(tapeBytes: number, arenaBytes: number, count: number, framing: number): number;
  encodeValue(tapeBytes: number, arenaBytes: number): number;
  decodeValue(len: number): number;
  streamOpen(framing: number, maxFrame: number, raw: number): number;
  streamPush(handle: number, len: number): number;
  streamPending(handle: number): number;
  streamLost(handle: number): number;
  streamClose(handle: number): void;
  frameWrap(len: number, framing: number): number;
  patternCompile(len: number): number;
  patternMatch(handle: number, len: number): number;
  patternReason(id: number): number;
}

/** Default location of the codec core, beside the package's dist/ and src/. */
const CORE_URL = () => new URL("../../build/clasp.wasm", import.meta.url);

const FRAMING: Record<Framing, number> = { frame: 0, "length-prefixed": 1, slip: 2 };

/** Largest CLASP frame: 12-byte header + 65,535-byte payload. */
export const MAX_FRAME_SIZE = 12 + 0xffff;

/** INFO block word indices (assembly/clasp/index.ts). */
const OUT = 0, BYTES = 1, ERR_CODE = 4, ERR_REASON = 5, ERR_AT = 6, ERR_ITEM = 7, ENDS = 8, BASE = 9;

/** Options of a {@link FrameReader}: how frames are delimited on a byte stream. */
export interface FrameReaderOptions {
  /** How frames are delimited on the stream. Defaults to `"frame"`. */
  framing?: Framing;
  /** Largest frame accepted, bytes (header included). Defaults to {@link MAX_FRAME_SIZE}. */
  maxFrameSize?: number;
}

/** Options of a {@link FrameDecoder}. */
export interface FrameDecoderOptions extends FrameReaderOptions, DecodeOptions {}

/**
 * One instance of the codec core. Methods are synchronous; one instance must not be used
 * from two threads (each Worker loads its own).
 */
export class ClaspCodec {
  readonly #core: ClaspCore;
  readonly #info: number;
  readonly #writer = new TapeWriter();
  readonly #reader: TapeReader;
  readonly #reasons = new Map<number, string>();
  readonly #patterns = new Map<string, number>();
  readonly #utf8 = new TextEncoder();
  #u8 = new Uint8Array(0);
  #u32 = new Uint32Array(0);

  private constructor(core: ClaspCore) {
    this.#core = core;
    this.#info = core.info() >>> 2;
    this.#reader = new TapeReader(core.memory);
    core.internStrings(INTERN_SLOTS);
  }

  /**
   * Loads the codec core.
   * @param source where the wasm comes from; defaults to the package's build/clasp.wasm
   *   (required on Cloudflare workerd: pass the imported `WebAssembly.Module`)
   * @throws Error when the module cannot be loaded
   */
  static async load(source?: WasmSource): Promise<ClaspCodec> {
    return new ClaspCodec(await instantiateCore<ClaspCore>(CORE_URL, source));
  }

  /**
   * Wraps a codec core the caller instantiated (e.g. under node:wasi, or synchronously with
   * `new WebAssembly.Instance` on workerd).
   * @throws TypeError when the instance is not the codec core
   */
  static fromInstance(instance: WebAssembly.Instance): ClaspCodec {
    const core = instance.exports as unknown as ClaspCore;
    if (typeof core.decode !== "function" || typeof core.streamOpen !== "function" || !(core.memory instanceof WebAssembly.Memory)) {
      throw new TypeError("not a CLASP codec core instance (build/clasp.wasm)");
    }
    return new ClaspCodec(core);
  }

  /** Views of linear memory, refreshed after the core grew it. */
  #views(): void {
    if (this.#u8.buffer !== this.#core.memory.buffer) {
      this.#u8 = new Uint8Array(this.#core.memory.buffer);
      this.#u32 = new Uint32Array(this.#core.memory.buffer);
    }
  }

  /** Copies `bytes` into the core's input region; returns their length. */
  #put(bytes: Uint8Array): number {
    const input = this.#core.input(bytes.length);
    this.#views();
    this.#u8.set(bytes, input);
    return bytes.length;
  }

  /**
   * Opens the tape reader on the tape the last core call wrote (INFO OUT and BASE): `bytes`
   * long, or INFO BYTES when not given. Re-makes the memory views first (the call may have
   * grown memory).
   */
  #open(widths: boolean | undefined, bytes?: number): TapeReader {
    this.#views();
    const r = this.#reader;
    r.widths = widths ?? false;
    r.open(this.#infoWord(OUT), bytes ?? this.#infoWord(BYTES), this.#infoWord(BASE));
    return r;
  }

  #infoWord(i: number): number {
    return this.#u32[this.#info + i]!;
  }

  /** Text of error reason `id`, read once from the core. */
  #reason = (id: number): string => {
    let text = this.#reasons.get(id);
    if (text === undefined) {
      const ptr = this.#core.reason(id);
      const len = this.#core.reasonLength(id);
      text = ptr ? String.fromCharCode(...new Uint16Array(this.#core.memory.buffer, ptr, len)) : `reason ${id}`;
      this.#reasons.set(id, text);
    }
    return text;
  };

  /** Copies the writer's tape and arena into the core's input and aux regions. */
  #stage(): void {
    const w = this.#writer;
    const tape = this.#core.input(w.n * 4);
    const arena = this.#core.aux(w.a);
    this.#views();
    this.#u32.set(w.words.subarray(0, w.n), tape >>> 2);
    this.#u8.set(w.arena.subarray(0, w.a), arena);
  }

  #encodeError(): ClaspEncodeError {
    const at = this.#infoWord(ERR_AT);
    const reason = this.#reason(this.#infoWord(ERR_REASON));
    return new ClaspEncodeError(at ? `${reason} (${at})` : reason, this.#infoWord(ERR_ITEM));
  }

  /**
   * Encodes one message as a frame.
   * @returns a new Uint8Array holding the frame
   * @throws ClaspEncodeError when the message does not fit the wire format (payload, string or
   *   byte string over 65,535 bytes, a list over 65,535 entries, nesting over 64)
   * @throws TypeError / RangeError for a field of the wrong type or range (named in the message)
   */
  encode(message: Message, options?: EncodeOptions): Uint8Array {
    const w = this.#writer;
    w.reset();
    w.frame(message, options);
    this.#stage();
    const done = this.#core.encode(w.n * 4, w.a, 1, 0);
    this.#views();
    if (done !== 1) throw this.#encodeError();
    const out = this.#infoWord(OUT);
    return this.#u8.slice(out, out + this.#infoWord(BYTES));
  }

  /**
   * Encodes many messages in one call into the core: the fast path for fan-out and batches.
   * @param framing delimits each frame for a byte stream (see {@link Framing}); defaults to bare frames
   * @returns one Uint8Array per message, views into one new buffer, in order
   * @throws ClaspEncodeError naming the failing message's `index`; nothing is returned then
   */
  encodeBatch(messages: readonly Message[], options?: EncodeOptions & { framing?: Framing }): Uint8Array[] {
    const framing = FRAMING[options?.framing ?? "frame"];
    if (framing === undefined) throw new TypeError(`framing must be one of ${Object.keys(FRAMING).join(", ")}`);
    const w = this.#writer;
    w.reset();
    for (const m of messages) w.frame(m, options);
    this.#stage();
    const done = this.#core.encode(w.n * 4, w.a, messages.length, framing);
    this.#views();
    if (done !== messages.length) throw this.#encodeError();
    const out = this.#infoWord(OUT);
    const all = this.#u8.slice(out, out + this.#infoWord(BYTES));
    const ends = this.#infoWord(ENDS) >>> 2;
    const frames: Uint8Array[] = new Array(done);
    let start = 0;
    for (let i = 0; i < done; i++) {
      const end = this.#u32[ends + i]!;
      frames[i] = all.subarray(start, end);
      start = end;
    }
    return frames;
  }

  #readFrames(count: number, widths: boolean | undefined, bias?: Int32Array): Array<DecodedFrame | ClaspDecodeError> {
    const r = this.#open(widths);
    const out: Array<DecodedFrame | ClaspDecodeError> = new Array(count);
    for (let i = 0; i < count; i++) out[i] = r.frame(this.#reason, bias ? bias[i] : 0);
    return out;
  }

  /**
   * Decodes one frame; bytes after it are ignored, as upstream decoders do.
   * @throws ClaspDecodeError with the CLASP error code (100 invalid frame, 101 invalid
   *   message, 102 unsupported version) and the byte offset
   */
  decode(bytes: Uint8Array, options?: DecodeOptions): DecodedFrame {
    this.#put(bytes);
    const bound = this.#core.aux(4) >>> 2;
    this.#views();
    this.#u32[bound] = bytes.length;
    this.#core.decode(bytes.length, 1);
    const result = this.#open(options?.widths).frame(this.#reason);
    if (result instanceof ClaspDecodeError) throw result;
    return result;
  }

  /**
   * Decodes many frames (e.g. one per WebSocket message) in one call into the core.
   * @returns per input, its frame or the {@link ClaspDecodeError} it failed with (offsets
   *   relative to that input); one bad frame never hides the others
   */
  decodeBatch(frames: readonly Uint8Array[], options?: DecodeOptions): Array<DecodedFrame | ClaspDecodeError> {
    let total = 0;
    for (const f of frames) total += f.length;
    const input = this.#core.input(total);
    const bounds = this.#core.aux(frames.length * 4) >>> 2;
    this.#views();
    const starts = new Int32Array(frames.length);
    let at = 0;
    for (let i = 0; i < frames.length; i++) {
      const f = frames[i]!;
      this.#u8.set(f, input + at);
      starts[i] = at;
      at += f.length;
      this.#u32[bounds + i] = at;
    }
    const n = this.#core.decode(total, frames.length);
    return this.#readFrames(n, options?.widths, starts);
  }

  /**
   * Decodes frames held back to back in `bytes` (e.g. a capture). Decoding stops after a
   * frame whose header is unusable (its error is the last element).
   * @returns the frames and errors in order; error offsets are relative to `bytes`
   */
  decodeAll(bytes: Uint8Array, options?: DecodeOptions): Array<DecodedFrame | ClaspDecodeError> {
    const n = this.#core.decode(this.#put(bytes), 0);
    return this.#readFrames(n, options?.widths);
  }

  /**
   * Encodes one value as a tagged CLASP value (type byte + body, clasp-wire.md §3): the
   * project's binary value format.
   * @throws ClaspEncodeError for a string, byte string, array or map over 65,535, or nesting over 64
   * @throws TypeError for something with no CLASP type (functions, symbols, non-Uint8 typed arrays)
   */
  encodeValue(value: ClaspValueInput): Uint8Array {
    const bytes = this.#encodeValueHere(value);
    const out = this.#infoWord(OUT);
    return this.#u8.slice(out, out + bytes);
  }

  /**
   * Encodes one value as {@link encodeValue} does, without a new array for the result:
   * `target` gets a view of the encoded bytes in the codec core's memory, valid only during
   * that call, and copies them where they are needed (another core's input region, a buffer
   * of the caller's).
   * @returns what `target` returns
   * @throws ClaspEncodeError, TypeError like {@link encodeValue} (before `target` is called)
   */
  encodeValueInto<T>(value: ClaspValueInput, target: (bytes: Uint8Array) => T): T {
    const bytes = this.#encodeValueHere(value);
    const out = this.#infoWord(OUT);
    return target(this.#u8.subarray(out, out + bytes));
  }

  /** Encodes `value` in the core; returns the byte count (at INFO OUT; the views are fresh). */
  #encodeValueHere(value: ClaspValueInput): number {
    const w = this.#writer;
    w.reset();
    w.value(value, 0, "value");
    this.#stage();
    const bytes = this.#core.encodeValue(w.n * 4, w.a);
    this.#views();
    if (this.#infoWord(ERR_CODE) !== 0) throw this.#encodeError();
    return bytes;
  }

  /**
   * Decodes one tagged CLASP value; every byte must belong to it.
   * @throws ClaspDecodeError (code 101) with the offset of the first bad byte
   */
  decodeValue(bytes: Uint8Array, options?: DecodeOptions): ClaspValue {
    const len = this.#core.decodeValue(this.#put(bytes));
    this.#views();
    if (len === 0) {
      throw new ClaspDecodeError(this.#infoWord(ERR_CODE), this.#infoWord(ERR_AT), this.#reason(this.#infoWord(ERR_REASON)));
    }
    return this.#open(options?.widths, len).value();
  }

  /** Copies `text` as UTF-8 into the core's input region; returns its length in bytes. */
  #input(text: string): number {
    const p = this.#core.input(text.length * 3);
    this.#views();
    return this.#utf8.encodeInto(text, this.#u8.subarray(p, p + text.length * 3)).written;
  }

  /**
   * Whether the address `pattern` matches `address`, with the router's semantics (docs/clasp.md
   * §Patterns: `*` one segment, `**` any number, `b*` within a segment, all else literal).
   * For clients that dispatch incoming messages to local callbacks. Each distinct pattern is
   * compiled once and kept for the codec's life.
   * @throws ClaspPatternError (code 202) when the pattern does not compile
   */
  matchPattern(pattern: string, address: string): boolean {
    let handle = this.#patterns.get(pattern);
    if (handle === undefined) {
      handle = this.#core.patternCompile(this.#input(pattern));
      this.#views();
      if (handle === 0) {
        const ptr = this.#core.patternReason(this.#infoWord(ERR_REASON));
        this.#views();
        const reason = String.fromCharCode(...new Uint16Array(this.#core.memory.buffer, ptr, this.#infoWord(ERR_AT)));
        throw new ClaspPatternError(pattern, reason);
      }
      this.#patterns.set(pattern, handle);
    }
    return this.#core.patternMatch(handle, this.#input(address)) !== 0;
  }

  /**
   * Opens a decoder for a byte stream that arrives in arbitrary chunks (serial, TCP).
   * Call {@link FrameDecoder.close} when done (it is also released when garbage collected).
   */
  createDecoder(options?: FrameDecoderOptions): FrameDecoder {
    return new FrameDecoder(this, this.#streamOpen(options, 0), options?.widths ?? false);
  }

  /**
   * Opens a reader that cuts a byte stream into frames without decoding them, for transports
   * that hand frames to a router (which decodes them itself): serial lines, pipes. Only each
   * frame's header is checked. Call {@link FrameReader.close} when done.
   */
  createReader(options?: FrameReaderOptions): FrameReader {
    return new FrameReader(this, this.#streamOpen(options, 1));
  }

  #streamOpen(options: FrameReaderOptions | undefined, raw: number): number {
    const framing = FRAMING[options?.framing ?? "frame"];
    if (framing === undefined) throw new TypeError(`framing must be one of ${Object.keys(FRAMING).join(", ")}`);
    const max = options?.maxFrameSize ?? MAX_FRAME_SIZE;
    if (!Number.isInteger(max) || max < 4 || max > 0xffffffff) throw new RangeError(`maxFrameSize must be an integer ≥ 4, got ${max}`);
    return this.#core.streamOpen(framing, max, raw);
  }

  /**
   * Delimits one frame, as it is, for a byte stream: SLIP (RFC 1055: END, the frame with END
   * and ESC escaped, END), a u32 big-endian length prefix, or nothing (`"frame"`).
   * @returns a new Uint8Array
   */
  wrapFrame(frame: Uint8Array, framing: Framing): Uint8Array {
    const code = FRAMING[framing];
    if (code === undefined) throw new TypeError(`framing must be one of ${Object.keys(FRAMING).join(", ")}`);
    const size = this.#core.frameWrap(this.#put(frame), code);
    this.#views();
    const out = this.#infoWord(OUT);
    return this.#u8.slice(out, out + size);
  }

  /** @internal Feeds a chunk to stream `handle` and reads what completed. */
  _push(handle: number, chunk: Uint8Array, widths: boolean): Array<DecodedFrame | ClaspDecodeError> {
    const r = this.#open(widths, this.#core.streamPush(handle, this.#put(chunk)));
    const out: Array<DecodedFrame | ClaspDecodeError> = [];
    while (!r.done) out.push(r.frame(this.#reason));
    return out;
  }

  /**
   * @internal Feeds a chunk to raw stream `handle`: each raw node [1, offset, length, 0]
   * becomes a copy of the frame's bytes; error nodes become errors.
   */
  _pushRaw(handle: number, chunk: Uint8Array): Array<Uint8Array | ClaspDecodeError> {
    const bytes = this.#core.streamPush(handle, this.#put(chunk));
    this.#views();
    const base = this.#infoWord(BASE);
    const u32 = this.#u32;
    const out: Array<Uint8Array | ClaspDecodeError> = [];
    for (let p = this.#infoWord(OUT) >>> 2, end = p + (bytes >>> 2); p < end; p += 4) {
      const w0 = u32[p]!;
      if (w0 === 1) {
        const at = (base + u32[p + 1]!) >>> 0;
        out.push(this.#u8.slice(at, at + u32[p + 2]!));
      } else {
        out.push(new ClaspDecodeError(u32[p + 1]!, u32[p + 2]!, this.#reason(u32[p + 3]!), (w0 & 0x100) !== 0));
      }
    }
    return out;
  }

  /** @internal */
  _pending(handle: number): number {
    return this.#core.streamPending(handle);
  }

  /** @internal */
  _lost(handle: number): number {
    return this.#core.streamLost(handle) >>> 0;
  }

  /** @internal */
  _close(handle: number): void {
    this.#core.streamClose(handle);
  }
}

const released = new FinalizationRegistry<{ codec: ClaspCodec; handle: number }>(({ codec, handle }) => codec._close(handle));

/** A reassembly stream in the core: its handle, counters and release. */
abstract class CoreStream {
  #handle: number;
  readonly #token = {};

  /** @internal */
  constructor(
    protected readonly codec: ClaspCodec,
    handle: number,
  ) {
    this.#handle = handle;
    released.register(this, { codec, handle }, this.#token);
  }

  /** The open handle. @throws Error after {@link close} */
  protected get handle(): number {
    if (this.#handle === 0) throw new Error(`${this.constructor.name} is closed`);
    return this.#handle;
  }

  /** Bytes received that do not yet form a whole frame. */
  get pending(): number {
    return this.#handle === 0 ? 0 : this.codec._pending(this.#handle);
  }

  /**
   * Stream bytes thrown away so far (mod 2^32): garbage between frames, packets that held no
   * frame (noise, a frame cut short), bad SLIP escapes, frames over the maximum. 0 after close.
   */
  get lost(): number {
    return this.#handle === 0 ? 0 : this.codec._lost(this.#handle);
  }

  /** Releases the stream's memory in the core. Idempotent. */
  close(): void {
    if (this.#handle === 0) return;
    released.unregister(this.#token);
    this.codec._close(this.#handle);
    this.#handle = 0;
  }
}

/**
 * Reassembles frames from a byte stream that arrives in arbitrary chunks, and decodes them;
 * the reassembly runs in the core (assembly/clasp/stream.ts). Create with
 * {@link ClaspCodec.createDecoder}.
 */
export class FrameDecoder extends CoreStream {
  /** @internal */
  constructor(
    codec: ClaspCodec,
    handle: number,
    private readonly widths: boolean,
  ) {
    super(codec, handle);
  }

  /**
   * Feeds a chunk.
   * @returns the frames (and errors) that completed with it, in order. Garbage before a frame
   *   (`"frame"` framing) or a bad SLIP packet yields a {@link ClaspDecodeError} and decoding
   *   resumes; an error with `fatal` set (a length prefix over the maximum) ends the stream.
   * @throws Error after {@link close}
   */
  push(chunk: Uint8Array): Array<DecodedFrame | ClaspDecodeError> {
    return this.codec._push(this.handle, chunk, this.widths);
  }
}

/**
 * Cuts a byte stream that arrives in arbitrary chunks into whole frames, undecoded (only the
 * header is checked: magic byte, length within the packet); the reassembly runs in the core.
 * Create with {@link ClaspCodec.createReader}.
 */
export class FrameReader extends CoreStream {
  /**
   * Feeds a chunk.
   * @returns the frames (copies) and errors that completed with it, in order. An error is a
   *   {@link ClaspDecodeError} (code 100) for bytes thrown away, and reading resumes at the
   *   next frame boundary; one with `fatal` set (a length prefix over the maximum) ends the stream.
   * @throws Error after {@link close}
   */
  push(chunk: Uint8Array): Array<Uint8Array | ClaspDecodeError> {
    return this.codec._pushRaw(this.handle, chunk);
  }
}

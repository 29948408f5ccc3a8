/**
 * `clawft/clasp/worker`: the CLASP codec in a Worker. {@link ClaspWorker} has the methods of
 * {@link ClaspCodec} (and a remote streaming decoder), each returning a Promise, so encoding
 * and decoding big batches never block the calling thread.
 *
 * ```ts
 * // codec.worker.ts (any bundler; Node: a worker_threads entry)
 * import { exposeClasp } from "clawft/clasp/worker";
 * exposeClasp();
 * // the page
 * import { createClaspWorker } from "clawft/clasp/worker";
 * const codec = await createClaspWorker(new Worker(new URL("./codec.worker.ts", import.meta.url), { type: "module" }));
 * const frame = await codec.encode({ type: "SET", address: "/a", value: 1 });
 * ```
 * Frames and encoded values come back transferred, not copied; inputs are copied unless the
 * Worker was created with `{ transferInputs: true }` (then the caller's byte arrays are moved
 * to the Worker and become detached). Errors arrive as their own classes (`ClaspDecodeError`
 * with `code` and `offset`, …), also inside `decodeBatch` results. When the Worker dies,
 * pending and later calls reject with {@link WorkerCrashError}.
 * @module
 */
import { proxy, transfer, type Endpoint } from "comlink";
import { WorkerConnection, WorkerCrashError, buffersOf, dataToError, errorToData, exposeApi, guarded, type WorkerLike } from "../core/worker.js";
import { ClaspDecodeError, ClaspEncodeError, ClaspPatternError } from "./errors.js";
import type { ClaspCodec, FrameDecoderOptions } from "./codec.js";
import type { ClaspValue, ClaspValueInput, DecodeOptions, DecodedFrame, EncodeOptions, Framing, Message } from "./types.js";

export { WorkerCrashError, type WorkerLike } from "../core/worker.js";

/** The error classes that cross back as themselves. */
const CLASSES = { ClaspDecodeError, ClaspEncodeError, ClaspPatternError, TypeError, RangeError, WorkerCrashError };

/** A decoded frame or its error, as it crosses (errors as data). */
type Crossing = DecodedFrame | ClaspDecodeError;

/** A streaming decoder living in the Worker ({@link ClaspCodec.createDecoder}). */
export interface RemoteDecoderApi {
  push(chunk: Uint8Array): Promise<Crossing[]>;
  close(): Promise<void>;
}

/** What {@link exposeClasp} exposes. */
export interface ClaspWorkerApi {
  /** Answers once the codec is loaded. */
  ping(): Promise<true>;
  encode(message: Message, options?: EncodeOptions): Promise<Uint8Array>;
  encodeBatch(messages: Message[], options?: EncodeOptions & { framing?: Framing }): Promise<Uint8Array[]>;
  decode(bytes: Uint8Array, options?: DecodeOptions): Promise<DecodedFrame>;
  decodeBatch(frames: Uint8Array[], options?: DecodeOptions): Promise<Crossing[]>;
  decodeAll(bytes: Uint8Array, options?: DecodeOptions): Promise<Crossing[]>;
  encodeValue(value: ClaspValueInput): Promise<Uint8Array>;
  decodeValue(bytes: Uint8Array, options?: DecodeOptions): Promise<ClaspValue>;
  matchPattern(pattern: string, address: string): Promise<boolean>;
  wrapFrame(frame: Uint8Array, framing: Framing): Promise<Uint8Array>;
  createDecoder(options?: FrameDecoderOptions): Promise<RemoteDecoderApi>;
}

/** Errors inside a result list cross as data; frames' byte values are transferred. */
function outgoing(items: Crossing[]): Crossing[] {
  return items.map((x) => (x instanceof Error ? (errorToData(x) as Crossing) : x));
}

/**
 * Serves the codec from inside a Worker (call it in the Worker's entry). Loads its own codec
 * core (`codec`, when given, instead: e.g. one loaded from a workerd module).
 * @param endpoint where to listen; defaults to `self` (browser) or `parentPort` (Node)
 */
export async function exposeClasp(endpoint?: Endpoint, codec?: ClaspCodec): Promise<void> {
  // Listen at once and load the core meanwhile: a browser Worker drops messages that arrive
  // before it listens, and the first call may come while the core still loads.
  const loading = codec ? Promise.resolve(codec) : import("./index.js").then((m) => m.codec);
  const use = <T>(fn: (c: ClaspCodec) => T): Promise<T> => loading.then(fn);
  const api: ClaspWorkerApi = {
    ping: () => use(() => true as const),
    encode: (message, options) =>
      use((c) => {
        const f = c.encode(message, options);
        return transfer(f, [f.buffer as ArrayBuffer]);
      }),
    encodeBatch: (messages, options) =>
      use((c) => {
        const frames = c.encodeBatch(messages, options);
        return transfer(frames, buffersOf(frames));
      }),
    decode: (bytes, options) => use((c) => c.decode(bytes, options)),
    decodeBatch: (frames, options) => use((c) => outgoing(c.decodeBatch(frames, options))),
    decodeAll: (bytes, options) => use((c) => outgoing(c.decodeAll(bytes, options))),
    encodeValue: (value) =>
      use((c) => {
        const v = c.encodeValue(value);
        return transfer(v, [v.buffer as ArrayBuffer]);
      }),
    decodeValue: (bytes, options) => use((c) => c.decodeValue(bytes, options)),
    matchPattern: (pattern, address) => use((c) => c.matchPattern(pattern, address)),
    wrapFrame: (frame, framing) =>
      use((c) => {
        const w = c.wrapFrame(frame, framing);
        return transfer(w, [w.buffer as ArrayBuffer]);
      }),
    createDecoder: (options) =>
      use((c) => {
        const d = c.createDecoder(options);
        return proxy(
          guarded<RemoteDecoderApi>({
            push: async (chunk) => outgoing(d.push(chunk)),
            close: async () => d.close(),
          }),
        );
      }),
  };
  await exposeApi(guarded(api), endpoint);
}

/** Options of {@link createClaspWorker}. */
export interface ClaspWorkerOptions {
  /**
   * Move the byte arrays passed in (frames, chunks, values) to the Worker instead of copying
   * them; the caller's arrays are detached afterwards. Defaults to false.
   */
  transferInputs?: boolean;
}

/** Items of a result list with their errors rebuilt as instances. */
function incoming(items: Crossing[]): Crossing[] {
  return items.map((x) => dataToError(x, CLASSES) as Crossing);
}

/**
 * A streaming decoder in the Worker: {@link FrameDecoder}'s `push`/`close`, asynchronous.
 * Chunks are decoded in order.
 */
export class RemoteFrameDecoder {
  readonly #owner: ClaspWorker;
  readonly #remote: RemoteDecoderApi;
  /** @internal */
  constructor(owner: ClaspWorker, remote: RemoteDecoderApi) {
    this.#owner = owner;
    this.#remote = remote;
  }
  /** Feeds `chunk`; resolves with the frames (and recoverable errors) it completed. */
  async push(chunk: Uint8Array): Promise<Array<DecodedFrame | ClaspDecodeError>> {
    const c = this.#owner.input(chunk);
    return incoming(await this.#owner.call(() => this.#remote.push(c)));
  }
  /** Releases the decoder in the Worker. */
  close(): Promise<void> {
    return this.#owner.call(() => this.#remote.close());
  }
}

/** The codec in a Worker; see the module comment. */
export class ClaspWorker {
  readonly #conn: WorkerConnection<ClaspWorkerApi>;
  readonly #transferInputs: boolean;

  /** Wraps `worker` (running {@link exposeClasp}); prefer {@link createClaspWorker}. */
  constructor(worker: WorkerLike, options: Readonly<ClaspWorkerOptions> = {}) {
    this.#conn = new WorkerConnection<ClaspWorkerApi>(worker, "CLASP codec");
    this.#transferInputs = options.transferInputs ?? false;
  }

  /** Runs one remote call with typed errors and the crash watch. @internal */
  call<T>(fn: (remote: ClaspWorkerApi) => Promise<T>): Promise<T> {
    return this.#conn.call((r) => fn(r as unknown as ClaspWorkerApi), CLASSES);
  }

  /** `bytes` marked for transfer when the Worker was made with `transferInputs`. @internal */
  input<T extends Uint8Array | Uint8Array[]>(bytes: T): T {
    if (!this.#transferInputs) return bytes;
    return transfer(bytes, buffersOf(Array.isArray(bytes) ? bytes : [bytes]));
  }

  /** {@link ClaspCodec.encode}: the frame, transferred. */
  encode(message: Message, options?: EncodeOptions): Promise<Uint8Array> {
    return this.call((r) => r.encode(message, options));
  }

  /** {@link ClaspCodec.encodeBatch}: views into one transferred buffer. */
  encodeBatch(messages: readonly Message[], options?: EncodeOptions & { framing?: Framing }): Promise<Uint8Array[]> {
    return this.call((r) => r.encodeBatch(messages as Message[], options));
  }

  /** {@link ClaspCodec.decode}. @throws ClaspDecodeError */
  decode(bytes: Uint8Array, options?: DecodeOptions): Promise<DecodedFrame> {
    const b = this.input(bytes);
    return this.call((r) => r.decode(b, options));
  }

  /** {@link ClaspCodec.decodeBatch}: per input its frame or its ClaspDecodeError. */
  async decodeBatch(frames: readonly Uint8Array[], options?: DecodeOptions): Promise<Array<DecodedFrame | ClaspDecodeError>> {
    const f = this.input(frames as Uint8Array[]);
    return incoming(await this.call((r) => r.decodeBatch(f, options)));
  }

  /** {@link ClaspCodec.decodeAll}. */
  async decodeAll(bytes: Uint8Array, options?: DecodeOptions): Promise<Array<DecodedFrame | ClaspDecodeError>> {
    const b = this.input(bytes);
    return incoming(await this.call((r) => r.decodeAll(b, options)));
  }

  /** {@link ClaspCodec.encodeValue}: the value bytes, transferred. */
  encodeValue(value: ClaspValueInput): Promise<Uint8Array> {
    return this.call((r) => r.encodeValue(value));
  }

  /** {@link ClaspCodec.decodeValue}. @throws ClaspDecodeError */
  decodeValue(bytes: Uint8Array, options?: DecodeOptions): Promise<ClaspValue> {
    const b = this.input(bytes);
    return this.call((r) => r.decodeValue(b, options));
  }

  /** {@link ClaspCodec.matchPattern}. @throws ClaspPatternError */
  matchPattern(pattern: string, address: string): Promise<boolean> {
    return this.call((r) => r.matchPattern(pattern, address));
  }

  /** {@link ClaspCodec.wrapFrame}. */
  wrapFrame(frame: Uint8Array, framing: Framing): Promise<Uint8Array> {
    const f = this.input(frame);
    return this.call((r) => r.wrapFrame(f, framing));
  }

  /** {@link ClaspCodec.createDecoder}, living in the Worker. */
  async createDecoder(options?: FrameDecoderOptions): Promise<RemoteFrameDecoder> {
    return new RemoteFrameDecoder(this, await this.call((r) => r.createDecoder(options)));
  }

  /** Terminates the Worker; pending and later calls reject with {@link WorkerCrashError}. */
  terminate(): Promise<void> {
    return this.#conn.terminate();
  }
}

/**
 * Connects to a Worker running {@link exposeClasp} and checks that it answers.
 * @throws WorkerCrashError when the Worker dies before answering
 */
export async function createClaspWorker(worker: WorkerLike, options?: Readonly<ClaspWorkerOptions>): Promise<ClaspWorker> {
  const w = new ClaspWorker(worker, options);
  await w.call((r) => r.ping());
  return w;
}

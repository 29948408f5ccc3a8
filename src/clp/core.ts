/**
 * The CLP engine core (assembly/clp, build/clp.wasm) as seen from TypeScript: loading, the
 * verbs, and CLASP value marshalling through the project's codec (principle 2). Nothing here
 * decides anything about contracts; it moves bytes (docs/clp-formats.md §ABI).
 * @module
 */
import { instantiateCore, type CoreExports, type WasmSource } from "../core/loader.js";
import { ClaspCodec, type ClaspValue, type ClaspValueInput } from "../clasp/index.js";
import { engineError } from "./errors.js";

/** The raw exports of build/clp.wasm (assembly/clp/index.ts). */
interface ClpExports extends CoreExports {
  info(): number;
  input(size: number): number;
  clock(ms: number): void;
  create(len: number): number;
  destroy(h: number): void;
  dispatch(h: number, len: number): number;
  propose(h: number, len: number): number;
  accept(h: number, len: number): number;
  commit(h: number, len: number): number;
  batch(h: number, len: number): number;
  get(h: number, len: number): number;
  confirm(h: number): number;
  abort(h: number): number;
  head(h: number): number;
  state(h: number): number;
  stateHash(h: number): number;
  snapshot(h: number): number;
  restore(h: number, len: number): number;
  append(h: number, len: number): number;
  replay(h: number, len: number): number;
}

/** Verbs that take one CLASP value. */
export type ValueVerb = "dispatch" | "propose" | "accept" | "commit" | "batch" | "get";
/** Verbs that take nothing and answer a value. */
export type PlainVerb = "confirm" | "abort" | "head";
/** Verbs that take nothing and answer raw bytes. */
export type RawVerb = "state" | "stateHash" | "snapshot";
/** Verbs that take raw bytes and answer a value. */
export type BytesVerb = "restore" | "append" | "replay";

/** Status of an answer: the result, a request for host results (commit), or an error. */
export const OK = 0;
export const NEED = 1;
export const ERROR = 2;

/** An answer: `status` and the decoded CLASP value. */
export interface Answer {
  status: number;
  value: ClaspValue;
}

/** Default location of the engine core, beside the package's dist/ and src/ (resolved when needed). */
const CORE_URL = () => new URL("../../build/clp.wasm", import.meta.url);

/**
 * One instance of the engine core. It holds any number of engines (one per runtime), each
 * named by a handle. Synchronous; one instance must not be used from two threads.
 */
export class ClpCore {
  readonly #core: ClpExports;
  readonly #info: number;
  readonly codec: ClaspCodec;
  #u8 = new Uint8Array(0);
  #u32 = new Uint32Array(0);
  #f64 = new Float64Array(0);

  private constructor(core: ClpExports, codec: ClaspCodec) {
    this.#core = core;
    this.#info = core.info() >>> 2;
    this.codec = codec;
  }

  /**
   * Loads the engine core.
   * @param source where build/clp.wasm comes from (required on Cloudflare workerd: the
   *   imported `WebAssembly.Module`); defaults to the package's build/clp.wasm
   * @param codec the CLASP codec to marshal values with; defaults to `clawft/clasp`'s
   * @throws Error when the module cannot be loaded
   */
  static async load(source?: WasmSource, codec?: ClaspCodec): Promise<ClpCore> {
    const exports = await instantiateCore<ClpExports>(CORE_URL, source); // the function: workerd has no import.meta.url to resolve
    return new ClpCore(exports, codec ?? (await import("../clasp/index.js")).codec);
  }

  /**
   * Wraps an engine core the caller instantiated (node:wasi, a synchronous
   * `new WebAssembly.Instance`, a browser test page).
   * @throws TypeError when the instance is not the CLP core
   */
  static fromInstance(instance: WebAssembly.Instance, codec: ClaspCodec): ClpCore {
    const core = instance.exports as unknown as ClpExports;
    if (typeof core.commit !== "function" || typeof core.replay !== "function" || !(core.memory instanceof WebAssembly.Memory)) {
      throw new TypeError("not a CLP engine core instance (build/clp.wasm)");
    }
    return new ClpCore(core, codec);
  }

  /**
   * Renews the views of the core's memory after it grew. Compared by identity with
   * `memory.buffer`, not by testing for a detached (empty) view: a shared memory detaches
   * nothing when it grows, and neither does the memory mirror of a core run out of process
   * (the WAMR driver's, test/helpers/wamr.ts), whose `buffer` is replaced by a larger one.
   */
  #views(): void {
    const buffer = this.#core.memory.buffer;
    if (this.#u8.buffer !== buffer) {
      this.#u8 = new Uint8Array(buffer);
      this.#u32 = new Uint32Array(buffer);
      this.#f64 = new Float64Array(buffer);
    }
  }

  /** The input region's address and the largest size asked of it: a region never shrinks or moves for a size it already holds (assembly/abi/buffer.ts). */
  #inPtr = 0;
  #inSize = -1;

  #write(bytes: Uint8Array): number {
    if (bytes.length > this.#inSize) {
      this.#inPtr = this.#core.input(bytes.length);
      this.#inSize = bytes.length;
    }
    const p = this.#inPtr;
    this.#views();
    this.#u8.set(bytes, p);
    return bytes.length;
  }

  /** The answer of the last call: its status and a view of its bytes (valid until the next call into the core). */
  #answer(): { status: number; bytes: Uint8Array } {
    this.#views();
    const ptr = this.#u32[this.#info]!;
    const len = this.#u32[this.#info + 1]!;
    return { status: this.#u32[this.#info + 2]!, bytes: this.#u8.subarray(ptr, ptr + len) };
  }

  #decode(status: number, bytes: Uint8Array): Answer {
    return { status, value: this.codec.decodeValue(bytes) };
  }

  /** CLASP-encodes a value. */
  encode(value: ClaspValueInput): Uint8Array {
    return this.codec.encodeValue(value);
  }

  /**
   * Compiles a contract descriptor into a new engine.
   * @returns the engine's handle
   * @throws ContractError (or another {@link ClpError}) when the descriptor does not compile
   */
  create(descriptor: ClaspValueInput): number {
    const h = this.#core.create(this.#write(this.encode(descriptor)));
    if (h === 0) throw engineError(this.codec.decodeValue(this.#answer().bytes) as ClaspValue[]);
    return h;
  }

  /** Sets the time (ms since the epoch) of commits whose arguments carry null as their time. */
  clock(ms: number): void {
    this.#core.clock(ms);
  }

  /** Releases an engine. */
  destroy(h: number): void {
    this.#core.destroy(h);
  }

  /** Calls a value verb; errors are answered (status ERROR), not thrown. */
  call(verb: ValueVerb, h: number, arg: ClaspValueInput | Uint8Array): Answer {
    this.#core[verb](h, this.#argument(arg));
    const { status, bytes: out } = this.#answer();
    return this.#decode(status, out);
  }

  /** `#write`, bound once: the codec hands it the encoded argument (encodeValueInto). */
  readonly #writeBytes = (bytes: Uint8Array): number => this.#write(bytes);

  /** Puts a value verb's argument into the input region (encoded there without an intermediate copy); returns its length. */
  #argument(arg: ClaspValueInput | Uint8Array): number {
    return arg instanceof Uint8Array ? this.#write(arg) : this.codec.encodeValueInto(arg, this.#writeBytes);
  }

  /**
   * Calls a value verb and leaves its answer in the core, undecoded: read it with
   * {@link answerValue}, {@link answerBytes}, {@link flag} or {@link record} before the next
   * call into this core. For callers that need only part of an answer (the runtime's
   * commits: the event record now, the rest when the audit log is read).
   * @returns the status (OK, NEED or ERROR); errors are answered, not thrown
   */
  callRaw(verb: ValueVerb, h: number, arg: ClaspValueInput | Uint8Array): number {
    return this.#core[verb](h, this.#argument(arg));
  }

  /** The last answer, decoded (see {@link callRaw}). */
  answerValue(): ClaspValue {
    return this.codec.decodeValue(this.#answer().bytes);
  }

  /** A copy of the last answer's CLASP bytes (see {@link callRaw}), to decode later with `codec.decodeValue`. */
  answerBytes(): Uint8Array {
    this.#views();
    const ptr = this.#u32[this.#info]!;
    return this.#copyOut(ptr, this.#u32[this.#info + 1]!);
  }

  /** The chunk small copies are carved from (bytes and 32-bit words), and the next free offset in it (a multiple of 4). */
  #slab = new Uint8Array(0);
  #slab32 = new Uint32Array(0);
  #slabAt = 0;

  /**
   * Copies [ptr, ptr + len) out of the core's memory. Copies of at most 4 KB share 64 KB
   * chunks (a view each): `slice()` (a new ArrayBuffer each) took ~0.5–1 µs for 200 bytes on
   * Node 20, `set()` of a `subarray` into a chunk ~0.2 µs, a loop of 32-bit words ~0.1 µs
   * (used when `ptr` is word-aligned; it may read up to 3 bytes past the end, which land
   * in the chunk outside the view). A chunk lives as long as any view into it; `.buffer` of
   * such a view is the whole chunk (use `byteOffset` and `byteLength`, or `slice()` to own
   * the bytes).
   */
  #copyOut(ptr: number, len: number): Uint8Array {
    if (len > 4096) return this.#u8.slice(ptr, ptr + len);
    const at = this.#copyIn(ptr, len);
    return this.#slab.subarray(at, at + len);
  }

  /** Copies [ptr, ptr + len ≤ 4 KB) into the chunk; returns its offset there. */
  #copyIn(ptr: number, len: number): number {
    const words = (len + 3) >>> 2;
    if (this.#slabAt + words * 4 > this.#slab.length) {
      this.#slab = new Uint8Array(65536);
      this.#slab32 = new Uint32Array(this.#slab.buffer);
      this.#slabAt = 0;
    }
    const at = this.#slabAt;
    if ((ptr & 3) === 0) {
      const from = ptr >>> 2;
      const to = at >>> 2;
      const src = this.#u32;
      const dst = this.#slab32;
      for (let i = 0; i < words; i++) dst[to + i] = src[from + i]!;
    } else this.#slab.set(this.#u8.subarray(ptr, ptr + len), at);
    this.#slabAt = at + words * 4;
    return at;
  }

  /** The `complete` flag the last `dispatch` or `accept` answered (INFO word 6: 1 complete, 0 not). */
  flag(): boolean {
    this.#views();
    return this.#u32[this.#info + 6] === 1;
  }

  /**
   * The event record the last verb built (a copy: a view into a chunk shared with other
   * small copies) and its sequence number (INFO words 4 and 5, the f64 at byte 32), or
   * undefined when it built none. A `batch` leaves its last one.
   */
  record(): { record: Uint8Array; seq: number } | undefined {
    this.#views();
    const ptr = this.#u32[this.#info + 4]!;
    if (ptr === 0) return undefined;
    return { record: this.#copyOut(ptr, this.#u32[this.#info + 5]!), seq: this.#f64[(this.#info >>> 1) + 4]! };
  }

  /** Set by {@link recordThenAnswer}: the sequence number of the record it copied out. */
  recordSeq = 0;
  /** Set by {@link recordThenAnswer}: the length of the answer that follows the record it copied out. */
  answerLength = 0;

  /**
   * The event record the last verb built, copied out together with the verb's answer bytes:
   * a view of the record whose buffer holds the answer right after it (at `byteOffset +
   * byteLength`, {@link answerLength} bytes). Sets {@link recordSeq} and {@link answerLength}
   * (no result object: this runs once per commit). One copy when the answer follows the record
   * in the core's memory (a lean commit's: INFO word 0 = word 4 + word 5, docs/clp-formats.md
   * §ABI), into a chunk shared with other small copies (see {@link record}); beyond 4 KB, or
   * when the answer lies elsewhere, into a buffer of its own. Undefined when the verb built no
   * record.
   */
  recordThenAnswer(): Uint8Array | undefined {
    this.#views();
    const info = this.#info;
    const u32 = this.#u32;
    const recPtr = u32[info + 4]!;
    if (recPtr === 0) return undefined;
    const recLen = u32[info + 5]!;
    const ansPtr = u32[info]!;
    const ansLen = u32[info + 1]!;
    this.recordSeq = this.#f64[(info >>> 1) + 4]!;
    this.answerLength = ansLen;
    const total = recLen + ansLen;
    if (total > 4096 || ansPtr !== recPtr + recLen) {
      const own = new Uint8Array(total);
      own.set(this.#u8.subarray(recPtr, recPtr + recLen));
      own.set(this.#u8.subarray(ansPtr, ansPtr + ansLen), recLen);
      return own.subarray(0, recLen);
    }
    const at = this.#copyIn(recPtr, total);
    // a view made from the buffer: `subarray` looks up the species constructor (~20 ns more)
    return new Uint8Array(this.#slab.buffer, at, recLen);
  }

  /** Calls a verb without arguments that answers a value. */
  plain(verb: PlainVerb, h: number): Answer {
    this.#core[verb](h);
    const { status, bytes } = this.#answer();
    return this.#decode(status, bytes);
  }

  /**
   * Calls a verb that answers raw bytes.
   * @throws ClpError when the engine fails (e.g. the state exceeds a CLASP limit)
   */
  raw(verb: RawVerb, h: number): Uint8Array {
    this.#core[verb](h);
    const { status, bytes } = this.#answer();
    if (status !== OK) throw engineError(this.codec.decodeValue(bytes) as ClaspValue[]);
    return bytes.slice();
  }

  /**
   * Calls a verb that answers raw CLASP bytes (`state`) and decodes them where they lie
   * (no copy).
   * @throws ClpError when the engine fails
   */
  rawValue(verb: "state", h: number): ClaspValue {
    this.#core[verb](h);
    const { status, bytes } = this.#answer();
    if (status !== OK) throw engineError(this.codec.decodeValue(bytes) as ClaspValue[]);
    return this.codec.decodeValue(bytes);
  }

  /** Calls a verb that takes raw bytes (a snapshot or an event log). */
  bytes(verb: BytesVerb, h: number, input: Uint8Array): Answer {
    this.#core[verb](h, this.#write(input));
    const { status, bytes } = this.#answer();
    return this.#decode(status, bytes);
  }
}

/** Throws the engine error an ERROR answer carries; returns the value otherwise. */
export function expectOk(answer: Answer): ClaspValue {
  if (answer.status === ERROR) throw engineError(answer.value as ClaspValue[]);
  return answer.value;
}

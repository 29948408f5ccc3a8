/**
 * The HNSW core's raw ABI (docs/hnsw-abi.md) as TypeScript sees it: its exports, how to
 * instantiate the SIMD or scalar build, and how its error codes become typed errors.
 * @module
 */
import { instantiateCore, type CoreExports, type WasmSource } from "../core/loader.js";
import {
  HnswArgumentError,
  HnswError,
  HnswFullError,
  HnswLabelError,
  HnswMemoryError,
  HnswSnapshotError,
  type SnapshotProblem,
} from "./errors.js";

/** Exports of build/hnsw.wasm and build/hnsw.scalar.wasm; every verb returns an error code. */
export interface HnswExports extends CoreExports {
  info(): number;
  io(bytes: number): number;
  init(dim: number, space: number, m: number, efConstruction: number, maxElements: number, seed: number, quant: number, keep: number): number;
  setEf(ef: number): number;
  add(label: number): number;
  addBatch(n: number): number;
  search(n: number, k: number, ef: number, mode: number, nf: number, rerank: number): number;
  markDelete(label: number): number;
  unmarkDelete(label: number): number;
  resizeIndex(maxElements: number): number;
  getPoint(label: number): number;
  stats(): void;
  save(): number;
  loadBegin(total: number, expect: number): number;
  loadEnd(crc: number): number;
}

/** Word offsets into INFO (assembly/hnsw/error.ts). */
export const INFO = { result: 0, found: 1, code: 2, value: 3, flag: 4, segments: 5, crc: 15, stats: 16 } as const;

/** Error codes of the core that the face maps to typed errors (assembly/hnsw/error.ts E_*). */
export const E = { argument: 1, notFinite: 2, full: 3, unknownLabel: 4, memory: 5, snapshot: 6 } as const;

const SNAPSHOT_PROBLEMS: SnapshotProblem[] = ["length", "magic", "version", "params", "checksum", "graph", "vector", "labels", "quantization"];
const PARAMETERS = ["dim", "space", "M", "efConstruction", "maxElements", "ef", "mode", "IO size", "quantization", "originals (the index keeps none)"];

/** `expect` of loadBegin that accepts a snapshot of any quantization. */
export const ANY_QUANTIZATION = 0xffffffff;

/** A wasm module that uses one SIMD instruction (wasm-feature-detect's probe). */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

let simdSupport: boolean | undefined;

/**
 * True when this host runs wasm SIMD (then the f32x4 build is used by default). Asked once,
 * lazily: hosts that forbid compiling bytes (workerd) never ask, as they pass `source`.
 */
export function hasSimd(): boolean {
  return (simdSupport ??= WebAssembly.validate(SIMD_PROBE));
}

/** Where the two builds live (functions: workerd cannot evaluate import.meta.url). */
const BUILDS = {
  simd: () => new URL("../../build/hnsw.wasm", import.meta.url),
  scalar: () => new URL("../../build/hnsw.scalar.wasm", import.meta.url),
};

/** A running core: its exports and typed views of its memory, renewed when memory grows. */
export class Core {
  #u8 = new Uint8Array(0);
  #u32 = new Uint32Array(0);
  #f32 = new Float32Array(0);
  readonly #info: number;

  constructor(readonly x: HnswExports) {
    this.#info = x.info() >>> 2;
  }

  /** Byte view of memory (current after any growth). */
  get u8(): Uint8Array {
    this.#renew();
    return this.#u8;
  }
  /** u32 view of memory. */
  get u32(): Uint32Array {
    this.#renew();
    return this.#u32;
  }
  /** f32 view of memory. */
  get f32(): Float32Array {
    this.#renew();
    return this.#f32;
  }

  #renew(): void {
    const buffer = this.x.memory.buffer;
    if (this.#u8.buffer !== buffer) {
      this.#u8 = new Uint8Array(buffer);
      this.#u32 = new Uint32Array(buffer);
      this.#f32 = new Float32Array(buffer);
    }
  }

  /** Word `i` of INFO. */
  info(i: number): number {
    return this.u32[this.#info + i]!;
  }

  /** Makes the IO region `bytes` long; returns its address. @throws {@link HnswMemoryError} */
  io(bytes: number): number {
    if (bytes > 0xffff0000) throw new HnswMemoryError(`input of ${bytes} bytes does not fit in wasm memory`, bytes);
    const at = this.x.io(bytes) >>> 0;
    if (at === 0) throw new HnswMemoryError(`cannot grow wasm memory to ${bytes} bytes of input`, bytes);
    return at;
  }

  /**
   * Throws the typed error for a non-zero `code` of operation `op`; codes the caller
   * handles itself (E.notFinite) must be checked before.
   */
  check(code: number, op: string): void {
    if (code === 0) return;
    const value = this.info(INFO.value);
    switch (code) {
      case E.argument:
        throw new HnswArgumentError(`${op}: ${PARAMETERS[value] ?? "parameter"} out of range`, PARAMETERS[value]);
      case E.full:
        throw new HnswFullError(`${op}: the index is full (maxElements ${value}); resize it first`, value);
      case E.unknownLabel:
        throw new HnswLabelError(`${op}: no element has label ${value}`, value);
      case E.memory:
        throw new HnswMemoryError(`${op}: cannot grow wasm memory (asked for ${value})`, value);
      case E.snapshot: {
        const why = SNAPSHOT_PROBLEMS[value - 1] ?? "params";
        throw new HnswSnapshotError(`${op}: snapshot refused (${why})`, why);
      }
      default:
        throw new HnswError(`${op}: core error ${code} (value ${value})`, value);
    }
  }
}

/**
 * Instantiates the core's SIMD or scalar build.
 * @param simd which build (the face defaults it to {@link hasSimd})
 * @param source where the module comes from (required on workerd)
 * @param accept the host's answer for filter mode 2 (a label predicate)
 * @param original writes the f32 original of a label at a byte address of memory for
 *   re-ranking (quantized indexes that keep none); false when it has none
 */
export async function instantiate(
  simd: boolean,
  source: WasmSource | undefined,
  accept: (label: number) => boolean,
  original: (label: number, at: number) => boolean,
): Promise<Core> {
  const url = simd ? BUILDS.simd : BUILDS.scalar;
  const imports = {
    hnsw: {
      accept: (label: number) => (accept(label >>> 0) ? 1 : 0),
      original: (label: number, at: number) => (original(label >>> 0, at >>> 0) ? 1 : 0),
    },
  };
  return new Core(await instantiateCore<HnswExports>(url, source, imports));
}

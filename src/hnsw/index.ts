/**
 * `clawft/hnsw`: approximate k-nearest-neighbour search over float32 vectors with a
 * Hierarchical Navigable Small World graph (Malkov & Yashunin, TPAMI 2018), in hnswlib's
 * terms (`M`, `efConstruction`, `ef`, `maxElements`, labels). The algorithm runs in the wasm
 * core (assembly/hnsw); this face validates input, writes it straight into wasm memory and
 * copies results out once. See docs/hnsw.md.
 * @module
 */
import type { Storage } from "../storage/index.js";
import type { WasmSource } from "../core/loader.js";
import { ANY_QUANTIZATION, Core, E, INFO, hasSimd, instantiate } from "./core.js";
import { HnswArgumentError, HnswDimensionError, HnswError, HnswLabelError, HnswValueError } from "./errors.js";

export * from "./errors.js";
export { hasSimd } from "./core.js";

/** Distance space: `l2` squared Euclidean, `ip` 1 − a·b, `cosine` 1 − a·b of normalised vectors. */
export type Space = "l2" | "ip" | "cosine";
const SPACES: readonly Space[] = ["l2", "ip", "cosine"];

/**
 * What the graph walk compares: `f32` the vectors as given; `i8` one signed byte per
 * component with one scale per vector (4× smaller); `b1` one sign bit per component,
 * compared by Hamming distance (32× smaller). Quantized indexes re-rank their best
 * candidates with exact f32 distances, so results carry exact distances. See docs/hnsw.md.
 */
export type Quantization = "f32" | "i8" | "b1";
const QUANTIZATIONS: readonly Quantization[] = ["f32", "i8", "b1"];

/**
 * Supplies the f32 vector added under `label` (the caller's own copy: a matrix it holds, a
 * file, a database), for a quantized index that keeps no originals; `undefined` if unknown.
 */
export type OriginalSource = (label: number) => Vector | undefined;

/** Options of {@link createIndex}; only `dim` is required. */
export interface IndexOptions {
  /** Floats per vector, 1 … 65,536. */
  dim: number;
  /** Distance space. Defaults to `"l2"`. */
  space: Space;
  /** Links per element on levels ≥ 1 (2·M on level 0), 2 … 32,767. Defaults to 16. */
  M: number;
  /** Candidate list size while building (≥ 1). Defaults to 200. */
  efConstruction: number;
  /** Elements the index can hold before {@link HnswIndex.resize}. Defaults to 1,024. */
  maxElements: number;
  /** Seed of the level generator (u32); equal seeds and inputs build equal graphs. Defaults to 100. */
  seed: number;
  /** Default search candidate list size (≥ 1; a search uses at least k). Defaults to 50. */
  ef: number;
  /** Vectors the graph walk compares: `f32`, `i8` or `b1` (see {@link Quantization}). Defaults to `f32`. */
  quantization: Quantization;
  /**
   * Quantized indexes: candidates re-ranked by exact f32 distance, as a multiple of k (≥ 1);
   * a search uses at least k·rerank candidates. Defaults to 2 for `i8`, 16 for `b1` (docs/hnsw.md).
   */
  rerank: number;
  /**
   * Quantized indexes only: where re-ranking reads the exact f32 vectors. Without it (the
   * default) each level-0 record keeps its original beside its code, in wasm memory and in
   * snapshots. With it the index stores codes only and asks this function, during searches,
   * for the candidates' vectors: the index then holds no f32 copy at all (and
   * {@link HnswIndex.getPoint} is refused). A function cannot cross to a Worker.
   */
  originals: OriginalSource;
  /** Use the wasm SIMD build. Defaults to {@link hasSimd}() (to true when `source` is given). */
  simd: boolean;
  /** Where the core's wasm comes from (required on workerd). Defaults to build/. */
  source: WasmSource;
}

/** A vector: `dim` finite numbers. */
export type Vector = Float32Array | ArrayLike<number>;

/**
 * Restricts results: labels that may be returned, or a predicate over labels (not across
 * Workers; it must not call the index, which throws {@link HnswError} while a search runs it).
 */
export type Filter = ArrayLike<number> | Iterable<number> | ((label: number) => boolean);

/** Options of a search. */
export interface SearchOptions {
  /** Candidate list size; at least `k` is used. Defaults to the index's `ef`. */
  ef?: number;
  /** Only these labels (or those the predicate accepts) are returned; others still route the search. */
  filter?: Filter;
  /** Quantized indexes: re-rank k·rerank candidates (≥ 1). Defaults to the index's `rerank`. */
  rerank?: number;
}

/** Neighbours of one query, nearest first (both arrays of the same length, at most k). */
export interface SearchResult {
  /** Labels of the neighbours (u32). */
  labels: Uint32Array;
  /** Their distances to the query in the index's space (see {@link Space}). */
  distances: Float32Array;
}

/** Shape and counters of an index. */
export interface HnswStats {
  /** Live (not deleted) elements. */
  size: number;
  /** Elements marked deleted (still stored, still routing searches). */
  deleted: number;
  /** Elements the index can hold, deleted ones included. */
  maxElements: number;
  /** Highest graph level in use (0 for an empty index). */
  maxLevel: number;
  /** Floats per vector. */
  dim: number;
  /** Distance space. */
  space: Space;
  /** Links per element on levels ≥ 1. */
  M: number;
  /** Candidate list size used while building. */
  efConstruction: number;
  /** Default search candidate list size. */
  ef: number;
  /** Bytes of wasm linear memory the index holds (all of it: vectors, graph, buffers). */
  memoryBytes: number;
  /** What the graph walk compares. */
  quantization: Quantization;
  /** False for a quantized index whose originals come from its {@link IndexOptions.originals}. */
  keepsOriginals: boolean;
  /** Bytes per element of the vector the walk reads: 4·dim (padded) in f32, its code otherwise. */
  codeBytes: number;
  /** Bytes per element of the level-0 record: level-0 links, the walk vector and any kept original. */
  recordBytes: number;
  /** Bytes of upper-level link lists in use, all elements together. */
  upperLinkBytes: number;
}

function int(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new HnswArgumentError(`${name} must be an integer in [${min}, ${max}], got ${String(v)}`, v);
  }
  return v;
}

const label = (v: unknown) => int("label", v, 0, 0xffffffff);

/** Creates an empty index. @throws {@link HnswArgumentError} for an option out of range */
export function createIndex(options: Readonly<Partial<IndexOptions>> & { dim: number }): Promise<HnswIndex> {
  return HnswIndex.create(options);
}

/**
 * Opens an index from {@link HnswIndex.save}'s bytes, of any quantization unless
 * `quantization` names the one it must have; a snapshot of an index that kept no originals
 * needs `originals`.
 * @throws {@link HnswSnapshotError} (`quantization` when it is not the one asked for), {@link HnswArgumentError}
 */
export async function loadIndex(
  bytes: Uint8Array,
  options: Readonly<Partial<Pick<IndexOptions, "simd" | "source" | "quantization" | "originals" | "rerank">>> = {},
): Promise<HnswIndex> {
  const index = await HnswIndex.create({ dim: 1, maxElements: 1, ...options, originals: undefined });
  await index.load(bytes, options.quantization === undefined ? "any" : options.quantization, options.originals);
  return index;
}

/** An HNSW index in its own wasm instance. Methods are synchronous except loading. */
export class HnswIndex {
  #instance!: Core;
  #dim = 0;
  /** The filter predicate of the search in progress, if any. */
  #predicate: ((label: number) => boolean) | undefined;
  #thrown: { error: unknown } | undefined;
  #quantization: Quantization = "f32";
  /** The search-time source of originals (quantized indexes that keep none). */
  #originals: OriginalSource | undefined;
  /** Default re-rank factor (0: the core's default for the quantization). */
  #rerank = 0;
  readonly #simd: boolean;
  readonly #source: WasmSource | undefined;

  private constructor(simd: boolean, source: WasmSource | undefined) {
    this.#simd = simd;
    this.#source = source;
  }

  /** See {@link createIndex}. */
  static async create(options: Readonly<Partial<IndexOptions>> & { dim: number }): Promise<HnswIndex> {
    const o = { space: "l2", M: 16, efConstruction: 200, maxElements: 1024, seed: 100, ef: 50, ...options };
    const simd = o.simd ?? (o.source === undefined ? hasSimd() : true);
    const space = SPACES.indexOf(o.space as Space);
    if (space < 0) throw new HnswArgumentError(`space must be l2, ip or cosine, got ${String(o.space)}`, o.space);
    const args = [
      int("dim", o.dim, 1, 65536),
      space,
      int("M", o.M, 2, 32767),
      int("efConstruction", o.efConstruction, 1, 0xffffffff),
      int("maxElements", o.maxElements, 1, 0xffffffff),
      int("seed", o.seed, 0, 0xffffffff),
    ] as const;
    int("ef", o.ef, 1, 0xffffffff);
    const quant = QUANTIZATIONS.indexOf((o.quantization ?? "f32") as Quantization);
    if (quant < 0) throw new HnswArgumentError(`quantization must be f32, i8 or b1, got ${String(o.quantization)}`, o.quantization);
    const rerank = o.rerank === undefined ? 0 : int("rerank", o.rerank, 1, 0xffffffff);
    if (o.originals !== undefined && typeof o.originals !== "function") {
      throw new HnswArgumentError("originals must be a function (label) => vector", o.originals);
    }
    if (o.originals !== undefined && quant === 0) {
      throw new HnswArgumentError("originals: an f32 index re-ranks nothing; use quantization i8 or b1", "f32");
    }
    const index = new HnswIndex(simd, o.source);
    const c = (index.#instance = await index.#instantiate());
    c.check(c.x.init(...args, quant, o.originals === undefined ? 1 : 0), "createIndex");
    index.ef = o.ef;
    index.#dim = o.dim;
    index.#quantization = QUANTIZATIONS[quant]!;
    index.#originals = o.originals;
    index.#rerank = rerank;
    return index;
  }

  /**
   * The running core. A filter predicate runs in the middle of a search, so a call back into
   * the index from it would reuse the search's state (and a nested add would run filtered,
   * calling the predicate again): refused instead.
   * @throws {@link HnswError} when called from inside a search's filter predicate
   */
  get #core(): Core {
    if (this.#predicate) throw new HnswError("the index cannot be used from inside a search filter predicate", undefined);
    return this.#instance;
  }

  #instantiate(): Promise<Core> {
    return instantiate(this.#simd, this.#source, (l) => this.#accept(l), (l, at) => this.#original(l, at));
  }

  /** Copies the original of `label` to byte `at` of memory for re-ranking; errors wait for the search's end. */
  #original(label_: number, at: number): boolean {
    try {
      const v = this.#originals?.(label_);
      if (v === undefined) throw new HnswLabelError(`search: originals has no vector for label ${label_}`, label_);
      if (v.length !== this.#dim) {
        throw new HnswDimensionError(`search: originals gave ${v.length} floats for label ${label_}, expected ${this.#dim}`, v.length);
      }
      this.#instance.f32.set(v, at >>> 2);
      return true;
    } catch (error) {
      this.#thrown ??= { error };
      return false;
    }
  }

  /** What the graph walk compares. */
  get quantization(): Quantization {
    return this.#quantization;
  }

  #accept(l: number): boolean {
    try {
      return this.#predicate!(l) === true;
    } catch (error) {
      this.#thrown ??= { error };
      return false;
    }
  }

  /** Floats per vector. */
  get dim(): number {
    return this.#dim;
  }

  /** Live (not deleted) elements. */
  get size(): number {
    const c = this.#core;
    c.x.stats();
    return c.info(INFO.stats) - c.info(INFO.stats + 1);
  }

  /** Default search ef. */
  get ef(): number {
    return this.stats().ef;
  }
  set ef(ef: number) {
    this.#core.x.setEf(int("ef", ef, 1, 0xffffffff));
  }

  /** Throws the typed error of a failed call; reads a refused component back from IO. */
  #done(code: number, op: string): void {
    const c = this.#core;
    if (code === E.notFinite) {
      const i = c.info(INFO.value);
      const v = c.f32[(c.io(0) >>> 2) + i]!;
      const where = i < this.#dim ? `component ${i}` : `component ${i % this.#dim} of item ${Math.floor(i / this.#dim)}`;
      throw new HnswValueError(`${op}: ${where} is ${v}; vectors must be finite`, v, i);
    }
    c.check(code, op);
  }

  #vector(v: Vector, op: string): Vector {
    if (v?.length !== this.#dim) {
      throw new HnswDimensionError(`${op}: expected ${this.#dim} floats, got ${v?.length}`, v?.length);
    }
    return v;
  }

  /** Writes `n` vectors (one flat array or a list) at float index `at` of memory. */
  #write(vectors: Float32Array | readonly Vector[], n: number, at: number, op: string): void {
    const f32 = this.#core.f32;
    if (vectors instanceof Float32Array) {
      if (vectors.length !== n * this.#dim) {
        throw new HnswDimensionError(`${op}: expected ${n}×${this.#dim} floats, got ${vectors.length}`, vectors.length);
      }
      f32.set(vectors, at);
    } else {
      if (vectors.length !== n) throw new HnswArgumentError(`${op}: ${vectors.length} vectors for ${n} labels`, vectors.length);
      for (let i = 0; i < n; i++) f32.set(this.#vector(vectors[i]!, op), at + i * this.#dim);
    }
  }

  /**
   * Adds `vector` under `label`; an existing label gets the new vector (and is undeleted).
   * @throws {@link HnswDimensionError}, {@link HnswValueError}, {@link HnswFullError}, {@link HnswArgumentError}
   */
  add(vector: Vector, label_: number): void {
    this.#vector(vector, "add");
    label(label_);
    const c = this.#core;
    // Reserve IO first: growing it may grow memory, which detaches any view taken before.
    const at = c.io(this.#dim * 4) >>> 2;
    c.f32.set(vector, at);
    this.#done(c.x.add(label_), "add");
  }

  /**
   * Adds many vectors: `vectors` is one Float32Array of labels.length × dim floats or one
   * vector per label. All are checked before any is added.
   * @throws as {@link HnswIndex.add}
   */
  addBatch(vectors: Float32Array | readonly Vector[], labels: ArrayLike<number>): void {
    const n = labels.length;
    for (let i = 0; i < n; i++) label(labels[i]);
    const c = this.#core;
    const at = c.io(n * (this.#dim + 1) * 4) >>> 2;
    this.#write(vectors, n, at, "addBatch");
    c.u32.set(labels, at + n * this.#dim);
    this.#done(c.x.addBatch(n), "addBatch");
  }

  /**
   * The `k` nearest neighbours of `query`, nearest first; fewer only when a filter leaves fewer.
   * @throws {@link HnswDimensionError}, {@link HnswValueError}, {@link HnswArgumentError} (k ≤ 0 or > size, ef, filter labels)
   */
  search(query: Vector, k: number, options: SearchOptions = {}): SearchResult {
    return this.searchBatch([query], k, options)[0]!;
  }

  /** {@link HnswIndex.search} for many queries (a Float32Array of n × dim, or a list). */
  searchBatch(queries: Float32Array | readonly Vector[], k: number, options: SearchOptions = {}): SearchResult[] {
    const c = this.#core;
    const dim = this.#dim;
    if (queries instanceof Float32Array && queries.length % dim !== 0) {
      throw new HnswDimensionError(`search: ${queries.length} floats is not a whole number of ${dim}-float queries`, queries.length);
    }
    const nq = queries instanceof Float32Array ? queries.length / dim : queries.length;
    const size = this.size;
    int("k", k, 1, 0xffffffff);
    if (k > size) throw new HnswArgumentError(`k must be at most the index size ${size}, got ${k}`, k);
    const ef = options.ef === undefined ? 0 : int("ef", options.ef, 1, 0xffffffff);
    const { filter } = options;
    let allow: ArrayLike<number> = [];
    if (filter !== undefined && typeof filter !== "function") {
      allow = Array.isArray(filter) || ArrayBuffer.isView(filter) ? (filter as ArrayLike<number>) : Array.from(filter as Iterable<number>);
    }
    for (let i = 0; i < allow.length; i++) label(allow[i]);
    const at = c.io((nq * dim + allow.length + nq * (2 * k + 1)) * 4) >>> 2;
    this.#write(queries, nq, at, "search");
    c.u32.set(allow, at + nq * dim);
    const rerank = options.rerank === undefined ? this.#rerank : int("rerank", options.rerank, 1, 0xffffffff);
    const mode = filter === undefined ? 0 : typeof filter === "function" ? 2 : 1;
    this.#predicate = typeof filter === "function" ? filter : undefined;
    let code: number;
    try {
      code = c.x.search(nq, k, ef, mode, allow.length, rerank);
    } finally {
      this.#predicate = undefined;
    }
    const thrown = this.#thrown;
    this.#thrown = undefined;
    if (thrown) throw thrown.error;
    this.#done(code, "search");
    const out = c.info(INFO.result) >>> 2;
    const counts = out + 2 * nq * k;
    const results: SearchResult[] = [];
    for (let i = 0; i < nq; i++) {
      const from = out + i * k;
      const found = c.u32[counts + i]!;
      results.push({
        labels: c.u32.slice(from, from + found),
        distances: c.f32.slice(from + nq * k, from + nq * k + found),
      });
    }
    return results;
  }

  /** Marks `label` deleted (hnswlib markDelete): skipped in results, still routes searches. Returns false if it already was. @throws {@link HnswLabelError} */
  remove(label_: number): boolean {
    const c = this.#core;
    c.check(c.x.markDelete(label(label_)), "remove");
    return c.info(INFO.flag) === 1;
  }

  /** Undoes {@link HnswIndex.remove} (hnswlib unmarkDelete). Returns false if it was not deleted. @throws {@link HnswLabelError} */
  restore(label_: number): boolean {
    const c = this.#core;
    c.check(c.x.unmarkDelete(label(label_)), "restore");
    return c.info(INFO.flag) === 1;
  }

  /** Changes maxElements (≥ the elements stored, deleted included). @throws {@link HnswArgumentError}, {@link HnswMemoryError} */
  resize(maxElements: number): void {
    const c = this.#core;
    int("maxElements", maxElements, 1, 0xffffffff);
    const { size, deleted } = this.stats();
    const stored = size + deleted;
    if (maxElements < stored) throw new HnswArgumentError(`resize: ${maxElements} is below the ${stored} elements stored`, maxElements);
    c.check(c.x.resizeIndex(maxElements), "resize");
  }

  /**
   * The stored f32 vector of a live `label` (normalised in the cosine space; a quantized
   * index's kept original, not its code).
   * @throws {@link HnswLabelError}; {@link HnswArgumentError} when the index keeps no originals
   */
  getPoint(label_: number): Float32Array {
    const c = this.#core;
    c.check(c.x.getPoint(label(label_)), "getPoint");
    const at = c.info(INFO.result) >>> 2;
    return c.f32.slice(at, at + this.#dim);
  }

  /** Shape and counters. */
  stats(): HnswStats {
    const c = this.#core;
    c.x.stats();
    const s = (i: number) => c.info(INFO.stats + i);
    return {
      size: s(0) - s(1),
      deleted: s(1),
      maxElements: s(2),
      maxLevel: s(3),
      dim: s(5),
      space: SPACES[s(6)]!,
      M: s(7),
      efConstruction: s(8),
      ef: s(9),
      memoryBytes: s(10) * 65536,
      quantization: QUANTIZATIONS[s(13) & 0xff]!,
      keepsOriginals: (s(13) & 0x100) !== 0,
      codeBytes: s(14),
      recordBytes: s(12),
      upperLinkBytes: s(11),
    };
  }

  /** The index as snapshot bytes (docs/hnsw-snapshot.md). @throws {@link HnswMemoryError} */
  save(): Uint8Array {
    const c = this.#core;
    c.check(c.x.save(), "save");
    const seg = (i: number) => [c.info(INFO.segments + 2 * i) >>> 0, c.info(INFO.segments + 2 * i + 1)] as const;
    let total = 4;
    for (let i = 0; i < 5; i++) total += seg(i)[1];
    const out = new Uint8Array(total);
    let o = 0;
    for (let i = 0; i < 5; i++) {
      const [p, n] = seg(i);
      out.set(c.u8.subarray(p, p + n), o);
      o += n;
    }
    new DataView(out.buffer).setUint32(o, c.info(INFO.crc), true);
    return out;
  }

  /**
   * Replaces this index with the one in `bytes`, which must have this index's quantization
   * (`expect`: another one, or "any"). It is loaded into a fresh wasm instance and checked in
   * full first, so on any error this index is unchanged. A snapshot of an index that kept no
   * originals takes them from `originals` (default: this index's).
   * @throws {@link HnswSnapshotError} (truncated, corrupted, not a snapshot, `quantization`
   *   when of another mode), {@link HnswArgumentError} (no originals for it), {@link HnswMemoryError}
   */
  async load(bytes: Uint8Array, expect: Quantization | "any" = this.#quantization, originals = this.#originals): Promise<void> {
    if (!(bytes instanceof Uint8Array)) throw new HnswArgumentError("load: expected a Uint8Array", bytes);
    if (bytes.length > 0xffffffff) throw new HnswArgumentError(`load: snapshot of ${bytes.length} bytes is too big`, bytes.length);
    const want = expect === "any" ? ANY_QUANTIZATION : QUANTIZATIONS.indexOf(expect);
    if (want < 0) throw new HnswArgumentError(`load: quantization must be f32, i8, b1 or any, got ${String(expect)}`, expect);
    const c = await this.#instantiate();
    const header = c.io(64); // before taking the view: growing IO may detach it
    c.u8.set(bytes.subarray(0, 64), header);
    c.check(c.x.loadBegin(bytes.length, want), "load");
    let o = 0;
    for (let i = 0; i < 5; i++) {
      const p = c.info(INFO.segments + 2 * i) >>> 0;
      const n = c.info(INFO.segments + 2 * i + 1);
      if (i > 0) c.u8.set(bytes.subarray(o, o + n), p);
      o += n;
    }
    c.check(c.x.loadEnd(new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(o, true)), "load");
    c.x.stats();
    const mode = c.info(INFO.stats + 13);
    if ((mode & 0x100) === 0 && originals === undefined) {
      throw new HnswArgumentError("load: the snapshot's index keeps no originals; pass `originals` to re-rank with", "originals");
    }
    this.#instance = c;
    this.#dim = c.info(INFO.stats + 5);
    this.#quantization = QUANTIZATIONS[mode & 0xff]!;
    this.#originals = (mode & 0x100) === 0 ? originals : undefined;
  }

  /** Saves the snapshot under `key` of `storage`. */
  async saveTo(storage: Storage, key: string): Promise<void> {
    await storage.set(key, this.save());
  }

  /** Loads the snapshot under `key` of `storage`; false (index unchanged) when there is none. @throws as {@link HnswIndex.load} */
  async loadFrom(storage: Storage, key: string): Promise<boolean> {
    const bytes = await storage.get(key);
    if (bytes === undefined) return false;
    await this.load(bytes);
    return true;
  }
}

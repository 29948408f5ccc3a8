/**
 * `clawft/hnsw/worker`: the HNSW index in a Worker. {@link WorkerIndex} has the operations of
 * {@link HnswIndex}, each returning a Promise, so building and searching never block the
 * calling thread.
 *
 * ```ts
 * // hnsw.worker.ts (any bundler; Node: a worker_threads entry)
 * import { exposeHnsw } from "clawft/hnsw/worker";
 * exposeHnsw();
 * // the page
 * import { createWorkerIndex } from "clawft/hnsw/worker";
 * const index = await createWorkerIndex(new Worker(new URL("./hnsw.worker.ts", import.meta.url), { type: "module" }), { dim: 384 });
 * ```
 * Works with a browser `Worker`, a Node `worker_threads.Worker` or any comlink `Endpoint`.
 * Differences from the in-thread index: a search filter must be a list of labels (a
 * predicate cannot cross to a Worker), and a quantized index keeps its originals (an
 * `originals` function cannot cross either). Errors arrive as their own classes
 * (`HnswLabelError` with `value`, …). When the Worker dies, pending and later calls reject
 * with {@link WorkerCrashError} (src/core/worker.ts), as the codec's and CLP's Workers do.
 * @module
 */
import { transfer, type Endpoint } from "comlink";
import { WorkerConnection, WorkerCrashError, exposeApi, guarded, type WorkerLike } from "../core/worker.js";
import type { Storage } from "../storage/index.js";
import type { HnswIndex, HnswStats, IndexOptions, SearchResult, Vector } from "./index.js";
import * as errors from "./errors.js";
import { HnswArgumentError, HnswError } from "./errors.js";

export { WorkerCrashError, type WorkerLike } from "../core/worker.js";

/** The error classes that cross back as themselves. */
const CLASSES = { ...errors, TypeError, RangeError, WorkerCrashError } as unknown as Record<string, abstract new (...args: never[]) => Error>;

/** Search options across a Worker: `filter` is a list of allowed labels only. */
export interface WorkerSearchOptions {
  /** Candidate list size; at least `k` is used. Defaults to the index's `ef`. */
  ef?: number;
  /** Only these labels are returned; others still route the search. */
  filter?: ArrayLike<number> | Iterable<number>;
  /** Quantized indexes: re-rank k·rerank candidates. Defaults to the index's `rerank`. */
  rerank?: number;
}

/** Options of an index in a Worker: {@link IndexOptions} without `source` and `originals`. */
export type WorkerIndexOptions = Partial<Omit<IndexOptions, "source" | "originals">> & { dim: number };

/** What {@link exposeHnsw} serves (errors cross as data and are rebuilt as their classes, src/core/worker.ts). */
export interface HnswWorkerApi {
  create(options: WorkerIndexOptions): Promise<number>;
  load(bytes: Uint8Array): Promise<number>;
  add(vector: Vector, label: number): Promise<void>;
  addBatch(vectors: Float32Array | Vector[], labels: ArrayLike<number>): Promise<void>;
  searchBatch(queries: Float32Array | Vector[], k: number, options: WorkerSearchOptions): Promise<SearchResult[]>;
  remove(label: number): Promise<boolean>;
  restore(label: number): Promise<boolean>;
  resize(maxElements: number): Promise<void>;
  getPoint(label: number): Promise<Float32Array>;
  stats(): Promise<HnswStats>;
  setEf(ef: number): Promise<void>;
  save(): Promise<Uint8Array>;
}

/**
 * Serves one index from inside a Worker (call it in the Worker's entry, before any await:
 * a browser Worker drops messages that arrive before it listens). The index core loads on
 * the first `create` or `load`.
 * @param endpoint where to listen; defaults to `self` (browser) or `parentPort` (Node)
 */
export async function exposeHnsw(endpoint?: Endpoint): Promise<void> {
  let index: HnswIndex | undefined;
  const current = (): HnswIndex => {
    if (!index) throw new HnswError("no index in this Worker: call create or load first", undefined);
    return index;
  };
  // Imported here, not at the top: the calling side of this module never loads the core.
  const core = () => import("./index.js");
  const api: HnswWorkerApi = {
    create: async (options) => (index = await (await core()).createIndex(options)).dim,
    load: async (bytes) => {
      if (index) await index.load(bytes);
      else index = await (await core()).loadIndex(bytes);
      return index.dim;
    },
    add: async (vector, label) => current().add(vector, label),
    addBatch: async (vectors, labels) => current().addBatch(vectors, labels),
    searchBatch: async (queries, k, options) => {
      const results = current().searchBatch(queries, k, options);
      return transfer(results, results.flatMap((r) => [r.labels.buffer as ArrayBuffer, r.distances.buffer as ArrayBuffer]));
    },
    remove: async (label) => current().remove(label),
    restore: async (label) => current().restore(label),
    resize: async (maxElements) => current().resize(maxElements),
    getPoint: async (label) => {
      const p = current().getPoint(label);
      return transfer(p, [p.buffer as ArrayBuffer]);
    },
    stats: async () => current().stats(),
    setEf: async (ef) => {
      current().ef = ef;
    },
    save: async () => {
      const bytes = current().save();
      return transfer(bytes, [bytes.buffer as ArrayBuffer]);
    },
  };
  await exposeApi(guarded(api), endpoint);
}

/**
 * Creates an index inside `worker` (running {@link exposeHnsw}, e.g. workers/hnsw.worker.ts).
 * @param options as {@link createIndex}, without `source` (the Worker loads its own core) and
 *   `originals` (a function cannot cross: a quantized index in a Worker keeps its originals)
 * @throws as {@link createIndex}; {@link HnswArgumentError} for `originals`;
 *   {@link WorkerCrashError} when the Worker dies before answering
 */
export async function createWorkerIndex(
  worker: WorkerLike,
  options: Readonly<WorkerIndexOptions>,
): Promise<WorkerIndex> {
  if ((options as { originals?: unknown }).originals !== undefined) {
    throw new HnswArgumentError("originals: a function cannot cross to a Worker; a quantized index there keeps its originals", "function");
  }
  const index = new WorkerIndex(worker);
  await index.call((r) => r.create({ ...options }));
  return index;
}

/** An index living in a Worker; see the module comment. */
export class WorkerIndex {
  readonly #conn: WorkerConnection<HnswWorkerApi>;

  /** Wraps `worker` (running {@link exposeHnsw}); prefer {@link createWorkerIndex}, or call {@link WorkerIndex.load} next. */
  constructor(worker: WorkerLike) {
    this.#conn = new WorkerConnection<HnswWorkerApi>(worker, "HNSW index");
  }

  /** Runs one remote call with typed errors and the crash watch. @internal */
  call<T>(fn: (remote: HnswWorkerApi) => Promise<T>): Promise<T> {
    return this.#conn.call((r) => fn(r as unknown as HnswWorkerApi), CLASSES);
  }

  /** {@link HnswIndex.add}. */
  add(vector: Vector, label: number): Promise<void> {
    return this.call((r) => r.add(vector, label));
  }

  /** {@link HnswIndex.addBatch}. */
  addBatch(vectors: Float32Array | readonly Vector[], labels: ArrayLike<number>): Promise<void> {
    return this.call((r) => r.addBatch(vectors as Float32Array | Vector[], labels));
  }

  /** {@link HnswIndex.search}; `filter` must be a list of labels. */
  async search(query: Vector, k: number, options: WorkerSearchOptions = {}): Promise<SearchResult> {
    return (await this.searchBatch([query], k, options))[0]!;
  }

  /** {@link HnswIndex.searchBatch}; results arrive transferred, not copied. */
  searchBatch(queries: Float32Array | readonly Vector[], k: number, options: WorkerSearchOptions = {}): Promise<SearchResult[]> {
    if (typeof options.filter === "function") {
      return Promise.reject(new HnswArgumentError("a filter predicate cannot cross to a Worker; pass the allowed labels", "function"));
    }
    const filter = options.filter === undefined || Array.isArray(options.filter) || ArrayBuffer.isView(options.filter)
      ? options.filter
      : Array.from(options.filter);
    return this.call((r) => r.searchBatch(queries as Float32Array | Vector[], k, { ef: options.ef, filter, rerank: options.rerank }));
  }

  /** {@link HnswIndex.remove}. */
  remove(label: number): Promise<boolean> {
    return this.call((r) => r.remove(label));
  }

  /** {@link HnswIndex.restore}. */
  restore(label: number): Promise<boolean> {
    return this.call((r) => r.restore(label));
  }

  /** {@link HnswIndex.resize}. */
  resize(maxElements: number): Promise<void> {
    return this.call((r) => r.resize(maxElements));
  }

  /** {@link HnswIndex.getPoint}. */
  getPoint(label: number): Promise<Float32Array> {
    return this.call((r) => r.getPoint(label));
  }

  /** {@link HnswIndex.stats}. */
  stats(): Promise<HnswStats> {
    return this.call((r) => r.stats());
  }

  /** Live elements ({@link HnswIndex.size}). */
  get size(): Promise<number> {
    return this.stats().then((s) => s.size);
  }

  /** Sets the default search ef ({@link HnswIndex.ef}). */
  setEf(ef: number): Promise<void> {
    return this.call((r) => r.setEf(ef));
  }

  /** {@link HnswIndex.save}. */
  save(): Promise<Uint8Array> {
    return this.call((r) => r.save());
  }

  /** {@link HnswIndex.load}: on any error the index in the Worker is unchanged. */
  async load(bytes: Uint8Array): Promise<void> {
    await this.call((r) => r.load(bytes));
  }

  /** {@link HnswIndex.saveTo}; `storage` stays on this thread. */
  async saveTo(storage: Storage, key: string): Promise<void> {
    await storage.set(key, await this.save());
  }

  /** {@link HnswIndex.loadFrom}; false (index unchanged) when `key` holds nothing. */
  async loadFrom(storage: Storage, key: string): Promise<boolean> {
    const bytes = await storage.get(key);
    if (bytes === undefined) return false;
    await this.load(bytes);
    return true;
  }

  /** Terminates the Worker; pending and later calls reject with {@link WorkerCrashError}. */
  terminate(): Promise<void> {
    return this.#conn.terminate();
  }
}

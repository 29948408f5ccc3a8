/**
 * The HNSW index in a Worker: the same operations as {@link HnswIndex}, each returning a
 * Promise, so building and searching never block the calling thread. The Worker runs
 * `workers/hnsw.worker.ts` (comlink `expose`); this side `wrap`s it. Works with a browser
 * `Worker`, a Node `worker_threads.Worker` or any comlink `Endpoint`.
 *
 * Differences from the in-thread index: a search filter must be a list of labels (a
 * predicate cannot cross to a Worker), and a quantized index keeps its originals (an
 * `originals` function cannot cross either); typed errors arrive rebuilt from their `name`.
 * @module
 */
import { wrap, releaseProxy, type Endpoint, type Remote } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import type { Storage } from "../storage/index.js";
import type { HnswStats, IndexOptions, SearchResult, Vector } from "./index.js";
import { HnswArgumentError, dataToError } from "./errors.js";

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

/** What workers/hnsw.worker.ts exposes (errors cross as plain data, see errors.ts). */
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

/** A Node `worker_threads.Worker` or MessagePort (EventEmitter style). */
interface NodeLike {
  on(type: string, listener: (...args: never[]) => void): unknown;
  off(type: string, listener: (...args: never[]) => void): unknown;
  postMessage(message: unknown, transfer?: never[]): void;
  terminate?(): unknown;
}

/** Where the Worker is: a browser Worker, a Node worker, or a comlink endpoint. */
export type WorkerLike = Worker | NodeLike | Endpoint;

/**
 * Creates an index inside `worker` (running workers/hnsw.worker.ts).
 * @param options as {@link createIndex}, without `source` (the Worker loads its own core) and
 *   `originals` (a function cannot cross: a quantized index in a Worker keeps its originals)
 * @throws as {@link createIndex}; {@link HnswArgumentError} for `originals`
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
  readonly #remote: Remote<HnswWorkerApi>;
  readonly #worker: WorkerLike;

  /** Wraps `worker`; prefer {@link createWorkerIndex}, or call {@link WorkerIndex.load} next. */
  constructor(worker: WorkerLike) {
    this.#worker = worker;
    const nodeStyle = typeof (worker as NodeLike).on === "function" && !("addEventListener" in worker);
    this.#remote = wrap<HnswWorkerApi>(nodeStyle ? nodeEndpoint(worker as never) : (worker as Endpoint));
  }

  /** Runs one remote call, turning error data back into typed errors. @internal */
  async call<T>(fn: (remote: Remote<HnswWorkerApi>) => Promise<T>): Promise<T> {
    try {
      return await fn(this.#remote);
    } catch (err) {
      throw dataToError(err);
    }
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

  /** Releases the proxy and terminates the Worker. */
  async terminate(): Promise<void> {
    this.#remote[releaseProxy]();
    await (this.#worker as { terminate?: () => unknown }).terminate?.();
  }
}

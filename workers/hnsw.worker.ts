/**
 * Worker entry of the HNSW index (comlink `expose`): one index per Worker, driven by
 * src/hnsw/worker.ts. Runs as a browser module Worker or a Node worker_threads Worker.
 * Typed errors cross as plain data (errorToData) and are rebuilt on the other side.
 */
import { expose, transfer } from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { createIndex, loadIndex, HnswError, type HnswIndex } from "../src/hnsw/index.js";
import { errorToData } from "../src/hnsw/errors.js";
import type { HnswWorkerApi } from "../src/hnsw/worker.js";

let index: HnswIndex | undefined;

function current(): HnswIndex {
  if (!index) throw new HnswError("no index in this Worker: call create or load first", undefined);
  return index;
}

/** Wraps an operation so a thrown error crosses as data. */
function guard<A extends unknown[], R>(fn: (...args: A) => R | Promise<R>): (...args: A) => Promise<R> {
  return async (...args) => {
    try {
      return await fn(...args);
    } catch (err) {
      throw errorToData(err);
    }
  };
}

const api: HnswWorkerApi = {
  create: guard(async (options) => (index = await createIndex(options)).dim),
  load: guard(async (bytes) => {
    if (index) await index.load(bytes);
    else index = await loadIndex(bytes);
    return index.dim;
  }),
  add: guard((vector, label) => current().add(vector, label)),
  addBatch: guard((vectors, labels) => current().addBatch(vectors, labels)),
  searchBatch: guard((queries, k, options) => {
    const results = current().searchBatch(queries, k, options);
    return transfer(results, results.flatMap((r) => [r.labels.buffer, r.distances.buffer]));
  }),
  remove: guard((label) => current().remove(label)),
  restore: guard((label) => current().restore(label)),
  resize: guard((maxElements) => current().resize(maxElements)),
  getPoint: guard((label) => {
    const p = current().getPoint(label);
    return transfer(p, [p.buffer]);
  }),
  stats: guard(() => current().stats()),
  setEf: guard((ef) => {
    current().ef = ef;
  }),
  save: guard(() => {
    const bytes = current().save();
    return transfer(bytes, [bytes.buffer]);
  }),
};

if (typeof process !== "undefined" && process.versions?.node) {
  const { parentPort } = await import(/* @vite-ignore */ "node:worker_threads");
  if (parentPort) expose(api, nodeEndpoint(parentPort));
} else {
  expose(api);
}

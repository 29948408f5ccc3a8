/**
 * Worker entry of the HNSW index (comlink `expose`), driven by `WorkerIndex`
 * (src/hnsw/worker.ts). Runs as a browser module Worker or a Node worker_threads Worker.
 * @module
 */
import { exposeHnsw } from "../src/hnsw/worker.js";

await exposeHnsw();

/**
 * Worker entry of the CLP engine (comlink `expose`), driven by `ClpWorker` (src/clp/worker.ts).
 * Runs as a browser module Worker or a Node worker_threads Worker.
 * @module
 */
import { exposeClp } from "../src/clp/worker.js";

await exposeClp();

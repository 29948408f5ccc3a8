/**
 * Worker entry of the CLASP codec (comlink `expose`), driven by `ClaspWorker`
 * (src/clasp/worker.ts). Runs as a browser module Worker or a Node worker_threads Worker.
 * @module
 */
import { exposeClasp } from "../src/clasp/worker.js";

await exposeClasp();

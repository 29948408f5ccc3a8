/**
 * clawft's media pipeline: plugins speaking a framed stdin/stdout protocol
 * (docs/plugin-protocol.md), `plugin.toml` manifests, `.cr` orchestrations, and the one
 * executor. This entry runs in every host (browsers, workers, Node); Node's runners, discovery,
 * daemon and URL installs are in `clawft/pipeline/node`.
 * @module
 */
export * from "./errors.js";
export * from "./frames.js";
export * from "./protocol.js";
export * from "./manifest.js";
export * from "./orchestration.js";
export * from "./capabilities.js";
export * from "./runner.js";
export * from "./executor.js";
export * from "./verify.js";
export { workerProcess, canShareMemory, WORKER_WINDOW, SHARED_CAPACITY, SHARED_HEADER, type WorkerLike, type HostToWorker, type WorkerToHost } from "./worker-host.js";
export { serveWasi, type CreateWasi, type WasiBinding, type WasiStart, type PortLike } from "./wasi-host.js";

/**
 * The media pipeline in Node: runners (process, wasi, worker), plugin discovery, verification
 * cache, the host shared by CLI and daemon, the daemon, the configure wizard and URL installs.
 * @module
 */
export * from "../index.js";
export { discoverPlugins, type Discovery, type DiscoveryProblem } from "./discovery.js";
export { nodeRunners, processRunner, wasiRunner, workerRunner, type ProcessRunnerOptions } from "./runners.js";
export { VerifyCache, pluginHash, defaultCacheFile } from "./verify.js";
export { PipelineHost, BUNDLED_PLUGINS, describePipeline, type HostOptions } from "./host.js";
export { startDaemon, createDaemonApp, loadDaemonConfig, optionsJsonSchema, type Daemon, type DaemonConfig, type JobStatus } from "./daemon.js";
export { configureWizard, type Prompts, type Choice } from "./configure.js";
export { installPlugin, ed25519PublicKey, type InstallOptions } from "./install.js";

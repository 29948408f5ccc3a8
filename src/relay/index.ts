/**
 * `clawft/relay`: the CLASP relay for Node (WebSocket + HTTP in front of the wasm MiniRouter),
 * its configuration, state persistence and metrics. docs/relay.md.
 *
 * ```ts
 * import { Relay } from "clawft/relay";
 * const relay = await Relay.start({ port: 7330, storage: "fs:./state" });
 * console.log(relay.url); // ws://127.0.0.1:7330/
 * await relay.close();    // clients get 1001, pending state is written
 * ```
 * @module
 */
export { Relay, type RelayOptions } from "./server.js";
export { RelayConfigError, defaultConfig, applyToml, applyEnv, loadConfigFile, openStorage, parsePort, parseSerialSpec, type RelayConfig, type SerialSpec } from "./config.js";
// Types only: the bridge itself loads with the `serial` option (it brings serialport's native binding).
export type { DeviceBridge, DeviceBridgeOptions } from "./serial.js";
export { RouterHost, type HostPeer, type RouterHostOptions } from "./host.js";
export { StatePersister, PersistError, type StatePersisterOptions, type RestoreReport } from "./persist.js";
export { combineMetrics, messageTypeName, type RelayMetrics } from "./metrics.js";
export { PrometheusMetrics, type PrometheusMetricsOptions, type RelayGauges } from "./prometheus.js";

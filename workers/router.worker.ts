/**
 * Web Worker entry of the in-browser CLASP hub: a MiniRouter reachable from pages over
 * MessagePorts (through comlink) and from other tabs over a BroadcastChannel, persisting to
 * IndexedDB. Start it from a page with `startWorkerHub(new Worker(new URL("./router.worker.ts",
 * import.meta.url), { type: "module" }))` (src/relay/worker-hub.ts).
 * @module
 */
import { exposeRouterHub } from "../src/relay/hub.js";

exposeRouterHub();

/**
 * The page side of a hub running in a Web Worker (workers/router.worker.ts): start it,
 * then make transports to it for {@link ClaspClient}s.
 *
 * ```ts
 * const hub = await startWorkerHub(new Worker(new URL("../workers/router.worker.ts", import.meta.url), { type: "module" }));
 * const client = await ClaspClient.connect(() => hub.transport());
 * ```
 * @module
 */
import { transfer, wrap, releaseProxy, type Remote } from "comlink";
import { HUB_READY, MessagePortTransport, type PortTransportOptions } from "../transports/port.js";
import type { HubStats, RouterHubWorkerApi, WorkerHubOptions } from "./hub.js";
import type { RestoreReport } from "./persist.js";

/** Resolves when the worker's hub listens; rejects when its script fails to load. */
function workerReady(worker: Worker, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      worker.removeEventListener("message", onMessage);
      worker.removeEventListener("error", onError);
    };
    const onMessage = (ev: MessageEvent) => {
      if ((ev.data as { t?: string } | null)?.t !== HUB_READY) return;
      done();
      resolve();
    };
    const onError = (ev: ErrorEvent) => {
      done();
      reject(new Error(`the hub worker failed to load: ${ev.message || "script error"}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the hub worker did not start within ${ms} ms`));
    }, ms);
    worker.addEventListener("message", onMessage);
    worker.addEventListener("error", onError);
  });
}

/** A started hub worker. */
export interface WorkerHub {
  /** The comlink proxy of the worker's API. */
  readonly remote: Remote<RouterHubWorkerApi>;
  /** What the hub restored from IndexedDB at start. */
  readonly restored: RestoreReport;
  /** A new connection to the hub over a fresh MessageChannel (open it, or hand it to a ClaspClient). */
  transport(options?: PortTransportOptions): MessagePortTransport;
  stats(): Promise<HubStats>;
  /** Waits until every state change so far is in IndexedDB. */
  flush(): Promise<void>;
  /** Stops the hub (clients get 1001, pending state is written) and terminates the worker. */
  close(): Promise<void>;
}

/**
 * Starts the hub in `worker` (which must run workers/router.worker.ts or call `exposeRouterHub`).
 * @param timeoutMs how long the worker may take to load. Defaults to 30,000.
 * @throws HubBusyError (by `name`) when another hub serves the channel; RouterConfigError;
 *   Error when the worker fails to load or does not start in time
 */
export async function startWorkerHub(worker: Worker, options: WorkerHubOptions = {}, timeoutMs = 30_000): Promise<WorkerHub> {
  const ready = workerReady(worker, timeoutMs);
  const remote = wrap<RouterHubWorkerApi>(worker);
  let restored: RestoreReport;
  try {
    await ready;
    restored = await remote.start(options);
  } catch (err) {
    remote[releaseProxy]();
    worker.terminate();
    throw err;
  }
  return {
    remote,
    restored,
    transport(opts) {
      const { port1, port2 } = new MessageChannel();
      void remote.connect(transfer(port2, [port2]));
      return new MessagePortTransport(port1, opts);
    },
    stats: () => remote.stats(),
    flush: () => remote.flush(),
    async close() {
      try {
        await remote.close();
      } finally {
        remote[releaseProxy]();
        worker.terminate();
      }
    },
  };
}

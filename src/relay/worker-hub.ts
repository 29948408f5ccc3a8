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
import { MessagePortTransport, type PortTransportOptions } from "../transports/port.js";
import type { HubStats, RouterHubWorkerApi, WorkerHubOptions } from "./hub.js";
import type { RestoreReport } from "./persist.js";

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
 * @throws HubBusyError (by `name`) when another hub serves the channel; RouterConfigError
 */
export async function startWorkerHub(worker: Worker, options: WorkerHubOptions = {}): Promise<WorkerHub> {
  const remote = wrap<RouterHubWorkerApi>(worker);
  let restored: RestoreReport;
  try {
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

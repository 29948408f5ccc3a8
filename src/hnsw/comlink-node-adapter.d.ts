// comlink ships this module without a .d.mts beside it; its own types (dist/esm/node-adapter.d.ts) say:
declare module "comlink/dist/esm/node-adapter.mjs" {
  import type { Endpoint } from "comlink";
  /** An EventEmitter-style port: Node's worker_threads Worker, parentPort or MessagePort. */
  export interface NodeEndpoint {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as comlink declares it
    postMessage(message: any, transfer?: any[]): void;
    on(type: string, listener: EventListenerOrEventListenerObject, options?: object): void;
    off(type: string, listener: EventListenerOrEventListenerObject, options?: object): void;
    start?: () => void;
  }
  /** Adapts a Node endpoint to comlink's Endpoint. */
  export default function nodeEndpoint(nep: NodeEndpoint): Endpoint;
}

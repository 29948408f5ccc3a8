/**
 * Observability hooks of a router host (the relay, the in-browser hub): what happened, fed
 * from the router's events and from the transport's sockets. Implementations must be cheap:
 * every hook runs on the receive path. `clawft/relay` ships a Prometheus implementation
 * ({@link PrometheusMetrics} in prometheus.ts); this module has no Node dependency.
 * @module
 */
import { MessageCode } from "../clasp/tape.js";

/** Hooks a router host calls; every method is optional. */
export interface RelayMetrics {
  /** A transport peer connected (`refused`: the router was full and the peer was closed). */
  connect?(refused: boolean): void;
  /** A peer disconnected after `seconds` connected. */
  disconnect?(seconds: number): void;
  /** A frame arrived: its CLASP message type name (`"INVALID"` when undecodable) and size in bytes. */
  message?(type: string, bytes: number): void;
  /** A SET or PUBLISH was delivered to `count` subscribers. */
  fanout?(count: number): void;
  /** A param changed (`deleted`: removed by TTL) and will be persisted. */
  stateUpdate?(deleted: boolean): void;
  /**
   * Something went wrong: `category` is `"protocol"` (an ERROR sent; `code` is its CLASP code),
   * `"storage"` (a write or read failed), `"socket"` (a transport error) or `"text"` (a text
   * message, which CLASP does not use).
   */
  error?(category: string, code?: number): void;
  /** `frames` frames of `bytes` bytes in total were handed to sockets. */
  sent?(frames: number, bytes: number): void;
  /** A fire-QoS frame was dropped for a slow consumer. */
  dropped?(): void;
  /** A slow consumer was disconnected because its queue passed `maxQueuePerSession` frames or `maxQueueBytes` bytes. */
  slowDisconnect?(): void;
  /**
   * A client was refused or cut off for the relay's own sake: `reason` is `"subprotocol"`
   * (offered subprotocols without `clasp`: upgrade refused), `"full"` (router full),
   * `"hello_timeout"` (no HELLO within `helloTimeout`), `"idle"` (no frame within
   * `sessionTimeout`) or `"dead_peer"` (no answer to a WebSocket ping).
   */
  refused?(reason: string): void;
  /** One router step (a received frame or a tick) took `seconds` of CPU on the host. */
  step?(seconds: number): void;
}

const NAMES: string[] = [];
for (const [name, code] of Object.entries(MessageCode)) NAMES[code] = name;

/** The name of CLASP message type `code` (`"INVALID"` for 0, `"0x.."` for unknown codes). */
export function messageTypeName(code: number): string {
  return code === 0 ? "INVALID" : (NAMES[code] ?? `0x${code.toString(16).padStart(2, "0")}`);
}

/**
 * The hook names of {@link RelayMetrics}, checked by the compiler to be all of them (a hook
 * missing here would be dropped by {@link combineMetrics} without a word).
 */
const HOOKS = Object.keys({
  connect: 1,
  disconnect: 1,
  message: 1,
  fanout: 1,
  stateUpdate: 1,
  error: 1,
  sent: 1,
  dropped: 1,
  slowDisconnect: 1,
  refused: 1,
  step: 1,
} satisfies Record<keyof RelayMetrics, 1>) as Array<keyof RelayMetrics>;

/** Hooks that call each of `sinks` in turn. */
export function combineMetrics(...sinks: RelayMetrics[]): RelayMetrics {
  const out: Record<string, (...args: never[]) => void> = {};
  for (const hook of HOOKS) {
    const fns = sinks.filter((s) => typeof s[hook] === "function");
    if (fns.length) {
      out[hook] = (...args: never[]) => {
        for (const s of fns) (s[hook] as (...a: never[]) => void).apply(s, args);
      };
    }
  }
  return out as RelayMetrics;
}

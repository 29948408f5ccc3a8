/**
 * Serial devices joined to a relay (`clawft relay --serial PATH[:BAUD]`, docs/device.md). A
 * device runs a CLASP router on its line (`clawft.wasm router` under WAMR, or any CLASP
 * router that speaks SLIP); the relay keeps a session with it ({@link SerialDevice}:
 * reconnects with backoff when the device goes away and comes back) and mirrors its params:
 *
 * - device → relay: the device's params (its SNAPSHOT on every new session, then each SET,
 *   its own or another session's) are written into the relay's router, so WebSocket clients
 *   get them, subscribe to them and see them change;
 * - relay → device: a SET from a relay client on an address the device's `pattern` matches
 *   goes to the device first (a governance interceptor, src/clasp/governance.ts). Once the
 *   device acknowledges it the relay applies it too; the device's ERROR goes back to the
 *   client instead. While the device is away, SETs on params it holds are refused with
 *   ERROR 501; other addresses stay the relay's own.
 *
 * Only params cross: PUBLISH (events, streams, gestures) stays on its side of the line.
 * @module
 */
import { ClaspError } from "../clasp/client.js";
import { codec, type ClaspValue } from "../clasp/index.js";
import type { InterceptVerdict } from "../clasp/governance.js";
import { SerialDevice, type BackoffOptions, type LinkStats, type SerialError } from "../transports/serial.js";
import type { SerialSpec } from "./config.js";
import type { RouterHost } from "./host.js";

/** CLASP code of the refusal while the device is away (clasp-wire.md "Error codes": service unavailable). */
const SERVICE_UNAVAILABLE = 501;
/** CLASP code when the device did not answer in time. */
const TIMEOUT = 502;

/** Options of a {@link DeviceBridge}. */
export interface DeviceBridgeOptions {
  /** Client name the relay sends the device in HELLO. Defaults to `"clawft relay"`. */
  name?: string;
  /** Operational messages (attached, lost, retrying). Defaults to none. */
  log?: (message: string) => void;
  /** Waits between connection attempts. */
  backoff?: BackoffOptions;
  /** Milliseconds a forwarded SET waits for the device's answer. Defaults to 5,000. */
  requestTimeoutMs?: number;
}

/** Byte-wise equality of two encoded values. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** One serial device joined to a relay's router. */
export class DeviceBridge {
  readonly spec: Required<Pick<SerialSpec, "path" | "baudRate" | "pattern">> & Pick<SerialSpec, "token">;
  readonly device: SerialDevice;
  readonly #host: RouterHost;
  readonly #log: (message: string) => void;
  /** Addresses the device is known to hold (from its SNAPSHOTs and SETs). */
  readonly #held = new Set<string>();
  /** Values forwarded to the device, per address, whose echo from the device is not news. */
  readonly #forwarded = new Map<string, Uint8Array>();
  #removeInterceptor: (() => void) | undefined;
  #lastRetry = "";

  constructor(host: RouterHost, spec: SerialSpec, options: DeviceBridgeOptions = {}) {
    this.#host = host;
    this.#log = options.log ?? (() => {});
    this.spec = { path: spec.path, baudRate: spec.baudRate ?? 115_200, pattern: spec.pattern ?? "/**", ...(spec.token ? { token: spec.token } : {}) };
    const where = `serial ${this.spec.path}`;
    this.device = new SerialDevice({
      path: this.spec.path,
      baudRate: this.spec.baudRate,
      client: {
        name: options.name ?? "clawft relay",
        features: ["param"],
        ...(this.spec.token ? { token: this.spec.token } : {}),
        requestTimeoutMs: options.requestTimeoutMs ?? 5000,
      },
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onUp: () => {
        this.#lastRetry = "";
        this.#log(`${where}: device "${this.device.client.welcome?.name ?? ""}" attached at ${this.spec.baudRate} baud`);
      },
      onDown: (info, error?: SerialError) => {
        this.#forwarded.clear();
        this.#log(`${where}: device lost (${error ? error.kind : info.code}${info.reason ? `: ${info.reason}` : ""}); reconnecting`);
      },
      onRetry: (error, delayMs) => {
        // One line per kind of failure, not one per attempt.
        const what = (error as SerialError).kind ?? error.message;
        if (what !== this.#lastRetry) this.#log(`${where}: ${error.message}; retrying every ≤ ${delayMs} ms`);
        this.#lastRetry = what;
      },
    });
    this.device.client.subscribe(this.spec.pattern, (value, address) => this.#fromDevice(address, value), { types: ["param"] });
  }

  /** True while the device's session is up. */
  get connected(): boolean {
    return this.device.connected;
  }

  /** Line counters over every connection. */
  get stats(): LinkStats {
    return this.device.stats;
  }

  /** Params the device is known to hold. */
  get params(): number {
    return this.#held.size;
  }

  /** Starts the interceptor and the connection attempts. Idempotent. */
  start(): void {
    this.#removeInterceptor ??= this.#host.interceptSet([this.spec.pattern], (set) => this.#toDevice(set.address, set.value));
    this.device.start();
  }

  /** A param of the device (a SNAPSHOT entry or a SET): written into the relay, unless it is the echo of a SET the relay forwarded. */
  #fromDevice(address: string, value: ClaspValue): void {
    this.#held.add(address);
    const forwarded = this.#forwarded.get(address);
    if (forwarded) {
      this.#forwarded.delete(address);
      if (same(forwarded, codec.encodeValue(value))) return;
    }
    try {
      this.#host.applySet(address, value);
    } catch (err) {
      this.#log(`serial ${this.spec.path}: ${address} not mirrored: ${(err as Error).message}`);
    }
  }

  /** A relay client's SET on the device's pattern: the device decides. */
  async #toDevice(address: string, value: ClaspValue): Promise<InterceptVerdict> {
    if (!this.device.connected) {
      if (!this.#held.has(address)) return { action: "pass" };
      return { action: "deny", code: SERVICE_UNAVAILABLE, message: `device ${this.spec.path} is offline` };
    }
    this.#forwarded.set(address, codec.encodeValue(value));
    try {
      await this.device.client.set(address, value);
      this.#held.add(address);
      return { action: "pass" };
    } catch (err) {
      this.#forwarded.delete(address);
      if (err instanceof ClaspError) return { action: "deny", code: err.code, message: err.text };
      const timedOut = (err as Error).name === "ClaspTimeoutError";
      return { action: "deny", code: timedOut ? TIMEOUT : SERVICE_UNAVAILABLE, message: `device ${this.spec.path}: ${(err as Error).message}` };
    }
  }

  /** Stops mirroring and closes the line. */
  async close(): Promise<void> {
    this.#removeInterceptor?.();
    this.#removeInterceptor = undefined;
    await this.device.close();
  }
}

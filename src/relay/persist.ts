/**
 * Write-behind persistence of a router's params: the router reports every change as a
 * `state` event (the param's record, or null when it is gone); the persister coalesces them
 * per address and writes them to a {@link Storage} off the receive path, and restores them
 * into a router at start-up. Platform-neutral (the relay uses it with files or Redis, the
 * in-browser hub with IndexedDB).
 *
 * Storage layout (docs/relay.md §Storage): key `<prefix>param/<SHA-256 of the address, hex>`
 * (fixed length, safe for every adapter whatever the address), value = 1 byte envelope
 * version (1), u32 big-endian address length, the address (UTF-8), the router's record.
 * @module
 */
import type { Storage } from "../storage/index.js";
import type { MiniRouter } from "../clasp/router.js";

const ENVELOPE_VERSION = 1;
const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Options of a {@link StatePersister}. */
export interface StatePersisterOptions {
  /** Prefix of every key written. Defaults to `"relay/"`. */
  prefix?: string;
  /** Milliseconds changes are gathered before a write round starts. Defaults to 20. */
  delayMs?: number;
  /** Most writes in flight at once. Defaults to 32. */
  concurrency?: number;
  /** Milliseconds before a failed write is retried. Defaults to 1000. */
  retryMs?: number;
  /** Called with each storage failure (the write is retried). Defaults to nothing. */
  onError?: (error: unknown, address: string) => void;
}

/** What {@link StatePersister.restore} found. */
export interface RestoreReport {
  /** Params restored into the router. */
  restored: number;
  /** Entries the router refused (expired, or a record format it does not read). */
  refused: number;
  /** Entries that could not be read (storage error or a malformed envelope). */
  unreadable: number;
}

/** Thrown by {@link StatePersister.flush} when writes still fail after a last attempt. */
export class PersistError extends Error {
  override name = "PersistError";
  constructor(
    readonly failed: number,
    readonly cause: unknown,
  ) {
    super(`${failed} param write(s) could not be persisted: ${String((cause as Error)?.message ?? cause)}`);
  }
}

async function keyOf(prefix: string, address: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", utf8.encode(address)));
  let hex = "";
  for (const b of digest) hex += b.toString(16).padStart(2, "0");
  return `${prefix}param/${hex}`;
}

function envelope(address: string, record: Uint8Array): Uint8Array {
  const a = utf8.encode(address);
  const out = new Uint8Array(5 + a.length + record.length);
  out[0] = ENVELOPE_VERSION;
  new DataView(out.buffer).setUint32(1, a.length);
  out.set(a, 5);
  out.set(record, 5 + a.length);
  return out;
}

function openEnvelope(bytes: Uint8Array): { address: string; record: Uint8Array } | undefined {
  if (bytes.length < 5 || bytes[0] !== ENVELOPE_VERSION) return undefined;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1);
  if (5 + n > bytes.length) return undefined;
  try {
    return { address: text.decode(bytes.subarray(5, 5 + n)), record: bytes.subarray(5 + n) };
  } catch {
    return undefined;
  }
}

/**
 * Coalescing write-behind of router state. `put` never blocks; `flush` waits until every
 * change put so far is durable (as durable as the storage makes a resolved `set`).
 */
export class StatePersister {
  readonly #storage: Storage;
  readonly #prefix: string;
  readonly #delay: number;
  readonly #concurrency: number;
  readonly #retry: number;
  readonly #onError: (error: unknown, address: string) => void;
  /** Latest unwritten change per address (null: delete). */
  readonly #pending = new Map<string, Uint8Array | null>();
  /** Addresses being written now. */
  readonly #inflight = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #idle: Array<() => void> = [];
  #lastError: unknown;
  #failures = 0;

  constructor(storage: Storage, options: StatePersisterOptions = {}) {
    this.#storage = storage;
    this.#prefix = options.prefix ?? "relay/";
    this.#delay = options.delayMs ?? 20;
    this.#concurrency = options.concurrency ?? 32;
    this.#retry = options.retryMs ?? 1000;
    this.#onError = options.onError ?? (() => {});
  }

  /** Changes not yet durable (pending or being written). */
  get backlog(): number {
    return this.#pending.size + this.#inflight.size;
  }

  /** Records that `address` now has `record` (null: it was removed); written later. */
  put(address: string, record: Uint8Array | null): void {
    this.#pending.set(address, record);
    this.#schedule(this.#delay);
  }

  #schedule(ms: number): void {
    if (this.#timer === undefined) this.#timer = setTimeout(() => this.#pump(), ms);
  }

  /** Starts writes for pending addresses not already in flight, up to the concurrency limit. */
  #pump(): void {
    this.#timer = undefined;
    for (const [address, record] of this.#pending) {
      if (this.#inflight.size >= this.#concurrency) break;
      if (this.#inflight.has(address)) continue;
      this.#pending.delete(address);
      this.#inflight.add(address);
      void this.#write(address, record);
    }
    this.#settle();
  }

  async #write(address: string, record: Uint8Array | null): Promise<void> {
    let retry = false;
    try {
      const key = await keyOf(this.#prefix, address);
      if (record) await this.#storage.set(key, envelope(address, record));
      else await this.#storage.delete(key);
    } catch (err) {
      this.#lastError = err;
      this.#failures++;
      this.#onError(err, address);
      // Keep the change unless a newer one arrived meanwhile.
      if (!this.#pending.has(address)) this.#pending.set(address, record);
      retry = true;
    }
    this.#inflight.delete(address);
    if (retry) this.#schedule(this.#retry);
    else if (this.#pending.size) this.#schedule(0);
    this.#settle();
  }

  #settle(): void {
    if (this.#inflight.size === 0 && (this.#pending.size === 0 || this.#timer !== undefined)) {
      const waiters = this.#idle;
      this.#idle = [];
      for (const w of waiters) w();
    }
  }

  /**
   * Writes every pending change now and waits for all writes in flight.
   * @throws PersistError when some changes still fail on a last attempt (they stay pending)
   */
  async flush(): Promise<void> {
    let failedRounds = 0;
    while (this.#pending.size || this.#inflight.size) {
      const failures = this.#failures;
      this.#cancelTimer();
      this.#pump();
      await new Promise<void>((resolve) => this.#idle.push(resolve));
      this.#cancelTimer();
      if (this.#failures > failures && ++failedRounds >= 2) {
        this.#schedule(this.#retry);
        throw new PersistError(this.#pending.size, this.#lastError);
      }
    }
  }

  #cancelTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * Restores every persisted param into `router` (call it before accepting connections).
   * Entries are read 64 at a time.
   */
  async restore(router: MiniRouter): Promise<RestoreReport> {
    const report: RestoreReport = { restored: 0, refused: 0, unreadable: 0 };
    const keys = await this.#storage.keys(`${this.#prefix}param/`);
    for (let i = 0; i < keys.length; i += 64) {
      const batch = await Promise.all(
        keys.slice(i, i + 64).map((k) =>
          this.#storage.get(k).catch((err: unknown) => {
            this.#onError(err, k);
            return undefined;
          }),
        ),
      );
      for (const bytes of batch) {
        const entry = bytes && openEnvelope(bytes);
        if (!entry) report.unreadable++;
        else if (router.restore(entry.address, entry.record)) report.restored++;
        else report.refused++;
      }
    }
    return report;
  }
}

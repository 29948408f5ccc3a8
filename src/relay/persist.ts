/**
 * Persistence of a router's params: the router reports every change as a `state` event (the
 * param's record, or null when it is gone); the persister coalesces them per address and
 * writes them to a {@link Storage} in rounds, each round one `commit` of the storage (one
 * directory fsync, one Redis MULTI, one SQL transaction). Changes are written behind, off
 * the receive path; a caller that must know a change is durable (a SET with confirm or
 * commit QoS before its ACK) asks {@link StatePersister.commit}, which starts a round at once
 * and groups everything asked for in the same turn of the event loop. Restores them into a
 * router at start-up. Platform-neutral (the relay uses it with files, Redis or PostgreSQL,
 * the in-browser hub with IndexedDB).
 *
 * Storage layout (docs/relay.md §Storage): key `<prefix>param/<SHA-256 of the address, hex>`
 * (fixed length, safe for every adapter whatever the address), value = 1 byte envelope
 * version (1), u32 big-endian address length, the address (UTF-8), the router's record.
 * @module
 */
import { commitChanges, type Storage, type StorageChange } from "../storage/index.js";
import type { MiniRouter } from "../clasp/router.js";

const ENVELOPE_VERSION = 1;
const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Options of a {@link StatePersister}. */
export interface StatePersisterOptions {
  /** Prefix of every key written. Defaults to `"relay/"`. */
  prefix?: string;
  /** Milliseconds changes are gathered before a write-behind round starts. Defaults to 20. */
  delayMs?: number;
  /** Most changes in one round (one storage commit). Defaults to 128. */
  maxBatch?: number;
  /** Milliseconds before a failed round is retried. Defaults to 1000. */
  retryMs?: number;
  /**
   * Called once per failed round with the storage's error and the round's first address (the
   * round is retried). Defaults to nothing.
   */
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

/**
 * Thrown by {@link StatePersister.commit} when the round holding the caller's changes failed,
 * and by {@link StatePersister.flush} when writes still fail after a last attempt. The
 * changes stay pending and are retried.
 */
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
 * The newest not yet durable change of one address: its record (null: delete), and the
 * sequence number of the oldest put it stands for (older puts of the address were folded
 * into it, so they are durable only once it is).
 */
interface Change {
  record: Uint8Array | null;
  firstSeq: number;
}

/** A {@link StatePersister.commit} call waiting for the changes put up to `seq`. */
interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Runs `fn` after the current turn's I/O (Node's setImmediate), or as a 0 ms timer in browsers. */
const soon: (fn: () => void) => void = (globalThis as { setImmediate?: (fn: () => void) => void }).setImmediate ?? ((fn) => void setTimeout(fn, 0));

/** The smallest `firstSeq` of `changes`, or Infinity. */
function oldest(changes: Iterable<Change>): number {
  let first = Infinity;
  for (const c of changes) first = Math.min(first, c.firstSeq);
  return first;
}

/**
 * Coalescing persistence of router state. `put` never blocks; `commit` resolves once every
 * change put before it is durable (as durable as the storage makes a resolved commit);
 * `flush` writes everything pending.
 */
export class StatePersister {
  readonly #storage: Storage;
  readonly #prefix: string;
  readonly #delay: number;
  readonly #maxBatch: number;
  readonly #retry: number;
  readonly #onError: (error: unknown, address: string) => void;
  /** Latest unwritten change per address. */
  readonly #pending = new Map<string, Change>();
  /** The round being written, or undefined. */
  #inflight: Map<string, Change> | undefined;
  /** Sequence number of the last put. */
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #soonQueued = false;
  #waiters: Waiter[] = [];
  /** The storage's {@link Storage.volatile}: nothing it holds survives the process, so nobody need wait for it. */
  readonly volatile: boolean;

  constructor(storage: Storage, options: StatePersisterOptions = {}) {
    this.#storage = storage;
    this.volatile = storage.volatile === true;
    this.#prefix = options.prefix ?? "relay/";
    this.#delay = options.delayMs ?? 20;
    this.#maxBatch = options.maxBatch ?? 128;
    this.#retry = options.retryMs ?? 1000;
    this.#onError = options.onError ?? (() => {});
  }

  /** Changes not yet durable (pending or being written). */
  get backlog(): number {
    return this.#pending.size + (this.#inflight?.size ?? 0);
  }

  /** Records that `address` now has `record` (null: it was removed); written behind. */
  put(address: string, record: Uint8Array | null): void {
    const seq = ++this.#seq;
    const folded = this.#pending.get(address);
    this.#pending.set(address, { record, firstSeq: folded ? folded.firstSeq : seq });
    if (this.#timer === undefined && !this.#soonQueued && !this.#inflight) this.#timer = setTimeout(() => this.#round(), this.#delay);
  }

  /**
   * Waits until every change put so far is durable. Calls made in the same turn share one
   * round (one storage commit); a round already being written is followed at once by the next.
   * @throws PersistError when a round holding one of these changes failed (they stay pending
   *   and are retried)
   */
  commit(): Promise<void> {
    if (this.backlog === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.#waiters.push({ seq: this.#seq, resolve, reject });
      this.#roundSoon();
    });
  }

  /** Starts a round after this turn (unless one is being written: it starts the next when done). */
  #roundSoon(): void {
    if (this.#inflight || this.#soonQueued) return;
    this.#cancelTimer();
    this.#soonQueued = true;
    soon(() => {
      this.#soonQueued = false;
      void this.#round();
    });
  }

  /** Writes up to `maxBatch` pending changes as one storage commit, then settles the waiters. */
  async #round(): Promise<void> {
    this.#timer = undefined;
    if (this.#inflight || this.#pending.size === 0) return;
    const batch = new Map<string, Change>();
    for (const [address, change] of this.#pending) {
      if (batch.size >= this.#maxBatch) break;
      batch.set(address, change);
    }
    for (const address of batch.keys()) this.#pending.delete(address);
    this.#inflight = batch;
    let error: unknown;
    let failed = false;
    try {
      const changes: StorageChange[] = await Promise.all(
        [...batch].map(async ([address, { record }]): Promise<StorageChange> => [await keyOf(this.#prefix, address), record && envelope(address, record)]),
      );
      await commitChanges(this.#storage, changes);
    } catch (err) {
      error = err;
      failed = true;
    }
    this.#inflight = undefined;
    if (failed) {
      this.#onError(error, batch.keys().next().value!);
      // Keep each change unless a newer one arrived meanwhile (which then stands for it too).
      for (const [address, change] of batch) {
        const newer = this.#pending.get(address);
        if (newer) newer.firstSeq = Math.min(newer.firstSeq, change.firstSeq);
        else this.#pending.set(address, change);
      }
      const first = oldest(batch.values());
      const err = new PersistError(batch.size, error);
      this.#settle((w) => (w.seq >= first ? err : undefined));
    } else {
      const outstanding = oldest(this.#pending.values());
      this.#settle((w) => (w.seq < outstanding ? null : undefined));
    }
    if (this.#waiters.length) this.#roundSoon();
    else if (this.#pending.size && this.#timer === undefined) this.#timer = setTimeout(() => this.#round(), failed ? this.#retry : 0);
  }

  /** Resolves (verdict null) or rejects (an error) the waiters `verdict` decides; keeps the rest (undefined). */
  #settle(verdict: (w: Waiter) => Error | null | undefined): void {
    const keep: Waiter[] = [];
    for (const w of this.#waiters) {
      const v = verdict(w);
      if (v === undefined) keep.push(w);
      else if (v === null) w.resolve();
      else w.reject(v);
    }
    this.#waiters = keep;
  }

  /**
   * Writes every pending change now and waits for all of it.
   * @throws PersistError when changes still fail on a second attempt (they stay pending and
   *   are retried every `retryMs`)
   */
  async flush(): Promise<void> {
    let failedRounds = 0;
    while (this.backlog) {
      try {
        await this.commit();
      } catch (err) {
        if (++failedRounds >= 2) throw new PersistError(this.backlog, (err as PersistError).cause);
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

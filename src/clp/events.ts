/**
 * The event log on the TypeScript side: the records the engine produced (it verifies and
 * applies them; this module only keeps, frames and stores them), their storage layout, and
 * an event store over the shared `Storage` interface (roadmap §7).
 *
 * Storage layout under a key prefix `K` (docs/clp-formats.md §Storage):
 * `K/snapshot` the latest snapshot; `K/e/<seq, 16 digits>` one record per event after it.
 * @module
 */
import type { ClaspValue } from "../clasp/index.js";
import type { Storage } from "../storage/index.js";
import { ClpCore, expectOk } from "./core.js";
import { toHex } from "../core/hex.js";

/** A committed event, decoded (docs/clp-formats.md §Event). */
export interface ClpEvent {
  seq: number;
  /** Commit time, ms since the epoch (as the runtime's clock said). */
  time: number;
  intent: string;
  payload: Record<string, unknown>;
  transition: string;
  /** The concrete operations applied: `["set", path, value]`, `["push", path, ...items]`, … */
  ops: unknown[];
  /** Idempotency key, if the commit had one. */
  key?: string;
  /** SHA-256 chain hash after this event (hex). */
  hash: string;
}

const HASH = 32;
const HEADER = 48;
const MAGIC = [0x43, 0x4c, 0x50, 0x4c]; // "CLPL"

const seqKey = (prefix: string, seq: number): string => `${prefix}/e/${String(seq).padStart(16, "0")}`;

/** Decodes a record (u32 length | event | hash) into a {@link ClpEvent}. */
export function decodeEvent(core: ClpCore, record: Uint8Array, hash?: Uint8Array): ClpEvent {
  const len = new DataView(record.buffer, record.byteOffset).getUint32(0);
  const [seq, time, intent, payload, transition, ops, key] = core.codec.decodeValue(record.subarray(4, 4 + len)) as ClaspValue[];
  const e: ClpEvent = {
    seq: Number(seq),
    time: Number(time),
    intent: String(intent),
    payload: payload as Record<string, unknown>,
    transition: String(transition),
    ops: ops as unknown[],
    hash: toHex(hash ?? record.subarray(4 + len, 4 + len + HASH)),
  };
  if (typeof key === "string") e.key = key;
  return e;
}

/** Splits the records of an event log (after its 48-byte header). Framing only: the engine verifies. */
export function splitLog(log: Uint8Array): { base: number; baseHash: Uint8Array; records: Uint8Array[] } {
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength);
  const records: Uint8Array[] = [];
  for (let at = HEADER; at + 4 <= log.length; ) {
    const n = 4 + view.getUint32(at) + HASH;
    records.push(log.slice(at, at + n));
    at += n;
  }
  return { base: Number(view.getBigUint64(8)), baseHash: log.slice(16, 48), records };
}

/** Frames records into an event log starting after event `base` whose chain hash is `baseHash`. */
export function joinLog(base: number, baseHash: Uint8Array, records: readonly Uint8Array[]): Uint8Array {
  const total = records.reduce((n, r) => n + r.length, HEADER);
  const out = new Uint8Array(total);
  out.set(MAGIC, 0);
  out[4] = 1; // format version
  new DataView(out.buffer).setBigUint64(8, BigInt(base));
  out.set(baseHash, 16);
  let at = HEADER;
  for (const r of records) {
    out.set(r, at);
    at += r.length;
  }
  return out;
}

/** The events a runtime committed since its base (the last snapshot, or event 0), and their storage. */
export class EventLog {
  #base = 0;
  #baseHash = new Uint8Array(HASH);
  #records: Uint8Array[] = [];

  constructor(
    readonly storage: Storage | undefined,
    readonly prefix: string,
  ) {}

  /** Keeps the record of event `seq`. */
  add(record: Uint8Array, seq: number): void {
    if (seq !== this.#base + this.#records.length + 1) throw new RangeError(`event ${seq} out of sequence`);
    this.#records.push(record);
  }

  /** How many records are kept. */
  get size(): number {
    return this.#records.length;
  }

  /** Drops the kept records after the first `count`. */
  truncate(count: number): void {
    this.#records.length = Math.min(count, this.#records.length);
  }

  /** Deletes the stored records of these events (undoing a failed append). */
  async forget(seqs: readonly number[]): Promise<void> {
    if (this.storage) for (const seq of seqs) await this.storage.delete(seqKey(this.prefix, seq));
  }

  /** Stores event `seq` (write-ahead of the confirm); no-op without a storage. */
  async persist(seq: number, record: Uint8Array): Promise<void> {
    if (this.storage) await this.storage.set(seqKey(this.prefix, seq), record);
  }

  /** The records after `fromSeq`. */
  records(fromSeq: number): Array<{ seq: number; record: Uint8Array; hash: Uint8Array }> {
    const out = [];
    for (let i = Math.max(0, fromSeq - this.#base); i < this.#records.length; i++) {
      const r = this.#records[i]!;
      out.push({ seq: this.#base + i + 1, record: r, hash: r.subarray(r.length - HASH) });
    }
    return out;
  }

  /** The event log of the events after `fromSeq` (clamped to what is kept). */
  export(fromSeq: number): Uint8Array {
    const k = Math.min(Math.max(0, fromSeq - this.#base), this.#records.length);
    const baseHash = k === 0 ? this.#baseHash : this.#records[k - 1]!.subarray(this.#records[k - 1]!.length - HASH);
    return joinLog(this.#base + k, baseHash, this.#records.slice(k));
  }

  /** Takes the records of a log the engine accepted (`fresh`: it replaced everything). */
  load(log: Uint8Array, fresh: boolean): void {
    const { base, baseHash, records } = splitLog(log);
    if (fresh) this.reset(base, baseHash);
    this.#records.push(...records);
  }

  /** Restarts the kept log at event `seq` (after a restore or a snapshot). */
  reset(seq: number, hash: Uint8Array): void {
    this.#base = seq;
    this.#baseHash = hash.slice();
    this.#records = [];
  }

  /** Stores a snapshot taken at event `seq`, then drops the stored and kept events it covers. */
  async saveSnapshot(snapshot: Uint8Array, seq: number, hash: Uint8Array): Promise<void> {
    if (this.storage) {
      await this.storage.set(`${this.prefix}/snapshot`, snapshot);
      await this.#dropThrough(seq);
    }
    this.reset(seq, hash);
  }

  async #dropThrough(seq: number): Promise<void> {
    for (const k of await this.storage!.keys(`${this.prefix}/e/`)) {
      if (Number(k.slice(k.lastIndexOf("/") + 1)) <= seq) await this.storage!.delete(k);
    }
  }

  /** The stored snapshot, if any. */
  async readSnapshot(): Promise<Uint8Array | undefined> {
    return this.storage?.get(`${this.prefix}/snapshot`);
  }

  /** The stored events after `seq` framed as a log starting there, or undefined when there are none. */
  async readLog(seq: number, hash: Uint8Array): Promise<Uint8Array | undefined> {
    const records = await this.readRecords(seq);
    return records.length === 0 ? undefined : joinLog(seq, hash, records);
  }

  /** The stored records of the events after `seq`, in sequence order (unverified). */
  async readRecords(seq: number): Promise<Uint8Array[]> {
    if (!this.storage) return [];
    const keys = (await this.storage.keys(`${this.prefix}/e/`))
      .map((k) => ({ k, seq: Number(k.slice(k.lastIndexOf("/") + 1)) }))
      .filter((e) => Number.isSafeInteger(e.seq) && e.seq > seq)
      .sort((a, b) => a.seq - b.seq);
    const records: Uint8Array[] = [];
    for (const { k } of keys) {
      const r = await this.storage.get(k);
      if (r) records.push(r);
    }
    return records;
  }

  /** Replaces what is stored with a snapshot (after a replay). */
  async replaceStored(snapshot: Uint8Array): Promise<void> {
    if (this.storage) {
      await this.storage.set(`${this.prefix}/snapshot`, snapshot);
      await this.#dropThrough(Number.MAX_SAFE_INTEGER);
    }
  }
}

/**
 * An event store over a `Storage` (roadmap §7): event logs by aggregate id, in the layout
 * runtimes use (an aggregate id is a runtime's `storageKey`).
 */
export class EventStore {
  constructor(
    readonly storage: Storage,
    readonly core: ClpCore,
  ) {}

  /**
   * Appends an event log (e.g. a runtime's `exportLog`) to an aggregate, after verifying it
   * continues the stored events (hash chain, sequence).
   * @throws EventLogError when it does not (nothing is stored)
   */
  async append(aggregateId: string, log: Uint8Array): Promise<void> {
    const h = await this.#load(aggregateId);
    try {
      expectOk(this.core.bytes("append", h, log));
      // the engine verified that the records are events base + 1, base + 2, …
      const { base, records } = splitLog(log);
      const events = new EventLog(this.storage, aggregateId);
      for (const [i, r] of records.entries()) await events.persist(base + i + 1, r);
    } finally {
      this.core.destroy(h);
    }
  }

  /** The stored events of an aggregate after its snapshot, oldest first. */
  async getEvents(aggregateId: string): Promise<ClpEvent[]> {
    const records = await new EventLog(this.storage, aggregateId).readRecords(0);
    return records.map((r) => decodeEvent(this.core, r));
  }

  /**
   * Rebuilds an aggregate's state from its snapshot and events (verified).
   * @throws SnapshotError | EventLogError when what is stored is corrupt or tampered with
   */
  async replay(aggregateId: string): Promise<Record<string, unknown>> {
    const h = await this.#load(aggregateId);
    try {
      return this.core.rawValue("state", h) as Record<string, unknown>;
    } finally {
      this.core.destroy(h);
    }
  }

  /** A scratch engine holding the aggregate's stored snapshot and events. */
  async #load(aggregateId: string): Promise<number> {
    const h = this.core.create({ intents: {}, transitions: {} });
    try {
      const log = new EventLog(this.storage, aggregateId);
      const snap = await log.readSnapshot();
      let seq = 0;
      let hash: Uint8Array = new Uint8Array(HASH);
      if (snap) {
        const head = expectOk(this.core.bytes("restore", h, snap)) as [number, Uint8Array];
        [seq, hash] = head;
      }
      const stored = await log.readLog(seq, hash);
      if (stored) expectOk(this.core.bytes("append", h, stored));
      return h;
    } catch (e) {
      this.core.destroy(h);
      throw e;
    }
  }
}

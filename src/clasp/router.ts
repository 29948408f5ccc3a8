/**
 * The CLASP MiniRouter (`assembly/clasp/router`) from TypeScript: a transport hands it each
 * frame a peer sent, and carries out the step it returns — frames to send (each encoded once,
 * shared by every recipient), deliveries, and events (closes, state to persist, metrics).
 * The routing semantics are clasp-wire.md §6 with upstream's bugs fixed (docs/router.md).
 * @module
 */
import { instantiateCore, type CoreExports, type WasmSource } from "../core/loader.js";
import { encodeValue, type ClaspValueInput } from "./index.js";

/** Limits and identity of a router (docs/router.md §Configuration). */
export interface RouterConfig {
  /** Name sent in WELCOME. Defaults to `"clawft"`. */
  name?: string;
  /** Most sessions at once; more connections are refused. Defaults to 100. */
  maxSessions?: number;
  /** Most subscriptions per session (ERROR 429 beyond). Defaults to 1000. */
  maxSubscriptionsPerSession?: number;
  /** Most params held (ERROR 501 for a new one beyond); 0 unlimited. Defaults to 0. */
  maxStateEntries?: number;
  /** Largest frame accepted, bytes (ERROR 100 beyond). Defaults to 65,547 (the CLASP maximum). */
  maxMessageSize?: number;
  /** Frames queued per session before a transport drops or disconnects it (transports apply it). Defaults to 1000. */
  maxQueuePerSession?: number;
  /** Seconds of idleness after which a param without its own TTL expires; 0 never. Defaults to 0. */
  stateTtl?: number;
  /** Seconds without traffic after which a session is closed; 0 never. Defaults to 0. */
  sessionTimeout?: number;
  /** `"open"` (no tokens; the default) or `"authenticated"` (HELLO must carry a configured token). */
  security?: "open" | "authenticated";
  /**
   * SET and PUBLISH frames journaled per address for REPLAY and SUBSCRIBE `history` (the
   * latest ones; docs/router.md §Journal); 0 keeps no journal (REPLAY then gets ERROR 501).
   * Defaults to 16.
   */
  journalDepth?: number;
  /** Most addresses journaled; later new addresses are not. Defaults to 10,000. */
  journalAddresses?: number;
  /** Tokens and the address patterns each may read and write (absent list: everything). */
  tokens?: ReadonlyArray<{ token: string; read?: readonly string[]; write?: readonly string[] }>;
}

/** Something the host must do or may record after a step. */
export type RouterEvent =
  | { type: "close"; conn: number; code: number }
  | { type: "state"; address: string; record: Uint8Array | null }
  | { type: "fanout"; address: string; count: number }
  | { type: "message"; conn: number; messageType: number; bytes: number }
  | { type: "error"; conn: number; code: number }
  | { type: "session"; conn: number; session: string }
  | { type: "session-end"; conn: number; session: string };

/**
 * What one router step produced. The step object, `qos`, `deliveries` and `events` are reused
 * by the next call into the router (read them before); the frames are copies and stay valid.
 */
export interface RouterStep {
  /** Encoded frames, each to be sent as-is to every connection a delivery names. */
  frames: Uint8Array[];
  /** Frame QoS (0 fire, 1 confirm, 2 commit), per frame: transports may drop fire frames for slow peers. */
  qos: Uint8Array;
  /** Pairs (connection, frame index), in send order. */
  deliveries: Uint32Array;
  events: RouterEvent[];
  /**
   * µs time by which `tick` must run because of this step (a held change or gesture move waits
   * to be flushed), or 0. After a tick: the earliest one still held (the sweep not included).
   */
  due: number;
}

interface RouterCore extends CoreExports {
  info(): number;
  input(size: number): number;
  configure(maxSessions: number, maxSubs: number, maxState: number, maxMessage: number, stateTtl: number, sessionTimeout: number, authenticated: number): void;
  setName(len: number): void;
  configureJournal(depth: number, maxAddresses: number): void;
  seed(lo: number, hi: number): void;
  addToken(len: number): number;
  connect(now: number): number;
  disconnect(conn: number): void;
  receive(conn: number, len: number, now: number): number;
  tick(now: number): number;
  restoreParam(addressLen: number, recordLen: number, now: number): number;
  writable(conn: number, len: number): number;
  resumeSession(conn: number, len: number): number;
  relock(conn: number, len: number): number;
  lockHolder(len: number): number;
  hostSet(addressLen: number, valueLen: number, now: number): number;
  commitParam(addressLen: number, writerLen: number, valueLen: number, revision: number, timestamp: number, hasTtl: number, ttl: number, now: number): number;
  paramCount(): number;
}

const CORE_URL = () => new URL("../../build/router.wasm", import.meta.url);
const EV_KINDS = [undefined, "close", "state", "fanout", "message", "error", "session", "session-end"] as const;
const utf8 = new TextEncoder();
const text = new TextDecoder("utf-8", { ignoreBOM: true });

/** Microseconds since the Unix epoch, from the high-resolution clock. */
export function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** Thrown when a router configuration is invalid (a token pattern that does not compile, a bad limit). */
export class RouterConfigError extends Error {
  override name = "RouterConfigError";
}

function limit(v: number | undefined, fallback: number, what: string): number {
  const x = v ?? fallback;
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) throw new RouterConfigError(`${what} must be an integer in [0, 2^32), got ${x}`);
  return x;
}

/**
 * One MiniRouter instance. Every method is one synchronous step into the core; the host owns
 * the transports and the clock.
 */
export class MiniRouter {
  readonly #core: RouterCore;
  readonly #info: number;
  /** Frames queued per session before a transport should drop or disconnect it. */
  readonly maxQueuePerSession: number;

  private constructor(core: RouterCore, maxQueue: number) {
    this.#core = core;
    this.#info = core.info() >>> 2;
    this.maxQueuePerSession = maxQueue;
  }

  /**
   * Loads a router core and configures it.
   * @param source where the wasm comes from (defaults to the package's build/router.wasm)
   * @throws RouterConfigError for an invalid configuration
   */
  static async load(config: RouterConfig = {}, source?: WasmSource): Promise<MiniRouter> {
    if (config.security !== undefined && config.security !== "open" && config.security !== "authenticated") {
      throw new RouterConfigError(`security must be "open" or "authenticated", got ${JSON.stringify(config.security)}`);
    }
    const core = await instantiateCore<RouterCore>(CORE_URL, source);
    const router = new MiniRouter(core, limit(config.maxQueuePerSession, 1000, "maxQueuePerSession"));
    core.configure(
      limit(config.maxSessions, 100, "maxSessions"),
      limit(config.maxSubscriptionsPerSession, 1000, "maxSubscriptionsPerSession"),
      limit(config.maxStateEntries, 0, "maxStateEntries"),
      limit(config.maxMessageSize, 65547, "maxMessageSize"),
      limit(config.stateTtl, 0, "stateTtl"),
      limit(config.sessionTimeout, 0, "sessionTimeout"),
      config.security === "authenticated" ? 1 : 0,
    );
    core.configureJournal(limit(config.journalDepth, 16, "journalDepth"), limit(config.journalAddresses, 10_000, "journalAddresses"));
    const seed = crypto.getRandomValues(new Uint32Array(2));
    core.seed(seed[0]!, seed[1]!);
    if (config.name !== undefined) core.setName(router.#put(utf8.encode(config.name)));
    for (const t of config.tokens ?? []) {
      const spec = encodeValue([t.token, t.read ? [...t.read] : null, t.write ? [...t.write] : null]);
      if (!core.addToken(router.#put(spec))) {
        throw new RouterConfigError(`token ${JSON.stringify(t.token.slice(0, 8))}…: empty token or a scope pattern that does not compile`);
      }
    }
    return router;
  }

  /** Copies `bytes`, then `more` right after them, into the core's input region; returns the length of `bytes`. */
  #put(bytes: Uint8Array, more?: Uint8Array): number {
    const p = this.#core.input(bytes.length + (more?.length ?? 0));
    this.#views();
    this.#u8.set(bytes, p);
    if (more) this.#u8.set(more, p + bytes.length);
    return bytes.length;
  }

  #u8 = new Uint8Array(0);
  #u32 = new Uint32Array(0);
  #f64 = new Float64Array(0);
  #deliveries = new Uint32Array(256);
  #qos = new Uint8Array(64);
  readonly #result: RouterStep = { frames: [], qos: new Uint8Array(0), deliveries: new Uint32Array(0), events: [], due: 0 };

  /** Text of bytes [at, at + n) of linear memory (ASCII fast path: addresses usually are). */
  #text(at: number, n: number): string {
    const u8 = this.#u8;
    if (n <= 24) {
      let s = "";
      for (let i = 0; i < n; i++) {
        const c = u8[at + i]!;
        if (c >= 0x80) return text.decode(u8.subarray(at, at + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return text.decode(u8.subarray(at, at + n));
  }

  /** Views of linear memory, re-made after the core grew it. */
  #views(): void {
    if (this.#u8.buffer !== this.#core.memory.buffer) {
      this.#u8 = new Uint8Array(this.#core.memory.buffer);
      this.#u32 = new Uint32Array(this.#core.memory.buffer);
      this.#f64 = new Float64Array(this.#core.memory.buffer);
    }
  }

  /** Reads the outbox of the last call into the reused step object. */
  #step(): RouterStep {
    this.#views();
    const u8 = this.#u8, u32 = this.#u32, i0 = this.#info;
    const framesPtr = u32[i0]!, table = u32[i0 + 1]! >>> 2, nFrames = u32[i0 + 2]!;
    const delPtr = u32[i0 + 3]! >>> 2, nDel = u32[i0 + 4]!, ev = u32[i0 + 5]! >>> 2, nEv = u32[i0 + 6]!, rec = u32[i0 + 7]!;
    const step = this.#result;
    step.due = this.#f64[(i0 + 8) >>> 1]!; // INFO is 8-byte aligned
    const frames = step.frames;
    frames.length = nFrames;
    if (this.#qos.length < nFrames) this.#qos = new Uint8Array(nFrames * 2);
    if (nFrames > 0) {
      const all = u8.slice(framesPtr, framesPtr + u32[table + (nFrames - 1) * 3 + 1]!);
      for (let i = 0; i < nFrames; i++) {
        frames[i] = nFrames === 1 ? all : all.subarray(u32[table + i * 3]!, u32[table + i * 3 + 1]!);
        this.#qos[i] = u32[table + i * 3 + 2]!;
      }
    }
    step.qos = this.#qos.subarray(0, nFrames);
    if (this.#deliveries.length < nDel * 2) this.#deliveries = new Uint32Array(nDel * 4);
    this.#deliveries.set(u32.subarray(delPtr, delPtr + nDel * 2));
    step.deliveries = this.#deliveries.subarray(0, nDel * 2);
    const events = step.events;
    events.length = nEv;
    for (let i = 0; i < nEv; i++) {
      const e = ev + i * 6;
      const a = u32[e + 1]!, b = u32[e + 2]!, c = u32[e + 3]!, d = u32[e + 4]!;
      switch (EV_KINDS[u32[e]!]) {
        case "close":
          events[i] = { type: "close", conn: a, code: b };
          break;
        case "state":
          events[i] = { type: "state", address: this.#text(rec + a, b), record: d ? u8.slice(rec + c, rec + c + d) : null };
          break;
        case "fanout":
          events[i] = { type: "fanout", address: this.#text(rec + a, b), count: c };
          break;
        case "message":
          events[i] = { type: "message", conn: a, messageType: b, bytes: c };
          break;
        case "error":
          events[i] = { type: "error", conn: a, code: b };
          break;
        default:
          events[i] = { type: EV_KINDS[u32[e]!] as "session" | "session-end", conn: a, session: this.#text(rec + b, c) };
      }
    }
    return step;
  }

  /**
   * Opens a connection for a new transport peer.
   * @returns its handle, or 0 when `maxSessions` sessions exist (refuse the peer)
   */
  connect(now = nowMicros()): number {
    return this.#core.connect(now);
  }

  /** Closes a connection: its session, subscriptions and locks end. */
  disconnect(conn: number): RouterStep {
    this.#core.disconnect(conn);
    return this.#step();
  }

  /**
   * Handles one frame a peer sent (one WebSocket message).
   * @param now µs since the Unix epoch (server time for WELCOME, writes and TTLs)
   * @throws RangeError when `conn` is not an open connection
   */
  receive(conn: number, frame: Uint8Array, now = nowMicros()): RouterStep {
    if (!this.#core.receive(conn, this.#put(frame), now)) throw new RangeError(`connection ${conn} is not open`);
    return this.#step();
  }

  /**
   * Advances time: flushes coalesced gesture moves, expires params and announcements, closes
   * idle sessions. Call it again at `next` (µs since the epoch).
   */
  tick(now = nowMicros()): RouterStep & { next: number } {
    const next = this.#core.tick(now);
    return Object.assign(this.#step(), { next });
  }

  /**
   * Restores a param from the record a `state` event carried (start-up from storage).
   * @returns false when the record is malformed, from another format version, or expired
   */
  restore(address: string, record: Uint8Array, now = nowMicros()): boolean {
    return !!this.#core.restoreParam(this.#put(utf8.encode(address), record), record.length, now);
  }

  /**
   * Whether the session on `conn` may write `address` (it said HELLO, and the address is in
   * its write scope). A governance layer asks before it takes a SET over.
   */
  writable(conn: number, address: string): boolean {
    return !!this.#core.writable(conn, this.#put(utf8.encode(address)));
  }

  /**
   * Gives the session on `conn` back the id it had before the host rebuilt its router (a
   * Cloudflare room replays each socket's HELLO after hibernation, which draws a new id): the
   * id its client was told in WELCOME, and the writer its params carry.
   * @returns the step (its `session` event), or null when `conn` has no session
   */
  resumeSession(conn: number, session: string): RouterStep | null {
    return this.#core.resumeSession(conn, this.#put(utf8.encode(session))) ? this.#step() : null;
  }

  /**
   * Gives the session on `conn` the lock of the param at `address` again after the host rebuilt
   * its router (locks are not persisted).
   * @returns false when there is no such session or param, or another writer holds the lock
   */
  relock(conn: number, address: string): boolean {
    return !!this.#core.relock(conn, this.#put(utf8.encode(address)));
  }

  /** The connection whose session holds the lock of the param at `address`, or 0 (none, or the host's own write). */
  lockHolder(address: string): number {
    return this.#core.lockHolder(this.#put(utf8.encode(address)));
  }

  /**
   * Writes `value` at `address` on the host's behalf — a governance layer publishing a
   * committed change: no scope, lock or revision check. The SET with its new revision goes to
   * every matching subscriber (the step's deliveries) and is persisted (a `state` event).
   * @returns the step, and the new revision
   * @throws RangeError when the value is too large to be a param (address + value over 65,455 bytes)
   */
  hostSet(address: string, value: ClaspValueInput, now = nowMicros()): RouterStep & { revision: number } {
    const a = utf8.encode(address);
    const v = encodeValue(value);
    const revision = this.#core.hostSet(this.#put(a, v), v.length, now);
    if (revision === 0) throw new RangeError(`value at ${address} is too large for a param (${a.length + v.length} bytes)`);
    return Object.assign(this.#step(), { revision });
  }

  /**
   * Applies a param whose revision was decided outside this router — a relay cluster's
   * shared store (docs/relay.md §Cluster): no scope, lock or revision check. Unless the router
   * already holds that revision or a newer one of a live param (a commit that arrived late:
   * nothing changes), the param takes the commit's value, revision, writer, timestamp and TTL
   * word, is persisted (a `state` event) and its SET goes to every matching subscriber.
   * @param value one tagged CLASP value (type byte + body), as stored
   * @param timestamp µs since the epoch of the write (TTLs count from it)
   * @param ttl the SET's TTL word (clasp-wire.md §4.1), undefined when no SET carried one
   * @returns the step, and whether the commit was `applied` or `stale`
   * @throws RangeError when the value is not one valid tagged CLASP value, the revision is
   *   not a positive integer, or the param is too large
   */
  commitParam(
    address: string,
    commit: { revision: number; value: Uint8Array; writer: string; timestamp: number; ttl?: number | undefined },
    now = nowMicros(),
  ): RouterStep & { applied: boolean } {
    const a = utf8.encode(address);
    const w = utf8.encode(commit.writer);
    const { revision, value, timestamp, ttl } = commit;
    if (!Number.isSafeInteger(revision) || revision < 1) throw new RangeError(`revision of ${address} must be a positive integer, got ${revision}`);
    const p = this.#core.input(a.length + w.length + value.length);
    this.#views();
    this.#u8.set(a, p);
    this.#u8.set(w, p + a.length);
    this.#u8.set(value, p + a.length + w.length);
    const r = this.#core.commitParam(a.length, w.length, value.length, revision, timestamp, ttl === undefined ? 0 : 1, (ttl ?? 0) >>> 0, now);
    if (r === 0) throw new RangeError(`commit of ${address} refused: not one valid tagged CLASP value, or too large for a param (${a.length + value.length} bytes)`);
    return Object.assign(this.#step(), { applied: r === 1 });
  }

  /** Number of params held. */
  get size(): number {
    return this.#core.paramCount();
  }
}

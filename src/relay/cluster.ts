/**
 * A relay cluster over Redis: N relay processes behind one Redis act as one CLASP router
 * (docs/relay.md §Cluster). Redis holds every param and is its authority; each relay's wasm
 * MiniRouter keeps a full copy and does its own matching and delivery.
 *
 * - A SET is committed by one Lua script (atomic in Redis): lock check, revision check, the
 *   new revision, the stored param, its expiry, and the commit's PUBLISH on the cluster
 *   channel. The relay that ran it applies the commit to its router at once (SET to its
 *   subscribers, then ACK {revision}); the others apply it from the channel. A router applies
 *   a commit only when it is newer than what it holds (`MiniRouter.commitParam`), so late or
 *   repeated commits change nothing and every relay ends on Redis's revision.
 * - PUBLISH frames (events, streams, gestures) and BUNDLEs of them are forwarded as the very
 *   bytes received over the same channel; each relay feeds them to its router through one
 *   internal session, so subscription semantics (patterns, signal types, scopes, gesture
 *   coalescing) are the router's own.
 * - Locks are held in Redis by `<relay id> <session id>`. A lock whose relay's lease key
 *   (refreshed every `heartbeatMs`, expiring after `leaseMs`) is gone counts as free, so a
 *   relay killed with -9 holds no lock for long; a session that ends releases its locks.
 * - Redis restarting: commands fail at once while it is down (SETs get ERROR 501), the
 *   clients reconnect by themselves, and on every reconnection the relay reads all params
 *   again, so commits it missed arrive. With `appendonly yes` and `appendfsync always` no
 *   acknowledged SET is lost.
 *
 * Keys (prefix `clawft:cluster:` by default): `<prefix>p:<address>` a hash (rev, val: the
 * tagged CLASP value, writer, ts: µs, ttl: the TTL word when a SET carried one, lock);
 * `<prefix>relay:<relay id>` a relay's lease; channel `<prefix>commits`.
 * @module
 */
import { createClient, RESP_TYPES } from "@redis/client";
import { encode, encodeValue } from "../clasp/index.js";
import type { InterceptVerdict, InterceptedSet } from "../clasp/governance.js";
import { nowMicros, type MiniRouter } from "../clasp/router.js";
import { frameType, type HostPeer, type RouterHost } from "./host.js";
import type { RestoreReport } from "./persist.js";

/** Options of {@link RelayCluster.connect}. */
export interface ClusterOptions {
  /** Prefix of every Redis key and of the channel. Defaults to `"clawft:cluster:"`. */
  prefix?: string;
  /** This relay's id in lock holders and forwarded frames. Defaults to a random UUID. */
  relayId?: string;
  /** Milliseconds between lease refreshes. Defaults to 1000. */
  heartbeatMs?: number;
  /** Milliseconds a lease lives unrefreshed: a killed relay's locks are free after it. Defaults to 5000. */
  leaseMs?: number;
  /** The router's `stateTtl` (s, 0 never): how long Redis keeps a param no SET gave a TTL. Defaults to 0. */
  stateTtl?: number;
  /** Called with operational messages (Redis lost and back). Defaults to console.error. */
  log?: (message: string) => void;
}

/** Thrown by {@link RelayCluster.connect} when Redis cannot be reached or the URL is not a redis:// URL. */
export class ClusterError extends Error {
  override name = "ClusterError";
}

/** CLASP codes (clasp-wire.md "Error codes"). */
const REVISION_CONFLICT = 400;
const LOCK_HELD = 401;
const INVALID_VALUE = 402;
const SERVICE_UNAVAILABLE = 501;

/** Frame payload type codes (clasp-wire.md §3). */
const PUBLISH = 0x20;
const BUNDLE = 0x30;

/** Kinds of cluster channel messages: a committed param, a forwarded frame. */
const COMMIT = 0x53; // "S"
const FRAME = 0x46; // "F"

/**
 * The SET commit, atomic in Redis. KEYS[1] the param's hash, KEYS[2] the channel.
 * ARGV: value, expected revision ("" none), holder ("<relay> <session>"), lock "1", unlock
 * "1", TTL word ("" none), timestamp µs, address, lease key prefix, default TTL s, writer.
 * Returns {0, revision, TTL word in effect ("" none: a SET without one keeps the last one)}
 * or {400, current revision} or {401, holder session}.
 * The channel message is "S" then netstrings (`<length>:<bytes>`): address, revision,
 * writer, timestamp, TTL word ("" none), value.
 */
const SET_SCRIPT = `
local cur = redis.call('HMGET', KEYS[1], 'rev', 'lock', 'ttl')
local rev = tonumber(cur[1]) or 0
local holder = cur[2]
if holder then
  local sp = string.find(holder, ' ', 1, true)
  if not sp or redis.call('EXISTS', ARGV[9] .. string.sub(holder, 1, sp - 1)) == 0 then
    holder = false
  elseif holder ~= ARGV[3] then
    return {401, string.sub(holder, sp + 1)}
  end
end
if rev > 0 and ARGV[2] ~= '' and tonumber(ARGV[2]) ~= rev then return {400, rev} end
rev = rev + 1
if ARGV[5] == '1' and holder == ARGV[3] then holder = false end
if ARGV[4] == '1' then holder = ARGV[3] end
local ttl = ARGV[6]
if ttl == '' and cur[3] then ttl = cur[3] end
redis.call('HSET', KEYS[1], 'rev', rev, 'val', ARGV[1], 'writer', ARGV[11], 'ts', ARGV[7])
if ttl ~= '' then redis.call('HSET', KEYS[1], 'ttl', ttl) end
if holder then redis.call('HSET', KEYS[1], 'lock', holder) else redis.call('HDEL', KEYS[1], 'lock') end
local seconds = tonumber(ttl ~= '' and ttl or ARGV[10])
local at = 0
if ttl ~= '' and seconds >= 2147483648 then
  at = (seconds - 2147483648) * 1000
elseif seconds > 0 then
  at = math.floor(tonumber(ARGV[7]) / 1000) + seconds * 1000
end
if at > 0 then redis.call('PEXPIREAT', KEYS[1], string.format('%d', at)) else redis.call('PERSIST', KEYS[1]) end
local function ns(s) return #s .. ':' .. s end
redis.call('PUBLISH', KEYS[2], 'S' .. ns(ARGV[8]) .. ns(tostring(rev)) .. ns(ARGV[11]) .. ns(ARGV[7]) .. ns(ttl) .. ns(ARGV[1]))
return {0, rev, ttl}
`;

/** Releases the locks KEYS[...] when ARGV[1] holds them. Returns how many it released. */
const UNLOCK_SCRIPT = `
local n = 0
for _, key in ipairs(KEYS) do
  if redis.call('HGET', key, 'lock') == ARGV[1] then
    redis.call('HDEL', key, 'lock')
    n = n + 1
  end
end
return n
`;

const utf8 = new TextEncoder();
const text = new TextDecoder();

/** The bounds [start, end) of the netstring (`<decimal length>:<bytes>`) at `at`, or undefined. */
function netstringAt(bytes: Uint8Array, at: number): [number, number] | undefined {
  let n = 0;
  let digits = 0;
  for (; at < bytes.length && bytes[at]! >= 0x30 && bytes[at]! <= 0x39 && digits < 10; at++, digits++) n = n * 10 + bytes[at]! - 0x30;
  if (digits === 0 || bytes[at] !== 0x3a || at + 1 + n > bytes.length) return undefined;
  return [at + 1, at + 1 + n];
}

/** Reads `count` netstrings that fill `bytes` from `at`; undefined when malformed. */
function netstrings(bytes: Uint8Array, at: number, count: number): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const b = netstringAt(bytes, at);
    if (!b) return undefined;
    out.push(bytes.subarray(b[0], b[1]));
    at = b[1];
  }
  return at === bytes.length ? out : undefined;
}

/** One netstring of `s`. */
function netstring(s: Uint8Array): Uint8Array {
  const head = utf8.encode(`${s.length}:`);
  const out = new Uint8Array(head.length + s.length);
  out.set(head);
  out.set(s, head.length);
  return out;
}

/** A committed param as the channel and the hash carry it. */
interface Commit {
  address: string;
  revision: number;
  writer: string;
  timestamp: number;
  ttl: number | undefined;
  value: Uint8Array;
}

/** Decimal text (bytes) to a safe integer, or NaN. */
function int(bytes: Uint8Array | string): number {
  const s = typeof bytes === "string" ? bytes : text.decode(bytes);
  return /^\d{1,16}$/.test(s) ? Number(s) : NaN;
}

/** Parses a commit message (after its "S"); undefined when malformed. */
function readCommit(bytes: Uint8Array): Commit | undefined {
  const f = netstrings(bytes, 1, 6);
  if (!f) return undefined;
  const revision = int(f[1]!), timestamp = int(f[3]!), ttl = f[4]!.length ? int(f[4]!) : undefined;
  if (!Number.isSafeInteger(revision) || !Number.isSafeInteger(timestamp) || Number.isNaN(ttl)) return undefined;
  return { address: text.decode(f[0]!), revision, writer: text.decode(f[2]!), timestamp, ttl, value: f[5]! };
}

/** The internal session's peer: frames the router sends it (WELCOME, ACKs) are dropped. */
class SinkPeer implements HostPeer {
  constructor(readonly onClose: () => void) {}
  send(): void {}
  close(): void {
    this.onClose();
  }
}

/**
 * One relay's membership of a cluster. {@link RelayCluster.connect} it, {@link restore} the
 * params into the router before the relay listens, {@link bind} it to the relay's host, and
 * {@link close} it after the host stopped.
 */
export class RelayCluster {
  readonly relayId: string;
  /**
   * The token of the relay's internal session, which feeds forwarded frames to the router:
   * add it to the router's tokens when the relay is authenticated (it reads nothing).
   */
  readonly token = { token: `cluster-${crypto.randomUUID()}`, read: [] as string[] };
  readonly #cmd;
  readonly #sub;
  readonly #prefix: string;
  readonly #channel: string;
  readonly #leaseKey: string;
  readonly #leaseMs: number;
  readonly #stateTtl: number;
  readonly #log: (message: string) => void;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  /** Frame messages start with this: "F", then our relay id as a netstring. */
  readonly #framePrefix: Uint8Array;
  #setSha = "";
  #unlockSha = "";
  #host: RouterHost | undefined;
  /** Channel messages that arrived before {@link bind}. */
  #early: Buffer[] = [];
  /** The internal session's connection (0: none). */
  #conn = 0;
  /** Addresses each session of this relay may hold locked (released when it ends). */
  readonly #locks = new Map<string, Set<string>>();
  /** Locks of ended sessions whose release failed (Redis was down), released on reconnection. */
  readonly #unreleased = new Map<string, Set<string>>();
  #down = false;
  #closed = false;
  /** Whether {@link connect} completed (from then on, reconnection never gives up). */
  #joined = false;
  /** Frames forwarded to and received from other relays, commits read from the channel, and failures (Redis unreachable, malformed messages). */
  readonly counts = { forwarded: 0, received: 0, commits: 0, failures: 0 };

  private constructor(url: string, options: ClusterOptions) {
    this.relayId = options.relayId ?? crypto.randomUUID();
    this.#prefix = options.prefix ?? "clawft:cluster:";
    this.#channel = `${this.#prefix}commits`;
    this.#leaseKey = `${this.#prefix}relay:${this.relayId}`;
    this.#leaseMs = options.leaseMs ?? 5000;
    this.#stateTtl = options.stateTtl ?? 0;
    this.#log = options.log ?? ((m) => console.error(m));
    this.#framePrefix = new Uint8Array([FRAME, ...netstring(utf8.encode(this.relayId))]);
    // Commands fail at once while Redis is down (no offline queue that would hold a SET's
    // commit until Redis returns); reconnection is the client's own (backoff up to 2 s).
    // Joining gives up after a few attempts (a wrong URL should fail the start, not hang it).
    const reconnectStrategy = (n: number, cause: Error) => (!this.#joined && n >= 3 ? cause : Math.min(50 * 2 ** n, 2000));
    const options_ = { url, disableOfflineQueue: true, socket: { reconnectStrategy } };
    this.#cmd = createClient(options_).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
    this.#sub = createClient(options_);
    for (const c of [this.#cmd, this.#sub] as const) {
      c.on("error", () => {
        if (this.#down || this.#closed) return;
        this.#down = true;
        this.#log(`relay cluster: Redis at ${url} unreachable; SETs are refused (501) until it is back`);
      });
    }
    // Every reconnection after the first: read all params again (commits made meanwhile).
    let first = true;
    this.#sub.on("ready", () => {
      if (first) return void (first = false);
      if (this.#closed) return;
      this.#down = false;
      this.#log(`relay cluster: Redis back; reading all params again`);
      void this.#resync();
    });
    this.#heartbeat = setInterval(() => void this.#renewLease(), options.heartbeatMs ?? 1000);
    this.#heartbeat.unref();
  }

  /**
   * Connects to the cluster's Redis: two connections (commands, and the channel), the Lua
   * scripts loaded, this relay's lease taken, the channel subscribed.
   * @param url `redis://HOST:PORT` (or `rediss://`)
   * @throws ClusterError when the URL is not a Redis URL or Redis does not answer
   */
  static async connect(url: string, options: ClusterOptions = {}): Promise<RelayCluster> {
    if (!/^rediss?:\/\/[^/]/.test(url)) throw new ClusterError(`cluster must be a redis:// URL, got ${JSON.stringify(url)}`);
    const cluster = new RelayCluster(url, options);
    try {
      await Promise.all([cluster.#cmd.connect(), cluster.#sub.connect()]);
      await cluster.#loadScripts();
      await cluster.#renewLease();
      await cluster.#sub.subscribe(cluster.#channel, (message: Buffer) => cluster.#onMessage(message), true);
      cluster.#joined = true;
    } catch (err) {
      await cluster.close().catch(() => {});
      throw new ClusterError(`cannot join the cluster at ${url}: ${(err as Error).message}`);
    }
    return cluster;
  }

  async #loadScripts(): Promise<void> {
    this.#setSha = String(await this.#cmd.sendCommand(["SCRIPT", "LOAD", SET_SCRIPT]));
    this.#unlockSha = String(await this.#cmd.sendCommand(["SCRIPT", "LOAD", UNLOCK_SCRIPT]));
  }

  /** EVALSHA, loading the scripts again when Redis lost them (it restarted). */
  async #eval(sha: () => string, keys: string[], args: Array<string | Buffer>): Promise<unknown> {
    const run = () => this.#cmd.sendCommand(["EVALSHA", sha(), String(keys.length), ...keys, ...args]);
    try {
      return await run();
    } catch (err) {
      if (!String((err as Error).message).startsWith("NOSCRIPT")) throw err;
      await this.#loadScripts();
      return run();
    }
  }

  async #renewLease(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#cmd.sendCommand(["SET", this.#leaseKey, "1", "PX", String(this.#leaseMs)]);
    } catch {
      // Redis is down: the 'error' listener has said so; the next beat tries again.
    }
  }

  #paramKey(address: string): string {
    return `${this.#prefix}p:${address}`;
  }

  /**
   * Reads every param from Redis into `router` (call it before the relay listens). Params the
   * router already holds at the same or a newer revision are left as they are.
   */
  async restore(router: MiniRouter): Promise<RestoreReport> {
    return this.#readAll((commit) => {
      router.commitParam(commit.address, commit);
    });
  }

  /** Reads all params again after a reconnection and applies the ones this relay missed. */
  async #resync(): Promise<void> {
    const unreleased = [...this.#unreleased];
    this.#unreleased.clear();
    for (const [session, addresses] of unreleased) {
      this.#locks.set(session, addresses);
      this.#release(session);
    }
    try {
      await this.#readAll((commit) => this.#apply(commit));
    } catch (err) {
      // The command connection may come back later than the channel's: try again shortly.
      if (this.#closed) return;
      this.#log(`relay cluster: reading params after reconnecting failed (${(err as Error).message}); retrying in 0.5 s`);
      setTimeout(() => void this.#resync(), 500).unref();
    }
  }

  async #readAll(apply: (commit: Commit) => void): Promise<RestoreReport> {
    const report: RestoreReport = { restored: 0, refused: 0, unreadable: 0 };
    const match = `${this.#prefix.replace(/[*?[\]\\]/g, "\\$&")}p:*`;
    const skip = this.#prefix.length + 2;
    for await (const batch of this.#cmd.scanIterator({ MATCH: match, COUNT: 500 })) {
      const rows = await Promise.all(batch.map((k) => this.#cmd.sendCommand(["HMGET", k, "rev", "val", "writer", "ts", "ttl"]) as Promise<Array<Buffer | null>>));
      for (let i = 0; i < batch.length; i++) {
        const [rev, val, writer, ts, ttl] = rows[i]!;
        const commit: Commit | undefined =
          rev && val && writer && ts
            ? { address: String(batch[i]).slice(skip), revision: int(rev), writer: writer.toString(), timestamp: int(ts), ttl: ttl ? int(ttl) : undefined, value: val }
            : undefined;
        if (!commit || !Number.isSafeInteger(commit.revision) || !Number.isSafeInteger(commit.timestamp) || Number.isNaN(commit.ttl)) {
          report.unreadable++;
          continue;
        }
        try {
          apply(commit);
          report.restored++;
        } catch {
          report.refused++;
        }
      }
    }
    return report;
  }

  /**
   * Joins the relay's host: SETs go to Redis, PUBLISHes are forwarded, ended sessions release
   * their locks, and frames from the other relays reach the router. Channel messages that
   * arrived since {@link connect} are applied now.
   */
  bind(host: RouterHost): void {
    this.#host = host;
    host.interceptSet(["/**"], (set) => this.#commit(set));
    host.observe({
      routed: (conn, frame, accepted) => accepted && this.#forward(conn, frame),
      sessionEnded: (session) => this.#release(session),
    });
    this.#openSession();
    const early = this.#early;
    this.#early = [];
    for (const m of early) this.#onMessage(m);
  }

  /** Opens the internal session that feeds forwarded frames to the router (again if it was closed). */
  #openSession(): void {
    const host = this.#host;
    if (!host || this.#closed) return;
    this.#conn = host.attach(
      new SinkPeer(() => {
        // Closed by the router (idle timeout): detach, and open a new one.
        const conn = this.#conn;
        this.#conn = 0;
        queueMicrotask(() => {
          host.detach(conn);
          this.#openSession();
        });
      }),
    );
    if (this.#conn === 0) {
      this.#log("relay cluster: the router is full; frames from other relays cannot be delivered until a session ends");
      setTimeout(() => this.#openSession(), 1000).unref();
      return;
    }
    host.receive(this.#conn, encode({ type: "HELLO", version: 1, name: `cluster ${this.relayId}`, features: ["param", "event", "stream", "gesture", "timeline"], token: this.token.token }));
  }

  /** The SET interceptor: one atomic commit in Redis, applied here at once. */
  async #commit(set: InterceptedSet): Promise<InterceptVerdict> {
    let value: Uint8Array;
    try {
      value = encodeValue(set.value);
    } catch (err) {
      return { action: "deny", code: INVALID_VALUE, message: (err as Error).message };
    }
    const holder = `${this.relayId} ${set.session}`;
    const timestamp = nowMicros();
    let reply: unknown;
    try {
      reply = await this.#eval(
        () => this.#setSha,
        [this.#paramKey(set.address), this.#channel],
        [
          Buffer.from(value.buffer, value.byteOffset, value.byteLength),
          set.revision === undefined ? "" : String(set.revision),
          holder,
          set.lock ? "1" : "0",
          set.unlock ? "1" : "0",
          set.ttl === undefined ? "" : String(set.ttl >>> 0),
          String(timestamp),
          set.address,
          `${this.#prefix}relay:`,
          String(this.#stateTtl),
          set.session,
        ],
      );
    } catch (err) {
      this.counts.failures++;
      return { action: "deny", code: SERVICE_UNAVAILABLE, message: `cluster store unreachable: ${(err as Error).message}` };
    }
    const [code, detail, ttlWord] = reply as [number, number | Buffer, Buffer | undefined];
    if (code === REVISION_CONFLICT) return { action: "deny", code, message: `revision conflict: expected ${set.revision}, current ${detail}` };
    if (code === LOCK_HELD) return { action: "deny", code, message: `locked by ${String(detail)}` };
    const revision = Number(detail);
    if (set.lock) this.#held(set.session).add(set.address);
    else if (set.unlock) this.#locks.get(set.session)?.delete(set.address);
    const ttl = ttlWord?.length ? int(ttlWord) : undefined;
    this.#apply({ address: set.address, revision, writer: set.session, timestamp, ttl, value });
    return { action: "consume", revision };
  }

  #held(session: string): Set<string> {
    let s = this.#locks.get(session);
    if (!s) this.#locks.set(session, (s = new Set()));
    return s;
  }

  /** Releases the locks an ended session may hold. */
  #release(session: string): void {
    const addresses = this.#locks.get(session);
    if (!addresses) return;
    this.#locks.delete(session);
    if (this.#closed || addresses.size === 0) return; // close() ends the lease: its locks are free then
    const keys = [...addresses].map((a) => this.#paramKey(a));
    this.#eval(() => this.#unlockSha, keys, [`${this.relayId} ${session}`]).catch(() => {
      // Redis is down: release them when it is back (#resync), or they would stay held for
      // as long as this relay's lease lives.
      this.counts.failures++;
      this.#unreleased.set(session, addresses);
    });
  }

  /** Applies a commit to the bound host's router and delivers it (stale commits change nothing). */
  #apply(commit: Commit): void {
    const host = this.#host!;
    host.apply(host.router.commitParam(commit.address, commit), 0);
  }

  /**
   * The host observer: forwards the PUBLISHes (and BUNDLEs, whose SETs the host refused
   * before the router saw them) that the router accepted, as received.
   */
  #forward(conn: number, frame: Uint8Array): void {
    if (conn === this.#conn || this.#closed) return;
    const type = frameType(frame);
    if (type !== PUBLISH && type !== BUNDLE) return;
    const out = Buffer.allocUnsafe(this.#framePrefix.length + frame.length);
    out.set(this.#framePrefix);
    out.set(frame, this.#framePrefix.length);
    this.counts.forwarded++;
    this.#cmd.sendCommand(["PUBLISH", this.#channel, out]).catch(() => {
      this.counts.failures++;
    });
  }

  /** A message on the cluster channel. */
  #onMessage(message: Buffer): void {
    if (!this.#host) return void this.#early.push(message);
    const bytes = new Uint8Array(message.buffer, message.byteOffset, message.byteLength);
    if (bytes[0] === COMMIT) {
      const commit = readCommit(bytes);
      if (!commit) return void this.counts.failures++;
      this.counts.commits++;
      try {
        this.#apply(commit);
      } catch {
        this.counts.failures++;
      }
      return;
    }
    if (bytes[0] !== FRAME) return void this.counts.failures++;
    const p = this.#framePrefix;
    // Our own frames come back too: the router has already delivered them here.
    let own = bytes.length > p.length;
    for (let i = 0; own && i < p.length; i++) own = bytes[i] === p[i];
    if (own || this.#conn === 0) return;
    const id = netstringAt(bytes, 1);
    if (!id) return void this.counts.failures++;
    this.counts.received++;
    this.#host.receive(this.#conn, bytes.subarray(id[1]));
  }

  /**
   * Leaves the cluster: stops the lease (the locks of this relay's sessions are free at once)
   * and closes both connections. Call it after the host stopped. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    if (this.#cmd.isReady) await this.#cmd.sendCommand(["DEL", this.#leaseKey]).catch(() => {});
    await Promise.all(
      [this.#sub, this.#cmd].map(async (c) => {
        if (c.isOpen) await c.close().catch(() => c.destroy());
        else c.destroy();
      }),
    );
  }
}

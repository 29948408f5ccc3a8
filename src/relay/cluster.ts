/**
 * A relay cluster over Redis: N relay processes behind one Redis act as one CLASP router
 * (docs/relay.md §Cluster). Redis holds every param and is its authority; each relay's wasm
 * MiniRouter keeps a full copy and does its own matching and delivery.
 *
 * - The relay is its host's SET store (`RouterHost.useStore`): governance interceptors (a CLP
 *   contract) decide first on the relay that received the SET; what they pass is committed
 *   here, and their own writes (`applySet`) too.
 * - A SET is committed by a Lua script (atomic in Redis): lock check, revision check, the new
 *   revision, the stored param, its expiry, and the commit's PUBLISH on the cluster channel.
 *   The relay that ran it applies the commit to its router (SET to its subscribers, then ACK
 *   {revision}); the others apply it from the channel. A router applies a commit only when it
 *   is newer than what it holds (`MiniRouter.commitParam`), so late or repeated commits change
 *   nothing and every relay ends on Redis's revision.
 * - The SETs that arrive in one turn of the event loop (across sessions) are one run of the
 *   script, each with its own answer, sent without waiting for the runs before it on the one
 *   command connection (Redis runs them in the order sent): neither a session nor the relay
 *   waits a round trip per SET, and the host answers each session in its order.
 * - The SETs of a BUNDLE are one group of such a run: every SET is checked against the state
 *   the earlier ones leave, then all are written, or none; one channel message carries them
 *   all, with the bundle's PUBLISHes, so every relay applies the bundle in one step.
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
import { encode, encodeValue, type ClaspValue } from "../clasp/index.js";
import type { InterceptedSet } from "../clasp/governance.js";
import { nowMicros, type MiniRouter } from "../clasp/router.js";
import { frameType, type HostPeer, type RouterHost, type SetStore, type StoreVerdict } from "./host.js";
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
const INTERNAL_ERROR = 500;
const SERVICE_UNAVAILABLE = 501;

/** Frame payload type codes (clasp-wire.md §3). */
const PUBLISH = 0x20;
const BUNDLE = 0x30;

/** Kinds of cluster channel messages: a committed param, a committed BUNDLE, a forwarded frame. */
const COMMIT = 0x53; // "S"
const COMMIT_BUNDLE = 0x42; // "B"
const FRAME = 0x46; // "F"

/** Largest address + value of a param, bytes: a param must fit a SNAPSHOT frame (docs/router.md, SET). */
const MAX_PARAM_BYTES = 65_455;

/**
 * Commits a batch of groups, in order, atomically in Redis: each group is one SET, the SETs of
 * one BUNDLE (all or nothing), or a governance layer's write. KEYS[1] the channel, then the
 * hashes of the groups' params, group after group. ARGV[1] lease key prefix, [2] default TTL
 * s, then per group 7 fields: holder ("<relay> <session>"), writer, timestamp µs, "1": no lock
 * or revision check (the governance layer's write), a BUNDLE frame of the bundle's PUBLISHes
 * ("" none), the channel message's kind ("S": one SET, or "B"), the SET count n; then 6 per
 * SET: address, value, expected revision ("" none), lock "1", unlock "1", TTL word ("" none).
 * Phase 1 of a group checks each SET against the state the earlier ones (and the groups
 * committed before it) leave, as the router checks a BUNDLE (docs/router.md); the group's
 * answer is {401, i, holder session} or {400, i, current revision} for its first failing SET
 * i, or {500, i, message} when its key in Redis is not a hash, and then the group writes
 * nothing (the other groups are not affected). Phase 2 writes every SET of the group (revision,
 * value, writer, timestamp, TTL word in effect: a SET without one keeps the last one, lock,
 * expiry) and publishes one message: "S" then netstrings (`<length>:<bytes>`) address,
 * revision, writer, timestamp, TTL word ("" none), value; or "B" then the committing relay's
 * id, the count, those 6 per SET, and the PUBLISHes. The group's answer is {0, revision 1,
 * TTL word 1, revision 2, …}. Returns the answers, one per group.
 */
const COMMIT_SCRIPT = `
local state = {}
local function current(key)
  local s = state[key]
  if not s then
    local cur = redis.pcall('HMGET', key, 'rev', 'lock', 'ttl')
    if cur.err then return nil end
    local holder = cur[2]
    if holder then
      local sp = string.find(holder, ' ', 1, true)
      if not sp or redis.call('EXISTS', ARGV[1] .. string.sub(holder, 1, sp - 1)) == 0 then holder = false end
    end
    s = {rev = tonumber(cur[1]) or 0, holder = holder or false, ttl = cur[3] or ''}
    state[key] = s
  end
  return {rev = s.rev, holder = s.holder, ttl = s.ttl}
end
local function ns(x) return #x .. ':' .. x end
local answers = {}
local at, k = 3, 2
while at <= #ARGV do
  local me, writer, ts, force, kind, n = ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3] == '1', ARGV[at + 5], tonumber(ARGV[at + 6])
  local pubs, first = ARGV[at + 4], at + 7
  local scratch, revs, ttls, holders = {}, {}, {}, {}
  local failed = false
  for i = 1, n do
    local key, b = KEYS[k + i - 1], first + (i - 1) * 6
    local s = scratch[key]
    if not s then
      s = current(key)
      if not s then
        failed = {500, i, 'the param key in Redis is not a hash'}
        break
      end
      scratch[key] = s
    end
    if not force then
      if s.holder and s.holder ~= me then
        failed = {401, i, string.sub(s.holder, string.find(s.holder, ' ', 1, true) + 1)}
        break
      end
      if s.rev > 0 and ARGV[b + 2] ~= '' and tonumber(ARGV[b + 2]) ~= s.rev then
        failed = {400, i, s.rev}
        break
      end
      if ARGV[b + 4] == '1' and s.holder == me then s.holder = false end
      if ARGV[b + 3] == '1' then s.holder = me end
    end
    s.rev = s.rev + 1
    if ARGV[b + 5] ~= '' then s.ttl = ARGV[b + 5] end
    revs[i], ttls[i], holders[i] = s.rev, s.ttl, s.holder
  end
  if failed then
    answers[#answers + 1] = failed
  else
    for key, s in pairs(scratch) do state[key] = s end
    local out, answer = {}, {0}
    for i = 1, n do
      local key, b, ttl = KEYS[k + i - 1], first + (i - 1) * 6, ttls[i]
      redis.call('HSET', key, 'rev', revs[i], 'val', ARGV[b + 1], 'writer', writer, 'ts', ts)
      if ttl ~= '' then redis.call('HSET', key, 'ttl', ttl) end
      if holders[i] then redis.call('HSET', key, 'lock', holders[i]) else redis.call('HDEL', key, 'lock') end
      local seconds = tonumber(ttl ~= '' and ttl or ARGV[2])
      local expiry = 0
      if ttl ~= '' and seconds >= 2147483648 then
        expiry = (seconds - 2147483648) * 1000
      elseif seconds > 0 then
        expiry = math.floor(tonumber(ts) / 1000) + seconds * 1000
      end
      if expiry > 0 then redis.call('PEXPIREAT', key, string.format('%d', expiry)) else redis.call('PERSIST', key) end
      out[i] = ns(ARGV[b]) .. ns(tostring(revs[i])) .. ns(writer) .. ns(ts) .. ns(ttl) .. ns(ARGV[b + 1])
      answer[2 * i] = revs[i]
      answer[2 * i + 1] = ttl
    end
    if kind == 'S' then
      redis.call('PUBLISH', KEYS[1], 'S' .. out[1])
    else
      redis.call('PUBLISH', KEYS[1], 'B' .. ns(string.sub(me, 1, string.find(me, ' ', 1, true) - 1)) .. ns(tostring(n)) .. table.concat(out) .. ns(pubs))
    end
    answers[#answers + 1] = answer
  end
  at, k = first + n * 6, k + n
end
return answers
`;

/** Most groups (SETs, BUNDLEs) in one run of the commit script: Redis runs nothing else meanwhile. */
const MAX_BATCH = 128;

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

/** Reads `count` netstrings from `at` into `out`; returns where they end, or -1 when malformed. */
function netstrings(bytes: Uint8Array, at: number, count: number, out: Uint8Array[]): number {
  for (let i = 0; i < count; i++) {
    const b = netstringAt(bytes, at);
    if (!b) return -1;
    out.push(bytes.subarray(b[0], b[1]));
    at = b[1];
  }
  return at;
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

/** A commit from its 6 fields (address, revision, writer, timestamp, TTL word, value); undefined when malformed. */
function commitOf(f: Uint8Array[]): Commit | undefined {
  const revision = int(f[1]!), timestamp = int(f[3]!), ttl = f[4]!.length ? int(f[4]!) : undefined;
  if (!Number.isSafeInteger(revision) || !Number.isSafeInteger(timestamp) || Number.isNaN(ttl)) return undefined;
  return { address: text.decode(f[0]!), revision, writer: text.decode(f[2]!), timestamp, ttl, value: f[5]! };
}

/** Largest count of SETs a "B" message may announce (a BUNDLE frame holds at most 64 KB). */
const MAX_BUNDLE_SETS = 65_536;

/**
 * Parses a commit message: "S" and one commit, or "B", the committing relay's id, the count,
 * that many commits and the BUNDLE of PUBLISHes (empty: none). Undefined when malformed.
 */
function readCommits(bytes: Uint8Array): { origin: string; commits: Commit[]; publishes: Uint8Array | undefined } | undefined {
  let count = 1;
  let at = 1;
  let origin = "";
  if (bytes[0] === COMMIT_BUNDLE) {
    const o = netstringAt(bytes, 1);
    if (!o) return undefined;
    origin = text.decode(bytes.subarray(o[0], o[1]));
    const c = netstringAt(bytes, o[1]);
    if (!c) return undefined;
    count = int(bytes.subarray(c[0], c[1]));
    if (!(count >= 1 && count <= MAX_BUNDLE_SETS)) return undefined;
    at = c[1];
  }
  const f: Uint8Array[] = [];
  at = netstrings(bytes, at, 6 * count + (bytes[0] === COMMIT_BUNDLE ? 1 : 0), f);
  if (at !== bytes.length) return undefined;
  const commits: Commit[] = [];
  for (let i = 0; i < count; i++) {
    const c = commitOf(f.slice(6 * i, 6 * i + 6));
    if (!c) return undefined;
    commits.push(c);
  }
  const publishes = f[6 * count];
  return { origin, commits, publishes: publishes?.length ? publishes : undefined };
}

/** One group of a batch of commits: one session's SET or BUNDLE, or a governance layer's write. */
interface Group {
  sets: InterceptedSet[];
  /** The SETs' values, tagged CLASP values. */
  values: Uint8Array[];
  /** A BUNDLE frame of the bundle's PUBLISHes, if any. */
  publishes: Uint8Array | undefined;
  /** No lock or revision check (the governance layer's write). */
  force: boolean;
  /** µs since the epoch: the commit's timestamp. */
  timestamp: number;
  resolve: (verdict: StoreVerdict) => void;
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
export class RelayCluster implements SetStore {
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
  #commitSha = "";
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
  /**
   * Frames forwarded to and received from other relays, commits read from the channel,
   * failures (Redis unreachable, malformed messages), and the most SET commits (groups: a SET
   * or a BUNDLE) this relay had in flight at once (batched and pipelined to Redis).
   */
  readonly counts = { forwarded: 0, received: 0, commits: 0, failures: 0, peakInFlight: 0 };
  /** Groups (SETs, BUNDLEs) queued or sent and not answered yet. */
  #inFlight = 0;
  /** Groups queued for the next run of the commit script. */
  #batch: Group[] = [];
  /** Commit scripts in flight per session, and the sessions that ended with some in flight (see {@link #settled}). */
  readonly #pending = new Map<string, number>();
  readonly #endedPending = new Set<string>();

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
    this.#commitSha = String(await this.#cmd.sendCommand(["SCRIPT", "LOAD", COMMIT_SCRIPT]));
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
      // A key that is not a hash (WRONGTYPE) is unreadable, not a reason to fail the start.
      const rows = await Promise.all(
        batch.map((k) => (this.#cmd.sendCommand(["HMGET", k, "rev", "val", "writer", "ts", "ttl"]) as Promise<Array<Buffer | null>>).catch((err: Error) => (err.message.startsWith("WRONGTYPE") ? [] : Promise.reject(err)))),
      );
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
   * Joins the relay's host: it becomes the host's SET store (SETs, BUNDLEs of SETs and a
   * governance layer's writes go to Redis), PUBLISHes are forwarded, ended sessions release
   * their locks, and frames from the other relays reach the router. Channel messages that
   * arrived since {@link connect} are applied now.
   */
  bind(host: RouterHost): void {
    this.#host = host;
    host.useStore(this);
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

  /** Commits one SET in Redis (see {@link SetStore.commitSet}); `apply` delivers it here. */
  commitSet(set: InterceptedSet): Promise<StoreVerdict> {
    return this.#commit([set], undefined, false);
  }

  /**
   * Commits the SETs of one BUNDLE in Redis, all or nothing, and hands `publishes` (a BUNDLE
   * of its PUBLISHes) to the other relays in the same channel message (see
   * {@link SetStore.commitBundle}).
   */
  commitBundle(sets: InterceptedSet[], publishes: Uint8Array | undefined): Promise<StoreVerdict> {
    return this.#commit(sets, publishes, false);
  }

  /**
   * A governance layer's write (`RouterHost.applySet`): committed in Redis without a lock or
   * revision check (a lock stays with its holder), the writer is this relay's id, applied here.
   * @throws ClusterError (the promise rejects) when the value is not a valid param or Redis is unreachable
   */
  async hostSet(address: string, value: ClaspValue): Promise<number> {
    const v = await this.#commit([{ address, value, session: this.relayId }], undefined, true);
    if (v.action === "deny") throw new ClusterError(`${address} not committed: ${v.message}`);
    v.apply();
    return v.revision;
  }

  /**
   * Queues the commit of `sets` (one session's: one SET, or a BUNDLE's) as one group of the
   * next batch: the groups queued in one turn of the event loop (across sessions) go to Redis
   * together in one run of the commit script, sent without waiting for the batches before it
   * (Redis runs them in the order sent). `force`: no lock or revision check.
   */
  #commit(sets: InterceptedSet[], publishes: Uint8Array | undefined, force: boolean): Promise<StoreVerdict> {
    const values: Uint8Array[] = [];
    for (const set of sets) {
      let value: Uint8Array;
      try {
        value = encodeValue(set.value);
      } catch (err) {
        return Promise.resolve({ action: "deny", code: INVALID_VALUE, message: (err as Error).message, address: set.address });
      }
      // Refused here, not after Redis committed it: no router could hold it.
      const size = utf8.encode(set.address).length + value.length;
      if (size > MAX_PARAM_BYTES) return Promise.resolve({ action: "deny", code: INVALID_VALUE, message: `value at ${set.address} is too large for a param (${size} bytes)`, address: set.address });
      values.push(value);
    }
    const session = sets[0]!.session;
    this.#pending.set(session, (this.#pending.get(session) ?? 0) + 1);
    if (++this.#inFlight > this.counts.peakInFlight) this.counts.peakInFlight = this.#inFlight;
    return new Promise((resolve) => {
      this.#batch.push({ sets, values, publishes, force, timestamp: nowMicros(), resolve });
      if (this.#batch.length === 1) setImmediate(() => void this.#flush());
    });
  }

  /** Sends the queued groups (at most {@link MAX_BATCH} per run of the script) and answers each. */
  async #flush(): Promise<void> {
    const batch = this.#batch.splice(0, MAX_BATCH);
    if (this.#batch.length) setImmediate(() => void this.#flush());
    const keys = [this.#channel];
    const args: Array<string | Buffer> = [`${this.#prefix}relay:`, String(this.#stateTtl)];
    for (const g of batch) {
      const session = g.sets[0]!.session;
      const p = g.publishes;
      args.push(
        `${this.relayId} ${session}`,
        session,
        String(g.timestamp),
        g.force ? "1" : "",
        p ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : "",
        g.sets.length === 1 && !p ? "S" : "B",
        String(g.sets.length),
      );
      g.sets.forEach((set, i) => {
        const value = g.values[i]!;
        keys.push(this.#paramKey(set.address));
        args.push(
          set.address,
          Buffer.from(value.buffer, value.byteOffset, value.byteLength),
          g.force || set.revision === undefined ? "" : String(set.revision),
          set.lock && !g.force ? "1" : "",
          set.unlock && !g.force ? "1" : "",
          set.ttl === undefined ? "" : String(set.ttl >>> 0),
        );
      });
    }
    let answers: Array<Array<number | Buffer>>;
    try {
      answers = (await this.#eval(() => this.#commitSha, keys, args)) as Array<Array<number | Buffer>>;
    } catch (err) {
      this.counts.failures++;
      const message = `cluster store unreachable: ${(err as Error).message}`;
      answers = batch.map(() => [SERVICE_UNAVAILABLE, 0, message] as Array<number | Buffer>);
    }
    batch.forEach((g, i) => {
      this.#inFlight--;
      let verdict: StoreVerdict;
      try {
        verdict = this.#verdict(g, answers[i]!);
      } catch (err) {
        // An answer not of the script's shape: the group's sender must still get one.
        this.counts.failures++;
        verdict = { action: "deny", code: INTERNAL_ERROR, message: `cluster store: unexpected answer (${(err as Error).message})`, ...(g.sets.length === 1 ? { address: g.sets[0]!.address } : {}) };
      }
      g.resolve(verdict);
      this.#settled(g.sets[0]!.session);
    });
  }

  /** The verdict of one group from its answer (see {@link COMMIT_SCRIPT}; [501, 0, message] when Redis was unreachable). */
  #verdict(g: Group, answer: Array<number | Buffer>): StoreVerdict {
    const code = Number(answer[0]);
    if (code === SERVICE_UNAVAILABLE) return { action: "deny", code, message: String(answer[2]), ...(g.sets.length === 1 ? { address: g.sets[0]!.address } : {}) };
    if (code !== 0) {
      const set = g.sets[Number(answer[1]) - 1]!;
      const detail = answer[2]!;
      if (code === REVISION_CONFLICT) return { action: "deny", code, message: `revision conflict: expected ${set.revision}, current ${detail}`, address: set.address };
      if (code === INTERNAL_ERROR) return { action: "deny", code, message: `cluster store: ${String(detail)}`, address: set.address };
      return { action: "deny", code: LOCK_HELD, message: `locked by ${String(detail)}`, address: set.address };
    }
    const session = g.sets[0]!.session;
    const commits = g.sets.map((set, i): Commit => {
      const ttlWord = answer[2 + 2 * i] as Buffer | undefined;
      if (set.lock && !g.force) this.#held(session).add(set.address);
      else if (set.unlock && !g.force) this.#locks.get(session)?.delete(set.address);
      return { address: set.address, revision: Number(answer[1 + 2 * i]), writer: session, timestamp: g.timestamp, ttl: ttlWord?.length ? int(ttlWord) : undefined, value: g.values[i]! };
    });
    return { action: "commit", revision: commits[commits.length - 1]!.revision, apply: () => commits.forEach((c) => this.#apply(c)) };
  }

  /**
   * One commit of `session` was answered. A session that ended while commits were in flight
   * had its locks released then; a lock one of those commits took is released now, or it
   * would stay held for as long as this relay's lease lives.
   */
  #settled(session: string): void {
    const n = this.#pending.get(session)! - 1;
    if (n > 0) return void this.#pending.set(session, n);
    this.#pending.delete(session);
    if (this.#endedPending.delete(session)) this.#release(session);
  }

  #held(session: string): Set<string> {
    let s = this.#locks.get(session);
    if (!s) this.#locks.set(session, (s = new Set()));
    return s;
  }

  /** Releases the locks an ended session may hold. */
  #release(session: string): void {
    if (this.#pending.has(session)) this.#endedPending.add(session);
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
   * The host observer: forwards the PUBLISHes and the BUNDLEs (of PUBLISHes only: the host
   * gives those with SETs to {@link commitBundle}) that the router accepted, as received.
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
    if (bytes[0] === COMMIT || bytes[0] === COMMIT_BUNDLE) {
      const m = readCommits(bytes);
      if (!m) return void this.counts.failures++;
      // A BUNDLE's SETs, then its PUBLISHes, in one turn: no other frame comes between them.
      for (const commit of m.commits) {
        this.counts.commits++;
        try {
          this.#apply(commit);
        } catch {
          this.counts.failures++;
        }
      }
      // The committing relay routed the PUBLISHes itself, from its sender's session.
      if (m.publishes && this.#conn !== 0 && m.origin !== this.relayId) {
        this.counts.received++;
        this.#host.receive(this.#conn, m.publishes);
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

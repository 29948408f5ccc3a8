/**
 * Carries out a MiniRouter's steps for a set of transport peers: the part of a relay that
 * does not depend on the transport, shared by the Node relay (WebSocket) and the in-browser
 * hub (MessagePort / BroadcastChannel). Platform-neutral.
 *
 * For each step: every frame becomes one shared view (never re-encoded per subscriber) and
 * is handed to each peer a delivery names; `close` events close their peer after its frames;
 * `state` events go to the persister; the rest feed the metrics. Ticks run at the time the
 * router asks for, at least once a second.
 *
 * Durable acknowledgements: when a SET (or a BUNDLE) with confirm or commit QoS changes
 * state and the persister has a `commit` over a storage that is not volatile (memory), the
 * replies of that step to its sender (the ACK) are held until the persister's commit of those
 * changes resolves, and every later frame to that connection waits behind them, so its order
 * is kept. When the commit fails, the sender gets
 * ERROR 500 in place of each held ACK. Other peers get their frames at once; fire-QoS SETs
 * stay write-behind (docs/relay.md §Storage).
 * @module
 */
import { codec, type ClaspValue, type Message } from "../clasp/index.js";
import type { GovernableRouter, InterceptVerdict, InterceptedSet, SetInterceptor } from "../clasp/governance.js";
import type { MiniRouter, RouterStep } from "../clasp/router.js";
import { messageTypeName, type RelayMetrics } from "./metrics.js";
import type { StatePersister } from "./persist.js";

/** One transport connection as the host sees it. */
export interface HostPeer {
  /**
   * Sends one frame. `droppable` marks a fire-QoS frame that is not a reply to this peer's
   * own request: a peer that cannot keep up may drop it (and report it).
   */
  send(frame: Uint8Array, droppable: boolean): void;
  /** Closes the connection once the frames already sent are flushed; `code` is the CLASP code (0: none). */
  close(code: number): void;
}

/** What a {@link RouterHost} tells an observer (a relay cluster forwarding to other relays). */
export interface HostObserver {
  /**
   * A frame `conn` sent was carried out by the router (after interceptors, in each session's
   * order); `accepted` is false when the router answered it with an ERROR (no HELLO yet, out
   * of scope, malformed).
   */
  routed?(conn: number, frame: Uint8Array, accepted: boolean): void;
  /** A session ended (its connection closed, it timed out, or a second HELLO replaced it). */
  sessionEnded?(session: string): void;
}

/**
 * A store's answer about SETs it was given: `commit` (committed; `apply` carries the commit out
 * on this host's router, `revision` goes into the ACK) or `deny` (nothing committed: ERROR
 * {code, message, address} to the sender).
 */
export type StoreVerdict = { action: "commit"; revision: number; apply: () => void } | { action: "deny"; code: number; message: string; address?: string };

/**
 * Where a host's SETs are committed in place of its router alone: a relay cluster's shared
 * store (src/relay/cluster.ts, docs/relay.md §Cluster). Governance interceptors decide first;
 * the SETs they pass (and all others in the sender's write scope) go to the store.
 */
export interface SetStore {
  /**
   * Commits one SET. Called in the order SETs arrive (across sessions) without waiting for
   * earlier commits, so a store may pipeline them; the host carries out the verdicts in each
   * session's order (`apply`, then the ACK), also for a sender that left meanwhile.
   */
  commitSet(set: InterceptedSet): Promise<StoreVerdict>;
  /**
   * Commits the SETs of one BUNDLE all or nothing, each checked against the state the earlier
   * ones leave (docs/router.md, BUNDLE). `publishes` is a BUNDLE frame of the bundle's
   * PUBLISHes (undefined: none), which the store hands to other relays with the commits; the
   * host routes it here after `apply`. The commit revision is the last SET's.
   */
  commitBundle(sets: InterceptedSet[], publishes: Uint8Array | undefined): Promise<StoreVerdict>;
  /** Writes `value` at `address` for the governance layer (no lock or revision check) and applies it here; resolves the revision. */
  hostSet(address: string, value: ClaspValue): Promise<number>;
}

/** Options of a {@link RouterHost}. */
export interface RouterHostOptions {
  /**
   * Where param changes are persisted: a write-behind {@link StatePersister}, or anything that
   * takes each change synchronously (the Cloudflare room writes it to its object's storage in
   * the step itself). With a `commit` (the StatePersister's), replies to confirm/commit-QoS
   * SETs wait for it (durable acknowledgements). Defaults to none (state lives in memory only).
   */
  persister?: Pick<StatePersister, "put"> & Partial<Pick<StatePersister, "commit" | "volatile">>;
  /** Metric hooks. Defaults to none. */
  metrics?: RelayMetrics;
  /**
   * Turns a frame into what the peers' sockets send, once per frame (the relay makes a Node
   * Buffer view, so `ws` need not wrap it again for every recipient). Defaults to the frame.
   */
  wrapFrame?: (frame: Uint8Array) => Uint8Array;
  /**
   * Whether ticks run at least once a second while nothing else asks for one (TTLs, idle
   * sessions, the core's garbage collection). Defaults to true. A host that must go quiet when
   * idle (a Cloudflare room, so that its object can hibernate) sets false and calls
   * {@link RouterHost.tick} when it next gets an event; ticks for what the router holds back
   * (SUBSCRIBE maxRate/window changes, gesture moves) still run on their own, however far ahead.
   */
  idleTicks?: boolean;
}

/**
 * The WebSocket close code (RFC 6455 §7.4.1) and reason for a CLASP close code of a router
 * `close` event (codes: clasp-wire.md "Error codes"): 300/302 (unauthorized, token expired) →
 * 1008, 501 (service unavailable: too many sessions) → 1013, 0 (idle past `sessionTimeout`)
 * and anything else → 1000. Used by every transport that closes peers (the relay's
 * WebSockets, the hub's ports and channel).
 * @returns [close code, reason]
 */
export function wsClose(code: number): [number, string] {
  if (code === 300 || code === 302) return [1008, "unauthorized"];
  if (code === 501) return [1013, "too many sessions"];
  return [1000, code === 0 ? "idle" : `closed (${code})`];
}

/** Longest wait between ticks, ms: TTLs, idle sessions and garbage collection need them. */
const MAX_TICK_MS = 1000;
/** Messages after which a tick is run soon, so the core collects its garbage under load. */
const TICK_EVERY_MESSAGES = 4096;

/** CLASP codes of the governance replies (clasp-wire.md §4.2). */
const INVALID_VALUE = 402;
const INTERNAL_ERROR = 500;

/** Message type codes (clasp-wire.md §2): the first payload byte. */
const ACK_TYPE = 0x50;
const SET_TYPE = 0x21;
const BUNDLE_TYPE = 0x30;

/** A connection's pending work (interceptor verdicts, store commits), which its later frames wait behind. */
interface ConnQueue {
  /** The end of the chain: each item runs when the one before it finished. */
  tail: Promise<void>;
  /** Items in the chain. */
  size: number;
  /** Items that are not store commits already started: while there are any, a SET is not sent to the store early. */
  plain: number;
}

/** What the host does with a frame in place of the router: a store commit (started at once, carried out in order) or other work. */
type Takeover = { store: true; start: () => Promise<() => void> } | { store: false; run: () => Promise<void> | void };

/** A storage commit some frames wait for. */
interface Gate {
  state: "pending" | "ok" | "failed";
  error?: unknown;
}

/** What waits to go to a connection behind a pending gate, in order. */
type Held = { frame: Uint8Array; droppable: boolean; gate: Gate | undefined } | { close: number };

/** QoS of a frame from its flags byte (bits 7-6; clasp-wire.md §1); 0 for a frame too short to have one. */
function frameQos(frame: Uint8Array): number {
  return frame.length > 1 ? frame[1]! >> 6 : 0;
}

/** Message type code of a frame (the first payload byte, after a 4- or 12-byte header), or -1. */
export function frameType(frame: Uint8Array): number {
  if (frame.length < 5) return -1;
  const at = frame[1]! & 0x20 ? 12 : 4;
  return frame.length > at ? frame[at]! : -1;
}

/**
 * Runs a router for peers: connect, receive, disconnect, ticks. It is also the router a
 * governance layer binds to (`GovernableRouter`, src/clasp/governance.ts): SETs on governed
 * addresses go to its interceptors before the router sees them.
 */
export class RouterHost implements GovernableRouter {
  readonly router: MiniRouter;
  readonly #persister: (Pick<StatePersister, "put"> & Partial<Pick<StatePersister, "commit" | "volatile">>) | undefined;
  readonly #metrics: RelayMetrics;
  readonly #wrap: ((frame: Uint8Array) => Uint8Array) | undefined;
  readonly #idleTicks: boolean;
  /** Peers by connection handle. */
  readonly #peers: Array<HostPeer | undefined> = [];
  #connections = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #messages = 0;
  #stopped = false;
  /** Set while a step is carried out: the router reuses its step object, so no call into it may happen then. */
  #applying = false;
  /** Detaches requested during a step (a peer cut off for its queue), done right after it. */
  #detachLater: Array<[number, number]> = [];
  /** Governance interceptors, in registration order. */
  #interceptors: Array<{ patterns: readonly string[]; hook: SetInterceptor }> = [];
  /** Per connection with work pending (interceptor verdicts, store commits): the chain its frames wait on. */
  readonly #queues = new Map<number, ConnQueue>();
  /** Where SETs are committed in place of the router alone ({@link useStore}); none by default. */
  #store: SetStore | undefined;
  /** Session id per connection (from the router's session events). */
  readonly #sessions: Array<string | undefined> = [];
  /** Frames (and closes) of a connection held behind a durable commit, in order. */
  readonly #held = new Map<number, Held[]>();
  /** The gate the current step's replies to its sender wait for (set while a durable step is carried out). */
  #gate: Gate | undefined;
  /** Observers, in registration order. */
  #observers: HostObserver[] = [];

  constructor(router: MiniRouter, options: RouterHostOptions = {}) {
    this.router = router;
    this.#persister = options.persister;
    this.#metrics = options.metrics ?? {};
    this.#wrap = options.wrapFrame;
    this.#idleTicks = options.idleTicks ?? true;
    if (this.#idleTicks) this.#schedule(MAX_TICK_MS);
  }

  /** Open connections. */
  get connections(): number {
    return this.#connections;
  }

  /** The session id of `conn` once the router accepted its HELLO; undefined before (or for no such connection). */
  sessionOf(conn: number): string | undefined {
    return this.#sessions[conn];
  }

  /**
   * Attaches a new peer.
   * @returns its connection handle, or 0 when the router is full (close the peer with 1013)
   */
  attach(peer: HostPeer): number {
    const conn = this.#stopped ? 0 : this.router.connect();
    this.#metrics.connect?.(conn === 0);
    if (conn === 0) return 0;
    this.#peers[conn] = peer;
    this.#connections++;
    return conn;
  }

  /**
   * Hands the router one frame `conn` sent (governed SETs go to the interceptors first, SETs
   * to the store when there is one), and carries out the step. While `conn` has a verdict or
   * store commit pending, its frames wait behind it; a SET behind store commits only is sent
   * to the store at once (pipelined), its answer still waits for its turn.
   */
  receive(conn: number, frame: Uint8Array): void {
    if (this.#stopped || !this.#peers[conn]) return;
    const q = this.#queues.get(conn);
    if (q && q.plain > 0) return this.#enqueue(conn, () => this.#handle(conn, frame), true);
    const t = this.#interceptors.length > 0 || this.#store ? this.#govern(conn, frame) : undefined;
    if (t?.store) {
      const started = t.start();
      return this.#enqueue(conn, async () => (await started)(), false);
    }
    if (q) return this.#enqueue(conn, () => (t ? t.run() : this.#route(conn, frame)), true);
    if (!t) return this.#route(conn, frame);
    const pending = t.run();
    if (pending) this.#enqueue(conn, () => pending, true);
  }

  /** Handles a frame whose turn came in its connection's queue. */
  #handle(conn: number, frame: Uint8Array): Promise<void> | void {
    const t = this.#interceptors.length > 0 || this.#store ? this.#govern(conn, frame) : undefined;
    if (!t) return this.#route(conn, frame);
    return t.store ? t.start().then((f) => f()) : t.run();
  }

  /** Appends `work` to `conn`'s queue; `plain` unless it is a store commit already started. */
  #enqueue(conn: number, work: () => Promise<void> | void, plain: boolean): void {
    let q = this.#queues.get(conn);
    if (!q) this.#queues.set(conn, (q = { tail: Promise.resolve(), size: 0, plain: 0 }));
    const queue = q;
    queue.size++;
    if (plain) queue.plain++;
    queue.tail = queue.tail
      .then(() => {
        if (plain) queue.plain--;
        // A store commit is carried out even when its sender left (the store committed it).
        if (plain && this.#queues.get(conn) !== queue) return;
        return work();
      })
      .catch(() => {}) // the work answers its own failures; one must not stop the queue
      .then(() => {
        if (--queue.size === 0 && this.#queues.get(conn) === queue) this.#queues.delete(conn);
      });
  }

  /**
   * Routes one frame through the router and carries out the step. `observed` is false for a
   * frame the host made on a store's behalf (the store forwarded it itself).
   */
  #route(conn: number, frame: Uint8Array, observed = true): void {
    const t0 = performance.now();
    const step = this.router.receive(conn, frame);
    const accepted = this.#observers.length === 0 || !step.events.some((e) => e.type === "error" && e.conn === conn);
    // A gesture move waits in the router until a tick flushes it (16 ms coalescing window).
    const due = step.due;
    const durable = this.#persister?.commit !== undefined && !this.#persister.volatile && frameQos(frame) >= 1 && step.events.some((e) => e.type === "state");
    if (durable) this.#gate = { state: "pending" };
    const gate = this.#gate;
    try {
      this.apply(step, conn);
    } finally {
      this.#gate = undefined;
    }
    if (gate) {
      this.#persister!.commit!().then(
        () => this.#open(conn, gate, "ok"),
        (err: unknown) => this.#open(conn, gate, "failed", err),
      );
    }
    this.#metrics.step?.((performance.now() - t0) / 1000);
    if (observed) for (const o of this.#observers) o.routed?.(conn, frame, accepted);
    if (due > 0) this.#schedule(Math.max(0, Math.ceil((due - (performance.timeOrigin + performance.now()) * 1000) / 1000)));
    if (++this.#messages >= TICK_EVERY_MESSAGES) {
      this.#messages = 0;
      this.#schedule(0);
    }
  }

  /** Detaches `conn` (its transport closed): its session, subscriptions and locks end. */
  detach(conn: number, seconds = 0): void {
    if (!this.#peers[conn]) return;
    if (this.#applying) return void this.#detachLater.push([conn, seconds]);
    this.#peers[conn] = undefined;
    this.#queues.delete(conn);
    this.#held.delete(conn);
    this.#sessions[conn] = undefined;
    this.#connections--;
    this.#metrics.disconnect?.(seconds);
    this.apply(this.router.disconnect(conn), 0);
  }

  /**
   * Carries out a step: deliveries, then events. `from` is the connection whose frame caused
   * it (0 for ticks): fire-QoS frames to other peers are droppable, replies to `from` are not.
   */
  apply(step: RouterStep, from: number): void {
    this.#applying = true;
    try {
      this.#carryOut(step, from);
    } finally {
      this.#applying = false;
    }
    while (this.#detachLater.length) {
      const [conn, seconds] = this.#detachLater.shift()!;
      this.detach(conn, seconds);
    }
  }

  #carryOut(step: RouterStep, from: number): void {
    const { frames, qos, deliveries, events } = step;
    const peers = this.#peers;
    const wrap = this.#wrap;
    if (wrap) for (let i = 0; i < frames.length; i++) frames[i] = wrap(frames[i]!);
    let bytes = 0;
    for (let i = 0; i < deliveries.length; i += 2) {
      const conn = deliveries[i]!;
      const index = deliveries[i + 1]!;
      const peer = peers[conn];
      if (!peer) continue;
      const frame = frames[index]!;
      bytes += frame.length;
      this.#send(conn, peer, frame, qos[index] === 0 && conn !== from, conn === from ? this.#gate : undefined);
    }
    const m = this.#metrics;
    if (deliveries.length) m.sent?.(deliveries.length >> 1, bytes);
    for (const ev of events) {
      switch (ev.type) {
        case "state":
          m.stateUpdate?.(ev.record === null);
          this.#persister?.put(ev.address, ev.record);
          break;
        case "close": {
          const held = this.#held.get(ev.conn);
          if (held) held.push({ close: ev.code });
          else peers[ev.conn]?.close(ev.code);
          break;
        }
        case "session":
          this.#sessions[ev.conn] = ev.session;
          break;
        case "session-end":
          for (const o of this.#observers) o.sessionEnded?.(ev.session);
          break;
        case "message":
          m.message?.(messageTypeName(ev.messageType), ev.bytes);
          break;
        case "fanout":
          m.fanout?.(ev.count);
          break;
        case "error":
          m.error?.("protocol", ev.code);
          break;
        default:
          break;
      }
    }
  }

  /**
   * Hands SETs whose address matches one of `patterns` to `hook` before the router applies
   * them (see GovernableRouter). Returns a function that removes the interceptor.
   * @throws ClaspPatternError when a pattern does not compile
   */
  interceptSet(patterns: readonly string[], hook: SetInterceptor): () => void {
    for (const p of patterns) codec.matchPattern(p, "/"); // compiles (and caches) it, or throws
    const entry = { patterns: [...patterns], hook };
    this.#interceptors.push(entry);
    return () => {
      this.#interceptors = this.#interceptors.filter((e) => e !== entry);
    };
  }

  /**
   * Adds an observer of routed frames and ended sessions. Returns a function that removes it.
   */
  observe(observer: HostObserver): () => void {
    this.#observers.push(observer);
    return () => {
      this.#observers = this.#observers.filter((o) => o !== observer);
    };
  }

  /**
   * Commits SETs in `store` from now on (a relay cluster): every SET in the sender's write
   * scope that no interceptor consumed or denied, the SETs of BUNDLEs (all or nothing), and
   * {@link applySet}. Call it once, before peers attach.
   */
  useStore(store: SetStore): void {
    this.#store = store;
  }

  /**
   * Writes `value` at `address` for the governance layer: no interception, lock or revision
   * check; the SET with its new revision goes to every matching subscriber (with a store, on
   * every relay of the cluster, once the store committed it: the revision is then a promise).
   * @returns the new revision
   * @throws RangeError when the value is too large for a param (with a store, the promise
   *   rejects with the store's error)
   */
  applySet(address: string, value: ClaspValue): number | Promise<number> {
    if (this.#store) {
      const revision = this.#store.hostSet(address, value);
      revision.catch(() => {}); // a caller that ignores the revision (a serial device's mirror) leaves no unhandled rejection
      return revision;
    }
    const step = this.router.hostSet(address, value);
    const revision = step.revision;
    this.apply(step, 0);
    return revision;
  }

  /** Index of the first interceptor from `from` whose patterns match `address`, or -1. */
  #interceptor(address: string, from: number): number {
    for (let i = from; i < this.#interceptors.length; i++) {
      if (this.#interceptors[i]!.patterns.some((p) => codec.matchPattern(p, address))) return i;
    }
    return -1;
  }

  /** Whether a SET in `m` (a BUNDLE, at any depth) is on a governed address. */
  #governs(m: Message): boolean {
    if (m.type === "SET") return this.#interceptor(m.address, 0) >= 0;
    return m.type === "BUNDLE" && m.messages.some((inner) => this.#governs(inner));
  }

  /**
   * What happens to `frame` in place of the router: undefined when the router handles it
   * (not a SET or BUNDLE, unknown session, outside the write scope: the router answers),
   * else an interceptor's decision, a store commit, or the refusal of a governed BUNDLE.
   * Starts nothing itself.
   */
  #govern(conn: number, frame: Uint8Array): Takeover | undefined {
    // Only SETs and BUNDLEs can set an address: the rest need no decoding here.
    const type = frameType(frame);
    if (type !== SET_TYPE && type !== BUNDLE_TYPE) return undefined;
    let decoded;
    try {
      decoded = codec.decode(frame);
    } catch {
      return undefined; // the router answers bad frames
    }
    const m = decoded.message;
    const qos = decoded.flags.qos;
    if (m.type === "BUNDLE") {
      if (this.#interceptors.length > 0 && this.#governs(m)) {
        return { store: false, run: () => this.#reply(conn, { type: "ERROR", code: INVALID_VALUE, message: "a governed address cannot be set in a BUNDLE: set it on its own" }) };
      }
      return this.#store ? this.#bundleToStore(conn, m, qos) : undefined;
    }
    if (m.type !== "SET" || !this.router.writable(conn, m.address)) return undefined;
    const first = this.#interceptor(m.address, 0);
    if (first >= 0) return { store: false, run: () => this.#decide(conn, frame, m, qos, first) };
    if (!this.#store) return undefined;
    const set = this.#intercepted(conn, m);
    return { store: true, start: () => this.#setToStore(conn, set, qos) };
  }

  /** The SET `m` of `conn` as interceptors and stores see it. */
  #intercepted(conn: number, m: Extract<Message, { type: "SET" }>): InterceptedSet {
    return {
      address: m.address,
      value: m.value,
      session: this.#sessions[conn] ?? "",
      ...(m.revision === undefined ? {} : { revision: m.revision }),
      ...(m.lock ? { lock: true } : {}),
      ...(m.unlock ? { unlock: true } : {}),
      ...(m.ttl === undefined ? {} : { ttl: m.ttl }),
    };
  }

  /**
   * A BUNDLE for the store: its SETs (top level; nested BUNDLEs are ignored, as the router
   * does) go to the store together, its PUBLISHes become a BUNDLE of their own routed after
   * the commit. Undefined (the router handles it) without SETs, or when an address is outside
   * the sender's write scope (the router refuses the whole BUNDLE with 301).
   */
  #bundleToStore(conn: number, m: Extract<Message, { type: "BUNDLE" }>, qos: number): Takeover | undefined {
    const sets = m.messages.filter((x): x is Extract<Message, { type: "SET" }> => x.type === "SET");
    const publishes = m.messages.filter((x) => x.type === "PUBLISH");
    if (sets.length === 0 || !m.messages.every((x) => (x.type !== "SET" && x.type !== "PUBLISH") || this.router.writable(conn, x.address))) return undefined;
    const intercepted = sets.map((x) => this.#intercepted(conn, x));
    // Fire QoS: the router answers it with no ACK of its own (the ACK carries the commit's revision).
    const rest = publishes.length ? codec.encode({ type: "BUNDLE", messages: publishes }, { qos: 0 }) : undefined;
    const peer = this.#peers[conn];
    return {
      store: true,
      start: () =>
        this.#store!.commitBundle(intercepted, rest).then(
          (v) => () => {
            if (v.action === "deny") return this.#replyTo(conn, peer, { type: "ERROR", code: v.code, message: v.message, ...(v.address === undefined ? {} : { address: v.address }) });
            v.apply();
            if (this.#peers[conn] !== peer) return;
            if (rest) this.#route(conn, rest, false);
            if (qos >= 1) this.#reply(conn, { type: "ACK", revision: v.revision });
          },
          (err: unknown) => () => this.#replyTo(conn, peer, { type: "ERROR", code: INTERNAL_ERROR, message: err instanceof Error ? err.message : String(err) }),
        ),
    };
  }

  /** Sends one SET to the store; resolves what carries out its verdict (apply, then ACK or ERROR to the sender if it is still there). */
  #setToStore(conn: number, set: InterceptedSet, qos: number): Promise<() => void> {
    const peer = this.#peers[conn];
    return this.#store!.commitSet(set).then(
      (v) => () => {
        if (v.action === "deny") return this.#replyTo(conn, peer, { type: "ERROR", code: v.code, message: v.message, address: v.address ?? set.address });
        v.apply();
        if (qos >= 1) this.#replyTo(conn, peer, { type: "ACK", address: set.address, revision: v.revision });
      },
      (err: unknown) => () => this.#replyTo(conn, peer, { type: "ERROR", code: INTERNAL_ERROR, message: err instanceof Error ? err.message : String(err), address: set.address }),
    );
  }

  /** Asks interceptor `i` (then the next matching ones on `pass`) about a SET, and carries out the verdict. */
  async #decide(conn: number, frame: Uint8Array, set: Extract<Message, { type: "SET" }>, qos: number, i: number): Promise<void> {
    let verdict: InterceptVerdict;
    const intercepted = this.#intercepted(conn, set);
    // The sender, by identity: once it leaves, the router may hand `conn` to a new peer, which
    // must get neither this verdict's reply nor the SET routed under its own session.
    const sender = this.#peers[conn];
    try {
      verdict = await this.#interceptors[i]!.hook(intercepted);
    } catch (e) {
      verdict = { action: "deny", code: INTERNAL_ERROR, message: e instanceof Error ? e.message : String(e) };
    }
    if (!sender || this.#peers[conn] !== sender) return; // gone meanwhile
    if (verdict.action === "pass") {
      const next = this.#interceptor(set.address, i + 1);
      if (next >= 0) return this.#decide(conn, frame, set, qos, next);
      if (this.#store) return (await this.#setToStore(conn, intercepted, qos))();
      this.#route(conn, frame);
    } else if (verdict.action === "consume") {
      if (qos >= 1) this.#reply(conn, { type: "ACK", address: set.address, ...(verdict.revision === undefined ? {} : { revision: verdict.revision }) });
    } else {
      this.#reply(conn, { type: "ERROR", code: verdict.code, message: verdict.message, address: set.address });
    }
  }

  /** {@link #reply} when `conn` still is `peer`'s connection (a handle may be reused once its peer left). */
  #replyTo(conn: number, peer: HostPeer | undefined, m: Message): void {
    if (peer && this.#peers[conn] === peer) this.#reply(conn, m);
  }

  /** Sends one message of the host's own to `conn` (a governance reply). */
  #reply(conn: number, m: Message): void {
    const peer = this.#peers[conn];
    if (!peer) return;
    const frame = codec.encode(m);
    this.#send(conn, peer, this.#wrap ? this.#wrap(frame) : frame, false, undefined);
  }

  /**
   * Sends `frame` to `peer`, or holds it: when `gate` is given (a reply of a durable step) or
   * earlier frames of this connection are held, it waits behind them.
   */
  #send(conn: number, peer: HostPeer, frame: Uint8Array, droppable: boolean, gate: Gate | undefined): void {
    let held = this.#held.get(conn);
    if (!held && !gate) return peer.send(frame, droppable);
    if (!held) this.#held.set(conn, (held = []));
    held.push({ frame, droppable, gate });
  }

  /** Marks `gate` settled and sends what `conn` has held up to the next pending gate (an ERROR for each ACK of a failed one). */
  #open(conn: number, gate: Gate, state: "ok" | "failed", error?: unknown): void {
    gate.state = state;
    gate.error = error;
    const held = this.#held.get(conn);
    const peer = this.#peers[conn];
    if (!held || !peer) return;
    let i = 0;
    for (; i < held.length; i++) {
      const h = held[i]!;
      if ("close" in h) {
        peer.close(h.close);
        continue;
      }
      if (h.gate?.state === "pending") break;
      if (h.gate?.state === "failed" && frameType(h.frame) === ACK_TYPE) {
        const ack = codec.decode(h.frame).message as Extract<Message, { type: "ACK" }>;
        const reason = (h.gate.error as Error)?.message ?? String(h.gate.error);
        const err = codec.encode({ type: "ERROR", code: INTERNAL_ERROR, message: `not stored: ${reason}`, ...(ack.address === undefined ? {} : { address: ack.address }) });
        peer.send(this.#wrap ? this.#wrap(err) : err, false);
      } else peer.send(h.frame, h.droppable);
    }
    if (i === held.length) this.#held.delete(conn);
    else held.splice(0, i);
  }

  /** Makes sure a tick runs within `ms`. */
  #schedule(ms: number): void {
    if (this.#stopped) return;
    const at = performance.now() + ms;
    if (at >= this.#timerAt) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), ms);
    // Ticks alone do not keep a Node process alive (the relay's server does).
    (this.#timer as { unref?: () => void }).unref?.();
  }

  /** Runs a tick now (a host without idle ticks calls it when it gets an event after a pause). */
  tick(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#tick();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    if (this.#stopped) return;
    const step = this.router.tick();
    // Without idle ticks only what is still held (step.due: SUBSCRIBE lanes, gesture moves) is
    // waited for, however far; the sweep waits for the next event. Read before apply: a
    // detach during it reuses the step object.
    const next = this.#idleTicks ? step.next : step.due;
    this.apply(step, 0);
    if (!this.#idleTicks && next === 0) return;
    const wait = next > 0 ? (next - (performance.timeOrigin + performance.now()) * 1000) / 1000 : MAX_TICK_MS;
    // setTimeout takes at most 2^31 - 1 ms (a u32 SUBSCRIBE window can be longer): tick then and look again.
    this.#schedule(Math.max(0, Math.min(this.#idleTicks ? MAX_TICK_MS : 0x7fffffff, Math.ceil(wait))));
  }

  /**
   * Stops routing: frames received later are ignored, ticks stop, every peer is detached
   * (sessions end). Call after closing the transports; flush the persister afterwards.
   */
  stop(): void {
    if (this.#stopped) return;
    for (let conn = 1; conn < this.#peers.length; conn++) if (this.#peers[conn]) this.detach(conn);
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/**
 * `ClaspClient`: a CLASP client over our codec, with the API of `@clasp-to/core` (connect,
 * subscribe/on with patterns, set, get, emit, stream, gesture, bundle, close) on any
 * {@link Transport}: a WebSocket to a relay, a MessagePort or BroadcastChannel to an
 * in-browser hub. It keeps a param cache, surfaces router ERRORs, and matches incoming
 * messages to local callbacks with the router's own pattern semantics (in wasm).
 *
 * ```ts
 * import { ClaspClient } from "clawft/clasp/client";
 * import { WebSocketTransport } from "clawft/transports/websocket";
 * const client = await ClaspClient.connect(new WebSocketTransport("ws://127.0.0.1:7330/"));
 * client.on("/mixer/**", (value, address, info) => console.log(address, value, info.revision));
 * const revision = await client.set("/mixer/1/fader", 0.75);
 * ```
 * @module
 */
import { codec as defaultCodec } from "./index.js";
import type { ClaspCodec } from "./codec.js";
import { ClaspDecodeError } from "./errors.js";
import type {
  ClaspValue,
  ClaspValueInput,
  Feature,
  GesturePhase,
  Message,
  PublishMessage,
  SetMessage,
  SignalType,
  SubscribeOptions,
  U64,
  WelcomeMessage,
} from "./types.js";
import type { CloseInfo, Transport } from "../transports/index.js";

/** An ERROR the router sent (CLASP code, message, and the address or pattern it concerns). */
export class ClaspError extends Error {
  override name = "ClaspError";
  constructor(
    readonly code: number,
    readonly text: string,
    readonly address?: string,
  ) {
    super(`CLASP ${code}: ${text}${address !== undefined ? ` (${address})` : ""}`);
  }
}

/** A request got no answer in time (GET, connect). */
export class ClaspTimeoutError extends Error {
  override name = "ClaspTimeoutError";
}

/** The client is not connected, or the connection closed while a request was pending. */
export class ClaspConnectionError extends Error {
  override name = "ClaspConnectionError";
}

/** What a listener learns beside the value. */
export interface MessageInfo {
  /** `"param"` for SETs and SNAPSHOT entries, else the PUBLISH's signal. */
  signal: SignalType;
  /** Param revision (SET, SNAPSHOT). */
  revision?: U64;
  /** Session id of the param's last writer (SNAPSHOT entries of a GET). */
  writer?: string;
  /** µs: the PUBLISH's or the param's timestamp. */
  timestamp?: U64;
  /** Gesture phase and id (gesture PUBLISH). */
  phase?: GesturePhase;
  id?: number;
  /** Stream samples (PUBLISH with samples) and their rate. */
  samples?: number[];
  rate?: number;
}

/** Called with each matching SET, SNAPSHOT entry and PUBLISH. */
export type Listener = (value: ClaspValue, address: string, info: MessageInfo) => void;

/** Options of {@link ClaspClient.subscribe}. */
export interface SubscriptionOptions extends SubscribeOptions {
  /** Signal types to receive (absent: all). */
  types?: SignalType[];
}

/** A cached param. */
export interface CachedParam {
  value: ClaspValue;
  revision: U64;
}

/** An element of {@link ClaspClient.bundle}: `{ set: [address, value] }`, `{ emit: [address, payload?] }` or a SET/PUBLISH message. */
export type BundleItem = { set: [string, ClaspValueInput] } | { emit: [string, ClaspValueInput?] } | SetMessage | PublishMessage;

/** Options of a {@link ClaspClient}. */
export interface ClaspClientOptions {
  /** Client name sent in HELLO. Defaults to `"clawft client"`. */
  name?: string;
  /** Token sent in HELLO (authenticated relays). */
  token?: string;
  /** Features announced in HELLO. Defaults to param, event, stream, gesture, timeline. */
  features?: Feature[];
  /** Milliseconds to wait for WELCOME. Defaults to 10,000. */
  connectTimeoutMs?: number;
  /** Milliseconds a GET or an acknowledged write waits for its answer. Defaults to 5,000. */
  requestTimeoutMs?: number;
  /**
   * Reconnect after the connection drops (needs a transport factory): first after `delayMs`
   * (default 1,000), then ×1.5 up to `maxDelayMs` (default 30,000), at most `attempts` times
   * (default 10). Subscriptions are sent again. Defaults to off.
   */
  reconnect?: boolean | { delayMs?: number; maxDelayMs?: number; attempts?: number };
  /** Codec instance. Defaults to the shared one of `clawft/clasp`. */
  codec?: ClaspCodec;
}

interface Subscription {
  id: number;
  pattern: string;
  listener: Listener;
  options: SubscriptionOptions | undefined;
  /** Dispatch sequence number when it was made: snapshot entries already seen before it are still news to it. */
  since: number;
}

interface Pending {
  kind: "set" | "get" | "bundle";
  resolve: (v: never) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

const SIGNAL_BITS: Record<SignalType, true> = { param: true, event: true, stream: true, gesture: true, timeline: true };

/** Marks a promise as handled (failures also reach `onError`), and returns it. */
function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

/**
 * A CLASP client. Create it connected with {@link ClaspClient.connect}, or construct it and
 * call {@link connect}.
 */
export class ClaspClient {
  readonly #factory: () => Transport;
  #transport: Transport | undefined;
  readonly #codec: ClaspCodec;
  readonly #options: ClaspClientOptions;
  #welcome: WelcomeMessage | undefined;
  #connecting: Promise<void> | undefined;
  #closedByUser = false;
  #attempt = 0;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  /** Server time minus local time, µs. */
  #offset = 0;
  readonly #subs = new Map<number, Subscription>();
  #nextSub = 1;
  readonly #cache = new Map<string, CachedParam & { seq: number }>();
  #seq = 0;
  /** Requests waiting for an answer, per address ("" for bundles), oldest first. */
  readonly #pending = new Map<string, Pending[]>();
  #lastError: ClaspError | undefined;
  readonly #errorListeners = new Set<(e: ClaspError) => void>();
  readonly #closeListeners = new Set<(info: CloseInfo) => void>();

  /**
   * @param transport the connection, or a factory making a new one per (re)connect
   */
  constructor(transport: Transport | (() => Transport), options: ClaspClientOptions = {}) {
    this.#factory = typeof transport === "function" ? transport : () => transport;
    this.#options = options;
    this.#codec = options.codec ?? defaultCodec;
  }

  /** Creates a client and connects it. @throws as {@link connect} */
  static async connect(transport: Transport | (() => Transport), options?: ClaspClientOptions): Promise<ClaspClient> {
    const client = new ClaspClient(transport, options);
    await client.connect();
    return client;
  }

  /** True between WELCOME and the connection's close. */
  get connected(): boolean {
    return this.#welcome !== undefined;
  }

  /** The session id the router gave (undefined while not connected). */
  get session(): string | undefined {
    return this.#welcome?.session;
  }

  /** The router's WELCOME. */
  get welcome(): WelcomeMessage | undefined {
    return this.#welcome;
  }

  /** The last ERROR the router sent. */
  get lastError(): ClaspError | undefined {
    return this.#lastError;
  }

  /** Server time estimate, µs since the epoch (local clock + the offset seen in WELCOME). */
  time(): number {
    return Math.round(Date.now() * 1000 + this.#offset);
  }

  /**
   * Opens the transport, sends HELLO and waits for WELCOME; then sends every subscription.
   * @throws TransportError when the transport cannot open; ClaspError when the router refuses
   *   the HELLO (e.g. 300 unauthorized); ClaspTimeoutError without WELCOME in time
   */
  connect(): Promise<void> {
    this.#closedByUser = false;
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = undefined));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    if (this.#welcome) return;
    const transport = this.#factory();
    this.#transport = transport;
    let welcomed: ((w: WelcomeMessage) => void) | undefined;
    let refused: ((e: Error) => void) | undefined;
    const welcome = new Promise<WelcomeMessage>((resolve, reject) => {
      welcomed = resolve;
      refused = reject;
    });
    this.#onWelcome = welcomed;
    this.#onRefused = refused;
    await transport.open({
      frame: (f) => this.#frame(f),
      close: (info) => this.#closed(transport, info),
    });
    const ms = this.#options.connectTimeoutMs ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      this.#write({
        type: "HELLO",
        version: 1,
        name: this.#options.name ?? "clawft client",
        features: this.#options.features ?? ["param", "event", "stream", "gesture", "timeline"],
        ...(this.#options.token ? { token: this.#options.token } : {}),
      });
      const w = await Promise.race([
        welcome,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new ClaspTimeoutError(`no WELCOME within ${ms} ms`)), ms);
        }),
      ]);
      this.#welcome = w;
      this.#attempt = 0;
      this.#offset = Number(w.time) - Date.now() * 1000;
      // A new session: its snapshots are news to every listener (state may have changed).
      for (const s of this.#subs.values()) {
        s.since = this.#seq;
        this.#sendSubscribe(s);
      }
    } catch (err) {
      transport.close(1000, "handshake failed");
      throw err;
    } finally {
      clearTimeout(timer);
      this.#onWelcome = this.#onRefused = undefined;
    }
  }

  #onWelcome: ((w: WelcomeMessage) => void) | undefined;
  #onRefused: ((e: Error) => void) | undefined;

  #write(message: Message): void {
    const t = this.#transport;
    if (!t) throw new ClaspConnectionError("not connected");
    // Each type's default QoS: SET confirm and BUNDLE commit, so the router acknowledges them.
    t.send(this.#codec.encode(message));
  }

  /** Sends when connected; throws ClaspConnectionError otherwise. */
  #send(message: Message): void {
    if (!this.#welcome) throw new ClaspConnectionError("not connected");
    this.#write(message);
  }

  #closed(transport: Transport, info: CloseInfo): void {
    if (transport !== this.#transport) return;
    this.#transport = undefined;
    const wasConnected = this.#welcome !== undefined;
    this.#welcome = undefined;
    this.#onRefused?.(new ClaspConnectionError(`connection closed during the handshake (${info.code} ${info.reason})`.trim()));
    for (const list of this.#pending.values()) {
      for (const p of list) {
        clearTimeout(p.timer);
        p.reject(new ClaspConnectionError(`connection closed (${info.code}) before the answer`));
      }
    }
    this.#pending.clear();
    for (const l of this.#closeListeners) l(info);
    if (wasConnected && !this.#closedByUser) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const r = this.#options.reconnect;
    if (!r) return;
    const { delayMs = 1000, maxDelayMs = 30_000, attempts = 10 } = r === true ? {} : r;
    if (this.#attempt >= attempts) return;
    const wait = Math.min(maxDelayMs, delayMs * 1.5 ** this.#attempt++);
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closedByUser) return;
      this.connect().catch(() => {
        if (!this.#welcome) this.#scheduleReconnect();
      });
    }, wait);
  }

  /** Calls `listener` with every ERROR the router sends. @returns a function removing it */
  onError(listener: (error: ClaspError) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  /** Calls `listener` when the connection closes. @returns a function removing it */
  onClose(listener: (info: CloseInfo) => void): () => void {
    this.#closeListeners.add(listener);
    return () => this.#closeListeners.delete(listener);
  }

  // ------------------------------------------------------------------ incoming

  #frame(bytes: Uint8Array): void {
    let message: Message;
    try {
      message = this.#codec.decode(bytes).message;
    } catch (err) {
      if (err instanceof ClaspDecodeError) return; // a peer's bad frame is dropped, as upstream
      throw err;
    }
    switch (message.type) {
      case "WELCOME":
        this.#onWelcome?.(message);
        break;
      case "SET":
        this.#param(message.address, message.value, message.revision ?? 0, undefined, undefined, true);
        break;
      case "SNAPSHOT":
        for (const p of message.params) this.#param(p.address, p.value, p.revision, p.writer, p.timestamp, false);
        for (const p of message.params) this.#settle(p.address, "get", p.value);
        break;
      case "PUBLISH":
        this.#publish(message);
        break;
      case "ACK":
        this.#settle(message.address ?? "", message.address === undefined ? "bundle" : "set", message.revision);
        break;
      case "ERROR":
        this.#error(new ClaspError(message.code, message.message, message.address));
        break;
      case "PING":
        // A relay asks a quiet session before its session timeout; the PONG is the traffic that
        // keeps an idle but live client's session (docs/relay.md §Keeping a session).
        this.#write({ type: "PONG" });
        break;
      default:
        break; // PONG, RESULT, SYNC, …: nothing waits for them
    }
  }

  #param(address: string, value: ClaspValue, revision: U64, writer: string | undefined, timestamp: U64 | undefined, live: boolean): void {
    const cached = this.#cache.get(address);
    // A SNAPSHOT entry the cache already holds is news only to subscriptions made since.
    const since = !live && cached && cached.revision === revision ? cached.seq : -1;
    const seq = ++this.#seq;
    this.#cache.set(address, { value, revision, seq });
    const info: MessageInfo = { signal: "param", revision };
    if (writer !== undefined) info.writer = writer;
    if (timestamp !== undefined) info.timestamp = timestamp;
    for (const s of this.#subs.values()) {
      if (s.since < since || !this.#wants(s, "param", address)) continue;
      s.listener(value, address, info);
    }
  }

  #publish(m: PublishMessage): void {
    const signal = m.signal ?? "event";
    const info: MessageInfo = { signal };
    if (m.timestamp !== undefined) info.timestamp = m.timestamp;
    if (signal === "gesture") {
      info.phase = m.phase ?? "start";
      if (m.id !== undefined) info.id = m.id;
    }
    if (m.samples !== undefined) info.samples = m.samples;
    if (m.rate !== undefined) info.rate = m.rate;
    const value = m.value ?? null;
    for (const s of this.#subs.values()) if (this.#wants(s, signal, m.address)) s.listener(value, m.address, info);
  }

  #wants(s: Subscription, signal: SignalType, address: string): boolean {
    const types = s.options?.types;
    if (types?.length && !types.includes(signal)) return false;
    return this.#codec.matchPattern(s.pattern, address);
  }

  #error(e: ClaspError): void {
    this.#lastError = e;
    if (this.#onRefused && (e.code === 300 || e.code === 302 || e.code === 501)) this.#onRefused(e);
    else if (e.address !== undefined && e.code !== 202 && e.code !== 429) {
      // 201 answers a GET; the rest (400, 301, 403, 501, …) answer the oldest write or read.
      this.#settle(e.address, e.code === 201 ? "get" : "any", e);
    }
    for (const l of this.#errorListeners) l(e);
  }

  /** Resolves (or, with an Error, rejects) the oldest pending request of `kind` for `key`. */
  #settle(key: string, kind: Pending["kind"] | "any", result: unknown): void {
    const list = this.#pending.get(key);
    // An ERROR naming an address no request waits on refuses a bundle element.
    if (!list) return void (kind === "any" && key !== "" && this.#settle("", "bundle", result));
    const take = (p: Pending) => {
      clearTimeout(p.timer);
      if (result instanceof Error) p.reject(result);
      else p.resolve(result as never);
    };
    if (kind === "get" && !(result instanceof Error)) {
      // A SNAPSHOT answers every GET of the address at once.
      for (const p of list.filter((x) => x.kind === "get")) take(p);
      this.#prune(key, list.filter((x) => x.kind !== "get"));
      return;
    }
    const i = list.findIndex((x) => kind === "any" || x.kind === kind);
    if (i < 0) return;
    take(list[i]!);
    list.splice(i, 1);
    this.#prune(key, list);
  }

  #prune(key: string, list: Pending[]): void {
    if (list.length) this.#pending.set(key, list);
    else this.#pending.delete(key);
  }

  /**
   * Sends `message` and waits for the answer settled under `key` and `kind`; rejects with
   * ClaspConnectionError when not connected, ClaspTimeoutError without an answer in time.
   */
  #ask<T>(message: Message, key: string, kind: Pending["kind"], what: string): Promise<T> {
    const ms = this.#options.requestTimeoutMs ?? 5000;
    let p!: Pending;
    const answer = new Promise<T>((resolve, reject) => {
      p = {
        kind,
        resolve: resolve as (v: never) => void,
        reject,
        timer: setTimeout(() => {
          this.#forget(key, p);
          reject(new ClaspTimeoutError(`${what}: no answer within ${ms} ms`));
        }, ms),
      };
    });
    // Registered before the frame leaves: a transport that answers synchronously (a
    // MessagePort hub in the same turn, a test double) finds the request waiting.
    const list = this.#pending.get(key);
    if (list) list.push(p);
    else this.#pending.set(key, [p]);
    try {
      this.#send(message);
    } catch (err) {
      clearTimeout(p.timer);
      this.#forget(key, p);
      p.reject(err as Error);
    }
    return quiet(answer);
  }

  /** Drops one pending request of `key` (answered elsewhere, timed out or never sent). */
  #forget(key: string, p: Pending): void {
    const list = this.#pending.get(key);
    if (list) this.#prune(key, list.filter((x) => x !== p));
  }

  // ------------------------------------------------------------------ API

  /**
   * Subscribes `listener` to the addresses `pattern` matches. Matching params arrive at once
   * (the router's SNAPSHOT), then every change and every matching PUBLISH.
   * @returns a function that unsubscribes
   * @throws ClaspPatternError when the pattern does not compile
   */
  subscribe(pattern: string, listener: Listener, options?: SubscriptionOptions): () => void {
    this.#codec.matchPattern(pattern, "/"); // throws ClaspPatternError for a bad pattern
    const s: Subscription = { id: this.#nextSub++, pattern, listener, options, since: this.#seq };
    this.#subs.set(s.id, s);
    if (this.#welcome) this.#sendSubscribe(s);
    return () => {
      if (!this.#subs.delete(s.id)) return;
      if (this.#welcome) this.#write({ type: "UNSUBSCRIBE", id: s.id });
    };
  }

  /** Alias of {@link subscribe}. */
  on(pattern: string, listener: Listener, options?: SubscriptionOptions): () => void {
    return this.subscribe(pattern, listener, options);
  }

  #sendSubscribe(s: Subscription): void {
    const { types, ...rest } = s.options ?? {};
    const options = Object.keys(rest).length ? (rest as SubscribeOptions) : undefined;
    this.#write({
      type: "SUBSCRIBE",
      id: s.id,
      pattern: s.pattern,
      ...(types?.length ? { types: types.filter((t) => SIGNAL_BITS[t]) } : {}),
      ...(options ? { options } : {}),
    });
  }

  /**
   * Sets a param. Resolves with its new revision (the router's ACK).
   * @param options `revision`: the revision you expect it to have (else ERROR 400);
   *   `lock`/`unlock`; `ttl` (see {@link SetMessage.ttl})
   * @throws (rejects) ClaspError when the router refuses (400 conflict or locked, 301
   *   forbidden, 501 state full), ClaspConnectionError, ClaspTimeoutError
   */
  set(address: string, value: ClaspValueInput, options: Pick<SetMessage, "revision" | "lock" | "unlock" | "ttl"> = {}): Promise<U64> {
    return this.#ask<U64>({ type: "SET", address, value: value as ClaspValue, ...options }, address, "set", `SET ${address}`);
  }

  /**
   * The value of a param: from the cache while connected and a subscription keeps it current, else asked
   * of the router.
   * @throws (rejects) ClaspError 201 when it does not exist, ClaspTimeoutError, ClaspConnectionError
   */
  get(address: string): Promise<ClaspValue> {
    const cached = this.#cache.get(address);
    if (cached && this.#welcome && [...this.#subs.values()].some((s) => this.#wants(s, "param", address))) return Promise.resolve(cached.value);
    return this.#ask<ClaspValue>({ type: "GET", address }, address, "get", `GET ${address}`);
  }

  /** The cached value and revision of a param, if the client has seen it. */
  param(address: string): CachedParam | undefined {
    const c = this.#cache.get(address);
    return c && { value: c.value, revision: c.revision };
  }

  /** Emits an event (not stored; delivered to current subscribers but not to this client). @throws ClaspConnectionError */
  emit(address: string, payload?: ClaspValueInput): void {
    this.#send({ type: "PUBLISH", address, signal: "event", value: (payload ?? null) as ClaspValue, timestamp: this.time() });
  }

  /**
   * Sends a stream sample: a value, or f64 samples (with their rate in Hz).
   * @throws ClaspConnectionError
   */
  stream(address: string, value: ClaspValueInput | Float64Array | number[], rate?: number): void {
    const m: PublishMessage = { type: "PUBLISH", address, signal: "stream", timestamp: this.time() };
    if (value instanceof Float64Array) m.samples = [...value];
    else m.value = value as ClaspValue;
    if (rate !== undefined) m.rate = rate;
    this.#send(m);
  }

  /** Sends a gesture phase (moves are coalesced by the router, 16 ms). @throws ClaspConnectionError */
  gesture(address: string, id: number, phase: GesturePhase, payload?: ClaspValueInput): void {
    this.#send({ type: "PUBLISH", address, signal: "gesture", id, phase, value: (payload ?? null) as ClaspValue, timestamp: this.time() });
  }

  /**
   * Sends SETs and events as one BUNDLE, applied atomically by the router. Resolves with the
   * revision of the last SET applied (undefined when there was none).
   * @param at µs server time to attach as the bundle's timestamp (routers apply bundles at once)
   * @throws (rejects) ClaspError when the router refuses the bundle
   */
  bundle(items: BundleItem[], at?: number): Promise<U64 | undefined> {
    const messages: Message[] = items.map((it) => {
      if ("set" in it) return { type: "SET", address: it.set[0], value: it.set[1] as ClaspValue };
      if ("emit" in it) return { type: "PUBLISH", address: it.emit[0], signal: "event", value: (it.emit[1] ?? null) as ClaspValue };
      return it;
    });
    return this.#ask<U64 | undefined>({ type: "BUNDLE", messages, ...(at !== undefined ? { timestamp: at } : {}) }, "", "bundle", "BUNDLE");
  }

  /** Closes the connection for good (no reconnect); pending requests reject. */
  close(): void {
    this.#closedByUser = true;
    if (this.#reconnectTimer !== undefined) clearTimeout(this.#reconnectTimer);
    this.#transport?.close(1000, "client closed");
  }
}

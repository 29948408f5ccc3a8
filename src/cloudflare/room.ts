/**
 * `ClaspRoom`: a Cloudflare Durable Object hosting one MiniRouter (one CLASP room) behind
 * hibernatable WebSockets (subprotocol `clasp`, one frame per binary message), with the Node
 * relay's platform-neutral host (src/relay/host.ts) carrying out the router's steps.
 *
 * - **Params** live in the object's SQLite storage (table `clasp_params`: address, the router's
 *   record — docs/router.md §Persistence), written synchronously inside the step that commits
 *   them. The runtime's output gate holds every frame sent after a write until the write is
 *   durable, so an ACK (or the SET's broadcast) never leaves before its param is stored, and a
 *   committed SET survives an eviction or a restart.
 * - **Sessions** survive hibernation: each socket's attachment keeps the frames that made its
 *   session — the HELLO (token included) and the live SUBSCRIBEs, one per subscription id —
 *   with its session id and the addresses it holds locked. When the object wakes, a fresh
 *   router is restored from storage and those frames are replayed for each socket still open,
 *   their replies discarded; then the session takes its old id and its locks back
 *   (`MiniRouter.resumeSession`, `relock`). docs/cloudflare.md §Hibernation says what a replay
 *   does not bring back.
 * - **Deadlines** as the Node relay's (docs/relay.md §Keeping a session): a socket without an
 *   accepted HELLO after `hello_timeout` is closed (1008), a session quiet for half of
 *   `session_timeout` gets one CLASP PING, and the router closes one idle past it (1000). They
 *   are kept by the object's alarm (`storage.setAlarm`), which survives hibernation and wakes
 *   the room when one is due; each socket's attachment keeps its clocks (within a second).
 * - **Announcements** (ANNOUNCE) are kept in `clasp_announcements` with the announcing HELLO
 *   and the time, and registered again, at their first time, in a woken router.
 * @module
 */
import { codec } from "../clasp/index.js";
import { MiniRouter } from "../clasp/router.js";
import { RouterHost, wsClose, type HostPeer } from "../relay/host.js";
import { roomConfig, type RoomConfig, type RoomEnv } from "./config.js";
import { routerModule } from "./cores.js";
import { upgradeResponse, webSocketPair, type CfWebSocket, type DurableObjectState, type SqlStorage } from "./runtime.js";

/** CLASP message type codes (clasp-wire.md §4) of the frames a session is made of. */
const HELLO = 0x01;
const ANNOUNCE = 0x03;
const SUBSCRIBE = 0x10;
const UNSUBSCRIBE = 0x11;
const SET = 0x21;
const BUNDLE = 0x30;
/** SET flags (clasp-wire.md §4, SET): lock, unlock. */
const SET_LOCK_BITS = 0x60;

/**
 * Bytes of session frames kept in a socket's attachment; beyond, they go to the `clasp_sessions`
 * table (with the locks) and the attachment keeps only the ids. Cloudflare caps a serialized attachment
 * at 16 KiB; this leaves room for the structured-clone envelope.
 */
const ATTACHMENT_BYTES = 12 * 1024;

/**
 * Least time between the ticks a room runs when events arrive (the Node relay ticks once a
 * second), ms; also how often, at most, a socket's clocks are written to its attachment.
 */
const TICK_MS = 1000;

/** How long the router keeps an announced signal, µs (ANNOUNCE_LIFETIME of the router core: 1 h). */
const ANNOUNCE_LIFETIME_US = 3_600_000_000;

/** The CLASP PING a quiet session gets (encoded on first use: the codec is loaded by then). */
let pingFrame: Uint8Array | undefined;

/**
 * What a socket's attachment holds: its id; its session's id (from WELCOME) and the addresses
 * whose locks it holds; and the frames of its session when they fit (`frames` null: they are
 * in `clasp_sessions` under `id`).
 */
interface SessionAttachment {
  v: 3;
  id: string;
  /** Date.now() when the socket was accepted: its HELLO deadline counts from there. */
  opened: number;
  /** Date.now() of the last frame received from the socket (its quiet time counts from there). */
  seen: number;
  /** Date.now() of the last frame received from or delivered to it: the router's idle clock for the session. */
  active: number;
  /** Whether it was sent a CLASP PING since `seen`. */
  asked: boolean;
  session: string | null;
  /** null: in `clasp_sessions` with the frames. */
  locks: string[] | null;
  frames: Uint8Array[] | null;
}

/**
 * The CLASP message type of a frame, read from its header (magic 0x53, flags, u16 length, the
 * u64 timestamp when flags bit 5 is set, then the message): -1 when there is none to read. The
 * router judges the frame itself; this only tells the room which frames make a session.
 */
function messageType(frame: Uint8Array): number {
  if (frame.length < 5 || frame[0] !== 0x53) return -1;
  const at = frame[1]! & 0x20 ? 12 : 4;
  return at < frame.length ? frame[at]! : -1;
}

/** Addresses a SET or BUNDLE frame asks to lock or unlock (empty when none, or it does not decode). */
function lockAddresses(frame: Uint8Array): string[] {
  try {
    const m = codec.decode(frame).message;
    const sets = m.type === "BUNDLE" ? m.messages : [m];
    return sets.flatMap((x) => (x.type === "SET" && (x.lock || x.unlock) ? [x.address] : []));
  } catch {
    return [];
  }
}

/** The subscription id of a SUBSCRIBE or UNSUBSCRIBE frame, or undefined when it does not decode. */
function subscriptionId(frame: Uint8Array): number | undefined {
  try {
    const m = codec.decode(frame).message;
    return m.type === "SUBSCRIBE" || m.type === "UNSUBSCRIBE" ? m.id : undefined;
  } catch {
    return undefined;
  }
}

/** An ArrayBuffer holding exactly `bytes` (SQLite binds BLOBs from ArrayBuffers). */
function blob(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? (bytes.buffer as ArrayBuffer) : (bytes.slice().buffer as ArrayBuffer);
}

/** Session frames as one BLOB: each as u32 big-endian length + bytes. */
function packFrames(frames: readonly Uint8Array[]): ArrayBuffer {
  let n = 0;
  for (const f of frames) n += 4 + f.length;
  const out = new Uint8Array(n);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of frames) {
    view.setUint32(at, f.length);
    out.set(f, at + 4);
    at += 4 + f.length;
  }
  return out.buffer;
}

/** The frames of a {@link packFrames} BLOB (a truncated tail is ignored). */
function unpackFrames(buffer: ArrayBuffer): Uint8Array[] {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(buffer);
  const frames: Uint8Array[] = [];
  for (let at = 0; at + 4 <= bytes.length; ) {
    const n = view.getUint32(at);
    if (at + 4 + n > bytes.length) break;
    frames.push(bytes.slice(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return frames;
}

/** What `GET /ws/<room>?status` answers. */
export interface RoomStatus {
  /** Open sockets with a router connection. */
  sessions: number;
  /** Params held. */
  params: number;
  /** A random id of this instance of the object: a new one after each eviction (hibernation) or restart. */
  instance: string;
  /** Sockets whose sessions were restored from their attachments when this instance started. */
  resumed: number;
}

/** One socket of the room as the host sees it. */
class RoomPeer implements HostPeer {
  conn = 0;
  /** Date.now() when accepted. */
  opened = 0;
  /** Date.now() of the last frame received (the Node relay's `lastFrame`). */
  seen = 0;
  /**
   * Date.now() of the last frame received or delivered: the router counts both as the
   * session's activity (`lastActive`), so a woken router is given this as the session's time.
   */
  active = 0;
  /** Whether a CLASP PING was sent since `seen`. */
  asked = false;
  /** `active` and `asked` as last written to the attachment. */
  savedActive = 0;
  savedAsked = false;
  /** Whether the peer waits in the room's list of attachments to write after this event. */
  dirty = false;
  /** The attachment last written (its frames null when they are in `clasp_sessions`). */
  attachment: SessionAttachment | null = null;
  /** Set while the session's frames are replayed after a wake-up: the replies are not sent again. */
  muted = false;
  closed = false;
  /** The HELLO and live SUBSCRIBEs (by subscription id, in order) of the socket's session. */
  hello: Uint8Array | null = null;
  readonly subs = new Map<number, Uint8Array>();
  /** The session's id (from WELCOME), once its HELLO was accepted. */
  session: string | null = null;
  /** Addresses whose locks the session holds. */
  readonly locks = new Set<string>();

  constructor(
    readonly ws: CfWebSocket,
    readonly id: string,
    readonly room: ClaspRoom,
  ) {}

  send(frame: Uint8Array): void {
    if (this.muted || this.closed) return;
    this.active = this.room.now;
    if (!this.dirty && this.active - this.savedActive >= TICK_MS) this.room.touched(this);
    try {
      this.ws.send(frame);
    } catch {
      // The socket closed under us; webSocketClose detaches it.
    }
  }

  close(code: number): void {
    this.room.closePeer(this, ...wsClose(code));
  }

  /** The frames that rebuild this session, in the order they must be replayed. */
  frames(): Uint8Array[] {
    return this.hello ? [this.hello, ...this.subs.values()] : [];
  }
}

/**
 * The Durable Object class of a CLASP room. Export it from your Worker
 * (`export { ClaspRoom } from "clawft/cloudflare"`), bind it as a SQLite-backed Durable Object
 * namespace, and send `GET /ws/<room>` upgrades to it ({@link handleRoomRequest} or
 * `clawft/cloudflare`'s default Worker do). docs/cloudflare.md has the whole setup.
 */
export class ClaspRoom {
  readonly #state: DurableObjectState;
  readonly #sql: SqlStorage;
  #host!: RouterHost;
  #router!: MiniRouter;
  /** Largest WebSocket message handed to the router; larger ones close the socket (1009), as the Node relay does. */
  #maxPayload = 1 << 17;
  readonly #peers = new Map<CfWebSocket, RoomPeer>();
  /** Random id of this instance of the object (a new one after each eviction or restart). */
  readonly #instance = crypto.randomUUID();
  /** Sockets whose sessions were replayed when this instance started. */
  #resumed = 0;
  /** Date.now() of the last tick the room ran itself. */
  #lastTick = 0;
  /** HELLO deadline and session timeout, ms (0: none). */
  #helloMs = 0;
  #timeoutMs = 0;
  /** When the object's alarm is set for (ms since the epoch), Infinity for none. */
  #alarmAt = Infinity;
  /** Date.now() at the start of the event being handled (workerd's clock does not move within one). */
  now = Date.now();

  /**
   * Called by the runtime. Loads the router, restores the params from storage and, after a
   * hibernation, the sessions of the sockets still open; no event is delivered before that.
   * @throws RoomConfigError or RouterConfigError (from the first event) when the environment's configuration is invalid
   */
  constructor(state: DurableObjectState, env: RoomEnv) {
    this.#state = state;
    this.#sql = state.storage.sql;
    void state.blockConcurrencyWhile(() => this.#start(env));
  }

  async #start(env: RoomEnv): Promise<void> {
    const { router: config, helloTimeout }: RoomConfig = roomConfig(env);
    this.#helloMs = helloTimeout * 1000;
    this.#timeoutMs = (config.sessionTimeout ?? 0) * 1000;
    this.#router = await MiniRouter.load(config, routerModule);
    this.#maxPayload = Math.max(2 * (config.maxMessageSize ?? 65547), 1 << 17);
    const alarm = await this.#state.storage.getAlarm();
    this.#alarmAt = alarm ?? Infinity;
    const sql = this.#sql;
    sql.exec("CREATE TABLE IF NOT EXISTS clasp_params (address TEXT PRIMARY KEY, record BLOB NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS clasp_sessions (id TEXT PRIMARY KEY, frames BLOB NOT NULL, locks TEXT NOT NULL)");
    sql.exec("CREATE TABLE IF NOT EXISTS clasp_announcements (frame BLOB PRIMARY KEY, hello BLOB NOT NULL, at INTEGER NOT NULL)");
    const refused: string[] = [];
    for (const row of sql.exec<{ address: string; record: ArrayBuffer }>("SELECT address, record FROM clasp_params")) {
      if (!this.#router.restore(row.address, new Uint8Array(row.record))) refused.push(row.address);
    }
    // Expired while the room slept (or a record this router does not read): gone for good.
    for (const address of refused) sql.exec("DELETE FROM clasp_params WHERE address = ?", address);
    // No idle ticks: a timer would keep the object awake; #catchUp ticks when events arrive.
    this.#host = new RouterHost(this.#router, { persister: { put: (address, record) => this.#persist(address, record) }, idleTicks: false });
    this.#lastTick = this.now = Date.now();
    this.#reannounce();
    const live = new Set<string>();
    for (const ws of this.#state.getWebSockets()) {
      const peer = this.#resume(ws);
      if (peer) {
        live.add(peer.id);
        this.#resumed++;
      }
    }
    // Sessions of sockets that are gone (a restart closes every socket).
    for (const row of sql.exec<{ id: string }>("SELECT id FROM clasp_sessions").toArray()) {
      if (!live.has(row.id)) sql.exec("DELETE FROM clasp_sessions WHERE id = ?", row.id);
    }
    // Deadlines that passed while the room was down, or an alarm lost with a restart.
    this.#arm(this.now, this.#alarmAt === Infinity || this.#alarmAt < this.now);
  }

  /**
   * Registers the stored announcements in a fresh router again, oldest first, each at the time
   * it was first made (so it expires when it would have) and through a session opened with the
   * announcer's HELLO (so the write scope it was checked against applies again); expired ones
   * are deleted. The router keeps announcements apart from sessions: they outlive the
   * announcer's connection, and so do these rows.
   */
  #reannounce(): void {
    const nowUs = this.now * 1000;
    this.#sql.exec("DELETE FROM clasp_announcements WHERE at <= ?", nowUs - ANNOUNCE_LIFETIME_US);
    const rows = this.#sql.exec<{ frame: ArrayBuffer; hello: ArrayBuffer; at: number }>("SELECT frame, hello, at FROM clasp_announcements ORDER BY at").toArray();
    if (rows.length === 0) return;
    const conn = this.#host.attach({ send() {}, close() {} });
    if (conn === 0) return;
    try {
      for (const row of rows) {
        // One connection: each HELLO replaces the session before (announcements outlive it).
        this.#host.apply(this.#router.receive(conn, new Uint8Array(row.hello), row.at), conn);
        this.#host.apply(this.#router.receive(conn, new Uint8Array(row.frame), row.at), conn);
      }
    } finally {
      this.#host.detach(conn);
    }
  }

  /**
   * Keeps an ANNOUNCE a session made (with its HELLO and the time) for {@link #reannounce}; one
   * that does not decode (the router answered it with an ERROR) is not kept.
   */
  #keepAnnouncement(peer: RoomPeer, frame: Uint8Array): void {
    if (!peer.hello) return;
    try {
      if (codec.decode(frame).message.type !== "ANNOUNCE") return;
    } catch {
      return;
    }
    const nowUs = this.now * 1000;
    this.#sql.exec("DELETE FROM clasp_announcements WHERE at <= ?", nowUs - ANNOUNCE_LIFETIME_US);
    const upsert = "INSERT INTO clasp_announcements (frame, hello, at) VALUES (?, ?, ?) ON CONFLICT (frame) DO UPDATE SET hello = excluded.hello, at = excluded.at";
    this.#sql.exec(upsert, blob(frame), blob(peer.hello), nowUs);
  }

  /**
   * When `peer` next needs the alarm (ms since the epoch; Infinity: never): its HELLO deadline
   * while it has no session; with a session timeout, half of it after its last frame for the
   * PING, and once asked, the timeout after its last activity (a second later: the router's
   * sweep closes what is strictly past it).
   */
  #deadline(peer: RoomPeer): number {
    let at = Infinity;
    if (peer.session === null && this.#helloMs > 0) at = peer.opened + this.#helloMs;
    if (this.#timeoutMs > 0) at = Math.min(at, peer.asked ? peer.active + this.#timeoutMs + TICK_MS : peer.seen + this.#timeoutMs / 2);
    return at;
  }

  /**
   * Sets the object's alarm for the earliest deadline of any socket, when it is earlier than the
   * alarm already set (deadlines only move later as frames arrive: a too early alarm just
   * recomputes), or always when `recompute` (from the alarm itself).
   */
  #arm(now: number, recompute: boolean, peer?: RoomPeer): void {
    let at = Infinity;
    if (peer) at = this.#deadline(peer);
    else for (const p of this.#peers.values()) at = Math.min(at, this.#deadline(p));
    if (!recompute && at >= this.#alarmAt) return;
    if (at === Infinity) {
      if (this.#alarmAt !== Infinity) void this.#state.storage.deleteAlarm();
    } else {
      if (at <= now) at = now + TICK_MS; // past (the room was down): a tick later, never in a loop
      if (at !== this.#alarmAt) void this.#state.storage.setAlarm(at);
    }
    this.#alarmAt = at;
  }

  /**
   * The object's alarm: runs the router's tick (it closes sessions idle past `session_timeout`,
   * 1000 "idle"), closes sockets past their HELLO deadline (1008 "no HELLO in time"), sends
   * one CLASP PING to each session quiet for half the timeout, and sets the next alarm.
   */
  alarm(): void {
    const now = (this.now = Date.now());
    this.#alarmAt = Infinity;
    this.#lastTick = now;
    this.#host.tick();
    for (const peer of [...this.#peers.values()]) {
      if (peer.closed) continue;
      if (peer.session === null && this.#helloMs > 0 && now >= peer.opened + this.#helloMs) {
        this.closePeer(peer, 1008, "no HELLO in time");
      } else if (this.#timeoutMs > 0 && !peer.asked && now >= peer.seen + this.#timeoutMs / 2) {
        peer.asked = true;
        if (!peer.dirty) this.touched(peer);
        try {
          peer.ws.send((pingFrame ??= codec.encode({ type: "PING" })));
        } catch {
          // closed under us
        }
      }
    }
    this.#saveClocks();
    this.#arm(now, true);
  }

  /**
   * Runs the tick the router missed while the room was idle (TTLs expire, idle sessions close)
   * before an event is handled: at most one per second.
   */
  #catchUp(): void {
    const now = (this.now = Date.now());
    if (now - this.#lastTick < TICK_MS) return;
    this.#lastTick = now;
    this.#host.tick();
  }

  /** Peers whose clocks are to be written to their attachments at the end of this event. */
  readonly #touched: RoomPeer[] = [];

  /**
   * Notes that a peer's clocks moved enough to be written to its attachment: its activity a
   * second or more past what the attachment has, or its `asked` flipped. At most once a second
   * per socket, so the cost stays off the per-message path; a woken router takes the
   * attachment's activity plus that second (never earlier than it was, at most a second late).
   */
  touched(peer: RoomPeer): void {
    peer.dirty = true;
    this.#touched.push(peer);
  }

  /** Writes the clocks of the peers {@link touched} during this event into their attachments. */
  #saveClocks(): void {
    for (const peer of this.#touched) {
      peer.dirty = false;
      if (!peer.closed && peer.attachment) this.#attach(peer, peer.attachment);
    }
    this.#touched.length = 0;
  }

  /** Writes `att` with the socket's current clocks as its attachment. */
  #attach(peer: RoomPeer, att: SessionAttachment): void {
    att.seen = peer.seen;
    att.active = peer.active;
    att.asked = peer.asked;
    peer.attachment = att;
    peer.savedActive = peer.active;
    peer.savedAsked = peer.asked;
    peer.ws.serializeAttachment(att);
  }

  /** Writes a param change in the step that made it (the output gate holds the step's frames until it is durable). */
  #persist(address: string, record: Uint8Array | null): void {
    if (record) this.#sql.exec("INSERT INTO clasp_params (address, record) VALUES (?, ?) ON CONFLICT (address) DO UPDATE SET record = excluded.record", address, blob(record));
    else this.#sql.exec("DELETE FROM clasp_params WHERE address = ?", address);
  }

  /** Re-attaches a socket accepted before the object hibernated, and replays its session's frames. */
  #resume(ws: CfWebSocket): RoomPeer | undefined {
    const att = ws.deserializeAttachment() as SessionAttachment | null;
    if (!att || att.v !== 3) {
      ws.close(1011, "session lost");
      return undefined;
    }
    const peer = new RoomPeer(ws, att.id, this);
    peer.opened = att.opened;
    peer.seen = att.seen;
    peer.asked = att.asked;
    // The attachment's clock may be up to a tick behind: the session's activity is taken as
    // late as it could have been (never closed early), and never later than now.
    peer.active = Math.min(this.now, att.active + TICK_MS);
    const conn = this.#host.attach(peer);
    if (conn === 0) {
      ws.close(...wsClose(501));
      return undefined;
    }
    peer.conn = conn;
    this.#peers.set(ws, peer);
    let frames = att.frames ?? [];
    let locks = att.locks ?? [];
    if (!att.frames) {
      const row = this.#sql.exec<{ frames: ArrayBuffer; locks: string }>("SELECT frames, locks FROM clasp_sessions WHERE id = ?", att.id).toArray()[0];
      if (row) {
        frames = unpackFrames(row.frames);
        locks = JSON.parse(row.locks) as string[];
      }
    }
    peer.muted = true;
    try {
      // Replayed at the session's last activity: the router's idle clock goes on from there.
      for (const f of frames) this.#host.apply(this.#router.receive(conn, f, peer.active * 1000), conn);
      // The replayed HELLO drew a new session id: the client knows the old one, and so do the
      // params it wrote. Then its locks (not persisted with the params) come back.
      const resumed = att.session === null ? null : this.#router.resumeSession(conn, att.session);
      if (resumed) this.#host.apply(resumed, 0);
      for (const address of locks) this.#router.relock(conn, address);
    } finally {
      peer.muted = false;
    }
    if (peer.closed) return undefined; // refused now (a token no longer configured): closed with its code
    peer.hello = frames[0] ?? null;
    for (const f of frames.slice(1)) {
      const id = subscriptionId(f);
      if (id !== undefined) peer.subs.set(id, f);
    }
    peer.session = att.session;
    for (const address of locks) if (this.#router.lockHolder(address) === conn) peer.locks.add(address);
    peer.attachment = att;
    peer.savedActive = peer.active;
    peer.savedAsked = peer.asked;
    return peer;
  }

  /**
   * Serves a WebSocket upgrade for this room: subprotocol `clasp` echoed when asked for. A room
   * at its session limit accepts the socket and closes it with 1013 at once. `GET …?status`
   * without an upgrade answers the room's {@link RoomStatus} as JSON.
   */
  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      if (new URL(request.url).searchParams.has("status")) {
        this.#catchUp();
        const status: RoomStatus = { sessions: this.#host.connections, params: this.#router.size, instance: this.#instance, resumed: this.#resumed };
        return new Response(JSON.stringify(status), { headers: { "content-type": "application/json" } });
      }
      return new Response("a CLASP room speaks WebSocket (subprotocol clasp)\n", { status: 426, headers: { upgrade: "websocket" } });
    }
    const asked = (request.headers.get("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
    const headers: Record<string, string> = asked.includes("clasp") ? { "sec-websocket-protocol": "clasp" } : {};
    this.#catchUp();
    const pair = webSocketPair();
    const client = pair[0];
    const server = pair[1];
    const id = crypto.randomUUID();
    const peer = new RoomPeer(server, id, this);
    const conn = this.#host.attach(peer);
    if (conn === 0) {
      server.accept();
      server.close(...wsClose(501));
      return upgradeResponse(client, headers);
    }
    peer.conn = conn;
    peer.opened = peer.seen = peer.active = this.now;
    this.#state.acceptWebSocket(server);
    this.#attach(peer, { v: 3, id, opened: peer.opened, seen: peer.seen, active: peer.active, asked: false, session: null, locks: [], frames: [] });
    this.#peers.set(server, peer);
    this.#arm(this.now, false, peer);
    return upgradeResponse(client, headers);
  }

  /** Hibernation API: one WebSocket message (one CLASP frame). Text messages are ignored, as by the Node relay. */
  webSocketMessage(ws: CfWebSocket, message: ArrayBuffer | string): void {
    const peer = this.#peers.get(ws);
    if (!peer) return;
    this.#catchUp();
    // Any message is traffic that answers a PING, as for the Node relay (text ones too); the
    // router counts only the frames it gets as the session's activity.
    peer.seen = this.now;
    if (peer.asked) {
      peer.asked = false;
      if (!peer.dirty) this.touched(peer);
    }
    if (typeof message === "string") return this.#saveClocks();
    peer.active = this.now;
    if (!peer.dirty && peer.active - peer.savedActive >= TICK_MS) this.touched(peer);
    if (message.byteLength > this.#maxPayload) this.closePeer(peer, 1009, "message too big");
    else this.#receive(peer, new Uint8Array(message));
    this.#saveClocks();
  }

  /** Routes one frame and keeps the frames that make the session in the socket's attachment. */
  #receive(peer: RoomPeer, frame: Uint8Array): void {
    this.#host.receive(peer.conn, frame);
    if (peer.closed) return;
    const type = messageType(frame);
    if (type === HELLO) {
      // An accepted HELLO draws a new session id; one the router refused changed nothing.
      const session = this.#host.sessionOf(peer.conn) ?? null;
      if (session === null || session === peer.session) return;
      // A second HELLO starts a new session: the old one's subscriptions and locks ended.
      peer.hello = frame;
      peer.subs.clear();
      peer.locks.clear();
      peer.session = session;
      this.#arm(this.now, false, peer); // a short session timeout may come before the HELLO deadline
    } else if (type === ANNOUNCE && peer.hello) {
      this.#keepAnnouncement(peer, frame);
      return;
    } else if (((type === SET && frame.length > 5 && frame[frame[1]! & 0x20 ? 13 : 5]! & SET_LOCK_BITS) || type === BUNDLE) && peer.hello) {
      const addresses = lockAddresses(frame);
      if (addresses.length === 0) return;
      for (const address of addresses) {
        if (this.#router.lockHolder(address) === peer.conn) peer.locks.add(address);
        else peer.locks.delete(address);
      }
    } else if ((type === SUBSCRIBE || type === UNSUBSCRIBE) && peer.hello) {
      const id = subscriptionId(frame);
      if (id === undefined) return;
      // Re-inserted at the end: a replaced subscription is replayed after the ones before it.
      peer.subs.delete(id);
      if (type === SUBSCRIBE) peer.subs.set(id, frame);
    } else return;
    this.#save(peer);
  }

  /**
   * Stores a session in its socket's attachment: ids, locks, and its frames when they fit
   * (else in `clasp_sessions`). Locks that lapsed meanwhile (an expired param) are dropped.
   */
  #save(peer: RoomPeer): void {
    for (const address of peer.locks) if (this.#router.lockHolder(address) !== peer.conn) peer.locks.delete(address);
    const frames = peer.frames();
    const locks = [...peer.locks];
    let bytes = 0;
    for (const f of frames) bytes += f.length + 16;
    for (const a of locks) bytes += a.length * 3 + 16;
    const att: SessionAttachment = { v: 3, id: peer.id, opened: peer.opened, seen: 0, active: 0, asked: false, session: peer.session, locks, frames };
    if (bytes <= ATTACHMENT_BYTES) {
      const spilled = peer.attachment?.frames === null;
      this.#attach(peer, att);
      if (spilled) this.#sql.exec("DELETE FROM clasp_sessions WHERE id = ?", peer.id);
    } else {
      const upsert = "INSERT INTO clasp_sessions (id, frames, locks) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET frames = excluded.frames, locks = excluded.locks";
      this.#sql.exec(upsert, peer.id, packFrames(frames), JSON.stringify(locks));
      this.#attach(peer, { ...att, frames: null, locks: null });
    }
  }

  /** Hibernation API: the client closed its socket. */
  webSocketClose(ws: CfWebSocket, code: number, reason: string): void {
    const peer = this.#peers.get(ws);
    if (peer) this.#drop(peer);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason); // completes the close handshake
    } catch {
      // already closed
    }
  }

  /** Hibernation API: the socket failed. */
  webSocketError(ws: CfWebSocket): void {
    const peer = this.#peers.get(ws);
    if (peer) this.#drop(peer);
  }

  /** Closes a peer's socket with a WebSocket close code and ends its session. */
  closePeer(peer: RoomPeer, code: number, reason: string): void {
    if (peer.closed) return;
    try {
      peer.ws.close(code, reason);
    } catch {
      // already closed
    }
    this.#drop(peer);
  }

  #drop(peer: RoomPeer): void {
    peer.closed = true;
    if (this.#peers.get(peer.ws) !== peer) return;
    this.#peers.delete(peer.ws);
    this.#host.detach(peer.conn);
    if (peer.attachment?.frames === null) this.#sql.exec("DELETE FROM clasp_sessions WHERE id = ?", peer.id);
  }
}

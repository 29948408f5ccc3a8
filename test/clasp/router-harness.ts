/** A test harness around MiniRouter: named clients that send messages and collect what they receive. */
import { MiniRouter, type RouterConfig, type RouterEvent, type RouterStep } from "../../src/clasp/router.js";
import { decode, encode, type DecodedFrame, type EncodeOptions, type Message } from "../../src/clasp/index.js";

export interface Client {
  conn: number;
  session?: string;
  /** Everything this client received, in order. */
  inbox: DecodedFrame[];
  /** Sends a message; returns what this step delivered to each connection. */
  send(m: Message, options?: EncodeOptions): Map<number, Message[]>;
  /** Sends raw bytes. */
  sendBytes(b: Uint8Array): Map<number, Message[]>;
  /** Messages received since the last call. */
  take(): Message[];
}

export interface Harness {
  router: MiniRouter;
  now: number;
  events: RouterEvent[];
  /** Frame bytes of the last step, per delivery. */
  lastFrames: Array<{ conn: number; bytes: Uint8Array }>;
  client(name?: string, token?: string): Client;
  tick(advanceMicros?: number): Map<number, Message[]>;
  disconnect(c: Client): void;
}

export async function harness(config: RouterConfig = {}): Promise<Harness> {
  const router = await MiniRouter.load(config);
  const clients = new Map<number, Client & { cursor: number }>();
  const h: Harness = {
    router,
    now: 1_700_000_000_000_000,
    events: [],
    lastFrames: [],
    client(name = "test", token) {
      const conn = router.connect(h.now);
      if (conn === 0) throw new Error("router full");
      const c: Client & { cursor: number } = {
        conn,
        inbox: [],
        cursor: 0,
        send: (m, o) => apply(router.receive(conn, encode(m, o), h.now)),
        sendBytes: (b) => apply(router.receive(conn, b, h.now)),
        take() {
          const out = c.inbox.slice(c.cursor).map((f) => f.message);
          c.cursor = c.inbox.length;
          return out;
        },
      };
      clients.set(conn, c);
      const got = c.send({ type: "HELLO", version: 1, name, features: ["param", "event", "stream"], ...(token ? { token } : {}) });
      const welcome = got.get(conn)?.find((m) => m.type === "WELCOME");
      if (welcome?.type === "WELCOME") c.session = welcome.session;
      c.take();
      return c;
    },
    tick(advance = 0) {
      h.now += advance;
      return apply(router.tick(h.now));
    },
    disconnect(c) {
      apply(router.disconnect(c.conn));
      clients.delete(c.conn);
    },
  };
  function apply(step: RouterStep): Map<number, Message[]> {
    h.events.push(...step.events);
    h.lastFrames = [];
    const out = new Map<number, Message[]>();
    for (let i = 0; i < step.deliveries.length; i += 2) {
      const conn = step.deliveries[i]!;
      const bytes = step.frames[step.deliveries[i + 1]!]!;
      h.lastFrames.push({ conn, bytes });
      const frame = decode(bytes);
      clients.get(conn)?.inbox.push(frame);
      if (!out.has(conn)) out.set(conn, []);
      out.get(conn)!.push(frame.message);
    }
    return out;
  }
  return h;
}

/**
 * The MiniRouter component (wit/router.wit, build/router.component.wasm): one script of steps
 * run through the component transpiled by jco (Node) and in the Wasmtime engine (Python
 * `wasmtime`), seeded alike so session ids match: both must produce the same outboxes byte for
 * byte, and those must route as the TypeScript face (the core module) does.
 */
import { describe, it, expect } from "vitest";
import { fileURLToPath } from "node:url";
import { decode, encode, encodeValue, type Message } from "../../src/clasp/index.js";
import { MiniRouter } from "../../src/clasp/router.js";
import { runPython, wasmtimeUnavailable } from "../helpers/wasmtime.js";

interface Outbox {
  frames: Uint8Array;
  frameTable: Array<{ start: number; end: number; qos: number }>;
  deliveries: Array<{ conn: number; frame: number }>;
  events: Array<{ kind: number; a: number; b: number; c: number; d: number; e: number }>;
  records: Uint8Array;
  due: number;
}
interface RouterComponent {
  configure(c: Record<string, unknown>): void;
  seed(lo: number, hi: number): void;
  connect(now: number): number;
  disconnect(conn: number): Outbox;
  receive(conn: number, frame: Uint8Array, now: number): Outbox;
  tick(now: number): Outbox;
  hostSet(address: string, value: Uint8Array, now: number): { revision: bigint; outbox: Outbox };
  writable(conn: number, address: string): boolean;
  paramCount(): number;
  resumeSession(conn: number, session: string): Outbox | undefined;
  relock(conn: number, address: string): boolean;
  lockHolder(address: string): number;
}

const T0 = 1_700_000_000_000_000;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const CONFIG = {
  name: "component",
  max_sessions: 10,
  max_subscriptions: 10,
  max_state_entries: 0,
  max_message_size: 65547,
  state_ttl: 0,
  session_timeout: 0,
  authenticated: false,
  journal_depth: 4,
  journal_addresses: 100,
};
const HELLO: Message = { type: "HELLO", version: 1, name: "c", features: ["param"] };
/** The session id a rebuilt router gives back. */
const RESUMED = "0b5e33a1-1c1e-4d5a-9b7e-2f6a1c3d4e5f";
type Step =
  | { op: "connect"; now: number }
  | { op: "receive"; conn: number; frame: string; now: number }
  | { op: "tick"; now: number }
  | { op: "disconnect"; conn: number }
  | { op: "host-set"; address: string; value: string; now: number }
  | { op: "resume-session"; conn: number; session: string }
  | { op: "relock"; conn: number; address: string }
  | { op: "lock-holder"; address: string };
const rx = (conn: number, m: Message, now = T0, qos?: number): Step => ({ op: "receive", conn, frame: hex(encode(m, qos === undefined ? undefined : { qos })), now });

/**
 * Two clients: a subscriber with maxRate, a writer; SETs, a held change flushed by tick,
 * REPLAY, a host write, a refused step; then what a host that rebuilt its router does (the
 * Cloudflare room): a session given its earlier id back, locks asked about and given back.
 */
const STEPS: Step[] = [
  { op: "connect", now: T0 },
  { op: "connect", now: T0 },
  rx(1, HELLO),
  rx(2, HELLO),
  rx(1, { type: "SUBSCRIBE", id: 1, pattern: "/mix/**", options: { maxRate: 10 } }),
  rx(2, { type: "SET", address: "/mix/fader", value: 0.5 }),
  rx(2, { type: "SET", address: "/mix/fader", value: 0.75 }, T0 + 10_000),
  { op: "tick", now: T0 + 100_000 },
  rx(2, { type: "PUBLISH", address: "/mix/go", signal: "event", value: "cue 1" }, T0 + 200_000),
  rx(1, { type: "REPLAY", pattern: "/mix/**" }, T0 + 300_000),
  { op: "host-set", address: "/mix/fader", value: hex(encodeValue(1)), now: T0 + 400_000 },
  rx(9, { type: "PING" }),
  { op: "disconnect", conn: 2 },
  { op: "connect", now: T0 + 500_000 }, // 13
  rx(2, HELLO, T0 + 500_000),
  { op: "resume-session", conn: 2, session: RESUMED }, // 15
  { op: "resume-session", conn: 9, session: RESUMED },
  rx(2, { type: "SET", address: "/mix/lock", value: 1, lock: true }, T0 + 600_000),
  { op: "lock-holder", address: "/mix/lock" }, // 18
  { op: "relock", conn: 1, address: "/mix/lock" },
  { op: "disconnect", conn: 2 }, // 20: its lock goes
  { op: "lock-holder", address: "/mix/lock" },
  { op: "relock", conn: 1, address: "/mix/lock" },
  { op: "lock-holder", address: "/mix/lock" }, // 23
  { op: "relock", conn: 1, address: "/mix/none" },
];

type Result = { conn: number } | { error: string } | { value: boolean | number | null } | { deliveries: Array<[number, string]>; qos: number[]; events: number[][]; records: string; due: number; revision?: number };

function lower(o: Outbox): Exclude<Result, { conn: number } | { error: string } | { value: unknown }> {
  return {
    deliveries: o.deliveries.map((d) => [d.conn, hex(o.frames.subarray(o.frameTable[d.frame]!.start, o.frameTable[d.frame]!.end))]),
    qos: o.frameTable.map((f) => f.qos),
    events: o.events.map((e) => [e.kind, e.a, e.b, e.c, e.d, e.e]),
    records: hex(o.records),
    due: o.due,
  };
}

let jcoRun: Promise<Result[]> | undefined;
/** The script's results through jco's transpilation (one instance, so run once). */
function viaJco(): Promise<Result[]> {
  jcoRun ??= runJco();
  return jcoRun;
}

async function runJco(): Promise<Result[]> {
  const { router } = (await import("../../build/jco/router/router.js")) as unknown as { router: RouterComponent };
  router.configure(Object.fromEntries(Object.entries(CONFIG).map(([k, v]) => [k.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()), v])));
  router.seed(1, 2);
  return STEPS.map((s): Result => {
    switch (s.op) {
      case "connect":
        return { conn: router.connect(s.now) };
      case "receive":
        try {
          return lower(router.receive(s.conn, Buffer.from(s.frame, "hex"), s.now));
        } catch (e) {
          // jco throws the result's error case itself.
          return { error: typeof e === "string" ? e : String((e as { payload?: unknown }).payload) };
        }
      case "tick":
        return lower(router.tick(s.now));
      case "disconnect":
        return lower(router.disconnect(s.conn));
      case "host-set": {
        const w = router.hostSet(s.address, Buffer.from(s.value, "hex"), s.now);
        return { ...lower(w.outbox), revision: Number(w.revision) };
      }
      case "resume-session": {
        const o = router.resumeSession(s.conn, s.session);
        return o === undefined ? { value: null } : lower(o);
      }
      case "relock":
        return { value: router.relock(s.conn, s.address) };
      case "lock-holder":
        return { value: router.lockHolder(s.address) };
    }
  });
}

const delivered = (r: Result | undefined, conn: number) =>
  r && "deliveries" in r ? r.deliveries.filter(([c]) => c === conn).map(([, f]) => decode(Buffer.from(f, "hex")).message) : [];

describe("the router component transpiled by jco", () => {
  it("routes like the TypeScript face: options, tick, REPLAY, host writes, a refused step", async () => {
    const out = await viaJco();
    expect(out[0]).toEqual({ conn: 1 });
    expect(delivered(out[2], 1).map((m) => m.type)).toEqual(["WELCOME", "SNAPSHOT"]);
    expect(delivered(out[5], 1)).toEqual([{ type: "SET", address: "/mix/fader", value: 0.5, revision: 1 }]);
    expect(delivered(out[6], 1)).toEqual([]); // held by maxRate 10
    expect((out[6] as { due: number }).due).toBe(T0 + 100_000);
    expect(delivered(out[7], 1)).toEqual([{ type: "SET", address: "/mix/fader", value: 0.75, revision: 2 }]);
    expect(delivered(out[9], 1).map((m) => m.type)).toEqual(["SET", "SET", "PUBLISH"]);
    expect(out[10]).toMatchObject({ revision: 3 });
    expect(out[11]).toEqual({ error: "not-open" });
    expect((out[12] as { events: number[][] }).events.map((e) => e[0])).toEqual([7]); // session ended
    // A rebuilt router's session gets its id back (a `session` event naming it), locks move.
    expect(out[13]).toEqual({ conn: 2 });
    const resumed = out[15] as { events: number[][]; records: string };
    expect(resumed.events).toHaveLength(1);
    const [kind, conn, at, len] = resumed.events[0]!;
    expect([kind, conn]).toEqual([6, 2]);
    expect(Buffer.from(resumed.records, "hex").subarray(at, at! + len!).toString()).toBe(RESUMED);
    expect(out[16]).toEqual({ value: null }); // no session on connection 9
    expect(out.slice(18, 20)).toEqual([{ value: 2 }, { value: false }]);
    expect(out.slice(21)).toEqual([{ value: 0 }, { value: true }, { value: 1 }, { value: false }]);

    // The same steps through the TypeScript face over the core module: the same frames
    // except those carrying the (randomly seeded) session ids.
    const face = await MiniRouter.load({ name: CONFIG.name, maxSessions: 10, maxSubscriptionsPerSession: 10, journalDepth: 4, journalAddresses: 100 });
    STEPS.forEach((s, i) => {
      let step;
      if (s.op === "connect") return void expect(face.connect(s.now)).toBe((out[i] as { conn: number }).conn);
      if (s.op === "receive") {
        if (s.conn === 9) return;
        step = face.receive(s.conn, Buffer.from(s.frame, "hex"), s.now);
      } else if (s.op === "tick") step = face.tick(s.now);
      else if (s.op === "disconnect") step = face.disconnect(s.conn);
      else if (s.op === "host-set") step = face.hostSet(s.address, 1, s.now);
      else if (s.op === "relock") return void expect({ value: face.relock(s.conn, s.address) }).toEqual(out[i]);
      else if (s.op === "lock-holder") return void expect({ value: face.lockHolder(s.address) }).toEqual(out[i]);
      else {
        const resumed = face.resumeSession(s.conn, s.session);
        if (resumed === null) return void expect(out[i]).toEqual({ value: null });
        step = resumed;
      }
      const frames = Array.from({ length: step.deliveries.length / 2 }, (_, k) => [step.deliveries[2 * k]!, hex(step.frames[step.deliveries[2 * k + 1]!]!)]);
      const mine = (out[i] as { deliveries: Array<[number, string]> }).deliveries;
      expect(frames.map(([c]) => c)).toEqual(mine.map(([c]) => c));
      frames.forEach(([, f], k) => {
        const m = decode(Buffer.from(f as string, "hex")).message;
        if (m.type !== "WELCOME" && m.type !== "SNAPSHOT") expect(f).toBe(mine[k]![1]);
      });
    });
  });
});

describe("the router component in the Wasmtime engine", async () => {
  const why = await wasmtimeUnavailable();
  it.skipIf(why)(why ?? "produces the outboxes jco's transpilation produces, byte for byte", async () => {
    const script = fileURLToPath(new URL("../hosts/router_wasmtime.py", import.meta.url));
    const out = JSON.parse((await runPython(script, [], JSON.stringify({ config: CONFIG, seed: [1, 2], steps: STEPS }))).toString()) as Result[];
    expect(out).toEqual(await viaJco());
  });
});

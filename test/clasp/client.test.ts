// ClaspClient (our codec) against the relay over WebSocket and against the hub over
// MessagePort / BroadcastChannel; interop with the real @clasp-to/core 3.3.2 client.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { ClaspClient, ClaspConnectionError, ClaspError, ClaspTimeoutError, type MessageInfo } from "../../src/clasp/client.js";
import { ClaspPatternError, codec } from "../../src/clasp/index.js";
import { RouterHub } from "../../src/relay/hub.js";
import type { Relay } from "../../src/relay/index.js";
import { FileStorage } from "../../src/storage/fs.js";
import { TransportError, type Transport, type TransportHandlers } from "../../src/transports/index.js";
import { BroadcastChannelTransport, MessagePortTransport, type PortLike } from "../../src/transports/port.js";
import { WebSocketTransport, type WebSocketConstructor } from "../../src/transports/websocket.js";
import { sleep, startRelay, until } from "../relay/helpers.js";

let relay: Relay;
const open: ClaspClient[] = [];
const ws = (url = relay.url) => () => new WebSocketTransport(url, { WebSocket: WebSocket as unknown as WebSocketConstructor });

async function client(options = {}): Promise<ClaspClient> {
  const c = await ClaspClient.connect(ws(), options);
  open.push(c);
  return c;
}

type Seen = Array<[string, unknown, MessageInfo]>;

beforeAll(async () => {
  relay = await startRelay();
});
afterAll(async () => {
  for (const c of open) c.close();
  await relay.close();
});

describe("ClaspClient over WebSocket", () => {
  it("connects (subprotocol clasp), gets a session, and refuses a server without the echo", async () => {
    const c = await client({ name: "t" });
    expect(c.connected).toBe(true);
    expect(c.session).toMatch(/^[0-9a-f-]{36}$/);
    expect(Math.abs(c.time() / 1000 - Date.now())).toBeLessThan(1000);
    const plain = new WebSocketServer({ port: 0, handleProtocols: () => false });
    await new Promise((r) => plain.once("listening", r));
    const port = (plain.address() as { port: number }).port;
    await expect(ClaspClient.connect(ws(`ws://127.0.0.1:${port}/`))).rejects.toThrow(TransportError);
    plain.close();
  });

  it("sets and gets with revisions, and rejects conflicts, locks and missing params with ClaspError", async () => {
    const a = await client();
    const b = await client();
    expect(await a.set("/c/x", 1)).toBe(1);
    expect(await a.set("/c/x", 2)).toBe(2);
    expect(await b.get("/c/x")).toBe(2);
    await expect(a.set("/c/x", 3, { revision: 1 })).rejects.toMatchObject({ name: "ClaspError", code: 400, address: "/c/x" });
    expect(await a.set("/c/x", 3, { revision: 2 })).toBe(3);
    await a.set("/c/locked", 1, { lock: true });
    const errors: ClaspError[] = [];
    b.onError((e) => errors.push(e));
    const refused = b.set("/c/locked", 2);
    await expect(refused).rejects.toBeInstanceOf(ClaspError);
    await expect(refused).rejects.toThrow(/locked by/);
    expect(errors.map((e) => e.code)).toEqual([401]); // LockHeld (upstream sends 400; docs/router.md)
    expect(b.lastError?.address).toBe("/c/locked");
    await expect(b.get("/c/none")).rejects.toMatchObject({ code: 201 });
  });

  it("dispatches SETs, snapshots and PUBLISHes to pattern listeners with the router's semantics", async () => {
    const a = await client();
    const b = await client();
    await a.set("/d/old", "before");
    const all: Seen = [];
    const faders: Seen = [];
    const events: Seen = [];
    b.on("/d/**", (v, addr, info) => all.push([addr, v, info]));
    b.on("/d/*/fader", (v, addr, info) => faders.push([addr, v, info]), { types: ["param"] });
    b.on("/d/**", (v, addr, info) => events.push([addr, v, info]), { types: ["event", "gesture", "stream"] });
    await until(() => all.length === 1, 2000, "snapshot");
    expect(all[0]!.slice(0, 2)).toEqual(["/d/old", "before"]);
    expect(all[0]![2]).toMatchObject({ signal: "param", revision: 1 });
    expect(faders).toEqual([]); // the snapshot of /d/** is not news to /d/*/fader (it does not match)

    await a.set("/d/1/fader", 0.5);
    await a.set("/d", "the root: ** matches zero segments");
    a.emit("/d/go", { cue: 1 });
    a.stream("/d/s", new Float64Array([1, 2, 3]), 100);
    a.gesture("/d/t", 9, "start", { x: 1 });
    a.gesture("/d/t", 9, "end", { x: 2 });
    await until(() => events.length === 4, 2000, "publishes");
    expect(faders.map(([addr, v, i]) => [addr, v, i.revision])).toEqual([["/d/1/fader", 0.5, 1]]);
    expect(all.map(([addr]) => addr)).toEqual(["/d/old", "/d/1/fader", "/d", "/d/go", "/d/s", "/d/t", "/d/t"]);
    expect(events.map(([addr, v, i]) => [addr, v, i.signal, i.phase, i.id, i.samples, i.rate])).toEqual([
      ["/d/go", { cue: 1 }, "event", undefined, undefined, undefined, undefined],
      ["/d/s", null, "stream", undefined, undefined, [1, 2, 3], 100],
      ["/d/t", { x: 1 }, "gesture", "start", 9, undefined, undefined],
      ["/d/t", { x: 2 }, "gesture", "end", 9, undefined, undefined],
    ]);
    expect(typeof events[0]![2].timestamp).toBe("number");
  });

  it("gives a new listener the snapshot without repeating it to older ones", async () => {
    const a = await client();
    await a.set("/e/1", 1);
    const b = await client();
    const first: string[] = [];
    const second: string[] = [];
    b.on("/e/*", (_v, addr) => first.push(addr));
    await until(() => first.length === 1, 2000);
    b.on("/e/**", (_v, addr) => second.push(addr));
    await until(() => second.length === 1, 2000);
    await sleep(50);
    expect(first).toEqual(["/e/1"]);
    await a.set("/e/1", 2);
    await until(() => first.length === 2 && second.length === 2, 2000);
  });

  it("answers get() from the cache only while a subscription keeps it current", async () => {
    const a = await client();
    const b = await client();
    await a.set("/f/x", 1);
    expect(await b.get("/f/x")).toBe(1);
    await a.set("/f/x", 2);
    expect(await b.get("/f/x")).toBe(2); // not subscribed: asked again, not the stale cache
    b.on("/f/*", () => {});
    await sleep(30);
    const send = vi.spyOn(WebSocket.prototype, "send");
    expect(await b.get("/f/x")).toBe(2);
    expect(send).not.toHaveBeenCalled(); // from the cache
    send.mockRestore();
    expect(b.param("/f/x")).toEqual({ value: 2, revision: 2 });
  });

  it("unsubscribes, bundles atomically, and throws ClaspPatternError for a bad pattern", async () => {
    const a = await client();
    const b = await client();
    const got: string[] = [];
    const off = b.on("/g/*", (_v, addr) => got.push(addr));
    expect(() => b.on("/g//x", () => {})).toThrow(ClaspPatternError);
    await sleep(20);
    expect(await a.bundle([{ set: ["/g/1", 1] }, { set: ["/g/2", 2] }, { emit: ["/g/done"] }])).toBe(1);
    await until(() => got.length === 3, 2000);
    off();
    await sleep(20);
    await a.set("/g/1", 5);
    await sleep(50);
    expect(got).toEqual(["/g/1", "/g/2", "/g/done"]);
  });

  it("rejects requests when not connected, on timeout, and when the connection drops", async () => {
    const c = new ClaspClient(ws());
    await expect(c.set("/x", 1)).rejects.toBeInstanceOf(ClaspConnectionError);
    expect(() => c.emit("/x")).toThrow(ClaspConnectionError);
    // A transport whose far side answers only the HELLO.
    let handlers: TransportHandlers | undefined;
    const fake: Transport = {
      open: async (h) => void (handlers = h),
      send: (frame) => {
        if (codec.decode(frame).message.type === "HELLO") {
          queueMicrotask(() => handlers!.frame(codec.encode({ type: "WELCOME", version: 1, session: "s", name: "fake", features: [], time: Date.now() * 1000 })));
        }
      },
      close: () => handlers!.close({ code: 1000, reason: "" }),
    };
    const d = await ClaspClient.connect(fake, { requestTimeoutMs: 50 });
    await expect(d.get("/nobody/answers")).rejects.toBeInstanceOf(ClaspTimeoutError);
    const pending = d.set("/nobody/answers", 1);
    handlers!.close({ code: 1006, reason: "" });
    await expect(pending).rejects.toBeInstanceOf(ClaspConnectionError);
    expect(d.connected).toBe(false);
  });

  it("settles a request answered synchronously, within the transport's send", async () => {
    // A far side that answers in the same call (an in-process hub, a test double): the answer
    // arrives before send() returns, so the request must already be waiting for it.
    let handlers: TransportHandlers | undefined;
    const sync: Transport = {
      open: async (h) => void (handlers = h),
      send: (frame) => {
        const m = codec.decode(frame).message;
        if (m.type === "HELLO") handlers!.frame(codec.encode({ type: "WELCOME", version: 1, session: "s", name: "sync", features: [], time: Date.now() * 1000 }));
        else if (m.type === "SET") handlers!.frame(codec.encode({ type: "ACK", address: m.address, revision: 7 }));
      },
      close: () => handlers!.close({ code: 1000, reason: "" }),
    };
    const c = await ClaspClient.connect(sync, { requestTimeoutMs: 200 });
    await expect(c.set("/sync", 1)).resolves.toBe(7);
    c.close();
  });

  it("reconnects after the relay restarts and subscribes again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-client-"));
    try {
      const r1 = await startRelay({ storage: `fs:${dir}` });
      const port = r1.port;
      const c = await ClaspClient.connect(ws(r1.url), { reconnect: { delayMs: 50 } });
      const got: unknown[] = [];
      const closes: number[] = [];
      c.onClose((i) => closes.push(i.code));
      c.on("/r/*", (v) => got.push(v));
      await c.set("/r/x", 1);
      await r1.close();
      expect(closes).toEqual([1001]);
      const r2 = await startRelay({ storage: `fs:${dir}`, port });
      await until(() => c.connected, 5000, "reconnect");
      await until(() => got.length === 2, 2000, "snapshot after reconnect"); // 1 (live), 1 (snapshot: new session)
      const other = await ClaspClient.connect(ws(r2.url));
      expect(await other.set("/r/x", 2)).toBe(2); // the revision survived the restart
      await until(() => got.length === 3, 2000);
      expect(got).toEqual([1, 1, 2]);
      c.close();
      other.close();
      await r2.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it("keeps an idle session alive by answering the relay's PING", async () => {
    const r = await startRelay({ router: { sessionTimeout: 1 } }); // asked after 0.5 s quiet, closed after 1 s
    try {
      const c = await ClaspClient.connect(ws(r.url));
      const closes: number[] = [];
      c.onClose((i) => closes.push(i.code));
      await sleep(3000); // three timeouts with nothing sent but PONGs
      expect(closes).toEqual([]);
      expect(c.connected).toBe(true);
      expect(await c.set("/idle/x", 1)).toBe(1);
      c.close();
    } finally {
      await r.close();
    }
  });
});

describe("interop with @clasp-to/core 3.3.2", () => {
  it("exchanges params and events with the upstream client through the relay", async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    const { Clasp } = await import("@clasp-to/core");
    const debug = vi.spyOn(console, "debug").mockImplementation(() => {});
    const upstream = new Clasp(relay.url, { reconnect: false });
    await upstream.connect();
    const ours = await client();
    const fromUpstream: Array<[string, unknown]> = [];
    const fromOurs: Array<[string, unknown]> = [];
    ours.on("/i/**", (v, addr) => fromUpstream.push([addr, v]));
    upstream.subscribe("/j/**", (v, addr) => fromOurs.push([addr, v]));
    await sleep(50);
    upstream.set("/i/a", { nested: [1, "two"] });
    upstream.emit("/i/e", "go");
    await ours.set("/j/a", 0.25);
    ours.emit("/j/e", { n: 1 });
    await until(() => fromUpstream.length === 2 && fromOurs.length === 2, 3000);
    expect(fromUpstream).toEqual([["/i/a", { nested: [1, "two"] }], ["/i/e", "go"]]);
    expect(fromOurs).toEqual([["/j/a", 0.25], ["/j/e", { n: 1 }]]);
    upstream.close();
    debug.mockRestore();
  });
});

describe("ClaspClient to the in-process hub", () => {
  it("talks over MessagePort and BroadcastChannel, and the hub persists params", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-hub-"));
    try {
      const hub = await RouterHub.start({ storage: new FileStorage(dir), channel: "test-hub" });
      const viaPort = () => {
        const { port1, port2 } = new MessageChannel();
        hub.connect(port2 as unknown as PortLike);
        return new MessagePortTransport(port1 as unknown as PortLike);
      };
      const a = await ClaspClient.connect(viaPort);
      const b = await ClaspClient.connect(() => new BroadcastChannelTransport("test-hub"));
      const got: Array<[string, unknown]> = [];
      b.on("/hub/**", (v, addr) => got.push([addr, v]));
      await sleep(20);
      expect(await a.set("/hub/x", "hello")).toBe(1);
      a.emit("/hub/e", 1);
      await until(() => got.length === 2, 2000);
      expect(got).toEqual([["/hub/x", "hello"], ["/hub/e", 1]]);
      expect(hub.stats()).toMatchObject({ connections: 2, params: 1 });
      const closed: number[] = [];
      b.onClose((i) => closed.push(i.code));
      await hub.close();
      await until(() => closed.length === 1, 2000, "bye");
      expect(closed).toEqual([1001]);
      expect(a.connected).toBe(false);
      await expect(ClaspClient.connect(() => new BroadcastChannelTransport("test-hub", { timeoutMs: 200 }))).rejects.toThrow(/no hub answered/);
      const again = await RouterHub.start({ storage: new FileStorage(dir), channel: false });
      expect(again.restored.restored).toBe(1);
      const c = await ClaspClient.connect(() => {
        const { port1, port2 } = new MessageChannel();
        again.connect(port2 as unknown as PortLike);
        return new MessagePortTransport(port1 as unknown as PortLike);
      });
      expect(await c.set("/hub/x", "again")).toBe(2);
      c.close();
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("leaves no session behind for a client that gave up or said hello twice", async () => {
    const hub = await RouterHub.start({ channel: "test-hub-leaks" });
    try {
      // a port transport times out before the hub attaches its port: the late session ends at once
      const { port1, port2 } = new MessageChannel();
      await expect(new MessagePortTransport(port1 as unknown as PortLike, { timeoutMs: 50 }).open({ frame() {}, close() {} })).rejects.toThrow(/no hub answered/);
      hub.connect(port2 as unknown as PortLike);
      await until(() => hub.stats().connections === 0, 2000, "late port session ended");
      // a repeated hello on the channel replaces the connection instead of adding one
      const ch = new BroadcastChannel("test-hub-leaks");
      const opened: unknown[] = [];
      ch.onmessage = (ev: MessageEvent) => (ev.data?.t === "open" ? opened.push(ev.data) : undefined);
      ch.postMessage({ t: "hello", from: "tab-1" });
      ch.postMessage({ t: "hello", from: "tab-1" });
      await until(() => opened.length === 2, 2000, "two opens");
      expect(hub.stats().connections).toBe(1);
      ch.postMessage({ t: "close", from: "tab-1" });
      await until(() => hub.stats().connections === 0, 2000, "closed");
      ch.close();
    } finally {
      await hub.close();
    }
  });
});

// No lock-out: connections that never say HELLO, sessions that go silent and TCP peers that
// died are closed (and counted), so abandoned sockets cannot hold every session slot; live
// clients, the real @clasp-to/core one included, keep their sessions. Upgrades that offer
// other subprotocols than `clasp` are refused.
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { defaultConfig, DEFAULT_SESSION_TIMEOUT } from "../../src/relay/config.js";
import { RawClient, sleep, startRelay, until } from "./helpers.js";

/** The value of a metric line in Prometheus text (NaN when absent). */
async function metric(httpUrl: string, line: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}metrics`)).text();
  const escaped = line.replace(/[{}"|.]/g, "\\$&");
  return Number(new RegExp(`^${escaped} (\\S+)$`, "m").exec(text)?.[1]);
}

describe("relay liveness", () => {
  it("closes connections without HELLO after helloTimeout (1008) and keeps those that said HELLO", async () => {
    const relay = await startRelay({ helloTimeout: 1 });
    const silent = await Promise.all([RawClient.open(relay.url), RawClient.open(relay.url), RawClient.open(relay.url)]);
    const ok = await RawClient.hello(relay.url);
    for (const s of silent) expect(await s.closed).toEqual({ code: 1008, reason: "no HELLO in time" });
    await sleep(1000);
    expect(ok.ws.readyState).toBe(WebSocket.OPEN);
    expect(relay.connections).toBe(1);
    expect(await metric(relay.httpUrl, 'clawft_relay_refusals_total{reason="hello_timeout"}')).toBe(3);
    ok.close();
    await relay.close();
  });

  it("times abandoned sessions out by default, so they cannot lock everyone out; a quiet client that answers the relay's CLASP PING stays", async () => {
    expect(defaultConfig().router.sessionTimeout).toBe(DEFAULT_SESSION_TIMEOUT);
    expect(DEFAULT_SESSION_TIMEOUT).toBeGreaterThan(0);
    const relay = await startRelay({ router: { sessionTimeout: 2, maxSessions: 2 } });
    // Both HELLO and then send nothing of their own; one answers the relay's PINGs as
    // @clasp-to/core does, the other (an abandoned session) does not.
    const answering = await RawClient.hello(relay.url);
    answering.ws.on("message", (data: Buffer) => {
      if (data[4] === 0x41) answering.send({ type: "PONG" });
    });
    const abandoned = await RawClient.hello(relay.url);
    // Every slot is taken: a third client is refused for now.
    const early = await RawClient.open(relay.url);
    expect(await early.closed).toEqual({ code: 1013, reason: "router full" });
    expect(await abandoned.closed).toEqual({ code: 1000, reason: "idle" });
    expect(abandoned.of("PING").length).toBeGreaterThanOrEqual(1); // it was asked
    // The abandoned session's slot is free again.
    const late = await RawClient.hello(relay.url);
    await sleep(2500); // more than a whole timeout after the other's close
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    expect(answering.of("PING").length).toBeGreaterThanOrEqual(2);
    expect(answering.of("ERROR")).toEqual([]); // its PONGs are plain traffic to the router
    expect((await late.closed).code).toBe(1000); // it answers no PING either
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    expect(await metric(relay.httpUrl, 'clawft_relay_refusals_total{reason="idle"}')).toBe(2);
    expect(await metric(relay.httpUrl, 'clawft_relay_refusals_total{reason="full"}')).toBe(1);
    answering.close();
    await relay.close();
  });

  it("keeps the real @clasp-to/core client's idle session alive past sessionTimeout", async () => {
    (globalThis as { WebSocket?: unknown }).WebSocket = WebSocket;
    const { Clasp } = await import("@clasp-to/core");
    const relay = await startRelay({ router: { sessionTimeout: 2 } });
    const client = new Clasp(relay.url, { name: "idle core client", reconnect: false });
    await client.connect();
    await sleep(5000); // 2.5 timeouts without a frame of the client's own
    expect(client.connected).toBe(true);
    expect(relay.connections).toBe(1);
    expect(await metric(relay.httpUrl, 'clawft_relay_refusals_total{reason="idle"}')).toBeNaN();
    client.close();
    await relay.close();
  }, 15_000);

  it("drops a peer that stops answering WebSocket pings (a dead TCP connection)", async () => {
    const relay = await startRelay({ pingInterval: 1 });
    const alive = await RawClient.hello(relay.url);
    // autoPong off: pings go unanswered, as with a peer whose host vanished.
    const dead = new WebSocket(relay.url, ["clasp"], { autoPong: false });
    const deadClosed = new Promise<number>((resolve) => dead.on("close", (code) => resolve(code)));
    dead.on("error", () => {});
    await new Promise((r) => dead.once("open", r));
    await until(() => relay.connections === 2, 2000, "both connected");
    expect(await deadClosed).toBe(1006); // terminated, no close handshake
    await until(() => relay.connections === 1, 2000, "the dead peer detached");
    await sleep(2200);
    expect(alive.ws.readyState).toBe(WebSocket.OPEN);
    expect(await metric(relay.httpUrl, 'clawft_relay_refusals_total{reason="dead_peer"}')).toBe(1);
    alive.close();
    await relay.close();
  });

  it("refuses an upgrade that offers subprotocols but not clasp (400), accepts clasp among others", async () => {
    const relay = await startRelay();
    await expect(RawClient.open(relay.url, ["mqtt"])).rejects.toThrow(/Unexpected server response: 400/);
    const mixed = await RawClient.open(relay.url, ["mqtt", "clasp"]);
    expect(mixed.ws.protocol).toBe("clasp");
    const none = await RawClient.open(relay.url, []);
    expect(none.ws.protocol).toBe("");
    expect(relay.connections).toBe(2);
    expect(await metric(relay.httpUrl, 'clawft_relay_refusals_total{reason="subprotocol"}')).toBe(1);
    mixed.close();
    none.close();
    await relay.close();
  });
});

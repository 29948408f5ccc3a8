/**
 * Governed CLASP addresses on the real router: a CLP contract bound to the RouterHost (the
 * relay's and the in-browser hub's router host). A SET on a governed pattern becomes an
 * intent; the committed diff goes out as CLASP SETs with the router's revisions; a denial
 * goes back to the sender as ERROR 402 with the guard's name.
 */
import { describe, it, expect } from "vitest";
import { encode, decode, type Message } from "../../src/clasp/index.js";
import { MiniRouter, type RouterConfig } from "../../src/clasp/router.js";
import { RouterHost } from "../../src/relay/host.js";
import { createContract, createRuntime, governAddresses } from "../../src/clp/index.js";

function flights() {
  return createRuntime(
    createContract({
      intents: { selectFlight: { inputs: { flightId: "string" } } },
      constants: { flights: ["LH1", "BA2"] },
      guards: [
        {
          name: "flight_must_exist",
          deny: { not: { in: [{ var: "intent.payload.flightId" }, { var: "const.flights" }] } },
        },
      ],
      transitions: {
        select: { when: { "==": [{ var: "intent.name" }, "selectFlight"] }, effects: { "booking.flight": { var: "intent.payload.flightId" } } },
      },
    }),
  );
}

async function setup(config: RouterConfig = {}) {
  const host = new RouterHost(await MiniRouter.load(config));
  const inbox = new Map<number, Message[]>();
  const peer = (token?: string) => {
    const conn = host.attach({ send: (f) => inbox.get(conn)!.push(decode(f).message), close: () => {} });
    inbox.set(conn, []);
    host.receive(conn, encode({ type: "HELLO", version: 1, name: "p", features: ["param"], ...(token ? { token } : {}) }));
    inbox.set(conn, []);
    return {
      conn,
      send: (m: Message) => host.receive(conn, encode(m)),
      take: () => inbox.get(conn)!.splice(0),
    };
  };
  const runtime = flights();
  governAddresses(runtime, host, { bindings: [{ pattern: "/flights/select", intent: "selectFlight", payload: (s) => ({ flightId: s.value }) }] });
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { host, peer, runtime, settle };
}

describe("governed addresses on the router", () => {
  it("a SET becomes an intent; the committed diff is broadcast as SETs with revisions", async () => {
    const { peer, runtime, settle } = await setup();
    const alice = peer();
    const watcher = peer();
    watcher.send({ type: "SUBSCRIBE", id: 1, pattern: "/state/**" });
    alice.send({ type: "SET", address: "/flights/select", value: "LH1" });
    await settle();
    expect(runtime.getState("booking")).toEqual({ flight: "LH1" });
    expect(alice.take()).toEqual([{ type: "ACK", address: "/flights/select" }]);
    expect(watcher.take()).toEqual([{ type: "SET", address: "/state/booking/flight", value: "LH1", revision: 1 }]);
    alice.send({ type: "SET", address: "/flights/select", value: "BA2" });
    await settle();
    expect(watcher.take()).toEqual([{ type: "SET", address: "/state/booking/flight", value: "BA2", revision: 2 }]);
    // The governed address itself is not stored as a param.
    watcher.send({ type: "GET", address: "/flights/select" });
    expect(watcher.take()).toEqual([expect.objectContaining({ type: "ERROR", code: 201 })]);
  });

  it("a denial goes back to the sender as ERROR 402 naming the guard; nothing changes", async () => {
    const { peer, runtime, settle } = await setup();
    const alice = peer();
    alice.send({ type: "SET", address: "/flights/select", value: "XX9" });
    await settle();
    const [err] = alice.take();
    expect(err).toMatchObject({ type: "ERROR", code: 402, address: "/flights/select" });
    expect((err as { message: string }).message).toMatch(/flight_must_exist/);
    expect(runtime.getState("booking")).toBeUndefined();
  });

  it("keeps each session's frames in order behind a pending verdict", async () => {
    const { peer, settle } = await setup();
    const alice = peer();
    alice.send({ type: "SET", address: "/flights/select", value: "LH1" });
    alice.send({ type: "PING" });
    alice.send({ type: "SET", address: "/other", value: 1 });
    await settle();
    expect(alice.take().map((m) => m.type)).toEqual(["ACK", "PONG", "ACK"]);
  });

  it("protects the published state and refuses governed SETs inside a BUNDLE", async () => {
    const { peer, settle } = await setup();
    const alice = peer();
    alice.send({ type: "SET", address: "/state/booking/flight", value: "hacked" });
    alice.send({ type: "BUNDLE", messages: [{ type: "SET", address: "/flights/select", value: "LH1" }] });
    await settle();
    const [a, b] = alice.take();
    expect(a).toMatchObject({ type: "ERROR", code: 301 });
    expect(b).toMatchObject({ type: "ERROR", code: 402, message: expect.stringMatching(/BUNDLE/) });
  });

  it("leaves the router's own answers to sessions that may not write there", async () => {
    const { peer, settle, runtime } = await setup({ security: "authenticated", tokens: [{ token: "ro", write: ["/nothing"] }] });
    const reader = peer("ro");
    reader.send({ type: "SET", address: "/flights/select", value: "LH1" });
    await settle();
    expect(reader.take()).toEqual([expect.objectContaining({ type: "ERROR", code: 301, address: "/flights/select" })]);
    expect(runtime.getState("booking")).toBeUndefined();
  });
});

/**
 * Governed CLASP addresses against an in-memory router implementing GovernableRouter: a SET
 * on a governed pattern becomes an intent, the committed diff goes out as SETs with
 * revisions, and a denial comes back as ERROR 402 naming the guard.
 */
import { describe, it, expect } from "vitest";
import { createContract, createRuntime, governAddresses } from "../../src/clp/index.js";
import { FakeRouter, matches } from "./fake-router.js";

function flights() {
  return createRuntime(
    createContract({
      intents: { selectFlight: { inputs: { flightId: "string" } }, setSeats: { inputs: { value: "number" } } },
      constants: { flights: ["LH1", "BA2"] },
      guards: [
        {
          name: "flight_must_exist_for_select",
          deny: { and: [{ "==": [{ var: "intent.name" }, "selectFlight"] }, { not: { in: [{ var: "intent.payload.flightId" }, { var: "const.flights" }] } }] },
        },
        { name: "seats_positive", deny: { and: [{ "==": [{ var: "intent.name" }, "setSeats"] }, { "<": [{ var: "intent.payload.value" }, 1] }] } },
      ],
      transitions: {
        select: { when: { "==": [{ var: "intent.name" }, "selectFlight"] }, effects: { "booking.flight": { var: "intent.payload.flightId" } } },
        seats: { when: { "==": [{ var: "intent.name" }, "setSeats"] }, effects: { "booking.seats": { var: "intent.payload.value" } } },
      },
    }),
  );
}

describe("the fake router's patterns", () => {
  it("follow the router trie (clasp-wire.md §5)", () => {
    expect(matches("/a/**", "/a")).toBe(true);
    expect(matches("/a/**/z", "/a/z")).toBe(true);
    expect(matches("/a/**/z", "/a/b/c/z")).toBe(true);
    expect(matches("/a/*", "/a/")).toBe(true);
    expect(matches("/a/*", "/a")).toBe(false);
    expect(matches("/a/*", "/a/b/c")).toBe(false);
    expect(matches("/a/b*", "/a/bc")).toBe(true);
    expect(matches("/a/?", "/a/b")).toBe(false);
  });
});

describe("governed addresses", () => {
  it("turn a SET into an intent and publish the committed diff as SETs with revisions", async () => {
    const router = new FakeRouter();
    const rt = flights();
    const published: Array<[string, number | bigint]> = [];
    governAddresses(rt, router, {
      bindings: [
        { pattern: "/flights/select", intent: "selectFlight", payload: (s) => ({ flightId: s.value }) },
        { pattern: "/booking/*/seats", intent: "setSeats" },
      ],
      onPublish: (a, r) => void published.push([a, r]),
    });
    router.subscribe("watcher", "/state/**");
    await router.set("alice", "/flights/select", "LH1");
    expect(rt.getState("booking")).toEqual({ flight: "LH1" });
    expect(router.received("alice")).toEqual([{ type: "ACK", address: "/flights/select" }]);
    expect(router.received("watcher")).toEqual([{ type: "SET", address: "/state/booking/flight", value: "LH1", revision: 1 }]);
    expect(router.params.has("/flights/select")).toBe(false); // consumed, not stored as a param
    await router.set("alice", "/booking/x/seats", 2);
    await router.set("bob", "/flights/select", "BA2");
    expect(router.received("watcher").at(-1)).toEqual({ type: "SET", address: "/state/booking/flight", value: "BA2", revision: 2 });
    expect(published).toEqual([["/state/booking/flight", 1], ["/state/booking/seats", 1], ["/state/booking/flight", 2]]);
    expect(rt.getEvents()).toHaveLength(3);
  });

  it("send a denial back to the sender as ERROR 402 naming the guard, and change nothing", async () => {
    const router = new FakeRouter();
    const rt = flights();
    governAddresses(rt, router, { bindings: [{ pattern: "/flights/select", intent: "selectFlight", payload: (s) => ({ flightId: s.value }) }] });
    router.subscribe("watcher", "/state/**");
    await router.set("mallory", "/flights/select", "XX9");
    expect(router.received("mallory")).toEqual([
      { type: "ERROR", code: 402, message: "Guard flight_must_exist_for_select denied", address: "/flights/select" },
    ]);
    expect(router.received("watcher")).toEqual([]);
    expect(rt.getState()).toEqual({});
    await router.set("mallory", "/flights/select", 7);
    expect(router.received("mallory").at(-1)).toMatchObject({ type: "ERROR", code: 402, message: "Invalid value for selectFlight.flightId: expected string, got number" });
  });

  it("protect the published state from direct writes, and leave other addresses alone", async () => {
    const router = new FakeRouter();
    const remove = governAddresses(flights(), router, { bindings: [{ pattern: "/flights/select", intent: "selectFlight" }] });
    await router.set("eve", "/state/booking/flight", "BA2");
    expect(router.received("eve")).toEqual([{ type: "ERROR", code: 301, message: "/state is written only by the contract", address: "/state/booking/flight" }]);
    await router.set("eve", "/chat/room", "hi");
    expect(router.params.get("/chat/room")).toEqual({ value: "hi", revision: 1 });
    remove();
    await router.set("eve", "/state/booking/flight", "BA2");
    expect(router.params.get("/state/booking/flight")?.value).toBe("BA2");
  });

  it("handle SETs from many sessions one at a time", async () => {
    const router = new FakeRouter();
    const rt = flights();
    governAddresses(rt, router, { bindings: [{ pattern: "/booking/*/seats", intent: "setSeats" }] });
    await Promise.all(Array.from({ length: 20 }, (_, i) => router.set(`s${i}`, "/booking/x/seats", i + 1)));
    expect(rt.getEvents()).toHaveLength(20);
    expect(router.received("s0")).toEqual([{ type: "ACK", address: "/booking/x/seats" }]);
    expect(router.params.get("/state/booking/seats")?.revision).toBe(20);
  });
});

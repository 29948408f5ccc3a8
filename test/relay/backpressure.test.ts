// Backpressure: a consumer that stops reading loses fire-QoS frames (counted), is cut off
// past maxQueuePerSession queued frames or maxQueueBytes queued bytes (frames corked in one
// turn count), and never slows a fast consumer down.
import { describe, expect, it } from "vitest";
import { codec } from "../../src/clasp/index.js";
import { RawClient, startRelay, until } from "./helpers.js";

describe("relay backpressure", () => {
  it("drops fire frames for a slow consumer, disconnects it past its queue limit, keeps fast ones whole", async () => {
    const relay = await startRelay({ sendBufferBytes: 64 * 1024, router: { maxQueuePerSession: 200 } });
    const slow = await RawClient.hello(relay.url);
    const fast = await RawClient.hello(relay.url);
    const publisher = await RawClient.hello(relay.url);
    for (const c of [slow, fast]) c.send({ type: "SUBSCRIBE", id: 1, pattern: "/bp/**" });
    await until(() => relay.router.size === 0 && slow.messages.length >= 2, 2000); // subscribed (no snapshot: no params)
    slow.ws.pause(); // stops reading: the kernel buffers fill, then the relay's

    // 1. Streams (fire QoS): the slow consumer's share is dropped, the fast one gets all.
    const payload = new Uint8Array(1024);
    const streams = codec.encodeBatch(Array.from({ length: 20_000 }, (_, i) => ({ type: "PUBLISH" as const, address: `/bp/s`, signal: "stream" as const, value: payload, id: i })));
    // Paced so that the fast consumer keeps up (a burst beyond its socket buffer would make
    // it slow too); the paused one falls behind.
    for (let i = 0; i < streams.length; i += 250) {
      for (const f of streams.slice(i, i + 250)) publisher.send(f);
      await until(() => fast.of("PUBLISH").length >= Math.min(i + 250, streams.length), 10_000, `stream frames ${i}…`);
    }
    expect(relay.droppedFrames).toBeGreaterThan(0);
    const text = await (await fetch(`${relay.httpUrl}metrics`)).text();
    expect(Number(/^clawft_relay_dropped_frames_total (\d+)/m.exec(text)?.[1])).toBe(relay.droppedFrames);
    expect(relay.connections).toBe(3); // dropping is not a reason to disconnect

    // 2. SETs (confirm QoS) queue instead; past 200 queued frames the slow consumer is cut off.
    const sets = codec.encodeBatch(Array.from({ length: 1000 }, (_, i) => ({ type: "SET" as const, address: `/bp/p/${i % 10}`, value: i })));
    for (let i = 0; i < sets.length; i += 100) {
      for (const f of sets.slice(i, i + 100)) publisher.send(f);
      await until(() => fast.of("SET").length >= i + 100, 10_000, `SETs ${i}…`);
    }
    await until(() => relay.connections === 2, 10_000, "the slow consumer's disconnection");
    await until(() => fast.of("SET").length === sets.length, 10_000, "every SET at the fast consumer");
    expect(fast.of("SET").map((m) => m.value)).toEqual(sets.map((_, i) => i));
    const after = await (await fetch(`${relay.httpUrl}metrics`)).text();
    expect(Number(/^clawft_relay_slow_disconnects_total (\d+)/m.exec(after)?.[1])).toBe(1);
    slow.ws.resume();
    await slow.closed;

    // The publisher got its ACKs all along.
    await until(() => publisher.of("ACK").length === sets.length, 5000, "ACKs");
    fast.close();
    publisher.close();
    await relay.close();
  });

  it("bounds the bytes a client that stops reading can hold: HELLO over a large state, then 1008 at maxQueueBytes", async () => {
    const limit = 2 * 1024 * 1024;
    const relay = await startRelay({ sendBufferBytes: 64 * 1024, maxQueueBytes: limit });
    const publisher = await RawClient.hello(relay.url);
    const reader = await RawClient.hello(relay.url);
    reader.send({ type: "SUBSCRIBE", id: 1, pattern: "/big/**" });
    reader.send({ type: "PING" });
    await reader.next("PONG"); // subscribed
    // 8 MB of state: 140 params of 60,000 bytes, four times the queue limit.
    const value = new Uint8Array(60_000).fill(7);
    // Paced, 10 SETs (600 KB) at a time: the reader is subject to the same 2 MB limit, and a
    // loaded machine can hand the relay all 8 MB in one turn, which would cut the reader off too.
    for (let i = 0; i < 140; i += 10) {
      for (let j = i; j < i + 10; j++) publisher.send({ type: "SET", address: `/big/${j}`, value });
      await until(() => reader.of("SET").length === i + 10, 20_000, `the reader's SETs ${i}…`);
    }
    expect(relay.router.size).toBe(140);

    // Ten clients say HELLO and stop reading: each SNAPSHOT (8 MB) is produced at once; what
    // does not fit the socket buffer queues, and past the limit the client is cut off.
    const paused = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const c = await RawClient.open(relay.url);
        c.ws.pause();
        c.send({ type: "HELLO", version: 1, name: "paused", features: ["param"] });
        return c;
      }),
    );
    await until(() => relay.connections === 2, 20_000, "the paused clients' disconnection");
    // Nothing of theirs stays queued, and the one reading client was not slowed: a new SET reaches it.
    expect(relay.queuedBytes).toBe(0);
    publisher.send({ type: "SET", address: "/big/last", value: 1 });
    await until(() => reader.of("SET").some((m) => m.address === "/big/last"), 5000, "the SET after");
    const text = await (await fetch(`${relay.httpUrl}metrics`)).text();
    expect(Number(/^clawft_relay_slow_disconnects_total (\d+)/m.exec(text)?.[1])).toBe(10);
    expect(Number(/^clawft_relay_queued_bytes (\d+)/m.exec(text)?.[1])).toBe(0);
    // Reading again, each finds its close frame behind the bytes already in its socket.
    for (const c of paused) c.ws.resume();
    for (const c of paused) expect(await c.closed).toEqual({ code: 1008, reason: "send queue full" });
    for (const c of paused) expect(c.of("SNAPSHOT").reduce((n, m) => n + m.params.length, 0)).toBeLessThan(140);
    reader.close();
    publisher.close();
    await relay.close();
  }, 60_000);
});

// Backpressure: a consumer that stops reading loses fire-QoS frames (counted), is cut off
// past maxQueuePerSession queued frames, and never slows a fast consumer down.
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
});

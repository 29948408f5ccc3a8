/**
 * SUBSCRIBE and REPLAY type masks with no known bit (clasp-wire.md §4.1: param 0x01 …
 * timeline 0x10; upstream's decoders read 0 and 0xFF as "no filter", and a mask of unknown
 * bits alone as an empty set, which is no filter too): the codec decodes them as "all types"
 * (no `types`), so decode → encode → decode gives the same message, and the router delivers
 * every type to such a subscription.
 */
import { describe, it, expect } from "vitest";
import { codec, encode, type Message } from "../../src/clasp/index.js";
import { harness } from "./router-harness.js";

/** A SUBSCRIBE frame for `pattern` whose type mask byte is `mask`. */
function subscribeWithMask(pattern: string, mask: number): Uint8Array {
  const frame = encode({ type: "SUBSCRIBE", id: 7, pattern, types: ["param"] });
  const at = 4 + 1 + 4 + 2 + new TextEncoder().encode(pattern).length; // header, type, id, pattern
  expect(frame[at]).toBe(0x01);
  frame[at] = mask;
  return frame;
}

/** A REPLAY frame whose type mask (its last byte) is `mask`. */
function replayWithMask(mask: number): Uint8Array {
  const frame = encode({ type: "REPLAY", pattern: "/r/**", limit: 3, types: ["event"] });
  expect(frame[frame.length - 1]).toBe(0x02);
  frame[frame.length - 1] = mask;
  return frame;
}

describe("type masks with no known bit", () => {
  it("decode as all types and re-encode to the same message", () => {
    for (const mask of [0x00, 0x20, 0x40, 0x80, 0xe0, 0xff]) {
      for (const frame of [subscribeWithMask("/a/**", mask), replayWithMask(mask)]) {
        const m = codec.decode(frame).message as Extract<Message, { type: "SUBSCRIBE" | "REPLAY" }>;
        expect(m.types).toBeUndefined();
        const again = codec.decode(codec.encode(m)).message;
        expect(again).toEqual(m);
      }
    }
  });

  it("keep the known bits of a mixed mask, and an explicit list of all five", () => {
    const mixed = codec.decode(subscribeWithMask("/a", 0x22)).message as Extract<Message, { type: "SUBSCRIBE" }>;
    expect(mixed.types).toEqual(["event"]);
    const all = codec.decode(subscribeWithMask("/a", 0x1f)).message as Extract<Message, { type: "SUBSCRIBE" }>;
    expect(all.types).toEqual(["param", "event", "stream", "gesture", "timeline"]);
    expect(codec.encode(all)).toEqual(subscribeWithMask("/a", 0x1f));
  });

  it("subscribe to every type in the router", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    r.sendBytes(subscribeWithMask("/a/**", 0x20));
    r.take();
    const set = w.send({ type: "SET", address: "/a/p", value: 1 }, { qos: 0 }).get(r.conn) ?? [];
    expect(set.map((m) => m.type)).toEqual(["SET"]);
    const ev = w.send({ type: "PUBLISH", address: "/a/e", signal: "event", value: 2 }).get(r.conn) ?? [];
    expect(ev.map((m) => m.type)).toEqual(["PUBLISH"]);
  });

  it("replay every type in the router", async () => {
    const h = await harness();
    const w = h.client();
    const r = h.client();
    w.send({ type: "SET", address: "/r/p", value: 1 }, { qos: 0 });
    w.send({ type: "PUBLISH", address: "/r/e", signal: "event", value: 2 });
    const got = r.sendBytes(replayWithMask(0x20)).get(r.conn) ?? [];
    expect(got.map((m) => m.type)).toEqual(["SET", "PUBLISH"]);
  });
});

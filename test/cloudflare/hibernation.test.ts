/**
 * A hibernation round trip in real workerd: local workerd evicts a Durable Object after 10 s
 * without events even while its hibernatable WebSockets stay open (workerd.capnp,
 * `preventEviction`). The sockets survive; the room wakes as a new instance (its status says
 * so) and rebuilds each session from the socket's attachment — or, for a session too large
 * for one, from the object's storage — so subscriptions and token scopes still hold.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RawClient, sleep, until } from "../relay/helpers.js";
import { WorkerdRoom, workerdMissing } from "./workerd.js";
import type { RoomStatus } from "../../src/cloudflare/index.js";

let w: WorkerdRoom;
const TOKENS = [
  { token: "desk", write: ["/mix/**", "/wide/**"] },
  { token: "viewer", read: ["/mix/**"], write: [] },
];

async function status(room: string): Promise<RoomStatus> {
  return (await (await fetch(`${w.base}/ws/${room}?status`)).json()) as RoomStatus;
}

describe.skipIf(workerdMissing)(workerdMissing ?? "a room's sessions across hibernation", () => {
  beforeAll(async () => {
    w = await WorkerdRoom.start({ bindings: [{ name: "CLASP_TOKENS", text: JSON.stringify(TOKENS) }] });
  }, 60_000);

  afterAll(async () => {
    await w?.close();
  });

  it("keeps subscriptions and token scopes when the object is evicted and woken by a message", async () => {
    const desk = await RawClient.hello(w.url("stage"), "desk");
    const viewer = await RawClient.hello(w.url("stage"), "viewer");
    // 300 subscriptions of ~60 bytes: more than an attachment holds, so this session goes to storage.
    const wide = await RawClient.hello(w.url("stage"), "desk");
    viewer.send({ type: "SUBSCRIBE", id: 1, pattern: "/mix/a/**" });
    viewer.send({ type: "SUBSCRIBE", id: 2, pattern: "/mix/b/**" });
    viewer.send({ type: "UNSUBSCRIBE", id: 2 });
    for (let i = 1; i <= 300; i++) wide.send({ type: "SUBSCRIBE", id: i, pattern: `/wide/${String(i).padStart(4, "0")}/${"p".repeat(40)}/**` });
    desk.send({ type: "SET", address: "/mix/a/before", value: 1 });
    desk.send({ type: "SET", address: "/mix/locked", value: 1, lock: true });
    await until(() => viewer.of("SET").length >= 1, 5000, "a delivery before hibernation");
    const deskSession = desk.of("WELCOME")[0]!.session;
    const before = await status("stage");
    expect(before).toMatchObject({ sessions: 3, resumed: 0 });

    // No event for longer than workerd's 10 s eviction delay. On a loaded machine workerd may
    // evict a little later: up to three rounds, until the status shows a new instance.
    let after = before;
    for (let round = 1; round <= 3 && after.instance === before.instance; round++) {
      await sleep(13_000);
      desk.send({ type: "SET", address: "/mix/a/after", value: round });
      desk.send({ type: "SET", address: `/wide/0300/${"p".repeat(40)}/x`, value: round });
      desk.send({ type: "SET", address: "/mix/b/x", value: round }); // the viewer unsubscribed from /mix/b/**
      await until(() => viewer.of("SET").length >= 1 + round, 5000, "the viewer's delivery after waking");
      await until(() => wide.of("SET").length >= round, 5000, "the 300th subscription's delivery after waking");
      after = await status("stage");
    }
    expect(after.instance).not.toBe(before.instance); // a new instance: the old one was evicted
    expect(after).toMatchObject({ sessions: 3, resumed: 3, params: 5 });
    const rounds = viewer.of("SET").length - 1;
    expect(viewer.of("SET").map((m) => [m.address, m.value, Number(m.revision)])).toEqual([
      ["/mix/a/before", 1, 1],
      ...Array.from({ length: rounds }, (_, i) => ["/mix/a/after", i + 1, i + 1]),
    ]);
    // The desk's session kept its id (the writer of what it set after waking) and its lock.
    viewer.send({ type: "GET", address: "/mix/a/after" });
    const got = await viewer.next("SNAPSHOT");
    expect(got.params[0]!.writer).toBe(deskSession);
    const other = await RawClient.hello(w.url("stage"), "desk");
    other.send({ type: "SET", address: "/mix/locked", value: 2 });
    const locked = await other.next("ERROR");
    expect([locked.code, locked.address]).toEqual([401, "/mix/locked"]);
    desk.send({ type: "SET", address: "/mix/locked", value: 3, unlock: true });
    await until(() => desk.of("ACK").some((a) => a.address === "/mix/locked" && Number(a.revision) === 2), 5000, "the holder's unlock");
    other.send({ type: "SET", address: "/mix/locked", value: 4 });
    await until(() => other.of("ACK").length >= 1, 5000, "the SET after the holder unlocked");
    other.close();
    // The viewer's token still applies: it may not write.
    viewer.send({ type: "SET", address: "/mix/a/after", value: 9 });
    const refused = await viewer.next("ERROR");
    expect([refused.code, refused.address]).toEqual([301, "/mix/a/after"]);
    // Replies of the replay were not sent again.
    expect(viewer.of("WELCOME")).toHaveLength(1);
    expect(wide.of("ERROR")).toEqual([]);
    for (const c of [desk, viewer, wide]) c.close();
  }, 70_000);

  it("refuses a HELLO without a valid token with ERROR 300 and close 1008 (tokens from CLASP_TOKENS)", async () => {
    const c = await RawClient.open(w.url("stage"));
    c.send({ type: "HELLO", version: 1, name: "intruder", features: [], token: "guess" });
    expect((await c.next("ERROR")).code).toBe(300);
    expect((await c.closed).code).toBe(1008);
  });
});

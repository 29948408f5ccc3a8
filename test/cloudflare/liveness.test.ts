// A room keeps the Node relay's deadlines (docs/relay.md §Keeping a session; the relay's own
// test is test/relay/liveness.test.ts): a socket without HELLO is closed after hello_timeout
// (1008), a quiet session gets a CLASP PING at half of session_timeout and is closed (1000
// "idle") at the timeout unless it answers. The room keeps them with the Durable Object's
// alarm, so they hold while the object hibernates: the second test lets workerd evict it
// (10 s without events) between deadlines. Announcements survive the eviction too.
import { describe, expect, it } from "vitest";
import WebSocket from "ws";
import { RawClient, sleep, until } from "../relay/helpers.js";
import { WorkerdRoom, workerdMissing } from "./workerd.js";
import type { RoomStatus } from "../../src/cloudflare/index.js";

/** A client that answers the room's CLASP PINGs with PONG, as @clasp-to/core does. */
function answerPings(c: RawClient): void {
  c.ws.on("message", (data: Buffer) => {
    if (data[4] === 0x41) c.send({ type: "PONG" });
  });
}

/**
 * The close frame a client got from the room: code and reason. Local workerd sends the close
 * frame to a socket that never sent a message but then leaves its TCP connection open (the
 * `ws` client stays CLOSING until its own 30 s close timeout), so this waits for the frame
 * (ws 8's `_closeCode`/`_closeMessage`, set when it arrives) rather than the 'close' event, and
 * then ends the connection.
 */
async function closeFrame(c: RawClient, ms: number): Promise<{ code: number; reason: string }> {
  await until(() => c.ws.readyState !== WebSocket.OPEN, ms, "the room's close frame");
  const ws = c.ws as unknown as { _closeCode: number; _closeMessage: Buffer };
  c.ws.terminate();
  return { code: ws._closeCode, reason: ws._closeMessage.toString() };
}

async function status(w: WorkerdRoom, room: string): Promise<RoomStatus> {
  return (await (await fetch(`${w.base}/ws/${room}?status`)).json()) as RoomStatus;
}

describe.skipIf(workerdMissing)(workerdMissing ?? "a room's HELLO deadline, session timeout and PINGs", () => {
  it("closes sockets without HELLO after hello_timeout and idle sessions at session_timeout; a client answering PING stays", async () => {
    const fast = await WorkerdRoom.start({ bindings: [{ name: "CLASP_LIMITS", json: JSON.stringify({ hello_timeout: 1, session_timeout: 2, max_sessions: 3 }) }] });
    try {
      const url = fast.url("quick");
      const silent = await Promise.all([RawClient.open(url), RawClient.open(url)]);
      const answering = await RawClient.hello(url);
      answerPings(answering);
      const abandoned = await RawClient.hello(url);
      for (const s of silent) expect(await closeFrame(s, 5000)).toEqual({ code: 1008, reason: "no HELLO in time" });
      expect(answering.ws.readyState).toBe(WebSocket.OPEN);
      expect(await abandoned.closed).toEqual({ code: 1000, reason: "idle" });
      expect(abandoned.of("PING").length).toBeGreaterThanOrEqual(1); // it was asked first
      // Its slot is free again; the answering client outlives two more timeouts.
      const late = await RawClient.hello(url);
      await sleep(4500);
      expect(answering.ws.readyState).toBe(WebSocket.OPEN);
      expect(answering.of("PING").length).toBeGreaterThanOrEqual(2);
      expect(answering.of("ERROR")).toEqual([]); // PONG is plain traffic to the router
      expect((await late.closed).code).toBe(1000); // it answers no PING either
      expect(answering.ws.readyState).toBe(WebSocket.OPEN);
      answering.close();
    } finally {
      await fast.close();
    }
  }, 30_000);

  it("keeps the deadlines and the announcements while the object hibernates: its alarm wakes it when one is due", async () => {
    const slow = await WorkerdRoom.start({ bindings: [{ name: "CLASP_LIMITS", json: JSON.stringify({ hello_timeout: 15, session_timeout: 30 }) }] });
    try {
      const url = slow.url("sleepy");
      const t0 = Date.now();
      const silent = await RawClient.open(url);
      const answering = await RawClient.hello(url);
      answerPings(answering);
      const abandoned = await RawClient.hello(url);
      answering.send({ type: "ANNOUNCE", namespace: "/synth", signals: [{ address: "/synth/cutoff", type: "param", datatype: "f64", access: "rw" }] });
      await answering.next("ACK");
      const before = await status(slow, "sleepy");
      expect(before.sessions).toBe(3);
      // Nothing happens for 15 s (workerd evicts the object after 10): the alarm wakes it to
      // close the silent socket and PING both sessions.
      expect(await closeFrame(silent, 20_000)).toEqual({ code: 1008, reason: "no HELLO in time" });
      expect(Date.now() - t0).toBeGreaterThanOrEqual(14_000);
      await until(() => abandoned.of("PING").length >= 1, 5000, "the PING at half the session timeout");
      // The abandoned session is closed at 30 s by a woken router that had its activity from the attachment.
      expect(await abandoned.closed).toEqual({ code: 1000, reason: "idle" });
      const idleAfter = Date.now() - t0;
      expect(idleAfter).toBeGreaterThanOrEqual(29_000);
      expect(idleAfter).toBeLessThan(40_000); // due at about 32 s (the activity as of the attachment, plus a second; the alarm a second after)
      expect(answering.ws.readyState).toBe(WebSocket.OPEN);
      expect(answering.of("PING").length).toBeGreaterThanOrEqual(2);
      const after = await status(slow, "sleepy");
      expect(after.instance).not.toBe(before.instance); // it was evicted and woken meanwhile
      expect(after.sessions).toBe(1);
      // The announcement made before the evictions answers a QUERY in the woken room.
      const asker = await RawClient.hello(url);
      asker.send({ type: "QUERY", pattern: "/synth/**" });
      expect((await asker.next("RESULT")).signals).toEqual([{ address: "/synth/cutoff", type: "param", datatype: "f64", access: "rw" }]);
      asker.close();
      answering.close();
    } finally {
      await slow.close();
    }
  }, 60_000);
});

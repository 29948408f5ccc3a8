/**
 * A governance verdict reaches only the peer whose SET it decides (RouterHost#decide): when
 * the sender leaves while the verdict is pending and a new peer gets its connection handle,
 * the verdict's ACK or ERROR must not go to the newcomer, nor may a "pass" route the old
 * frame under the newcomer's session.
 */
import { describe, it, expect } from "vitest";
import { encode, decode, type Message } from "../../src/clasp/index.js";
import type { InterceptVerdict } from "../../src/clasp/governance.js";
import { MiniRouter } from "../../src/clasp/router.js";
import { RouterHost } from "../../src/relay/host.js";

async function setup() {
  const host = new RouterHost(await MiniRouter.load({}), { idleTicks: false });
  /** Verdicts the interceptor has not given yet, in order. */
  const pending: Array<(v: InterceptVerdict) => void> = [];
  host.interceptSet(["/gov/**"], () => new Promise<InterceptVerdict>((resolve) => pending.push(resolve)));
  const peer = () => {
    const inbox: Message[] = [];
    const conn = host.attach({ send: (f) => inbox.push(decode(f).message), close: () => {} });
    host.receive(conn, encode({ type: "HELLO", version: 1, name: "p", features: ["param"] }));
    inbox.splice(0);
    return { conn, inbox, send: (m: Message) => host.receive(conn, encode(m)) };
  };
  const settle = () => new Promise((r) => setTimeout(r, 10));
  return { host, pending, peer, settle };
}

describe("a verdict for a peer that left", () => {
  for (const [name, verdict] of [
    ["consume (ACK)", { action: "consume", revision: 4 }],
    ["deny (ERROR)", { action: "deny", code: 402, message: "no" }],
    ["pass (route the SET)", { action: "pass" }],
  ] as Array<[string, InterceptVerdict]>) {
    it(`does not reach the peer that reuses its connection: ${name}`, async () => {
      const { host, pending, peer, settle } = await setup();
      const alice = peer();
      alice.send({ type: "SET", address: "/gov/x", value: 1 });
      await settle();
      expect(pending).toHaveLength(1);
      host.detach(alice.conn);
      const bob = peer();
      expect(bob.conn).toBe(alice.conn); // the router hands the free handle out again
      pending[0]!(verdict);
      await settle();
      expect(bob.inbox).toEqual([]);
      bob.send({ type: "GET", address: "/gov/x" });
      expect(bob.inbox).toEqual([expect.objectContaining({ type: "ERROR", code: 201 })]); // never set
      // Bob's own governed SETs are decided as usual.
      bob.inbox.splice(0);
      bob.send({ type: "SET", address: "/gov/y", value: 2 });
      await settle();
      pending[1]!({ action: "consume" });
      await settle();
      expect(bob.inbox).toEqual([{ type: "ACK", address: "/gov/y" }]);
    });
  }

  it("still reaches the sender that stayed", async () => {
    const { pending, peer, settle } = await setup();
    const alice = peer();
    alice.send({ type: "SET", address: "/gov/x", value: 1 });
    await settle();
    pending[0]!({ action: "deny", code: 402, message: "no" });
    await settle();
    expect(alice.inbox).toEqual([{ type: "ERROR", code: 402, message: "no", address: "/gov/x" }]);
  });
});

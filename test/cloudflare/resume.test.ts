// The router-core calls a room uses to rebuild sessions after hibernation (src/clasp/router.ts):
// resumeSession gives a replayed session its earlier id back, relock its locks, lockHolder
// tells who holds one. Run in Node against build/router.wasm.
import { describe, expect, it } from "vitest";
import { codec, type Message } from "../../src/clasp/index.js";
import { MiniRouter } from "../../src/clasp/router.js";

/** Frames `conn` receives from one step, decoded. */
function received(step: { frames: Uint8Array[]; deliveries: Uint32Array }, conn: number): Message[] {
  const out: Message[] = [];
  for (let i = 0; i < step.deliveries.length; i += 2) if (step.deliveries[i] === conn) out.push(codec.decode(step.frames[step.deliveries[i + 1]!]!).message);
  return out;
}

const hello = codec.encode({ type: "HELLO", version: 1, name: "t", features: ["param"] });

describe("MiniRouter session resume", () => {
  it("gives a replayed session its id and locks back; others still get 401", async () => {
    const before = await MiniRouter.load();
    const a = before.connect();
    const welcome = received(before.receive(a, hello), a).find((m) => m.type === "WELCOME") as Extract<Message, { type: "WELCOME" }>;
    before.receive(a, codec.encode({ type: "SET", address: "/l", value: 1, lock: true }));
    expect(before.lockHolder("/l")).toBe(a);

    // A fresh router, as after an eviction: the param comes back from storage, the session by replay.
    const after = await MiniRouter.load();
    let stored: Uint8Array | undefined;
    const writer = await MiniRouter.load();
    const w = writer.connect();
    writer.receive(w, hello);
    for (const e of writer.receive(w, codec.encode({ type: "SET", address: "/l", value: 1 })).events) if (e.type === "state") stored = e.record!;
    expect(after.restore("/l", stored!)).toBe(true);
    const a2 = after.connect();
    const replayed = received(after.receive(a2, hello), a2).find((m) => m.type === "WELCOME") as Extract<Message, { type: "WELCOME" }>;
    expect(replayed.session).not.toBe(welcome.session);
    expect(after.lockHolder("/l")).toBe(0);
    const step = after.resumeSession(a2, welcome.session)!;
    expect(step.events).toEqual([{ type: "session", conn: a2, session: welcome.session }]);
    expect(after.relock(a2, "/l")).toBe(true);
    expect(after.lockHolder("/l")).toBe(a2);

    const b = after.connect();
    after.receive(b, hello);
    expect(after.relock(b, "/l")).toBe(false); // held by a2
    expect(after.relock(b, "/missing")).toBe(false);
    const refused = received(after.receive(b, codec.encode({ type: "SET", address: "/l", value: 2 })), b);
    expect(refused).toMatchObject([{ type: "ERROR", code: 401 }]);
    // The holder's writes carry its old id.
    after.receive(a2, codec.encode({ type: "SET", address: "/l", value: 3, unlock: true }));
    const snap = received(after.receive(b, codec.encode({ type: "GET", address: "/l" })), b)[0] as Extract<Message, { type: "SNAPSHOT" }>;
    expect(snap.params[0]!.writer).toBe(welcome.session);
    expect(after.lockHolder("/l")).toBe(0);
  });

  it("refuses to resume a connection without a session", async () => {
    const r = await MiniRouter.load();
    const c = r.connect();
    expect(r.resumeSession(c, "x")).toBeNull();
    expect(r.resumeSession(99, "x")).toBeNull();
    expect(r.relock(c, "/a")).toBe(false);
  });
});

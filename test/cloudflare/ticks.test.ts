// RouterHost without idle ticks (what a Cloudflare room runs, so its object can hibernate): no
// timer while nothing is held, but a change held back by a SUBSCRIBE window still goes out on
// time without another event, however far ahead it is due (Node, real timers).
import { describe, expect, it } from "vitest";
import { codec, type Message } from "../../src/clasp/index.js";
import { MiniRouter } from "../../src/clasp/router.js";
import { RouterHost, type HostPeer } from "../../src/relay/host.js";
import { sleep, until } from "../relay/helpers.js";

class Peer implements HostPeer {
  readonly got: Array<[number, Message]> = [];
  send(frame: Uint8Array): void {
    this.got.push([performance.now(), codec.decode(frame).message]);
  }
  close(): void {}
}

const hello = codec.encode({ type: "HELLO", version: 1, name: "t", features: ["param"] });

describe("RouterHost with idleTicks: false", () => {
  it("flushes held SUBSCRIBE windows (0.1 s and 1.5 s) with no further event, then stops ticking", async () => {
    const router = await MiniRouter.load();
    const host = new RouterHost(router, { idleTicks: false });
    // Two subscribers, each holding the same change for its own window: the step asks for a
    // tick at 0.1 s; only that tick can know the 1.5 s one is still due.
    const [a, b, writer] = [new Peer(), new Peer(), new Peer()];
    const [ca, cb, cw] = [host.attach(a), host.attach(b), host.attach(writer)];
    for (const c of [ca, cb, cw]) host.receive(c, hello);
    host.receive(ca, codec.encode({ type: "SUBSCRIBE", id: 1, pattern: "/w/**", options: { window: 100 } }));
    host.receive(cb, codec.encode({ type: "SUBSCRIBE", id: 1, pattern: "/w/**", options: { window: 1500 } }));
    const t0 = performance.now();
    host.receive(cw, codec.encode({ type: "SET", address: "/w/x", value: 1 }));
    const sets = (p: Peer) => p.got.filter(([, m]) => m.type === "SET");
    await until(() => sets(a).length >= 1, 1000, "the 0.1 s window");
    await until(() => sets(b).length >= 1, 3000, "the 1.5 s window, with no event in between");
    const first = sets(a)[0]![0] - t0;
    const second = sets(b)[0]![0] - t0;
    expect(first).toBeGreaterThanOrEqual(90);
    expect(first).toBeLessThan(1000);
    expect(second).toBeGreaterThanOrEqual(1490);
    // Nothing is held any more: no tick follows (the router's sweep waits for the next event).
    const ticks = router.tick.bind(router);
    let ticked = 0;
    router.tick = ((now?: number) => (ticked++, ticks(now))) as typeof router.tick;
    await sleep(1300);
    expect(ticked).toBe(0);
    host.tick(); // what the room does when its next event arrives
    expect(ticked).toBe(1);
    host.stop();
  });
});

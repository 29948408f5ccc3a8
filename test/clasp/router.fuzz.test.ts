/**
 * Fuzzing the MiniRouter with random frame sequences from several connections: a mix of
 * well-formed messages on a small set of addresses (so they interact), arbitrary messages
 * and random bytes. The router never throws (a wasm trap would), every frame it emits decodes,
 * revisions only grow, and it keeps answering afterwards.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { encode, decode, type Message } from "../../src/clasp/index.js";
import { MiniRouter } from "../../src/clasp/router.js";
import { message } from "./arbitraries.js";

const ADDRESSES = ["/a", "/a/b", "/a/b/c", "/x/1", "/x/2", "/"];
const PATTERNS = ["/**", "/a/**", "/a/*", "/x/*", "/a/b*", "/x/1", "/**/c", "/bad//", ""];
const addr = fc.constantFrom(...ADDRESSES);
const small = fc.oneof(fc.integer(), fc.string({ maxLength: 4 }), fc.constant(null), fc.boolean());

const routed: fc.Arbitrary<Message> = fc.oneof(
  fc.constant({ type: "HELLO", version: 1, name: "f", features: ["param"] } as Message),
  fc.record({ type: fc.constant("SUBSCRIBE" as const), id: fc.nat({ max: 4 }), pattern: fc.constantFrom(...PATTERNS) }),
  fc.record({ type: fc.constant("UNSUBSCRIBE" as const), id: fc.nat({ max: 4 }) }),
  fc.record({
    type: fc.constant("SET" as const),
    address: addr,
    value: small,
    lock: fc.boolean(),
    unlock: fc.boolean(),
    revision: fc.option(fc.nat({ max: 6 }), { nil: undefined }),
    ttl: fc.option(fc.constantFrom(0, 1, 5), { nil: undefined }),
  }).map((m) => Object.fromEntries(Object.entries(m).filter(([, v]) => v !== undefined)) as unknown as Message),
  fc.record({ type: fc.constant("PUBLISH" as const), address: addr, signal: fc.constantFrom("event", "stream", "gesture" as const), phase: fc.constantFrom("start", "move", "end" as const), id: fc.nat({ max: 2 }), value: small }),
  fc.record({ type: fc.constant("GET" as const), address: addr }),
  fc.record({ type: fc.constant("BUNDLE" as const), messages: fc.array(fc.record({ type: fc.constant("SET" as const), address: addr, value: small, revision: fc.option(fc.nat({ max: 4 }), { nil: undefined }) }).map((m) => (m.revision === undefined ? { type: m.type, address: m.address, value: m.value } : m) as Message), { maxLength: 4 }) }),
  fc.constant({ type: "PING" } as Message),
  fc.record({ type: fc.constant("QUERY" as const), pattern: fc.constantFrom(...PATTERNS) }),
);

const frame = fc.oneof(
  { weight: 8, arbitrary: routed.map((m) => encode(m)) },
  { weight: 1, arbitrary: message().map((m) => encode(m)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
);

const op = fc.oneof(
  { weight: 12, arbitrary: fc.tuple(fc.nat({ max: 3 }), frame).map(([c, f]) => ({ kind: "frame" as const, c, f })) },
  { weight: 1, arbitrary: fc.nat({ max: 3 }).map((c) => ({ kind: "drop" as const, c })) },
  { weight: 1, arbitrary: fc.nat({ max: 3_000_000 }).map((dt) => ({ kind: "tick" as const, dt })) },
);

describe("fuzzing the router with random frame sequences", { timeout: 600_000 }, () => {
  it("never traps, emits only decodable frames, keeps revisions growing", async () => {
    const router = await MiniRouter.load({ maxSubscriptionsPerSession: 3, maxStateEntries: 5 });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        let now = 1_700_000_000_000_000;
        const conns = [0, 0, 0, 0].map(() => router.connect(now));
        const revisions = new Map<string, number>();
        for (const o of ops) {
          let step;
          if (o.kind === "frame") step = router.receive(conns[o.c]!, o.f, now);
          else if (o.kind === "drop") {
            step = router.disconnect(conns[o.c]!);
            conns[o.c] = router.connect(now);
          } else step = router.tick((now += o.dt));
          for (let i = 0; i < step.deliveries.length; i += 2) {
            expect(step.frames[step.deliveries[i + 1]!]).toBeDefined();
          }
          for (const e of step.events) if (e.type === "state" && e.record === null) revisions.delete(e.address); // expired
          for (const f of step.frames) {
            const m = decode(f).message;
            if (m.type === "SET") {
              const rev = Number(m.revision);
              expect(rev).toBeGreaterThanOrEqual(revisions.get(m.address) ?? 1);
              revisions.set(m.address, rev);
            }
          }
        }
        for (const c of conns) router.disconnect(c);
      }),
      { numRuns: 1500 },
    );
    const c = router.connect(Date.now() * 1000);
    router.receive(c, encode({ type: "HELLO", version: 1, name: "after", features: [] }));
    const pong = router.receive(c, encode({ type: "PING" }));
    expect(decode(pong.frames[0]!).message).toEqual({ type: "PONG" });
  });
});

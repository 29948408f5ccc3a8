/**
 * The state view of JavaScript closures (`ctx.state`, and what subscribers get) is kept
 * between commits and advanced with each commit's ops (src/clp/ops.ts `applyOps`) instead of
 * being decoded from the engine every commit. These tests hold it to the engine's own state
 * (`getState()`, a fresh decode) byte for byte — random patches (fast-check), subscribers,
 * refused commits, rule effects, rollback, commitAsync with a failing storage, restore,
 * replay, append, hydrate — and check it stays frozen.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { codec } from "../../src/clasp/index.js";
import { MemoryStorage } from "../../src/storage/index.js";
import {
  createContract, createRuntime, openRuntime, push, insert, remove, splice, filter, unset, GuardDeniedError, PersistError,
  type Context, type Patch, type Runtime,
} from "../../src/clp/index.js";
import { applyOps, UNKNOWN } from "../../src/clp/ops.js";
import { flakyStorage } from "../helpers/storage.js";

/** True when every object and array in `v` is frozen. */
function deepFrozen(v: unknown): boolean {
  if (v === null || typeof v !== "object" || v instanceof Uint8Array) return true;
  return Object.isFrozen(v) && Object.values(v).every(deepFrozen);
}

/** CLASP bytes of a value: equal bytes mean equal keys in equal order, equal number bits (-0, NaN) and types. */
const bytes = (v: unknown) => codec.encodeValue(v as never);

/**
 * A runtime whose transition `js` applies the patch the test sets (`next`), whose guard `spy`
 * records the state view it is given (and denies the intent `peek`), with a second transition
 * `rule` of declarative effects, for mixing.
 */
function harness(options: Parameters<typeof createRuntime>[2] = {}) {
  const h = {
    next: {} as Patch | (() => Patch),
    seen: undefined as unknown,
    rt: undefined as unknown as Runtime,
  };
  const contract = createContract({
    intents: { go: { inputs: {} }, rule: { inputs: { v: "any?" } }, peek: { inputs: {} } },
    guards: [{ name: "spy", deny: (ctx: Context) => ((h.seen = ctx.state), ctx.intent.name === "peek") }],
    transitions: {
      js: { when: (ctx: Context) => ctx.intent.name === "go", effects: () => (typeof h.next === "function" ? h.next() : h.next) },
      rule: { when: { "==": [{ var: "intent.name" }, "rule"] }, effects: [{ set: ["r", { var: "intent.payload.v" }] }] },
    },
  });
  h.rt = createRuntime(contract, undefined, options);
  return h;
}

/** The view a closure gets now (through a denied `peek`), checked against the engine's state. */
function expectViewMatches(h: ReturnType<typeof harness>): void {
  h.rt.dispatch("peek");
  expect(() => h.rt.commit()).toThrow(GuardDeniedError);
  expect(deepFrozen(h.seen)).toBe(true);
  expect(bytes(h.seen)).toEqual(bytes(h.rt.getState()));
}

/** Commits `patch` through the `js` transition; returns whether the engine took it. */
function commitPatch(h: ReturnType<typeof harness>, patch: Patch): boolean {
  h.next = patch;
  h.rt.dispatch("go");
  try {
    h.rt.commit();
    return true;
  } catch {
    return false;
  }
}

const keys = ["a", "b", "n", "a.x", "a.y", "b.z", "a.x.deep", "list", "a.list", "10", "2", "__proto__", "a[0]", "list[1]", "x..y"];

/** Values a patch may hold: what applyOps reproduces, and what it leaves to a decode (bytes, lone surrogates); Dates and Maps become strings and objects first (toClasp). */
const leaf = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.double(),
  fc.constantFrom(-0, NaN, Infinity, 2 ** 53 + 2),
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.string({ maxLength: 4 }),
  fc.constantFrom("\ud800", "a\udc00b", "😀"),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constant(new Uint8Array([1, 2, 3])),
  fc.constant(new Date(0)),
);
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(fc.constantFrom("p", "q", "7", "__proto__"), tie("v"), { maxKeys: 3 }), fc.constant(new Map([["m", 1]]))),
})).v;
/** Array positions, with the ones splice clamps or truncates. */
const index = fc.oneof(fc.integer({ min: -4, max: 6 }), fc.constantFrom(NaN, Infinity, -Infinity, 1.5, -0.5));
type Entry =
  | { kind: "value"; v: unknown }
  | { kind: "unset" }
  | { kind: "push"; items: unknown[] }
  | { kind: "insert"; at: number; v: unknown }
  | { kind: "remove"; at: number }
  | { kind: "splice"; at: number; n: number; items: unknown[] }
  | { kind: "filter"; every: number };
const entry = fc.tuple(
  fc.constantFrom(...keys),
  fc.oneof(
    { weight: 4, arbitrary: value.map((v) => ({ kind: "value" as const, v })) },
    { weight: 1, arbitrary: fc.constant({ kind: "unset" as const }) },
    { weight: 2, arbitrary: fc.array(value, { maxLength: 3 }).map((items) => ({ kind: "push" as const, items })) },
    { weight: 1, arbitrary: fc.tuple(index, value).map(([at, v]) => ({ kind: "insert" as const, at, v })) },
    { weight: 1, arbitrary: index.map((at) => ({ kind: "remove" as const, at })) },
    { weight: 1, arbitrary: fc.tuple(index, index, fc.array(value, { maxLength: 2 })).map(([at, n, items]) => ({ kind: "splice" as const, at, n, items })) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 3 }).map((every) => ({ kind: "filter" as const, every })) },
  ),
);
/** One step: a JavaScript patch (committed by commit() or commitMany), a rule commit, or a refused intent. */
const step = fc.oneof(
  { weight: 6, arbitrary: fc.array(entry, { maxLength: 4 }).map((e) => ({ kind: "patch" as const, e })) },
  { weight: 1, arbitrary: fc.array(entry, { maxLength: 4 }).map((e) => ({ kind: "many" as const, e })) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((v) => ({ kind: "rule" as const, v })) },
  { weight: 1, arbitrary: fc.constant({ kind: "peek" as const }) },
);

/** The effect of an entry (filter keeps every `every`-th item). */
function effectOf(x: Entry): unknown {
  switch (x.kind) {
    case "value": return x.v;
    case "unset": return unset();
    case "push": return push(...x.items);
    case "insert": return insert(x.at, x.v);
    case "remove": return remove(x.at);
    case "splice": return splice(x.at, x.n, ...x.items);
    case "filter": return filter((_: unknown, i: number) => i % x.every === 0);
  }
}

/** The patch of a step's entries, in order (a repeated key keeps its first place and last value, as in an object literal). */
function patchOf(e: ReadonlyArray<readonly [string, Entry]>): Patch {
  const patch: Record<string, unknown> = {};
  for (const [k, x] of e) {
    const v = effectOf(x);
    // a "__proto__" path is data, as the engine reads it
    Object.defineProperty(patch, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return patch as Patch;
}

describe("the closures' state view, kept between commits", () => {
  it("equals the engine's state after every commit of random patches, rule commits and refusals (fast-check)", () => {
    fc.assert(
      // watched: a subscriber makes every commit decode its full answer (#finish, not the lean path)
      fc.property(fc.array(step, { minLength: 1, maxLength: 12 }), fc.boolean(), (steps, watched) => {
        const h = harness();
        if (watched) {
          h.rt.subscribe("a", (state) => {
            expect(bytes(state)).toEqual(bytes(h.rt.getState()));
          });
        }
        for (const s of steps) {
          if (s.kind === "patch") commitPatch(h, patchOf(s.e));
          else if (s.kind === "many") {
            h.next = patchOf(s.e);
            try {
              h.rt.commitMany([["go", {}]]);
            } catch {
              // refused by the engine: nothing applied (checked below)
            }
          } else if (s.kind === "rule") {
            h.rt.dispatch("rule", { v: s.v });
            h.rt.commit();
          } else {
            h.rt.dispatch("peek");
            expect(() => h.rt.commit()).toThrow(GuardDeniedError);
          }
          expectViewMatches(h);
        }
        h.rt.close();
      }),
      { numRuns: 300 },
    );
  });

  it("advances only the changed paths: unchanged branches keep their frozen objects", () => {
    const h = harness();
    commitPatch(h, { a: { x: 1 }, b: { y: [1, 2] } });
    expectViewMatches(h);
    const before = h.seen as { a: object; b: object };
    commitPatch(h, { "a.x": 2 });
    expectViewMatches(h);
    const after = h.seen as { a: object; b: object };
    expect(after).not.toBe(before);
    expect(after.a).not.toBe(before.a);
    expect(after.b).toBe(before.b);
  });

  it("cannot be changed by a closure: writing to it throws and the next closure sees the engine's state", () => {
    const h = harness();
    commitPatch(h, { a: { x: 1 }, list: [1] });
    h.next = () => {
      (h.seen as { a: { x: number } }).a.x = 99; // strict mode: a frozen object throws
      return {};
    };
    h.rt.dispatch("go");
    expect(() => h.rt.commit()).toThrow(TypeError);
    h.next = () => {
      (h.seen as { list: number[] }).list.push(2);
      return {};
    };
    h.rt.dispatch("go");
    expect(() => h.rt.commit()).toThrow(TypeError);
    expectViewMatches(h);
    expect(h.rt.getState()).toEqual({ a: { x: 1 }, list: [1] });
  });

  it("is not kept when the state holds bytes (a closure could change them in place)", () => {
    const h = harness();
    commitPatch(h, { blob: new Uint8Array([1, 2]) });
    expectViewMatches(h);
    (h.seen as { blob: Uint8Array }).blob[0] = 42; // bytes cannot be frozen
    commitPatch(h, { n: 1 });
    expectViewMatches(h); // decoded again: blob is [1, 2]
    expect((h.seen as { blob: Uint8Array }).blob[0]).toBe(1);
  });

  it("is what subscribers get, with the new state", () => {
    const h = harness();
    const got: unknown[] = [];
    h.rt.subscribe("a", (s) => got.push(s));
    commitPatch(h, { "a.x": 1 });
    commitPatch(h, { b: 2 }); // not a's: no call
    commitPatch(h, { a: unset() });
    expect(got).toHaveLength(2);
    expect(got[0]).toEqual({ a: { x: 1 } });
    expect(got[1]).toEqual({ b: 2 });
    expect(got.every(deepFrozen)).toBe(true);
    expectViewMatches(h);
  });

  it("follows rule effects, refused commits and failing closures", () => {
    const h = harness();
    commitPatch(h, { n: 1 });
    h.rt.dispatch("rule", { v: { k: 1 } });
    h.rt.commit();
    expectViewMatches(h);
    expect(h.seen).toEqual({ n: 1, r: { k: 1 } });
    // the engine refuses a set through a number: nothing applied, the view unchanged
    expect(commitPatch(h, { m: 5, "n.x": 1 })).toBe(false);
    expectViewMatches(h);
    expect(h.seen).toEqual({ n: 1, r: { k: 1 } });
    h.next = () => {
      throw new Error("boom");
    };
    h.rt.dispatch("go");
    expect(() => h.rt.commit()).toThrow("boom");
    expectViewMatches(h);
  });

  it("rollback sees the state before the commit", async () => {
    const seen: unknown[] = [];
    const contract = createContract({
      intents: { go: { inputs: {} } },
      transitions: {
        t: {
          when: true,
          effects: (c: Context) => ({ n: ((c.state.n as number) ?? 0) + 1, "deep.k": 1 }),
          rollback: (c: Context) => void seen.push(c.state),
          timeoutMs: 1000,
        },
      },
    });
    let fail = false;
    const flaky = flakyStorage(() => fail);
    const rt = createRuntime(contract, undefined, { storage: flaky });
    await rt.ready;
    rt.dispatch("go");
    await rt.commitAsync();
    fail = true;
    rt.dispatch("go");
    await expect(rt.commitAsync()).rejects.toBeInstanceOf(PersistError);
    expect(seen).toEqual([{ n: 1, deep: { k: 1 } }]);
    expect(rt.getState()).toEqual({ n: 1, deep: { k: 1 } });
    fail = false;
    await rt.commitAsync(); // the same intent, from the state before the failed one
    expect(rt.getState()).toEqual({ n: 2, deep: { k: 1 } });
    const again = await openRuntime(contract, undefined, { storage: flaky });
    expect(again.getState()).toEqual({ n: 2, deep: { k: 1 } });
  });

  it("is dropped by restore, replay, append and hydrate", async () => {
    const h = harness();
    commitPatch(h, { n: 1 });
    const snap = h.rt.snapshot();
    const log = h.rt.exportLog();
    commitPatch(h, { n: 2, extra: true });
    expectViewMatches(h);
    h.rt.restore(snap);
    expectViewMatches(h);
    expect(h.seen).toEqual({ n: 1 });
    await h.rt.replay(log);
    expectViewMatches(h);
    expect(h.seen).toEqual({ n: 1 });

    // append: events committed elsewhere continue this runtime's head
    const other = harness();
    await other.rt.replay(log);
    commitPatch(other, { n: 3, more: [1] });
    await h.rt.append(other.rt.exportLog(1));
    expectViewMatches(h);
    expect(h.seen).toEqual({ n: 3, more: [1] });

    // hydrate: a runtime over a storage another runtime wrote
    const storage = new MemoryStorage();
    const a = harness({ storage });
    await a.rt.ready;
    const b = harness({ storage });
    await b.rt.ready;
    a.next = { s: 1 };
    a.rt.dispatch("go");
    await a.rt.commitAsync();
    b.rt.dispatch("peek");
    await expect(b.rt.commitAsync()).rejects.toBeInstanceOf(GuardDeniedError);
    expect(b.seen).toEqual({});
    await b.rt.hydrate();
    b.rt.dispatch("peek");
    await expect(b.rt.commitAsync()).rejects.toBeInstanceOf(GuardDeniedError);
    expect(b.seen).toEqual({ s: 1 });
  });
});

describe("applyOps", () => {
  it("answers UNKNOWN for what it does not reproduce, and leaves its input alone", () => {
    const s = Object.freeze({ a: Object.freeze([1]), n: 1 });
    expect(applyOps(s, [["set", "a[0]", 2]])).toBe(UNKNOWN);
    expect(applyOps(s, [["set", "a.x", 2]])).toBe(UNKNOWN); // through an array
    expect(applyOps(s, [["set", "b", new Uint8Array(1)]])).toBe(UNKNOWN);
    expect(applyOps(s, [["set", "b", "\ud800"]])).toBe(UNKNOWN);
    expect(applyOps(s, [["splice", "n", 0, 1]])).toBe(UNKNOWN); // not an array: the engine refuses
    expect(applyOps(s, [["splice", "a", 0n, 1]])).toBe(UNKNOWN);
    expect(applyOps(s, [["removeAt", "a", [3]]])).toBe(UNKNOWN); // absent index: the engine refuses
    expect(applyOps(s, [["set", "__proto__", 1]])).toBe(UNKNOWN);
    expect(applyOps(s, [["set", "n", 2], ["push", "a", 2, { k: undefined }], ["del", "missing.x"]])).toEqual({ a: [1, 2, { k: null }], n: 2 });
    expect(applyOps(s, [["push", "a", 2, 3, 4], ["splice", "a", -2, Infinity, ["x"]], ["removeAt", "a", [0]]])).toEqual({ a: [2, "x"], n: 1 });
    expect(s).toEqual({ a: [1], n: 1 });
  });
});

/**
 * The state tree: deep paths, array operations, atomic commits (all effects or none), the
 * diff, subscribers by path, and the CLASP limits — through JavaScript patches and the same
 * effects written as rules.
 */
import { describe, it, expect, vi } from "vitest";
import {
  createContract, createRuntime, push, insert, remove, splice, filter, unset, EffectError, type Patch, type Context,
} from "../../src/clp/index.js";

/** A runtime whose one transition applies `patch(ctx)` (JavaScript). */
function js(patch: (c: Context) => Patch) {
  const rt = createRuntime(createContract({ intents: { go: { inputs: { v: "any?" } } }, transitions: { t: { when: true, effects: patch } } }));
  return (v?: unknown) => {
    rt.dispatch("go", { v });
    rt.commit();
    return rt;
  };
}

/** A runtime whose one transition applies declarative `effects`. */
function rules(effects: any) {
  const rt = createRuntime(createContract({ intents: { go: { inputs: { v: "any?" } } }, transitions: { t: { when: true, effects } } }));
  return (v?: unknown) => {
    rt.dispatch("go", { v });
    rt.commit();
    return rt;
  };
}

describe("deep paths", () => {
  it("set nested values, creating objects on the way, without touching siblings", () => {
    const step = js((c) => ({ "user.profile.name": c.intent.payload.v, "user.id": 1 }));
    const rt = step("ada");
    expect(rt.getState()).toEqual({ user: { profile: { name: "ada" }, id: 1 } });
    step("grace");
    expect(rt.getState("user")).toEqual({ profile: { name: "grace" }, id: 1 });
    expect(rt.getState("user.profile.name")).toBe("grace");
    expect(rt.getLog().at(-1)!.stateDiff).toEqual({ "user.profile.name": "grace" });
  });

  it("name the same place every time many path texts repeat (the engine keeps parsed paths by text)", () => {
    // more texts than the engine's 64 cache slots, each used again and again: keys, nested keys, indices
    const texts = Array.from({ length: 150 }, (_, i) => (i % 3 === 0 ? `m.k${i}` : i % 3 === 1 ? `k${i}` : `list[${i % 7}].v${i}`));
    const rt = createRuntime(
      createContract({
        intents: { go: { inputs: { p: "string", v: "any?" } } },
        transitions: { t: { when: true, effects: (c) => ({ [c.intent.payload.p]: c.intent.payload.v }) as Patch } },
      }),
    );
    rt.dispatch("go", { p: "list", v: Array.from({ length: 7 }, () => ({})) });
    rt.commit();
    const model: any = { list: Array.from({ length: 7 }, () => ({})) };
    for (let round = 0; round < 3; round++) {
      for (const [i, t] of texts.entries()) {
        rt.dispatch("go", { p: t, v: round * 1000 + i });
        rt.commit();
        if (i % 3 === 0) (model.m ??= {})[`k${i}`] = round * 1000 + i;
        else if (i % 3 === 1) model[`k${i}`] = round * 1000 + i;
        else model.list[i % 7][`v${i}`] = round * 1000 + i;
      }
    }
    expect(rt.getState()).toEqual(model);
  });

  it("address array items by index, as `items.0` or `items[0]`", () => {
    const rt = rules([{ set: ["items", { lit: [{ n: 1 }, { n: 2 }] }] }, { set: ["items[1].n", 5] }, { set: ["items.0.tag", "x"] }])();
    expect(rt.getState("items")).toEqual([{ n: 1, tag: "x" }, { n: 5 }]);
    expect(rt.getState("items[1].n")).toBe(5);
    expect(rt.getState("items.1.n")).toBe(5);
  });

  it("refuse to walk through a number, leaving the state as it was", () => {
    const rt = createRuntime(
      createContract({ intents: { go: { inputs: {} } }, transitions: { a: { effects: { x: 1 } }, b: { effects: [{ set: ["y", 2] }, { set: ["x.deep", 2] }] } } }),
    );
    rt.dispatch("go");
    rt.commit("a");
    rt.dispatch("go");
    expect(() => rt.commit("b")).toThrow(EffectError);
    expect(() => rt.commit("b")).toThrow("Cannot set x.deep: x is not an object or array");
    expect(rt.getState()).toEqual({ x: 1 });
  });

  it("delete paths with unset / delete", () => {
    let p: Patch = { "a.b": 1, "a.c": 2, list: [1, 2, 3] };
    const step = js(() => p);
    const rt = step();
    p = { "a.b": unset(), "list.1": unset() };
    step();
    expect(rt.getState()).toEqual({ a: { c: 2 }, list: [1, 3] });
    const r2 = rules([{ set: ["a", { object: { b: 1 } }] }, { delete: "a.b" }, { unset: "nothing.here" }])();
    expect(r2.getState()).toEqual({ a: {} });
  });
});

describe("array operations", () => {
  it("push, insert, remove, splice and filter from JavaScript", () => {
    let p: Patch = { todos: push("a", "b") };
    const step = js(() => p);
    const rt = step();
    p = { todos: insert(1, "x") };
    step();
    expect(rt.getState("todos")).toEqual(["a", "x", "b"]);
    p = { todos: remove(0) };
    step();
    expect(rt.getState("todos")).toEqual(["x", "b"]);
    p = { todos: splice(-1, 1, "y", "z") };
    step();
    expect(rt.getState("todos")).toEqual(["x", "y", "z"]);
    p = { todos: filter((t) => t !== "y") };
    step();
    expect(rt.getState("todos")).toEqual(["x", "z"]);
  });

  it("the same operations written as rules, applied in order", () => {
    const rt = rules([
      { push: ["todos", { object: { id: 1, done: false } }, { object: { id: 2, done: true } }] },
      { insert: ["todos", 0, { object: { id: 0, done: true } }] },
      { splice: ["todos", 1, 0, [{ object: { id: 9, done: false } }]] },
      { filter: ["todos", { not: { var: "item.done" } }] },
      { remove: ["todos", 0] },
    ])();
    expect(rt.getState("todos")).toEqual([{ id: 1, done: false }]);
  });

  it("splice clamps like Array.prototype.splice", () => {
    const cases: Array<[number, number]> = [[-10, 1], [10, 1], [1, -5], [1, 100], [-2, 1]];
    for (const [s, c] of cases) {
      let p: Patch = { a: [0, 1, 2, 3] };
      const step = js(() => p);
      const rt = step();
      p = { a: splice(s, c, "n") };
      step();
      const want = [0, 1, 2, 3];
      want.splice(s, c, "n" as never);
      expect(rt.getState("a")).toEqual(want);
    }
  });

  it("push creates the array; pushing to a non-array fails the whole commit", () => {
    let p: Patch = { list: push(1) };
    const step = js(() => p);
    const rt = step();
    expect(rt.getState("list")).toEqual([1]);
    p = { n: 1 };
    step();
    p = { list: push(2), n: push(3) };
    expect(() => step()).toThrow("n is not an array");
    expect(rt.getState()).toEqual({ list: [1], n: 1 });
  });
});

describe("atomic commits", () => {
  it("apply all effects or none: a failing last op undoes the earlier ones", () => {
    const rt = createRuntime(
      createContract({
        intents: { go: { inputs: {} } },
        transitions: {
          init: { effects: { a: 1, obj: { object: { k: 1 } }, list: [1, 2] } },
          bad: {
            effects: [
              { set: ["a", 2] },
              { delete: "obj.k" },
              { push: ["list", 3] },
              { set: ["obj.new", 1] },
              { splice: ["list", 0, 1] },
              { set: ["a.b", 1] },
            ],
          },
        },
      }),
    );
    rt.dispatch("go");
    rt.commit("init");
    const before = rt.stateHash();
    rt.dispatch("go");
    expect(() => rt.commit("bad")).toThrow(EffectError);
    expect(rt.getState()).toEqual({ a: 1, obj: { k: 1 }, list: [1, 2] });
    expect(rt.stateHash()).toBe(before);
    expect(rt.getEvents()).toHaveLength(1);
  });

  it("evaluate object-form effects from the state before the commit (a swap works)", () => {
    const rt = createRuntime(
      createContract({
        intents: { go: { inputs: {} } },
        transitions: { init: { effects: { a: 1, b: 2 } }, swap: { effects: { a: { var: "state.b" }, b: { var: "state.a" } } } },
      }),
    );
    rt.dispatch("go");
    rt.commit("init");
    rt.dispatch("go");
    rt.commit("swap");
    expect(rt.getState()).toEqual({ a: 2, b: 1 });
  });

  it("copy values read from the state, so later effects do not alias them", () => {
    const rt = rules([{ set: ["a", [1]] }, { set: ["b", { var: "state.a" }] }, { push: ["a", 2] }])();
    expect(rt.getState()).toEqual({ a: [1, 2], b: [1] });
  });
});

describe("subscribers by path", () => {
  it("are called for changes at, above or below their path only", () => {
    let p: Patch = { "user.profile.name": "a", "user.id": 1, other: 1 };
    const step = js(() => p);
    const rt = step();
    const seen: string[] = [];
    for (const k of ["user", "user.profile", "user.profile.name", "user.id", "other", "user.profile.age"]) rt.subscribe(k, () => seen.push(k));
    p = { "user.profile.name": "b" };
    step();
    expect(seen).toEqual(["user", "user.profile", "user.profile.name"]);
    seen.length = 0;
    p = { user: { id: 2 } };
    step();
    expect(seen).toEqual(["user", "user.profile", "user.profile.name", "user.id", "user.profile.age"]);
  });

  it("see a frozen copy of the new state", () => {
    const step = js(() => ({ x: [1] }));
    const rt = createRuntime(createContract({ intents: { go: { inputs: {} } }, transitions: { t: { when: true, effects: () => ({ x: [1] }) } } }));
    const cb = vi.fn((s) => expect(Object.isFrozen(s.x)).toBe(true));
    rt.subscribe("x", cb);
    rt.dispatch("go");
    rt.commit();
    expect(cb).toHaveBeenCalledOnce();
    void step;
  });
});

describe("payload values", () => {
  it("are copied as CLASP values: bytes copied, Maps as objects, Dates as ISO strings; the caller's objects stay unfrozen", () => {
    const rt = createRuntime(
      createContract({ intents: { i: { inputs: { b: "bytes", m: "object", d: "date" } } }, transitions: { t: { when: true, effects: (c) => ({ got: c.intent.payload }) } } }),
    );
    const b = new Uint8Array([1, 2]);
    const m = new Map([["a", 1]]);
    rt.dispatch("i", { b, m, d: new Date(0) });
    b[0] = 9;
    rt.commit();
    expect(rt.getState("got")).toEqual({ b: new Uint8Array([1, 2]), m: { a: 1 }, d: "1970-01-01T00:00:00.000Z" });
    expect(Object.isFrozen(m)).toBe(false);
    expect(() => rt.dispatch("i", { b, m, d: "yesterday" })).toThrow("Invalid value for i.d: expected date (ISO 8601 string), got string");
  });
});

describe("limits", () => {
  it("reject states the CLASP value format cannot carry, atomically", () => {
    let p: Patch = { big: Array.from({ length: 65535 }, (_, i) => i) };
    const step = js(() => p);
    const rt = step();
    p = { big: push(1) };
    expect(() => step()).toThrow(/at most 65535 items/);
    expect(rt.getState("big")).toHaveLength(65535);
    let deep: unknown = 1;
    for (let i = 0; i < 61; i++) deep = [deep];
    p = { deep };
    expect(() => step()).toThrow(EffectError);
    expect(rt.getState("deep")).toBeUndefined();
  });

  it("rejects malformed paths with a typed error", () => {
    const rt = js(() => ({}))();
    expect(() => rt.getState("a..b")).toThrow('Invalid path "a..b": empty segment');
    expect(() => rt.getState("a[x]")).toThrow(EffectError);
  });
});

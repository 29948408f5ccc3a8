/**
 * The declarative rule language (docs/clp-rules.md), evaluated in wasm: each operator on
 * known answers, JavaScript-compatible corner cases, and compile/evaluation errors with
 * their locations.
 */
import { describe, it, expect } from "vitest";
import { createContract, createRuntime, ContractError, RuleError, type Rule } from "../../src/clp/index.js";

/** Evaluates `rule` in the engine: `init` copies `state` in, then `run` sets `out` to the rule. */
function evaluate(rule: Rule, payload: Record<string, unknown> = {}, state: Record<string, unknown> = {}, constants?: Record<string, unknown>): unknown {
  const rt = createRuntime(
    createContract({
      intents: { init: { inputs: {} }, run: { inputs: {} } },
      constants,
      transitions: {
        init: { effects: Object.fromEntries(Object.keys(state).map((k) => [k, { var: `intent.payload.${k}` }])) },
        run: { effects: { out: rule } },
      },
    }),
    undefined,
    { now: () => Date.UTC(2030, 0, 2, 3, 4, 5) },
  );
  rt.dispatch("init", state);
  rt.commit("init");
  rt.dispatch("run", payload);
  rt.commit("run");
  return rt.getState("out");
}

describe("values and paths", () => {
  it("reads state, payload, intent, constants, with defaults", () => {
    expect(evaluate({ var: "state.a.b" }, {}, { a: { b: 7 } })).toBe(7);
    expect(evaluate({ var: "state.list[1]" }, {}, { list: [1, 2] })).toBe(2);
    expect(evaluate({ var: "state.list.1" }, {}, { list: [1, 2] })).toBe(2);
    expect(evaluate({ var: "intent.payload.x" }, { x: "p" })).toBe("p");
    expect(evaluate({ var: "payload.x" }, { x: "p" })).toBe("p");
    expect(evaluate({ var: "intent.name" })).toBe("run");
    expect(evaluate({ var: "intent.complete" })).toBe(true);
    expect(evaluate({ var: "const.limit" }, {}, {}, { limit: 3 })).toBe(3);
    expect(evaluate({ var: ["state.missing", 5] })).toBe(5);
    expect(evaluate({ var: "state.missing" })).toBeNull();
  });

  it("builds arrays and objects, and quotes data with lit", () => {
    expect(evaluate([1, { "+": [1, 1] }, "x"])).toEqual([1, 2, "x"]);
    expect(evaluate({ object: { a: { var: "payload.a" }, b: [true] } }, { a: 1 })).toEqual({ a: 1, b: [true] });
    expect(evaluate({ lit: { "+": [1, 2] } })).toEqual({ "+": [1, 2] });
  });
});

describe("operators", () => {
  it("compares like JavaScript, by value", () => {
    expect(evaluate({ "==": [1, 1] })).toBe(true);
    expect(evaluate({ "==": [[1, { lit: { a: 2 } }], [1, { object: { a: 2 } }]] })).toBe(true);
    expect(evaluate({ "!=": ["a", "b"] })).toBe(true);
    expect(evaluate({ "<": ["a", "b"] })).toBe(true);
    expect(evaluate({ ">=": [2, 2] })).toBe(true);
    expect(evaluate({ "<": [{ var: "payload.missing" }, 0] })).toBe(false); // undefined < 0 is false in JS
    expect(evaluate({ "<": ["1", 2] })).toBe(false);
    expect(evaluate({ "==": [{ "/": [0, 0] }, { "/": [0, 0] }] })).toBe(false); // NaN
  });

  it("does IEEE-754 arithmetic", () => {
    expect(evaluate({ "+": [0.1, 0.2] })).toBe(0.1 + 0.2);
    expect(evaluate({ "-": [5] })).toBe(-5);
    expect(evaluate({ "-": [5, 7] })).toBe(-2);
    expect(evaluate({ "*": [2, 3, 4] })).toBe(24);
    expect(evaluate({ "/": [1, 0] })).toBe(Infinity);
    expect(evaluate({ floor: -1.5 })).toBe(-2);
  });

  it("has JavaScript truthiness and short-circuit and/or/??", () => {
    expect(evaluate({ and: [1, "x", 0, "never"] })).toBe(0);
    expect(evaluate({ or: [0, "", null, "y"] })).toBe("y");
    expect(evaluate({ not: [[]] })).toBe(false); // [] is truthy
    expect(evaluate({ "!": "" })).toBe(true);
    expect(evaluate({ "??": [null, 0, 5] })).toBe(0);
    expect(evaluate({ if: [false, "a", true, "b", "c"] })).toBe("b");
    expect(evaluate({ if: [false, "a", "c"] })).toBe("c");
    expect(evaluate({ if: [false, "a"] })).toBeNull();
  });

  it("tests membership in arrays, strings and object keys", () => {
    expect(evaluate({ in: ["tech", ["tech", "sports"]] })).toBe(true);
    expect(evaluate({ in: [{ lit: { a: 1 } }, [{ object: { a: 1 } }]] })).toBe(true);
    expect(evaluate({ in: ["ell", "hello"] })).toBe(true);
    expect(evaluate({ in: ["k", { object: { k: 1 } }] })).toBe(true);
    expect(evaluate({ in: ["x", null] })).toBe(false);
  });

  it("measures, trims, concatenates and looks up", () => {
    expect(evaluate({ len: "héllo😀" })).toBe("héllo😀".length);
    expect(evaluate({ len: [[1, 2, 3]] })).toBe(3);
    expect(evaluate({ trim: " \t\n x y \u00a0" })).toBe("x y");
    expect(evaluate({ concat: ["a", "b", "€"] })).toBe("ab€");
    expect(evaluate({ get: [{ var: "state.m" }, { var: "payload.k" }] }, { k: "b" }, { m: { a: 1, b: 2 } })).toBe(2);
    expect(evaluate({ get: [[10, 20], 1] })).toBe(20);
    expect(evaluate({ get: [[10, 20], 5, "dflt"] })).toBe("dflt");
  });

  it("iterates with item and index", () => {
    const list = [{ id: "1", n: 1 }, { id: "2", n: 5 }];
    expect(evaluate({ filter: [{ var: "state.list" }, { ">": [{ var: "item.n" }, 2] }] }, {}, { list })).toEqual([list[1]]);
    expect(evaluate({ map: [{ var: "state.list" }, { var: "item.id" }] }, {}, { list })).toEqual(["1", "2"]);
    expect(evaluate({ map: [[5, 6], { var: "index" }] })).toEqual([0, 1]);
    expect(evaluate({ some: [{ var: "state.list" }, { "==": [{ var: "item.id" }, "2"] }] }, {}, { list })).toBe(true);
  });

  it("has the Math functions and % of JavaScript", () => {
    for (const x of [2.5, -2.5, 0.49999999999999994, -0.4, 7, -7.000001, 1e21]) {
      expect(evaluate({ round: x })).toBe(Math.round(x));
      expect(evaluate({ ceil: x })).toBe(Math.ceil(x));
      expect(evaluate({ abs: x })).toBe(Math.abs(x));
    }
    expect(Object.is(evaluate({ round: -0.4 }), -0)).toBe(true);
    expect(evaluate({ "%": [7, 3] })).toBe(1);
    expect(evaluate({ "%": [-7, 3] })).toBe(-1); // the dividend's sign
    expect(evaluate({ "%": [5.5, 2] })).toBe(1.5);
    expect(evaluate({ "%": [1, 0] })).toBeNaN();
    expect(evaluate({ min: [3, -1, 2] })).toBe(-1);
    expect(evaluate({ max: [3, -1, 2] })).toBe(3);
    expect(evaluate({ max: [4] })).toBe(4);
    expect(evaluate({ min: [1, { "/": [0, 0] }] })).toBeNaN();
    expect(Object.is(evaluate({ min: [0, { "-": [0] }] }), -0)).toBe(true);
    expect(() => evaluate({ max: [1, "2"] })).toThrow('transitions.run.effects.out: "max" expects numbers, got string');
  });

  it("tests every item with all, and names value types with type", () => {
    const list = [{ n: 1 }, { n: 5 }];
    expect(evaluate({ all: [{ var: "state.list" }, { ">": [{ var: "item.n" }, 0] }] }, {}, { list })).toBe(true);
    expect(evaluate({ all: [{ var: "state.list" }, { ">": [{ var: "item.n" }, 2] }] }, {}, { list })).toBe(false);
    expect(evaluate({ all: [[], false] })).toBe(true); // as [].every
    expect(() => evaluate({ all: ["x", true] })).toThrow('"all" expects an array, got string');
    const types = [null, true, 1, 2.5, "s", [1], { lit: { a: 1 } }].map((v) => evaluate({ type: [v] }));
    expect(types).toEqual(["null", "boolean", "number", "number", "string", "array", "object"]);
    expect(evaluate({ type: { var: "payload.b" } }, { b: new Uint8Array([1]) })).toBe("bytes");
    expect(evaluate({ type: { var: "payload.missing" } })).toBe("null");
  });

  it("appends to arrays and merges objects without changing their sources", () => {
    expect(evaluate({ append: [{ var: "state.list" }, 3, { "+": [2, 2] }] }, {}, { list: [1, 2] })).toEqual([1, 2, 3, 4]);
    expect(evaluate({ append: [{ var: "state.none" }, "a"] })).toEqual(["a"]);
    expect(evaluate({ append: [[1]] })).toEqual([1]);
    expect(() => evaluate({ append: ["x", 1] })).toThrow('"append" expects an array, got string');
    const merged = evaluate({ merge: [{ var: "state.a" }, null, { object: { x: 9, z: 3 } }] }, {}, { a: { x: 1, y: 2 } });
    expect(merged).toEqual({ x: 9, y: 2, z: 3 });
    expect(Object.keys(merged as object)).toEqual(["x", "y", "z"]); // as {...a, ...b}
    expect(() => evaluate({ merge: [{ lit: { a: 1 } }, [1]] })).toThrow('"merge" expects objects, got array');
    // the state the rules read is not changed by append or merge
    const rt = createRuntime(
      createContract({
        intents: { i: { inputs: {} } },
        transitions: {
          t: { when: true, effects: { copy: { append: [{ var: ["state.list", []] }, 1] }, m: { merge: [{ var: ["state.m", null] }, { object: { k: 1 } }] } } },
        },
      }),
    );
    rt.dispatch("i");
    rt.commit();
    rt.dispatch("i");
    rt.commit();
    expect(rt.getState()).toEqual({ copy: [1], m: { k: 1 } });
  });

  it("reads and writes instants as ISO 8601 strings with date", () => {
    const cases: Array<[unknown, unknown]> = [
      [0, new Date(0).toISOString()],
      [1700000000123.9, new Date(1700000000123.9).toISOString()],
      [-1, new Date(-1).toISOString()],
      ["2024-02-29", "2024-02-29T00:00:00.000Z"],
      ["2024-02-29T23:59", "2024-02-29T23:59:00.000Z"],
      ["2024-02-29T23:59:58.5", "2024-02-29T23:59:58.500Z"],
      ["2024-02-29T23:59:58.123456Z", "2024-02-29T23:59:58.123Z"],
      ["2024-03-01T01:30:00+02:00", new Date("2024-03-01T01:30:00+02:00").toISOString()],
      ["1999-12-31T22:00:00.000-05:30", new Date("1999-12-31T22:00:00.000-05:30").toISOString()],
      ["0001-01-01T00:00:00Z", new Date("0001-01-01T00:00:00Z").toISOString()],
    ];
    for (const [input, iso] of cases) expect(evaluate({ date: { var: "payload.x" } }, { x: input })).toBe(iso);
    expect(evaluate({ date: [{ now: [] }, 86_400_000] })).toBe("2030-01-03T03:04:05.000Z");
    expect(evaluate({ "<": [{ date: ["2030-01-02T04:04:05+01:00", 1] }, { now: [] }] })).toBe(false);
    for (const bad of ["2023-02-29", "2024-13-01", "2024-01-01T24:00", "2024-01-01 10:00", "2024-01-01T10:00Zx", "yesterday", true]) {
      expect(() => evaluate({ date: { var: "payload.x" } }, { x: bad })).toThrow(/"date" expects an ISO 8601 date/);
    }
    expect(() => evaluate({ date: 1e300 })).toThrow(RuleError);
    expect(() => evaluate({ date: ["2024-01-01", "1"] })).toThrow('"date" expects numbers, got string');
  });

  it("reads the commit time as an ISO 8601 string", () => {
    expect(evaluate({ now: [] })).toBe("2030-01-02T03:04:05.000Z");
    expect(evaluate({ "<": ["2030-01-01", { now: [] }] })).toBe(true);
  });
});

describe("errors", () => {
  it("reports compile errors with their location", () => {
    const bad = (transitions: any, guards: any[] = []) => () =>
      createContract({ intents: { i: { inputs: {} } }, guards, transitions });
    expect(bad({ t: { when: { "==": [1] } } })).toThrow('transitions.t.when: "==" takes 2 argument(s), got 1');
    expect(bad({ t: { when: { nope: 1 } } })).toThrow('transitions.t.when: unknown operator "nope"');
    expect(bad({ t: { effects: { x: { a: 1, b: 2 } } } })).toThrow(/transitions\.t\.effects\.x: an operator object must have exactly one key/);
    expect(bad({ t: { effects: [{ push: ["list"] }] } })).toThrow('transitions.t.effects[0]: "push" takes at least 2 argument(s)');
    expect(bad({ t: { effects: [{ shove: ["list", 1] }] } })).toThrow(/unknown effect "shove"/);
    expect(bad({ t: { effects: { "a..b": 1 } } })).toThrow(/Invalid path "a\.\.b": empty segment/);
    expect(bad({}, [{ name: "g", deny: { var: "stat.x" } }])).toThrow('guards[0].deny: a path must start with state, intent, payload, const, item or index, got "stat.x"');
    expect(bad({}, [{ deny: true }])).toThrow("guards[0]: a guard needs a string name");
    expect(() => createContract({ intents: { i: { inputs: { x: "num" } } }, transitions: {} })).toThrow(/intents\.i\.inputs\.x: unknown type "num"/);
    expect(bad({ t: { when: { nope: 1 } } })).toThrow(ContractError);
    expect(bad({ t: { when: { nope: 1 } } })).toThrow(expect.objectContaining({ location: "transitions.t.when" }));
  });

  it("reports evaluation errors as RuleError at the rule, and the commit changes nothing", () => {
    const rt = createRuntime(
      createContract({
        intents: { i: { inputs: { x: "any" } } },
        transitions: { t: { when: true, effects: [{ set: ["a", 1] }, { set: ["b", { "+": [1, { var: "payload.x" }] }] }] } },
      }),
    );
    rt.dispatch("i", { x: "str" });
    expect(() => rt.commit()).toThrow(RuleError);
    expect(() => rt.commit()).toThrow('transitions.t.effects[1]: "+" expects numbers, got string');
    expect(rt.getState()).toEqual({});
    rt.dispatch("i", { x: 1 });
    rt.commit();
    expect(rt.getState()).toEqual({ a: 1, b: 2 });
  });
});

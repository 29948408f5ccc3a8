/**
 * Conformance with CLP v0.1 (shared/reference/clp-semantics.md), section by section, on
 * JavaScript contracts (the v0.1 style) and, where the section is about the engine, on the
 * same contract written as rules. Where clawft deliberately differs (the quirks Q1–Q5 of §13,
 * typed inputs, value diffs), the test says so and checks the new behaviour (docs/clp.md).
 */
import { describe, it, expect, vi } from "vitest";
import {
  createContract, createRuntime, CommitError, GuardDeniedError, IntentError, PayloadTypeError, ProposalError,
  SubscriberError, type Contract, type Context,
} from "../../src/clp/index.js";
import { counter as counterFunctions } from "../../examples/counter/contract.js";

/** The counter contract of the v0.1 examples (§14.1), as functions (examples/counter). */
function counter(ai?: (i: any) => any) {
  return createRuntime(counterFunctions, ai);
}

/** A contract with required and optional inputs (the reminder shape). */
function reminder(ai?: (i: any) => any) {
  return createRuntime(
    createContract({
      intents: { createReminder: { inputs: { text: "string", date: "string?" } }, other: { inputs: {} } },
      state: {},
      guards: [],
      transitions: { save: { when: (c: Context) => c.intent.name === "createReminder", effects: (c: Context) => ({ reminder: { ...c.intent.payload } }) } },
    }),
    ai,
  );
}

describe("§1 public surface", () => {
  it("createContract returns a shallow copy of the config", () => {
    const config: Contract = { intents: { a: { inputs: {} } }, state: {}, guards: [], transitions: {} };
    const c = createContract(config);
    expect(c).not.toBe(config);
    expect(c.intents).toBe(config.intents);
  });

  it("starts with an empty state: the contract's state section is never read", () => {
    const rt = counter();
    expect(rt.getState("count")).toBeUndefined();
    expect(rt.getState()).toEqual({});
  });
});

describe("§2 completeness", () => {
  it("needs every required input present and not null or undefined", () => {
    const rt = reminder();
    for (const payload of [{}, { text: null }, { text: undefined }]) {
      rt.dispatch("createReminder", payload);
      expect(() => rt.commit()).toThrow("Intent is incomplete");
    }
  });

  it('counts "", 0 and false as provided', () => {
    const rt = createRuntime(
      createContract({
        intents: { x: { inputs: { s: "string", n: "number", b: "boolean" } } },
        transitions: { t: { when: () => true, effects: () => ({ ok: true }) } },
      }),
    );
    rt.dispatch("x", { s: "", n: 0, b: false });
    rt.commit();
    expect(rt.getState("ok")).toBe(true);
  });

  it("treats an intent with no or only optional inputs as complete with an empty payload", () => {
    const rt = counter();
    rt.dispatch("increment", {});
    rt.commit();
    expect(rt.getState("count")).toBe(1);
  });

  it("keeps payload keys the intent does not declare", () => {
    const rt = reminder();
    rt.dispatch("createReminder", { text: "t", extra: 1 });
    expect(rt.getLog()[0]!.intentPayload).toEqual({ text: "t", extra: 1 });
    rt.commit();
    expect(rt.getState("reminder")).toEqual({ text: "t", extra: 1 });
  });

  it("differs: the type words are checked (a string for a number input is a PayloadTypeError)", () => {
    const rt = counter();
    expect(() => rt.dispatch("increment", { amount: "5" })).toThrow(PayloadTypeError);
    expect(() => rt.dispatch("increment", { amount: "5" })).toThrow("Invalid value for increment.amount: expected number, got string");
    expect(rt.getLog()).toHaveLength(0);
  });
});

describe("§3 dispatch", () => {
  it("throws `Unknown intent x` and leaves the intent, the proposal and the log alone", async () => {
    const rt = reminder(async () => ({ date: "2030-01-01" }));
    rt.dispatch("createReminder", { text: "t" });
    await rt.propose("createReminder");
    expect(() => rt.dispatch("nope", {})).toThrow("Unknown intent nope");
    expect(() => rt.dispatch("nope", {})).toThrow(IntentError);
    expect(rt.getLog()).toHaveLength(2);
    rt.acceptProposal("createReminder");
    rt.commit();
    expect(rt.getState("reminder")).toEqual({ text: "t", date: "2030-01-01" });
  });

  it("copies the payload: later changes to the caller's object have no effect", () => {
    const rt = counter();
    const payload = { amount: 2 };
    rt.dispatch("increment", payload);
    payload.amount = 100;
    rt.commit();
    expect(rt.getState("count")).toBe(2);
  });

  it("replaces an uncommitted intent, which is then abandoned", () => {
    const rt = createRuntime(
      createContract({
        intents: { a: { inputs: {} }, b: { inputs: {} } },
        transitions: { t: { when: () => true, effects: (c: Context) => ({ last: c.intent.name }) } },
      }),
    );
    rt.dispatch("a");
    rt.dispatch("b");
    rt.commit();
    expect(rt.getState("last")).toBe("b");
    expect(rt.getLog().map((e) => e.intentName)).toEqual(["a", "b", "b"]);
  });

  it("logs one entry, returns undefined, and calls neither the AI nor subscribers", () => {
    const ai = vi.fn();
    const sub = vi.fn();
    const rt = counter(ai);
    rt.subscribe("count", sub);
    expect(rt.dispatch("increment", { amount: 1 })).toBeUndefined();
    expect(ai).not.toHaveBeenCalled();
    expect(sub).not.toHaveBeenCalled();
    expect(rt.getLog()).toHaveLength(1);
  });

  it("differs (Q1 fixed): a new dispatch clears a staged proposal", async () => {
    const rt = reminder(async () => ({ date: "2030-01-01" }));
    rt.dispatch("createReminder", { text: "a" });
    await rt.propose("createReminder");
    rt.dispatch("createReminder", { text: "b" });
    expect(() => rt.acceptProposal("createReminder")).toThrow("No staged proposal to accept");
    rt.commit(); // v0.1: Unaccepted AI proposal present
    expect(rt.getState("reminder")).toEqual({ text: "b" });
  });
});

describe("§4 propose", () => {
  it("resolves null without calling the provider when the intent is not current or there is no provider", async () => {
    const ai = vi.fn(async () => ({}));
    const rt = counter(ai);
    expect(await rt.propose("increment")).toBeNull();
    rt.dispatch("increment", {});
    expect(await rt.propose("other")).toBeNull();
    expect(ai).not.toHaveBeenCalled();
    const bare = counter();
    bare.dispatch("increment", {});
    expect(await bare.propose("increment")).toBeNull();
    expect(bare.getLog()).toHaveLength(1);
  });

  it("passes the provider's error through and stages nothing", async () => {
    const boom = new Error("provider down");
    const rt = counter(async () => {
      throw boom;
    });
    rt.dispatch("increment", {});
    await expect(rt.propose("increment")).rejects.toBe(boom);
    expect(rt.getLog()).toHaveLength(1);
    rt.commit();
    expect(rt.getState("count")).toBe(1);
  });

  it("rejects undeclared fields and required fields the caller gave, first failing key first", async () => {
    let proposal: Record<string, unknown> = {};
    const rt = reminder(async () => proposal);
    rt.dispatch("createReminder", { text: "t" });
    proposal = { extra: 1 };
    await expect(rt.propose("createReminder")).rejects.toThrow("Proposal contains invalid field: extra");
    proposal = { text: "x", extra: 1 };
    await expect(rt.propose("createReminder")).rejects.toThrow("Proposal tries to override required field: text");
    await expect(rt.propose("createReminder")).rejects.toBeInstanceOf(ProposalError);
    expect(rt.getLog()).toHaveLength(1);
  });

  it("may fill an absent required input and override an optional one the caller gave", async () => {
    const rt = reminder(async () => ({ text: "from AI", date: "2031-01-01" }));
    rt.dispatch("createReminder", { date: "2030-01-01" });
    await rt.propose("createReminder");
    rt.acceptProposal("createReminder");
    rt.commit();
    expect(rt.getState("reminder")).toEqual({ date: "2031-01-01", text: "from AI" });
  });

  it("stages and logs a valid proposal with the payload before the merge, and resolves to it", async () => {
    const p = { date: "2030-01-01" };
    const rt = reminder(async () => p);
    rt.dispatch("createReminder", { text: "t" });
    expect(await rt.propose("createReminder")).toBe(p);
    const e = rt.getLog()[1]!;
    expect(e.stagedProposal).toEqual(p);
    expect(e.intentPayload).toEqual({ text: "t" });
    expect("acceptedProposal" in e).toBe(false);
    expect(e.transitionResult).toEqual({ permitted: false });
  });

  it("stages an empty proposal, which blocks commit until accepted", async () => {
    const rt = counter(async () => ({}));
    rt.dispatch("increment", {});
    await rt.propose("increment");
    expect(() => rt.commit()).toThrow("Unaccepted AI proposal present");
    rt.acceptProposal("increment");
    rt.commit();
    expect(rt.getState("count")).toBe(1);
  });

  it("differs (Q5 fixed): the provider gets a frozen copy and cannot change the live intent", async () => {
    const rt = reminder(async (intent) => {
      expect(Object.isFrozen(intent)).toBe(true);
      expect(Object.isFrozen(intent.payload)).toBe(true);
      expect(() => {
        intent.payload.text = "hijacked";
      }).toThrow(TypeError);
      return {};
    });
    rt.dispatch("createReminder", { text: "mine" });
    await rt.propose("createReminder");
    rt.acceptProposal("createReminder");
    rt.commit();
    expect(rt.getState("reminder")).toEqual({ text: "mine" });
  });

  it("differs (Q2 fixed): a required key present but null can be filled by the AI", async () => {
    const rt = reminder(async () => ({ text: "filled" }));
    rt.dispatch("createReminder", { text: null });
    await rt.propose("createReminder");
    rt.acceptProposal("createReminder");
    rt.commit();
    expect(rt.getState("reminder")).toEqual({ text: "filled" });
  });

  it("differs: a proposal for an intent that was replaced while the provider ran is discarded", async () => {
    let release!: () => void;
    const rt = reminder(() => new Promise((r) => (release = () => r({ date: "2030-01-01" }))));
    rt.dispatch("createReminder", { text: "a" });
    const p = rt.propose("createReminder");
    await new Promise((r) => setTimeout(r, 0));
    rt.dispatch("createReminder", { text: "b" });
    release();
    await expect(p).rejects.toThrow(/Intent changed/);
    expect(() => rt.acceptProposal("createReminder")).toThrow("No staged proposal to accept");
  });
});

describe("§5 acceptProposal", () => {
  it("throws `No matching intent` and `No staged proposal to accept` without logging", () => {
    const rt = counter();
    expect(() => rt.acceptProposal("increment")).toThrow("No matching intent");
    rt.dispatch("increment", {});
    expect(() => rt.acceptProposal("other")).toThrow("No matching intent");
    expect(() => rt.acceptProposal("increment")).toThrow("No staged proposal to accept");
    expect(rt.getLog()).toHaveLength(1);
  });

  it("merges, completes the intent, logs the accepted proposal with the merged payload and clears the slot", async () => {
    const rt = reminder(async () => ({ text: "ai" }));
    rt.dispatch("createReminder", {});
    await rt.propose("createReminder");
    rt.acceptProposal("createReminder");
    const e = rt.getLog()[2]!;
    expect(e.acceptedProposal).toEqual({ text: "ai" });
    expect(e.intentPayload).toEqual({ text: "ai" });
    expect("stagedProposal" in e).toBe(false);
    expect(() => rt.acceptProposal("createReminder")).toThrow("No staged proposal to accept");
    rt.commit();
  });
});

describe("§6 commit", () => {
  it("checks intent, proposal, then completeness, without logging or running guards", async () => {
    const deny = vi.fn(() => false);
    const rt = createRuntime(
      createContract({
        intents: { r: { inputs: { x: "string" } } },
        guards: [{ name: "g", deny }],
        transitions: { t: { when: () => true, effects: () => ({}) } },
      }),
      async () => ({}),
    );
    expect(() => rt.commit()).toThrow("No intent to commit");
    rt.dispatch("r", {});
    await rt.propose("r");
    expect(() => rt.commit()).toThrow("Unaccepted AI proposal present");
    rt.acceptProposal("r");
    expect(() => rt.commit()).toThrow("Intent is incomplete");
    expect(() => rt.commit()).toThrow(CommitError);
    expect(deny).not.toHaveBeenCalled();
    expect(rt.getLog()).toHaveLength(3);
  });

  it("consumes the intent on success", () => {
    const rt = counter();
    rt.dispatch("increment", {});
    rt.commit();
    expect(() => rt.commit()).toThrow("No intent to commit");
  });

  it("keeps the intent current and the state unchanged on a failure, so the caller may retry", () => {
    let block = true;
    const rt = createRuntime(
      createContract({
        intents: { i: { inputs: {} } },
        guards: [{ name: "gate", deny: () => block }],
        transitions: { t: { when: () => true, effects: (c: Context) => ({ n: (c.state.n ?? 0) + 1 }) } },
      }),
    );
    rt.dispatch("i");
    expect(() => rt.commit()).toThrow("Guard gate denied");
    expect(rt.getState()).toEqual({});
    block = false;
    rt.commit();
    expect(rt.getState("n")).toBe(1);
  });

  it("passes errors thrown by deny, when and effects through, unlogged", () => {
    const boom = new Error("boom");
    for (const part of ["deny", "when", "effects"] as const) {
      const rt = createRuntime(
        createContract({
          intents: { i: { inputs: {} } },
          guards: [{ name: "g", deny: () => { if (part === "deny") throw boom; return false; } }],
          transitions: {
            t: {
              when: () => { if (part === "when") throw boom; return true; },
              effects: () => { if (part === "effects") throw boom; return { x: 1 }; },
            },
          },
        }),
      );
      rt.dispatch("i");
      expect(() => rt.commit()).toThrow(boom);
      expect(rt.getLog()).toHaveLength(1);
      expect(rt.getState()).toEqual({});
    }
  });
});

describe("§7 guards", () => {
  function guarded(deny: Array<() => unknown>) {
    return createRuntime(
      createContract({
        intents: { i: { inputs: {} } },
        guards: deny.map((d, k) => ({ name: `g${k}`, deny: d })),
        transitions: { t: { when: () => true, effects: () => ({ ok: true }) } },
      }),
    );
  }

  it("run in array order and stop at the first denial; the entry holds the evaluated prefix", () => {
    const calls: string[] = [];
    const rt = guarded([() => (calls.push("g0"), false), () => (calls.push("g1"), true), () => (calls.push("g2"), true)]);
    rt.dispatch("i");
    expect(() => rt.commit()).toThrow("Guard g1 denied");
    expect(calls).toEqual(["g0", "g1"]);
    const e = rt.getLog()[1]!;
    expect(e.guardOutcomes).toEqual([{ name: "g0", denied: false }, { name: "g1", denied: true }]);
    expect("stagedProposal" in e && e.stagedProposal === undefined).toBe(true);
    expect("transitionAttempted" in e && e.transitionAttempted === undefined).toBe(true);
    expect(e.transitionResult).toEqual({ permitted: false });
    expect(e.stateDiff).toEqual({});
  });

  it("are global and run before the transition name is resolved", () => {
    const rt = guarded([() => true]);
    rt.dispatch("i");
    expect(() => rt.commit("noSuchTransition")).toThrow("Guard g0 denied");
    expect(() => rt.commit("noSuchTransition")).toThrow(GuardDeniedError);
  });

  it("treat any truthy result as a denial", () => {
    const rt = guarded([() => "yes"]);
    rt.dispatch("i");
    expect(() => rt.commit()).toThrow("Guard g0 denied");
  });
});

describe("§8 transition selection", () => {
  function two(whenA: () => boolean, whenB: () => boolean) {
    const calls: string[] = [];
    const rt = createRuntime(
      createContract({
        intents: { i: { inputs: {} } },
        transitions: {
          a: { when: () => (calls.push("a"), whenA()), effects: () => ({ by: "a" }) },
          b: { when: () => (calls.push("b"), whenB()), effects: () => ({ by: "b" }) },
        },
      }),
    );
    return { rt, calls };
  }

  it("a named commit skips `when` entirely", () => {
    const { rt, calls } = two(() => false, () => false);
    rt.dispatch("i");
    rt.commit("b");
    expect(rt.getState("by")).toBe("b");
    expect(calls).toEqual([]);
    expect(rt.getLog()[1]!.transitionAttempted).toBe("b");
  });

  it("an unknown name logs a no-transition entry and throws `No matching transition`", () => {
    const { rt } = two(() => true, () => false);
    rt.dispatch("i");
    expect(() => rt.commit("zzz")).toThrow("No matching transition");
    const e = rt.getLog()[1]!;
    expect(e.transitionAttempted).toBe("zzz");
    expect(e.transitionResult).toEqual({ permitted: false });
  });

  it("without a name evaluates every `when` and needs exactly one match", () => {
    let r = two(() => true, () => true);
    r.rt.dispatch("i");
    expect(() => r.rt.commit()).toThrow("Expected exactly one matching transition, found 2");
    expect(r.calls).toEqual(["a", "b"]);
    r = two(() => false, () => false);
    r.rt.dispatch("i");
    expect(() => r.rt.commit("")).toThrow("Expected exactly one matching transition, found 0");
    expect(r.rt.getLog()).toHaveLength(1);
    r = two(() => false, () => true);
    r.rt.dispatch("i");
    r.rt.commit();
    expect(r.rt.getLog()[1]!.transitionResult).toEqual({ name: "b", permitted: true });
    expect(r.rt.getLog()[1]!.transitionAttempted).toBe("b");
  });
});

describe("§9 the audit log", () => {
  it("writes dispatch, propose, accept and commit entries for an AI-assisted run", async () => {
    const rt = counter(async () => ({ amount: 1 }));
    rt.dispatch("increment", {});
    await rt.propose("increment");
    rt.acceptProposal("increment");
    rt.commit();
    const log = rt.getLog();
    expect(log).toHaveLength(4);
    const c = log[3]!;
    expect(c.timestamp).toBeInstanceOf(Date);
    expect(c.intentName).toBe("increment");
    expect(c.intentPayload).toEqual({ amount: 1 });
    expect(c.guardOutcomes).toEqual([{ name: "no_negative_increment", denied: false }]);
    expect(c.transitionResult).toEqual({ name: "applyIncrement", permitted: true });
    expect(c.stateDiff).toEqual({ count: 1 });
    expect("acceptedProposal" in c).toBe(false);
    expect("stagedProposal" in c && c.stagedProposal === undefined).toBe(true);
    expect(log[0]!.intentPayload).toEqual({});
  });

  it("returns a new array on every call", () => {
    const rt = counter();
    rt.dispatch("increment", {});
    const a = rt.getLog();
    a.push(a[0]!);
    expect(rt.getLog()).toHaveLength(1);
    expect(rt.getLog()).not.toBe(rt.getLog());
  });

  it("shares the intent's frozen payload with the entries, so a reader cannot rewrite it", () => {
    const rt = counter();
    rt.dispatch("increment", { amount: 3 });
    expect(Object.isFrozen(rt.getLog()[0]!.intentPayload)).toBe(true);
  });
});

describe("§10 merge and diff", () => {
  function patching(patch: (c: Context) => Record<string, unknown>) {
    const rt = createRuntime(
      createContract({ intents: { i: { inputs: {} } }, transitions: { t: { when: () => true, effects: patch } } }),
    );
    return (): Record<string, unknown> => {
      rt.dispatch("i");
      rt.commit();
      return rt.getLog().at(-1)!.stateDiff;
    };
  }

  it("keeps keys the effects do not return and replaces returned ones wholesale", () => {
    let patch: Record<string, unknown> = { user: { name: "a", age: 1 }, other: 1 };
    const step = patching(() => patch);
    step();
    patch = { user: { name: "b" } };
    expect(step()).toEqual({ user: { name: "b" } });
  });

  it("records only changed keys, with their new values", () => {
    let patch: Record<string, unknown> = { a: 1, b: 2 };
    const step = patching(() => patch);
    expect(step()).toEqual({ a: 1, b: 2 });
    patch = { a: 1, b: 3 };
    expect(step()).toEqual({ b: 3 });
  });

  it("differs: compares by value, so a new array with equal contents is not a change", () => {
    const step = patching(() => ({ list: [1, 2] }));
    expect(step()).toEqual({ list: [1, 2] });
    expect(step()).toEqual({});
  });

  it("differs: `undefined` deletes the key (getState still answers undefined)", () => {
    let patch: Record<string, unknown> = { gone: 1 };
    const step = patching(() => patch);
    step();
    patch = { gone: undefined };
    expect(step()).toEqual({ gone: undefined });
  });
});

describe("§11 subscribers", () => {
  it("get the whole new state after a commit that changes their key, in registration order", () => {
    const rt = createRuntime(
      createContract({ intents: { i: { inputs: {} } }, transitions: { t: { when: () => true, effects: () => ({ a: 1, b: 2 }) } } }),
    );
    const calls: string[] = [];
    const both = (s: any) => calls.push(`both:${JSON.stringify(s)}`);
    rt.subscribe("b", (s) => calls.push(`b1:${s.a}`));
    rt.subscribe("a", both);
    rt.subscribe("b", both);
    rt.subscribe("b", (s) => calls.push(`b2:${s.b}`));
    rt.subscribe("zzz", () => calls.push("never"));
    rt.dispatch("i");
    expect(calls).toEqual([]);
    rt.commit();
    // keys in first-subscribed order (b, a, zzz), callbacks in registration order
    expect(calls).toEqual(["b1:1", 'both:{"a":1,"b":2}', "b2:2", 'both:{"a":1,"b":2}']);
    calls.length = 0;
    rt.dispatch("i");
    rt.commit();
    expect(calls).toEqual([]);
  });

  it("differs (Q4 fixed): a throwing subscriber cannot make the commit apply twice", () => {
    const rt = counter();
    rt.subscribe("count", () => {
      throw new Error("subscriber bug");
    });
    rt.dispatch("increment", {});
    expect(() => rt.commit()).toThrow(SubscriberError);
    expect(rt.getState("count")).toBe(1);
    expect(() => rt.commit()).toThrow("No intent to commit");
    expect(rt.getState("count")).toBe(1);
  });

  it("differs: subscribe returns an unsubscribe function", () => {
    const rt = counter();
    const cb = vi.fn();
    const off = rt.subscribe("count", cb);
    off();
    rt.dispatch("increment", {});
    rt.commit();
    expect(cb).not.toHaveBeenCalled();
  });
});

describe("§13 quirk Q3 (fixed): getState returns copies", () => {
  it("changing what getState returned does not change the runtime's state", () => {
    const rt = createRuntime(
      createContract({ intents: { i: { inputs: {} } }, transitions: { t: { when: () => true, effects: () => ({ list: [1], obj: { a: 1 } }) } } }),
    );
    rt.dispatch("i");
    rt.commit();
    const list = rt.getState("list");
    list.push(2);
    rt.getState("obj").a = 2;
    expect(rt.getState("list")).toEqual([1]);
    expect(rt.getState("obj")).toEqual({ a: 1 });
  });

  it("guards, `when` and effects get frozen views", () => {
    const seen: boolean[] = [];
    const rt = createRuntime(
      createContract({
        intents: { i: { inputs: {} } },
        guards: [{ name: "g", deny: (c: Context) => (seen.push(Object.isFrozen(c.state), Object.isFrozen(c.intent.payload)), false) }],
        transitions: { t: { when: () => true, effects: () => ({ x: 1 }) } },
      }),
    );
    rt.dispatch("i");
    rt.commit();
    expect(seen).toEqual([true, true]);
  });
});

describe("§12 every v0.1 message, on the same contract written as rules", () => {
  it("reproduces the messages from the engine's rule path", async () => {
    const rt = createRuntime(
      createContract({
        intents: { r: { inputs: { text: "string", date: "string?" } } },
        guards: [{ name: "no_x", deny: { "==": [{ var: "intent.payload.text" }, "x"] } }],
        transitions: {
          a: { when: { "==": [{ var: "intent.payload.text" }, "a"] }, effects: { last: { var: "intent.payload.text" } } },
          b: { when: { "!=": [{ var: "intent.payload.text" }, "none"] }, effects: { last: "b" } },
        },
      }),
      async () => ({ zzz: 1 }),
    );
    expect(() => rt.dispatch("q", {})).toThrow("Unknown intent q");
    expect(() => rt.commit()).toThrow("No intent to commit");
    rt.dispatch("r", {});
    await expect(rt.propose("r")).rejects.toThrow("Proposal contains invalid field: zzz");
    expect(() => rt.acceptProposal("s")).toThrow("No matching intent");
    expect(() => rt.acceptProposal("r")).toThrow("No staged proposal to accept");
    expect(() => rt.commit()).toThrow("Intent is incomplete");
    rt.dispatch("r", { text: "x" });
    expect(() => rt.commit()).toThrow("Guard no_x denied");
    rt.dispatch("r", { text: "a" });
    expect(() => rt.commit()).toThrow("Expected exactly one matching transition, found 2");
    rt.dispatch("r", { text: "none" });
    expect(() => rt.commit()).toThrow("Expected exactly one matching transition, found 0");
    expect(() => rt.commit("c")).toThrow("No matching transition");
    rt.commit("a");
    expect(rt.getState("last")).toBe("none");
  });
});

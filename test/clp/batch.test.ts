/**
 * What the commit speed work must not change: `commitMany` gives what the dispatch + commit
 * loop gives (state, events, hash chain, audit entries, errors), the audit log is bounded
 * while the event log stays complete, and a JavaScript contract's functions run once each, in
 * v0.1 order, when the engine is asked once per commit.
 */
import { describe, it, expect, vi } from "vitest";
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { counterRules } from "../../examples/counter/contract.js";
import {
  createContract, createRuntime, ClpCore, CommitError, GuardDeniedError, IntentError, PayloadTypeError,
  type CommitResult, type Context, type Contract,
} from "../../src/clp/index.js";
import { expectOk } from "../../src/clp/core.js";
import type { ClaspValue } from "../../src/clasp/index.js";

const counterJs = (): Contract =>
  createContract({
    intents: { increment: { inputs: { amount: "number?" } } },
    guards: [{ name: "no_negative_increment", deny: (ctx: Context) => ctx.intent.payload.amount < 0 }],
    transitions: {
      applyIncrement: {
        when: (ctx: Context) => ctx.intent.complete,
        effects: (ctx: Context) => ({ count: (ctx.state.count ?? 0) + (ctx.intent.payload.amount ?? 1) }),
      },
    },
  });

/** The same intents through dispatch + commit, one by one, with a fixed clock. */
function loop(contract: Contract, intents: Array<[string, Record<string, unknown>]>) {
  const rt = createRuntime(contract, undefined, { now: () => 1_700_000_000_000 });
  for (const [name, payload] of intents) {
    rt.dispatch(name, payload);
    rt.commit();
  }
  return rt;
}

const strip = (r: CommitResult) => ({ seq: r.seq, transition: r.transition, diff: r.diff, duplicate: r.duplicate });

describe("commitMany", () => {
  const intents: Array<[string, Record<string, unknown>]> = Array.from({ length: 600 }, (_, i) => ["increment", { amount: (i % 7) + 1 }]);

  for (const [label, contract] of [["rules (one engine call per 256 intents)", counterRules], ["JavaScript closures (the loop)", counterJs()]] as const) {
    it(`commits like dispatch + commit, event for event: ${label}`, () => {
      const a = createRuntime(contract, undefined, { now: () => 1_700_000_000_000 });
      const results = a.commitMany(intents);
      const b = loop(contract, intents);
      expect(results).toHaveLength(600);
      expect(results[599]!.seq).toBe(600);
      expect(results.map(strip).slice(0, 3)).toEqual([
        { seq: 1, transition: "applyIncrement", diff: { count: 1 }, duplicate: false },
        { seq: 2, transition: "applyIncrement", diff: { count: 3 }, duplicate: false },
        { seq: 3, transition: "applyIncrement", diff: { count: 6 }, duplicate: false },
      ]);
      expect(a.getState()).toEqual(b.getState());
      expect(a.head()).toEqual(b.head()); // same events, same times: the same hash chain
      expect(a.exportLog()).toEqual(b.exportLog());
      const strip2 = (e: ReturnType<typeof a.getLog>[number]) => ({ ...e, timestamp: e.timestamp.getTime() });
      expect(a.getLog().map(strip2)).toEqual(b.getLog().map(strip2));
    });
  }

  it("stops at the first refusal and says where: the commits before it stand, the refused intent stays current", () => {
    const rt = createRuntime(counterRules);
    const batch: Array<[string, Record<string, unknown>]> = [["increment", { amount: 2 }], ["increment", { amount: 3 }], ["increment", { amount: -1 }], ["increment", {}]];
    let error: any;
    try {
      rt.commitMany(batch);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(GuardDeniedError);
    expect(error.message).toBe("Guard no_negative_increment denied");
    expect(error.batchIndex).toBe(2);
    expect(error.committed.map((r: CommitResult) => r.seq)).toEqual([1, 2]);
    expect(rt.getState("count")).toBe(5);
    expect(rt.head().seq).toBe(2);
    const log = rt.getLog();
    expect(log.map((e) => e.transitionResult.permitted)).toEqual([false, true, false, true, false, false]);
    expect(log.at(-1)!.guardOutcomes).toEqual([{ name: "no_negative_increment", denied: true }]);
    // as after a refused commit(): the intent is current and can be committed by name... after a new dispatch
    expect(() => rt.commit()).toThrow(GuardDeniedError);
    rt.dispatch("increment", { amount: 4 });
    rt.commit();
    expect(rt.getState("count")).toBe(9);
  });

  it("reports dispatch refusals (unknown intent, ill-typed payload) with their index, nothing after them applied", () => {
    const rt = createRuntime(counterRules);
    expect(() => rt.commitMany([["increment", {}], ["nope", {}], ["increment", {}]])).toThrow(
      expect.objectContaining({ name: "IntentError", message: "Unknown intent nope", batchIndex: 1 }),
    );
    expect(() => rt.commitMany([["increment", { amount: "x" }]])).toThrow(PayloadTypeError);
    expect(rt.getState("count")).toBe(1);
    expect(rt.getEvents()).toHaveLength(1);
    expect(IntentError).toBeDefined();
  });

  it("takes the loop with subscribers, so each sees the state of its own commit", () => {
    const rt = createRuntime(counterRules);
    const seen: number[] = [];
    rt.subscribe("count", (s) => seen.push(s.count));
    rt.commitMany([["increment", {}], ["increment", { amount: 5 }]]);
    expect(seen).toEqual([1, 6]);
  });

  it("runs the middleware of each dispatch and commit, as the loop does", () => {
    const seen: string[] = [];
    const rt = createRuntime(counterRules, undefined, {
      middleware: [{
        name: "trace",
        beforeDispatch: (i) => void seen.push(`dispatch ${String(i.payload.amount)}`),
        beforeCommit: (i) => void seen.push(`commit ${String(i.payload.amount)}`),
        afterCommit: (_i, entry) => void seen.push(`seq ${String(entry.seq)}`),
      }],
    });
    rt.commitMany([["increment", { amount: 1 }], ["increment", { amount: 2 }]]);
    expect(seen).toEqual(["dispatch 1", "commit 1", "seq 1", "dispatch 2", "commit 2", "seq 2"]);
  });

  it("refuses to run unstored commits on a runtime that stores every commit", async () => {
    const { MemoryStorage } = await import("../../src/storage/index.js");
    const rt = createRuntime(counterRules, undefined, { storage: new MemoryStorage() });
    await rt.ready;
    expect(() => rt.commitMany([["increment", {}]])).toThrow(CommitError);
    expect(rt.getState("count")).toBeUndefined();
  });
});

describe("the engine's batch verb, lean", () => {
  it("answers the full batch's results in part, with the same records one after another, and the same refusal", async () => {
    const core = await ClpCore.load();
    const contract = {
      intents: { add: { inputs: { n: "number" } } },
      guards: [{ name: "small", deny: { ">": [{ var: "intent.payload.n" }, 5] } }],
      transitions: { t: { when: true, effects: [{ push: ["list", { var: "intent.payload.n" }] }, { set: ["last", { var: "intent.payload.n" }] }] } },
    };
    const items = [1, 2, 3, 9, 4].map((n) => ["add", { n }]);
    const full = core.create(contract);
    const lean = core.create(contract);
    const loop = core.create(contract);
    const [fullResults, fullFailure] = expectOk(core.call("batch", full, [7, null, items])) as [ClaspValue[][], ClaspValue];
    const fullRecords = fullResults.map((r) => (r[5] as Uint8Array[])[0]!);
    const [leanResults, leanFailure] = expectOk(core.call("batch", lean, [7, null, items, true])) as [ClaspValue[][], ClaspValue];
    const { record, seq } = core.record()!;
    // what dispatch + commit answer one at a time (the diffs hold each commit's values, [1],
    // then [1, 2], …, in both batches: not the list as the batch left it)
    const single = items.slice(0, 3).map((it) => {
      expectOk(core.call("dispatch", loop, it));
      return (expectOk(core.call("commit", loop, [null, 7, null, null, [], null, null, true])) as ClaspValue[]).slice(0, 4);
    });
    expect(single[0]![2]).toEqual([[["list"], [1]], [["last"], 1]]);
    expect(leanResults).toEqual(single);
    expect(fullResults.map((r) => r.slice(0, 4))).toEqual(single);
    expect(leanFailure).toEqual(fullFailure);
    expect((leanFailure as ClaspValue[]).slice(0, 2)).toEqual([3, 1]); // the guard refused the fourth
    expect(seq).toBe(3);
    expect(Buffer.from(record).toString("hex")).toBe(Buffer.concat(fullRecords).toString("hex"));
    expect(Buffer.from(core.raw("stateHash", lean))).toEqual(Buffer.from(core.raw("stateHash", full)));
    // nothing committed: no records
    expectOk(core.call("batch", lean, [7, null, [["nope", {}]], true]));
    expect(core.record()).toBeUndefined();
    core.destroy(full);
    core.destroy(lean);
    core.destroy(loop);
  });
});

describe("object-form effects", () => {
  it("record each value as computed, also when a later path lies inside an earlier value", async () => {
    const rt = createRuntime(
      createContract({
        intents: { i: { inputs: {} } },
        transitions: { t: { when: true, effects: { a: { object: { b: 1, c: [1] } }, "a.b": 2, n: { "+": [1, 1] } } } },
      }),
    );
    rt.commitMany([["i", {}], ["i", {}]]);
    expect(rt.getState()).toEqual({ a: { b: 2, c: [1] }, n: 2 });
    expect(rt.getEvents()[0]!.ops).toEqual([["set", ["a"], { b: 1, c: [1] }], ["set", ["a", "b"], 2], ["set", ["n"], 2]]);
    const again = createRuntime(createContract({ intents: { i: { inputs: {} } }, transitions: {} }));
    await again.replay(rt.exportLog());
    expect(again.stateHash()).toBe(rt.stateHash());
  });
});

describe("the audit log", () => {
  it("keeps the last auditLimit entries; the event log stays complete", () => {
    const rt = createRuntime(counterRules, undefined, { auditLimit: 50 });
    for (let i = 0; i < 500; i++) {
      rt.dispatch("increment", { amount: 1 });
      rt.commit();
    }
    const log = rt.getLog();
    expect(log).toHaveLength(50);
    expect(log.at(-1)!.seq).toBe(500);
    expect(log[0]!.intentName).toBe("increment");
    expect(log.filter((e) => e.seq !== undefined).map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => 476 + i));
    expect(rt.getEvents()).toHaveLength(500);
    const replayed = createRuntime(counterRules);
    return replayed.replay(rt.exportLog()).then(() => expect(replayed.stateHash()).toBe(rt.stateHash()));
  });

  it("defaults to 10,000 entries; Infinity keeps all, 0 none; a bad limit is a RangeError", () => {
    const keep = createRuntime(counterRules, undefined, { auditLimit: Infinity });
    const none = createRuntime(counterRules, undefined, { auditLimit: 0 });
    const dflt = createRuntime(counterRules);
    for (const rt of [keep, none, dflt]) rt.commitMany(Array.from({ length: 6000 }, () => ["increment", {}] as [string, Record<string, unknown>]));
    expect(keep.getLog()).toHaveLength(12_000);
    expect(none.getLog()).toHaveLength(0);
    expect(dflt.getLog()).toHaveLength(10_000);
    expect(() => createRuntime(counterRules, undefined, { auditLimit: -1 })).toThrow(RangeError);
    expect(() => createRuntime(counterRules, undefined, { auditLimit: Number.NaN })).toThrow(RangeError);
  });

  it("builds an entry when it is read, with the time of its operation", () => {
    let t = 1_000;
    const rt = createRuntime(counterRules, undefined, { now: () => t });
    rt.dispatch("increment", { amount: 2 });
    t = 2_000;
    rt.commit();
    t = 9_000;
    const [d, c] = rt.getLog();
    expect(d!.timestamp).toEqual(new Date(1_000));
    expect(c!.timestamp).toEqual(new Date(2_000));
    expect(c!.stateDiff).toEqual({ count: 2 });
    expect(Object.isFrozen(c!.intentPayload)).toBe(true);
    expect(rt.getLog()[1]).toBe(c); // built once
  });
});

describe("one engine call per commit for JavaScript contracts", () => {
  it("calls each function once, in v0.1 order, and the engine once", async () => {
    const calls: string[] = [];
    const contract = createContract({
      intents: { go: { inputs: { n: "number" } } },
      guards: [
        { name: "g1", deny: () => (calls.push("g1"), false) },
        { name: "g2", deny: (ctx: Context) => (calls.push("g2"), ctx.intent.payload.n < 0) },
      ],
      transitions: {
        a: { when: (ctx: Context) => (calls.push("when a"), ctx.intent.payload.n === 1), effects: () => (calls.push("fx a"), { x: "a" }) },
        b: { when: (ctx: Context) => (calls.push("when b"), ctx.intent.payload.n !== 1), effects: () => (calls.push("fx b"), { x: "b" }) },
      },
    });
    const core = await ClpCore.load();
    // value verbs go through `call` (decoded answer) or `callRaw` (answer read in parts)
    const call = vi.spyOn(core, "call");
    const callRaw = vi.spyOn(core, "callRaw");
    const rt = createRuntime(contract, undefined, { core });
    rt.dispatch("go", { n: 1 });
    call.mockClear();
    callRaw.mockClear();
    rt.commit();
    expect([...call.mock.calls, ...callRaw.mock.calls].map((c) => c[0])).toEqual(["commit"]);
    expect(calls).toEqual(["g1", "g2", "when a", "when b", "fx a"]);
    expect(rt.getState("x")).toBe("a");
    // a denial: no `when` and no effects run
    calls.length = 0;
    rt.dispatch("go", { n: -1 });
    expect(() => rt.commit()).toThrow(GuardDeniedError);
    expect(calls).toEqual(["g1", "g2"]);
    // two matching transitions: no effects run, the engine reports the ambiguity
    calls.length = 0;
    const both = createRuntime(createContract({ ...contract, transitions: { ...contract.transitions, c: { when: () => true, effects: () => (calls.push("fx c"), {}) } } }));
    both.dispatch("go", { n: 1 });
    expect(() => both.commit()).toThrow("Expected exactly one matching transition, found 2");
    expect(calls.filter((c) => c.startsWith("fx"))).toEqual([]);
  });

  it("still asks the engine where rules decide (mixed contracts)", () => {
    const calls: string[] = [];
    const rt = createRuntime(
      createContract({
        intents: { go: { inputs: { n: "number" } } },
        guards: [{ name: "rule", deny: { "<": [{ var: "payload.n" }, 0] } }, { name: "js", deny: () => (calls.push("js guard"), false) }],
        transitions: { t: { when: { ">": [{ var: "payload.n" }, 0] }, effects: (ctx: Context) => (calls.push("fx"), { n: ctx.intent.payload.n }) } },
      }),
    );
    rt.dispatch("go", { n: -5 });
    expect(() => rt.commit()).toThrow("Guard rule denied");
    expect(calls).toEqual([]);
    rt.dispatch("go", { n: 5 });
    rt.commit();
    expect(calls).toEqual(["js guard", "fx"]);
    expect(rt.getState("n")).toBe(5);
  });

  it("runs effects that return nothing once (an empty patch)", () => {
    let runs = 0;
    const rt = createRuntime(
      createContract({ intents: { go: { inputs: {} } }, transitions: { t: { when: () => true, effects: () => void runs++ as any } } }),
    );
    rt.dispatch("go");
    rt.commit();
    expect(runs).toBe(1);
    expect(rt.head().seq).toBe(1);
  });
});

describe("commits that read the answer in parts (INFO words, audit entries decoded when read)", () => {
  const now = () => 1_700_000_000_000;

  it("gives the audit entries, events and hash chain of the fully decoded answer", () => {
    // a subscriber makes the runtime decode every answer at once; without one it keeps the bytes
    const lean = createRuntime(counterRules, undefined, { now });
    const eager = createRuntime(counterRules, undefined, { now });
    eager.subscribe("elsewhere", () => undefined);
    // enough commits for their records to fill more than one 64 KB chunk of small copies
    for (let i = 0; i < 1_200; i++) {
      for (const rt of [lean, eager]) {
        rt.dispatch("increment", { amount: i % 7 });
        rt.commit();
      }
    }
    expect(lean.getLog()).toEqual(eager.getLog());
    const entry = lean.getLog().at(-1)!;
    expect(Object.keys(entry)).toEqual(Object.keys(eager.getLog().at(-1)!));
    expect(entry).toMatchObject({ transitionAttempted: "applyIncrement", transitionResult: { name: "applyIncrement", permitted: true }, seq: 1_200 });
    expect(entry.stateDiff).toEqual({ count: lean.getState("count") });
    expect(entry.guardOutcomes).toEqual([{ name: "no_negative_increment", denied: false }]);
    expect(lean.exportLog()).toEqual(eager.exportLog());
    expect(lean.head()).toEqual(eager.head());
    expect(lean.getEvents().map((e) => e.seq)).toEqual(Array.from({ length: 1_200 }, (_, i) => i + 1));
    // the kept log replays to the same state (each kept record intact after later commits)
    const copy = createRuntime(counterRules);
    return copy.replay(lean.exportLog()).then(() => expect(copy.stateHash()).toBe(lean.stateHash()));
  });

  it("reads dispatch's complete flag and a commit's record and seq beside the answer", async () => {
    const core = await ClpCore.load();
    const rt = createRuntime(
      createContract({
        intents: { go: { inputs: { n: "number" } } },
        transitions: { t: { when: true, effects: { n: { var: "intent.payload.n" } } } },
      }),
      undefined,
      { core, now },
    );
    const call = vi.spyOn(core, "callRaw");
    rt.dispatch("go", {});
    expect(core.flag()).toBe(false);
    expect(() => rt.commit()).toThrow(CommitError); // incomplete: the engine's flag said so
    rt.dispatch("go", { n: 3 });
    expect(core.flag()).toBe(true);
    rt.commit();
    // a lean answer: [transition, outcomes, diff, seq]; the record is beside it
    expect(core.answerValue()).toEqual(["t", [], [[["n"], 3]], 1]);
    const { record, seq } = core.record()!;
    expect(seq).toBe(1);
    // the lean answer follows the record in the core's memory: both come out in one copy
    const both = core.recordThenAnswer()!;
    expect(core.recordSeq).toBe(1);
    expect([...both]).toEqual([...record]);
    const answer = core.answerBytes();
    expect(core.answerLength).toBe(answer.length);
    expect([...new Uint8Array(both.buffer, both.byteOffset + both.byteLength, core.answerLength)]).toEqual([...answer]);
    const [event] = rt.getEvents();
    expect(event!.hash).toBe(rt.head().hash);
    expect(Buffer.from(record.subarray(record.length - 32)).toString("hex")).toBe(rt.head().hash);
    expect(call.mock.calls.map((c) => c[0])).toEqual(["dispatch", "commit", "dispatch", "commit"]);
    // verbs that build no event leave no record
    rt.getState("n");
    expect(core.record()).toBeUndefined();
    expect(core.recordThenAnswer()).toBeUndefined();
  });

  it("keeps each lean commit's answer beside its record: small ones in shared chunks, over 4 KB in a buffer of their own", () => {
    const contract = createContract({
      intents: { put: { inputs: { text: "string" } } },
      transitions: { t: { when: true, effects: { text: { var: "intent.payload.text" } } } },
    });
    // sizes around the 4 KB limit and enough small commits to fill more than one 64 KB chunk
    const texts = [..."abc".split(""), "x".repeat(4_000), "y".repeat(4_100), "z".repeat(9_000)];
    for (let i = 0; i < 400; i++) texts.push(`s${i}`.repeat(1 + (i % 40)));
    const lean = createRuntime(contract, undefined, { now });
    const eager = createRuntime(contract, undefined, { now });
    eager.subscribe("elsewhere", () => undefined); // a subscriber: commits decode their answer at once
    for (const text of texts) {
      lean.dispatch("put", { text });
      lean.commit(); // lean: the answer stays as bytes beside the record
      eager.dispatch("put", { text });
      eager.commit();
    }
    // read only now: every kept answer must still hold its own commit's diff
    const entries = lean.getLog().filter((e) => e.transitionResult.permitted);
    expect(entries.map((e) => e.stateDiff.text)).toEqual(texts);
    expect(entries.map((e) => e.seq)).toEqual(texts.map((_, i) => i + 1));
    expect(lean.getLog()).toEqual(eager.getLog());
    expect(lean.exportLog()).toEqual(eager.exportLog());
  });

  it("reads the engine's answers right after its memory grew (views of the old memory are renewed)", async () => {
    const wasi = new WASI({ version: "preview1", args: [], env: {}, returnOnExit: true });
    const module = await WebAssembly.compile(await readFile(new URL("../../build/clp.wasm", import.meta.url)));
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
    const memory = instance.exports.memory as WebAssembly.Memory;
    const core = ClpCore.fromInstance(instance, (await ClpCore.load()).codec);
    const keys = Array.from({ length: 8 }, (_, i) => `k${i}`);
    const rt = createRuntime(
      createContract({
        intents: { put: { inputs: Object.fromEntries(keys.map((k) => [k, "string"])) } },
        transitions: { t: { when: true, effects: Object.fromEntries(keys.map((k) => [k, { var: `intent.payload.${k}` }])) } },
      }),
      undefined,
      { core, now },
    );
    const sizes = [memory.buffer.byteLength];
    for (let i = 0; i < 6; i++) {
      // 8 strings of 60,000 bytes a commit, each commit's different: the engine's memory grows
      const payload = Object.fromEntries(keys.map((k, j) => [k, String.fromCharCode(97 + ((i + j) % 26)).repeat(60_000)]));
      rt.dispatch("put", payload);
      rt.commit();
      sizes.push(memory.buffer.byteLength);
      expect(rt.getState()).toEqual(payload);
      expect(rt.getEvents().at(-1)!.seq).toBe(i + 1);
    }
    expect(sizes.at(-1)).toBeGreaterThan(sizes[0]!); // it did grow
    const entries = rt.getLog().filter((e) => e.transitionResult.permitted);
    expect(entries.map((e) => (e.stateDiff.k3 as string)[0])).toEqual(["d", "e", "f", "g", "h", "i"]);
  });

  it("decodes a repeated commit argument once and still answers each commit on its own", () => {
    const rt = createRuntime(counterRules, undefined, { now });
    rt.dispatch("increment", { amount: 2 });
    rt.commit();
    // the same argument bytes, now refused: the engine must not reuse the last answer
    expect(() => rt.commit()).toThrow("No intent to commit");
    rt.dispatch("increment", { amount: -1 });
    expect(() => rt.commit()).toThrow(GuardDeniedError);
    rt.dispatch("increment", { amount: 5 });
    rt.commit();
    expect(rt.getState("count")).toBe(7);
    rt.dispatch("increment", { amount: 1 });
    rt.commit("applyIncrement"); // another argument (a named transition): decoded
    expect(rt.getState("count")).toBe(8);
    expect(rt.getLog().filter((e) => e.transitionResult.permitted).map((e) => e.seq)).toEqual([1, 2, 3]);
  });
});

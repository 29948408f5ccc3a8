/**
 * The roadmap features (shared/seeds/clp-runtime-roadmap.md): persistence over the Storage
 * adapters, middleware, Zod validation, async transitions (timeout, idempotency, rollback),
 * guard suggestions, event sourcing, and sagas.
 */
import { describe, it, expect, vi, beforeAll, afterAll } from "vitest";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { MemoryStorage, type Storage } from "../../src/storage/index.js";
import { FileStorage } from "../../src/storage/fs.js";
import { RedisStorage } from "../../src/storage/redis.js";
import { startRedis, type RedisServer } from "../helpers/redis.js";
import { flakyStorage } from "../helpers/storage.js";
import { counterRules } from "../../examples/counter/contract.js";
import {
  createContract, createRuntime, openRuntime, runSaga, EventStore, ClpCore, CommitError, EventLogError, GuardDeniedError,
  PersistError, SnapshotError, TransitionTimeoutError, ValidationError, type Context, type Contract, type Middleware,
} from "../../src/clp/index.js";

const counterContract = (): Contract => counterRules;

async function increment(rt: ReturnType<typeof createRuntime>, amount?: number) {
  rt.dispatch("increment", amount === undefined ? {} : { amount });
  return rt.commitAsync();
}

/** Persistence behaviour every storage adapter must give the runtime. */
function persistence(name: string, open: () => Promise<Storage>) {
  describe(`persistence on ${name}`, () => {
    it("stores each commit before reporting it and hydrates a new runtime from it", async () => {
      const storage = await open();
      const a = createRuntime(counterContract(), undefined, { storage, storageKey: "c1" });
      await a.ready;
      await increment(a, 2);
      await increment(a, 3);
      const b = await openRuntime(counterContract(), undefined, { storage, storageKey: "c1" });
      expect(b.getState("count")).toBe(5);
      expect(b.head()).toEqual(a.head());
      expect(b.stateHash()).toBe(a.stateHash());
      await increment(b, 1);
      await b.persist(); // snapshot; events covered by it are dropped
      expect((await storage.keys("c1/e/")).length).toBe(0);
      await increment(b, 10);
      const c = await openRuntime(counterContract(), undefined, { storage, storageKey: "c1" });
      expect(c.getState("count")).toBe(16);
      expect(c.head().seq).toBe(4);
      await storage.close();
    });
  });
}

persistence("MemoryStorage", async () => new MemoryStorage());

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clp-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
persistence("FileStorage", async () => new FileStorage(join(dir, "fs")));

let redis: RedisServer | undefined;
const redisReason = await (async () => {
  redis = await startRedis();
  return redis ? undefined : "skipped: redis-server not installed";
})();
afterAll(async () => {
  await redis?.stop();
});
describe.skipIf(redisReason)(`persistence on RedisStorage ${redisReason ?? ""}`, () => {
  persistence("RedisStorage", async () => new RedisStorage(redis!.url, `clp${process.pid}:`));
});

describe("persistence guarantees", () => {
  it("refuses a synchronous commit when every commit must be stored first", async () => {
    const rt = createRuntime(counterContract(), undefined, { storage: new MemoryStorage() });
    await rt.ready;
    rt.dispatch("increment", {});
    expect(() => rt.commit()).toThrow(CommitError);
    expect(() => rt.commit()).toThrow(/use commitAsync/);
  });

  it("rolls a commit back when the storage fails: nothing reported, state unchanged, intent still current", async () => {
    let fail = false;
    const flaky = flakyStorage(() => fail);
    const rollback = vi.fn();
    const contract = createContract({
      intents: { go: { inputs: {} } },
      transitions: { t: { when: true, effects: async () => ({ x: 1 }), rollback } },
    });
    const rt = createRuntime(contract, undefined, { storage: flaky });
    await rt.ready;
    fail = true;
    rt.dispatch("go");
    await expect(rt.commitAsync()).rejects.toBeInstanceOf(PersistError);
    expect(rt.getState()).toEqual({});
    expect(rollback).toHaveBeenCalledOnce();
    fail = false;
    await rt.commitAsync(); // the intent is still current
    expect(rt.getState("x")).toBe(1);
    const again = await openRuntime(contract, undefined, { storage: flaky });
    expect(again.getState("x")).toBe(1);
  });

  it("appends events from elsewhere all or nothing: a storage failure undoes the append", async () => {
    const source = createRuntime(counterContract());
    for (const n of [1, 2, 3]) await increment(source, n);
    const flaky = flakyStorage((n) => n === 2); // the append's second write fails
    const rt = await openRuntime(counterContract(), undefined, { storage: flaky });
    await expect(rt.append(source.exportLog())).rejects.toBeInstanceOf(PersistError);
    expect(rt.getState()).toEqual({});
    expect(rt.head().seq).toBe(0);
    expect(rt.getEvents()).toEqual([]);
    expect(await flaky.keys("clp/e/")).toEqual([]);
    await rt.append(source.exportLog());
    expect(rt.getState("count")).toBe(6);
    expect((await openRuntime(counterContract(), undefined, { storage: flaky })).getState("count")).toBe(6);
  });

  it("loses nothing that was reported: a commit that resolved survives a crash right after", async () => {
    const storage = new MemoryStorage();
    const rt = await openRuntime(counterContract(), undefined, { storage });
    await increment(rt, 7);
    // "crash": drop rt without persist(); a new process hydrates from the storage
    const next = await openRuntime(counterContract(), undefined, { storage });
    expect(next.getState("count")).toBe(7);
  });

  it("writes snapshots every n commits", async () => {
    const storage = new MemoryStorage();
    const rt = await openRuntime(counterContract(), undefined, { storage, snapshotEvery: 2 });
    await increment(rt);
    expect(await storage.get("clp/snapshot")).toBeUndefined();
    await increment(rt);
    expect(await storage.get("clp/snapshot")).toBeInstanceOf(Uint8Array);
    expect(await storage.keys("clp/e/")).toEqual([]);
  });

  it("refuses a corrupt stored snapshot or a tampered stored event, loudly", async () => {
    const storage = new MemoryStorage();
    const rt = await openRuntime(counterContract(), undefined, { storage });
    await increment(rt, 1);
    await rt.persist();
    await increment(rt, 2);
    const snap = (await storage.get("clp/snapshot"))!;
    const bad = snap.slice();
    bad[bad.length - 40] ^= 1;
    await storage.set("clp/snapshot", bad);
    const r1 = createRuntime(counterContract(), undefined, { storage });
    await expect(r1.ready).rejects.toBeInstanceOf(SnapshotError);
    expect(r1.getState()).toEqual({});
    await storage.set("clp/snapshot", snap);
    const [key] = await storage.keys("clp/e/");
    const ev = (await storage.get(key!))!;
    ev[10] ^= 0x20;
    await storage.set(key!, ev);
    const r2 = createRuntime(counterContract(), undefined, { storage });
    await expect(r2.ready).rejects.toThrow(EventLogError);
    expect(r2.getState("count")).toBe(1); // the snapshot loaded, the bad event did not
  });
});

describe("middleware", () => {
  it("runs hooks around dispatch, propose and commit, in order", async () => {
    const calls: string[] = [];
    const mw: Middleware = {
      name: "trace",
      beforeDispatch: (i) => void calls.push(`beforeDispatch:${i.name}`),
      afterDispatch: (i, log) => void calls.push(`afterDispatch:${i.name}:${log.intentName}`),
      beforePropose: () => void calls.push("beforePropose"),
      afterPropose: (_, p) => void calls.push(`afterPropose:${JSON.stringify(p)}`),
      beforeCommit: () => void calls.push("beforeCommit"),
      afterCommit: (_, log) => void calls.push(`afterCommit:${log.transitionResult.name}`),
    };
    const rt = createRuntime(counterContract(), async () => ({ amount: 2 }), { middleware: [mw] });
    rt.dispatch("increment", {});
    await rt.propose("increment");
    rt.acceptProposal("increment");
    await rt.commitAsync();
    expect(calls).toEqual([
      "beforeDispatch:increment", "afterDispatch:increment:increment", "beforePropose", 'afterPropose:{"amount":2}',
      "beforeCommit", "afterCommit:applyIncrement",
    ]);
  });

  it("lets a before hook veto (rate limiting), and reports guard denials and errors", () => {
    const denied: string[] = [];
    const errors: Array<[string, string]> = [];
    const rt = createRuntime(counterContract(), undefined, {
      middleware: [
        {
          name: "limit",
          beforeDispatch: (i) => {
            if (i.payload.amount === 99) throw new Error("rate limited");
          },
          onGuardDeny: (g, ctx) => void denied.push(`${g.name}:${ctx.intent.payload.amount}`),
          onError: (e, phase) => void errors.push([phase, (e as Error).message]),
        },
      ],
    });
    expect(() => rt.dispatch("increment", { amount: 99 })).toThrow("rate limited");
    rt.dispatch("increment", { amount: -1 });
    expect(() => rt.commit()).toThrow(GuardDeniedError);
    expect(denied).toEqual(["no_negative_increment:-1"]);
    expect(errors).toEqual([["dispatch", "rate limited"], ["commit", "Guard no_negative_increment denied"]]);
  });

  it("reports a failing after-hook without undoing the commit", () => {
    const errors: string[] = [];
    const rt = createRuntime(counterContract(), undefined, {
      middleware: [
        {
          name: "flaky-webhook",
          afterCommit: () => {
            throw new Error("webhook down");
          },
          onError: (e, phase) => void errors.push(`${phase}: ${(e as Error).message}`),
        },
      ],
    });
    rt.dispatch("increment", { amount: 2 });
    rt.commit();
    expect(rt.getState("count")).toBe(2);
    expect(errors).toEqual(["middleware: webhook down"]);
  });
});

describe("validation with Zod", () => {
  const schema = { book: z.object({ seats: z.number().int().min(1), email: z.email() }) };
  const contract = () =>
    createContract({ intents: { book: { inputs: { seats: "number", email: "string" } } }, transitions: { t: { when: true, effects: { ok: true } } } });

  it("strict: throws ValidationError for payloads and proposals (partial: missing fields may come later)", async () => {
    const rt = createRuntime(contract(), async () => ({ email: "not-an-email" }), { validation: { schema, strict: true } });
    expect(() => rt.dispatch("book", { seats: 0 })).toThrow(ValidationError);
    rt.dispatch("book", { seats: 2 });
    await expect(rt.propose("book")).rejects.toBeInstanceOf(ValidationError);
  });

  it("non-strict: logs and goes on", () => {
    const warn = vi.fn();
    const rt = createRuntime(contract(), undefined, { validation: { schema }, logger: { warn } });
    rt.dispatch("book", { seats: 0, email: "a@b.c" });
    rt.commit();
    expect(warn).toHaveBeenCalledOnce();
    expect(rt.getState("ok")).toBe(true);
  });
});

describe("async transitions", () => {
  const sendContract = (effects: (c: Context) => Promise<Record<string, unknown>>, rollback?: () => void, timeoutMs?: number) =>
    createContract({
      intents: { notify: { inputs: { to: "string" } } },
      transitions: { send: { when: true, effects, rollback, timeoutMs } },
    });

  it("await their effects in commitAsync; commit() refuses a Promise", async () => {
    const rt = createRuntime(sendContract(async (c) => ({ lastNotified: c.intent.payload.to })));
    rt.dispatch("notify", { to: "ada" });
    expect(() => rt.commit()).toThrow(/commitAsync/);
    expect(rt.getState()).toEqual({});
    const r = await rt.commitAsync();
    expect(r).toMatchObject({ seq: 1, transition: "send", diff: { lastNotified: "ada" }, duplicate: false });
  });

  it("time out without applying anything, call rollback, and keep the intent", async () => {
    const rollback = vi.fn();
    let slow = true;
    const rt = createRuntime(sendContract(() => new Promise((r) => setTimeout(() => r({ sent: true }), slow ? 200 : 0)), rollback, 20));
    rt.dispatch("notify", { to: "x" });
    await expect(rt.commitAsync()).rejects.toBeInstanceOf(TransitionTimeoutError);
    expect(rollback).toHaveBeenCalledOnce();
    expect(rt.getState()).toEqual({});
    slow = false;
    await rt.commitAsync();
    expect(rt.getState("sent")).toBe(true);
  });

  it("apply a repeated idempotency key once", async () => {
    const rt = createRuntime(counterContract());
    rt.dispatch("increment", { amount: 5 });
    const first = await rt.commitAsync(undefined, { idempotencyKey: "req-1" });
    rt.dispatch("increment", { amount: 5 });
    const again = await rt.commitAsync(undefined, { idempotencyKey: "req-1" });
    expect(again).toEqual({ seq: first.seq, diff: {}, changes: [], duplicate: true });
    expect(rt.getState("count")).toBe(5);
    expect(() => rt.commit()).toThrow("No intent to commit");
    // keys survive a snapshot round trip
    const other = createRuntime(counterContract());
    other.restore(rt.snapshot());
    other.dispatch("increment", { amount: 5 });
    expect((await other.commitAsync(undefined, { idempotencyKey: "req-1" })).duplicate).toBe(true);
  });

  it("make other changes wait: a second operation during an async commit is BUSY", async () => {
    const rt = createRuntime(sendContract(() => new Promise((r) => setTimeout(() => r({}), 20))));
    rt.dispatch("notify", { to: "a" });
    const p = rt.commitAsync();
    expect(() => rt.dispatch("notify", { to: "b" })).toThrow(/runtime is busy/);
    await p;
  });
});

describe("guard suggestions", () => {
  it("surface a rule guard's suggestion, which the caller can stage, accept and commit", () => {
    const rt = createRuntime(
      createContract({
        intents: { classify: { inputs: { text: "string", category: "string?" } } },
        constants: { allowed: ["tech", "sports"] },
        guards: [
          {
            name: "category_must_be_allowed",
            deny: { not: { in: [{ var: "intent.payload.category" }, { var: "const.allowed" }] } },
            suggest: { object: { category: "tech" } },
          },
        ],
        transitions: { apply: { when: true, effects: { lastCategory: { var: "intent.payload.category" } } } },
      }),
    );
    rt.dispatch("classify", { text: "chips", category: "food" });
    let err: GuardDeniedError | undefined;
    try {
      rt.commit();
    } catch (e) {
      err = e as GuardDeniedError;
    }
    expect(err).toBeInstanceOf(GuardDeniedError);
    expect(err!.suggestion).toEqual({ category: "tech" });
    expect(rt.getLog().at(-1)!.suggestion).toEqual({ category: "tech" });
    rt.stageProposal("classify", err!.suggestion!);
    rt.acceptProposal("classify");
    rt.commit();
    expect(rt.getState("lastCategory")).toBe("tech");
  });

  it("surface a JavaScript guard's suggestion", () => {
    const rt = createRuntime(
      createContract({
        intents: { mail: { inputs: { email: "string" } } },
        guards: [{ name: "valid_email", deny: (c: Context) => !String(c.intent.payload.email).includes("@"), suggest: () => ({ email: "user@example.com" }) }],
        transitions: { t: { when: true, effects: () => ({}) } },
      }),
    );
    rt.dispatch("mail", { email: "nope" });
    expect(() => rt.commit()).toThrow(expect.objectContaining({ suggestion: { email: "user@example.com" } }));
  });
});

describe("event sourcing", () => {
  it("every commit is an event; replay elsewhere gives the same state and hash", async () => {
    const a = createRuntime(counterContract());
    for (const n of [1, 2, 3]) await increment(a, n);
    const events = a.getEvents();
    expect(events.map((e) => [e.seq, e.intent, e.transition])).toEqual([[1, "increment", "applyIncrement"], [2, "increment", "applyIncrement"], [3, "increment", "applyIncrement"]]);
    expect(events[2]!.ops).toEqual([["set", ["count"], 6]]);
    expect(events[2]!.hash).toBe(a.head().hash);
    const b = createRuntime(counterContract());
    await b.replay(a.exportLog());
    expect(b.getState()).toEqual({ count: 6 });
    expect(b.stateHash()).toBe(a.stateHash());
    // continue elsewhere: append the tail
    const c = createRuntime(counterContract());
    await c.replay(a.exportLog());
    await increment(a, 4);
    await increment(a, 5);
    // a damaged tail (the last record's hash) is refused after its first event verified: the head stays
    const damaged = a.exportLog(3);
    damaged[damaged.length - 1]! ^= 1;
    const before = c.head();
    await expect(c.append(damaged)).rejects.toThrow(/event 5: hash mismatch/);
    expect(c.head()).toEqual(before);
    await c.append(a.exportLog(3));
    expect(c.getState("count")).toBe(15);
    expect(c.head()).toEqual(a.head());
  });

  it("detects tampering: a changed event, a dropped event or a reordered log is refused, state unchanged", async () => {
    const a = createRuntime(counterContract());
    for (const n of [1, 2, 3]) await increment(a, n);
    const log = a.exportLog();
    const b = createRuntime(counterContract());
    const altered = log.slice();
    altered[60] ^= 1;
    await expect(b.replay(altered)).rejects.toThrow(/event 1: hash mismatch/);
    const { records } = await import("../../src/clp/events.js").then((m) => m.splitLog(log));
    const { joinLog } = await import("../../src/clp/events.js");
    await expect(b.replay(joinLog(0, new Uint8Array(32), [records[0]!, records[2]!]))).rejects.toBeInstanceOf(EventLogError);
    await expect(b.replay(joinLog(0, new Uint8Array(32), [records[1]!, records[0]!]))).rejects.toBeInstanceOf(EventLogError);
    expect(b.getState()).toEqual({});
    expect(b.head().seq).toBe(0);
  });

  it("an EventStore keeps aggregates in a Storage and replays them", async () => {
    const storage = new MemoryStorage();
    const store = new EventStore(storage, await ClpCore.load());
    const rt = createRuntime(counterContract());
    for (const n of [1, 2]) await increment(rt, n);
    await store.append("counter-1", rt.exportLog());
    await increment(rt, 3);
    await store.append("counter-1", rt.exportLog(2));
    expect((await store.getEvents("counter-1")).map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(await store.replay("counter-1")).toEqual({ count: 6 });
    await expect(store.append("counter-1", rt.exportLog(1))).rejects.toBeInstanceOf(EventLogError);
  });
});

describe("sagas", () => {
  const travel = () =>
    createContract({
      intents: {
        reserveFlight: { inputs: { id: "string" } },
        cancelFlight: { inputs: { id: "string" } },
        reserveHotel: { inputs: { id: "string" } },
        charge: { inputs: { amount: "number" } },
      },
      guards: [{ name: "card_limit", deny: { and: [{ "==": [{ var: "intent.name" }, "charge"] }, { ">": [{ var: "intent.payload.amount" }, 1000] }] } }],
      transitions: {
        flight: { when: { "==": [{ var: "intent.name" }, "reserveFlight"] }, effects: [{ push: ["flights", { var: "intent.payload.id" }] }] },
        cancel: { when: { "==": [{ var: "intent.name" }, "cancelFlight"] }, effects: [{ filter: ["flights", { "!=": [{ var: "item" }, { var: "intent.payload.id" }] }] }] },
        hotel: { when: { "==": [{ var: "intent.name" }, "reserveHotel"] }, effects: { hotel: { var: "intent.payload.id" } } },
        pay: { when: { "==": [{ var: "intent.name" }, "charge"] }, effects: { paid: { var: "intent.payload.amount" } } },
      },
    });

  it("runs the steps in order", async () => {
    const rt = createRuntime(travel());
    const r = await runSaga(rt, {
      name: "trip",
      steps: [
        { name: "flight", intent: "reserveFlight", payload: { id: "LH1" } },
        { name: "hotel", intent: "reserveHotel", payload: { id: "H9" } },
        { name: "pay", intent: "charge", payload: (ctx) => ({ amount: Number(ctx.input.price) }) },
      ],
    }, { price: 500 });
    expect(r.status).toBe("completed");
    expect(rt.getState()).toEqual({ flights: ["LH1"], hotel: "H9", paid: 500 });
  });

  it("compensates the completed steps in reverse order when a step fails", async () => {
    const rt = createRuntime(travel());
    const order: string[] = [];
    const r = await runSaga(rt, {
      name: "trip",
      steps: [
        { name: "flight", intent: "reserveFlight", payload: { id: "LH1" }, compensate: { intent: "cancelFlight", payload: { id: "LH1" } } },
        { name: "hotel", intent: "reserveHotel", payload: { id: "H9" }, compensate: () => void order.push("hotel undone") },
        { name: "pay", intent: "charge", payload: { amount: 5000 } },
      ],
    });
    expect(r.status).toBe("compensated");
    expect(r.failedStep).toBe("pay");
    expect(r.error).toBeInstanceOf(GuardDeniedError);
    expect(order).toEqual(["hotel undone"]);
    expect(rt.getState("flights")).toEqual([]);
    expect(rt.getEvents().map((e) => e.intent)).toEqual(["reserveFlight", "reserveHotel", "cancelFlight"]);
  });

  it("does not apply a step twice when re-run with the same id", async () => {
    const rt = createRuntime(travel());
    const saga = { name: "s", steps: [{ name: "flight", intent: "reserveFlight", payload: { id: "X" } }] };
    await runSaga(rt, saga, {}, "run-1");
    await runSaga(rt, saga, {}, "run-1");
    expect(rt.getState("flights")).toEqual(["X"]);
  });
});

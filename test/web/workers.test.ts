/**
 * The codec and CLP Workers (`clawft/clasp/worker`, `clawft/clp/worker`) in Node worker
 * threads: the same answers as in-thread, typed errors across, transferred results, and a
 * crashing Worker rejecting its pending calls with WorkerCrashError.
 */
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClaspDecodeError, ClaspPatternError, codec, type Message } from "../../src/clasp/index.js";
import { createClaspWorker, WorkerCrashError, type ClaspWorker } from "../../src/clasp/worker.js";
import { createRuntime, GuardDeniedError, IntentError, type Contract } from "../../src/clp/index.js";
import { createClpWorker, type ClpWorker } from "../../src/clp/worker.js";

/** A worker thread running workers/<entry> (through tsx, see worker-boot.mjs). */
function spawn(entry: string, crashOn?: string): Worker {
  return new Worker(new URL("./worker-boot.mjs", import.meta.url), { workerData: { entry, crashOn } });
}

const MESSAGES: Message[] = [
  { type: "SET", address: "/mixer/1/fader", value: 0.75 },
  { type: "PUBLISH", address: "/cue", signal: "event", value: { n: 3, bytes: new Uint8Array([1, 2, 3]) } } as Message,
  { type: "SET", address: "/a/b", value: [1, "two", null] },
];

/** The README's counter contract with a guard that denies negative amounts (declarative rules only). */
export const COUNTER: Contract = {
  intents: { increment: { inputs: { amount: "number?" } } },
  state: { count: "number" },
  guards: [{ name: "no_negative", deny: { "<": [{ var: "intent.payload.amount" }, 0] } }],
  transitions: {
    applyIncrement: {
      when: { var: "intent.complete" },
      effects: { count: { "+": [{ var: ["state.count", 0] }, { "??": [{ var: "intent.payload.amount" }, 1] }] } },
    },
  },
} as Contract;

describe("the CLASP codec in a Worker (worker_threads)", () => {
  let w: ClaspWorker;
  beforeAll(async () => {
    w = await createClaspWorker(spawn("clasp.worker.ts"));
  });
  afterAll(() => w.terminate());

  it("can encode and decode with the same bytes and values as in-thread", async () => {
    for (const m of MESSAGES) {
      const frame = await w.encode(m);
      expect(frame).toEqual(codec.encode(m));
      expect(await w.decode(frame)).toEqual(codec.decode(frame));
    }
    const batch = await w.encodeBatch(MESSAGES, { framing: "slip" });
    expect(batch).toEqual(codec.encodeBatch(MESSAGES, { framing: "slip" }));
    expect(await w.decodeValue(await w.encodeValue({ x: [1, 2n, "3"] }))).toEqual({ x: [1, 2n, "3"] });
    expect(await w.matchPattern("/mixer/*/fader", "/mixer/1/fader")).toBe(true);
  });

  it("can decode a batch with a bad frame, the error rebuilt as a ClaspDecodeError", async () => {
    const good = codec.encode(MESSAGES[0]!);
    const out = await w.decodeBatch([good, new Uint8Array([0x53, 0xff, 0, 0]), good]);
    expect(out[0]).toEqual(codec.decode(good));
    expect(out[1]).toBeInstanceOf(ClaspDecodeError);
    const local = codec.decodeBatch([new Uint8Array([0x53, 0xff, 0, 0])])[0] as ClaspDecodeError;
    expect(out[1]).toMatchObject({ code: local.code, offset: local.offset, reason: local.reason, fatal: local.fatal, message: local.message });
    expect(out[2]).toEqual(codec.decode(good));
    const err = await w.decode(new Uint8Array([1, 2, 3])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClaspDecodeError);
    expect((err as ClaspDecodeError).code).toBe((() => { try { codec.decode(new Uint8Array([1, 2, 3])); } catch (e) { return (e as ClaspDecodeError).code; } })());
    await expect(w.matchPattern("no-slash", "/a")).rejects.toBeInstanceOf(ClaspPatternError);
  });

  it("can stream-decode chunks in the Worker", async () => {
    const bytes = Buffer.concat(codec.encodeBatch(MESSAGES, { framing: "length-prefixed" }));
    const d = await w.createDecoder({ framing: "length-prefixed" });
    const got = [];
    for (let i = 0; i < bytes.length; i += 5) got.push(...(await d.push(bytes.subarray(i, i + 5))));
    await d.close();
    expect(got.map((f) => (f as { message: Message }).message)).toEqual(MESSAGES.map((m) => codec.decode(codec.encode(m)).message));
  });

  it("can move the caller's input buffers with transferInputs", async () => {
    const moving = await createClaspWorker(spawn("clasp.worker.ts"), { transferInputs: true });
    try {
      const frame = codec.encode(MESSAGES[0]!);
      expect((await moving.decode(frame)).message).toEqual(MESSAGES[0]);
      expect(frame.byteLength).toBe(0); // detached: moved, not copied
      const kept = codec.encode(MESSAGES[0]!);
      await w.decode(kept);
      expect(kept.byteLength).toBeGreaterThan(0);
    } finally {
      await moving.terminate();
    }
  });
});

describe("CLP runtimes in a Worker (worker_threads)", () => {
  let w: ClpWorker;
  beforeAll(async () => {
    w = await createClpWorker(spawn("clp.worker.ts"));
  });
  afterAll(() => w.terminate());

  it("can commit like the in-thread runtime: same state, log head and event log bytes", async () => {
    const remote = await w.createRuntime(COUNTER);
    const local = createRuntime(COUNTER);
    for (const amount of [5, 2, 7]) {
      await remote.dispatch("increment", { amount });
      await remote.commit();
      local.dispatch("increment", { amount });
      local.commit();
    }
    expect(await remote.getState("count")).toBe(14);
    expect((await remote.head()).seq).toBe(local.head().seq);
    expect(await remote.stateHash()).toBe(local.stateHash());
    // Events carry their commit time, so the chains differ; replayed, the log gives the same head.
    const replayed = createRuntime(COUNTER);
    await replayed.replay(await remote.exportLog());
    expect(replayed.head()).toEqual(await remote.head());
    expect(replayed.stateHash()).toBe(local.stateHash());
    const copy = createRuntime(COUNTER);
    copy.restore(await remote.snapshot());
    expect(copy.getState("count")).toBe(14);
  });

  it("can rebuild typed errors with their fields, and keep the committed state", async () => {
    const rt = await w.createRuntime(COUNTER);
    await rt.dispatch("increment", { amount: 3 });
    await rt.commit();
    await rt.dispatch("increment", { amount: -1 });
    const err = await rt.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GuardDeniedError);
    expect((err as GuardDeniedError).guard).toBe("no_negative");
    expect((err as GuardDeniedError).code).toBe("GUARD_DENIED");
    await expect(rt.dispatch("nope")).rejects.toBeInstanceOf(IntentError);
    expect(await rt.getState("count")).toBe(3);
  });

  it("can call the AI provider and subscribers on the calling thread", async () => {
    const rt = await w.createRuntime({ ...COUNTER, intents: { increment: { inputs: { amount: "number?" }, aiFields: ["amount"] } } } as Contract, (intent) => ({ amount: intent.name === "increment" ? 4 : 0 }));
    const seen: unknown[] = [];
    const off = await rt.subscribe("count", (s) => seen.push(s));
    await rt.dispatch("increment", {});
    expect(await rt.propose("increment")).toEqual({ amount: 4 });
    await rt.acceptProposal("increment");
    await rt.commit();
    await expect.poll(() => seen.length).toBe(1);
    await off();
    expect(await rt.getState("count")).toBe(4);
  });

  it("refuses a contract with a JavaScript function, naming where", async () => {
    const bad = { ...COUNTER, guards: [{ name: "g", check: () => true }] } as unknown as Contract;
    await expect(w.createRuntime(bad)).rejects.toThrow(/contract\.guards\[0\]\.check is a JavaScript function/);
  });
});

describe("a Worker that crashes", () => {
  it("rejects pending and later calls with WorkerCrashError", async () => {
    const thread = spawn("clasp.worker.ts", "crash");
    const w = await createClaspWorker(thread);
    // The call is queued behind the message that kills the thread: it is pending when it dies.
    thread.postMessage("crash");
    const pending = w.encode(MESSAGES[0]!);
    const err = await pending.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerCrashError);
    expect((err as WorkerCrashError).message).toMatch(/CLASP codec Worker crashed: worker crashed on purpose/);
    await expect(w.encode(MESSAGES[0]!)).rejects.toBeInstanceOf(WorkerCrashError);
    await w.terminate();
  });
});

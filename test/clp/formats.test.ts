/**
 * Bad input to the engine core: corrupt snapshots and event logs (fuzzed with fast-check),
 * random CLASP values as verb arguments, random bytes. The core answers typed errors, never
 * traps, and the state stays what it was. Also: SHA-256 against node:crypto.
 */
import { describe, it, expect } from "vitest";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { ClpCore, createContract, createRuntime, EventLogError, SnapshotError, type Patch } from "../../src/clp/index.js";
import { ERROR } from "../../src/clp/core.js";
import { splitLog } from "../../src/clp/events.js";
import { value } from "../clasp/arbitraries.js";
import type { ClaspValue } from "../../src/clasp/index.js";

const release = await ClpCore.load();
const debug = await ClpCore.load(new URL("../../build/debug/clp.wasm", import.meta.url));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** A runtime with some history: nested state, arrays, a key. */
async function history() {
  const rt = createRuntime(
    createContract({
      intents: { put: { inputs: { path: "string", v: "any?" } } },
      transitions: { t: { when: true, effects: (c) => ({ [c.intent.payload.path]: c.intent.payload.v }) as Patch } },
    }),
  );
  const steps: Array<[string, unknown]> = [["a", 1], ["b.c", "text"], ["list", [1, { x: true }]], ["b.d", null], ["a", 2.5]];
  for (const [path, v] of steps) {
    rt.dispatch("put", { path, v });
    await rt.commitAsync(undefined, { idempotencyKey: `k-${path}` });
  }
  return rt;
}

const mutate = (bytes: Uint8Array) =>
  fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 }), fc.nat({ max: 2 })), { minLength: 1, maxLength: 3 }).map((edits) => {
    let b = Array.from(bytes);
    for (const [pos, byte, kind] of edits) {
      const at = pos % (b.length + 1);
      if (kind === 0 && at < b.length) b[at] = b[at] === byte ? byte ^ 1 : byte;
      else if (kind === 1) b = b.slice(0, Math.max(0, at));
      else b.splice(at, 0, byte);
    }
    return new Uint8Array(b);
  });

/** Every damaged copy of `bytes` that `valid` does not accept is refused by `verb` with `code`, state unchanged, in both builds. */
function refusesDamage(bytes: Uint8Array, verb: "restore" | "replay", code: number, valid: (b: Uint8Array) => boolean): void {
  for (const core of [release, debug]) {
    const h = core.create({ intents: {}, transitions: {} });
    const before = core.raw("stateHash", h);
    fc.assert(
      fc.property(mutate(bytes), (bad) => {
        fc.pre(!valid(bad));
        const a = core.bytes(verb, h, bad);
        expect(a.status).toBe(ERROR);
        expect((a.value as number[])[0]).toBe(code);
        expect(core.raw("stateHash", h)).toEqual(before);
      }),
      { numRuns: 2000 },
    );
    core.destroy(h);
  }
}

describe("snapshots", () => {
  it("round-trip state, head and idempotency keys", async () => {
    const rt = await history();
    const other = createRuntime(createContract({ intents: {}, transitions: {} }));
    other.restore(rt.snapshot());
    expect(other.getState()).toEqual(rt.getState());
    expect(other.head()).toEqual(rt.head());
    expect(other.stateHash()).toBe(rt.stateHash());
  });

  it("are refused when from another format version or corrupt, with the state unchanged", async () => {
    const rt = await history();
    const snap = rt.snapshot();
    const target = createRuntime(createContract({ intents: {}, transitions: {} }));
    const v2 = snap.slice();
    v2[4] = 2;
    expect(() => target.restore(v2)).toThrow("snapshot format version 2; this engine reads version 1");
    expect(() => target.restore(snap.slice(0, 30))).toThrow(/snapshot too short/);
    const flipped = snap.slice();
    flipped[70] ^= 0xff;
    expect(() => target.restore(flipped)).toThrow("snapshot checksum mismatch (corrupt)");
    expect(() => target.restore(new Uint8Array(100))).toThrow(SnapshotError);
    expect(target.getState()).toEqual({});
  });

  it("any damage to a snapshot is refused (fuzzed)", async () => {
    const snap = (await history()).snapshot();
    refusesDamage(snap, "restore", 16, (bad) => sameBytes(bad, snap));
  });
});

describe("event logs", () => {
  it("any damage to an event log is refused and leaves the state as it was (fuzzed)", async () => {
    const log = (await history()).exportLog();
    // a log cut at a record boundary is a valid shorter log (compare heads to detect that)
    const { records } = splitLog(log);
    const cuts = new Set<number>();
    for (let i = 0, at = 48; i <= records.length; at += records[i]?.length ?? 0, i++) cuts.add(at);
    refusesDamage(log, "replay", 17, (bad) => cuts.has(bad.length) && sameBytes(bad, log.subarray(0, bad.length)));
  });

  it("random bytes are refused", () => {
    const h = debug.create({ intents: {}, transitions: {} });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        for (const verb of ["restore", "append", "replay"] as const) expect(debug.bytes(verb, h, bytes).status).toBe(ERROR);
      }),
      { numRuns: 3000 },
    );
    debug.destroy(h);
  });

  it("says which event is bad", async () => {
    const rt = await history();
    const { records } = splitLog(rt.exportLog());
    const target = createRuntime(createContract({ intents: {}, transitions: {} }));
    const log = rt.exportLog();
    const bad = log.slice();
    bad[48 + records[0]!.length + records[1]!.length + 20] ^= 1; // inside event 3
    await expect(target.replay(bad)).rejects.toThrow("event log: event 3: hash mismatch (the log was altered or is corrupt)");
    await expect(target.append(rt.exportLog(2))).rejects.toThrow("event log starts after event 2, the state is at event 0");
    await expect(target.replay(new Uint8Array(10))).rejects.toBeInstanceOf(EventLogError);
  });
});

describe("verb arguments", () => {
  it("random CLASP values to every verb: typed errors, no trap, the engine keeps working", () => {
    for (const core of [release, debug]) {
      const h = core.create({
        intents: { i: { inputs: { a: "number?", b: "string[]?" } } },
        guards: [{ name: "g", deny: { ">": [{ var: "intent.payload.a" }, 10] } }],
        transitions: { t: { when: true, effects: [{ set: ["x", { var: "intent.payload.a" }] }] } },
      });
      fc.assert(
        fc.property(fc.constantFrom("dispatch", "propose", "accept", "commit", "get", "batch") as fc.Arbitrary<"dispatch">, value(), (verb, v) => {
          const a = core.call(verb, h, v);
          expect([0, 1, 2]).toContain(a.status);
          if (a.status === ERROR) expect(typeof (a.value as number[])[0]).toBe("number");
        }),
        { numRuns: 3000 },
      );
      // batches (lean and full) of random intents: typed errors or results, never a trap
      fc.assert(
        fc.property(fc.array(fc.oneof(fc.tuple(fc.constant("i"), value()), value()), { maxLength: 6 }), fc.boolean(), (list, lean) => {
          const a = core.call("batch", h, [0, null, list, lean]);
          expect([0, 2]).toContain(a.status);
          if (a.status === 0) expect((a.value as ClaspValue[]).length).toBe(2);
        }),
        { numRuns: 1000 },
      );
      core.plain("abort", h);
      core.call("dispatch", h, ["i", { a: 3 }]);
      const r = core.call("commit", h, [null, 0, null, null, [], null, null, true]);
      expect(r.status).toBe(0);
      core.destroy(h);
    }
  });

  it("bytes that are not a CLASP value are an argument error", () => {
    const h = release.create({ intents: {}, transitions: {} });
    for (const bytes of [new Uint8Array([]), new Uint8Array([0xff]), new Uint8Array([0x0a, 0x00])]) {
      const a = release.call("dispatch", h, bytes);
      expect(a.status).toBe(ERROR);
      expect((a.value as number[])[0]).toBe(18);
    }
  });

  it("contracts that do not compile are refused with their location", () => {
    fc.assert(
      fc.property(value(), (v) => {
        try {
          release.destroy(release.create({ intents: { i: { inputs: {} } }, transitions: { t: { when: v as never } } }));
        } catch (e) {
          expect((e as Error).name).toBe("ContractError");
          expect((e as { location?: string }).location ?? "").toMatch(/^transitions\.t\.when/);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("values the engine writes", () => {
  const contract = {
    intents: { i: { inputs: { v: "any?" } } },
    transitions: { t: { when: true, effects: [{ set: ["v", { var: "intent.payload.v" }] }] } },
  };
  const commitArgs = (lean: boolean) => [null, 0, null, null, [], null, null, true, lean];

  it("are the codec's bytes for every value type (fuzzed): state, get, lean and full answers agree", () => {
    for (const core of [release, debug]) {
      const lean = core.create(contract);
      const full = core.create(contract);
      fc.assert(
        fc.property(value({ typed: true }), (v) => {
          for (const h of [lean, full]) expect(core.call("dispatch", h, ["i", { v }]).status).toBe(0);
          // the value written back from the state: exactly the bytes the codec wrote for it
          core.callRaw("commit", lean, commitArgs(true));
          const leanAnswer = core.codec.decodeValue(core.answerBytes(), { widths: true }) as ClaspValue[];
          expect(core.callRaw("commit", full, commitArgs(false))).toBe(0);
          expect(leanAnswer).toEqual((core.codec.decodeValue(core.answerBytes(), { widths: true }) as ClaspValue[]).slice(0, 4));
          core.callRaw("get", lean, "v");
          expect(sameBytes(core.answerBytes(), core.codec.encodeValue([true, v, ["v"]]))).toBe(true);
          expect(sameBytes(core.raw("state", lean), core.raw("state", full))).toBe(true);
        }),
        { numRuns: 500 },
      );
      core.destroy(lean);
      core.destroy(full);
    }
  });

  it("dispatch reads its argument where it lies: repeated keys keep the last value, an unknown name is named", () => {
    const h = release.create(contract);
    // ["i", {"v": 1.0, "v": 2.0}]: a map with a repeated key, written by hand
    const f64 = (x: number) => [...new Uint8Array(new Float64Array([x]).buffer)].reverse();
    const bytes = new Uint8Array([0x0a, 0, 2, 0x08, 0, 1, 0x69, 0x0b, 0, 2, 0, 1, 0x76, 0x07, ...f64(1), 0, 1, 0x76, 0x07, ...f64(2)]);
    expect(release.call("dispatch", h, bytes).status).toBe(0);
    expect(release.call("commit", h, commitArgs(false)).status).toBe(0);
    expect(release.codec.decodeValue(release.raw("state", h))).toEqual({ v: 2 });
    const refused = release.call("dispatch", h, ["nope", {}]);
    expect(refused.status).toBe(ERROR);
    expect((refused.value as ClaspValue[]).slice(0, 3)).toEqual([1, 0, ["nope"]]);
    for (const shape of [[], [1, {}], "i", [["i"], {}]]) {
      const a = release.call("dispatch", h, shape);
      expect(a.status).toBe(ERROR);
      expect((a.value as number[])[0]).toBe(18);
    }
    release.destroy(h);
  });
});

describe("SHA-256 (FIPS 180-4) in the core", () => {
  it("matches node:crypto on the state's bytes and the event chain", async () => {
    const rt = createRuntime(createContract({ intents: { put: { inputs: { v: "any" } } }, transitions: { t: { when: true, effects: (c) => ({ v: c.intent.payload.v }) } } }));
    const rec = (n: number) => "x".repeat(n);
    // lengths around the padding boundaries: 55, 56, 63, 64, 119, 120 bytes of state and beyond
    for (const n of [0, 1, 40, 41, 47, 48, 55, 56, 100, 104, 111, 112, 500, 70000].map((k) => k)) {
      rt.dispatch("put", { v: n > 60000 ? Array.from({ length: 7000 }, () => "0123456789") : rec(n) });
      await rt.commitAsync();
      const state = release.codec.encodeValue(rt.getState());
      expect(rt.stateHash()).toBe(sha256(state));
    }
    const { base, records } = splitLog(rt.exportLog());
    expect(base).toBe(0);
    let prev = new Uint8Array(32);
    for (const r of records) {
      const n = new DataView(r.buffer, r.byteOffset).getUint32(0);
      const want = createHash("sha256").update(prev).update(r.subarray(4, 4 + n)).digest();
      expect(Buffer.from(r.subarray(4 + n))).toEqual(want);
      prev = new Uint8Array(want);
    }
  });

  it("matches node:crypto on random states (fuzzed)", () => {
    const h = release.create({ intents: { i: { inputs: { v: "any" } } }, transitions: { t: { when: true, effects: { v: { var: "intent.payload.v" } } } } });
    fc.assert(
      fc.property(value(), (v) => {
        release.call("dispatch", h, ["i", { v }]);
        const r = release.call("commit", h, [null, 0, null, null, [], null, null, true]);
        if (r.status !== 0) return;
        expect(Buffer.from(release.raw("stateHash", h)).toString("hex")).toBe(sha256(release.raw("state", h)));
      }),
      { numRuns: 1000 },
    );
  });
});

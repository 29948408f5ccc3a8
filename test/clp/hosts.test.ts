/**
 * Same bytes, every host (architecture principle 3): one event log replayed in Node (the
 * core module), in the component transpiled by jco, and in the Wasmtime engine (core module
 * and component) ends in byte-identical state with the same hash; commitMany's `batch` verb
 * in Wasmtime's core module makes the same events as in Node. The browser check calls
 * the same `replayStateHash` from a page (see docs/clp.md §Determinism).
 */
import { describe, it, expect } from "vitest";
import { fileURLToPath } from "node:url";
import { readFile } from "node:fs/promises";
import { WASI } from "node:wasi";
import { ClpCore, createRuntime, replayStateHash } from "../../src/clp/index.js";
import { describe as describeContract } from "../../src/clp/contract.js";
import { counterRules } from "../../examples/counter/contract.js";
import { codec, type ClaspValueInput } from "../../src/clasp/index.js";
import { runWorkload } from "../helpers/clp-workload.js";
import { runPython, wasmtimeUnavailable } from "../helpers/wasmtime.js";

const rt = runWorkload(3000, 7);
const log = rt.exportLog();
const shortLog = runWorkload(150, 7).exportLog();
const expected = { hash: rt.stateHash(), state: Buffer.from(codec.encodeValue(rt.getState())).toString("hex") };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const skip = await wasmtimeUnavailable();

describe("replaying one event log", () => {
  it("in Node ends where the committing runtime ended", async () => {
    const r = replayStateHash(await ClpCore.load(), log);
    expect(r.hash).toBe(expected.hash);
    expect(hex(r.state)).toBe(expected.state);
    expect(r.seq).toBe(rt.head().seq);
    expect(r.head).toBe(rt.head().hash);
  });

  it("in the core module under node:wasi gives the same bytes", async () => {
    const wasi = new WASI({ version: "preview1", args: [], env: { CLAWFT: "1" }, returnOnExit: true });
    const module = await WebAssembly.compile(await readFile(new URL("../../build/clp.wasm", import.meta.url)));
    const instance = new WebAssembly.Instance(module, wasi.getImportObject() as WebAssembly.Imports);
    const r = replayStateHash(ClpCore.fromInstance(instance, codec), log);
    expect(r.hash).toBe(expected.hash);
  });

  it("in the component transpiled by jco gives the same bytes", async () => {
    const { engine } = (await import("../../build/jco/clp/clp.js")) as {
      engine: { create(c: Uint8Array): number; replay(h: number, l: Uint8Array): Uint8Array; stateHash(h: number): Uint8Array; state(h: number): Uint8Array };
    };
    const h = engine.create(codec.encodeValue({ intents: {}, transitions: {} }));
    engine.replay(h, log);
    expect(hex(engine.stateHash(h))).toBe(expected.hash);
    expect(hex(engine.state(h))).toBe(expected.state);
  });

  it.skipIf(skip)(`in the Wasmtime engine (core module and component) gives the same bytes ${skip ?? ""}`, async () => {
    const script = fileURLToPath(new URL("../hosts/clp_wasmtime.py", import.meta.url));
    // commitMany's engine verb too: 300 intents of the counter in one `batch` call
    const intents = Array.from({ length: 300 }, (_, i) => ["increment", { amount: i % 5 }] as [string, Record<string, unknown>]);
    const batched = createRuntime(counterRules, undefined, { now: () => 1_700_000_000_000 });
    batched.commitMany(intents);
    const batch = { contract: hex(codec.encodeValue(describeContract(counterRules).descriptor)), args: hex(codec.encodeValue([1_700_000_000_000, null, intents] as ClaspValueInput)) };
    const out = JSON.parse(
      (await runPython(script, [], JSON.stringify({ contract: hex(codec.encodeValue({ intents: {}, transitions: {} })), log: hex(log), component_log: hex(shortLog), batch }))).toString(),
    ) as Record<"core" | "component" | "batch", { hash?: string; state?: string; head?: string; error?: string }>;
    expect(out.batch.error).toBeUndefined();
    expect(out.batch.hash).toBe(batched.stateHash());
    const [seq, head] = codec.decodeValue(Buffer.from(out.batch.head!, "hex")) as [number, Uint8Array];
    expect({ seq, hash: hex(head) }).toEqual(batched.head());
    expect(out.core.error).toBeUndefined();
    expect(out.core.hash).toBe(expected.hash);
    expect(out.core.state).toBe(expected.state);
    const short = replayStateHash(await ClpCore.load(), shortLog);
    expect(out.component.error).toBeUndefined();
    expect(out.component.hash).toBe(short.hash);
    expect(out.component.state).toBe(hex(short.state));
  });

  it.skipIf(skip)(`refuses a tampered log in Wasmtime too ${skip ?? ""}`, async () => {
    const bad = log.slice();
    bad[100] ^= 1;
    const script = fileURLToPath(new URL("../hosts/clp_wasmtime.py", import.meta.url));
    const out = JSON.parse(
      (await runPython(script, [], JSON.stringify({ contract: hex(codec.encodeValue({ intents: {}, transitions: {} })), log: hex(bad), component_log: hex(bad.subarray(0, 2000)) }))).toString(),
    ) as Record<"core" | "component", { error?: string }>;
    for (const r of [out.core, out.component]) {
      const e = codec.decodeValue(Buffer.from(r.error ?? "", "hex")) as number[];
      expect(e[0]).toBe(17);
    }
  });
});

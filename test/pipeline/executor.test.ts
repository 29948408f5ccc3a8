import { afterEach, beforeAll, describe, expect, it } from "vitest";
import binaryen from "binaryen";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { PipelineError } from "../../src/pipeline/errors.js";
import { executePipeline, iterateStream } from "../../src/pipeline/executor.js";
import { pluginFromManifest, type PluginInfo } from "../../src/pipeline/manifest.js";
import { nodeRunners } from "../../src/pipeline/node/runners.js";
import { alive, childProcesses, collect, FIXTURE_PLUGINS, loadPlugin, pipelineOf } from "./helpers.js";

const runners = nodeRunners();
let fault: PluginInfo;

beforeAll(async () => {
  fault = await loadPlugin(join(FIXTURE_PLUGINS, "fault"));
});

afterEach(() => {
  // Every run must leave no child process behind, not even a zombie.
  expect(childProcesses()).toEqual([]);
});

/** Runs the fault plugin in `mode` (between two pass-through nodes when `middle`) and returns the error. */
async function failure(mode: string, opts: { middle?: boolean; timeoutMs?: number; maxOutputBytes?: number; input?: Uint8Array } = {}): Promise<PipelineError> {
  const bad = { plugin: fault, id: "bad", options: { mode } };
  const nodes = opts.middle ? [{ plugin: fault, id: "before" }, bad, { plugin: fault, id: "after" }] : [bad];
  const run = executePipeline(pipelineOf(nodes), opts.input ?? new Uint8Array(10_000).fill(65), {
    runners,
    timeoutMs: opts.timeoutMs ?? 10_000,
    ...(opts.maxOutputBytes !== undefined && { maxOutputBytes: opts.maxOutputBytes }),
  });
  const err = await collect(run).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(PipelineError);
  // `done` rejects with the same error, and only once every plugin has exited.
  await expect(run.done).rejects.toBe(err);
  return err as PipelineError;
}

describe("executor: streaming", () => {
  it("can pass bytes through three plugins unchanged, cut into frames of at most max_frame", async () => {
    const input = new Uint8Array(3_000_000);
    for (let i = 0; i < input.length; i++) input[i] = (i * 7919) & 255;
    const run = executePipeline(pipelineOf([{ plugin: fault }, { plugin: fault }, { plugin: fault }]), input, { runners, maxFrame: 65536 });
    const out = await collect(run);
    expect(out.length).toBe(input.length);
    expect(Buffer.compare(out, input)).toBe(0);
    const summary = await run.done;
    expect(summary.nodes.map((n) => [n.state, n.bytesIn, n.bytesOut])).toEqual([
      ["done", input.length, input.length],
      ["done", input.length, input.length],
      ["done", input.length, input.length],
    ]);
  });

  it("can read input from a web stream and an async iterable", async () => {
    const parts = ["alpha ", "beta ", "gamma"].map((s) => new TextEncoder().encode(s));
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        parts.forEach((p) => c.enqueue(p));
        c.close();
      },
    });
    const a = await collect(executePipeline(pipelineOf([{ plugin: fault }]), stream, { runners }));
    async function* gen() {
      yield* parts;
    }
    const b = await collect(executePipeline(pipelineOf([{ plugin: fault }]), gen(), { runners }));
    expect(new TextDecoder().decode(a)).toBe("alpha beta gamma");
    expect(new TextDecoder().decode(b)).toBe("alpha beta gamma");
  });

  it("can run a plugin that ends without reading its input", async () => {
    const run = executePipeline(pipelineOf([{ plugin: fault }, { plugin: fault, options: { mode: "ignore-input" } }]), new Uint8Array(2_000_000), { runners });
    expect(new TextDecoder().decode(await collect(run))).toBe("done early");
  });

  it("keeps memory bounded when the consumer does not read (backpressure)", async () => {
    const bufferBytes = 64 * 1024;
    const run = executePipeline(pipelineOf([{ plugin: fault, id: "flood", options: { mode: "flood" } }]), "x", { runners, bufferBytes, timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 1500));
    const produced = run.progress().nodes[0]!.bytesOut;
    // Read 200 chunks slowly: the producer may only run ahead by the buffers in between.
    const reader = run.output.getReader();
    let read = 0;
    for (let i = 0; i < 20; i++) read += (await reader.read()).value!.length;
    const later = run.progress().nodes[0]!.bytesOut;
    run.cancel("test over");
    reader.releaseLock();
    await run.done.catch(() => {});
    // Nothing read yet: at most the channel buffer plus one frame in flight.
    expect(produced).toBeLessThanOrEqual(bufferBytes + 2 * 65536);
    expect(later - read).toBeLessThanOrEqual(bufferBytes + 2 * 65536);
  });

  it("lets a slow stage slow its producer (upstream output tracks downstream progress)", async () => {
    const input = new Uint8Array(4 * 1024 * 1024);
    const run = executePipeline(
      pipelineOf([{ plugin: fault, id: "fast" }, { plugin: fault, id: "slow", options: { mode: "slow", delay_ms: 20 } }]),
      input,
      { runners, maxFrame: 16 * 1024, bufferBytes: 32 * 1024 },
    );
    const reader = run.output.getReader();
    await reader.read();
    await new Promise((r) => setTimeout(r, 800));
    const [fast, slow] = run.progress().nodes;
    run.cancel("enough");
    reader.releaseLock();
    await run.done.catch(() => {});
    // The fast node could have copied all 4 MiB in this time; it is held back to what the slow
    // node took plus the pipes and buffers between them (well under 4 MiB).
    expect(fast!.bytesOut - slow!.bytesIn).toBeLessThan(1024 * 1024);
    expect(fast!.bytesOut).toBeLessThan(input.length);
  });
});

describe("executor: faults give their defined error, name the node, and leave no process", () => {
  it("crash mid-stream → INTERNAL_PLUGIN_FAILURE with the stderr tail", async () => {
    const e = await failure("crash", { middle: true });
    expect(e.code).toBe("INTERNAL_PLUGIN_FAILURE");
    expect(e.node).toBe("bad");
    expect(e.message).toMatch(/node "bad".*exited with code 1 without an error frame/);
    expect(e.stderr).toMatch(/simulated crash/);
  });

  it("hang → TIMEOUT after the inactivity timeout", async () => {
    const e = await failure("hang", { timeoutMs: 400 });
    expect(e.code).toBe("TIMEOUT");
    expect(e.node).toBe("bad");
  });

  it("refuses a NaN, negative or fractional limit instead of running without a watchdog", () => {
    const pipeline = pipelineOf([{ plugin: fault }]);
    for (const timeoutMs of [Number.NaN, -1, 0, 1.5, Infinity]) {
      expect(() => executePipeline(pipeline, "x", { runners, timeoutMs })).toThrow(RangeError);
    }
    expect(() => executePipeline(pipeline, "x", { runners, maxFrame: -5 })).toThrow(/maxFrame must be a positive integer, got -5/);
    expect(() => executePipeline(pipelineOf([{ plugin: fault, timeoutMs: Number.NaN }]), "x", { runners })).toThrow(/timeoutMs of node/);
  });

  it("hang with a grandchild → TIMEOUT, and the grandchild is killed too", async () => {
    const e = await failure("hang-child", { timeoutMs: 400 });
    expect(e.code).toBe("TIMEOUT");
    const pid = Number(/grandchild (\d+)/.exec(e.stderr ?? "")?.[1]);
    expect(pid).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect(alive(pid)).toBe(false);
  });

  it("garbage on stdout → FRAME_TOO_LARGE (the bytes read as an absurd length)", async () => {
    const e = await failure("garbage");
    expect(e.code).toBe("FRAME_TOO_LARGE");
    expect(e.message).toMatch(/exceeds the maximum/);
  });

  it("a frame over max_frame → FRAME_TOO_LARGE", async () => {
    const e = await failure("oversize", { middle: true });
    expect(e.code).toBe("FRAME_TOO_LARGE");
    expect(e.node).toBe("bad");
  });

  it("exit 0 before the end frame → EARLY_EXIT", async () => {
    const e = await failure("early-exit", { middle: true });
    expect(e.code).toBe("EARLY_EXIT");
    expect(e.node).toBe("bad");
  });

  it("end of stream inside a frame → TRUNCATED_FRAME", async () => {
    expect((await failure("truncated")).code).toBe("TRUNCATED_FRAME");
  });

  it("flooding stdout → OUTPUT_LIMIT", async () => {
    const e = await failure("flood", { maxOutputBytes: 1_000_000 });
    expect(e.code).toBe("OUTPUT_LIMIT");
  });

  it("a fatal error frame → PLUGIN_ERROR carrying the plugin's type and message", async () => {
    const e = await failure("error-fatal", { middle: true });
    expect(e.code).toBe("PLUGIN_ERROR");
    expect(e.node).toBe("bad");
    expect(e.pluginError).toEqual({ type: "INVALID_INPUT", message: "the fault plugin refuses this input", fatal: true });
  });

  it("anything but one error frame after the end frame → PROTOCOL_VIOLATION", async () => {
    expect((await failure("trailer-garbage")).code).toBe("PROTOCOL_VIOLATION");
  });

  it("a non-fatal error frame → the run completes with the output so far and a warning", async () => {
    const input = new TextEncoder().encode("first frame only");
    const run = executePipeline(pipelineOf([{ plugin: fault, id: "partial", options: { mode: "error-nonfatal" } }, { plugin: fault, id: "after" }]), input, { runners });
    expect(new TextDecoder().decode(await collect(run))).toBe("first frame only");
    const summary = await run.done;
    expect(summary.warnings).toHaveLength(1);
    expect(summary.warnings[0]!.node).toBe("partial");
    expect(summary.warnings[0]!.pluginError?.type).toBe("PARTIAL");
  });

  it("a missing entrypoint → SPAWN_FAILED", async () => {
    const broken = pluginFromManifest(fault.manifestText.replace('entrypoint = "fault.mjs"', 'entrypoint = "missing.mjs"'), fault.baseUrl);
    const run = executePipeline(pipelineOf([{ plugin: broken }]), "x", { runners });
    await expect(collect(run)).rejects.toMatchObject({ code: "SPAWN_FAILED" });
  });

  it("an incompatible protocol version → INCOMPATIBLE_PROTOCOL, before anything starts", async () => {
    const future = pluginFromManifest(fault.manifestText.replace('protocol_version = "1.0"', 'protocol_version = "2.0"'), fault.baseUrl);
    const run = executePipeline(pipelineOf([{ plugin: future }]), "x", { runners });
    await expect(collect(run)).rejects.toMatchObject({ code: "INCOMPATIBLE_PROTOCOL" });
  });

  it("cancel() ends every plugin with CANCELLED", async () => {
    const run = executePipeline(pipelineOf([{ plugin: fault }, { plugin: fault, options: { mode: "hang" } }, { plugin: fault }]), "x", { runners, timeoutMs: 60_000 });
    await new Promise((r) => setTimeout(r, 300));
    run.cancel("user pressed stop");
    await expect(run.done).rejects.toMatchObject({ code: "CANCELLED" });
    expect(run.progress().nodes.every((n) => n.state === "cancelled" || n.state === "failed" || n.state === "done")).toBe(true);
  });

  it("an AbortSignal cancels, and cancelling the output stream cancels", async () => {
    const ac = new AbortController();
    const a = executePipeline(pipelineOf([{ plugin: fault, options: { mode: "hang" } }]), "x", { runners, signal: ac.signal, timeoutMs: 60_000 });
    setTimeout(() => ac.abort("stop"), 200);
    await expect(a.done).rejects.toMatchObject({ code: "CANCELLED" });
    const b = executePipeline(pipelineOf([{ plugin: fault, options: { mode: "flood" } }]), "x", { runners, timeoutMs: 60_000 });
    const reader = b.output.getReader();
    await reader.read();
    await reader.cancel("not interested");
    await expect(b.done).rejects.toMatchObject({ code: "CANCELLED" });
  });
});

describe("executor: wasi plugins in worker threads", () => {
  let dir: string;
  const wasiPlugin = async (name: string, wat: string): Promise<PluginInfo> => {
    const mod = binaryen.parseText(wat);
    const bytes = mod.emitBinary();
    mod.dispose();
    await writeFile(join(dir, `${name}.wasm`), bytes);
    const toml = `name = "${name}"\nversion = "1.0.0"\nprotocol_version = "1.0"\nkind = "wasi"\nentrypoint = "${name}.wasm"\nstage = "pre"\n[capabilities]\ninput = ["text/plain"]\noutput = ["text/plain"]\nmode = "streaming"\n`;
    return pluginFromManifest(toml, pathToFileURL(`${dir}/`));
  };
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "clawft-wasi-"));
  });

  it("a module stuck in a loop → TIMEOUT, and the worker is terminated", async () => {
    const p = await wasiPlugin("spin", `(module (memory (export "memory") 1) (func (export "_start") (loop $l (br $l))))`);
    const run = executePipeline(pipelineOf([{ plugin: p, id: "spin" }]), "x", { runners, timeoutMs: 300 });
    await expect(collect(run)).rejects.toMatchObject({ code: "TIMEOUT", node: "spin" });
  });

  it("a module that traps → INTERNAL_PLUGIN_FAILURE with the trap on stderr", async () => {
    const p = await wasiPlugin("trap", `(module (memory (export "memory") 1) (func (export "_start") unreachable))`);
    const run = executePipeline(pipelineOf([{ plugin: p }]), "x", { runners });
    const e = (await collect(run).catch((x: unknown) => x)) as PipelineError;
    expect(e.code).toBe("INTERNAL_PLUGIN_FAILURE");
    expect(e.stderr).toMatch(/unreachable/);
  });

  it("a module that is not a WASI command → SPAWN_FAILED", async () => {
    const p = await wasiPlugin("env", `(module (import "env" "f" (func)) (memory (export "memory") 1) (func (export "_start")))`);
    const run = executePipeline(pipelineOf([{ plugin: p }]), "x", { runners });
    await expect(collect(run)).rejects.toMatchObject({ code: "SPAWN_FAILED" });
  });

  it("output can be read while the input is still streaming", async () => {
    // Reads its input through a real pipeline of the reference normalize plugin, fed slowly.
    const normalize = await loadPlugin(join(FIXTURE_PLUGINS, "../../../../plugins/normalize"));
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slowInput() {
      yield new TextEncoder().encode("One two three four five six seven eight nine ten. ");
      await gate;
      yield new TextEncoder().encode("Eleven.");
    }
    const run = executePipeline(pipelineOf([{ plugin: normalize }]), slowInput(), { runners });
    const it = iterateStream(run.output);
    const first = await it.next(); // arrives before the rest of the input exists
    release();
    let rest = "";
    for await (const c of it) rest += new TextDecoder().decode(c);
    await run.done;
    expect(new TextDecoder().decode(first.value as Uint8Array) + rest).toBe("One two three four five six seven eight nine ten. Eleven.\n");
  });
});

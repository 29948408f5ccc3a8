import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Hono } from "hono";
import { createDaemonApp, loadDaemonConfig, type DaemonConfig } from "../../src/pipeline/node/daemon.js";
import { PipelineHost } from "../../src/pipeline/node/host.js";
import { childProcesses, FIXTURE_PLUGINS, PLUGINS } from "./helpers.js";

let app: Hono;
let shutdown: () => Promise<void>;
let config: DaemonConfig;

const FAULT_CR = (mode: string) => `[input]\ntype = "application/octet-stream"\n[[nodes]]\nid = "first"\nplugin = "fault"\n[[nodes]]\nid = "second"\nplugin = "fault"\noptions = { mode = "${mode}" }\n`;
const post = (path: string, body: unknown) => app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
const json = async <T = Record<string, unknown>>(r: Response | Promise<Response>) => (await (await r).json()) as T;

async function waitFor(id: string, states: string[]): Promise<Record<string, unknown>> {
  for (let i = 0; i < 200; i++) {
    const s = await json(app.request(`/jobs/${id}/status`));
    if (states.includes(s.status as string)) return s;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`job ${id} never reached ${states.join("/")}`);
}

beforeAll(async () => {
  config = await loadDaemonConfig(undefined, { plugins: { dirs: [FIXTURE_PLUGINS, PLUGINS], verify: false }, limits: { max_jobs: 3, max_running: 2, max_input_bytes: 1000 }, timeouts: { idle_ms: 5000 } });
  const host = await PipelineHost.open({ pluginDirs: config.plugins.dirs, verify: false, timeoutMs: 5000 });
  ({ app, shutdown } = createDaemonApp(host, config));
});

afterAll(async () => {
  await shutdown();
  expect(childProcesses()).toEqual([]);
});

describe("daemon: plugins", () => {
  it("lists plugins with capabilities", async () => {
    const body = await json<{ plugins: Array<{ id: string; input: string[]; output: string[]; kind: string }>; problems: unknown[] }>(app.request("/plugins"));
    expect(body.plugins.map((p) => p.id).sort()).toEqual(["example-python", "fault", "mp3", "normalize", "speak"]);
    expect(body.plugins.find((p) => p.id === "mp3")).toMatchObject({ input: ["audio/wav"], output: ["audio/mpeg"], kind: "process" });
    expect(body.problems).toEqual([]);
  });

  it("gives one plugin's options as a JSON Schema for forms", async () => {
    const body = await json<{ options_schema: Record<string, unknown> }>(app.request("/plugins/speak"));
    expect(body.options_schema).toMatchObject({
      type: "object",
      additionalProperties: false,
      required: [],
      properties: { voice: { type: "string", default: "en-us" }, rate: { type: "integer", default: 175, minimum: 80, maximum: 450 } },
    });
    expect((await app.request("/plugins/nope")).status).toBe(404);
  });
});

describe("daemon: validation", () => {
  it("validates an orchestration given as TOML or as an object", async () => {
    const ok = await json(post("/pipeline/validate", { orchestration: `[[nodes]]\nplugin = "normalize"\n[[nodes]]\nplugin = "speak"\n` }));
    expect(ok).toMatchObject({ valid: true, pipeline: { output_type: "audio/wav", nodes: [{ id: "normalize" }, { id: "speak", input_type: "text/plain" }] } });
    const obj = await json(post("/pipeline/validate", { orchestration: { nodes: [{ plugin: "normalize" }] } }));
    expect(obj.valid).toBe(true);
  });

  it("answers 422 with errors naming the node", async () => {
    const r = await post("/pipeline/validate", { orchestration: `[[nodes]]\nplugin = "normalize"\n[[nodes]]\nplugin = "mp3"\n` });
    expect(r.status).toBe(422);
    expect(await r.json()).toEqual({ valid: false, errors: [{ node: "mp3", code: "TYPE_MISMATCH", message: 'plugin "mp3" accepts audio/wav but node "normalize" produces text/plain' }] });
    const bad = await app.request("/pipeline/validate", { method: "POST", body: "not json" });
    expect(bad.status).toBe(422);
  });

  it("refuses to run an invalid pipeline (validates first)", async () => {
    const r = await post("/pipeline/run", { orchestration: `[[nodes]]\nplugin = "mp3"\n`, input: "x" });
    expect(r.status).toBe(422);
  });

  it("refuses oversized input", async () => {
    const r = await post("/pipeline/run", { orchestration: FAULT_CR("ok"), input: "x".repeat(1500) });
    expect(r.status).toBe(413);
  });
});

describe("daemon: jobs", () => {
  it("runs a job to done and streams its output", async () => {
    const r = await post("/pipeline/run", { orchestration: FAULT_CR("ok"), input: "hello daemon" });
    expect(r.status).toBe(202);
    const { job_id } = await json<{ job_id: string }>(r);
    expect(await (await app.request(`/jobs/${job_id}/stream`)).text()).toBe("hello daemon");
    expect(await waitFor(job_id, ["done"])).toMatchObject({ status: "done", error: null, output_bytes: 12 });
  });

  it("reports a failed job with its error and node", async () => {
    const { job_id } = await json<{ job_id: string }>(post("/pipeline/run", { orchestration: FAULT_CR("error-fatal"), input: "x" }));
    const s = await waitFor(job_id, ["failed"]);
    expect(s.error).toMatchObject({ code: "PLUGIN_ERROR", node: "second", plugin: "fault", pluginError: { type: "INVALID_INPUT" } });
    const stream = await app.request(`/jobs/${job_id}/stream`);
    await expect(stream.text()).rejects.toThrow();
  });

  it("cancels a running job with DELETE, ending its plugins", async () => {
    const { job_id } = await json<{ job_id: string }>(post("/pipeline/run", { orchestration: FAULT_CR("hang"), input: "x" }));
    await waitFor(job_id, ["running"]);
    const d = await json(app.request(`/jobs/${job_id}`, { method: "DELETE" }));
    expect(d).toMatchObject({ status: "cancelled", deleted: false });
    const s = await waitFor(job_id, ["cancelled"]);
    expect(s.error).toMatchObject({ code: "CANCELLED" });
    await new Promise((r) => setTimeout(r, 200));
    expect(childProcesses()).toEqual([]);
    // DELETE on a finished job forgets it.
    expect(await json(app.request(`/jobs/${job_id}`, { method: "DELETE" }))).toMatchObject({ deleted: true });
    expect((await app.request(`/jobs/${job_id}/status`)).status).toBe(404);
  });

  it("keeps at most max_running jobs running; the rest wait as pending", async () => {
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await json<{ job_id: string }>(post("/pipeline/run", { orchestration: FAULT_CR("hang"), input: "x" }))).job_id);
    await waitFor(ids[1]!, ["running"]);
    expect((await json(app.request(`/jobs/${ids[2]}/status`))).status).toBe("pending");
    // The store is full of unfinished jobs (max_jobs 3): a fourth is refused, not evicted.
    expect((await post("/pipeline/run", { orchestration: FAULT_CR("ok"), input: "x" })).status).toBe(503);
    for (const id of ids) await app.request(`/jobs/${id}`, { method: "DELETE" });
    for (const id of ids) await waitFor(id, ["cancelled"]);
  });

  it("evicts the oldest finished jobs to stay within max_jobs", async () => {
    const ids = [];
    for (let i = 0; i < 4; i++) {
      const { job_id } = await json<{ job_id: string }>(post("/pipeline/run", { orchestration: FAULT_CR("ok"), input: `job ${i}` }));
      await waitFor(job_id, ["done"]);
      ids.push(job_id);
    }
    const codes = await Promise.all(ids.map(async (id) => (await app.request(`/jobs/${id}/status`)).status));
    expect(codes.filter((c) => c === 200).length).toBeLessThanOrEqual(3);
    expect(codes.at(-1)).toBe(200);
    expect(codes[0]).toBe(404);
  });
});

describe("daemon.toml", () => {
  it("reads limits and resolves plugin directories against the file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "clawft-daemon-"));
    await writeFile(join(dir, "daemon.toml"), `[server]\nport = 8123\n[plugins]\ndirs = ["my-plugins"]\n[limits]\nmax_jobs = 5\n[timeouts]\nidle_ms = 1234\n`);
    const c = await loadDaemonConfig(join(dir, "daemon.toml"));
    expect(c.server).toEqual({ host: "127.0.0.1", port: 8123 });
    expect(c.plugins.dirs).toEqual([join(dir, "my-plugins")]);
    expect(c.limits.max_jobs).toBe(5);
    expect(c.limits.max_running).toBe(2);
    expect(c.timeouts.idle_ms).toBe(1234);
    await writeFile(join(dir, "bad.toml"), `[limits]\nmax_jobs = "many"\n`);
    await expect(loadDaemonConfig(join(dir, "bad.toml"))).rejects.toThrow(/limits.max_jobs/);
  });
});

/**
 * The pipeline daemon: a REST API (hono on Node's HTTP server) over a {@link PipelineHost} and a
 * bounded job store. Jobs run through the same executor as the CLI; their output is kept (up to a
 * limit) so `GET /jobs/{id}/stream` can replay it from the start and follow it while it runs.
 *
 * | method | path | |
 * |---|---|---|
 * | GET | /plugins | plugins with capabilities and verification state, plus skipped manifests |
 * | GET | /plugins/{id} | one plugin with its option schema (as JSON Schema, for forms) |
 * | POST | /pipeline/validate | `{orchestration}` → `{valid, pipeline}` or 422 `{valid: false, errors}` |
 * | POST | /pipeline/run | `{orchestration, input \| input_base64}` → 202 `{job_id}` (validated first) |
 * | GET | /jobs/{id}/status | pending, running, done, failed (with the error), cancelled |
 * | GET | /jobs/{id}/stream | the output, streamed while the job runs |
 * | DELETE | /jobs/{id} | cancel a pending or running job; forget a finished one |
 * @module
 */
import { serve, type ServerType } from "@hono/node-server";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { OrchestrationError, PipelineError } from "../errors.js";
import { iterateStream, type PipelineRun, type RunProgress } from "../executor.js";
import type { OptionSpec, PluginInfo } from "../manifest.js";
import type { ResolvedPipeline } from "../orchestration.js";
import type { VerifyResult } from "../verify.js";
import { BUNDLED_PLUGINS, describePipeline, PipelineHost } from "./host.js";

const configSchema = z.strictObject({
  server: z.strictObject({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(7420) }).default({ host: "127.0.0.1", port: 7420 }),
  plugins: z
    .strictObject({
      dirs: z.array(z.string()).default([BUNDLED_PLUGINS]),
      verify: z.boolean().default(true),
      cache_file: z.string().optional(),
    })
    .default({ dirs: [BUNDLED_PLUGINS], verify: true }),
  limits: z
    .strictObject({
      max_jobs: z.number().int().positive().default(100),
      max_running: z.number().int().positive().default(2),
      max_input_bytes: z.number().int().positive().default(10 * 1024 * 1024),
      max_output_bytes: z.number().int().positive().default(512 * 1024 * 1024),
      max_frame: z.number().int().min(16).default(1 << 20),
      job_ttl_s: z.number().positive().default(3600),
    })
    .default({ max_jobs: 100, max_running: 2, max_input_bytes: 10 * 1024 * 1024, max_output_bytes: 512 * 1024 * 1024, max_frame: 1 << 20, job_ttl_s: 3600 }),
  timeouts: z.strictObject({ idle_ms: z.number().int().positive().default(30_000) }).default({ idle_ms: 30_000 }),
});

/** The daemon's configuration (`daemon.toml`), with defaults filled in. */
export type DaemonConfig = z.infer<typeof configSchema>;

/**
 * Reads `daemon.toml` (or returns the defaults when `file` is undefined). Plugin directories are
 * resolved against the file's directory.
 * @throws Error naming the file and the bad fields
 */
export async function loadDaemonConfig(file?: string, overrides: unknown = {}): Promise<DaemonConfig> {
  let raw: Record<string, unknown> = {};
  if (file) {
    try {
      raw = parseToml(await readFile(file, "utf8")) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  const merged = deepMerge(raw, overrides);
  const r = configSchema.safeParse(merged);
  if (!r.success) throw new Error(`${file ?? "daemon config"}: ${r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  if (file) r.data.plugins.dirs = r.data.plugins.dirs.map((d) => resolve(dirname(file), d));
  return r.data;
}

function deepMerge(a: unknown, b: unknown): unknown {
  if (typeof a !== "object" || a === null || typeof b !== "object" || b === null || Array.isArray(b)) return b === undefined ? a : b;
  const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
  for (const [k, v] of Object.entries(b)) out[k] = deepMerge(out[k], v);
  return out;
}

/** Status of a job. */
export type JobStatus = "pending" | "running" | "done" | "failed" | "cancelled";

class Job {
  status: JobStatus = "pending";
  readonly createdAt = new Date();
  startedAt: Date | null = null;
  finishedAt: Date | null = null;
  error: PipelineError | null = null;
  warnings: PipelineError[] = [];
  readonly chunks: Uint8Array[] = [];
  bytes = 0;
  run: PipelineRun | null = null;
  readonly abort = new AbortController();
  readonly #listeners = new Set<() => void>();
  constructor(
    readonly id: string,
    readonly pipeline: ResolvedPipeline,
    readonly input: Uint8Array,
  ) {}
  get finished(): boolean {
    return this.status === "done" || this.status === "failed" || this.status === "cancelled";
  }
  notify(): void {
    for (const l of this.#listeners) l();
  }
  /** Resolves at the next change (new output or status). */
  changed(): Promise<void> {
    return new Promise((r) => {
      const l = (): void => {
        this.#listeners.delete(l);
        r();
      };
      this.#listeners.add(l);
    });
  }
  progress(): RunProgress | null {
    return this.run?.progress() ?? null;
  }
}

/** JSON Schema (draft 2020-12) of a plugin's options, for building forms. */
export function optionsJsonSchema(options: Readonly<Record<string, OptionSpec>>): object {
  const properties: Record<string, object> = {};
  const required: string[] = [];
  for (const [name, o] of Object.entries(options)) {
    properties[name] = {
      type: o.type,
      ...(o.default !== undefined && { default: o.default }),
      ...(o.description !== undefined && { description: o.description }),
      ...(o.enum !== undefined && { enum: o.enum }),
      ...(o.min !== undefined && { minimum: o.min }),
      ...(o.max !== undefined && { maximum: o.max }),
    };
    if (o.default === undefined) required.push(name);
  }
  return { $schema: "https://json-schema.org/draft/2020-12/schema", type: "object", properties, required, additionalProperties: false };
}

function pluginSummary(p: PluginInfo, v: VerifyResult | undefined): object {
  const m = p.manifest;
  return {
    id: p.id,
    version: m.version,
    protocol_version: m.protocol_version,
    kind: m.kind,
    stage: m.stage,
    description: m.description ?? null,
    license: m.license ?? null,
    input: m.capabilities.input,
    output: m.capabilities.output,
    mode: m.capabilities.mode,
    verified: v ? v.ok : null,
    ...(v && !v.ok && { verify_error: v.error }),
  };
}

/** A running daemon. */
export interface Daemon {
  /** The hono app (usable without a socket through `app.request`). */
  readonly app: Hono;
  readonly host: PipelineHost;
  /** The listening server, when started with {@link startDaemon}. */
  readonly server: ServerType | null;
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Cancels every job and closes the server; resolves when every plugin has exited. */
  close(): Promise<void>;
}

/** Creates the daemon's app and job store over a host, without listening. */
export function createDaemonApp(host: PipelineHost, config: DaemonConfig): { app: Hono; shutdown: () => Promise<void> } {
  const limits = config.limits;
  const jobs = new Map<string, Job>();
  const queue: Job[] = [];
  let running = 0;
  const verifications = new Map<string, VerifyResult>();
  if (config.plugins.verify) {
    for (const p of host.plugins.values()) void host.verify(p).then((r) => verifications.set(p.id, r));
  }

  const evict = (): void => {
    const now = Date.now();
    for (const [id, j] of jobs) {
      if (j.finished && j.finishedAt && now - j.finishedAt.getTime() > limits.job_ttl_s * 1000) jobs.delete(id);
    }
    while (jobs.size >= limits.max_jobs) {
      const oldest = [...jobs.values()].filter((j) => j.finished).sort((a, b) => a.finishedAt!.getTime() - b.finishedAt!.getTime())[0];
      if (!oldest) return;
      jobs.delete(oldest.id);
    }
  };

  const finish = (job: Job, status: JobStatus, error: PipelineError | null): void => {
    job.status = status;
    job.error = error;
    job.finishedAt = new Date();
    job.notify();
  };

  const startNext = (): void => {
    while (running < limits.max_running && queue.length > 0) {
      const job = queue.shift()!;
      if (job.status !== "pending") continue;
      running++;
      job.status = "running";
      job.startedAt = new Date();
      const run = host.run(job.pipeline, job.input, job.abort.signal);
      job.run = run;
      job.notify();
      void (async () => {
        try {
          for await (const chunk of iterateStream(run.output)) {
            job.bytes += chunk.length;
            if (job.bytes > limits.max_output_bytes) {
              run.cancel("output limit");
              throw new PipelineError("OUTPUT_LIMIT", `job output exceeds max_output_bytes (${limits.max_output_bytes})`);
            }
            job.chunks.push(chunk);
            job.notify();
          }
          const summary = await run.done;
          job.warnings = [...summary.warnings];
          finish(job, "done", null);
        } catch (e) {
          await run.done.catch(() => {});
          const err = e instanceof PipelineError ? e : new PipelineError("INTERNAL_PLUGIN_FAILURE", String(e));
          finish(job, job.abort.signal.aborted ? "cancelled" : "failed", err);
        } finally {
          running--;
          startNext();
        }
      })();
    }
  };

  const app = new Hono();
  const jsonError = (c: Context, status: 400 | 404 | 413 | 422 | 503, body: object) => c.json(body, status);
  const issuesOf = (e: unknown) =>
    e instanceof OrchestrationError ? e.issues.map((i) => ({ node: i.node ?? null, code: i.code, message: i.message })) : [{ node: null, code: "SCHEMA", message: (e as Error).message }];

  /** Reads the JSON body `{orchestration, …}`; the orchestration is TOML text or an object. */
  const readBody = async (c: Context): Promise<Record<string, unknown>> => {
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new OrchestrationError([{ code: "SCHEMA", message: "the request body must be JSON: {\"orchestration\": \"<.cr TOML>\" | {...}, \"input\": \"text\"}" }]);
    }
    if (typeof body !== "object" || body === null || !("orchestration" in body)) {
      throw new OrchestrationError([{ code: "SCHEMA", message: "the request body needs an \"orchestration\" field (.cr TOML text or an object)" }]);
    }
    return body as Record<string, unknown>;
  };

  app.get("/health", (c) => c.json({ ok: true }));

  app.get("/plugins", (c) =>
    c.json({
      plugins: [...host.plugins.values()].map((p) => pluginSummary(p, verifications.get(p.id))),
      problems: host.problems.map((p) => ({ file: p.file, error: p.error.message })),
    }),
  );

  app.get("/plugins/:id", (c) => {
    const p = host.plugins.get(c.req.param("id"));
    if (!p) return jsonError(c, 404, { error: `plugin "${c.req.param("id")}" not found` });
    return c.json({ ...pluginSummary(p, verifications.get(p.id)), options: p.manifest.options, options_schema: optionsJsonSchema(p.manifest.options) });
  });

  const limit = bodyLimit({ maxSize: limits.max_input_bytes * 2 + 65536, onError: (c) => jsonError(c, 413, { error: `request body exceeds the limit (max_input_bytes ${limits.max_input_bytes})` }) });

  app.post("/pipeline/validate", limit, async (c) => {
    try {
      const body = await readBody(c);
      const pipeline = await host.prepare(body.orchestration as string | object);
      return c.json({ valid: true, pipeline: describePipeline(pipeline) });
    } catch (e) {
      return jsonError(c, 422, { valid: false, errors: issuesOf(e) });
    }
  });

  app.post("/pipeline/run", limit, async (c) => {
    let pipeline: ResolvedPipeline;
    let input: Uint8Array;
    try {
      const body = await readBody(c);
      pipeline = await host.prepare(body.orchestration as string | object);
      if (typeof body.input === "string") input = new TextEncoder().encode(body.input);
      else if (typeof body.input_base64 === "string") input = new Uint8Array(Buffer.from(body.input_base64, "base64"));
      else throw new OrchestrationError([{ code: "SCHEMA", message: "give the input as \"input\" (text) or \"input_base64\"" }]);
    } catch (e) {
      return jsonError(c, 422, { valid: false, errors: issuesOf(e) });
    }
    if (input.length > limits.max_input_bytes) return jsonError(c, 413, { error: `input of ${input.length} bytes exceeds max_input_bytes (${limits.max_input_bytes})` });
    evict();
    if (jobs.size >= limits.max_jobs) return jsonError(c, 503, { error: `the job store is full (${limits.max_jobs} unfinished jobs)` });
    const job = new Job(randomUUID(), pipeline, input);
    jobs.set(job.id, job);
    queue.push(job);
    startNext();
    return c.json({ job_id: job.id, status: job.status, status_url: `/jobs/${job.id}/status`, stream_url: `/jobs/${job.id}/stream` }, 202);
  });

  app.get("/jobs/:id/status", (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) return jsonError(c, 404, { error: "job not found" });
    return c.json({
      job_id: job.id,
      status: job.status,
      error: job.error ? job.error.toJSON() : null,
      warnings: job.warnings.map((w) => w.toJSON()),
      output_type: job.pipeline.outputType,
      output_bytes: job.bytes,
      progress: job.progress(),
      created_at: job.createdAt.toISOString(),
      started_at: job.startedAt?.toISOString() ?? null,
      finished_at: job.finishedAt?.toISOString() ?? null,
    });
  });

  app.get("/jobs/:id/stream", (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) return jsonError(c, 404, { error: "job not found" });
    let at = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        for (;;) {
          if (at < job.chunks.length) {
            controller.enqueue(job.chunks[at++]!);
            return;
          }
          if (job.status === "done") return controller.close();
          if (job.finished) return controller.error(job.error ?? new Error(job.status));
          await job.changed();
        }
      },
    });
    return new Response(body, { headers: { "content-type": job.pipeline.outputType, "x-job-id": job.id, "cache-control": "no-store" } });
  });

  app.delete("/jobs/:id", (c) => {
    const job = jobs.get(c.req.param("id"));
    if (!job) return jsonError(c, 404, { error: "job not found" });
    if (job.finished) {
      jobs.delete(job.id);
      return c.json({ job_id: job.id, status: job.status, deleted: true });
    }
    job.abort.abort("cancelled through the API");
    if (job.status === "pending") finish(job, "cancelled", new PipelineError("CANCELLED", "cancelled before it started"));
    return c.json({ job_id: job.id, status: "cancelled", deleted: false });
  });

  const shutdown = async (): Promise<void> => {
    const active = [...jobs.values()].filter((j) => !j.finished);
    for (const j of active) j.abort.abort("daemon shutting down");
    await Promise.all(active.map((j) => j.run?.done.catch(() => {})));
  };
  return { app, shutdown };
}

/** Starts the daemon: discovers plugins, verifies them in the background, listens. */
export async function startDaemon(config: DaemonConfig): Promise<Daemon> {
  const host = await PipelineHost.open({
    pluginDirs: config.plugins.dirs,
    verify: config.plugins.verify,
    ...(config.plugins.cache_file !== undefined && { cacheFile: config.plugins.cache_file }),
    timeoutMs: config.timeouts.idle_ms,
    maxFrame: config.limits.max_frame,
    maxOutputBytes: config.limits.max_output_bytes,
  });
  const { app, shutdown } = createDaemonApp(host, config);
  const { server, port } = await new Promise<{ server: ServerType; port: number }>((resolveListen) => {
    const s = serve({ fetch: app.fetch, port: config.server.port, hostname: config.server.host }, (info) => resolveListen({ server: s, port: info.port }));
  });
  return {
    app,
    host,
    server,
    port,
    async close() {
      await shutdown();
      await new Promise<void>((r) => {
        server.close(() => r());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}

/**
 * The Node pipeline host shared by the CLI and the daemon: plugin discovery, runners, the
 * verification cache, and `prepare()` (parse + validate + verify) before the one executor runs.
 * @module
 */
import { basename, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { CapabilityIndex } from "../capabilities.js";
import { OrchestrationError, type OrchestrationIssue } from "../errors.js";
import { executePipeline, type PipelineInput, type PipelineRun } from "../executor.js";
import type { PluginInfo } from "../manifest.js";
import { orchestrationFromObject, parseOrchestration, validateOrchestration, type Orchestration, type ResolvedPipeline } from "../orchestration.js";
import type { Runners } from "../runner.js";
import type { VerifyResult } from "../verify.js";
import { discoverPlugins, type DiscoveryProblem } from "./discovery.js";
import { nodeRunners } from "./runners.js";
import { VerifyCache } from "./verify.js";

/** The reference plugins shipped with clawft (`plugins/` at the package root). */
export const BUNDLED_PLUGINS = fileURLToPath(new URL("../../../plugins/", import.meta.url));

/**
 * The JSON shape of a validated pipeline, in the protocol's snake_case: `{name, input_type,
 * output_type, nodes: [{id, plugin, input_type, output_type, options}]}` (`name` null when the
 * orchestration has none). The daemon's `/pipeline/validate` and `clawft pipeline validate --json`
 * both print it.
 */
export function describePipeline(p: ResolvedPipeline): object {
  return {
    name: p.name ?? null,
    input_type: p.inputType,
    output_type: p.outputType,
    nodes: p.nodes.map((n) => ({ id: n.id, plugin: n.plugin.id, input_type: n.inputType, output_type: n.outputType, options: n.options })),
  };
}

/** Limits and defaults of a host (the daemon reads them from daemon.toml). */
export interface HostOptions {
  /** Directories scanned for plugins, in priority order. */
  readonly pluginDirs: readonly string[];
  /** Verify every plugin a pipeline uses before running it. Defaults to true. */
  readonly verify?: boolean;
  /** Verification cache file; null for memory only. Defaults to the user cache directory. */
  readonly cacheFile?: string | null;
  /** Default inactivity timeout per node, in ms. Defaults to 30 000. */
  readonly timeoutMs?: number;
  /** Largest frame payload in bytes. Defaults to 1 MiB. */
  readonly maxFrame?: number;
  /** Largest output of one node, in bytes. Defaults to 2 GiB. */
  readonly maxOutputBytes?: number;
  /** Runners to use instead of {@link nodeRunners} (tests). */
  readonly runners?: Runners;
}

/** A set of plugins and the means to validate, verify and run pipelines over them. */
export class PipelineHost {
  plugins = new Map<string, PluginInfo>();
  problems: DiscoveryProblem[] = [];
  index = new CapabilityIndex([]);
  readonly runners: Runners;
  readonly options: HostOptions;
  readonly #cache: VerifyCache;
  readonly #verified = new Map<string, Promise<VerifyResult>>();

  private constructor(options: HostOptions) {
    this.options = options;
    this.runners = options.runners ?? nodeRunners();
    this.#cache = new VerifyCache(options.cacheFile);
  }

  /** Creates a host and discovers its plugins. */
  static async open(options: HostOptions): Promise<PipelineHost> {
    const host = new PipelineHost(options);
    await host.refresh();
    return host;
  }

  /** Scans the plugin directories again. */
  async refresh(): Promise<void> {
    const d = await discoverPlugins(this.options.pluginDirs);
    this.plugins = d.plugins;
    this.problems = d.problems;
    this.index = new CapabilityIndex(d.plugins.values());
    this.#verified.clear();
  }

  /** Verifies a plugin (once per host, and once per content hash through the cache file). */
  verify(plugin: PluginInfo): Promise<VerifyResult> {
    let r = this.#verified.get(plugin.id);
    if (!r) {
      r = this.#cache.verify(plugin, { runners: this.runners, ...(this.options.timeoutMs !== undefined && { timeoutMs: this.options.timeoutMs }) });
      this.#verified.set(plugin.id, r);
    }
    return r;
  }

  /**
   * Parses (TOML text or a plain object), validates and — unless disabled — verifies the
   * plugins of an orchestration.
   * @throws {@link OrchestrationError} listing every problem by node
   */
  async prepare(orchestration: string | Orchestration | object): Promise<ResolvedPipeline> {
    const orch = typeof orchestration === "string" ? parseOrchestration(orchestration) : orchestrationFromObject(orchestration);
    // A node naming a plugin whose manifest discovery skipped gets that manifest's error.
    const brokenManifests = new Map(this.problems.map((p) => [basename(dirname(p.file)), p] as const));
    const pipeline = validateOrchestration(orch, this.plugins, { brokenManifests });
    if (this.options.verify === false) return pipeline;
    const issues: OrchestrationIssue[] = [];
    const results = await Promise.all(pipeline.nodes.map((n) => this.verify(n.plugin)));
    pipeline.nodes.forEach((n, i) => {
      const r = results[i]!;
      if (!r.ok) issues.push({ node: n.id, code: "UNVERIFIED_PLUGIN", message: `plugin "${n.plugin.id}" failed verification: ${r.error}` });
    });
    if (issues.length) throw new OrchestrationError(issues);
    return pipeline;
  }

  /** Runs a prepared pipeline with this host's runners and limits (see {@link executePipeline}). */
  run(pipeline: ResolvedPipeline, input: PipelineInput, signal?: AbortSignal): PipelineRun {
    const o = this.options;
    return executePipeline(pipeline, input, {
      runners: this.runners,
      ...(o.timeoutMs !== undefined && { timeoutMs: o.timeoutMs }),
      ...(o.maxFrame !== undefined && { maxFrame: o.maxFrame }),
      ...(o.maxOutputBytes !== undefined && { maxOutputBytes: o.maxOutputBytes }),
      ...(signal !== undefined && { signal }),
    });
  }
}

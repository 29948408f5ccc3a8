/**
 * Orchestration files (`.cr`, TOML): a linear list of nodes, each a plugin with options.
 * Validation resolves every node against the known plugins, checks that each node's output
 * types intersect the next node's input types (no implicit conversions), checks options against
 * the plugin's schema, and picks the concrete type of every edge for the handshakes.
 *
 * ```toml
 * [meta]
 * name = "text-to-mp3"
 * [input]
 * type = "text/plain"
 * [output]               # optional: what the last node must produce
 * type = "audio/mpeg"
 * [[nodes]]
 * id = "speak"           # optional, defaults to the plugin name
 * plugin = "speak"
 * options = { voice = "en-us", rate = 170 }
 * timeout_ms = 60000     # optional inactivity timeout for this node
 * ```
 * Runs in every host (no Node modules).
 * @module
 */
import { parse as parseToml, stringify as stringifyToml, TomlError } from "smol-toml";
import { z } from "zod";
import { OrchestrationError, type OrchestrationIssue } from "./errors.js";
import { resolveOptions, type OptionValue, type PluginInfo, type PluginKind } from "./manifest.js";
import { isCompatibleProtocol, PROTOCOL_VERSION } from "./protocol.js";

const nodeSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, "must match [A-Za-z0-9][A-Za-z0-9._-]*").optional(),
  plugin: z.string().min(1),
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).default({}),
  timeout_ms: z.number().int().positive().optional(),
});

const orchestrationSchema = z.strictObject({
  meta: z
    .strictObject({ name: z.string().optional(), description: z.string().optional(), version: z.string().optional(), author: z.string().optional() })
    .default({}),
  input: z.strictObject({ type: z.string().min(1) }).default({ type: "text/plain" }),
  output: z.strictObject({ type: z.string().min(1).optional() }).default({}),
  nodes: z
    .array(nodeSchema, { error: (iss) => (iss.input === undefined ? "an orchestration needs at least one [[nodes]] entry" : undefined) })
    .min(1, "an orchestration needs at least one [[nodes]] entry"),
});

/** A parsed (not yet validated against plugins) orchestration. */
export type Orchestration = z.infer<typeof orchestrationSchema>;

/** One node of a validated pipeline: everything the executor needs to run it. */
export interface ResolvedNode {
  readonly id: string;
  readonly plugin: PluginInfo;
  /** Options with defaults filled in: the handshake's `config`. */
  readonly options: Readonly<Record<string, OptionValue>>;
  /** The MIME type this node reads (the handshake's `input_type`). */
  readonly inputType: string;
  /** The MIME type this node writes (the handshake's `output_type`). */
  readonly outputType: string;
  /**
   * Inactivity timeout the orchestration sets on this node (`timeout_ms`), in ms; it wins over
   * the run's. Undefined: the run's timeout, else {@link pluginTimeoutMs}, else the default.
   */
  readonly timeoutMs: number | undefined;
  /** The plugin's own suggestion (`timeout_ms` in plugin.toml), in ms: used only when neither the node nor the run sets one. */
  readonly pluginTimeoutMs: number | undefined;
}

/** A validated linear pipeline, ready for {@link executePipeline}. */
export interface ResolvedPipeline {
  readonly name: string | undefined;
  readonly nodes: readonly ResolvedNode[];
  /** MIME type of the pipeline's input. */
  readonly inputType: string;
  /** MIME type of the pipeline's output. */
  readonly outputType: string;
}

/**
 * Parses a `.cr` orchestration.
 * @param text TOML source
 * @throws {@link OrchestrationError} with code `PARSE` (TOML syntax, with line and column) or
 *   `SCHEMA` (missing or mistyped fields, duplicate node ids)
 */
export function parseOrchestration(text: string): Orchestration {
  let raw: unknown;
  try {
    raw = parseToml(text);
  } catch (e) {
    const where = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : "";
    throw new OrchestrationError([{ code: "PARSE", message: `invalid TOML${where}: ${(e as Error).message.split("\n")[0]}` }]);
  }
  return orchestrationFromObject(raw);
}

/**
 * Validates an orchestration given as a plain object (e.g. JSON from an HTTP client).
 * @throws {@link OrchestrationError} with code `SCHEMA`
 */
export function orchestrationFromObject(raw: unknown): Orchestration {
  const r = orchestrationSchema.safeParse(raw);
  if (!r.success) {
    throw new OrchestrationError(
      r.error.issues.map((i) => ({ code: "SCHEMA", message: `${i.path.join(".") || "(root)"}: ${i.message}` })),
    );
  }
  const seen = new Set<string>();
  const issues: OrchestrationIssue[] = [];
  for (const n of r.data.nodes) {
    const id = n.id ?? n.plugin;
    if (seen.has(id)) issues.push({ node: id, code: "DUPLICATE_NODE", message: `duplicate node id "${id}" (give each node an id)` });
    seen.add(id);
  }
  if (issues.length) throw new OrchestrationError(issues);
  return r.data;
}

/** Serialises an orchestration back to `.cr` TOML (used by the configure wizard). */
export function stringifyOrchestration(o: Orchestration): string {
  return stringifyToml(o);
}

/** Options of {@link validateOrchestration}. */
export interface ValidateOptions {
  /** Kinds the current host can run; a node using another kind is an error. Defaults to all. */
  readonly kinds?: readonly PluginKind[];
  /** When given, a plugin for which it returns a message (not verified, failed) is an error. */
  readonly checkPlugin?: (plugin: PluginInfo) => string | undefined;
  /**
   * Manifests discovery skipped, by the name of their plugin directory: a node naming one is
   * reported with the manifest's own parse or schema error, not as an unknown plugin.
   */
  readonly brokenManifests?: ReadonlyMap<string, { readonly file: string; readonly error: Error }>;
}

function describe(list: readonly string[]): string {
  return list.length === 1 ? list[0]! : `[${list.join(", ")}]`;
}

/**
 * Resolves and type-checks an orchestration against the known plugins.
 * @param plugins the plugins by id (e.g. from discovery)
 * @returns the pipeline with concrete edge types and complete options
 * @throws {@link OrchestrationError} listing every problem, each naming its node: unknown plugin,
 *   type mismatch between neighbours (or with `[input]`/`[output]`), invalid options, unsupported
 *   kind, incompatible protocol, failed verification
 */
export function validateOrchestration(
  orch: Orchestration,
  plugins: ReadonlyMap<string, PluginInfo>,
  options: ValidateOptions = {},
): ResolvedPipeline {
  const issues: OrchestrationIssue[] = [];
  const found: Array<{ id: string; plugin: PluginInfo | undefined; node: Orchestration["nodes"][number]; values: Record<string, OptionValue> }> = [];
  for (const node of orch.nodes) {
    const id = node.id ?? node.plugin;
    const plugin = plugins.get(node.plugin);
    let values: Record<string, OptionValue> = {};
    const broken = plugin ? undefined : options.brokenManifests?.get(node.plugin);
    if (broken) {
      issues.push({ node: id, code: "BROKEN_MANIFEST", message: `plugin "${node.plugin}" has a broken manifest (${broken.file}): ${broken.error.message}` });
    } else if (!plugin) {
      const known = [...plugins.keys()].sort();
      issues.push({ node: id, code: "UNKNOWN_PLUGIN", message: `unknown plugin "${node.plugin}" (available: ${known.join(", ") || "none"})` });
    } else {
      if (!isCompatibleProtocol(plugin.manifest.protocol_version)) {
        issues.push({ node: id, code: "INCOMPATIBLE_PROTOCOL", message: `plugin "${plugin.id}" speaks protocol ${plugin.manifest.protocol_version}, this host ${PROTOCOL_VERSION}` });
      }
      if (options.kinds && !options.kinds.includes(plugin.manifest.kind)) {
        issues.push({ node: id, code: "UNSUPPORTED_KIND", message: `plugin "${plugin.id}" is a ${plugin.manifest.kind} plugin, which this host cannot run (it runs ${options.kinds.join(", ")})` });
      }
      const problem = options.checkPlugin?.(plugin);
      if (problem) issues.push({ node: id, code: "UNVERIFIED_PLUGIN", message: problem });
      const resolved = resolveOptions(plugin.manifest.options, node.options);
      for (const msg of resolved.issues) issues.push({ node: id, code: "INVALID_OPTION", message: msg });
      values = resolved.values;
    }
    found.push({ id, plugin, node, values });
  }

  // Type check: what flows into each node must be something it accepts.
  let produced: readonly string[] = [orch.input.type];
  let producer = "the pipeline input ([input] type)";
  for (const { id, plugin } of found) {
    if (!plugin) {
      produced = [];
      continue;
    }
    const accepts = plugin.manifest.capabilities.input;
    if (produced.length > 0 && !produced.some((t) => accepts.includes(t))) {
      issues.push({
        node: id,
        code: "TYPE_MISMATCH",
        message: `plugin "${plugin.id}" accepts ${describe(accepts)} but ${producer} produces ${describe(produced)}`,
      });
    }
    produced = plugin.manifest.capabilities.output;
    producer = `node "${id}"`;
  }
  const wanted = orch.output.type;
  if (wanted && produced.length > 0 && !produced.includes(wanted)) {
    issues.push({ node: found.at(-1)!.id, code: "TYPE_MISMATCH", message: `the pipeline output ([output] type) must be ${wanted} but node "${found.at(-1)!.id}" produces ${describe(produced)}` });
  }
  if (issues.length) throw new OrchestrationError(issues);

  // Pick concrete edge types, preferring each producer's order.
  const nodes: ResolvedNode[] = [];
  let inputType = orch.input.type;
  found.forEach(({ id, plugin, node, values }, i) => {
    const caps = plugin!.manifest.capabilities;
    const next = found[i + 1]?.plugin?.manifest.capabilities.input;
    const outputType = next ? caps.output.find((t) => next.includes(t))! : (wanted ?? caps.output[0]!);
    nodes.push({
      id,
      plugin: plugin!,
      options: values,
      inputType,
      outputType,
      timeoutMs: node.timeout_ms,
      pluginTimeoutMs: plugin!.manifest.timeout_ms,
    });
    inputType = outputType;
  });
  return { name: orch.meta.name, nodes, inputType: orch.input.type, outputType: nodes.at(-1)!.outputType };
}

/**
 * `plugin.toml` manifests (docs/plugin-protocol.md §6): parsing with smol-toml, validation with
 * zod, and checking a node's options against the manifest's option schema.
 * Runs in every host (no Node modules).
 * @module
 */
import { parse as parseToml, TomlError } from "smol-toml";
import { z } from "zod";
import { ManifestError, type ManifestIssue } from "./errors.js";

/** How the host starts a plugin (docs/plugin-protocol.md §7). */
export type PluginKind = "process" | "wasi" | "worker";
/** Where a plugin sits in a text-to-audio chain; informational, used by the capability index. */
export type PluginStage = "pre" | "tts" | "converter" | "post";
/** A value an option can take. */
export type OptionValue = string | number | boolean;

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;
const scalar = z.union([z.string(), z.number(), z.boolean()]);

const optionSpecSchema = z
  .strictObject({
    type: z.enum(["string", "number", "integer", "boolean"]),
    default: scalar.optional(),
    description: z.string().optional(),
    enum: z.array(z.union([z.string(), z.number()])).min(1).optional(),
    min: z.number().optional(),
    max: z.number().optional(),
  })
  .superRefine((spec, ctx) => {
    if ((spec.min !== undefined || spec.max !== undefined) && spec.type !== "number" && spec.type !== "integer") {
      ctx.addIssue({ code: "custom", message: `min/max apply to number and integer options, not ${spec.type}` });
    }
    for (const v of spec.enum ?? []) {
      const bad = optionValueSchema({ ...spec, enum: undefined }).safeParse(v);
      if (!bad.success) ctx.addIssue({ code: "custom", path: ["enum"], message: `enum value ${JSON.stringify(v)} is not a ${spec.type}` });
    }
    if (spec.default !== undefined) {
      const r = optionValueSchema(spec).safeParse(spec.default);
      if (!r.success) ctx.addIssue({ code: "custom", path: ["default"], message: `default ${JSON.stringify(spec.default)}: ${r.error.issues[0]!.message}` });
    }
  });

/** One option of a plugin, as declared in `[options.<name>]`. */
export type OptionSpec = z.infer<typeof optionSpecSchema>;

const manifestSchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, "must match [a-z0-9][a-z0-9._-]*"),
  version: z.string().min(1),
  protocol_version: z.string().regex(/^\d+(\.\d+)?$/, 'must be "MAJOR.MINOR"'),
  kind: z.enum(["process", "wasi", "worker"]),
  entrypoint: z.string().min(1),
  args: z.array(z.string()).default([]),
  stage: z.enum(["pre", "tts", "converter", "post"]),
  description: z.string().optional(),
  license: z.string().optional(),
  timeout_ms: z.number().int().positive().optional(),
  capabilities: z.strictObject({
    input: z.array(z.string().regex(MIME, "must be a MIME type like text/plain")).min(1),
    output: z.array(z.string().regex(MIME, "must be a MIME type like audio/wav")).min(1),
    mode: z.enum(["streaming", "batch"]),
  }),
  options: z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, "option names must match [a-z][a-z0-9_]*"), optionSpecSchema).default({}),
  verify: z
    .strictObject({
      input: z.string().min(1).optional(),
      options: z.record(z.string(), scalar).optional(),
    })
    .optional(),
});

/** A validated `plugin.toml`, in the manifest's own (snake_case) field names. */
export type PluginManifest = z.infer<typeof manifestSchema>;

/** A plugin the host knows: its manifest and where it lives. */
export interface PluginInfo {
  /** The plugin's id: its manifest `name`. */
  readonly id: string;
  readonly manifest: PluginManifest;
  /** The manifest's source text (hashed for the verification cache). */
  readonly manifestText: string;
  /** URL of the plugin's directory, ending in "/": file: in Node, http(s): in browsers. */
  readonly baseUrl: string;
  /** URL of the entrypoint (resolved against `baseUrl`). */
  readonly entrypointUrl: string;
}

function zodIssues(error: z.ZodError): ManifestIssue[] {
  return error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
}

/**
 * Parses and validates a manifest. `api_version` is accepted as an alias of `protocol_version`.
 * @param text the TOML source
 * @param source file path or URL, used in error messages
 * @throws {@link ManifestError} listing every problem (TOML syntax with line and column, missing
 *   fields, wrong types, defaults that break their own schema)
 */
export function parseManifest(text: string, source: string): PluginManifest {
  let raw: Record<string, unknown>;
  try {
    raw = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    const where = e instanceof TomlError ? ` at line ${e.line}, column ${e.column}` : "";
    throw new ManifestError(source, [{ path: "", message: `invalid TOML${where}: ${(e as Error).message.split("\n")[0]}` }]);
  }
  if ("api_version" in raw && !("protocol_version" in raw)) {
    raw.protocol_version = raw.api_version;
  }
  delete raw.api_version;
  const r = manifestSchema.safeParse(raw);
  if (!r.success) throw new ManifestError(source, zodIssues(r.error));
  return r.data;
}

/**
 * Builds a {@link PluginInfo} from a manifest's text and its directory URL.
 * @param baseUrl URL of the plugin directory (a trailing "/" is added when missing)
 * @throws {@link ManifestError} as {@link parseManifest}
 */
export function pluginFromManifest(text: string, baseUrl: string | URL): PluginInfo {
  const base = String(baseUrl).endsWith("/") ? String(baseUrl) : `${baseUrl}/`;
  const manifest = parseManifest(text, `${base}plugin.toml`);
  return {
    id: manifest.name,
    manifest,
    manifestText: text,
    baseUrl: base,
    entrypointUrl: new URL(manifest.entrypoint, base).href,
  };
}

/** The zod schema of one option value, from its spec. */
function optionValueSchema(spec: OptionSpec): z.ZodType<OptionValue> {
  let s: z.ZodType<OptionValue>;
  if (spec.type === "boolean") s = z.boolean();
  else if (spec.type === "string") s = z.string();
  else {
    let n = spec.type === "integer" ? z.number().int() : z.number();
    if (spec.min !== undefined) n = n.min(spec.min);
    if (spec.max !== undefined) n = n.max(spec.max);
    s = n;
  }
  if (spec.enum) {
    const allowed = spec.enum;
    s = s.refine((v) => allowed.includes(v as string | number), { message: `must be one of ${allowed.map((v) => JSON.stringify(v)).join(", ")}` });
  }
  return s;
}

/**
 * Checks a node's options against a plugin's option schema and fills in defaults.
 * Unknown options and missing required options (no default) are errors; nothing is coerced
 * (a string "5" is not a number).
 * @returns `values` (every declared option present when `issues` is empty) and the problems
 *   found, each naming the option
 */
export function resolveOptions(
  specs: Readonly<Record<string, OptionSpec>>,
  given: Readonly<Record<string, unknown>> = {},
): { values: Record<string, OptionValue>; issues: string[] } {
  const values: Record<string, OptionValue> = {};
  const issues: string[] = [];
  for (const key of Object.keys(given)) {
    if (!(key in specs)) {
      const known = Object.keys(specs);
      issues.push(`unknown option "${key}" (known: ${known.length ? known.join(", ") : "none"})`);
    }
  }
  for (const [key, spec] of Object.entries(specs)) {
    const v = given[key] ?? spec.default;
    if (v === undefined) {
      issues.push(`option "${key}" is required (${spec.type})`);
      continue;
    }
    const r = optionValueSchema(spec).safeParse(v);
    if (r.success) values[key] = r.data;
    else issues.push(`option "${key}" = ${JSON.stringify(v)}: expected ${spec.type}; ${r.error.issues[0]!.message}`);
  }
  return { values, issues };
}

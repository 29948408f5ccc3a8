/**
 * The configure wizard: discover → choose plugins (each compatible with the previous one's
 * output) → set options → a validated `.cr` orchestration. Prompts are injected (the CLI passes
 * @inquirer/prompts; tests pass scripted answers).
 * @module
 */
import type { OptionSpec, OptionValue, PluginInfo } from "../manifest.js";
import { stringifyOrchestration, validateOrchestration, type Orchestration } from "../orchestration.js";
import type { PipelineHost } from "./host.js";

/** A choice of a select prompt. */
export interface Choice<T> {
  readonly name: string;
  readonly value: T;
  readonly description?: string;
}

/** The prompt functions the wizard uses (the shapes of @inquirer/prompts). */
export interface Prompts {
  select<T>(options: { message: string; choices: Array<Choice<T>>; default?: T }): Promise<T>;
  input(options: { message: string; default?: string; validate?: (value: string) => boolean | string }): Promise<string>;
  confirm(options: { message: string; default?: boolean }): Promise<boolean>;
}

/** Parses a number answer against an option spec; a string is an error message. */
export function parseNumberAnswer(answer: string, spec: OptionSpec): number | string {
  const v = Number(answer.trim());
  if (answer.trim() === "" || !Number.isFinite(v)) return `enter a number`;
  if (spec.type === "integer" && !Number.isInteger(v)) return "enter a whole number";
  if (spec.min !== undefined && v < spec.min) return `at least ${spec.min}`;
  if (spec.max !== undefined && v > spec.max) return `at most ${spec.max}`;
  return v;
}

async function askOption(prompts: Prompts, name: string, spec: OptionSpec): Promise<OptionValue> {
  const message = `${name}${spec.description ? ` — ${spec.description}` : ""}`;
  if (spec.enum) {
    return prompts.select<OptionValue>({ message, choices: spec.enum.map((v) => ({ name: String(v), value: v })), ...(spec.default !== undefined && { default: spec.default }) });
  }
  if (spec.type === "boolean") return prompts.confirm({ message, ...(typeof spec.default === "boolean" && { default: spec.default }) });
  if (spec.type === "string") {
    return prompts.input({ message, ...(spec.default !== undefined && { default: String(spec.default) }), validate: (v) => v.length > 0 || "enter a value" });
  }
  const answer = await prompts.input({
    message,
    ...(spec.default !== undefined && { default: String(spec.default) }),
    validate: (v) => {
      const r = parseNumberAnswer(v, spec);
      return typeof r === "number" || r;
    },
  });
  return parseNumberAnswer(answer, spec) as number;
}

function label(p: PluginInfo): string {
  const c = p.manifest.capabilities;
  return `${p.id} (${p.manifest.stage}: ${c.input.join("|")} → ${c.output.join("|")})`;
}

/**
 * Runs the wizard over the host's plugins.
 * @returns the orchestration and its `.cr` text (validated against the same plugins)
 * @throws Error when no plugin fits the chosen input type
 */
export async function configureWizard(host: PipelineHost, prompts: Prompts): Promise<{ orchestration: Orchestration; text: string }> {
  const inputs = host.index.types.inputs;
  if (inputs.length === 0) throw new Error("no plugins found: nothing to configure");
  const inputType = await prompts.select<string>({
    message: "What does the pipeline read?",
    choices: inputs.map((t) => ({ name: t, value: t })),
    ...(inputs.includes("text/plain") && { default: "text/plain" }),
  });
  const nodes: Orchestration["nodes"] = [];
  let produced: readonly string[] = [inputType];
  for (;;) {
    const next = host.index.successorsOf(produced);
    if (next.length === 0) {
      if (nodes.length === 0) throw new Error(`no plugin accepts ${inputType}`);
      break;
    }
    const choices: Array<Choice<PluginInfo | null>> = next.map((p) => ({ name: label(p), value: p, ...(p.manifest.description !== undefined && { description: p.manifest.description }) }));
    if (nodes.length > 0) choices.unshift({ name: `done (the pipeline ends with ${produced.join("|")})`, value: null });
    const plugin = await prompts.select<PluginInfo | null>({ message: nodes.length === 0 ? "First step:" : "Next step:", choices });
    if (!plugin) break;
    const options: Record<string, OptionValue> = {};
    const specs = Object.entries(plugin.manifest.options);
    if (specs.length > 0 && (await prompts.confirm({ message: `Set options of ${plugin.id}? (otherwise the defaults)`, default: false }))) {
      for (const [name, spec] of specs) {
        const v = await askOption(prompts, name, spec);
        if (v !== spec.default) options[name] = v;
      }
    } else {
      for (const [name, spec] of specs) if (spec.default === undefined) options[name] = await askOption(prompts, name, spec);
    }
    let id = plugin.id;
    for (let k = 2; nodes.some((n) => (n.id ?? n.plugin) === id); k++) id = `${plugin.id}-${k}`;
    nodes.push({ id, plugin: plugin.id, options });
    produced = plugin.manifest.capabilities.output;
  }
  const name = await prompts.input({ message: "Name of this pipeline:", default: nodes.map((n) => n.plugin).join("-") });
  const orchestration: Orchestration = { meta: { name }, input: { type: inputType }, output: {}, nodes };
  validateOrchestration(orchestration, host.plugins); // throws if the wizard built something invalid
  return { orchestration, text: stringifyOrchestration(orchestration) };
}

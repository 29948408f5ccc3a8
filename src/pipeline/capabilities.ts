/**
 * The capability index: which plugins serve a stage, accept an input type, produce an output
 * type. Used by validation messages, the configure wizard and the daemon's plugin listing.
 * @module
 */
import type { PluginInfo, PluginStage } from "./manifest.js";

/** A query: every given field must match. */
export interface CapabilityQuery {
  readonly stage?: PluginStage;
  /** MIME type the plugin must accept. */
  readonly input?: string;
  /** MIME type the plugin must produce. */
  readonly output?: string;
}

/** Index of plugins by stage, input type and output type. */
export class CapabilityIndex {
  readonly #byStage = new Map<PluginStage, PluginInfo[]>();
  readonly #byInput = new Map<string, PluginInfo[]>();
  readonly #byOutput = new Map<string, PluginInfo[]>();
  readonly #all: PluginInfo[];

  /** @param plugins the plugins to index, in priority order (kept in results) */
  constructor(plugins: Iterable<PluginInfo>) {
    this.#all = [...plugins];
    for (const p of this.#all) {
      push(this.#byStage, p.manifest.stage, p);
      for (const t of p.manifest.capabilities.input) push(this.#byInput, t, p);
      for (const t of p.manifest.capabilities.output) push(this.#byOutput, t, p);
    }
  }

  /** Plugins matching every field of `q` (all plugins for an empty query). */
  find(q: CapabilityQuery = {}): PluginInfo[] {
    let set: readonly PluginInfo[] = this.#all;
    if (q.stage) set = this.#byStage.get(q.stage) ?? [];
    if (q.input) {
      const s = new Set(this.#byInput.get(q.input) ?? []);
      set = set.filter((p) => s.has(p));
    }
    if (q.output) {
      const s = new Set(this.#byOutput.get(q.output) ?? []);
      set = set.filter((p) => s.has(p));
    }
    return [...set];
  }

  /** Plugins that can follow a node producing any of `types` (their inputs intersect). */
  successorsOf(types: readonly string[]): PluginInfo[] {
    const seen = new Set<PluginInfo>();
    for (const t of types) for (const p of this.#byInput.get(t) ?? []) seen.add(p);
    return this.#all.filter((p) => seen.has(p));
  }

  /** Every input type, output type and stage that some plugin declares. */
  get types(): { inputs: string[]; outputs: string[]; stages: PluginStage[] } {
    return { inputs: [...this.#byInput.keys()], outputs: [...this.#byOutput.keys()], stages: [...this.#byStage.keys()] };
  }
}

function push<K>(map: Map<K, PluginInfo[]>, key: K, p: PluginInfo): void {
  const list = map.get(key);
  if (list) list.push(p);
  else map.set(key, [p]);
}

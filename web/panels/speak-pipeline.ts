/// <reference types="vite/client" />
/**
 * The speak panel's pipeline, without DOM: normalize (WASI) → speak (eSpeak NG) → mp3 (LAME),
 * every plugin in a Web Worker, run by the same executor as the CLI and the daemon. The
 * manifests are the plugins' own `plugin.toml`; only their kind changes for the browser
 * (`speak` and `mp3` are `process` plugins in Node and `worker` plugins here).
 * @module
 */
import { executePipeline, type PipelineRun } from "../../src/pipeline/executor.js";
import { pluginFromManifest, type PluginInfo } from "../../src/pipeline/manifest.js";
import { orchestrationFromObject, validateOrchestration } from "../../src/pipeline/orchestration.js";
import type { Runners } from "../../src/pipeline/runner.js";
import normalizeToml from "../../plugins/normalize/plugin.toml?raw";
import speakToml from "../../plugins/speak/plugin.toml?raw";
import mp3Toml from "../../plugins/mp3/plugin.toml?raw";

/** What the panel lets the user choose. */
export interface SpeakOptions {
  /** eSpeak NG voice, e.g. "en-us". */
  readonly voice: string;
  /** Words per minute, 80..450. */
  readonly rate: number;
  /** MP3 bitrate in kbit/s (one of LAME's constant bitrates). Defaults to 64. */
  readonly bitrate?: number;
}

/** The three plugins as the browser runs them; `entrypoints` are the bundled URLs. */
export function browserPlugins(entrypoints: { normalizeWasm: string; worker: string }): Map<string, PluginInfo> {
  const at = (toml: string, dir: string, kind: "wasi" | "worker", entrypointUrl: string): PluginInfo => {
    const p = pluginFromManifest(toml, new URL(`../../plugins/${dir}/`, import.meta.url));
    return { ...p, manifest: { ...p.manifest, kind }, entrypointUrl };
  };
  return new Map([
    ["normalize", at(normalizeToml, "normalize", "wasi", entrypoints.normalizeWasm)],
    ["speak", at(speakToml, "speak", "worker", entrypoints.worker)],
    ["mp3", at(mp3Toml, "mp3", "worker", entrypoints.worker)],
  ]);
}

/**
 * Starts text → MP3.
 * @param text what to say (UTF-8 text)
 * @param runners from {@link browserRunners} (create them once: they cache compiled modules)
 * @throws {@link OrchestrationError} when the options are invalid (e.g. rate out of range)
 */
export function speakToMp3(text: string, options: SpeakOptions, plugins: Map<string, PluginInfo>, runners: Runners): PipelineRun {
  const orchestration = orchestrationFromObject({
    meta: { name: "browser-speak" },
    input: { type: "text/plain" },
    output: { type: "audio/mpeg" },
    nodes: [
      { plugin: "normalize" },
      { plugin: "speak", options: { voice: options.voice, rate: Math.round(options.rate) } },
      { plugin: "mp3", options: { bitrate: options.bitrate ?? 64 } },
    ],
  });
  const pipeline = validateOrchestration(orchestration, plugins, { kinds: ["wasi", "worker"] });
  return executePipeline(pipeline, text, { runners, timeoutMs: 60_000 });
}

/** Shared helpers of the pipeline tests. */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { iterateStream, type PipelineRun } from "../../src/pipeline/executor.js";
import { pluginFromManifest, type OptionValue, type PluginInfo } from "../../src/pipeline/manifest.js";
import type { ResolvedPipeline } from "../../src/pipeline/orchestration.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const FIXTURE_PLUGINS = fileURLToPath(new URL("./fixtures/plugins/", import.meta.url));
export const PLUGINS = fileURLToPath(new URL("../../plugins/", import.meta.url));

/** Loads one plugin directory (absolute path). */
export async function loadPlugin(dir: string): Promise<PluginInfo> {
  const base = new URL(`file://${dir.endsWith("/") ? dir : `${dir}/`}`);
  return pluginFromManifest(await readFile(new URL("plugin.toml", base), "utf8"), base);
}

/** A pipeline over plugins with explicit options and edge types (no orchestration file). */
export function pipelineOf(
  nodes: Array<{ plugin: PluginInfo; options?: Record<string, OptionValue>; id?: string; timeoutMs?: number; inputType?: string; outputType?: string }>,
): ResolvedPipeline {
  return {
    name: "test",
    inputType: nodes[0]!.inputType ?? nodes[0]!.plugin.manifest.capabilities.input[0]!,
    outputType: nodes.at(-1)!.outputType ?? nodes.at(-1)!.plugin.manifest.capabilities.output[0]!,
    nodes: nodes.map((n, i) => {
      const defaults = Object.fromEntries(Object.entries(n.plugin.manifest.options).flatMap(([k, s]) => (s.default !== undefined ? [[k, s.default]] : [])));
      return {
        id: n.id ?? `${n.plugin.id}${i}`,
        plugin: n.plugin,
        options: { ...defaults, ...n.options },
        inputType: n.inputType ?? n.plugin.manifest.capabilities.input[0]!,
        outputType: n.outputType ?? n.plugin.manifest.capabilities.output[0]!,
        timeoutMs: n.timeoutMs,
        pluginTimeoutMs: n.plugin.manifest.timeout_ms,
      };
    }),
  };
}

/** Reads a run's whole output; rejects like the run. */
export async function collect(run: PipelineRun): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const c of iterateStream(run.output)) parts.push(c);
  await run.done;
  return new Uint8Array(Buffer.concat(parts));
}

/** Child processes of this process that still exist (including zombies), as "pid stat command". */
export function childProcesses(): string[] {
  try {
    return execFileSync("ps", ["-o", "pid=,stat=,comm=", "--ppid", String(process.pid)], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.trim())
      // ps itself, and the esbuild service vitest's transformer spawns (not ours), do not count.
      .filter((l) => l && !/\b(ps|esbuild)$/.test(l));
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** True when a process with this pid runs (a zombie — dead, waiting to be reaped — does not count). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Duration in seconds of a 16-bit PCM WAV (header sizes may be 0xFFFFFFFF: counts the bytes). */
export function wavSeconds(wav: Uint8Array): number {
  const v = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  let at = 12;
  let rate = 0;
  let channels = 1;
  while (at + 8 <= wav.length) {
    const id = String.fromCharCode(...wav.subarray(at, at + 4));
    const size = v.getUint32(at + 4, true);
    if (id === "fmt ") {
      channels = v.getUint16(at + 10, true);
      rate = v.getUint32(at + 12, true);
    }
    if (id === "data") {
      const bytes = size === 0xffffffff || at + 8 + size > wav.length ? wav.length - at - 8 : size;
      return bytes / (rate * 2 * channels);
    }
    at += 8 + size + (size & 1);
  }
  throw new Error("no data chunk");
}

/**
 * Decodes an MP3 with mpg123 (a real decoder: Debian package mpg123, installed by .ci/run) and
 * returns the decoded audio's duration in seconds.
 * @throws Error when mpg123 is missing or rejects the stream
 */
export async function decodeWithMpg123(mp3: Uint8Array, dir: string): Promise<{ seconds: number }> {
  const file = join(dir, `d${Math.random().toString(36).slice(2)}.mp3`);
  await writeFile(file, mp3);
  try {
    execFileSync("mpg123", ["-q", "-w", `${file}.wav`, file], { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as { code?: string; stderr?: Buffer };
    if (err.code === "ENOENT") throw new Error("mpg123 is not installed (Debian package mpg123; .ci/run installs it)");
    throw new Error(`mpg123 rejected the MP3: ${err.stderr?.toString()}`);
  }
  return { seconds: wavSeconds(new Uint8Array(await readFile(`${file}.wav`))) };
}

/**
 * Plugin verification (docs/plugin-protocol.md §8): start the plugin, handshake with default
 * options, send a known input, and check that it ends cleanly with output of its declared type.
 * Runs in every host; caching by content hash is the host's business (see node/verify.ts).
 * @module
 */
import { PipelineError } from "./errors.js";
import { executePipeline, iterateStream } from "./executor.js";
import { resolveOptions, type PluginInfo } from "./manifest.js";
import type { ResolvedPipeline } from "./orchestration.js";
import type { Runners } from "./runner.js";

/** Result of verifying one plugin. */
export interface VerifyResult {
  readonly plugin: string;
  readonly ok: boolean;
  /** Why it failed (a {@link PipelineError} message, or the output check). */
  readonly error?: string;
  /** Output bytes the mini-test produced. */
  readonly outputBytes: number;
  /** Wall time of the mini-test, in ms. */
  readonly durationMs: number;
  /** True when the result came from a cache. */
  readonly cached: boolean;
}

/** A 0.25 s 440 Hz tone: 16-bit mono PCM WAV at 22 050 Hz (the built-in `audio/wav` sample). */
export function sampleWav(): Uint8Array {
  const rate = 22050;
  const n = Math.floor(rate / 4);
  const out = new Uint8Array(44 + n * 2);
  const v = new DataView(out.buffer);
  const ascii = (at: number, s: string): void => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, 36 + n * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true);
  v.setUint16(22, 1, true);
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, n * 2, true);
  for (let i = 0; i < n; i++) v.setInt16(44 + i * 2, Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)), true);
  return out;
}

/** The built-in mini-test input for a MIME type, or null when there is none. */
export function sampleInput(type: string): Uint8Array | null {
  if (type.startsWith("text/")) return new TextEncoder().encode("Hello world. Dr. Smith bought 3 apples on Jan. 2nd, 2024.\n");
  if (type === "audio/wav") return sampleWav();
  return null;
}

/**
 * Checks that `bytes` look like `type`: `text/*` valid UTF-8, `application/json` JSON,
 * `audio/wav` a RIFF/WAVE header, `audio/mpeg` an ID3 tag or MPEG frame sync. Other types
 * are not inspected.
 * @returns null when plausible, else what is wrong
 */
export function sniffType(type: string, bytes: Uint8Array): string | null {
  const ascii = (at: number, n: number): string => String.fromCharCode(...bytes.subarray(at, at + n));
  if (type.startsWith("text/") || type === "application/json") {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return "output is not valid UTF-8";
    }
    if (type === "application/json") {
      try {
        JSON.parse(text);
      } catch {
        return "output is not JSON";
      }
    }
    return null;
  }
  if (type === "audio/wav" || type === "audio/x-wav" || type === "audio/wave") {
    return bytes.length >= 12 && ascii(0, 4) === "RIFF" && ascii(8, 4) === "WAVE" ? null : "output does not start with a RIFF/WAVE header";
  }
  if (type === "audio/mpeg") {
    const id3 = bytes.length >= 3 && ascii(0, 3) === "ID3";
    const sync = bytes.length >= 2 && bytes[0] === 0xff && (bytes[1]! & 0xe0) === 0xe0;
    return id3 || sync ? null : "output starts with neither an ID3 tag nor an MPEG frame sync";
  }
  return null;
}

/** Options of {@link verifyPlugin}. */
export interface VerifyOptions {
  readonly runners: Runners;
  /** Reads the manifest's `[verify] input` file (by URL). Required when a manifest names one. */
  readonly readInput?: (url: string) => Promise<Uint8Array>;
  /** Inactivity timeout for the mini-test, in ms. Defaults to the plugin's or 30 000. */
  readonly timeoutMs?: number;
}

/**
 * Verifies one plugin with a mini-test. Never throws: failures are in the result.
 */
export async function verifyPlugin(plugin: PluginInfo, options: VerifyOptions): Promise<VerifyResult> {
  const t0 = Date.now();
  const m = plugin.manifest;
  const result = (ok: boolean, outputBytes: number, error?: string): VerifyResult => ({
    plugin: plugin.id,
    ok,
    ...(error !== undefined && { error }),
    outputBytes,
    durationMs: Date.now() - t0,
    cached: false,
  });
  const inputType = m.capabilities.input[0]!;
  const outputType = m.capabilities.output[0]!;
  let input: Uint8Array | null;
  try {
    input = m.verify?.input
      ? await (options.readInput ?? (() => Promise.reject(new Error("no reader for verify.input"))))(new URL(m.verify.input, plugin.baseUrl).href)
      : sampleInput(inputType);
  } catch (e) {
    return result(false, 0, `cannot read the verify input ${m.verify?.input}: ${(e as Error).message}`);
  }
  if (!input) return result(false, 0, `no built-in sample for ${inputType}; give one in [verify] input`);
  const opts = resolveOptions(m.options, m.verify?.options ?? {});
  if (opts.issues.length) return result(false, 0, `verify options: ${opts.issues.join("; ")}`);
  const pipeline: ResolvedPipeline = {
    name: `verify ${plugin.id}`,
    inputType,
    outputType,
    nodes: [{ id: plugin.id, plugin, options: opts.values, inputType, outputType, timeoutMs: undefined, pluginTimeoutMs: m.timeout_ms }],
  };
  const run = executePipeline(pipeline, input, { runners: options.runners, ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }) });
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const c of iterateStream(run.output)) {
      if (total < 64 * 1024) chunks.push(c);
      total += c.length;
    }
    await run.done;
  } catch (e) {
    return result(false, total, e instanceof PipelineError ? `${e.code}: ${e.message}` : String(e));
  }
  const head = new Uint8Array(Math.min(total, 64 * 1024));
  let at = 0;
  for (const c of chunks) {
    const n = Math.min(c.length, head.length - at);
    head.set(c.subarray(0, n), at);
    at += n;
  }
  if (total === 0) return result(false, 0, "the mini-test produced no output");
  // Text output is checked whole only when it fits; a cut could split a character.
  const problem = outputType.startsWith("text/") && total > head.length ? null : sniffType(outputType, head);
  return problem ? result(false, total, `${problem} (declared ${outputType})`) : result(true, total);
}

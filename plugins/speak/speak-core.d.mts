// Types of speak-core.mjs.
import type { PluginContext } from "../lib/sdk.mjs";

export const SAMPLE_RATE: number;
export function streamingWavHeader(sampleRate: number): Uint8Array;
export function sentenceEnd(text: string, from: number): number;
export function nextCut(text: string, target: number, final: boolean): number;
/** `ESpeakNg` is the default export of npm `espeak-ng`; `module` its compiled wasm. */
export function createSynth(
  load: () => Promise<{ ESpeakNg: (options: object) => Promise<{ FS: { readFile(path: string): Uint8Array } }>; module: WebAssembly.Module }>,
): ((text: string, options: { voice: string; rate: number; pitch: number }) => Promise<Uint8Array>) & { preload(): void };
export function speakHandler(synth: ReturnType<typeof createSynth>): (ctx: PluginContext) => Promise<void>;

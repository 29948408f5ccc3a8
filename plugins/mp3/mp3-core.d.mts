// Types of mp3-core.mjs.
import type { PluginContext } from "../lib/sdk.mjs";

export class WavReader {
  format: { channels: number; sampleRate: number; bits: number } | null;
  push(chunk: Uint8Array): Uint8Array;
  end(): void;
}
export function deinterleave(pcm: Uint8Array, channels: number): Float32Array[];
export interface Mp3Encoder {
  configure(params: { sampleRate: number; channels: 1 | 2; bitrate?: number }): void;
  encode(samples: readonly Float32Array[]): Uint8Array;
  finalize(): Uint8Array;
}
export function mp3Handler(createEncoder: (mime: "audio/mpeg") => Promise<Mp3Encoder>): (ctx: PluginContext) => Promise<void>;

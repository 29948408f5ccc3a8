// The `mp3` plugin's logic, shared by the process entry (mp3.mjs) and the browser worker:
// audio/wav (16-bit PCM, mono or stereo, any sample rate LAME takes) in, audio/mpeg out,
// encoded with LAME compiled to WebAssembly (npm wasm-media-encoders). Streaming: samples are
// encoded as they arrive. A WAV whose data size is 0 or 0xFFFFFFFF (a stream) is read to the end.

import { PluginError } from "../lib/sdk.mjs";

/** Reads a RIFF/WAVE stream incrementally: header chunks first, then PCM samples. */
export class WavReader {
  constructor() {
    /** @type {Uint8Array} */
    this.buf = new Uint8Array(0);
    /** @type {{channels: number, sampleRate: number, bits: number} | null} */
    this.format = null;
    this.inData = false;
    /** PCM bytes left in the data chunk; Infinity for a stream of unknown length. */
    this.dataLeft = 0;
    this.headerDone = false;
    this.riffChecked = false;
  }

  /**
   * Feeds bytes; returns the whole sample frames now available (interleaved little-endian PCM).
   * @param {Uint8Array} chunk
   * @returns {Uint8Array}
   */
  push(chunk) {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    if (!this.inData) this.#header();
    if (!this.inData) return new Uint8Array(0);
    const frameBytes = this.format.channels * 2;
    let n = Math.min(this.buf.length, this.dataLeft);
    n -= n % frameBytes;
    const pcm = this.buf.slice(0, n);
    this.buf = this.buf.subarray(n);
    this.dataLeft -= n;
    if (this.dataLeft === 0) this.buf = new Uint8Array(0); // chunks after "data" are ignored
    return pcm;
  }

  /** Checks the stream ended properly. @throws {PluginError} INVALID_INPUT */
  end() {
    if (!this.inData) throw new PluginError("INVALID_INPUT", this.buf.length === 0 ? "empty input: expected a WAV stream" : "input ended inside the WAV header");
  }

  #header() {
    const b = this.buf;
    const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const id = (at) => String.fromCharCode(b[at], b[at + 1], b[at + 2], b[at + 3]);
    if (!this.riffChecked) {
      if (b.length < 12) return;
      if (id(0) !== "RIFF" || id(8) !== "WAVE") throw new PluginError("INVALID_INPUT", "input is not a RIFF/WAVE stream");
      this.riffChecked = true;
      this.buf = b.subarray(12);
      return this.#header();
    }
    if (b.length < 8) return;
    const size = v.getUint32(4, true);
    if (id(0) === "data") {
      if (!this.format) throw new PluginError("INVALID_INPUT", "WAV data chunk before its fmt chunk");
      this.inData = true;
      this.dataLeft = size === 0 || size === 0xffffffff ? Infinity : size;
      this.buf = b.subarray(8);
      return;
    }
    if (size > 1 << 20) throw new PluginError("INVALID_INPUT", `WAV chunk "${id(0)}" of ${size} bytes before the data chunk`);
    const padded = 8 + size + (size & 1);
    if (b.length < padded) return;
    if (id(0) === "fmt ") {
      const format = v.getUint16(8, true);
      const channels = v.getUint16(10, true);
      const sampleRate = v.getUint32(12, true);
      const bits = v.getUint16(22, true);
      if (format !== 1 || bits !== 16) throw new PluginError("INVALID_INPUT", `WAV format ${format} with ${bits}-bit samples; expected 16-bit PCM (format 1)`);
      if (channels !== 1 && channels !== 2) throw new PluginError("INVALID_INPUT", `WAV with ${channels} channels; expected 1 or 2`);
      this.format = { channels, sampleRate, bits };
    }
    this.buf = b.subarray(padded);
    return this.#header();
  }
}

/** Splits interleaved 16-bit PCM into per-channel Float32Arrays in -1..1. */
export function deinterleave(pcm, channels) {
  const frames = pcm.length / (2 * channels);
  const v = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let i = 0; i < frames; i++) for (let c = 0; c < channels; c++) out[c][i] = v.getInt16((i * channels + c) * 2, true) / 32768;
  return out;
}

/**
 * The plugin handler (see lib/sdk.mjs `runPlugin`).
 * @param {(mime: "audio/mpeg") => Promise<{configure(p: object): void, encode(s: Float32Array[]): Uint8Array, finalize(): Uint8Array}>} createEncoder
 *   creates a wasm-media-encoders encoder (host-specific loading)
 */
export function mp3Handler(createEncoder) {
  return async ({ config, input, write }) => {
    const bitrate = Number(config.bitrate ?? 96);
    const wav = new WavReader();
    // Load LAME while the first audio is still being made upstream.
    const loading = createEncoder("audio/mpeg");
    loading.catch(() => {});
    let encoder = null;
    for await (const chunk of input) {
      const pcm = wav.push(chunk);
      if (!encoder && wav.format) {
        encoder = await loading;
        try {
          encoder.configure({ sampleRate: wav.format.sampleRate, channels: wav.format.channels, bitrate });
        } catch (e) {
          throw new PluginError("INVALID_INPUT", `LAME refused the stream: ${e.message}`);
        }
      }
      if (pcm.length > 0) {
        const mp3 = encoder.encode(deinterleave(pcm, wav.format.channels));
        if (mp3.length > 0) await write(mp3.slice()); // the encoder owns its buffer: copy
      }
    }
    wav.end();
    const tail = encoder.finalize();
    if (tail.length > 0) await write(tail.slice());
  };
}

// The `speak` plugin's logic, shared by the process entry (speak.mjs) and the browser worker:
// text/plain in, audio/wav out, synthesised with eSpeak NG compiled to WebAssembly (npm
// `espeak-ng`, GPL-3.0-or-later, loaded only when this plugin runs).
//
// Streaming: the text is cut into utterances at sentence ends (the first sentence alone, for a
// quick first sound; then about `chunk_chars` characters each), each utterance is synthesised as
// soon as it is complete, and its samples are sent at once. The cuts depend only on the text, so
// the audio is the same however the input frames are cut. The output is one WAV stream: a
// 44-byte header whose RIFF and data sizes are 0xFFFFFFFF (length unknown, as for a pipe),
// then 16-bit mono PCM at 22 050 Hz.

import { PluginError } from "../lib/sdk.mjs";

/** Sample rate eSpeak NG writes, in Hz. */
export const SAMPLE_RATE = 22050;

/**
 * Builds a 44-byte PCM WAV header for 16-bit mono audio of unknown length.
 * @param {number} sampleRate in Hz
 */
export function streamingWavHeader(sampleRate) {
  const h = new Uint8Array(44);
  const v = new DataView(h.buffer);
  const ascii = (at, s) => [...s].forEach((c, i) => (h[at + i] = c.charCodeAt(0)));
  ascii(0, "RIFF");
  v.setUint32(4, 0xffffffff, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRate, true);
  v.setUint32(28, sampleRate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, 0xffffffff, true);
  return h;
}

/**
 * Returns the PCM bytes of a WAV file eSpeak wrote (the payload of its "data" chunk).
 * @param {Uint8Array} wav
 */
function pcmOf(wav) {
  const v = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
  let at = 12;
  while (at + 8 <= wav.length) {
    const id = String.fromCharCode(...wav.subarray(at, at + 4));
    const size = v.getUint32(at + 4, true);
    if (id === "data") return wav.subarray(at + 8, Math.min(wav.length, at + 8 + size));
    at += 8 + size + (size & 1);
  }
  throw new PluginError("INTERNAL", "eSpeak NG wrote a WAV without a data chunk");
}

/** Index just past the first sentence end at or after `from` that is followed by whitespace; -1 if none. */
export function sentenceEnd(text, from) {
  const re = /[.!?;:\u2026]["')\]\u201d\u2019]*\s|\n\s*\n/g;
  re.lastIndex = Math.max(0, from);
  const m = re.exec(text);
  return m ? m.index + m[0].length : -1;
}

/**
 * Cuts the next utterance off `text` (starting at 0), or returns -1 when more text is needed.
 * @param {string} text pending text
 * @param {number} target utterance length to aim for, in characters (0 = first sentence)
 * @param {boolean} final no more text will come
 */
export function nextCut(text, target, final) {
  // An utterance never exceeds `hard` characters; a sentence end beyond it does not count, so
  // the cut is the same whether the text arrived at once or in pieces.
  const hard = Math.max(target * 4, 2000);
  const end = sentenceEnd(text, target);
  if (end > 0 && end <= hard) return end;
  if (text.length > hard) {
    const space = text.lastIndexOf(" ", hard);
    return space > 0 ? space + 1 : hard;
  }
  return final && text.length > 0 ? text.length : -1;
}

/**
 * Creates the synthesiser: one eSpeak NG run per utterance, sharing one compiled module.
 * @param {() => Promise<{ESpeakNg: Function, module: WebAssembly.Module}>} load
 *   imports `espeak-ng` and compiles its wasm (host-specific)
 */
export function createSynth(load) {
  let loaded = null;
  const ensure = () =>
    (loaded ??= load().catch((e) => {
      throw new PluginError("DEPENDENCY_MISSING", `eSpeak NG (npm espeak-ng, an optional peer dependency: npm install espeak-ng) could not be loaded: ${e.message}`);
    }));
  const synth = async (text, { voice, rate, pitch }) => {
    const { ESpeakNg, module } = await ensure();
    const errors = [];
    const es = await ESpeakNg({
      arguments: ["-v", voice, "-s", String(rate), "-p", String(pitch), "-w", "/out.wav", "-f", "/in.txt"],
      preRun: [(m) => m.FS.writeFile("/in.txt", text)],
      instantiateWasm(imports, receive) {
        WebAssembly.instantiate(module, imports).then((instance) => receive(instance));
        return {};
      },
      print: () => {},
      printErr: (s) => errors.push(s),
    });
    let wav;
    try {
      wav = es.FS.readFile("/out.wav");
    } catch {
      const why = errors.find((e) => !e.startsWith("program exited")) ?? "no output";
      throw new PluginError(/voice/i.test(why) ? "INVALID_CONFIG" : "INTERNAL", `eSpeak NG: ${why} (voice "${voice}")`);
    }
    return pcmOf(wav);
  };
  /** Starts loading eSpeak NG now (it takes a while: 18 MB of wasm), before any text arrives. */
  synth.preload = () => void ensure().catch(() => {});
  return synth;
}

/**
 * The plugin handler (see lib/sdk.mjs `runPlugin`).
 * @param {ReturnType<typeof createSynth>} synth
 */
export function speakHandler(synth) {
  return async ({ config, input, write }) => {
    synth.preload?.();
    const voice = String(config.voice ?? "en-us");
    if (!/^[A-Za-z0-9_+-]{1,40}$/.test(voice)) throw new PluginError("INVALID_CONFIG", `voice "${voice}" is not a voice name`);
    const opts = { voice, rate: Number(config.rate ?? 175), pitch: Number(config.pitch ?? 50) };
    const chunkChars = Number(config.chunk_chars ?? 600);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    let pending = "";
    let headerSent = false;
    let target = 0; // the first utterance is the first sentence
    const emit = async (text) => {
      if (!headerSent) {
        await write(streamingWavHeader(SAMPLE_RATE));
        headerSent = true;
      }
      if (text.trim().length === 0) return;
      await write(await synth(text, opts));
      target = chunkChars;
    };
    const drain = async (final) => {
      for (;;) {
        const cut = nextCut(pending, target, final);
        if (cut < 0) return;
        const utterance = pending.slice(0, cut);
        pending = pending.slice(cut);
        await emit(utterance);
        if (pending.length === 0) return;
      }
    };
    try {
      for await (const chunk of input) {
        pending += decoder.decode(chunk, { stream: true });
        await drain(false);
      }
      pending += decoder.decode();
    } catch (e) {
      if (e instanceof TypeError) throw new PluginError("INVALID_INPUT", "input is not valid UTF-8");
      throw e;
    }
    await drain(true);
    if (!headerSent) await write(streamingWavHeader(SAMPLE_RATE)); // empty text: an empty WAV stream
  };
}

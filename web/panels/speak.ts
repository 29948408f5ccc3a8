/**
 * The playground's speak panel: type text, hear it. Runs normalize → speak → mp3 in Web Workers
 * (see ./speak-pipeline.ts) and plays the MP3 while it is produced (Media Source Extensions when
 * the browser takes `audio/mpeg`, otherwise once it is complete).
 * @module
 */
import { browserRunners } from "../../src/pipeline/browser.js";
import { iterateStream, type PipelineRun } from "../../src/pipeline/executor.js";
import { browserPlugins, speakToMp3 } from "./speak-pipeline.js";

const VOICES = ["en-us", "en-gb", "en-gb-scotland", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "fi"];
const SAMPLE =
  "On March 3rd, 1998, Dr. Eleanor Vance opened a small bookshop on Main St. She paid $12,500 for the lease, and by the end of the first year the shop held more than 4,000 books.";

/**
 * Plays MP3 chunks as they arrive through Media Source Extensions (playback starts with the
 * first chunk); resolves when all are appended.
 */
async function playStreaming(audio: HTMLAudioElement, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  const ms = new MediaSource();
  audio.src = URL.createObjectURL(ms);
  await new Promise((r) => ms.addEventListener("sourceopen", r, { once: true }));
  const sb = ms.addSourceBuffer("audio/mpeg");
  const appended = () => new Promise((r) => sb.addEventListener("updateend", r, { once: true }));
  let first = true;
  for await (const chunk of chunks) {
    sb.appendBuffer(chunk as Uint8Array<ArrayBuffer>);
    await appended();
    if (first) {
      first = false;
      void audio.play().catch(() => {});
    }
  }
  ms.endOfStream();
}

/**
 * Builds the panel inside `el`: a text area, voice and rate, Speak/Stop, a status line and an
 * audio player.
 */
export function mountSpeakPanel(el: HTMLElement): void {
  el.innerHTML = `
<section class="clawft-speak">
  <h2>Speak</h2>
  <textarea rows="5" cols="70" aria-label="Text to speak"></textarea>
  <div>
    <label>Voice <select name="voice">${VOICES.map((v) => `<option>${v}</option>`).join("")}</select></label>
    <label>Rate <input name="rate" type="range" min="80" max="450" value="175"> <output>175</output> wpm</label>
  </div>
  <div><button name="speak">Speak</button> <button name="stop" disabled>Stop</button></div>
  <p class="status" role="status"></p>
  <audio controls></audio>
</section>`;
  const q = <T extends Element>(s: string) => el.querySelector(s) as T;
  const text = q<HTMLTextAreaElement>("textarea");
  const voice = q<HTMLSelectElement>("select[name=voice]");
  const rate = q<HTMLInputElement>("input[name=rate]");
  const rateOut = q<HTMLOutputElement>("output");
  const speak = q<HTMLButtonElement>("button[name=speak]");
  const stop = q<HTMLButtonElement>("button[name=stop]");
  const status = q<HTMLParagraphElement>(".status");
  const audio = q<HTMLAudioElement>("audio");
  text.value = SAMPLE;
  rate.addEventListener("input", () => (rateOut.value = rate.value));

  const plugins = browserPlugins({
    normalizeWasm: new URL("../../build/normalize.wasm", import.meta.url).href,
    worker: new URL("../../workers/pipeline.worker.ts", import.meta.url).href,
  });
  // A literal `new Worker(new URL(…))`: the form bundlers recognise and bundle.
  const runners = browserRunners({ createWorker: () => new Worker(new URL("../../workers/pipeline.worker.ts", import.meta.url), { type: "module" }) });
  let current: PipelineRun | null = null;

  speak.addEventListener("click", async () => {
    current?.cancel("replaced");
    const t0 = performance.now();
    let firstMs = 0;
    let bytes = 0;
    speak.disabled = true;
    stop.disabled = false;
    status.textContent = "starting…";
    let run: PipelineRun;
    try {
      run = speakToMp3(text.value, { voice: voice.value, rate: Number(rate.value) }, plugins, runners);
    } catch (e) {
      status.textContent = (e as Error).message;
      speak.disabled = false;
      stop.disabled = true;
      return;
    }
    current = run;
    const counted = (async function* () {
      for await (const c of iterateStream(run.output)) {
        bytes += c.length;
        if (!firstMs) firstMs = performance.now() - t0;
        status.textContent = `first audio after ${Math.round(firstMs)} ms; ${(bytes / 1024).toFixed(0)} KiB so far…`;
        yield c;
      }
    })();
    try {
      if (typeof MediaSource !== "undefined" && MediaSource.isTypeSupported("audio/mpeg")) {
        await playStreaming(audio, counted);
      } else {
        const parts: Uint8Array[] = [];
        for await (const c of counted) parts.push(c);
        audio.src = URL.createObjectURL(new Blob(parts as BlobPart[], { type: "audio/mpeg" }));
        void audio.play().catch(() => {});
      }
      const summary = await run.done;
      status.textContent = `done: ${(bytes / 1024).toFixed(0)} KiB MP3 in ${((performance.now() - t0) / 1000).toFixed(2)} s, first audio after ${Math.round(firstMs)} ms${summary.warnings.length ? ` (${summary.warnings.map((w) => w.message).join("; ")})` : ""}`;
    } catch (e) {
      const err = e as { code?: string; message: string };
      status.textContent = err.code === "CANCELLED" ? "stopped" : `failed: ${err.message}`;
    } finally {
      if (current === run) current = null;
      speak.disabled = false;
      stop.disabled = true;
    }
  });
  stop.addEventListener("click", () => current?.cancel("stopped by the user"));
}

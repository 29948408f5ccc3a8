/**
 * End to end on real text: normalize (WASI) → speak (eSpeak NG wasm) → mp3 (LAME wasm), decoded by
 * a real MP3 decoder (mpg123, Debian package, installed by .ci/run), through the executor and
 * through the daemon's API while the job streams.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { iterateStream } from "../../src/pipeline/executor.js";
import { loadDaemonConfig, startDaemon, type Daemon } from "../../src/pipeline/node/daemon.js";
import { PipelineHost } from "../../src/pipeline/node/host.js";
import { childProcesses, collect, decodeWithMpg123, PLUGINS, ROOT, wavSeconds } from "./helpers.js";

export const PARAGRAPH = `The lighthouse on Gull Rock was built in 1874, and for 112 years a keeper climbed its 97 steps every evening.
Dr. Margaret Hale, who kept the light from 1951 to 1986, wrote that the lamp burned 3.5 litres of oil a night.
On Jan. 14th, 1962, a storm pushed waves over the gallery, 40 metres above the sea; she kept the lamp lit until dawn.
Today the tower is automatic, but visitors still climb the stairs, read her log, and look out at the 12 miles of coast she watched.`;

const MP3_CR = `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "normalize"\n[[nodes]]\nplugin = "speak"\n[[nodes]]\nplugin = "mp3"\noptions = { bitrate = 64 }\n`;
const WAV_CR = `[input]\ntype = "text/plain"\n[[nodes]]\nplugin = "normalize"\n[[nodes]]\nplugin = "speak"\n`;

let dir: string;
let host: PipelineHost;
let speechSeconds = 0;

const decodeMp3 = (mp3: Uint8Array) => decodeWithMpg123(mp3, dir);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawft-e2e-"));
  host = await PipelineHost.open({ pluginDirs: [PLUGINS], cacheFile: null });
  const wav = await collect(host.run(await host.prepare(WAV_CR), PARAGRAPH));
  speechSeconds = wavSeconds(wav);
});

describe("text → normalize → speak → mp3", () => {
  it("speaks the paragraph: about 30 s of 22 050 Hz mono 16-bit audio", () => {
    // ~110 words at 175 words per minute, plus pauses.
    expect(speechSeconds).toBeGreaterThan(20);
    expect(speechSeconds).toBeLessThan(60);
  });

  it("produces an MP3 that mpg123 decodes, as long as the speech", async () => {
    const mp3 = await collect(host.run(await host.prepare(MP3_CR), PARAGRAPH));
    const { seconds } = await decodeMp3(mp3);
    // LAME adds an encoder delay and pads the last frame: at most a few frames of 1152 samples.
    expect(Math.abs(seconds - speechSeconds)).toBeLessThan(0.25);
    // 64 kbit/s: the size follows the duration.
    expect(mp3.length).toBeGreaterThan(speechSeconds * 7000);
    expect(mp3.length).toBeLessThan(speechSeconds * 9000);
    expect(childProcesses()).toEqual([]);
  });

  it("passes through the Python plugin (example-python) and stays decodable", async () => {
    const cr = MP3_CR.replace('[[nodes]]\nplugin = "mp3"', '[[nodes]]\nplugin = "example-python"\noptions = { gain_db = -6.0 }\n[[nodes]]\nplugin = "mp3"');
    const p = await host.prepare(cr);
    expect(p.nodes.map((n) => n.plugin.id)).toEqual(["normalize", "speak", "example-python", "mp3"]);
    const { seconds } = await decodeMp3(await collect(host.run(p, PARAGRAPH)));
    expect(Math.abs(seconds - speechSeconds)).toBeLessThan(0.25);
  });
});

describe("the same through the daemon's API, while streaming", () => {
  let daemon: Daemon;
  let base: string;
  beforeAll(async () => {
    const config = await loadDaemonConfig(undefined, { server: { port: 0 }, plugins: { dirs: [PLUGINS], verify: true } });
    daemon = await startDaemon({ ...config, plugins: { ...config.plugins, cache_file: join(dir, "verify.json") } });
    base = `http://127.0.0.1:${daemon.port}`;
  });
  afterAll(async () => {
    await daemon.close();
  });

  it("streams the MP3 while the job runs, and the whole stream decodes to the speech's length", async () => {
    // Four paragraphs: long enough that the first bytes arrive well before the job ends.
    const text = Array(4).fill(PARAGRAPH).join("\n\n");
    const res = await fetch(`${base}/pipeline/run`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ orchestration: MP3_CR, input: text }) });
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    const stream = await fetch(`${base}/jobs/${job_id}/stream`);
    expect(stream.headers.get("content-type")).toBe("audio/mpeg");
    const parts: Uint8Array[] = [];
    let statusAtFirstByte = "";
    for await (const chunk of iterateStream(stream.body!)) {
      if (parts.length === 0) statusAtFirstByte = ((await (await fetch(`${base}/jobs/${job_id}/status`)).json()) as { status: string }).status;
      parts.push(chunk);
    }
    expect(statusAtFirstByte).toBe("running");
    const status = (await (await fetch(`${base}/jobs/${job_id}/status`)).json()) as { status: string; output_bytes: number; progress: { nodes: Array<{ state: string }> } };
    expect(status.status).toBe("done");
    const mp3 = new Uint8Array(Buffer.concat(parts));
    expect(status.output_bytes).toBe(mp3.length);
    expect(status.progress.nodes.map((n) => n.state)).toEqual(["done", "done", "done"]);
    const { seconds } = await decodeMp3(mp3);
    // Four times the paragraph (paragraph pauses differ a little).
    expect(Math.abs(seconds - 4 * speechSeconds)).toBeLessThan(4);
    // A second reader replays the finished job from the start.
    const again = new Uint8Array(await (await fetch(`${base}/jobs/${job_id}/stream`)).arrayBuffer());
    expect(Buffer.compare(again, mp3)).toBe(0);
  });
});

describe("the CLI", () => {
  it("reads stdin and writes stdout: clawft pipeline run x.cr - --output -", async () => {
    await writeFile(join(dir, "speak.cr"), MP3_CR);
    const mp3 = execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/index.ts"), "pipeline", "run", join(dir, "speak.cr"), "-", "--output", "-", "--plugins", PLUGINS, "--no-verify"], {
      input: PARAGRAPH,
      maxBuffer: 64 * 1024 * 1024,
      cwd: ROOT,
      env: { ...process.env, XDG_CACHE_HOME: dir },
    });
    const { seconds } = await decodeMp3(new Uint8Array(mp3));
    expect(Math.abs(seconds - speechSeconds)).toBeLessThan(0.25);
  });
});

/**
 * The browser path, in Node: the panel's pipeline (web/panels/speak-pipeline.ts) with the browser
 * runners (src/pipeline/browser.ts) and the Web Worker entry (workers/pipeline.worker.ts) run in
 * worker threads shaped like Web Workers. What only a real browser can show (Media Source
 * playback, bundling) is for the playground's Chromium tests.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { browserRunners } from "../../src/pipeline/browser.js";
import { executePipeline } from "../../src/pipeline/executor.js";
import { nodeWorker } from "../../src/pipeline/node/runners.js";
import { browserPlugins, speakToMp3 } from "../../web/panels/speak-pipeline.js";
import { collect, decodeWithMpg123, pipelineOf, ROOT } from "./helpers.js";

const workerEntry = new URL("../../workers/pipeline.worker.ts", import.meta.url);
const plugins = browserPlugins({ normalizeWasm: new URL("../../build/normalize.wasm", import.meta.url).href, worker: workerEntry.href });
const compile = async (url: string) => WebAssembly.compile(await readFile(new URL(url)));
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "clawft-browser-"));
});

describe("browser runners and the pipeline worker", () => {
  it("speaks text to a decodable MP3 with every plugin in a worker", async () => {
    const runners = browserRunners({ createWorker: () => nodeWorker(workerEntry), compile });
    const mp3 = await collect(speakToMp3("Hello from the browser pipeline. It has 3 workers.", { voice: "en-us", rate: 175 }, plugins, runners));
    const { seconds } = await decodeWithMpg123(mp3, dir);
    expect(seconds).toBeGreaterThan(2);
    expect(seconds).toBeLessThan(8);
  });

  it("runs the WASI plugin the same with and without shared memory (streaming vs collected stdin)", async () => {
    const text = "Dr. Who met 3 friends on Jan. 2nd, 1999 at 10:30. ".repeat(50);
    const out = async (sharedMemory: boolean) => {
      const runners = browserRunners({ createWorker: () => nodeWorker(workerEntry), compile, sharedMemory });
      const run = executePipeline(pipelineOf([{ plugin: plugins.get("normalize")! }]), text, { runners });
      return new TextDecoder().decode(await collect(run));
    };
    const streamed = await out(true);
    expect(streamed).toMatch(/^Doctor Who met three friends on January second, nineteen ninety-nine at ten thirty\. /);
    expect(await out(false)).toBe(streamed);
  });

  it("refuses options the manifest does not allow, before starting a worker", () => {
    const runners = browserRunners({ createWorker: () => nodeWorker(workerEntry), compile });
    expect(() => speakToMp3("x", { voice: "en-us", rate: 9000 }, plugins, runners)).toThrow(/node "speak": option "rate" = 9000/);
  });

  it("imports no Node module from the browser side (panel, worker entry, executor, runners)", async () => {
    // Walk the imports from the browser entry points (the worker's test-only fallback names
    // node:fs through a variable, which a bundler leaves alone and a browser never reaches).
    const seen = new Set<string>();
    const nodeImports: string[] = [];
    const walk = async (file: string): Promise<void> => {
      if (seen.has(file)) return;
      seen.add(file);
      const src = await readFile(file, "utf8");
      for (const m of src.matchAll(/(?:import|export)\s[^;]*?from\s+["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g)) {
        const spec = m[1] ?? m[2]!;
        if (spec.startsWith("node:") || ["fs", "path", "child_process", "worker_threads", "crypto", "os"].includes(spec)) nodeImports.push(`${file}: ${spec}`);
        if (spec.startsWith(".") && !spec.includes("?")) {
          let target = resolve(dirname(file), spec);
          if (target.endsWith(".js")) target = target.replace(/\.js$/, ".ts");
          await walk(target);
        }
      }
    };
    for (const entry of ["web/panels/speak.ts", "workers/pipeline.worker.ts", "src/pipeline/index.ts", "src/pipeline/browser.ts"]) await walk(join(ROOT, entry));
    expect(seen.size).toBeGreaterThan(10);
    expect(nodeImports).toEqual([]);
    expect([...seen].some((f) => f.includes("/node/"))).toBe(false);
  });
});

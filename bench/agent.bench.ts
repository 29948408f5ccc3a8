/**
 * `npm run bench -- agent [--runs N] [--memories N] [--queries N]`: clawft.wasm, the WASI agent,
 * in its two hosts — the Wasmtime engine (Python `wasmtime`, test/hosts/agent_wasmtime.py, the
 * tests' host) and Node (jco + preview2-shim: `clawft agent`, src/agent).
 *
 * 1. Startup to the first byte of `version`: whole processes, and inside one process (Wasmtime:
 *    compile from its cache, instantiate, run; Node: import the jco module, run). Each against
 *    the same host running an empty WASI 0.2 command component (made here, built like
 *    clawft.wasm with jco's preview1 command adapter), so "ours" is what clawft.wasm adds.
 * 2. Startup to the first byte of a streamed chat turn against a local scripted server.
 * 3. Peak RSS (VmHWM) of an idle agent, `chat` waiting on stdin, against the host process
 *    with the empty component waiting on stdin.
 * 4. Memory search: `memory search --stdin` over 10,000 texts (384-dimension hashed n-gram
 *    embeddings, HNSW M 16 / efConstruction 200, k 10, the ef clawft's snapshot records)
 *    inside clawft.wasm, against the HNSW core module alone (src/hnsw) loading clawft's own
 *    snapshot and searching the same query vectors: the ratio is what the agent's glue costs
 *    (embedding the query, printing the hits, the host's stdio).
 * Medians of `--runs` runs (default 15), interleaved so load on the shared machine hits all alike.
 */
import { fork, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { PassThrough } from "node:stream";
import binaryen from "binaryen";
import { componentNew } from "@bytecodealliance/jco-transpile/wasm-tools";
import { transpileBytes, writeFiles } from "@bytecodealliance/jco-transpile";
import { loadIndex } from "../src/hnsw/index.js";
import { runAgent } from "../src/agent/index.js";
import { python, wasmtimeUnavailable } from "../test/helpers/wasmtime.js";
import { startLlmServer } from "../test/helpers/llm-server.js";
import { median, fmt, table } from "./util.js";

const root = fileURLToPath(new URL("../", import.meta.url));
const hostScript = join(root, "test/hosts/agent_wasmtime.py");
const phasesScript = join(root, "bench/agent_wasmtime_phases.py");
const clawftWasm = join(root, "build/clawft.wasm");
const clawftJco = new URL("../build/jco/clawft/clawft.js", import.meta.url);
const cli = join(root, "dist/cli/index.js");
const benchDir = join(root, "build/bench");

/** What one timed process did: ms to its first stdout byte (if any) and to its exit. */
interface Timed {
  first: number;
  exit: number;
  code: number;
  stdout: string;
}

/** Runs a process to its end, feeding `stdin`; times its first stdout byte and its exit. */
function timed(cmd: string, args: string[], stdin = "", env?: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    let first = NaN;
    const out: Buffer[] = [];
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "inherit"], env: env ?? process.env });
    p.stdout.on("data", (b: Buffer) => {
      if (Number.isNaN(first)) first = performance.now() - t0;
      out.push(b);
    });
    p.stdin.on("error", () => {});
    p.stdin.end(stdin);
    p.once("error", fail);
    p.once("close", (code) => done({ first, exit: performance.now() - t0, code: code ?? -1, stdout: Buffer.concat(out).toString() }));
  });
}

/** The Python Wasmtime host's command line for component `wasm` with `home` preopened. */
const wasmtimeArgs = (wasm: string, home: string, args: string[]) => [hostScript, "--wasm", wasm, "--dir", `${home}::${home}`, "--env", `CLAWFT_HOME=${home}`, "--", ...args];

/**
 * The baseline: an empty WASI 0.2 command component (a core module whose `_start` reads stdin
 * once, so it can also wait idle, then exits 0 as AssemblyScript's wasi-shim does), adapted by
 * jco's preview1 command adapter exactly as clawft.wasm is, and transpiled by jco.
 */
async function emptyComponent(): Promise<{ wasm: string; jco: URL }> {
  const wat = `(module
    (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
    (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
    (memory (export "memory") 1)
    (global $top (mut i32) (i32.const 1024))
    ;; a bump allocator: the adapter allocates its state through cabi_realloc (toolchain.md)
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32) (local $end i32)
      (local.set $p (i32.and (i32.add (global.get $top) (i32.sub (local.get 2) (i32.const 1))) (i32.sub (i32.const 0) (local.get 2))))
      (local.set $end (i32.add (local.get $p) (local.get 3)))
      (if (i32.gt_u (local.get $end) (i32.shl (memory.size) (i32.const 16)))
        (then (drop (memory.grow (i32.shr_u (i32.add (i32.sub (local.get $end) (i32.shl (memory.size) (i32.const 16))) (i32.const 65535)) (i32.const 16))))))
      (global.set $top (local.get $end))
      (local.get $p))
    (func (export "_start")
      (i32.store (i32.const 0) (i32.const 64))
      (i32.store (i32.const 4) (i32.const 512))
      (drop (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (call $proc_exit (i32.const 0))))`;
  const mod = binaryen.parseText(wat);
  mod.setFeatures(binaryen.Features.MVP | binaryen.Features.BulkMemory);
  if (!mod.validate()) throw new Error("the empty component's core module does not validate");
  const core = mod.emitBinary();
  mod.dispose();
  const adapter = await readFile(join(root, "node_modules/@bytecodealliance/jco/lib/wasi_snapshot_preview1.command.wasm"));
  const component = await componentNew(core, [["wasi_snapshot_preview1", adapter]]);
  const outDir = join(benchDir, "jco/empty");
  await mkdir(outDir, { recursive: true });
  const wasm = join(benchDir, "empty.wasm");
  await writeFile(wasm, component);
  const { files } = await transpileBytes(component, { name: "empty", outDir });
  await writeFiles(files);
  return { wasm, jco: pathToFileURL(join(outDir, "empty.js")) };
}

/** Runs bench/agent_wasmtime_phases.py: per-run phase times of the Wasmtime host inside one process. */
function wasmtimePhases(runs: number, wasm: string, home: string, args: string[]): Promise<Array<{ compile: number; instantiate: number; total: number; code: number }>> {
  return timed(python, [phasesScript, String(runs), ...wasmtimeArgs(wasm, home, args).slice(1)]).then((t) => {
    if (t.code !== 0) throw new Error(`agent_wasmtime_phases.py exited ${t.code}`);
    return (JSON.parse(t.stdout) as { runs: Array<{ compile: number; instantiate: number; total: number; code: number }> }).runs;
  });
}

/** Runs bench/agent-jco.mjs: per-run times of a jco component imported afresh and run, inside one Node process. */
function jcoInProcess(runs: number, module: URL, home: string, args: string[]): Promise<Array<{ load: number; run: number; code: number }>> {
  return new Promise((done, fail) => {
    const spec = { module: module.href, args: ["clawft.wasm", ...args], env: { CLAWFT_HOME: home }, preopens: { [home]: home } };
    const child = fork(join(root, "bench/agent-jco.mjs"), [JSON.stringify(spec), String(runs)], { execArgv: [], stdio: ["ignore", "ignore", "inherit", "ipc"] });
    child.once("message", (m) => done(m as Array<{ load: number; run: number; code: number }>));
    child.once("error", fail);
    child.once("exit", (code) => code && fail(new Error(`agent-jco.mjs exited ${code}`)));
  });
}

/** Peak resident set (VmHWM, KiB) of a process once it waits idle on stdin: read when it has not grown for 500 ms. */
function idlePeakKiB(cmd: string, args: string[]): Promise<number> {
  return new Promise((done, fail) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "ignore", "inherit"] });
    p.once("error", fail);
    let last = -1;
    let steady = 0;
    const timer = setInterval(async () => {
      const status = await readFile(`/proc/${p.pid}/status`, "utf8").catch(() => "");
      const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      if (Number.isNaN(hwm)) return;
      steady = hwm === last ? steady + 1 : 0;
      last = hwm;
      if (steady < 10) return;
      clearInterval(timer);
      p.once("close", () => done(hwm));
      p.stdin.end();
    }, 50);
  });
}

/** A seeded PRNG (mulberry32): the same texts on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` memory texts of 6–14 words and `q` queries, each 3–5 words of one memory plus one other
 * word: words of 2–3 syllables from a 3,000-word vocabulary, drawn with a Zipf-like skew.
 */
function corpus(n: number, q: number): { texts: string[]; queries: string[] } {
  const rnd = prng(384);
  const syl = "ka lo mi ne ru sa te vo pi da gu fe ho ji la mu no pe ri so ta ve wi za bo ce di fo ga he".split(" ");
  const vocab = Array.from({ length: 3000 }, () => Array.from({ length: 2 + Math.floor(rnd() * 2) }, () => syl[Math.floor(rnd() * syl.length)]).join(""));
  const word = () => vocab[Math.floor(vocab.length * rnd() ** 2)]!;
  const texts = Array.from({ length: n }, () => Array.from({ length: 6 + Math.floor(rnd() * 9) }, word).join(" "));
  const queries = Array.from({ length: q }, () => {
    const words = texts[Math.floor(rnd() * n)]!.split(" ");
    const start = Math.floor(rnd() * Math.max(1, words.length - 4));
    return [...words.slice(start, start + 3 + Math.floor(rnd() * 3)), word()].join(" ");
  });
  return { texts, queries };
}

/** Runs clawft.wasm in Node (src/agent's runAgent) and returns its stdout; throws on a non-zero exit. */
async function nodeAgent(args: string[], home: string, stdin: string): Promise<string> {
  const stdout = new PassThrough();
  const out: Buffer[] = [];
  stdout.on("data", (b: Buffer) => out.push(b));
  const code = await runAgent(args, { home, env: { CLAWFT_HOME: home }, stdin, stdout });
  if (code !== 0) throw new Error(`clawft.wasm ${args.join(" ")} exited ${code} in Node`);
  return Buffer.concat(out).toString();
}

/** Runs clawft.wasm in Wasmtime and returns its stdout; throws on a non-zero exit. */
async function wasmtimeAgent(args: string[], home: string, stdin: string): Promise<string> {
  const t = await timed(python, wasmtimeArgs(clawftWasm, home, args), stdin);
  if (t.code !== 0) throw new Error(`clawft.wasm ${args.join(" ")} exited ${t.code} in Wasmtime`);
  return t.stdout;
}

const ms = (x: number) => fmt(x, 1);

export default async function agentBench(): Promise<void> {
  const { values: o } = parseArgs({
    args: process.argv.slice(2),
    strict: false,
    allowPositionals: true,
    options: { runs: { type: "string", default: "15" }, memories: { type: "string", default: "10000" }, queries: { type: "string", default: "500" } },
  });
  const runs = Number(o.runs);
  const why = (await wasmtimeUnavailable()) ?? (existsSync(clawftWasm) && existsSync(fileURLToPath(clawftJco)) ? undefined : "build/clawft.wasm is not built (node scripts/build.mjs --only clawft)");
  if (why) {
    console.log(`skipped: ${why}`);
    return;
  }
  const cliWhy = existsSync(cli) ? undefined : "dist/ is not built (npx tsc -p tsconfig.build.json)";
  const empty = await emptyComponent();
  const home = await mkdtemp(join(tmpdir(), "clawft-bench-"));
  const llm = await startLlmServer();
  try {
    await writeFile(join(home, "config.json"), JSON.stringify({ agents: { defaults: { model: "openai/bench" } }, providers: { openai: { apiKey: "sk-bench", apiBase: llm.apiBase } } }));
    const cliEnv = { ...process.env, CLAWFT_HOME: home };

    // 1. Startup to the first byte of `version`, whole processes, interleaved.
    const proc = { wt: [] as Timed[], wtEmpty: [] as Timed[], cli: [] as Timed[], node: [] as Timed[] };
    for (let i = 0; i < runs + 1; i++) {
      const round = {
        wt: await timed(python, wasmtimeArgs(clawftWasm, home, ["version"])),
        wtEmpty: await timed(python, wasmtimeArgs(empty.wasm, home, [])),
        cli: cliWhy ? undefined : await timed(process.execPath, [cli, "agent", "version"], "", cliEnv),
        node: await timed(process.execPath, ["-e", ""]),
      };
      if (round.wt.code !== 0 || round.wtEmpty.code !== 0 || (round.cli && round.cli.code !== 0)) throw new Error("a startup run failed");
      if (i === 0) continue; // warm-up: Wasmtime's compilation cache, the page cache
      proc.wt.push(round.wt);
      proc.wtEmpty.push(round.wtEmpty);
      if (round.cli) proc.cli.push(round.cli);
      proc.node.push(round.node);
    }
    const med = (xs: Timed[], k: "first" | "exit") => median(xs.map((x) => x[k]));
    // Inside one process.
    const phases = await wasmtimePhases(runs + 1, clawftWasm, home, ["version"]);
    const phasesEmpty = await wasmtimePhases(runs + 1, empty.wasm, home, []);
    const jco = await jcoInProcess(runs + 1, clawftJco, home, ["version"]);
    const jcoEmpty = await jcoInProcess(runs + 1, empty.jco, home, []);
    const mp = <T>(xs: T[], f: (x: T) => number) => median(xs.slice(1).map(f));

    console.log(`### Startup to the first byte of \`version\` (ms, median of ${runs})\n`);
    table(
      ["host", "clawft.wasm: first byte", "clawft.wasm: exit", "bare host (empty component): exit", "ours (exit − bare)"],
      [
        ["Wasmtime engine (Python), whole process", ms(med(proc.wt, "first")), ms(med(proc.wt, "exit")), ms(med(proc.wtEmpty, "exit")), ms(med(proc.wt, "exit") - med(proc.wtEmpty, "exit"))],
        ["Wasmtime engine, in process: load (compilation cache) + instantiate + run", "", ms(mp(phases, (p) => p.total)), ms(mp(phasesEmpty, (p) => p.total)), ms(mp(phases, (p) => p.total) - mp(phasesEmpty, (p) => p.total))],
        ["  of which load from the compilation cache", "", ms(mp(phases, (p) => p.compile)), ms(mp(phasesEmpty, (p) => p.compile)), ""],
        ["  of which instantiate", "", ms(mp(phases, (p) => p.instantiate)), ms(mp(phasesEmpty, (p) => p.instantiate)), ""],
        ["Node, jco in process: import (compile + instantiate) + run", "", ms(mp(jco, (j) => j.load + j.run)), ms(mp(jcoEmpty, (j) => j.load + j.run)), ms(mp(jco, (j) => j.load + j.run) - mp(jcoEmpty, (j) => j.load + j.run))],
        ["  of which run", "", ms(mp(jco, (j) => j.run)), ms(mp(jcoEmpty, (j) => j.run)), ""],
        cliWhy
          ? ["Node, `clawft agent version` process", `skipped: ${cliWhy}`, "", "", ""]
          : ["Node, `clawft agent version` process (CLI + agent child)", ms(med(proc.cli, "first")), ms(med(proc.cli, "exit")), `${ms(med(proc.node, "exit"))} (\`node -e ""\`)`, ""],
      ],
    );
    console.log("\nThe in-process Wasmtime rows run test/hosts/agent_wasmtime.py's main() repeatedly in one Python process; the first run of each is dropped.\n");

    // 2. First byte of a streamed chat turn.
    llm.script("openai", { reply: "Hello from the local server, streamed in pieces.", chunks: 4, times: Infinity });
    const chat = { wt: [] as Timed[], cli: [] as Timed[] };
    for (let i = 0; i < runs + 1; i++) {
      const wt = await timed(python, wasmtimeArgs(clawftWasm, home, ["chat", "--session", `bench:wt${i}`, "hi"]));
      const c = cliWhy ? undefined : await timed(process.execPath, [cli, "agent", "chat", "--session", `bench:node${i}`, "hi"], "", cliEnv);
      if (wt.code !== 0 || (c && c.code !== 0)) throw new Error("a chat run failed");
      if (i === 0) continue;
      chat.wt.push(wt);
      if (c) chat.cli.push(c);
    }
    console.log(`### First byte of a streamed chat turn against a local server (ms, median of ${runs})\n`);
    table(
      ["host", "first byte", "exit"],
      [
        ["Wasmtime engine (Python), `chat hi`", ms(med(chat.wt, "first")), ms(med(chat.wt, "exit"))],
        cliWhy ? ["Node, `clawft agent chat hi`", `skipped: ${cliWhy}`, ""] : ["Node, `clawft agent chat hi`", ms(med(chat.cli, "first")), ms(med(chat.cli, "exit"))],
      ],
    );

    // 3. Peak RSS of an idle agent.
    const rss = { ours: [] as number[], bare: [] as number[] };
    for (let i = 0; i < Math.min(runs, 5); i++) {
      rss.ours.push(await idlePeakKiB(python, wasmtimeArgs(clawftWasm, home, ["chat", "--session", "bench:idle"])));
      rss.bare.push(await idlePeakKiB(python, wasmtimeArgs(empty.wasm, home, [])));
    }
    const mib = (kib: number) => fmt(kib / 1024, 1);
    console.log(`\n### Peak RSS of an idle agent (\`chat\` waiting on stdin), VmHWM in MiB, median of ${rss.ours.length}\n`);
    table(
      ["process", "VmHWM (MiB)"],
      [
        ["Python + Wasmtime + clawft.wasm `chat`", mib(median(rss.ours))],
        ["Python + Wasmtime + empty component waiting on stdin", mib(median(rss.bare))],
        ["clawft.wasm's own (difference)", mib(median(rss.ours) - median(rss.bare))],
      ],
    );

    // 4. Memory search.
    const n = Number(o.memories);
    const { texts, queries } = corpus(n, Number(o.queries));
    const memHome = join(home, "memory-bench");
    const queryHome = join(home, "memory-queries");
    await mkdir(memHome);
    await mkdir(queryHome);
    const t0 = performance.now();
    await wasmtimeAgent(["memory", "add", "--stdin"], memHome, texts.join("\n") + "\n");
    const addSeconds = (performance.now() - t0) / 1000;
    const qLabels = (await wasmtimeAgent(["memory", "add", "--stdin"], queryHome, queries.join("\n") + "\n")).trimEnd().split("\n").map(Number);
    // The core alone: clawft's own snapshot, and the query vectors clawft computed (the query
    // texts' points in a second memory), so both search the same graph for the same vectors.
    const index = await loadIndex(new Uint8Array(await readFile(join(memHome, "workspace/memory/index.hnsw"))));
    const qIndex = await loadIndex(new Uint8Array(await readFile(join(queryHome, "workspace/memory/index.hnsw"))));
    const qVectors = qLabels.map((label) => qIndex.getPoint(label));
    if (index.stats().size !== n || qVectors.length !== queries.length) throw new Error(`clawft's indexes hold ${index.stats().size} and ${qVectors.length} points, not ${n} and ${queries.length}`);
    // The ef clawft searches with, as its snapshot records it (memory.ts sets it before saving).
    const ef = index.stats().ef;
    const repeat = 4;
    const lines = Array.from({ length: repeat }, () => queries.join("\n")).join("\n") + "\n";
    const searchArgs = ["memory", "search", "-k", "10", "--stdin"];
    const qps = { wt: [] as number[], node: [] as number[], core: [] as number[] };
    let sameTop = 0;
    for (let r = 0; r < Math.max(3, Math.floor(runs / 3)); r++) {
      for (const [host, agent] of [["wt", wasmtimeAgent], ["node", nodeAgent]] as const) {
        const a = performance.now();
        await agent(searchArgs, memHome, queries[0]! + "\n");
        const one = performance.now() - a;
        const b = performance.now();
        const out = await agent(searchArgs, memHome, lines);
        qps[host].push((repeat * queries.length - 1) / ((performance.now() - b - one) / 1000));
        if (r === 0 && host === "wt") {
          const blocks = out.split("\n\n");
          sameTop = queries.filter((_, i) => {
            const ours = blocks[i]!.split("\n").map((l) => Number(l.split("\t")[0]));
            const core = [...index.search(qVectors[i]!, 10, { ef }).labels];
            return ours.join() === core.join();
          }).length;
        }
      }
      const c = performance.now();
      for (let k = 0; k < repeat; k++) for (const v of qVectors) index.search(v, 10, { ef });
      qps.core.push((repeat * queries.length) / ((performance.now() - c) / 1000));
    }
    const core = median(qps.core);
    console.log(`\n### Memory search: ${fmt(n)} texts × ${index.stats().dim} dims, k 10, ef ${ef} (queries/s, median of ${qps.core.length} rounds of ${fmt(repeat * queries.length)} queries)\n`);
    table(
      ["engine", "queries/s", "HNSW core alone ÷ this"],
      [
        ["HNSW core module alone (src/hnsw, wasm SIMD, in process), clawft's snapshot and query vectors", fmt(core), "1.00"],
        ["clawft.wasm `memory search --stdin` in Wasmtime (embed + search + print)", fmt(median(qps.wt)), fmt(core / median(qps.wt), 2)],
        ["clawft.wasm `memory search --stdin` in Node (jco)", fmt(median(qps.node)), fmt(core / median(qps.node), 2)],
      ],
    );
    console.log(
      `\nclawft.wasm's top 10 equal the core's for ${sameTop} of ${queries.length} queries (same graph, same vectors). ` +
        `Building the memory (\`memory add --stdin\`, ${fmt(n)} texts, Wasmtime): ${fmt(addSeconds, 1)} s. ` +
        `Search rate excludes process start (a one-query run is subtracted).`,
    );
  } finally {
    await llm.close();
    await rm(home, { recursive: true, force: true });
  }
}

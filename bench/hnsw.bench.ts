/**
 * `npm run bench -- hnsw [--preset quick|default|full] [--runs N] [--n N --dim D --space S --queries Q]`
 *
 * Builds and queries, in one process on the same generated data (bench/hnsw-data.ts), our
 * index (f32, and quantized: i8, b1 keeping its originals, b1 re-ranking from the caller's
 * vectors), hnswlib-node (native C++ hnswlib), hnswlib-wasm (hnswlib compiled by Emscripten)
 * and a brute-force scan (exact), single-threaded, one query per call as a user calls them.
 * Prints build seconds, queries/s at ef 50, 100, 200, recall@10 against exact ground truth
 * and bytes of memory per vector, then our ratios to each peer and what each of our modes
 * stores per vector. `--quant f32,i8,b1,b1ext` picks our modes (default: all four).
 *
 * Presets: quick = 2,000 × 128 l2; default = 10,000 × 512 l2 and cosine; full = default plus
 * 100,000 × 128 l2 (long: minutes). M = 16, efConstruction = 200, k = 10 throughout.
 */
import { parseArgs } from "node:util";
import { readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { cpus } from "node:os";
import { fileURLToPath, pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";
import { createIndex, type Quantization } from "../src/hnsw/index.js";
import { bruteForce, gaussianMixture, recall, type DataSpace } from "./hnsw-data.js";
import { median } from "./util.js";
import { linePlot, type Point } from "./plot.js";

const M = 16;
const EF_CONSTRUCTION = 200;
const K = 10;
const EFS = [50, 100, 200] as const;
/** Lower ef values measured for the plot only (one pass each). */
const PLOT_EFS = [10, 20] as const;
const SEED = 100;

interface Scenario {
  n: number;
  dim: number;
  space: DataSpace;
  queries: number;
}

/** One library under test: built once per run, then queried one query at a time. */
interface Contender {
  name: string;
  /** Adds every vector, one call per vector. */
  build(data: Float32Array, s: Scenario): Promise<void>;
  /** Labels of the K nearest of query `q` at `ef`, nearest first. */
  query(q: number, ef: number): ArrayLike<number>;
  /** Bytes of memory the built index holds. */
  memory(): number;
  /** Memory measure, for the table's footnote. */
  measure: string;
}

/** Wall and CPU seconds of `fn` (CPU: this process's user + system time, which other load disturbs less). */
async function timed(fn: () => unknown): Promise<{ wall: number; cpu: number }> {
  const c = process.cpuUsage();
  const t = performance.now();
  await fn();
  const used = process.cpuUsage(c);
  return { wall: (performance.now() - t) / 1000, cpu: (used.user + used.system) / 1e6 };
}

/** "cpu / wall" cell. */
const both = (x: { wall: number; cpu: number }, f: (v: number) => string) => `${f(x.cpu)} / ${f(x.wall)}`;
const rows = (data: Float32Array, dim: number) =>
  Array.from({ length: data.length / dim }, (_, i) => data.subarray(i * dim, i * dim + dim));

/** Our modes: a quantization, and for `b1ext` originals read from the caller's matrix. */
const MODES: Record<string, { quantization: Quantization; external: boolean; name: string }> = {
  f32: { quantization: "f32", external: false, name: "clawft f32 (wasm SIMD)" },
  i8: { quantization: "i8", external: false, name: "clawft i8 (rerank 2)" },
  b1: { quantization: "b1", external: false, name: "clawft b1 (rerank 16), originals in index" },
  b1ext: { quantization: "b1", external: true, name: "clawft b1 (rerank 16), originals from caller" },
};

/** What one of our indexes stores per vector, for the bytes table. */
interface Footprint {
  name: string;
  code: number;
  original: number;
  links: number;
  wasm: number;
}
const footprints: Footprint[] = [];

function ours(mode: keyof typeof MODES): (queries: Float32Array[]) => Contender {
  const m = MODES[mode]!;
  return (queries) => {
    let index: Awaited<ReturnType<typeof createIndex>>;
    let n = 0;
    return {
      name: m.name,
      measure: "vectors + links",
      async build(data, s) {
        n = s.n;
        const originals = m.external ? (l: number) => data.subarray(l * s.dim, l * s.dim + s.dim) : undefined;
        index = await createIndex({
          dim: s.dim, space: s.space, M, efConstruction: EF_CONSTRUCTION, maxElements: s.n, seed: SEED,
          quantization: m.quantization, ...(originals ? { originals } : {}),
        });
        for (const [i, v] of rows(data, s.dim).entries()) index.add(v, i);
      },
      query: (q, ef) => index.search(queries[q]!, K, { ef }).labels,
      memory() {
        const st = index.stats();
        const original = m.quantization !== "f32" && st.keepsOriginals ? Math.ceil(st.dim / 8) * 32 : 0;
        const links = st.recordBytes - st.codeBytes - original + st.upperLinkBytes / n;
        footprints.push({ name: m.name, code: st.codeBytes, original, links, wasm: st.memoryBytes / n });
        return st.recordBytes * n + st.upperLinkBytes;
      },
    };
  };
}

async function hnswlibNode(queries: Float32Array[]): Promise<Contender> {
  const mod = await import("hnswlib-node"); // CommonJS: the names hang off `default` under tsx
  const { HierarchicalNSW } = (mod as unknown as { default?: typeof mod }).default ?? mod;
  const plain = queries.map((q) => Array.from(q)); // it takes number[] only; converted untimed
  let index: InstanceType<typeof HierarchicalNSW>;
  let scenario: Scenario;
  return {
    name: "hnswlib-node (native)",
    measure: "RSS growth, own process",
    async build(data, s) {
      const vectors = rows(data, s.dim).map((v) => Array.from(v));
      scenario = s;
      index = new HierarchicalNSW(s.space, s.dim);
      index.initIndex(s.n, M, EF_CONSTRUCTION, SEED);
      for (const [i, v] of vectors.entries()) index.addPoint(v, i);
    },
    query(q, ef) {
      index.setEf(ef);
      return index.searchKnn(plain[q]!, K).neighbors;
    },
    memory() {
      const script = fileURLToPath(new URL("./hnsw-rss.ts", import.meta.url));
      const args = ["--expose-gc", "--import", "tsx", script, String(scenario.n), String(scenario.dim), scenario.space];
      return Number(execFileSync(process.execPath, args, { encoding: "utf8" })) * scenario.n;
    },
  };
}

/** hnswlib-wasm targets browsers only; its Emscripten factory runs in Node with `window` set. */
async function hnswlibWasm(queries: Float32Array[]): Promise<Contender> {
  const dist = join(dirname(createRequire(import.meta.url).resolve("hnswlib-wasm/package.json")), "dist");
  const chunk = (await readdir(dist)).find((f) => /^hnswlib-[0-9a-f]+\.js$/.test(f));
  if (!chunk) throw new Error("hnswlib-wasm's Emscripten chunk not found");
  const factory = (await import(pathToFileURL(join(dist, chunk)).href)).default as () => Promise<any>;
  const g = globalThis as { window?: unknown };
  let lib: any;
  let index: any;
  return {
    name: "hnswlib-wasm (Emscripten)",
    measure: "wasm memory",
    async build(data, s) {
      g.window = globalThis; // a fresh module per build, so its memory is this index's alone
      try {
        lib = await factory();
      } finally {
        delete g.window;
      }
      index = new lib.HierarchicalNSW(s.space, s.dim, "");
      index.initIndex(s.n, M, EF_CONSTRUCTION, SEED);
      for (const [i, v] of rows(data, s.dim).entries()) index.addPoint(v, i, false);
    },
    query(q, ef) {
      index.setEfSearch(ef);
      return index.searchKnn(queries[q]!, K, undefined).neighbors;
    },
    memory: () => lib.HEAPU8.length,
  };
}

async function scenario(s: Scenario, runs: number, modes: (keyof typeof MODES)[]): Promise<void> {
  const { data, queries } = gaussianMixture({ n: s.n, dim: s.dim, queries: s.queries, seed: 7 });
  const qs = rows(queries, s.dim);
  let truth: Uint32Array = new Uint32Array(0);
  const brute = await timed(() => (truth = bruteForce(data, queries, s.dim, K, s.space)));

  const table = [
    `### ${s.n.toLocaleString("en")} × ${s.dim} ${s.space}, ${s.queries.toLocaleString("en")} queries, M ${M}, efConstruction ${EF_CONSTRUCTION}, k ${K}`,
    "",
    "| library | build s (cpu / wall) | q/s ef 50 (cpu / wall) | q/s ef 100 (cpu / wall) | q/s ef 200 (cpu / wall) | recall@10 ef 50 / 100 / 200 | bytes / vector |",
    "|---|---:|---:|---:|---:|---|---:|",
  ];
  // Build each library, then time query passes interleaved across libraries (pass, ef, library),
  // so a busy shared machine slows every library alike.
  const built: { c: Contender; build: { wall: number; cpu: number } }[] = [];
  footprints.length = 0;
  for (const make of [...modes.map(ours), hnswlibNode, hnswlibWasm]) {
    let c: Contender;
    try {
      c = await make(qs);
    } catch (err) {
      table.push(`| ${make.name} | skipped: ${(err as Error).message.split("\n")[0]} | | | | | |`);
      continue;
    }
    const builds: { wall: number; cpu: number }[] = [];
    for (let r = 0; r < runs; r++) builds.push(await timed(() => c.build(data, s)));
    built.push({ c, build: { wall: median(builds.map((b) => b.wall)), cpu: median(builds.map((b) => b.cpu)) } });
  }
  const passes = built.map(() => EFS.map(() => [] as { wall: number; cpu: number }[]));
  const recalls = built.map(() => EFS.map(() => 0));
  for (let pass = 0; pass < 3; pass++) {
    for (const [e, ef] of EFS.entries()) {
      for (const [b, { c }] of built.entries()) {
        const found: ArrayLike<number>[] = [];
        const time = await timed(() => {
          for (let q = 0; q < s.queries; q++) found.push(c.query(q, ef));
        });
        passes[b]![e]!.push({ wall: s.queries / time.wall, cpu: s.queries / time.cpu });
        if (pass === 0) recalls[b]![e] = recall(found, truth, K);
      }
    }
  }
  const qpsOf = (b: number) => passes[b]!.map((p) => ({ wall: median(p.map((x) => x.wall)), cpu: median(p.map((x) => x.cpu)) }));
  const measured = built.map(({ c, build }, b) => ({ name: c.name, build, qps: qpsOf(b) }));
  for (const [b, { c, build }] of built.entries()) {
    table.push(
      `| ${c.name} | ${both(build, (x) => x.toFixed(2))} | ${measured[b]!.qps.map((q) => both(q, (x) => x.toFixed(0))).join(" | ")} | ` +
        `${recalls[b]!.map((x) => x.toFixed(3)).join(" / ")} | ${(c.memory() / s.n).toFixed(0)} (${c.measure}) |`,
    );
  }
  table.push(
    `| brute force (JS, exact) | – | ${Array(3).fill(both({ wall: s.queries / brute.wall, cpu: s.queries / brute.cpu }, (x) => x.toFixed(0))).join(" | ")} | 1.000 | ${s.dim * 4} |`,
  );
  const mine = measured.filter((x) => x.name.startsWith("clawft"));
  const peers = measured.filter((x) => !x.name.startsWith("clawft"));
  if (mine.length > 0 && peers.length > 0) {
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    table.push(
      "",
      "| ours ÷ peer (same run; cpu / wall) | build time | q/s ef 50 | q/s ef 100 | q/s ef 200 |",
      "|---|---:|---:|---:|---:|",
    );
    for (const me of mine) {
      for (const p of peers) {
        table.push(
          `| ${me.name} ÷ ${p.name} | ${ratio(me.build.cpu, p.build.cpu)} / ${ratio(me.build.wall, p.build.wall)} | ` +
            me.qps.map((q, i) => `${ratio(q.cpu, p.qps[i]!.cpu)} / ${ratio(q.wall, p.qps[i]!.wall)}`).join(" | ") +
            " |",
        );
      }
    }
  }
  if (footprints.length > 0) {
    const f32 = s.dim * 4;
    table.push(
      "",
      `| ours: bytes per vector | walk vector (code) | f32 original kept | vector memory ÷ f32 (${f32} B) | links (level 0 + upper) | vectors + links | whole wasm memory |`,
      "|---|---:|---:|---:|---:|---:|---:|",
    );
    for (const f of footprints) {
      table.push(
        `| ${f.name} | ${f.code} | ${f.original} | ${((f.code + f.original) / f32).toFixed(3)}× | ${f.links.toFixed(1)} | ` +
          `${(f.code + f.original + f.links).toFixed(0)} | ${f.wasm.toFixed(0)} |`,
      );
    }
  }
  table.push("", `Builds: median of ${runs}; queries/s: median of 3 passes over all queries, interleaved across libraries. cpu = this process's CPU time (steadier on a shared machine), wall = elapsed time.`, "");
  // Recall against queries/s, one line per library through its ef points, as ann-benchmarks
  // draws it; low ef values (one pass each, plot only) spread the curve below recall 0.99.
  const low: Point[] = [];
  for (const { c } of built) {
    for (const ef of PLOT_EFS) {
      const found: ArrayLike<number>[] = [];
      const time = await timed(() => {
        for (let q = 0; q < s.queries; q++) found.push(c.query(q, ef));
      });
      low.push({ series: c.name, x: recall(found, truth, K), y: s.queries / time.cpu, label: `ef ${ef}` });
    }
  }
  const plotted = await linePlot(
    `hnsw-${s.n}x${s.dim}-${s.space}`,
    [...low, ...measured.flatMap((m, b) => EFS.map((ef, e) => ({ series: m.name, x: recalls[b]![e]!, y: m.qps[e]!.cpu, label: `ef ${ef}` })))],
    {
      title: `HNSW: recall@${K} vs queries/s, ${s.n.toLocaleString("en")} × ${s.dim} ${s.space}`,
      subtitle: `M ${M}, efConstruction ${EF_CONSTRUCTION}, one query per call, CPU time; ${cpus().length} × ${cpus()[0]?.model ?? "cpu"}`,
      x: `recall@${K}`,
      y: "queries/s (CPU time, log)",
      logY: true,
    },
  );
  table.push(`Plot: ${relative(process.cwd(), plotted)}`, "");
  console.log(table.join("\n"));
}

/** Runs the scenarios chosen on the command line (see the module comment). */
export default async function hnswBench(): Promise<void> {
  const { values: o } = parseArgs({
    args: process.argv.slice(2),
    strict: false,
    allowPositionals: true,
    options: {
      preset: { type: "string", default: "default" },
      runs: { type: "string", default: "1" },
      n: { type: "string" },
      dim: { type: "string" },
      space: { type: "string" },
      queries: { type: "string" },
      quant: { type: "string", default: "f32,i8,b1,b1ext" },
    },
  });
  const modes = String(o.quant).split(",").filter((m) => m !== "");
  for (const m of modes) if (!(m in MODES)) throw new Error(`--quant: unknown mode ${m} (f32, i8, b1, b1ext)`);
  const runs = Number(o.runs);
  let list: Scenario[];
  if (o.n || o.dim) {
    list = [{ n: Number(o.n ?? 10000), dim: Number(o.dim ?? 128), space: (o.space ?? "l2") as DataSpace, queries: Number(o.queries ?? 1000) }];
  } else if (o.preset === "quick") {
    list = [{ n: 2000, dim: 128, space: "l2", queries: 200 }];
  } else {
    list = [
      { n: 10000, dim: 512, space: "l2", queries: 1000 },
      { n: 10000, dim: 512, space: "cosine", queries: 1000 },
    ];
    if (o.preset === "full") list.push({ n: 100000, dim: 128, space: "l2", queries: 1000 });
  }
  for (const s of list) await scenario(s, runs, modes as (keyof typeof MODES)[]);
}

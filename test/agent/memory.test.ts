/**
 * clawft.wasm's vector memory (assembly/agent/memory.ts, embed.ts), run as `clawft.wasm memory …`
 * in build/clawft.p1.wasm under node:wasi with a fresh `$CLAWFT_HOME` per test.
 *
 * The oracle is computed here, independently: the hashed n-gram embedding re-implemented from
 * its specification (docs/memory.md), brute-force cosine similarity over it, and the HNSW core alone
 * (build/hnsw.wasm through src/hnsw) fed the same vectors. So one test checks at once that the
 * description is exact, that the agent's heap build of the HNSW core (assembly/hnsw/memory.ts,
 * HNSW_HEAP) builds the very graph the core alone builds, and that searches find the true
 * nearest memories.
 */
import { describe, it, expect, afterAll } from "vitest";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { appendFile, mkdir, mkdtemp, readFile, rm, writeFile, truncate } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createIndex } from "../../src/hnsw/index.js";

const WASM = fileURLToPath(new URL("../../build/clawft.p1.wasm", import.meta.url));
const RUNNER = fileURLToPath(new URL("../helpers/node-wasi-process.mjs", import.meta.url));
const DIM = 384;

const homes: string[] = [];
afterAll(() => Promise.all(homes.map((h) => rm(h, { recursive: true, force: true }))));

async function home(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "clawft-memory-"));
  homes.push(dir);
  return dir;
}

type Run = { code: number | null; stdout: string; stderr: string };

/**
 * Runs `clawft.wasm memory <args>` under node:wasi in a child Node with fast API calls off
 * (test/helpers/node-wasi-process.mjs says why), `dir` preopened as $CLAWFT_HOME. A trap
 * would show as a non-zero code with a RuntimeError on stderr.
 */
function memory(dir: string, args: string[], stdin = ""): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--no-warnings", "--no-turbo-fast-api-calls", RUNNER, WASM, dir, "memory", ...args]);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(stdin);
  });
}

// ------------------------------------------------------------------ the embedding, from its description

const SEPARATORS =
  /[\u0000-\u002F\u003A-\u0040\u005B-\u0060\u007B-\u00BF\u00D7\u00F7\u1680\u2000-\u206F\u2E00-\u2E7F\u3000-\u303F\uFE30-\uFE4F\uFEFF\uFF00-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65]/u;
const utf8 = new TextEncoder();

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const b of utf8.encode(s)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The hashed n-gram embedding as docs/memory.md specifies it (JavaScript's reference version). */
function embed(text: string, dim = DIM): Float32Array {
  const counts = new Int32Array(dim);
  const feature = (f: string) => {
    const h = fnv1a(f);
    counts[h % dim] += fmix32(h) >>> 31 ? -1 : 1;
  };
  const tokens: string[][] = [];
  let token: string[] = [];
  for (const ch of text.toLowerCase().replace(/\u03C2/g, "\u03C3") + " ") {
    if (SEPARATORS.test(ch)) {
      if (token.length > 0) tokens.push(token);
      token = [];
    } else token.push(ch);
  }
  for (const t of tokens) {
    feature("w" + t.join(""));
    const padded = ["<", ...t, ">"];
    for (let i = 0; i + 3 <= padded.length; i++) feature("g" + padded.slice(i, i + 3).join(""));
  }
  let sum = 0;
  for (const c of counts) sum += c * c;
  const v = new Float32Array(dim);
  if (sum > 0) for (let i = 0; i < dim; i++) v[i] = counts[i]! / Math.sqrt(sum);
  return v;
}

function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += a[i]! * b[i]!;
  return dot;
}

/** Deterministic texts from a vocabulary with capitals, accents, Greek, CJK, emoji and punctuation. */
function texts(n: number, seed: number): string[] {
  const words = [
    "The", "cat", "sat", "on", "mat", "dog", "barked", "at", "mailman", "Quantum", "qubits", "entangle",
    "café", "Straße", "naïve", "ΣΟΦΙΑΣ", "λόγος", "東京", "の", "天気", "🙂", "rocket", "launch", "orbit",
    "river", "bank", "money", "loan", "interest", "rate", "garden", "tomato", "basil", "harvest",
    "Wasm", "HNSW", "graph", "vector", "memory", "agent", "contract", "denied", "budget", "Ω-ohm",
  ];
  const punct = [" ", " ", " ", ", ", " — ", "; ", "、", "! ", "? ", " (", ") "];
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s);
  const out = new Set<string>();
  while (out.size < n) {
    const len = 3 + (next() % 8);
    let t = "";
    for (let i = 0; i < len; i++) t += (i ? punct[next() % punct.length] : "") + words[next() % words.length];
    out.add(t);
  }
  return [...out];
}

type Hit = { label: number; score: number; text: string };

/** Parses `label<TAB>score<TAB>text` lines. */
function hits(block: string): Hit[] {
  return block
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => {
      const [label, score, ...text] = l.split("\t");
      return { label: Number(label), score: Number(score), text: text.join("\t") };
    });
}

/**
 * Checks one search's results against brute force over `vecs`: the k best labels (ties at the
 * k-th score may swap), best first, each score the true cosine similarity (printed to 6 decimals).
 */
function expectExact(got: Hit[], query: Float32Array, vecs: Float32Array[], k: number, all: string[]): void {
  const truth = vecs.map((v, label) => ({ label, score: cosine(query, v) })).sort((a, b) => b.score - a.score);
  expect(got.length).toBe(Math.min(k, vecs.length));
  const kth = truth[got.length - 1]!.score;
  for (let i = 0; i < got.length; i++) {
    const h = got[i]!;
    const exact = cosine(query, vecs[h.label]!);
    expect(Math.abs(h.score - exact)).toBeLessThan(2e-6);
    expect(exact).toBeGreaterThanOrEqual(kth - 1e-6);
    expect(h.text).toBe(all[h.label]);
    if (i > 0) expect(h.score).toBeLessThanOrEqual(got[i - 1]!.score);
  }
}

const memDir = (dir: string) => join(dir, "workspace/memory");

describe("clawft.wasm memory", () => {
  it("adds, searches and reports what it holds", async () => {
    const dir = await home();
    const add = await memory(dir, ["add", "The cat sat on the mat", "Dogs bark at the mailman", "line one\nline\ttwo \\ three"]);
    expect(add).toEqual({ code: 0, stdout: "0\n1\n2\n", stderr: "" });

    const found = await memory(dir, ["search", "-k", "2", "a", "cat", "on", "a", "mat"]);
    expect(found.code).toBe(0);
    const got = hits(found.stdout);
    expect(got.map((h) => h.label)).toEqual([0, 1]);
    expect(got[0]!.score).toBeCloseTo(cosine(embed("a cat on a mat"), embed("The cat sat on the mat")), 5);

    const escaped = await memory(dir, ["search", "-k", "1", "line two three"]);
    expect(escaped.stdout).toBe(`2\t${hits(escaped.stdout)[0]!.score}\tline one\\nline\\ttwo \\\\ three\n`);

    const stats = await memory(dir, ["stats"]);
    expect(stats.code).toBe(0);
    const s = Object.fromEntries(stats.stdout.trim().split("\n").map((l) => l.split("\t")));
    const onDisk = (await readFile(join(memDir(dir), "memory.jsonl"))).length + (await readFile(join(memDir(dir), "index.hnsw"))).length;
    expect(s).toMatchObject({ count: "3", embedder: "hashed-ngram-v1", dim: "384", space: "cosine", M: "16", efConstruction: "200", ef: "128" });
    expect(Number(s.bytes)).toBe(onDisk);

    const lines = (await readFile(join(memDir(dir), "memory.jsonl"), "utf8")).trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ _type: "metadata", embedder: "hashed-ngram-v1", dim: 384 });
    expect(lines.slice(1).map((l) => [l.label, l.text])).toEqual([
      [0, "The cat sat on the mat"],
      [1, "Dogs bark at the mailman"],
      [2, "line one\nline\ttwo \\ three"],
    ]);
  });

  it("an empty memory answers stats and searches with nothing, and writes no files", async () => {
    const dir = await home();
    expect(await memory(dir, ["search", "anything"])).toEqual({ code: 0, stdout: "", stderr: "" });
    const stats = await memory(dir, ["stats"]);
    expect(stats.stdout).toMatch(/^count\t0\n/);
    expect(stats.stdout).toMatch(/\nbytes\t0\n/);
    await expect(readFile(join(memDir(dir), "memory.jsonl"))).rejects.toThrow();
  });

  it("finds what brute-force cosine finds, and builds the graph the HNSW core alone builds", async () => {
    const dir = await home();
    const all = texts(300, 7);
    const add = await memory(dir, ["add", "--stdin"], all.join("\n") + "\n");
    expect(add.code).toBe(0);
    expect(add.stdout).toBe(all.map((_, i) => `${i}\n`).join(""));
    const vecs = all.map((t) => embed(t));

    // The agent's index.hnsw is byte for byte the snapshot of build/hnsw.wasm fed the same vectors.
    const alone = await createIndex({ dim: DIM, space: "cosine", M: 16, efConstruction: 200, maxElements: 512, seed: 100, ef: 128 });
    vecs.forEach((v, i) => alone.add(v, i));
    expect(Buffer.from(await readFile(join(memDir(dir), "index.hnsw"))).equals(Buffer.from(alone.save()))).toBe(true);

    const queries = [...texts(25, 99), "cat mat", "東京の天気", "ΣΟΦΙΑΣ λόγος 🙂", "rockets launching into orbits", "STRASSE café"];
    for (const k of [1, 10]) {
      const r = await memory(dir, ["search", "-k", String(k), "--stdin"], queries.join("\n") + "\n");
      expect(r.code).toBe(0);
      const blocks = r.stdout.split("\n\n");
      expect(blocks.pop()).toBe("");
      expect(blocks.length).toBe(queries.length);
      blocks.forEach((b, i) => expectExact(hits(b), embed(queries[i]!), vecs, k, all));
    }
  });

  it("keeps memories across runs and labels on from the last", async () => {
    const dir = await home();
    expect((await memory(dir, ["add", "first memory about gardens"])).stdout).toBe("0\n");
    expect((await memory(dir, ["add", "second memory about rockets", "third memory about rivers"])).stdout).toBe("1\n2\n");
    const r = await memory(dir, ["search", "-k", "3", "rockets"]);
    expect(hits(r.stdout).map((h) => h.label)[0]).toBe(1);
    expect(hits(r.stdout).map((h) => h.label).sort()).toEqual([0, 1, 2]);
    expect((await memory(dir, ["stats"])).stdout).toMatch(/^count\t3\n/);
  });

  it("refuses a corrupt snapshot with exit 1, names the file, and never writes over it", async () => {
    const dir = await home();
    await memory(dir, ["add", "alpha memory", "beta memory"]);
    const file = join(memDir(dir), "index.hnsw");
    const good = await readFile(file);
    const texts0 = await readFile(join(memDir(dir), "memory.jsonl"));
    const flipped = Buffer.from(good);
    flipped[100] ^= 0x40;
    // A valid snapshot of a quantized index (b1, originals kept by the caller): not the agent's.
    const b1 = await createIndex({ dim: DIM, space: "cosine", quantization: "b1", originals: () => new Float32Array(DIM).fill(1) });
    b1.add(new Float32Array(DIM).fill(1), 0);
    b1.add(new Float32Array(DIM).fill(-1), 1);
    const quantized = Buffer.from(b1.save());
    for (const [bytes, problem] of [
      [quantized, "quantization"],
      [flipped, "checksum"],
      [good.subarray(0, good.length - 9), "length"],
      [Buffer.from("not a snapshot at all, but long enough to have a header of 64 bytes and a crc"), "magic"],
    ] as const) {
      await writeFile(file, bytes);
      for (const args of [["search", "alpha"], ["add", "gamma memory"], ["stats"]]) {
        const r = await memory(dir, args);
        expect(r.code).toBe(1);
        expect(r.stdout).toBe("");
        expect(r.stderr).toContain("workspace/memory/index.hnsw");
        expect(r.stderr).toContain(problem);
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(Buffer.from(await readFile(file)).equals(Buffer.from(bytes))).toBe(true);
        expect(Buffer.from(await readFile(join(memDir(dir), "memory.jsonl"))).equals(texts0)).toBe(true);
      }
    }
    // Removing the snapshot rebuilds the index from memory.jsonl.
    await rm(file);
    const r = await memory(dir, ["search", "-k", "1", "beta"]);
    expect(hits(r.stdout)).toMatchObject([{ label: 1, text: "beta memory" }]);
  });

  it("skips a torn line with a warning, keeps everything before it, and appends on a fresh line", async () => {
    const dir = await home();
    await memory(dir, ["add", "apples are red", "bananas are yellow"]);
    const jsonl = join(memDir(dir), "memory.jsonl");
    await appendFile(jsonl, '{"label":2,"text":"cherr');
    const r = await memory(dir, ["search", "-k", "5", "apples", "bananas"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^clawft: warning: workspace\/memory\/memory\.jsonl line 4 .*skipped\n$/);
    expect(hits(r.stdout).map((h) => h.label).sort()).toEqual([0, 1]);

    expect((await memory(dir, ["add", "dates are brown"])).stdout).toBe("2\n");
    const lines = (await readFile(jsonl, "utf8")).split("\n");
    expect(lines[3]).toBe('{"label":2,"text":"cherr');
    expect(JSON.parse(lines[4]!)).toMatchObject({ label: 2, text: "dates are brown" });
    const after = await memory(dir, ["search", "-k", "1", "dates"]);
    expect(hits(after.stdout)).toMatchObject([{ label: 2, text: "dates are brown" }]);
  });

  it("a line cut after its memory was indexed hides that memory; a line never indexed is indexed", async () => {
    const dir = await home();
    await memory(dir, ["add", "one fish", "two fish", "red fish"]);
    const jsonl = join(memDir(dir), "memory.jsonl");
    const text = await readFile(jsonl, "utf8");
    // Cut the last record in half: label 2 stays in index.hnsw without its text.
    await truncate(jsonl, Buffer.byteLength(text) - 20);
    const r = await memory(dir, ["search", "-k", "3", "red fish"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("line 4");
    expect(hits(r.stdout).map((h) => h.label).sort()).toEqual([0, 1]);
    expect((await memory(dir, ["stats"])).stdout).toMatch(/^count\t2\n/);
    // A record appended without the index being saved (a crash between the two) is indexed on open.
    await appendFile(jsonl, '\n{"label":7,"text":"blue fish","time":"2026-01-01T00:00:00.000Z"}\n');
    const blue = await memory(dir, ["search", "-k", "1", "blue"]);
    expect(hits(blue.stdout)).toMatchObject([{ label: 7, text: "blue fish" }]);
    expect((await memory(dir, ["add", "green fish"])).stdout).toBe("8\n");
  });

  it("refuses to mix vectors of another embedder or dimension", async () => {
    const dir = await home();
    await mkdir(memDir(dir), { recursive: true });
    const jsonl = join(memDir(dir), "memory.jsonl");
    const meta = '{"_type":"metadata","embedder":"provider:openai/text-embedding-3-small","dim":1536,"created":"2026-01-01T00:00:00.000Z"}\n';
    await writeFile(jsonl, meta + '{"label":0,"text":"hello","time":"2026-01-01T00:00:00.000Z"}\n');
    for (const args of [["add", "more"], ["search", "hello"]]) {
      const r = await memory(dir, args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/provider:openai\/text-embedding-3-small \(dim 1536\).*hashed-ngram-v1 \(dim 384\).*cannot be mixed/);
    }
    expect(await readFile(jsonl, "utf8")).toBe(meta + '{"label":0,"text":"hello","time":"2026-01-01T00:00:00.000Z"}\n');
    await writeFile(jsonl, '{"label":0,"text":"no metadata line"}\n');
    const r = await memory(dir, ["stats"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("workspace/memory/memory.jsonl: line 1 is not its metadata line");
  });

  it("answers usage errors with exit 2 and changes nothing", async () => {
    const dir = await home();
    for (const args of [
      [],
      ["forget"],
      ["add"],
      ["add", "--bogus", "x"],
      ["add", "!!! ..."],
      ["search"],
      ["search", "-k"],
      ["search", "-k", "0", "x"],
      ["search", "-k", "ten", "x"],
      ["search", "--stdin", "x"],
      ["search", "— ?"],
      ["stats", "extra"],
    ]) {
      const r = await memory(dir, args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^clawft: .*\nusage: clawft\.wasm/);
    }
    await expect(readFile(join(memDir(dir), "memory.jsonl"))).rejects.toThrow();
  });
});

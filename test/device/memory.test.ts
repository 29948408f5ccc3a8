/**
 * `clawft.wasm memory` on WAMR (issue 11: "memory works, scalar HNSW"): the same commands in
 * WAMR (build/clawft.wamr.wasm) and in node:wasi (build/clawft.p1.wasm) write byte-identical
 * memory files and print the same search results, and each host reads what the other wrote.
 */
import { describe, it, expect, afterEach } from "vitest";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runWamr, wamrUnavailable } from "../helpers/wamr.js";
import { runNodeWasi } from "../helpers/node-wasi.js";

const build = (name: string) => fileURLToPath(new URL(`../../build/${name}`, import.meta.url));
const skip = await wamrUnavailable();
const homes: string[] = [];
afterEach(() => homes.splice(0).forEach((h) => rmSync(h, { recursive: true, force: true })));

function home(): string {
  const h = mkdtempSync(join(tmpdir(), "clawft-memory-"));
  homes.push(h);
  return h;
}

const TEXTS = ["the cat sat on the mat", "dogs bark at night", "a kitten is a young cat", "rain on the window", "the young dog sleeps"];

const inWamr = (dir: string, args: string[]) => runWamr(build("clawft.wamr.wasm"), ["memory", ...args], { dirs: [dir], env: { CLAWFT_HOME: dir } });
const inNode = (dir: string, args: string[]) => runNodeWasi(build("clawft.p1.wasm"), ["memory", ...args], { dirs: [dir], env: { CLAWFT_HOME: dir } });
/** The memory files; the texts' times (when each host added them) masked. */
const files = (dir: string) => [
  readFileSync(join(dir, "workspace/memory/index.hnsw")).toString("hex"),
  readFileSync(join(dir, "workspace/memory/memory.jsonl"), "utf8").replace(/"(created|time)":"[^"]*"/g, '"$1":"…"'),
];

describe.skipIf(skip)(`memory in WAMR and node:wasi ${skip ?? ""}`, () => {
  it("writes the same index and prints the same search results", async () => {
    const [w, n] = [home(), home()];
    for (const t of TEXTS) {
      const a = await inWamr(w, ["add", t]);
      const b = await inNode(n, ["add", t]);
      expect([a.code, a.stderr]).toEqual([0, ""]);
      expect(a.stdout.toString()).toBe(b.stdout.toString());
    }
    expect(files(w)).toEqual(files(n));
    const a = await inWamr(w, ["search", "-k", "3", "young cat"]);
    const b = await inNode(n, ["search", "-k", "3", "young cat"]);
    expect(a.code).toBe(0);
    expect(a.stdout.toString().split("\n")[0]).toMatch(/\ta kitten is a young cat$/);
    expect(a.stdout.toString()).toBe(b.stdout.toString());
  });

  it("reads in one host what the other wrote", async () => {
    const dir = home();
    await inWamr(dir, ["add", TEXTS[0]!]);
    await inNode(dir, ["add", TEXTS[2]!]);
    const stats = await inWamr(dir, ["stats"]);
    expect(stats.stdout.toString()).toMatch(/^count\t2$/m);
    const found = await inNode(dir, ["search", "-k", "1", "kitten"]);
    expect(found.stdout.toString()).toMatch(/\ta kitten is a young cat\n$/);
  });
});

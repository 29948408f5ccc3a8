/**
 * The playground's embedding (web/embed.ts over build/embed.wasm, the agent's hashed n-gram
 * embedding) and its corpus splitter (web/sentences.ts).
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_DIM, loadEmbedder } from "../../web/embed.js";
import { commentProse, docSentences, markdownSentences } from "../../web/sentences.js";

const dot = (a: Float32Array, b: Float32Array) => a.reduce((s, x, i) => s + x * b[i]!, 0);

describe("the hashed n-gram embedding through wasm", async () => {
  const e = await loadEmbedder();

  it("can embed into unit vectors of the agent's dimension, zero for no tokens", () => {
    const v = e.embed("The relay persists its state.");
    expect(v).toHaveLength(DEFAULT_DIM);
    expect(dot(v, v)).toBeCloseTo(1, 5);
    expect(Array.from(e.embed(" ... !? "))).toEqual(new Array(DEFAULT_DIM).fill(0));
    expect(e.embed("abc", 16)).toHaveLength(16);
  });

  it("folds case and final sigma as docs/memory.md says", () => {
    expect(e.embed("HNSW Index")).toEqual(e.embed("hnsw index"));
    expect(e.embed("λόγος")).toEqual(e.embed("λόγοσ"));
  });

  it("puts texts sharing words closer than unrelated ones", () => {
    const q = e.embed("how does the relay store state");
    const near = e.embed("the relay stores its state in redis or files");
    const far = e.embed("graph layers of the vector index");
    expect(dot(q, near)).toBeGreaterThan(dot(q, far) + 0.1);
  });

  it("can embed many texts row by row, as one at a time", () => {
    const texts = ["one text", "another text", ""];
    const all = e.embedAll(texts, 32);
    texts.forEach((t, i) => expect(all.subarray(i * 32, (i + 1) * 32)).toEqual(e.embed(t, 32)));
  });

  it("refuses a dimension below 1", () => {
    expect(() => e.embed("x", 0)).toThrow(RangeError);
  });
});

describe("the corpus splitter", () => {
  it("keeps prose sentences and drops code, tables, headings and link targets", () => {
    const md = [
      "# Title here",
      "",
      "The relay keeps every param in memory. It writes them to [storage](docs/storage.md) after 20 ms.",
      "",
      "```ts",
      "const x = 1; // This is code and not prose at all.",
      "```",
      "| a table row | that should not count as a sentence here. |",
      "- A list item that is a full sentence too.",
    ].join("\n");
    expect(markdownSentences(md)).toEqual([
      "The relay keeps every param in memory.",
      "It writes them to storage after 20 ms.",
      "A list item that is a full sentence too.",
    ]);
  });

  it("reads the prose of source comments, once per sentence across documents", () => {
    const ts = "/**\n * Loads the core once and caches the compiled module.\n * @param url where it is\n */\n// A line comment that is also a sentence.\nconst x = 1;";
    const prose = commentProse(ts);
    expect(markdownSentences(prose)).toEqual(["Loads the core once and caches the compiled module.", "A line comment that is also a sentence."]);
    expect(docSentences([{ name: "a", text: prose }, { name: "b", text: prose }]).map((s) => s.doc)).toEqual(["a", "a"]);
  });
});

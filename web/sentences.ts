/**
 * Splits the project's own prose — the Markdown docs and the comments of its sources — into
 * sentences for the playground's vector search (run at build time by the
 * `clawft-doc-sentences` plugin in vite.config.ts). Code blocks,
 * tables, headings and list markers are dropped; links keep their text; a sentence ends at
 * `.`, `!` or `?` followed by space and a capital, a digit, a quote or a backtick.
 * @module
 */

/** Shortest and longest sentence kept, in words: fragments and run-ons make poor examples. */
const MIN_WORDS = 5;
const MAX_WORDS = 70;

/** The prose sentences of one Markdown text, in order. */
export function markdownSentences(markdown: string): string[] {
  const text = markdown
    .replace(/```[\s\S]*?```/g, "\n\n")
    .replace(/<!--[\s\S]*?-->/g, "")
    .split("\n")
    .filter((l) => !/^\s*(\||#|>|---|@\w)/.test(l))
    .map((l) => l.replace(/^\s*([-*+]|\d+\.)\s+/, ""))
    .join("\n")
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\*\*|__/g, "");
  const out: string[] = [];
  for (const para of text.split(/\n\s*\n/)) {
    const flat = para.replace(/\s+/g, " ").trim();
    for (const s of flat.split(/(?<=[.!?])\s+(?=[A-Z0-9"`(])/)) {
      const words = s.split(" ").length;
      if (words >= MIN_WORDS && words <= MAX_WORDS && /[.!?]$/.test(s)) out.push(s);
    }
  }
  return out;
}

/**
 * The prose of a TypeScript or AssemblyScript source: its comments (`/** … *\/` and `//`
 * lines), one paragraph per comment block, as Markdown for {@link markdownSentences}.
 */
export function commentProse(source: string): string {
  const blocks: string[] = [];
  for (const m of source.matchAll(/\/\*\*([\s\S]*?)\*\//g)) {
    blocks.push(m[1]!.split("\n").map((l) => l.replace(/^\s*\*\s?/, "")).filter((l) => !l.startsWith("@")).join("\n"));
  }
  let run: string[] = [];
  for (const line of source.split("\n")) {
    const c = /^\s*\/\/\s?(.*)$/.exec(line);
    if (c) run.push(c[1]!);
    else if (run.length) (blocks.push(run.join("\n")), (run = []));
  }
  if (run.length) blocks.push(run.join("\n"));
  return blocks.join("\n\n");
}

/** Sentences of several documents, each once, with the document it came from. */
export function docSentences(docs: ReadonlyArray<{ name: string; text: string }>): Array<{ text: string; doc: string }> {
  const seen = new Set<string>();
  const out: Array<{ text: string; doc: string }> = [];
  for (const d of docs) {
    for (const s of markdownSentences(d.text)) {
      if (seen.has(s)) continue;
      seen.add(s);
      out.push({ text: s, doc: d.name });
    }
  }
  return out;
}

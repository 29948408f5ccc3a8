// memory_write, memory_search: the agent's vector memory (memory.ts: HNSW inside the wasm,
// persisted in workspace/memory/), opened once per process.

import { Tool, Param, Call, ToolResult, P_STRING, P_INTEGER } from "./tool";
import { Memory, MEMORY_OK } from "../memory";
import { utf8 } from "../clasp";

/** Longest text memory_write stores (UTF-8 bytes). */
export const MAX_MEMORY_TEXT: f64 = 65536;

/** The memory of this process, opened on first use. */
class Opened {
  static memory: Memory | null = null;
}

/** The memory, or null with the reason in `Memory.error`. */
function memory(): Memory | null {
  if (Opened.memory === null) Opened.memory = Memory.open();
  return Opened.memory;
}

/** memory_write {text}: stores a text in long-term memory. */
export class MemoryWrite extends Tool {
  constructor() {
    super("memory_write", "Store a text in long-term memory, to be found later by meaning with memory_search.", [
      new Param("text", P_STRING, true, "The text to remember.", 0, MAX_MEMORY_TEXT),
    ]);
  }

  prepare(c: Call): string | null {
    if (c.str("text").trim().length == 0) return "argument \"text\" is empty";
    c.bytes = <f64>utf8(c.str("text")).byteLength;
    return null;
  }

  run(c: Call): ToolResult {
    let m = memory();
    if (m === null) return ToolResult.fail("memory is unavailable: " + Memory.error);
    let label = m.add(c.str("text"));
    if (label < 0) return ToolResult.fail("cannot store the text: " + Memory.error);
    if (!m.save()) return ToolResult.fail("stored as memory #" + label.toString() + " but not saved: " + Memory.error);
    return ToolResult.ok("stored as memory #" + label.toString() + " (" + m.count().toString() + " memories)");
  }
}

/** memory_search {query, k?}: the k stored texts nearest in meaning. */
export class MemorySearch extends Tool {
  constructor() {
    super("memory_search", "Find the stored texts nearest in meaning to a query.", [
      new Param("query", P_STRING, true, "What to look for."),
      new Param("k", P_INTEGER, false, "How many results (default 5).", 1, 50),
    ]);
  }

  prepare(c: Call): string | null {
    return c.str("query").trim().length == 0 ? "argument \"query\" is empty" : null;
  }

  run(c: Call): ToolResult {
    let m = memory();
    if (m === null) return ToolResult.fail("memory is unavailable: " + Memory.error);
    if (m.count() == 0) return ToolResult.ok("memory is empty");
    let hits = m.search(c.str("query"), <i32>c.args.num("k", 5));
    if (Memory.kind != MEMORY_OK) return ToolResult.fail("cannot search memory: " + Memory.error);
    if (hits.length == 0) return ToolResult.ok("nothing found");
    let lines: string[] = [];
    for (let i = 0; i < hits.length; i++) {
      let h = hits[i];
      lines.push("#" + h.label.toString() + " (score " + (Math.round(h.score * 1000) / 1000).toString() + "): " + h.text);
    }
    return ToolResult.ok(lines.join("\n"));
  }
}

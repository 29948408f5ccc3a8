/**
 * Runs build/tools-cli.wasm (test/fixtures/assembly/tools-cli.ts: clawft.wasm's governed tools without
 * the chat loop) under node:wasi with a temporary $CLAWFT_HOME, for the tools and audit tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runNodeWasi, type WasiRun } from "../helpers/node-wasi.js";

export const toolsCli = fileURLToPath(new URL("../../build/tools-cli.wasm", import.meta.url));

/** What callTool returned, as the fixture prints it. */
export interface Result {
  content: string;
  denied: boolean;
  guard: string;
  error: boolean;
}

/** A fresh $CLAWFT_HOME; `done()` removes it. */
export function tempHome(): { home: string; done: () => void } {
  const home = mkdtempSync(join(tmpdir(), "clawft-tools-"));
  return { home, done: () => rmSync(home, { recursive: true, force: true }) };
}

/** Runs the fixture with `words` (and `stdin`) in `home`; `results` are the printed call results in order. */
export async function cli(home: string, words: string[], stdin?: string): Promise<WasiRun & { results: Result[] }> {
  const r = await runNodeWasi(toolsCli, words, { env: { CLAWFT_HOME: home }, dirs: [home], stdin });
  const results = r.stdout
    .toString()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Result);
  return { ...r, results };
}

/** `call NAME ARGS` words for each [name, args] (args objects are JSON-encoded). */
export function calls(...list: Array<[string, unknown]>): string[] {
  return list.flatMap(([name, args]) => ["call", name, typeof args === "string" ? args : JSON.stringify(args)]);
}

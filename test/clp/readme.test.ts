/** The README's CLP snippet runs as written. */
import { it, expect } from "vitest";
import { readFile } from "node:fs/promises";
import { createContract, createRuntime } from "../../src/clp/index.js";

it("the README example gives count 5", async () => {
  const readme = await readFile(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## CLP"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  const run = new Function("createContract", "createRuntime", `${code.replace(/rt\.getState\("count"\); \/\/ 5/, "return rt.getState('count');")}`);
  expect(run(createContract, createRuntime)).toBe(5);
});

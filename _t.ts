import { writeFile } from "node:fs/promises";
import { discoverPlugins } from "./src/pipeline/node/discovery.js";
import { parseOrchestration, validateOrchestration } from "./src/pipeline/orchestration.js";
import { executePipeline } from "./src/pipeline/executor.js";
import { nodeRunners } from "./src/pipeline/node/runners.js";
const { plugins, problems } = await discoverPlugins(["plugins"]);
console.log([...plugins.keys()], problems);
const orch = parseOrchestration(`
[input]
type = "text/plain"
[[nodes]]
plugin = "normalize"
[[nodes]]
plugin = "speak"
[[nodes]]
plugin = "example-python"
options = { gain_db = -3 }
[[nodes]]
plugin = "mp3"
`);
const pipe = validateOrchestration(orch, plugins);
console.log(pipe.nodes.map((n) => `${n.id}: ${n.inputType} -> ${n.outputType} ${JSON.stringify(n.options)}`));
const t0 = performance.now();
const run = executePipeline(pipe, "Hello world. On Jan. 3rd, 1999 Dr. Smith paid $1,234.50 for 2 apples. This is the third sentence, and it is a little longer than the others.", { runners: nodeRunners() });
let first = 0;
const chunks: Uint8Array[] = [];
for await (const c of run.output) { if (!first) first = performance.now() - t0; chunks.push(c); }
const buf = Buffer.concat(chunks);
await writeFile("/tmp/out.mp3", buf);
console.log("bytes", buf.length, "first byte ms", first.toFixed(0), "total", (performance.now() - t0).toFixed(0));
console.log(await run.done);

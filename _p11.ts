import { replayStateHash, ClpCore } from "./src/clp/index.ts";
import { readFileSync } from "node:fs";
const log = readFileSync("/tmp/clpb/log30k.bin");
const core = await ClpCore.load(readFileSync(process.argv[2] ?? "build/clp.wasm"));
for (let i = 0; i < 8; i++) { const t0 = performance.now(); replayStateHash(core, log); console.log("replay ms", (performance.now() - t0).toFixed(1)); }

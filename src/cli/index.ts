#!/usr/bin/env node
/**
 * The `clawft` command. Each subcommand lives in its own module under src/cli/ and registers
 * itself on the program here.
 * @module
 */
import { Command } from "commander";
import { registerAgent } from "./agent.js";
import { registerClasp } from "./clasp.js";
import { registerPipeline } from "./pipeline.js";
import { registerRelay } from "./relay.js";

const program = new Command("clawft").description("clawft: CLASP relay, HNSW, CLP and media pipeline tools");
registerClasp(program);
registerPipeline(program);
registerRelay(program);
registerAgent(program);
await program.parseAsync(process.argv);

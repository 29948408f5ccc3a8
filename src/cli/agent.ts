/**
 * `clawft agent <args…>`: runs clawft.wasm, the WASI agent (docs/agent.md), in Node through
 * jco and preview2-shim, with `$CLAWFT_HOME` (default `~/.clawft`) preopened and this
 * process's environment (provider keys such as OPENAI_API_KEY reach the agent that way).
 * Everything after `agent` is the agent's own command line, options included; the process
 * exits with the agent's status.
 * @module
 */
import type { Command } from "commander";
import { homedir } from "node:os";
import { join } from "node:path";
import { runAgent } from "../agent/index.js";

/** Registers `clawft agent`. */
export function registerAgent(program: Command): void {
  program
    .command("agent")
    .description("run clawft.wasm, the WASI agent: chat, memory, audit verify, router, version (clawft agent help)")
    .argument("[args...]", "the agent's command line, e.g. chat --session work \"hello\"")
    .allowUnknownOption()
    .helpOption(false)
    .action(async (args: string[]) => {
      const home = process.env.CLAWFT_HOME || join(homedir(), ".clawft");
      const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
      try {
        process.exitCode = await runAgent(args, { home, env: { ...env, CLAWFT_HOME: home } });
      } catch (err) {
        console.error(`clawft agent: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    });
}

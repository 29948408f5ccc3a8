// clawft.wasm's command line: one program, four roles (docs/agent.md).
//
//   clawft.wasm chat [--session KEY] [--model PROVIDER/MODEL] [--no-stream] [MESSAGE]
//   clawft.wasm memory add [--stdin] TEXT… | search [-k N] [--stdin] QUERY… | stats
//   clawft.wasm audit verify
//   clawft.wasm router [--framing slip|length]
//   clawft.wasm version
//
// Exit codes: 0 success, 1 an error (one line on stderr), 2 a usage error.

import { outLine } from "./host/io";
import { EXIT_OK, USAGE, fail, usage } from "./exit";
import { openHome } from "./host/fs";
import { chatCommand } from "./agent";
import { memoryCommand, Memory } from "./memory";
import { auditCommand } from "./audit";
import { routerCommand } from "./router";
import { loadConfig, resolveModel, ConfigError } from "./config";
import { ProviderEmbedder } from "./llm/embeddings";
import { LlmError } from "./llm/client";

/** The version `clawft.wasm version` prints (package.json's). */
export const VERSION = "0.1.0";

/** Runs the command line `argv` (argv[0] is the program name); returns the exit code. */
export function main(argv: string[]): i32 {
  if (argv.length < 2) return usage("no command given");
  let cmd = argv[1];
  let rest = argv.slice(2);
  if (cmd == "version" || cmd == "--version") {
    outLine("clawft.wasm " + VERSION);
    return EXIT_OK;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    outLine(USAGE);
    return EXIT_OK;
  }
  if (cmd != "chat" && cmd != "memory" && cmd != "audit" && cmd != "router") return usage("unknown command '" + cmd + "'");
  let env = process.env;
  let homeError = openHome(env.has("CLAWFT_HOME") ? env.get("CLAWFT_HOME") : "");
  if (homeError !== null) return fail(homeError!);
  if (cmd == "audit") return auditCommand(rest);
  if (cmd == "router") return routerCommand(rest);
  let cfg = loadConfig(env);
  if (cfg === null) return fail(ConfigError.message);
  if (cfg.embeddingModel.length > 0) {
    let route = resolveModel(cfg, cfg.embeddingModel);
    if (route === null) return fail("agents.defaults.embeddingModel: " + ConfigError.message);
    let e = ProviderEmbedder.create(cfg, route, cfg.embeddingDimensions);
    if (e === null) return fail("embeddings: " + LlmError.message);
    Memory.embedder = e;
  }
  if (cmd == "memory") return memoryCommand(rest);
  return chatCommand(rest, cfg);
}

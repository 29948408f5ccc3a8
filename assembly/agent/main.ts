// clawft.wasm's command line: one program, four roles (docs/agent.md).
//
//   clawft.wasm chat [--session KEY] [--model PROVIDER/MODEL] [--no-stream] [MESSAGE]
//   clawft.wasm memory add TEXT… | search [-k N] QUERY | stats
//   clawft.wasm audit verify
//   clawft.wasm router [--framing slip|length]
//   clawft.wasm version
//
// Exit codes: 0 success, 1 an error (one line on stderr), 2 a usage error.

import { errLine, outLine } from "./host/io";

/** The version `clawft.wasm version` prints (package.json's). */
export const VERSION = "0.1.0";

export const EXIT_OK: i32 = 0;
export const EXIT_ERROR: i32 = 1;
export const EXIT_USAGE: i32 = 2;

const USAGE = `usage: clawft.wasm <command> [options]
  chat [--session KEY] [--model PROVIDER/MODEL] [--no-stream] [MESSAGE]
  memory add TEXT... | memory search [-k N] QUERY | memory stats
  audit verify
  router [--framing slip|length]
  version`;

/** Prints a usage error and returns EXIT_USAGE. */
export function usage(message: string): i32 {
  errLine("clawft: " + message);
  errLine(USAGE);
  return EXIT_USAGE;
}

/** Prints an error line and returns EXIT_ERROR. */
export function fail(message: string): i32 {
  errLine("clawft: " + message);
  return EXIT_ERROR;
}

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
  return usage("unknown command '" + cmd + "'" + (rest.length > 0 ? "" : ""));
}

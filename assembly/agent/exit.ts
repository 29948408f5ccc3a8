// Exit codes and the one-line messages of clawft.wasm's commands (docs/agent.md):
// 0 success, 1 an error (one line on stderr), 2 a usage error (the line and the usage).

import { errLine } from "./host/io";

export const EXIT_OK: i32 = 0;
export const EXIT_ERROR: i32 = 1;
export const EXIT_USAGE: i32 = 2;

/** The usage text printed after a usage error. */
export const USAGE = `usage: clawft.wasm <command> [options]
  chat [--session KEY] [--model PROVIDER/MODEL] [--no-stream] [MESSAGE]
  memory add [--stdin] TEXT... | memory search [-k N] [--stdin] QUERY... | memory stats
  audit verify
  router [--framing slip|length]
  version`;

/** Prints `clawft: <message>` and the usage on stderr; returns EXIT_USAGE. */
export function usage(message: string): i32 {
  errLine("clawft: " + message);
  errLine(USAGE);
  return EXIT_USAGE;
}

/** Prints `clawft: <message>` on stderr; returns EXIT_ERROR. */
export function fail(message: string): i32 {
  errLine("clawft: " + message);
  return EXIT_ERROR;
}

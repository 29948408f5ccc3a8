#!/usr/bin/env node
/**
 * The `clawft` command. Each subcommand lives in its own module under src/cli/ and registers
 * itself on the program here.
 *
 * The server-side packages (ws, sirv, prom-client, hono, Redis and PostgreSQL clients,
 * serialport, prompts, tar, preview2-shim) are optional peer dependencies, so an app that
 * only wants the cores does not install them. A command whose packages are missing is still
 * listed, and running it names what to install instead of failing with a stack trace.
 * @module
 */
import { Command } from "commander";

/** The subcommands: name, description, and the module that registers the real command. */
const COMMANDS: Array<[name: string, description: string, load: () => Promise<(program: Command) => void>]> = [
  ["clasp", "CLASP frames: encode, decode", () => import("./clasp.js").then((m) => m.registerClasp)],
  ["pipeline", "media pipeline: plugins over a framed protocol (text → speech → MP3)", () => import("./pipeline.js").then((m) => m.registerPipeline)],
  ["relay", "run the CLASP relay", () => import("./relay.js").then((m) => m.registerRelay)],
  ["agent", "run clawft.wasm, the WASI agent", () => import("./agent.js").then((m) => m.registerAgent)],
];

/** The package a failed import could not find (Node's ERR_MODULE_NOT_FOUND), or undefined. */
function missingPackage(e: unknown): string | undefined {
  const err = e as { code?: string; message?: string };
  if (err?.code !== "ERR_MODULE_NOT_FOUND") return undefined;
  return /Cannot find package '([^']+)'/.exec(err.message ?? "")?.[1];
}

/** What to tell the user about a missing optional package. */
function installHint(command: string, pkg: string): string {
  return `clawft ${command} needs the optional package "${pkg}", which is not installed: npm install ${pkg}`;
}

const program = new Command("clawft").description("clawft: CLASP relay, HNSW, CLP and media pipeline tools");
// Loads only the command asked for (its modules take hundreds of ms to load); all of them for
// help, a typo, or a command registered under another name (`demo` lives in clasp.js).
const asked = COMMANDS.filter(([name]) => name === process.argv[2]);
for (const [name, description, load] of asked.length ? asked : COMMANDS) {
  try {
    (await load())(program);
  } catch (e) {
    const pkg = missingPackage(e);
    if (!pkg) throw e;
    program
      .command(name)
      .description(`${description} (unavailable: needs ${pkg})`)
      .allowUnknownOption()
      .allowExcessArguments()
      .action(() => {
        process.stderr.write(`${installHint(name, pkg)}\n`);
        process.exitCode = 1;
      });
  }
}
try {
  await program.parseAsync(process.argv);
} catch (e) {
  // A package loaded on use (a storage backend, the daemon's HTTP server, the wizard's prompts).
  const pkg = missingPackage(e);
  if (!pkg) throw e;
  process.stderr.write(`${installHint(process.argv[2] ?? "", pkg)}\n`);
  process.exitCode = 1;
}

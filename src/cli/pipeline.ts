/**
 * `clawft pipeline …`: run, validate, list plugins, configure (wizard), serve (daemon), install.
 * All of them go through the one {@link PipelineHost} and the one executor.
 * @module
 */
import { Command, InvalidArgumentError, Option } from "commander";
import { createReadStream, createWriteStream } from "node:fs";
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { Readable } from "node:stream";
import { pipeline as streamPipeline } from "node:stream/promises";
import { OrchestrationError, PipelineError, PluginInstallError } from "../pipeline/errors.js";
import type { RunProgress } from "../pipeline/executor.js";
import { BUNDLED_PLUGINS, describePipeline, PipelineHost } from "../pipeline/node/host.js";

/** Plugin directories: `--plugins` if given, else `<orchestration dir>/plugins`, `./plugins`, the bundled ones. */
function pluginDirs(given: string[] | undefined, orchestration?: string): string[] {
  if (given && given.length) return given.map((d) => resolve(d));
  const dirs = [resolve("plugins"), resolve(BUNDLED_PLUGINS)];
  if (orchestration) dirs.unshift(resolve(dirname(orchestration), "plugins"));
  return [...new Set(dirs)];
}

function human(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function progressLine(p: RunProgress): string {
  const nodes = p.nodes.map((n) => `${n.id} ${human(n.bytesOut)}`).join(" → ");
  return `[${(p.elapsedMs / 1000).toFixed(1)} s] in ${human(p.inputBytes)} → ${nodes}`;
}

/** Prints a pipeline error with its node, plugin error and stderr tail; returns the exit code. */
function report(e: unknown): number {
  if (e instanceof OrchestrationError) {
    process.stderr.write(`clawft: invalid orchestration:\n${e.issues.map((i) => `  ${i.node ? `node "${i.node}"` : "file"} [${i.code}] ${i.message}`).join("\n")}\n`);
    return 2;
  }
  if (e instanceof PipelineError) {
    process.stderr.write(`clawft: pipeline failed [${e.code}]: ${e.message}\n`);
    if (e.stderr) process.stderr.write(`--- stderr of ${e.plugin} (last lines) ---\n${e.stderr.trimEnd().split("\n").slice(-12).join("\n")}\n`);
    return e.code === "CANCELLED" ? 130 : 1;
  }
  if (e instanceof PluginInstallError) {
    process.stderr.write(`clawft: install refused [${e.code}]: ${e.message}\n`);
    return 1;
  }
  process.stderr.write(`clawft: ${(e as Error).message}\n`);
  return 1;
}

interface CommonOpts {
  plugins?: string[];
  verify: boolean;
  timeout?: number;
  maxFrame?: number;
}

/**
 * Parses a positive integer option (a timeout or a size). A NaN or negative timeout would
 * silently turn the hang watchdog off, so anything else is refused.
 * @throws InvalidArgumentError (commander prints it with the option's name and exits 1)
 */
function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

function hostOptions(o: CommonOpts, orchestration?: string) {
  return {
    pluginDirs: pluginDirs(o.plugins, orchestration),
    verify: o.verify,
    ...(o.timeout !== undefined && { timeoutMs: o.timeout }),
    ...(o.maxFrame !== undefined && { maxFrame: o.maxFrame }),
  };
}

const pluginsOption = () => new Option("-p, --plugins <dir...>", "plugin directories (default: <orchestration dir>/plugins, ./plugins, the bundled plugins)");

async function runCommand(file: string, input: string | undefined, o: CommonOpts & { output: string; progress?: boolean }): Promise<number> {
  const host = await PipelineHost.open(hostOptions(o, file));
  const pipeline = await host.prepare(await readFile(file, "utf8"));
  if (input && input !== "-") await stat(input); // a missing input file is a clear error, not a plugin failure
  const toStdout = o.output === "-";
  if (!toStdout) await checkOutputDir(o.output); // before any plugin starts
  const source = !input || input === "-" ? (Readable.toWeb(process.stdin) as ReadableStream<Uint8Array>) : (Readable.toWeb(createReadStream(input)) as ReadableStream<Uint8Array>);
  const run = host.run(pipeline, source);
  const stop = (): void => run.cancel("interrupted");
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const showProgress = o.progress ?? process.stderr.isTTY;
  const timer = showProgress
    ? setInterval(() => process.stderr.write(process.stderr.isTTY ? `\r${progressLine(run.progress())}\x1b[K` : `${progressLine(run.progress())}\n`), process.stderr.isTTY ? 250 : 1000)
    : null;
  const partial = toStdout ? null : `${o.output}.partial`;
  try {
    const sink = toStdout ? process.stdout : createWriteStream(partial!);
    await streamPipeline(Readable.fromWeb(run.output as never), sink, { end: !toStdout });
    const summary = await run.done;
    if (partial) await rename(partial, o.output);
    if (timer) process.stderr.write(process.stderr.isTTY ? `\r${progressLine(run.progress())}\x1b[K\n` : "");
    for (const w of summary.warnings) process.stderr.write(`clawft: warning [${w.code}]: ${w.message}\n`);
    if (!toStdout) process.stderr.write(`wrote ${human(summary.outputBytes)} (${pipeline.outputType}) to ${o.output} in ${(summary.elapsedMs / 1000).toFixed(2)} s\n`);
    return 0;
  } catch (e) {
    if (partial) await rm(partial, { force: true });
    // Wait for the run to wind down either way. A failing output file cancels the run: the
    // file's own error is the one to report, not the CANCELLED that follows from it.
    const ended = await run.done.then(() => e, (x: unknown) => x);
    const err = e instanceof PipelineError ? ended : e;
    if (timer) process.stderr.write("\n");
    return report(err);
  } finally {
    if (timer) clearInterval(timer);
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
}

/** Fails with a clear message when the output file's directory is missing or not a directory. */
async function checkOutputDir(output: string): Promise<void> {
  const dir = dirname(resolve(output));
  const ok = await stat(dir).then((s) => s.isDirectory(), () => false);
  if (!ok) throw new Error(`cannot write ${output}: the directory ${dir} does not exist`);
}

/** Registers `clawft pipeline …` on the program. */
export function registerPipeline(program: Command): void {
  const cmd = program.command("pipeline").description("media pipeline: plugins over a framed protocol (text → speech → MP3)");
  const withCommon = (c: Command): Command =>
    c
      .addOption(pluginsOption())
      .option("--no-verify", "skip the plugins' verification mini-test")
      .option("--timeout <ms>", "inactivity timeout per node in ms; wins over a plugin's own timeout_ms (default 30000)", positiveInteger)
      .option("--max-frame <bytes>", "largest frame payload (default 1048576)", positiveInteger);

  withCommon(
    cmd
      .command("run")
      .description("run an orchestration on an input file ('-' or none: stdin)")
      .argument("<orchestration>", ".cr orchestration file")
      .argument("[input]", "input file, '-' for stdin")
      .option("-o, --output <path>", "output file, '-' for stdout", "-")
      .option("--progress", "show progress on stderr (default when stderr is a terminal)")
      .option("--no-progress", "never show progress"),
  ).action(async (file: string, input: string | undefined, o: CommonOpts & { output: string; progress?: boolean }) => {
    process.exitCode = await runCommand(file, input, o).catch(report);
  });

  withCommon(
    cmd
      .command("validate")
      .description("validate an orchestration against the plugins (types, options, verification)")
      .argument("<orchestration>", ".cr orchestration file")
      .option("--json", "print the resolved pipeline as JSON"),
  ).action(async (file: string, o: CommonOpts & { json?: boolean }) => {
    try {
      const host = await PipelineHost.open(hostOptions(o, file));
      const p = await host.prepare(await readFile(file, "utf8"));
      if (o.json) process.stdout.write(`${JSON.stringify({ valid: true, ...describePipeline(p) }, null, 2)}\n`);
      else {
        process.stdout.write(`${file}: valid (${p.inputType} → ${p.outputType})\n`);
        for (const n of p.nodes) process.stdout.write(`  ${n.id} [${n.plugin.id} ${n.plugin.manifest.version}] ${n.inputType} → ${n.outputType} ${JSON.stringify(n.options)}\n`);
      }
    } catch (e) {
      process.exitCode = report(e);
    }
  });

  cmd
    .command("plugins")
    .description("list the plugins found, their capabilities, and the manifests that were skipped")
    .addOption(pluginsOption())
    .option("--verify", "run (or reuse cached) verification mini-tests")
    .option("--json", "print JSON")
    .action(async (o: { plugins?: string[]; verify?: boolean; json?: boolean }) => {
      const host = await PipelineHost.open({ pluginDirs: pluginDirs(o.plugins) });
      const rows = [];
      for (const p of host.plugins.values()) {
        const v = o.verify ? await host.verify(p) : null;
        const m = p.manifest;
        rows.push({ id: p.id, version: m.version, kind: m.kind, stage: m.stage, input: m.capabilities.input, output: m.capabilities.output, mode: m.capabilities.mode, verified: v ? v.ok : null, ...(v?.error && { error: v.error }), dir: p.baseUrl });
      }
      const problems = host.problems.map((p) => ({ file: p.file, error: p.error.message }));
      if (o.json) {
        process.stdout.write(`${JSON.stringify({ plugins: rows, problems }, null, 2)}\n`);
        return;
      }
      for (const r of rows) {
        const status = r.verified === null ? "" : r.verified ? "  verified" : `  FAILED: ${r.error}`;
        process.stdout.write(`${r.id.padEnd(16)} ${r.version.padEnd(8)} ${r.kind.padEnd(7)} ${r.stage.padEnd(9)} ${r.input.join("|")} → ${r.output.join("|")} (${r.mode})${status}\n`);
      }
      for (const p of problems) process.stderr.write(`skipped ${p.file}: ${p.error}\n`);
      if (rows.some((r) => r.verified === false)) process.exitCode = 1;
    });

  cmd
    .command("configure")
    .description("interactive wizard: choose plugins and options, save a .cr orchestration")
    .addOption(pluginsOption())
    .option("-o, --out <file>", "where to save the orchestration")
    .action(async (o: { plugins?: string[]; out?: string }) => {
      const prompts = await import("@inquirer/prompts");
      const { configureWizard } = await import("../pipeline/node/configure.js");
      try {
        const host = await PipelineHost.open({ pluginDirs: pluginDirs(o.plugins) });
        for (const p of host.problems) process.stderr.write(`skipped ${p.file}: ${p.error.message}\n`);
        const { text } = await configureWizard(host, prompts);
        const out = o.out ?? (await prompts.input({ message: "Save as:", default: "orchestration.cr" }));
        const exists = await stat(out).then(() => true, () => false);
        if (exists && !(await prompts.confirm({ message: `${out} exists. Overwrite?`, default: false }))) {
          process.stderr.write("not saved\n");
          process.exitCode = 1;
          return;
        }
        await writeFile(out, text);
        process.stdout.write(`saved ${out}\n`);
      } catch (e) {
        if ((e as Error).name === "ExitPromptError") {
          process.exitCode = 130;
          return;
        }
        process.exitCode = report(e);
      }
    });

  cmd
    .command("serve")
    .description("run the pipeline daemon (REST API; see docs/pipeline.md)")
    .option("-c, --config <file>", "daemon.toml")
    .option("--port <port>", "port (overrides daemon.toml)")
    .option("--host <host>", "address to bind (overrides daemon.toml)")
    .addOption(pluginsOption())
    .action(async (o: { config?: string; port?: string; host?: string; plugins?: string[] }) => {
      const { loadDaemonConfig, startDaemon } = await import("../pipeline/node/daemon.js");
      try {
        const config = await loadDaemonConfig(o.config, {
          ...((o.port !== undefined || o.host !== undefined) && { server: { ...(o.port !== undefined && { port: Number(o.port) }), ...(o.host !== undefined && { host: o.host }) } }),
          ...(o.plugins && { plugins: { dirs: o.plugins.map((d) => resolve(d)) } }),
        });
        const daemon = await startDaemon(config);
        process.stderr.write(`clawft pipeline daemon on http://${config.server.host}:${daemon.port} (${daemon.host.plugins.size} plugins)\n`);
        const stop = async (): Promise<void> => {
          await daemon.close();
          process.exit(0);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      } catch (e) {
        process.exitCode = report(e);
      }
    });

  cmd
    .command("install")
    .description("install a plugin archive from a URL after checking its SHA-256 (and ed25519 signature)")
    .argument("<url>", "URL of a .tar or .tar.gz plugin archive")
    .requiredOption("--sha256 <hex>", "expected SHA-256 of the archive")
    .option("--public-key <key>", "ed25519 public key (PEM file, or base64/hex raw key); requires a valid signature")
    .option("--signature <url>", "signature URL (default <url>.sig)")
    .option("-d, --dir <dir>", "plugin directory to install into", "plugins")
    .option("--replace", "replace an installed plugin of the same name")
    .option("--no-verify", "skip the verification mini-test")
    .action(async (url: string, o: { sha256: string; publicKey?: string; signature?: string; dir: string; replace?: boolean; verify: boolean }) => {
      const { installPlugin } = await import("../pipeline/node/install.js");
      try {
        let publicKey = o.publicKey;
        if (publicKey && (await stat(publicKey).then((s) => s.isFile(), () => false))) publicKey = await readFile(publicKey, "utf8");
        const host = await PipelineHost.open({ pluginDirs: [] });
        const { plugin, dir } = await installPlugin(url, {
          sha256: o.sha256,
          dir: resolve(o.dir),
          ...(publicKey !== undefined && { publicKey }),
          ...(o.signature !== undefined && { signature: o.signature }),
          ...(o.replace !== undefined && { replace: o.replace }),
          ...(o.verify && { verify: (p) => host.verify(p) }),
        });
        process.stdout.write(`installed ${plugin.id} ${plugin.manifest.version} into ${dir}\n`);
      } catch (e) {
        process.exitCode = report(e);
      }
    });
}

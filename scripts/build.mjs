#!/usr/bin/env node
// Builds every core of scripts/cores.mjs and checks the size budgets.
//
// For each core: asc -> build/<name>.wasm (release, -O3 with shrink level 2 and no asserts)
// and build/debug/<name>.wasm (assertions, names); for a core with a WIT world also
// asc (component entry) -> rename exports to canonical names -> embed WIT -> componentNew
// -> build/<name>.component.wasm -> jco transpile -> build/jco/<name>/. Then tsc -> dist/
// and the script-tag build dist/clawft.global.js (scripts/global.mjs), then a size table of
// every artifact (raw and gzip -9) that fails the build when one is over budgets.json. A
// WASI command core with an `adapter` world instead becomes a WASI 0.2 command component:
// asc -> embed WIT -> componentNew with jco's preview1 command adapter ->
// (release: jco opt -Oz, names and custom sections stripped) -> build/<name>.wasm (and its
// debug twin, names kept) -> jco transpile -> build/jco/<name>/; clawft's is transpiled a second
// time for browsers with JSPI -> build/jco/clawft-web/ (scripts/agent-web.mjs).
//
// Usage: node scripts/build.mjs [--only <name>[,<name>…]] [--no-ts] [--readme]
//   --only    build just these cores (the size check then covers just their artifacts)
//   --no-ts   skip the TypeScript compile
//   --readme  rewrite the size table between the README's <!-- sizes --> markers

import { readFile, writeFile, mkdir, rm, cp } from "node:fs/promises";
import { existsSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";
import { basename, dirname, join, relative } from "node:path";
import { parseArgs } from "node:util";
import { execFileSync } from "node:child_process";
import asc from "assemblyscript/asc";
import binaryen from "binaryen";
import { componentEmbed, componentNew } from "@bytecodealliance/jco-transpile/wasm-tools";
import { transpileBytes, writeFiles } from "@bytecodealliance/jco-transpile";
import { opt as optimizeComponent } from "@bytecodealliance/jco";
import { _setPreopens } from "@bytecodealliance/preview2-shim/filesystem";
import { cores } from "./cores.mjs";
import { buildGlobal, GLOBAL_WASM } from "./global.mjs";
import { AGENT_WEB, buildAgentWeb } from "./agent-web.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const build = join(root, "build");
/** This run's scratch directory (steps on the way to artifacts), its own so that builds running at once do not remove each other's. */
const scratch = join(build, `tmp-${process.pid}`);
/** jco's lib/: the preview1 adapters and WASI's WIT (not in its package exports: found beside its entry). */
const jcoLib = fileURLToPath(new URL("../lib/", import.meta.resolve("@bytecodealliance/jco")));

const { values: opts } = parseArgs({
  options: {
    only: { type: "string" },
    "no-ts": { type: "boolean", default: false },
    readme: { type: "boolean", default: false },
  },
});
const only = opts.only ? new Set(opts.only.split(",")) : null;
const selected = cores.filter((c) => !only || only.has(c.name));
if (only && selected.length !== only.size) {
  throw new Error(`--only names an unknown core; known: ${cores.map((c) => c.name).join(", ")}`);
}

/**
 * Compiles one AssemblyScript entry with asconfig.json's `target`; returns the binary.
 * With `isolated`, asc runs in a child process: asc keeps `--lib` libraries (the wasi-shim's)
 * in module state, and a core compiled in-process after a command would fail to build.
 */
async function compile(entry, target, out, extra = [], isolated = false) {
  const args = [entry, "--config", "asconfig.json", "--target", target, "-o", out, ...extra];
  if (isolated) {
    const asc = join(root, "node_modules/assemblyscript/bin/asc.js");
    try {
      execFileSync(process.execPath, [asc, ...args], { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
    } catch (e) {
      throw new Error(`asc ${entry} (${target}) failed:\n${e.stderr?.toString() ?? e.message}`);
    }
    return readFile(out);
  }
  const stderr = [];
  const { error } = await asc.main(args, {
    stdout: { write: () => true },
    stderr: { write: (s) => (stderr.push(String(s)), true) },
  });
  if (error) throw new Error(`asc ${entry} (${target}) failed:\n${stderr.join("")}`);
  return readFile(out);
}

/**
 * Flags for a WASI preview1 command: the wasi-shim supplies abort, console, process, …
 * Its asconfig.json is expanded into flags: a second `--config` would replace asconfig.json,
 * silently dropping the release target's optimisation (an -O0 build, ~10× larger). asconfig.json's
 * own `use: ["abort="]` still wins over the shim's `abort=wasi_abort`: an abort traps.
 */
const shimDir = "node_modules/@assemblyscript/wasi-shim";
const shim = JSON.parse(await readFile(join(root, shimDir, "asconfig.json"), "utf8")).options;
const COMMAND_FLAGS = [
  "--lib", join(shimDir, shim.lib),
  ...shim.use.flatMap((u) => ["--use", u]),
  "--exportStart", shim.exportStart,
];

// binaryen reads with the MVP feature set; name exactly what asc emits. Never Features.All:
// binaryen 132 would then write "compact imports" that V8, wasmtime and jco reject.
const FEATURES =
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.SignExt |
  binaryen.Features.Multivalue |
  binaryen.Features.SIMD128;

/**
 * Renames `<interface>__<function>` exports (and their `cabi_post_` twins) to the canonical
 * `<package>/<interface>@<version>#<function>`, snake_case becoming kebab-case.
 */
function renameExports(binary, witText) {
  const m = /^\s*package\s+([a-z0-9-]+:[a-z0-9-]+)@([0-9][^;\s]*)\s*;/m.exec(witText);
  if (!m) throw new Error("WIT file has no `package ns:name@version;` line");
  const [, pkg, version] = m;
  const mod = binaryen.readBinary(binary);
  mod.setFeatures(FEATURES);
  const renames = [];
  for (let i = 0; i < mod.getNumExports(); i++) {
    const info = binaryen.getExportInfo(mod.getExportByIndex(i));
    const hit = /^(cabi_post_)?([a-z0-9_]+?)__([a-z0-9_]+)$/.exec(info.name);
    if (info.kind === binaryen.ExternalFunction && hit) {
      const [, post = "", iface, fn] = hit;
      const kebab = (s) => s.replace(/_/g, "-");
      renames.push([info.name, info.value, `${post}${pkg}/${kebab(iface)}@${version}#${kebab(fn)}`]);
    }
  }
  for (const [from, internal, to] of renames) {
    mod.removeExport(from);
    mod.addFunctionExport(internal, to);
  }
  if (!mod.validate()) throw new Error("binaryen validation failed after renaming exports");
  const out = mod.emitBinary();
  mod.dispose();
  return out;
}

// wasm-tools runs on preview2-shim, which has no preopens by default: without this it sees
// no files and cannot read a WIT path (toolchain.md).
_setPreopens({ "/": "/" });

/** Embeds `world` of the WIT at `witPath` (a file, or a folder with deps/) into `binary`; makes the component. */
async function makeComponent(binary, witPath, world, adapters = []) {
  return componentNew(await componentEmbed({ binary, witPath, world }), adapters);
}

/** Transpiles `component` with jco into build/jco/<name>/. */
async function transpile(name, component) {
  const outDir = join(build, "jco", name);
  await rm(outDir, { recursive: true, force: true });
  const { files } = await transpileBytes(component, { name, outDir });
  await writeFiles(files);
}

/** Builds the component of `core` and transpiles it with jco. */
async function buildComponent(core) {
  const { entry, wit, world } = core.component;
  const tmp = join(scratch, `${core.name}.component-core.wasm`);
  const coreBin = await compile(entry, "release", tmp, [...(core.flags ?? []), ...(core.releaseFlags ?? [])]);
  const witPath = join(root, wit);
  const renamed = renameExports(coreBin, await readFile(witPath, "utf8"));
  const component = await makeComponent(renamed, witPath, world);
  await writeFile(join(build, `${core.name}.component.wasm`), component);
  await transpile(core.name, component);
}

/**
 * Makes WASI preview1 command modules into wasi:cli/run command components with jco's
 * preview1 command adapter, which maps preview1 onto WASI 0.2 and exports `run` (calling the
 * module's `_start`). The world `core.adapter` names what the module imports directly; its
 * wasi: packages resolve from jco's WIT of the WASI version the world file names, laid out
 * as deps/ beside a copy of the world file. `outputs` lists [core binary, component file, release?]; a release
 * component is shrunk (shrinkComponent).
 */
async function adaptCommand(core, outputs) {
  const { wit, world } = core.adapter;
  const text = await readFile(join(root, wit), "utf8");
  const version = /\bwasi:[a-z-]+\/[a-z-]+@(\d+\.\d+\.\d+)/.exec(text)?.[1];
  if (!version) throw new Error(`${wit} imports no versioned wasi: interface`);
  const witDir = join(scratch, `${core.name}-wit`);
  await mkdir(witDir, { recursive: true });
  await writeFile(join(witDir, basename(wit)), text);
  await cp(join(jcoLib, "wit/builtin", version), join(witDir, "deps"), { recursive: true });
  const adapter = await readFile(join(jcoLib, "wasi_snapshot_preview1.command.wasm"));
  const components = [];
  for (const [binary, out, release] of outputs) {
    let component = await makeComponent(binary, witDir, world, [["wasi_snapshot_preview1", adapter]]);
    if (release) component = await shrinkComponent(component);
    await writeFile(out, component);
    components.push(component);
  }
  return components;
}

/** wasm-opt's flags for the core modules inside a release component: asc's features, never --all-features (FEATURES). */
const COMPONENT_OPT_ARGS = [
  "-Oz", "--strip-debug", "--strip-producers",
  ...["mutable-globals", "nontrapping-float-to-int", "bulk-memory", "sign-ext", "multivalue", "simd"].map((f) => `--enable-${f}`),
];

/**
 * Shrinks a release command component without changing what it does: `jco opt` runs
 * wasm-opt -Oz on each core module inside it (the preview1 adapter ships unoptimised with its
 * name section: 26.7 KB -> 17 KB) and strips their names and producers; then the component's
 * own custom sections (`component-name`, 13 KB of debug names, and `producers`) are dropped.
 * The debug twin keeps all names for backtraces.
 */
async function shrinkComponent(component) {
  const wasmOptBin = fileURLToPath(import.meta.resolve("binaryen/bin/wasm-opt"));
  const { component: optimized } = await optimizeComponent(component, { quiet: true, optArgs: COMPONENT_OPT_ARGS, wasmOptBin });
  return dropCustomSections(optimized);
}

/**
 * A component binary without its top-level custom sections (id 0). Layout: an 8-byte
 * preamble, then sections of one id byte and a LEB128 u32 size (Component Model
 * Binary.md, "Component Definitions").
 */
function dropCustomSections(bytes) {
  const kept = [bytes.subarray(0, 8)];
  let p = 8;
  while (p < bytes.length) {
    const start = p++;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[p++];
      size += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
    }
    p += size;
    if (bytes[start] !== 0) kept.push(bytes.subarray(start, p));
  }
  return Buffer.concat(kept);
}

/** Gzip -9 size of a file. */
function gz(bytes) {
  return gzipSync(bytes, { level: 9 }).length;
}

async function sizeTable(artifacts, budgets) {
  const rows = [];
  let over = 0;
  for (const file of artifacts) {
    const bytes = await readFile(join(root, file));
    const b = budgets[file];
    const raw = bytes.length;
    const zipped = gz(bytes);
    const bad = b && ((b.raw !== undefined && raw > b.raw) || (b.gzip !== undefined && zipped > b.gzip));
    if (bad) over++;
    const budget = b ? `${b.raw ?? "–"} / ${b.gzip ?? "–"}` : "";
    rows.push({ file, raw, gzip: zipped, budget, status: b ? (bad ? "OVER" : "ok") : "" });
  }
  return { rows, over };
}

function markdown(rows) {
  const lines = ["| artifact | raw (bytes) | gzip (bytes) | budget raw / gzip | |", "|---|---:|---:|---:|---|"];
  for (const r of rows) lines.push(`| \`${r.file}\` | ${r.raw} | ${r.gzip} | ${r.budget} | ${r.status} |`);
  return lines.join("\n");
}

async function main() {
  await mkdir(join(build, "debug"), { recursive: true });
  await mkdir(scratch, { recursive: true });
  const artifacts = [];
  for (const core of selected) {
    const t0 = performance.now();
    const extra = [...(core.command ? COMMAND_FLAGS : []), ...(core.flags ?? [])];
    // An adapted command's modules are steps on the way to its components.
    const [release, debug] = [join(build, `${core.name}.wasm`), join(build, "debug", `${core.name}.wasm`)];
    const [releaseCore, debugCore] = core.adapter ? [join(scratch, `${core.name}.core.wasm`), join(scratch, `${core.name}.debug.wasm`)] : [release, debug];
    const releaseBin = await compile(core.entry, "release", releaseCore, [...extra, ...(core.releaseFlags ?? [])], !!core.command);
    const debugBin = await compile(core.entry, "debug", debugCore, extra, !!core.command);
    artifacts.push(`build/${core.name}.wasm`);
    if (core.adapter) {
      const [component] = await adaptCommand(core, [[releaseBin, release, true], [debugBin, debug, false]]);
      await transpile(core.name, component);
      artifacts.push(`build/jco/${core.name}/${core.name}.js`);
      // The agent's browser build (JSPI), for the playground's agent panel (scripts/agent-web.mjs).
      if (core.name === AGENT_WEB.core) artifacts.push(await buildAgentWeb(component, build));
    }
    if (core.component) {
      await buildComponent(core);
      artifacts.push(`build/${core.name}.component.wasm`);
      const glue = `build/jco/${core.name}/${core.name}.js`;
      if (existsSync(join(root, glue))) artifacts.push(glue);
    }
    console.log(`built ${core.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  await rm(scratch, { recursive: true, force: true });

  if (!opts["no-ts"]) {
    execFileSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], {
      cwd: root,
      stdio: "inherit",
    });
    // The script-tag build (scripts/global.mjs): dist/clawft.global.js with the cores beside it.
    const missing = GLOBAL_WASM.filter((w) => !existsSync(join(build, w)));
    if (missing.length === 0) artifacts.push(relative(root, await buildGlobal(root)));
    else console.log(`dist/clawft.global.js not built: build/ lacks ${missing.join(", ")}`);
  }

  const budgets = JSON.parse(await readFile(join(root, "budgets.json"), "utf8"));
  const { rows, over } = await sizeTable(artifacts, budgets);
  const table = markdown(rows);
  console.log(`\n${table}\n`);
  // A partial build (--only) updates its own rows and keeps the others' (the playground and
  // tests read the whole table).
  let all = rows;
  if (only && existsSync(join(build, "sizes.json"))) {
    const mine = new Set(rows.map((r) => r.file));
    const kept = JSON.parse(await readFile(join(build, "sizes.json"), "utf8")).filter((r) => !mine.has(r.file));
    all = [...kept, ...rows];
  }
  await writeFile(join(build, "sizes.json"), JSON.stringify(all, null, 2));
  if (opts.readme) {
    const readme = join(root, "README.md");
    const text = await readFile(readme, "utf8");
    const next = text.replace(/<!-- sizes -->[\s\S]*?<!-- \/sizes -->/, `<!-- sizes -->\n${table}\n<!-- /sizes -->`);
    await writeFile(readme, next);
    console.log(`updated ${relative(root, readme)}`);
  }
  const unbuilt = Object.keys(budgets).filter((f) => !f.startsWith("$") && !artifacts.includes(f));
  if (!only && unbuilt.length > 0) throw new Error(`budgets.json names artifacts no core builds: ${unbuilt.join(", ")}`);
  if (over > 0) {
    console.error(`${over} artifact(s) over budget (budgets.json)`);
    process.exit(1);
  }
}

await main();

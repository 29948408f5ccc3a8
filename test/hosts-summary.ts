/**
 * Vitest global setup: probes every host the tests run clawft in (engines, browsers, servers,
 * tools) and prints one summary line of the hosts that run and the hosts that are skipped, with
 * why, at the start and again at the end of the run. A test whose host is missing is skipped
 * with its own reason (see the helpers); this line shows at a glance how much was not run.
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { agentUnavailable } from "./helpers/agent.js";
import { CHROMIUM_PATH, chromiumInstalled } from "./helpers/chromium.js";
import { wamrSimdUnavailable, wamrUnavailable } from "./helpers/wamr.js";
import { wasmtimeUnavailable } from "./helpers/wasmtime.js";
import { workerdBinary } from "./cloudflare/workerd.js";

/** Why a command-line tool cannot run (`undefined` when `<tool> <flag>` exits 0). */
function tool(name: string, flag = "--version"): string | undefined {
  const r = spawnSync(name, [flag], { stdio: "ignore" });
  return r.error || r.status !== 0 ? `${name} not installed` : undefined;
}

/** Why no PostgreSQL server binaries are there (Debian's layout: /usr/lib/postgresql/<major>/bin). */
function postgres(): string | undefined {
  const base = "/usr/lib/postgresql";
  const found = existsSync(base) && readdirSync(base).some((v) => existsSync(`${base}/${v}/bin/postgres`) && existsSync(`${base}/${v}/bin/initdb`));
  return found ? undefined : "postgresql not installed";
}

/** The hosts, each with a probe resolving why it cannot run (undefined: it runs). */
const HOSTS: Array<[string, () => Promise<string | undefined> | string | undefined]> = [
  ["Node", () => undefined],
  ["Wasmtime engine", wasmtimeUnavailable],
  ["wasmtime CLI", () => agentUnavailable("wasmtime-cli")],
  ["WAMR", wamrUnavailable],
  ["WAMR SIMD", wamrSimdUnavailable],
  ["Chromium", () => (chromiumInstalled() ? undefined : `chromium not installed at ${CHROMIUM_PATH}`)],
  ["workerd", () => (workerdBinary && existsSync(workerdBinary) ? undefined : "workerd not installed")],
  ["Redis", () => tool("redis-server")],
  ["PostgreSQL", postgres],
  ["socat", () => tool("socat", "-V")],
  ["mpg123", () => tool("mpg123")],
  ["tmux", () => tool("tmux", "-V")],
];

async function summary(): Promise<string> {
  const results = await Promise.all(HOSTS.map(async ([name, probe]) => [name, await probe()] as const));
  const ran = results.filter(([, why]) => !why).map(([name]) => name);
  const skipped = results.filter(([, why]) => why).map(([name, why]) => `${name}: ${why!.replace(/^skipped: /, "")}`);
  return `hosts: ${ran.length} run (${ran.join(", ")}); ${skipped.length} skipped${skipped.length ? ` (${skipped.join("; ")})` : ""}`;
}

/** Prints the summary before the tests; returns the teardown that prints it after them. */
export default async function setup(): Promise<() => void> {
  const line = await summary();
  console.log(line);
  return () => console.log(line);
}

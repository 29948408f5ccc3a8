/**
 * `clawft relay`: runs the CLASP relay (docs/relay.md) until SIGINT/SIGTERM, then shuts it
 * down cleanly (clients get 1001, pending state is written).
 * @module
 */
import type { Command } from "commander";
import { Relay } from "../relay/server.js";
import { applyEnv, defaultConfig, loadConfigFile, parsePort, parseSerialSpec, redisUrl, type RelayConfig } from "../relay/config.js";

interface RelayFlags {
  config?: string;
  host?: string;
  port?: string;
  storage?: string;
  name?: string;
  serial: string[];
  cluster?: string;
  web: boolean;
}

/** Registers `clawft relay`. */
export function registerRelay(program: Command): void {
  program
    .command("relay")
    .description("run the CLASP relay: WebSocket (subprotocol clasp), playground and /metrics over HTTP")
    .option("-c, --config <file>", "relay.toml to read (also CLAWFT_RELAY_CONFIG)")
    .option("--host <host>", "interface to listen on (also CLAWFT_RELAY_HOST; default 127.0.0.1)")
    .option("-p, --port <port>", "TCP port, 0 for any free one (also CLAWFT_RELAY_PORT; default 7330)")
    .option("--storage <spec>", 'where params persist: "memory" (default), "fs:<dir>", a redis:// or a postgres:// URL')
    .option("--name <name>", "router name sent in WELCOME")
    .option("--serial <path[:baud]>", "join a device's CLASP router on a serial line (repeatable; baud defaults to 115200)", (v: string, all: string[]) => [...all, v], [])
    .option("--cluster <url>", "run as one relay of a cluster behind this Redis (redis://HOST:PORT), which holds the params")
    .option("--no-web", "do not serve the playground")
    .action(async (flags: RelayFlags) => {
      try {
        await run(flags);
      } catch (err) {
        // Configuration and listen errors: one line, no stack.
        console.error(`clawft relay: ${(err as Error).message}`);
        process.exit(1);
      }
    });
}

async function run(flags: RelayFlags): Promise<void> {
  let config: RelayConfig = defaultConfig();
  const file = flags.config ?? process.env.CLAWFT_RELAY_CONFIG;
  if (file) config = await loadConfigFile(config, file);
  config = applyEnv(config);
  if (flags.host) config.host = flags.host;
  if (flags.port !== undefined) config.port = parsePort(flags.port, "--port");
  if (flags.storage) config.storage = flags.storage;
  if (flags.name) config.router = { ...config.router, name: flags.name };
  if (flags.cluster) config.cluster = redisUrl(flags.cluster, "--cluster");
  if (flags.serial.length) config.serial = [...(config.serial ?? []), ...flags.serial.map((s) => parseSerialSpec(s))];
  const relay = await Relay.start({ ...config, ...(flags.web ? {} : { web: false }) });
  const r = relay.restored;
  if (r.restored || r.refused || r.unreadable) {
    console.log(`restored ${r.restored} param(s) from ${config.cluster ?? config.storage}` + (r.refused + r.unreadable ? ` (${r.refused} expired or refused, ${r.unreadable} unreadable)` : ""));
  }
  const auth = config.router.security === "authenticated" ? `, authenticated (${config.router.tokens?.length ?? 0} token(s))` : ", open (no tokens)";
  const store = relay.cluster ? `cluster ${config.cluster} as relay ${relay.cluster.relayId}` : `storage ${config.storage}`;
  console.log(`clawft relay on ${relay.url} (${store}${auth})`);
  console.log(`playground: ${relay.httpUrl}   metrics: ${relay.httpUrl}metrics`);
  for (const d of relay.devices) console.log(`serial ${d.spec.path} at ${d.spec.baudRate} baud: params ${d.spec.pattern} mirrored (connecting…)`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      console.log(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = true;
    console.log(`${signal}: closing connections and writing pending state…`);
    relay.close().then(
      () => {
        console.log("relay stopped");
        process.exit(0);
      },
      (err: Error) => {
        console.error(`relay stopped with an error: ${err.message}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/**
 * Relay configuration: defaults, `relay.toml` (docs/relay.md §relay.toml), environment
 * (`CLAWFT_RELAY_HOST`, `CLAWFT_RELAY_PORT`) and command-line flags, in that order of
 * precedence (later wins); and the `--storage` spec.
 * @module
 */
import { readFile } from "node:fs/promises";
import { parse, TomlError } from "smol-toml";
import type { RouterConfig } from "../clasp/router.js";
import { DEFAULT_HELLO_TIMEOUT, DEFAULT_SESSION_TIMEOUT, ROUTER_LIMITS, securityMode, tokenEntry } from "./router-config.js";
import type { Storage } from "../storage/index.js";

/** Everything a relay needs to start. */
export interface RelayConfig {
  /** Interface to listen on. Defaults to `"127.0.0.1"`. */
  host: string;
  /** TCP port; 0 picks a free one. Defaults to 7330. */
  port: number;
  /** Where params persist: `"memory"`, `"fs:<dir>"`, a `redis://` or a `postgres://` URL. Defaults to `"memory"`. */
  storage: string;
  /** Router identity, limits and security (src/clasp/router.ts). */
  router: RouterConfig;
  /**
   * Bytes a socket may hold unsent before its peer counts as slow (fire frames dropped,
   * others queued, up to `router.maxQueuePerSession`). Defaults to 262,144.
   */
  sendBufferBytes: number;
  /**
   * Bytes of frames one peer may have queued (beyond `sendBufferBytes` in its socket) before
   * it is disconnected with 1008: bounds the memory a client that stops reading can hold. A
   * client's SNAPSHOT is queued at once, so this must exceed the largest state a client
   * subscribes to. Defaults to 16 MiB.
   */
  maxQueueBytes: number;
  /** Seconds a new connection has to complete HELLO before it is closed (1008); 0 never. Defaults to 10. */
  helloTimeout: number;
  /**
   * Seconds between WebSocket pings; a peer that has not answered the previous ping (its TCP
   * connection is dead) is dropped. 0 sends none. Defaults to 30.
   */
  pingInterval: number;
  /** Serial devices to join to the router (docs/device.md). Defaults to none. */
  serial?: SerialSpec[];
  /**
   * A `redis://HOST:PORT` URL: run as one relay of a cluster behind that Redis, which holds
   * the params (docs/relay.md §Cluster). Defaults to none (a standalone relay).
   */
  cluster?: string;
}

/** A serial device of the relay: `--serial PATH[:BAUD]`, or an entry of `serial` in relay.toml. */
export interface SerialSpec {
  /** The port, e.g. `/dev/ttyACM0`. */
  path: string;
  /** Line speed, bits/s. Defaults to 115,200. */
  baudRate?: number;
  /** Addresses that are the device's: mirrored from it, and SETs on them go to it first. Defaults to `"/**"`. */
  pattern?: string;
  /** Token for a device router that requires one. */
  token?: string;
}

/** Thrown for an unreadable or invalid configuration; the message names the file and key. */
export class RelayConfigError extends Error {
  override name = "RelayConfigError";
}

export { DEFAULT_SESSION_TIMEOUT } from "./router-config.js";

/**
 * The default configuration: an open relay on 127.0.0.1:7330 keeping params in memory, with
 * sessions closed after {@link DEFAULT_SESSION_TIMEOUT} s without traffic.
 */
export function defaultConfig(): RelayConfig {
  return {
    host: "127.0.0.1",
    port: 7330,
    storage: "memory",
    router: { name: "clawft relay", sessionTimeout: DEFAULT_SESSION_TIMEOUT },
    sendBufferBytes: 256 * 1024,
    maxQueueBytes: 16 * 1024 * 1024,
    helloTimeout: DEFAULT_HELLO_TIMEOUT,
    pingInterval: 30,
  };
}

type Table = Record<string, unknown>;

/** The relay's own limits (the rest of `[limits]` are the router's). */
type RelayLimit = "sendBufferBytes" | "maxQueueBytes" | "helloTimeout" | "pingInterval";
const RELAY_LIMITS: readonly string[] = ["sendBufferBytes", "maxQueueBytes", "helloTimeout", "pingInterval"] satisfies RelayLimit[];

/** `[limits]` keys of relay.toml and the config field each sets. */
const LIMITS: Record<string, keyof RouterConfig | RelayLimit> = {
  ...ROUTER_LIMITS,
  max_queue_bytes: "maxQueueBytes",
  hello_timeout: "helloTimeout",
  ping_interval: "pingInterval",
  send_buffer_bytes: "sendBufferBytes",
};

/**
 * Smallest useful value of the limits for which 0 (or too little) makes the relay useless:
 * no session, no subscription, no frame or no byte could ever get through. HELLO, the
 * smallest frame a session needs, is about 30 bytes; 64 leaves room for a name.
 */
const MINIMUM: Partial<Record<string, [number, string]>> = {
  max_sessions: [1, "no client could connect"],
  max_subscriptions_per_session: [1, "no client could subscribe"],
  max_message_size: [64, "not even a HELLO would fit"],
  max_queue_per_session: [1, "every client would be cut off at its first queued frame"],
  max_queue_bytes: [1024, "every client would be cut off at its first queued frame"],
  send_buffer_bytes: [1024, "no frame could be sent"],
};

/**
 * Refuses a configuration that would start a relay nobody can use, naming the relay.toml key
 * (and the option field).
 * @throws RelayConfigError e.g. `limits.max_sessions (maxSessions) must be at least 1 (no client could connect), got 0`
 */
export function checkConfig(config: RelayConfig): void {
  for (const [key, field] of Object.entries(LIMITS)) {
    const min = MINIMUM[key];
    if (!min) continue;
    const value = RELAY_LIMITS.includes(field) ? config[field as RelayLimit] : (config.router as Record<string, unknown>)[field];
    if (value === undefined) continue; // the router's default applies
    if (typeof value !== "number" || !Number.isInteger(value) || value < min[0]) {
      fail(`limits.${key} (${field})`, `must be an integer of at least ${min[0]} (${min[1]})`, value);
    }
  }
  for (const key of ["hello_timeout", "ping_interval"] as const) {
    const field = LIMITS[key] as RelayLimit;
    uint(config[field], `limits.${key} (${field})`);
  }
  uint(config.port, "port", 65535);
}

function fail(where: string, what: string, got: unknown): never {
  throw new RelayConfigError(`${where}: ${what}, got ${JSON.stringify(got)}`);
}

function checkKeys(t: Table, allowed: string[], where: string): void {
  for (const k of Object.keys(t)) if (!allowed.includes(k)) fail(where, `unknown key "${k}" (known: ${allowed.join(", ")})`, t[k]);
}

function str(v: unknown, where: string): string {
  if (typeof v !== "string" || v.length === 0) fail(where, "must be a non-empty string", v);
  return v;
}

function uint(v: unknown, where: string, max = 0xffffffff): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) fail(where, `must be an integer in [0, ${max}]`, v);
  return v;
}

/** Checks that `url` is a `redis://` or `rediss://` URL with a host (the cluster's Redis). @throws RelayConfigError */
export function redisUrl(url: string, where: string): string {
  if (!/^rediss?:\/\/[^/]/.test(url)) fail(where, "must be a redis:// URL, e.g. redis://127.0.0.1:6379", url);
  return url;
}

/** Parses a TCP port from text (flags, environment). @throws RelayConfigError */
export function parsePort(text: string, where: string): number {
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(n <= 65535)) fail(where, "must be a port number in [0, 65535]", text);
  return n;
}

/**
 * Parses `PATH[:BAUD]` (e.g. `/dev/ttyUSB0:921600`; a path alone means 115,200 baud). Only a
 * last `:` followed by digits is a baud rate, so paths with colons stay whole.
 * @throws RelayConfigError for an empty path or a baud rate of 0
 */
export function parseSerialSpec(text: string, where = "--serial"): SerialSpec {
  const m = /^(.*):(\d+)$/.exec(text);
  const path = m ? m[1]! : text;
  if (path.length === 0) fail(where, "must be PATH[:BAUD], e.g. /dev/ttyACM0:115200", text);
  if (!m) return { path };
  const baudRate = Number(m[2]);
  if (baudRate === 0 || baudRate > 0xffffffff) fail(where, "baud rate must be a positive integer", text);
  return { path, baudRate };
}

/**
 * Applies the TOML text of a `relay.toml` onto `config` (a copy is returned).
 * @param file named in error messages
 * @throws RelayConfigError for a syntax error, an unknown key or a value of the wrong type
 */
export function applyToml(config: RelayConfig, source: string, file = "relay.toml"): RelayConfig {
  let doc: Table;
  try {
    doc = parse(source) as Table;
  } catch (err) {
    if (err instanceof TomlError) throw new RelayConfigError(`${file}:${err.line}:${err.column}: ${err.message.split("\n")[0]}`);
    throw err;
  }
  checkKeys(doc, ["host", "port", "name", "storage", "security", "limits", "tokens", "serial", "cluster"], file);
  const out: RelayConfig = { ...config, router: { ...config.router } };
  if (doc.host !== undefined) out.host = str(doc.host, `${file}: host`);
  if (doc.port !== undefined) out.port = uint(doc.port, `${file}: port`, 65535);
  if (doc.name !== undefined) out.router.name = str(doc.name, `${file}: name`);
  if (doc.storage !== undefined) out.storage = str(doc.storage, `${file}: storage`);
  if (doc.cluster !== undefined) out.cluster = redisUrl(str(doc.cluster, `${file}: cluster`), `${file}: cluster`);
  if (doc.limits !== undefined) {
    const limits = doc.limits as Table;
    if (typeof limits !== "object" || Array.isArray(limits)) fail(`${file}: limits`, "must be a table", limits);
    checkKeys(limits, Object.keys(LIMITS), `${file}: [limits]`);
    for (const [key, field] of Object.entries(LIMITS)) {
      if (limits[key] === undefined) continue;
      const v = uint(limits[key], `${file}: limits.${key}`);
      if (RELAY_LIMITS.includes(field)) out[field as RelayLimit] = v;
      else (out.router as Record<string, unknown>)[field] = v;
    }
  }
  if (doc.tokens !== undefined) {
    if (!Array.isArray(doc.tokens)) fail(`${file}: tokens`, "must be an array of tables ([[tokens]])", doc.tokens);
    out.router.tokens = (doc.tokens as unknown[]).map((t, i) => tokenEntry(t, `${file}: tokens[${i}]`, fail));
  }
  if (doc.serial !== undefined) {
    if (!Array.isArray(doc.serial)) fail(`${file}: serial`, 'must be an array of "PATH[:BAUD]" strings or tables', doc.serial);
    out.serial = (doc.serial as unknown[]).map((entry, i) => {
      const where = `${file}: serial[${i}]`;
      if (typeof entry === "string") return parseSerialSpec(entry, where);
      if (typeof entry !== "object" || entry === null || Array.isArray(entry)) fail(where, 'must be "PATH[:BAUD]" or a table', entry);
      const t = entry as Table;
      checkKeys(t, ["path", "baud", "pattern", "token"], where);
      const spec: SerialSpec = { path: str(t.path, `${where}.path`) };
      if (t.baud !== undefined) {
        spec.baudRate = uint(t.baud, `${where}.baud`);
        if (spec.baudRate === 0) fail(`${where}.baud`, "must be a positive integer", t.baud);
      }
      if (t.pattern !== undefined) spec.pattern = str(t.pattern, `${where}.pattern`);
      if (t.token !== undefined) spec.token = str(t.token, `${where}.token`);
      return spec;
    });
  }
  const security = securityMode(doc.security, !!out.router.tokens?.length, `${file}: security`, fail);
  if (security) out.router.security = security;
  return out;
}

/**
 * Reads a `relay.toml` file onto `config`.
 * @throws RelayConfigError when the file cannot be read or is invalid
 */
export async function loadConfigFile(config: RelayConfig, path: string): Promise<RelayConfig> {
  let source: string;
  try {
    source = await readFile(path, "utf8");
  } catch (err) {
    throw new RelayConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return applyToml(config, source, path);
}

/** Applies `CLAWFT_RELAY_HOST` and `CLAWFT_RELAY_PORT` from `env`. @throws RelayConfigError */
export function applyEnv(config: RelayConfig, env: Record<string, string | undefined> = process.env): RelayConfig {
  const out = { ...config };
  if (env.CLAWFT_RELAY_HOST) out.host = env.CLAWFT_RELAY_HOST;
  if (env.CLAWFT_RELAY_PORT) out.port = parsePort(env.CLAWFT_RELAY_PORT, "CLAWFT_RELAY_PORT");
  return out;
}

/**
 * Opens the storage a spec names: `"memory"`, `"fs:<dir>"` (one file per param, atomic
 * writes), `redis://…` / `rediss://…`, or `postgres://…` / `postgresql://…` (table
 * `clawft_kv`, docs/storage.md).
 * @throws RelayConfigError for an unknown spec
 */
export async function openStorage(spec: string): Promise<Storage> {
  if (spec === "memory") {
    const { MemoryStorage } = await import("../storage/memory.js");
    return new MemoryStorage();
  }
  if (spec.startsWith("fs:") && spec.length > 3) {
    const { FileStorage } = await import("../storage/fs.js");
    return new FileStorage(spec.slice(3));
  }
  if (/^rediss?:\/\//.test(spec)) {
    const { RedisStorage } = await import("../storage/redis.js");
    return new RedisStorage(spec);
  }
  if (/^postgres(ql)?:\/\//.test(spec)) {
    const { PostgresStorage } = await import("../storage/postgres.js");
    return new PostgresStorage(spec);
  }
  throw new RelayConfigError(`storage must be "memory", "fs:<dir>", a redis:// or a postgres:// URL, got ${JSON.stringify(spec)}`);
}

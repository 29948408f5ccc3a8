/**
 * A room's router configuration from the Worker's environment (wrangler `vars` and secrets),
 * with the keys and meanings of the Node relay's `relay.toml` (docs/relay.md §Configuration):
 *
 * - `CLASP_TOKENS` (a secret): JSON array of `{ "token", "read"?, "write"? }` — relay.toml's
 *   `[[tokens]]` tables; patterns as there (absent list: everything, `[]`: nothing).
 * - `CLASP_SECURITY`: `"open"` or `"authenticated"`; defaults to authenticated when tokens are
 *   given, as in relay.toml.
 * - `CLASP_LIMITS`: relay.toml's router `[limits]` as a JSON object (a wrangler var may be an
 *   object, or a JSON string): `max_sessions`, `max_subscriptions_per_session`,
 *   `max_state_entries`, `max_message_size`, `max_queue_per_session`, `state_ttl`,
 *   `session_timeout` (120 s by default, as the relay's), and the relay's `hello_timeout`
 *   (10 s by default).
 * - `CLASP_NAME`: router name in WELCOME; defaults to `"clawft room"`.
 *
 * relay.toml's own parser (src/relay/config.ts) reads files and TOML for Node; a Worker has
 * neither, so its values arrive as JSON and are checked here with the same rules.
 * @module
 */
import type { RouterConfig } from "../clasp/router.js";
import { DEFAULT_HELLO_TIMEOUT, DEFAULT_SESSION_TIMEOUT, ROUTER_LIMITS, securityMode, tokenEntry } from "../relay/router-config.js";

/** The environment keys a room reads (every one optional). */
export interface RoomEnv {
  CLASP_TOKENS?: string;
  CLASP_SECURITY?: string;
  CLASP_LIMITS?: string | Record<string, unknown>;
  CLASP_NAME?: string;
}

/** What a room runs with: its router's configuration and the deadlines the room itself keeps. */
export interface RoomConfig {
  /** The MiniRouter's configuration (`sessionTimeout` defaults to 120 s, as the Node relay's). */
  router: RouterConfig;
  /** Seconds a new socket has to have its HELLO accepted before it is closed with 1008; 0 never. Defaults to 10. */
  helloTimeout: number;
}

/** Thrown for an invalid room configuration; the message names the variable and key. */
export class RoomConfigError extends Error {
  override name = "RoomConfigError";
}


function fail(where: string, what: string, got: unknown): never {
  throw new RoomConfigError(`${where}: ${what}, got ${JSON.stringify(got)}`);
}

function json(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail(where, `must be JSON (${(e as Error).message})`, text.slice(0, 40));
  }
}

/**
 * The configuration a room runs with: the router's, and the HELLO deadline (relay.toml's
 * `hello_timeout`, which is the relay's and not the router's).
 * @throws RoomConfigError for a malformed variable, an unknown key or a value of the wrong type
 *   (token patterns are compiled later by `MiniRouter.load`, which throws RouterConfigError)
 */
export function roomConfig(env: RoomEnv): RoomConfig {
  const config: RouterConfig = { name: env.CLASP_NAME || "clawft room", sessionTimeout: DEFAULT_SESSION_TIMEOUT };
  let helloTimeout = DEFAULT_HELLO_TIMEOUT;
  if (env.CLASP_LIMITS !== undefined) {
    const limits = typeof env.CLASP_LIMITS === "string" ? json(env.CLASP_LIMITS, "CLASP_LIMITS") : env.CLASP_LIMITS;
    if (typeof limits !== "object" || limits === null || Array.isArray(limits)) fail("CLASP_LIMITS", "must be an object", limits);
    for (const [key, v] of Object.entries(limits as Record<string, unknown>)) {
      const field = key === "hello_timeout" ? "helloTimeout" : ROUTER_LIMITS[key];
      if (!field) fail("CLASP_LIMITS", `unknown key "${key}" (known: ${[...Object.keys(ROUTER_LIMITS), "hello_timeout"].join(", ")})`, v);
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) fail(`CLASP_LIMITS.${key}`, "must be an integer in [0, 4294967295]", v);
      if (field === "helloTimeout") helloTimeout = v;
      else (config as Record<string, unknown>)[field] = v;
    }
  }
  if (env.CLASP_TOKENS !== undefined && env.CLASP_TOKENS !== "") {
    const tokens = json(env.CLASP_TOKENS, "CLASP_TOKENS");
    if (!Array.isArray(tokens)) fail("CLASP_TOKENS", "must be a JSON array of { token, read?, write? }", tokens);
    config.tokens = tokens.map((t: unknown, i) => tokenEntry(t, `CLASP_TOKENS[${i}]`, fail));
  }
  const security = securityMode(env.CLASP_SECURITY, !!config.tokens?.length, "CLASP_SECURITY", fail);
  if (security) config.security = security;
  return { router: config, helloTimeout };
}

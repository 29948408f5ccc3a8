/**
 * The part of a relay's configuration that configures its MiniRouter, read the same way by
 * the Node relay (`relay.toml`, src/relay/config.ts) and the Cloudflare room (Worker vars,
 * src/cloudflare/config.ts): the router's limit keys, token entries and the security mode,
 * and the session deadlines both keep by default (session timeout, HELLO deadline).
 * Platform-neutral (no file system, no TOML): the Worker bundle imports it. Each reader passes
 * its own `fail`, which throws its own error type.
 * @module
 */
import type { RouterConfig } from "../clasp/router.js";

/**
 * Seconds without a frame after which a relay (the Node relay, a Cloudflare room) closes a
 * session, by default (the router's own default is never): abandoned sessions must not hold
 * `maxSessions` slots forever. Live clients that stay quiet are asked with a CLASP PING
 * before then (docs/relay.md §Keeping a session).
 */
export const DEFAULT_SESSION_TIMEOUT = 120;

/**
 * Seconds a new connection has to have its HELLO accepted before a relay closes it with 1008
 * "no HELLO in time", by default (`hello_timeout`; 0 never).
 */
export const DEFAULT_HELLO_TIMEOUT = 10;

/** Reports a bad value at `where` (a file or variable and key) and throws. */
export type Fail = (where: string, what: string, got: unknown) => never;

/** `[limits]` keys (relay.toml) and `CLASP_LIMITS` keys (a room) that set a router field. */
export const ROUTER_LIMITS: Readonly<Record<string, keyof RouterConfig>> = {
  max_sessions: "maxSessions",
  max_subscriptions_per_session: "maxSubscriptionsPerSession",
  max_state_entries: "maxStateEntries",
  max_message_size: "maxMessageSize",
  max_queue_per_session: "maxQueuePerSession",
  state_ttl: "stateTtl",
  session_timeout: "sessionTimeout",
};

/** One token of a router: the token and the address patterns it may read and write. */
export type RouterToken = NonNullable<RouterConfig["tokens"]>[number];

/**
 * Reads one `{ token, read?, write? }` entry (`read`/`write`: arrays of address patterns,
 * compiled later by the router).
 * @throws through `fail` for a non-object, an unknown key, an empty token or a non-array pattern list
 */
export function tokenEntry(t: unknown, where: string, fail: Fail): RouterToken {
  if (typeof t !== "object" || t === null || Array.isArray(t)) return fail(where, "must be a table { token, read?, write? }", t);
  const entry = t as Record<string, unknown>;
  for (const k of Object.keys(entry)) if (k !== "token" && k !== "read" && k !== "write") fail(where, `unknown key "${k}" (known: token, read, write)`, entry[k]);
  if (typeof entry.token !== "string" || entry.token === "") fail(`${where}.token`, "must be a non-empty string", entry.token);
  return {
    token: entry.token as string,
    ...(entry.read !== undefined ? { read: patterns(entry.read, `${where}.read`, fail) } : {}),
    ...(entry.write !== undefined ? { write: patterns(entry.write, `${where}.write`, fail) } : {}),
  };
}

/**
 * The security mode: `value` when given ("open" or "authenticated"), else "authenticated" when
 * there are tokens, else undefined (the router's default, open).
 * @throws through `fail` for any other value
 */
export function securityMode(value: unknown, hasTokens: boolean, where: string, fail: Fail): RouterConfig["security"] | undefined {
  if (value !== undefined && value !== "") {
    if (value !== "open" && value !== "authenticated") return fail(where, 'must be "open" or "authenticated"', value);
    return value;
  }
  return hasTokens ? "authenticated" : undefined;
}

function patterns(v: unknown, where: string, fail: Fail): string[] {
  if (!Array.isArray(v) || v.some((p) => typeof p !== "string")) fail(where, "must be an array of address patterns", v);
  return v as string[];
}

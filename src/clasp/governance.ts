/**
 * Governed addresses: the contract between a CLASP router and a governance layer (a CLP
 * contract, `clawft/clp` governAddresses) that decides what SETs on certain addresses do.
 * `RouterHost` (src/relay/host.ts) implements it for the relay and the in-browser hub.
 * @module
 */
import type { ClaspValue } from "./types.js";

/** A SET the router is about to apply. */
export interface InterceptedSet {
  /** The SET's address. */
  address: string;
  /** The SET's value. */
  value: ClaspValue;
  /** The sending session's id. */
  session: string;
  /** The revision the SET expects, when it carries one. */
  revision?: number | bigint;
  /** Whether the SET takes the param's lock. */
  lock?: boolean;
  /** Whether the SET releases the param's lock. */
  unlock?: boolean;
  /** The SET's TTL word (clasp-wire.md §4.1), when it carries one. */
  ttl?: number;
}

/**
 * What the router does with an intercepted SET: `pass` (apply it normally), `consume` (do
 * not apply it; acknowledge the sender with ACK {address}, with `revision` when given (a
 * relay cluster committed the SET itself); the effects arrive as
 * {@link GovernableRouter.applySet} calls), or `deny` (apply nothing; send the sender
 * ERROR {code, message, address}).
 */
export type InterceptVerdict =
  | { action: "pass" }
  | { action: "consume"; revision?: number | bigint }
  | { action: "deny"; code: number; message: string };

/** Decides about one intercepted SET; may be async (the router keeps each session's frames in order). */
export type SetInterceptor = (set: InterceptedSet) => InterceptVerdict | Promise<InterceptVerdict>;

/**
 * The interface a CLASP router offers to a governance layer.
 *
 * - `interceptSet(patterns, hook)`: from now on, every SET whose address matches one of
 *   `patterns` (CLASP router-trie semantics: `*` exactly one segment, which may be empty;
 *   `**` zero or more segments; `b*` a segment starting with b; everything else literal) is
 *   handed to `hook` after the router's own checks (HELLO done, write scope) and *before* it
 *   is applied or broadcast. Interceptors are asked in registration order; the first whose
 *   patterns match decides (`pass` moves on to the next, then to normal handling). While an
 *   async verdict is pending, later frames of the same session wait (per-session order). A
 *   BUNDLE that would set a governed address is refused (ERROR 402): set it on its own.
 *   Returns a function that removes the interceptor.
 * - `applySet(address, value)`: writes on the governance layer's behalf: not intercepted, not
 *   subject to locks or revision checks, revision + 1, a SET with the new revision broadcast
 *   to every matching subscriber (the original sender included). Resolves the new revision.
 */
export interface GovernableRouter {
  interceptSet(patterns: readonly string[], hook: SetInterceptor): () => void;
  applySet(address: string, value: ClaspValue): number | bigint | Promise<number | bigint>;
}

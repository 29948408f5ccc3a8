/**
 * Governed CLASP addresses: a contract decides what a SET on certain addresses does. A SET
 * on a bound pattern becomes an intent; the committed diff goes out as CLASP SETs (with the
 * router's revisions); a denial goes back to the sender as ERROR 402 with the guard's name.
 *
 * The binding works against the small router interface `GovernableRouter`
 * (src/clasp/governance.ts), which the relay and the in-browser hub implement (`RouterHost`);
 * tests also use an in-memory router.
 * @module
 */
import type { ClaspValue } from "../clasp/index.js";
import type { GovernableRouter, InterceptVerdict, InterceptedSet } from "../clasp/governance.js";
import { GuardDeniedError, PayloadTypeError, ProposalError, CommitError, IntentError, ValidationError } from "./errors.js";
import type { Runtime } from "./runtime.js";

export type { InterceptedSet, InterceptVerdict, SetInterceptor, GovernableRouter } from "../clasp/governance.js";

/** A pattern whose SETs become an intent. */
export interface Binding {
  /** CLASP pattern, e.g. `/flights/*\/select`. */
  pattern: string;
  /** The intent dispatched. */
  intent: string;
  /** The payload from the SET. Defaults to the value when it is an object, else `{ value }`. */
  payload?: (set: InterceptedSet) => Record<string, unknown>;
  /** Commit this transition by name (else the one whose `when` holds). */
  transition?: string;
}

/** Options of {@link governAddresses}. */
export interface GovernOptions {
  bindings: Binding[];
  /** Where committed state is published: path `a.b` → `<statePrefix>/a/b`. Defaults to `"/state"`. */
  statePrefix?: string;
  /** Deny direct SETs under `statePrefix` (ERROR 301): only the contract writes there. Defaults to true. */
  protectState?: boolean;
  /** Called with each publication (address, revision) after a commit. */
  onPublish?: (address: string, revision: number | bigint) => void;
}

/** CLASP error codes used (clasp-wire.md §4.2). */
const FORBIDDEN = 301;
const INVALID_VALUE = 402;
const INTERNAL = 500;

const refusal = (e: unknown): boolean =>
  e instanceof GuardDeniedError || e instanceof PayloadTypeError || e instanceof ProposalError ||
  e instanceof CommitError || e instanceof IntentError || e instanceof ValidationError;

/**
 * Binds `runtime` to `router`: SETs on the bound patterns become intents, committed diffs are
 * published as SETs under `statePrefix`. SETs are handled one at a time (the runtime has one
 * current intent).
 * @returns a function that removes the binding's interceptors
 */
export function governAddresses(runtime: Runtime, router: GovernableRouter, options: GovernOptions): () => void {
  const prefix = (options.statePrefix ?? "/state").replace(/\/+$/, "");
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
  };
  const removers = options.bindings.map((b) =>
    router.interceptSet([b.pattern], (set) =>
      serial(async (): Promise<InterceptVerdict> => {
        const v = set.value;
        const payload = b.payload ? b.payload(set) : v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof Uint8Array) ? (v as Record<string, unknown>) : { value: v };
        try {
          runtime.dispatch(b.intent, payload);
          const result = await runtime.commitAsync(b.transition);
          for (const { path, value } of result.changes) {
            const address = `${prefix}/${path.map((s) => String(s).replace(/\//g, "%2F")).join("/")}`;
            const revision = await router.applySet(address, (value ?? null) as ClaspValue);
            options.onPublish?.(address, revision);
          }
          return { action: "consume" };
        } catch (e) {
          return { action: "deny", code: refusal(e) ? INVALID_VALUE : INTERNAL, message: e instanceof Error ? e.message : String(e) };
        }
      }),
    ),
  );
  if (options.protectState ?? true) {
    removers.push(router.interceptSet([`${prefix}/**`], () => ({ action: "deny", code: FORBIDDEN, message: `${prefix} is written only by the contract` })));
  }
  return () => removers.forEach((r) => r());
}

/**
 * Errors of `clawft/clp`. The engine reports failures as data (code, reason, arguments,
 * location; docs/clp-formats.md §Errors); this module words them. v0.1's messages
 * (clp-semantics.md §12) are kept word for word, so `toThrow("Unknown intent nope")` style
 * checks keep passing; what changed is that each failure is a named Error subclass.
 * @module
 */
import type { ClaspValue } from "../clasp/index.js";

/** Base class of every CLP failure. `code` names the case, e.g. `"UNKNOWN_INTENT"`. */
export class ClpError extends Error {
  override name = "ClpError";

  constructor(
    message: string,
    readonly code: string,
    /** Where in the contract (e.g. `transitions.book.effects[0]`), when known. */
    readonly location?: string,
  ) {
    super(message);
  }
}

/** `dispatch` or `acceptProposal` named an intent that is not there (`Unknown intent x`, `No matching intent`). */
export class IntentError extends ClpError {
  override name = "IntentError";
}

/** A proposal was refused (`Proposal contains invalid field: x`, …) or cannot be accepted. */
export class ProposalError extends ClpError {
  override name = "ProposalError";
}

/** A payload or proposal value does not have its input's declared type. */
export class PayloadTypeError extends ClpError {
  override name = "PayloadTypeError";
}

/**
 * A guard denied the commit (`Guard x denied`). `suggestion` is the guard's proposed
 * correction (roadmap "suggest"), which {@link Runtime.stageProposal} can stage.
 */
export class GuardDeniedError extends ClpError {
  override name = "GuardDeniedError";

  constructor(
    message: string,
    readonly guard: string,
    readonly suggestion: Record<string, unknown> | undefined,
    readonly outcomes: Array<{ name: string; denied: boolean }>,
  ) {
    super(message, "GUARD_DENIED");
  }
}

/** `commit` cannot run: no intent, an unaccepted proposal, incomplete, no or several transitions, busy, wrong mode. */
export class CommitError extends ClpError {
  override name = "CommitError";
}

/** A declarative rule failed while evaluating (wrong operand types, …). */
export class RuleError extends ClpError {
  override name = "RuleError";
}

/** The contract does not compile: bad shape, unknown operator or type, malformed path. */
export class ContractError extends ClpError {
  override name = "ContractError";
}

/** An effect cannot be applied to the state (a path through a number, an index out of range, a CLASP limit). */
export class EffectError extends ClpError {
  override name = "EffectError";
}

/** A snapshot is corrupt, truncated or of another format version. */
export class SnapshotError extends ClpError {
  override name = "SnapshotError";
}

/** An event log is corrupt, out of sequence, or its hash chain does not verify (tampering). */
export class EventLogError extends ClpError {
  override name = "EventLogError";
}

/** A Zod (or other `safeParse`) schema rejected an intent or proposal in strict mode. */
export class ValidationError extends ClpError {
  override name = "ValidationError";

  constructor(
    message: string,
    readonly issues: unknown,
  ) {
    super(message, "VALIDATION");
  }
}

/** An async transition did not settle within its timeout; nothing was applied. */
export class TransitionTimeoutError extends ClpError {
  override name = "TransitionTimeoutError";
}

/** The commit could not be stored; it was rolled back and the intent stays current. */
export class PersistError extends ClpError {
  override name = "PersistError";

  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message, "PERSIST");
  }
}

/** Subscribers threw after a successful commit (the commit stands; the intent is consumed). */
export class SubscriberError extends ClpError {
  override name = "SubscriberError";

  constructor(readonly errors: unknown[]) {
    super(`${errors.length} subscriber(s) threw after the commit: ${errors.map(String).join("; ")}`, "SUBSCRIBER");
  }
}

// ---- wording of engine errors

const TYPE_OF: Record<number, string> = { 0: "null", 1: "boolean", 8: "string", 9: "bytes", 10: "array", 11: "object" };
const typeOf = (tag: number): string => TYPE_OF[tag] ?? "number";
const KINDS = ["any", "number", "integer", "string", "boolean", "date (ISO 8601 string)", "object", "array", "bytes"];
const OPS: Record<number, string> = {
  10: "==", 11: "!=", 12: "<", 13: "<=", 14: ">", 15: ">=", 20: "+", 21: "-", 22: "*", 23: "/", 24: "%",
  25: "min", 26: "max", 27: "abs", 28: "floor", 29: "round", 30: "ceil",
  40: "and", 41: "or", 42: "not", 43: "if", 44: "??", 50: "in", 51: "len", 52: "trim", 53: "concat",
  54: "get", 55: "filter", 56: "map", 57: "some", 58: "all", 60: "type", 61: "now", 62: "date", 63: "append", 64: "merge",
  100: "set", 101: "delete", 102: "push", 103: "insert", 104: "remove", 105: "splice", 106: "filter",
};
const EXPECTED = [
  "", "numbers", "an array", "a string", "objects", "strings", "an array, a string or an object to search",
  "a string, bytes, an array or an object", "an ISO 8601 date (years 0000–9999) or ms since the epoch", "an integer index", "an object with a string key or an array with an index",
];
const WHAT = [
  "", "expected an object", "expected an object of intent definitions", "expected { inputs: { name: type } }",
  'a type is a string such as "number", "string[]" or "date?"', "expected an array", "a guard needs a string name",
  "missing rule", "expected an object of transition definitions", "expected { when, effects }",
  "expected an object of path: expression, or an array of effects",
  "an effect is an object with one key: set, delete, unset, push, insert, remove, splice or filter",
  '"var" takes a path or [path, default]', "intent has name, complete and payload", '"object" takes an object of expressions',
];
/** The codec's reasons an engine error can quote (assembly/clasp/error.ts). */
const CODEC: Record<number, string> = {
  6: "truncated", 7: "unknown value type", 8: "invalid UTF-8 in a string", 9: "nesting deeper than 64 levels",
  12: "trailing bytes", 14: "a string or bytes over 65535 bytes", 15: "an array or map over 65535 entries",
};
const codecReason = (r: unknown): string => CODEC[Number(r)] ?? `codec reason ${String(r)}`;

/** A path (segments) as text: `user.profile.name`, `items.0`. */
export function pathText(segments: unknown): string {
  return Array.isArray(segments) ? segments.map(String).join(".") : String(segments);
}

/** A location (segments) as text: `transitions.book.effects[0]`, `guards[1].deny`. */
function locText(loc: unknown): string {
  if (!Array.isArray(loc)) return "";
  return loc.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join("");
}

function arity(min: number, max: number): string {
  if (max < 0) return `at least ${min}`;
  return min === max ? String(min) : `${min} to ${max}`;
}

function pathMessage(reason: number, a: unknown[]): string {
  switch (reason) {
    case 1: return `Invalid path "${String(a[0])}": empty segment`;
    case 2: return `Invalid path "${String(a[0])}": brackets must hold decimal digits and be followed by "." or the end`;
    case 3: return `Invalid path: segment ${String(a[0])} is neither a key nor an index`;
    case 4: return "Invalid path: expected a string or an array of segments";
    case 5: return `Cannot change ${pathText(a[0])}: index ${Array.isArray(a[1]) ? pathText(a[1]) : String(a[1])} out of range`;
    case 6: return `Cannot set ${pathText(a[0])}: ${pathText(a[1])} is not an object or array`;
    case 7: return `${pathText(a[0])} is not an array`;
    case 8: return `${pathText(a[0])} is not an object`;
    case 9: return "The state root must stay an object and cannot be deleted";
    default: return `Malformed or unknown op "${String(a[0])}"`;
  }
}

function limitMessage(reason: number, a: unknown[]): string {
  switch (reason) {
    case 1: return `Cannot add to ${pathText(a[0])}: an object holds at most 65535 keys`;
    case 2: return `Cannot grow ${pathText(a[0])}: an array holds at most 65535 items`;
    case 3: return `Cannot write ${pathText(a[0])}: state values nest at most ${String(a[1])} levels`;
    default: return `The value exceeds a CLASP limit (${codecReason(a[0])})`;
  }
}

/** Reasons of event log errors whose first argument is the event's sequence number. */
const PER_EVENT = new Set([5, 6, 7, 10, 11, 12]);

function formatMessage(what: string, reason: number, a: unknown[], cause: unknown): string {
  const at = what === "event log" && PER_EVENT.has(reason) ? `event ${String(a[0])}: ` : "";
  switch (reason) {
    case 1: return `${what} too short (${String(a[0])} bytes)`;
    case 2: return `not a CLP ${what} (bad magic)`;
    case 3: return Number(a[0]) === 1 ? `${what} header has reserved bytes set (another format revision)` : `${what} format version ${String(a[0])}; this engine reads version 1`;
    case 4: return `${what} length does not match its header (truncated or padded)`;
    case 5: return at ? `${what}: ${at}hash mismatch (the log was altered or is corrupt)` : `${what} checksum mismatch (corrupt)`;
    case 6: return `${what}: ${at}not a CLASP value (${codecReason(a[a.length - 1])})`;
    case 7: return `${what}: ${at}malformed fields`;
    case 8: return `${what} starts after event ${String(a[0])}, the state is at event ${String(a[1])}`;
    case 9: return `${what} base hash does not match the state's head`;
    case 10: return `${what}: ${at}truncated record`;
    case 11: return `${what}: ${at}out of sequence`;
    default: return `${what}: ${at}${Array.isArray(cause) ? messageOf(cause) : "an op failed"}`;
  }
}

function ruleMessage(reason: number, a: unknown[]): string {
  switch (reason) {
    case 1: return "item and index exist only inside filter, map, some and all";
    case 2: return `"${OPS[Number(a[0])] ?? String(a[0])}" expects ${EXPECTED[Number(a[1])] ?? "another type"}, got ${typeOf(Number(a[2]))}`;
    case 3: return '"concat" cannot mix strings and arrays';
    case 4: return "the result is longer than 65535 bytes (strings) or items (arrays, objects)";
    case 6: return "a suggestion must be an object";
    default: return `rule failed (reason ${reason})`;
  }
}

function contractMessage(reason: number, a: unknown[]): string {
  switch (reason) {
    case 1: return WHAT[Number(a[0])] ?? "malformed";
    case 2: return `unknown type "${String(a[0])}" (known: any, number, integer, string, boolean, date, object, array, bytes; T[] for arrays, a trailing ? for optional)`;
    case 3: return `an operator object must have exactly one key (use {"object": {...}} or {"lit": ...} for data), got ${String(a[0])} keys`;
    case 4: return `unknown operator "${String(a[0])}"`;
    case 5: return `"${String(a[0])}" takes ${arity(Number(a[1]), Number(a[2]))} argument(s), got ${String(a[3])}`;
    case 6: return `a path must start with state, intent, payload, const, item or index, got "${String(a[0])}"`;
    case 7: return `unknown effect "${String(a[0])}" (set, delete, unset, push, insert, remove, splice, filter)`;
    case 8: return "rule nested too deeply";
    default: return Array.isArray(a[0]) ? messageOf(a[0] as unknown[]) : "bad path";
  }
}

/** The message of an engine error value [code, reason, args, loc, cause, …]. */
function messageOf(e: unknown[]): string {
  const code = Number(e[0]);
  const reason = Number(e[1]);
  const a = (Array.isArray(e[2]) ? e[2] : []) as unknown[];
  const loc = locText(e[3]);
  switch (code) {
    case 1: return `Unknown intent ${String(a[0])}`;
    case 2: return `Proposal contains invalid field: ${String(a[0])}`;
    case 3: return `Proposal tries to override required field: ${String(a[0])}`;
    case 4: return "No matching intent";
    case 5: return "No staged proposal to accept";
    case 6: return "No intent to commit";
    case 7: return "Unaccepted AI proposal present";
    case 8: return "Intent is incomplete";
    case 9: return `Guard ${String(a[0])} denied`;
    case 10: return `Expected exactly one matching transition, found ${String(a[0])}`;
    case 11: return "No matching transition";
    case 12: return `Invalid value for ${loc}: expected ${KINDS[Number(a[0])] ?? "another type"}, got ${typeOf(Number(a[1]))}`;
    case 13: return `${loc}: ${ruleMessage(reason, a)}`;
    case 14: return `${loc ? `${loc}: ` : ""}${contractMessage(reason, a)}`;
    case 15: return pathMessage(reason, a);
    case 16: return formatMessage("snapshot", reason, a, e[4]);
    case 17: return formatMessage("event log", reason, a, e[4]);
    case 18: return reason === 3 ? `no engine with handle ${String(a[0])}` : reason === 4 ? "no prepared commit to confirm" : reason === 1 ? `arguments are not a CLASP value (${codecReason(a[0])})` : "arguments have the wrong shape";
    case 19: return "A prepared commit awaits confirm or abort";
    case 20: return limitMessage(reason, a);
    default: return `CLP engine error ${code}`;
  }
}

const NAMES: Record<number, string> = {
  1: "UNKNOWN_INTENT", 2: "INVALID_FIELD", 3: "OVERRIDE_REQUIRED", 4: "NO_MATCHING_INTENT", 5: "NO_STAGED_PROPOSAL",
  6: "NO_INTENT", 7: "UNACCEPTED_PROPOSAL", 8: "INCOMPLETE", 9: "GUARD_DENIED", 10: "AMBIGUOUS_TRANSITION",
  11: "NO_TRANSITION", 12: "TYPE", 13: "RULE", 14: "CONTRACT", 15: "PATH", 16: "SNAPSHOT", 17: "EVENT_LOG",
  18: "ARGUMENTS", 19: "BUSY", 20: "LIMIT",
};

/** The guard outcomes an error value carries: [[name, denied], …]. */
export function outcomesOf(e: readonly ClaspValue[]): Array<{ name: string; denied: boolean }> {
  const list = Array.isArray(e[5]) ? (e[5] as ClaspValue[][]) : [];
  return list.map(([name, denied]) => ({ name: String(name), denied: denied === true }));
}

/**
 * The named error for an engine error value `[code, reason, args, loc, cause, outcomes,
 * suggestion]` (docs/clp-formats.md §Errors).
 */
export function engineError(e: readonly ClaspValue[]): ClpError {
  const code = Number(e[0]);
  const message = messageOf(e as unknown[]);
  const name = NAMES[code] ?? "ENGINE";
  const loc = locText(e[3]) || undefined;
  if (code === 1 || code === 4) return new IntentError(message, name);
  if (code === 2 || code === 3 || code === 5) return new ProposalError(message, name);
  if (code === 9) {
    const s = e[6];
    const suggestion = s && typeof s === "object" && !Array.isArray(s) && !(s instanceof Uint8Array) ? (s as Record<string, unknown>) : undefined;
    return new GuardDeniedError(message, String((e[2] as ClaspValue[])[0]), suggestion, outcomesOf(e));
  }
  if (code >= 6 && code <= 11) return new CommitError(message, name);
  if (code === 12) return new PayloadTypeError(message, name, loc);
  if (code === 13) return new RuleError(message, name, loc);
  if (code === 14) return new ContractError(message, name, loc);
  if (code === 15 || code === 20) return new EffectError(message, name);
  if (code === 16) return new SnapshotError(message, name);
  if (code === 17) return new EventLogError(message, name);
  if (code === 19) return new CommitError(message, name);
  return new ClpError(message, name, loc);
}

// Errors of the CLP engine: a code (what kind of failure), a reason (which case of it), the
// values the message needs, and where in the contract it happened. The wording lives in the
// host (src/clp/errors.ts, docs/clp-formats.md §Errors) so that the core carries no text;
// v0.1's messages (clp-semantics.md §12) are reproduced there word for word.

import { Val, vArr } from "./val";

/** `dispatch`: the intent is not declared. args [name] */
export const E_UNKNOWN_INTENT: u32 = 1;
/** `propose`: a proposal key is not a declared input. args [key] */
export const E_INVALID_FIELD: u32 = 2;
/** `propose`: a proposal replaces a required input the caller gave. args [key] */
export const E_OVERRIDE_REQUIRED: u32 = 3;
/** `acceptProposal`/`propose`: no current intent of that name. */
export const E_NO_MATCHING_INTENT: u32 = 4;
/** `acceptProposal`: nothing staged. */
export const E_NO_STAGED: u32 = 5;
/** `commit`: no current intent. */
export const E_NO_INTENT: u32 = 6;
/** `commit`: a proposal is staged but not accepted. */
export const E_UNACCEPTED: u32 = 7;
/** `commit`: a required input is missing or null. */
export const E_INCOMPLETE: u32 = 8;
/** `commit`: a guard denied. args [guard name] */
export const E_GUARD_DENIED: u32 = 9;
/** `commit()`: not exactly one transition's `when` matched. args [count] */
export const E_AMBIGUOUS: u32 = 10;
/** `commit(name)`: no transition of that name. args [name] */
export const E_NO_TRANSITION: u32 = 11;
/** A payload or proposal value does not have its input's type. loc, args [expected kind, got tag] */
export const E_TYPE: u32 = 12;
/** A rule failed while evaluating. loc, reason, args */
export const E_RULE: u32 = 13;
/** The contract does not compile. loc, reason, args */
export const E_CONTRACT: u32 = 14;
/** An effect cannot be applied to the state, or a path is malformed. reason, args */
export const E_PATH: u32 = 15;
/** A snapshot is corrupt or of another format version. reason, args */
export const E_SNAPSHOT: u32 = 16;
/** An event log is corrupt, out of sequence, or its hash chain is broken. reason, args, cause */
export const E_EVENT_LOG: u32 = 17;
/** The host passed arguments that are not the documented CLASP value. reason, args */
export const E_ARGS: u32 = 18;
/** A prepared commit awaits `confirm` or `abort`. */
export const E_BUSY: u32 = 19;
/** A change would exceed a CLASP limit (65,535 entries or bytes, nesting). reason, args */
export const E_LIMIT: u32 = 20;

/**
 * The argument list of a failure without arguments, shared: argument lists are replaced,
 * never changed, so that `clearFail` (twice a verb) allocates nothing.
 */
const NO_ARGS = new Array<Val>();

/** The first failure of the current call. */
export class Fail {
  static code: u32 = 0;
  static reason: u32 = 0;
  static args: Array<Val> = NO_ARGS;
  /** Where in the contract (segments), or null. */
  static loc: Val | null = null;
  /** The failure this one wraps (an event log's failing op), or null. */
  static cause: Val | null = null;
}

/** Records a failure unless one is already recorded; returns false for `return fail(…)`. */
@noinline export function fail(code: u32, reason: u32 = 0, args: Array<Val> | null = null, loc: Val | null = null): bool {
  if (Fail.code == 0) {
    Fail.code = code;
    Fail.reason = reason;
    Fail.args = args === null ? NO_ARGS : args;
    Fail.loc = loc;
  }
  return false;
}

/** `fail` with one argument value. */
@noinline export function fail1(code: u32, reason: u32, a: Val): bool {
  return fail(code, reason, [a]);
}

/** `fail` with two argument values. */
@noinline export function fail2(code: u32, reason: u32, a: Val, b: Val): bool {
  return fail(code, reason, [a, b]);
}

@inline export function failed(): bool {
  return Fail.code != 0;
}

export function clearFail(): void {
  Fail.code = 0;
  Fail.reason = 0;
  Fail.args = NO_ARGS;
  Fail.loc = null;
  Fail.cause = null;
}

/** Where compile errors are reported: a stack of location segments (`guards`, 1, `deny`). */
export class Loc {
  static stack: Array<Val> = new Array<Val>();
}

/** The current location as an array value. */
export function here(): Val {
  return vArr(Loc.stack.slice());
}

// Reasons. E_RULE (loc = the rule):
/** item/index outside filter, map, some. */
export const RR_ITEM: u32 = 1;
/** args [operator, expected (X_*), got (CLASP tag)] */
export const RR_EXPECTS: u32 = 2;
/** "concat" mixes strings and arrays. */
export const RR_CONCAT_MIX: u32 = 3;
/** A string result over 65,535 bytes. */
export const RR_TOO_LONG: u32 = 4;
/** A suggestion that is not an object. */
export const RR_SUGGEST: u32 = 6;

/** What an operator expected (RR_EXPECTS args[1]). */
export const X_NUMBERS: u32 = 1;
export const X_ARRAY: u32 = 2;
export const X_STRING: u32 = 3;
export const X_OBJECTS: u32 = 4;
export const X_STRINGS_OR_ARRAYS: u32 = 5;
export const X_SEARCHABLE: u32 = 6;
export const X_MEASURABLE: u32 = 7;
export const X_DATE: u32 = 8;
export const X_INDEX: u32 = 9;
export const X_KEYED: u32 = 10;

// E_CONTRACT (loc = the offending part):
/** args [what (W_*)]: expected something else. */
export const CR_EXPECTED: u32 = 1;
/** args [text]: unknown type word. */
export const CR_TYPE: u32 = 2;
/** args [key count]: operator object with other than one key. */
export const CR_ONE_KEY: u32 = 3;
/** args [name]: unknown operator. */
export const CR_OPERATOR: u32 = 4;
/** args [name, min, max, got]: wrong argument count (max -1: unbounded). */
export const CR_ARITY: u32 = 5;
/** args [head]: unknown path root of "var". */
export const CR_ROOT: u32 = 6;
/** args [name]: unknown effect. */
export const CR_EFFECT: u32 = 7;
/** Rule nested too deeply. */
export const CR_DEEP: u32 = 8;
/** A path inside the contract is malformed; cause = the path error. */
export const CR_PATH: u32 = 9;

/** What the contract should have had there (CR_EXPECTED args[0]). */
export const W_OBJECT: u32 = 1;
export const W_INTENTS: u32 = 2;
export const W_INPUTS: u32 = 3;
export const W_TYPE: u32 = 4;
export const W_ARRAY: u32 = 5;
export const W_GUARD_NAME: u32 = 6;
export const W_RULE: u32 = 7;
export const W_TRANSITIONS: u32 = 8;
export const W_TRANSITION: u32 = 9;
export const W_EFFECTS: u32 = 10;
export const W_EFFECT: u32 = 11;
export const W_VAR: u32 = 12;
export const W_INTENT_PART: u32 = 13;
export const W_OBJECT_ARG: u32 = 14;

// E_PATH:
/** args [path text]: empty segment. */
export const PR_EMPTY: u32 = 1;
/** args [path text]: bad brackets. */
export const PR_BRACKET: u32 = 2;
/** args [segment index]: neither a key nor an index. */
export const PR_SEGMENT: u32 = 3;
/** Not a string or an array. */
export const PR_FORM: u32 = 4;
/** args [path, index]: index out of range. */
export const PR_RANGE: u32 = 5;
/** args [path, prefix]: a prefix is not an object or array. */
export const PR_THROUGH: u32 = 6;
/** args [path]: not an array. */
export const PR_NOT_ARRAY: u32 = 7;
/** args [path]: not an object. */
export const PR_NOT_OBJECT: u32 = 8;
/** The root must stay an object and cannot be deleted. */
export const PR_ROOT: u32 = 9;
/** args [kind]: malformed or unknown op. */
export const PR_OP: u32 = 10;

// E_LIMIT:
/** args [path]: object over 65,535 keys. */
export const LR_MAP: u32 = 1;
/** args [path]: array over 65,535 items. */
export const LR_ARRAY: u32 = 2;
/** args [path, max]: nesting too deep. */
export const LR_DEPTH: u32 = 3;
/** args [codec reason]: the event, state or answer does not encode. */
export const LR_ENCODE: u32 = 4;

// E_SNAPSHOT and E_EVENT_LOG:
/** args [bytes]: too short. */
export const FR_SHORT: u32 = 1;
/** Bad magic. */
export const FR_MAGIC: u32 = 2;
/** args [version]: another format version. */
export const FR_VERSION: u32 = 3;
/** Length does not match the header. */
export const FR_LENGTH: u32 = 4;
/** Checksum or chain hash mismatch. args [event] for logs. */
export const FR_HASH: u32 = 5;
/** args [codec reason] (+ [event] first for logs): body is not a CLASP value. */
export const FR_VALUE: u32 = 6;
/** Missing or malformed fields. args [event] for logs. */
export const FR_FIELDS: u32 = 7;
/** args [base, state]: a log that does not start at the state's head. */
export const FR_BASE: u32 = 8;
/** Base hash differs from the state's head. */
export const FR_BASE_HASH: u32 = 9;
/** args [event]: truncated record. */
export const FR_TRUNCATED: u32 = 10;
/** args [event]: out of sequence. */
export const FR_SEQUENCE: u32 = 11;
/** args [event]: an op failed; cause = its error. */
export const FR_OP: u32 = 12;

// E_ARGS:
/** args [codec reason]: not a CLASP value. */
export const AR_VALUE: u32 = 1;
/** The argument has the wrong shape. */
export const AR_SHAPE: u32 = 2;
/** args [handle]: no such engine. */
export const AR_HANDLE: u32 = 3;
/** No prepared commit. */
export const AR_NOT_PREPARED: u32 = 4;

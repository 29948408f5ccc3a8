// Governance of tool calls: every call the model proposes is a CLP intent, decided by the
// contract inside the same wasm (the CLP engine of assembly/clp, driven directly: no host
// round trip). The contract is `$CLAWFT_HOME/contract.json` (CLP's contract descriptor as
// JSON, declarative rules only: docs/clp-rules.md) or, when there is none, the default that
// ships in the binary (default-contract.ts).
//
// A call commits (its guards pass and exactly one transition matches: the state changes, e.g.
// counters per tool and session) or is refused (a guard denies, or no transition matches).
// The contract's state survives across runs under workspace/contract/, in CLP's own formats
// (docs/clp-formats.md): `snapshot` (a CLPS snapshot) and `events.log` (a CLPL event log of the
// commits after it). A commit is prepared in the engine, its event record appended to the
// log, and only then confirmed (write-ahead): a commit that could not be stored is undone.

import { JValue, J_OBJ, J_ARR, parseJson, JsonError } from "../json";
import { Engine, newEngine, failValue, Result, Raw, OK, ERROR, NEED } from "../clp/engine";
import { Fail, clearFail } from "../clp/error";
import { Val, vNull, vBool, vNum, vArr, vText, vStr, item, isNum, num, NULL, STRING, ARRAY, BYTES } from "../clp/val";
import { LOG_MAGIC, LOG_HEADER, HASH, FORMAT_VERSION } from "../clp/log";
import { errno } from "bindings/wasi_snapshot_preview1";
import { readFile, readText, writeFile, appendFile, mkdirs, Fs } from "./host/fs";
import { errLine } from "./host/io";
import { jsonToVal, ValueError, text, codecReason } from "./clasp";
import { DEFAULT_CONTRACT } from "./default-contract";

/** The user's contract, relative to $CLAWFT_HOME. */
export const CONTRACT_FILE = "contract.json";
/** Where the contract's state lives. */
export const STATE_DIR = "workspace/contract";
const SNAPSHOT_FILE = STATE_DIR + "/snapshot";
const EVENTS_FILE = STATE_DIR + "/events.log";
/** The intent every tool call is dispatched as. */
export const TOOL_INTENT = "tool";
/** Events in the log beyond which loading folds them into a new snapshot. */
const COMPACT_EVENTS: i32 = 256;

/** What the contract decided about one tool call. */
export class Decision {
  /** True when the contract committed: the tool may run. */
  committed: bool = false;
  /** The transition that committed. */
  transition: string = "";
  /** Sequence number of the commit's event in the contract's event log. */
  event: f64 = 0;
  /** The guard that denied the call ("" when none did). */
  guard: string = "";
  /** Why the call was not committed: CLP's words (e.g. `Guard no_secrets denied`), or a storage failure. */
  reason: string = "";
  /** True when the call was refused because the contract's state could not be stored (not a contract decision). */
  failed: bool = false;
}

/** The contract's engine for this process. */
export class Governor {
  static engine: Engine | null = null;
  /** Why `open` failed: names the file and the problem. */
  static error: string = "";
  /** Where the contract came from: "contract.json" or "the default contract". */
  static source: string = "";
  /**
   * Guards' `description`s, by name: words for the model when the guard denies. CLP ignores
   * a guard's other members, so a contract may carry them; a guard without one is reported
   * with CLP's words (`Guard x denied`).
   */
  static descriptions: Map<string, string> = new Map<string, string>();

  /**
   * Compiles the contract and loads its state (once per process). Returns false with
   * `Governor.error` when contract.json is not JSON, does not compile (the ContractError's
   * location and words), uses host functions, or the stored state is corrupt; nothing on
   * disk is changed then.
   */
  static open(): bool {
    if (Governor.engine !== null) return true;
    let src = readText(CONTRACT_FILE);
    let name = CONTRACT_FILE;
    if (src === null) {
      if (Fs.errno != errno.NOENT) return Governor.fail(Fs.describe("read", CONTRACT_FILE));
      src = DEFAULT_CONTRACT;
      name = "the default contract";
    }
    let j = parseJson(src!);
    if (j === null) return Governor.fail(name + " is not JSON: " + JsonError.reason + " at offset " + JsonError.at.toString());
    let js = findJs(j!, "");
    if (js !== null) return Governor.fail(name + ": " + js! + ": {\"$js\": …} names a JavaScript function; clawft.wasm runs declarative rules only (docs/clp-rules.md)");
    let guards = j!.get("guards");
    if (guards !== null && guards.kind == J_ARR) {
      for (let i = 0; i < guards.items.length; i++) {
        let g = guards.items[i];
        if (g.kind == J_OBJ && g.has("name") && g.has("description")) Governor.descriptions.set(g.str("name"), g.str("description"));
      }
    }
    let d = jsonToVal(j!);
    if (d === null) return Governor.fail(name + ": " + ValueError.message);
    clearFail();
    let e = newEngine(d!);
    if (e === null) {
      let msg = clpMessage(failValue());
      clearFail();
      return Governor.fail(name + ": ContractError: " + msg);
    }
    if (!loadState(e!)) return false;
    Governor.engine = e;
    Governor.source = name;
    return true;
  }

  /**
   * Decides the intent `tool` with `payload` (a map): dispatch, then a commit prepared at
   * `timeMs` (the event's time; rules' `now`), stored, confirmed. Call `open` first.
   */
  static decide(payload: Val, timeMs: f64): Decision {
    let d = new Decision();
    let e = Governor.engine!;
    clearFail();
    let s = e.dispatch(vArr([vText(TOOL_INTENT), payload]));
    if (s != OK) return refused(d, answer(s));
    answer(s);
    let iso = new Date(<i64>timeMs).toISOString();
    let args = vArr([vNull(), vNum(timeMs), vStr(String.UTF8.encode(iso)), vNull(), vArr([]), vArr([]), vNull(), vBool(false)]);
    s = e.commit(args);
    let r = answer(s);
    if (s == NEED) {
      d.reason = "the contract asks for a host function";
      return d;
    }
    if (s != OK) return refused(d, r);
    // [transition, outcomes, diff, seq, hash, record parts, duplicate]
    let record = joinParts(item(r, 5));
    if (!appendFile(EVENTS_FILE, record)) {
      e.abort();
      d.failed = true;
      d.reason = "the contract's state could not be stored: " + Fs.describe("append to", EVENTS_FILE);
      return d;
    }
    clearFail();
    e.confirm();
    answer(OK);
    d.committed = true;
    d.transition = text(item(r, 0)!.s!);
    d.event = num(item(r, 3)!);
    return d;
  }

  private static fail(message: string): bool {
    Governor.error = message;
    return false;
  }
}

/** The answer of the engine call that returned `status`, as host.ts reads it; resets the engine's statics. */
function answer(status: u32): Val {
  let v = Result.v;
  if (status == ERROR && v.t == NULL) v = failValue();
  clearFail();
  Result.v = vNull();
  Result.raw = false;
  return v;
}

/** Fills `d` for an engine error value `[code, reason, args, loc, …]`. */
function refused(d: Decision, err: Val): Decision {
  let code = item(err, 0);
  let args = item(err, 2);
  if (code !== null && num(code) == 9 && args !== null) {
    let g = item(args, 0);
    if (g !== null && g.t == STRING) d.guard = text(g.s!);
  }
  d.reason = clpMessage(err);
  return d;
}

/** Concatenates byte-string parts (the commit's record) into one buffer. */
function joinParts(parts: Val | null): ArrayBuffer {
  if (parts === null || parts.t != ARRAY) return new ArrayBuffer(0);
  let total = 0;
  for (let i = 0; i < parts.a!.length; i++) total += parts.a![i].s!.byteLength;
  let out = new ArrayBuffer(total);
  let at: usize = 0;
  for (let i = 0; i < parts.a!.length; i++) {
    let b = parts.a![i].s!;
    memory.copy(changetype<usize>(out) + at, changetype<usize>(b), b.byteLength);
    at += <usize>b.byteLength;
  }
  return out;
}

/** The location of the first `{"$js": …}` in contract JSON `j` (e.g. `guards[0].deny`), or null. */
function findJs(j: JValue, at: string): string | null {
  if (j.kind == J_ARR) {
    for (let i = 0; i < j.items.length; i++) {
      let r = findJs(j.items[i], at + "[" + i.toString() + "]");
      if (r !== null) return r;
    }
  } else if (j.kind == J_OBJ) {
    for (let i = 0; i < j.keys.length; i++) {
      if (j.keys[i] == "$js") return at.length > 0 ? at : "the contract";
      let r = findJs(j.items[i], at.length > 0 ? at + "." + j.keys[i] : j.keys[i]);
      if (r !== null) return r;
    }
  }
  return null;
}

// ---------------------------------------------------------------- the contract's stored state

function readU32BE(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

/** A CLPL log header continuing (seq, hash). */
function logHeader(seq: u64, hash: ArrayBuffer): ArrayBuffer {
  let h = new ArrayBuffer(<i32>LOG_HEADER);
  let p = changetype<usize>(h);
  store<u32>(p, bswap<u32>(LOG_MAGIC));
  store<u32>(p + 4, bswap<u32>(FORMAT_VERSION << 24));
  store<u64>(p + 8, bswap<u64>(seq));
  memory.copy(p + 16, changetype<usize>(hash), HASH);
  return h;
}

/**
 * Loads the snapshot and the event log into `e`. Records the snapshot already covers (a crash
 * between writing a snapshot and restarting the log) are skipped; a record cut short at the
 * end of the log (a crash while appending) is dropped with a warning and the log rewritten
 * without it. A log of more than COMPACT_EVENTS events is folded into a new snapshot.
 */
function loadState(e: Engine): bool {
  if (!mkdirs(STATE_DIR)) return Governor.fail(Fs.describe("create", STATE_DIR));
  let snap = readFile(SNAPSHOT_FILE);
  if (snap === null && Fs.errno != errno.NOENT) return Governor.fail(Fs.describe("read", SNAPSHOT_FILE));
  if (snap !== null) {
    clearFail();
    let s = e.restore(changetype<usize>(snap), <usize>snap.byteLength);
    let r = answer(s);
    if (s != OK) return Governor.fail(SNAPSHOT_FILE + ": " + clpMessage(r) + " (move it away to start the contract's state afresh)");
  }
  let log = readFile(EVENTS_FILE);
  if (log === null && Fs.errno != errno.NOENT) return Governor.fail(Fs.describe("read", EVENTS_FILE));
  if (log === null || log.byteLength == 0) {
    if (!writeFile(EVENTS_FILE, logHeader(e.seq, e.head))) return Governor.fail(Fs.describe("write", EVENTS_FILE));
    return true;
  }
  let p = changetype<usize>(log);
  let n = <usize>log.byteLength;
  if (n < LOG_HEADER || readU32BE(p) != LOG_MAGIC) return Governor.fail(EVENTS_FILE + ": not a CLP event log (bad magic or too short)");
  let base = bswap<u64>(load<u64>(p + 8));
  if (base > e.seq) return Governor.fail(EVENTS_FILE + ": starts after event " + base.toString() + " but the snapshot is at event " + e.seq.toString());
  // walk the records: u32 n | n bytes | 32-byte hash
  let at = p + LOG_HEADER;
  let end = p + n;
  let seq = base;
  let startAt = at;
  let baseHash = p + 16;
  let count = 0;
  let torn = false;
  while (at < end) {
    let len: usize = end - at >= 4 ? <usize>readU32BE(at) : 0;
    if (end - at < 4 + HASH || end - at - 4 - HASH < len) {
      errLine("clawft: " + EVENTS_FILE + ": dropped a record cut short at the end (" + (end - at).toString() + " bytes), left by an interrupted write");
      torn = true;
      break;
    }
    at += 4 + len + HASH;
    seq++;
    if (seq <= e.seq) {
      startAt = at;
      baseHash = at - HASH;
    } else count++;
  }
  if (base < e.seq && seq < e.seq) return Governor.fail(EVENTS_FILE + ": ends at event " + seq.toString() + ", before the snapshot's event " + e.seq.toString());
  let from = base < e.seq ? e.seq : base;
  let hashCopy = new ArrayBuffer(<i32>HASH);
  memory.copy(changetype<usize>(hashCopy), baseHash, HASH);
  let header = logHeader(from, hashCopy);
  let body = at - startAt;
  let whole = new ArrayBuffer(<i32>(LOG_HEADER + body));
  memory.copy(changetype<usize>(whole), changetype<usize>(header), LOG_HEADER);
  memory.copy(changetype<usize>(whole) + LOG_HEADER, startAt, body);
  clearFail();
  let s = e.append(changetype<usize>(whole), <usize>whole.byteLength, false);
  let r = answer(s);
  if (s != OK) return Governor.fail(EVENTS_FILE + ": " + clpMessage(r) + " (the contract's state cannot be trusted; move " + STATE_DIR + " away to start afresh)");
  if (count > COMPACT_EVENTS) {
    clearFail();
    let ss = e.snapshot();
    if (ss != OK) return Governor.fail("cannot snapshot the contract's state: " + clpMessage(answer(ss)));
    let bytes = new ArrayBuffer(<i32>Raw.len);
    memory.copy(changetype<usize>(bytes), Raw.ptr(), Raw.len);
    answer(OK);
    if (!writeFile(SNAPSHOT_FILE, bytes)) return Governor.fail(Fs.describe("write", SNAPSHOT_FILE));
    if (!writeFile(EVENTS_FILE, logHeader(e.seq, e.head))) return Governor.fail(Fs.describe("write", EVENTS_FILE));
  } else if (torn || base < e.seq) {
    if (!writeFile(EVENTS_FILE, whole)) return Governor.fail(Fs.describe("write", EVENTS_FILE));
  }
  return true;
}

// ---------------------------------------------------------------- CLP's error words
// The engine reports failures as data (docs/clp-formats.md §Errors); the TypeScript face
// words them in src/clp/errors.ts, and this is the same wording for the agent, which has no
// TypeScript host.

/** A value as message text: strings as is, integral numbers without ".0", arrays as dotted paths. */
function show(v: Val | null): string {
  if (v === null) return "";
  if (v.t == STRING) return text(v.s!);
  if (isNum(v)) {
    let x = num(v);
    return x == Math.floor(x) && Math.abs(x) < 1e15 ? (<i64>x).toString() : x.toString();
  }
  if (v.t == ARRAY) {
    let parts = new Array<string>();
    for (let i = 0; i < v.a!.length; i++) parts.push(show(v.a![i]));
    return parts.join(".");
  }
  if (v.t == NULL) return "null";
  if (v.t == BYTES) return "bytes";
  return "value";
}

function arg(a: Val | null, i: i32): Val | null {
  return a === null ? null : item(a!, i);
}

function argNum(a: Val | null, i: i32): i32 {
  let v = arg(a, i);
  return v !== null && isNum(v) ? <i32>num(v) : -1;
}

/** A location (segments) as text: `transitions.book.effects[0]`, `guards[1].deny`. */
function locText(loc: Val | null): string {
  if (loc === null || loc.t != ARRAY) return "";
  let s = "";
  for (let i = 0; i < loc.a!.length; i++) {
    let seg = loc.a![i];
    if (isNum(seg)) s += "[" + show(seg) + "]";
    else s += (i == 0 ? "" : ".") + show(seg);
  }
  return s;
}

function typeName(tag: i32): string {
  switch (tag) {
    case 0: return "null";
    case 1: return "boolean";
    case 8: return "string";
    case 9: return "bytes";
    case 10: return "array";
    case 11: return "object";
  }
  return "number";
}

/** The pipe-separated part `i` of `list`, or `dflt`. */
function word(list: string, i: i32, dflt: string): string {
  let parts = list.split("|");
  return i >= 0 && i < parts.length && parts[i].length > 0 ? parts[i] : dflt;
}

const KINDS = "any|number|integer|string|boolean|date (ISO 8601 string)|object|array|bytes";
const EXPECTED = "|numbers|an array|a string|objects|strings|an array, a string or an object to search|a string, bytes, an array or an object|an ISO 8601 string|an integer index|an object with a string key or an array with an index";
const WHAT = "|expected an object|expected an object of intent definitions|expected { inputs: { name: type } }|a type is a string such as \"number\", \"string[]\" or \"date?\"|expected an array|a guard needs a string name|missing rule|expected an object of transition definitions|expected { when, effects }|expected an object of path: expression, or an array of effects|an effect is an object with one key: set, delete, unset, push, insert, remove, splice or filter|\"var\" takes a path or [path, default]|intent has name, complete and payload|\"object\" takes an object of expressions";

/** Operator names by the rule compiler's codes (assembly/clp/rules.ts). */
function opName(code: i32): string {
  switch (code) {
    case 10: return "=="; case 11: return "!="; case 12: return "<"; case 13: return "<="; case 14: return ">"; case 15: return ">=";
    case 20: return "+"; case 21: return "-"; case 22: return "*"; case 23: return "/"; case 28: return "floor";
    case 40: return "and"; case 41: return "or"; case 42: return "not"; case 43: return "if"; case 44: return "??";
    case 50: return "in"; case 51: return "len"; case 52: return "trim"; case 53: return "concat"; case 54: return "get";
    case 55: return "filter"; case 56: return "map"; case 57: return "some"; case 61: return "now";
  }
  return code.toString();
}

function contractMessage(reason: i32, a: Val | null): string {
  switch (reason) {
    case 1: return word(WHAT, argNum(a, 0), "malformed");
    case 2: return "unknown type \"" + show(arg(a, 0)) + "\" (known: any, number, integer, string, boolean, date, object, array, bytes; T[] for arrays, a trailing ? for optional)";
    case 3: return "an operator object must have exactly one key (use {\"object\": {...}} or {\"lit\": ...} for data), got " + show(arg(a, 0)) + " keys";
    case 4: return "unknown operator \"" + show(arg(a, 0)) + "\"";
    case 5: {
      let min = argNum(a, 1), max = argNum(a, 2);
      let n = max < 0 ? "at least " + min.toString() : min == max ? min.toString() : min.toString() + " to " + max.toString();
      return "\"" + show(arg(a, 0)) + "\" takes " + n + " argument(s), got " + show(arg(a, 3));
    }
    case 6: return "a path must start with state, intent, payload, const, item or index, got \"" + show(arg(a, 0)) + "\"";
    case 7: return "unknown effect \"" + show(arg(a, 0)) + "\" (set, delete, unset, push, insert, remove, splice, filter)";
    case 8: return "rule nested too deeply";
  }
  let cause = arg(a, 0);
  return cause !== null && cause.t == ARRAY ? clpMessage(cause) : "bad path";
}

function pathMessage(reason: i32, a: Val | null): string {
  let p = show(arg(a, 0));
  switch (reason) {
    case 1: return "Invalid path \"" + p + "\": empty segment";
    case 2: return "Invalid path \"" + p + "\": brackets must hold decimal digits and be followed by \".\" or the end";
    case 3: return "Invalid path: segment " + p + " is neither a key nor an index";
    case 4: return "Invalid path: expected a string or an array of segments";
    case 5: return "Cannot change " + p + ": index " + show(arg(a, 1)) + " out of range";
    case 6: return "Cannot set " + p + ": " + show(arg(a, 1)) + " is not an object or array";
    case 7: return p + " is not an array";
    case 8: return p + " is not an object";
    case 9: return "The state root must stay an object and cannot be deleted";
  }
  return "Malformed or unknown op \"" + p + "\"";
}

/** Reasons of snapshot and event log errors (assembly/clp/error.ts FR_*), by number. */
const FORMAT = "|too short|bad magic: not a CLP file|another format version|length does not match its header (truncated or padded)|hash mismatch (altered or corrupt)|not a CLASP value|malformed fields|starts after the state's last event|base hash does not match the state's head|truncated record|out of sequence|an op failed";

function formatMessage(what: string, reason: i32, a: Val | null, cause: Val | null): string {
  let perEvent = what == "event log" && (reason == 5 || reason == 6 || reason == 7 || reason == 10 || reason == 11 || reason == 12);
  let m = what + ": " + (perEvent ? "event " + show(arg(a, 0)) + ": " : "") + word(FORMAT, reason, "corrupt");
  return reason == 12 && cause !== null && cause.t == ARRAY ? m + ": " + clpMessage(cause) : m;
}

/**
 * The words of a CLP engine error value `[code, reason, args, loc, cause, …]`, as
 * src/clp/errors.ts words them (`Guard no_secrets denied`, `transitions.t.when: "==" takes 2
 * argument(s), got 1`, …).
 */
export function clpMessage(e: Val): string {
  let code = argNum(e, 0);
  let reason = argNum(e, 1);
  let a = item(e, 2);
  let loc = locText(item(e, 3));
  let first = show(arg(a, 0));
  switch (code) {
    case 1: return "Unknown intent " + first;
    case 2: return "Proposal contains invalid field: " + first;
    case 3: return "Proposal tries to override required field: " + first;
    case 4: return "No matching intent";
    case 5: return "No staged proposal to accept";
    case 6: return "No intent to commit";
    case 7: return "Unaccepted AI proposal present";
    case 8: return "Intent is incomplete";
    case 9: return "Guard " + first + " denied";
    case 10: return "Expected exactly one matching transition, found " + first;
    case 11: return "No matching transition";
    case 12: return "Invalid value for " + loc + ": expected " + word(KINDS, argNum(a, 0), "another type") + ", got " + typeName(argNum(a, 1));
    case 13: {
      let m = "rule failed (reason " + reason.toString() + ")";
      if (reason == 1) m = "item and index exist only inside filter, map and some";
      else if (reason == 2) m = "\"" + opName(argNum(a, 0)) + "\" expects " + word(EXPECTED, argNum(a, 1), "another type") + ", got " + typeName(argNum(a, 2));
      else if (reason == 3) m = "\"concat\" cannot mix strings and arrays";
      else if (reason == 4) m = "the result is longer than 65535 bytes";
      else if (reason == 6) m = "a suggestion must be an object";
      return loc + ": " + m;
    }
    case 14: return (loc.length > 0 ? loc + ": " : "") + contractMessage(reason, a);
    case 15: return pathMessage(reason, a);
    case 16: return formatMessage("snapshot", reason, a, item(e, 4));
    case 17: return formatMessage("event log", reason, a, item(e, 4));
    case 18: return "CLP engine arguments have the wrong shape (reason " + reason.toString() + ")";
    case 19: return "A prepared commit awaits confirm or abort";
    case 20: {
      if (reason == 1) return "Cannot add to " + first + ": an object holds at most 65535 keys";
      if (reason == 2) return "Cannot grow " + first + ": an array holds at most 65535 items";
      if (reason == 3) return "Cannot write " + first + ": state values nest at most " + show(arg(a, 1)) + " levels";
      return "The value exceeds a CLASP limit (" + codecReason(<u32>argNum(a, 0)) + ")";
    }
  }
  return "CLP engine error " + code.toString();
}

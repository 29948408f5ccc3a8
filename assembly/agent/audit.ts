// The audit log of tool calls: `workspace/audit.log`, one JSON object per line, hash-chained,
// appended for every decision (a commit, a denial, a malformed call, a tool that failed).
//
// An entry's members, in this order (absent ones are left out):
//   seq         1, 2, 3, … (no gaps)          time        ms since the Unix epoch
//   session     the chat session's key         tool        the tool's name
//   args        the arguments (a string over 1 KiB becomes {"sha256": hex, "bytes": n};
//               arguments that are not a JSON object are kept as their text, summarised alike)
//   decision    "commit" | "deny" | "invalid" (refused before the contract: unknown tool,
//               malformed arguments, a path leaving the workspace) | "error" (the tool failed
//               after its commit, or the commit could not be stored) | "repair" (see below)
//   guard       the guard that denied          transition, event  the committing transition
//                                                          and its contract event's seq
//   reason      why it was not committed or failed
//   prev        hex SHA-256 of the previous entry (64 zeros for the first)
//   hash        hex SHA-256 (FIPS 180-4) of the entry's canonical bytes
// The canonical bytes of an entry are its line's UTF-8 bytes with the final
// `,"hash":"<64 hex digits>"` removed (the line minus that member, ending in `}`): what the
// writer serialised before it knew the hash. So a line verifies with standard tools:
//   sed 's/,"hash":"[0-9a-f]*"}$/}/' <<< "$line" | tr -d '\n' | sha256sum
// Because `prev` is inside the canonical bytes, each hash covers the whole chain before it.
//
// A line cut short by a crash (no line end at the end of the file) is reported by `verify`;
// the next writer moves it to workspace/audit.torn and records a "repair" entry, so the chain
// continues from the last whole entry.

import { EXIT_OK, fail, usage } from "./exit";
import { JValue, J_OBJ, J_NUM, J_STR, parseJsonBytes, JsonError, stringify } from "../json";
import { sha256 } from "../clp/sha256";
import { errno } from "bindings/wasi_snapshot_preview1";
import { readFile, writeFile, appendFile, mkdirs, Fs } from "./host/fs";
import { outLine } from "./host/io";
import { toHex } from "./hex";
import { utf8 } from "./clasp";

/** The audit log, relative to $CLAWFT_HOME. */
export const AUDIT_FILE = "workspace/audit.log";
/** Where a torn last line is kept when the log is repaired. */
export const TORN_FILE = "workspace/audit.torn";
/** `prev` of the first entry. */
export const ZERO_HASH = "0000000000000000000000000000000000000000000000000000000000000000";
/** Strings longer than this (UTF-8 bytes) are summarised in `args`. */
export const SUMMARY_BYTES: i32 = 1024;
/** Arguments whose summarised JSON is longer than this are summarised as a whole. */
const MAX_ARGS_TEXT: i32 = 65536;
/** Length of the final member `,"hash":"<64 hex>"}`. */
const HASH_TAIL: i32 = 75;

/** One decision to record; `Audit.append` adds seq, prev and hash. */
export class AuditEntry {
  time: f64 = 0;
  session: string = "";
  tool: string = "";
  args: JValue = JValue.object();
  decision: string = "";
  guard: string = "";
  transition: string = "";
  event: f64 = 0;
  reason: string = "";
}

/** SHA-256 of bytes `b` as lowercase hex. */
function sha256Hex(p: usize, n: usize): string {
  let out = new ArrayBuffer(32);
  sha256(p, n, changetype<usize>(out));
  return toHex(changetype<usize>(out), 32);
}

/** `{"sha256": "<hex>", "bytes": n}` for UTF-8 bytes `b`: how long text is recorded. */
function summary(b: ArrayBuffer): JValue {
  return JValue.object().set("sha256", JValue.string(sha256Hex(changetype<usize>(b), b.byteLength))).set("bytes", JValue.number(<f64>b.byteLength));
}

function summariseIn(j: JValue): JValue {
  if (j.kind == J_STR) {
    if (j.s.length * 3 <= SUMMARY_BYTES) return j;
    let b = utf8(j.s);
    return b.byteLength > SUMMARY_BYTES ? summary(b) : j;
  }
  if (j.kind == J_OBJ) {
    let o = JValue.object();
    for (let i = 0; i < j.keys.length; i++) o.set(j.keys[i], summariseIn(j.items[i]));
    return o;
  }
  if (j.items.length > 0) {
    let a = JValue.array();
    for (let i = 0; i < j.items.length; i++) a.push(summariseIn(j.items[i]));
    return a;
  }
  return j;
}

/**
 * `j` as recorded in the audit log and shown to the contract: every string longer than
 * SUMMARY_BYTES replaced by its summary, and the whole replaced by the summary of its JSON
 * when that is still over 64 KiB.
 */
export function summarise(j: JValue): JValue {
  let s = summariseIn(j);
  let t = stringify(s);
  return t.length > MAX_ARGS_TEXT ? summary(utf8(stringify(j))) : s;
}

/** Raw argument text as recorded: itself when short, else its summary. */
export function summariseText(t: string): JValue {
  let b = utf8(t);
  return b.byteLength > SUMMARY_BYTES ? summary(b) : JValue.string(t);
}

/** The audit log's head and writer for this process. */
export class Audit {
  /** seq of the last entry (0: none yet). */
  static seq: f64 = 0;
  /** hash of the last entry. */
  static head: string = ZERO_HASH;
  static opened: bool = false;
  /** Why the last call failed. */
  static error: string = "";

  /**
   * Finds the head of the log (its last entry) once per process, repairing a torn last line
   * (see the file comment). False with `Audit.error` when the log cannot be read or its last
   * whole line is not an entry (run `audit verify`).
   */
  static open(): bool {
    if (Audit.opened) return true;
    if (!mkdirs("workspace")) return Audit.fail(Fs.describe("create", "workspace"));
    let b = readFile(AUDIT_FILE, 1 << 30);
    if (b === null && Fs.errno != errno.NOENT) return Audit.fail(Fs.describe("read", AUDIT_FILE));
    if (b === null || b.byteLength == 0) {
      Audit.opened = true;
      return true;
    }
    let p = changetype<usize>(b);
    let n = <usize>b.byteLength;
    let end = n;
    let torn: usize = 0;
    if (load<u8>(p + n - 1) != 10) {
      while (end > 0 && load<u8>(p + end - 1) != 10) end--;
      torn = n - end;
    }
    if (end > 0) {
      let start = end - 1;
      while (start > 0 && load<u8>(p + start - 1) != 10) start--;
      let line = new Line(p, start, end - 1);
      if (!line.parse()) return Audit.fail(AUDIT_FILE + ": its last entry is unreadable (" + line.problem + "); run `clawft.wasm audit verify`");
      Audit.seq = line.seq;
      Audit.head = line.hash;
    }
    if (torn > 0) {
      let frag = new ArrayBuffer(<i32>torn + 1);
      memory.copy(changetype<usize>(frag), p + end, torn);
      store<u8>(changetype<usize>(frag) + torn, 10);
      if (!appendFile(TORN_FILE, frag)) return Audit.fail(Fs.describe("append to", TORN_FILE));
      let kept = new ArrayBuffer(<i32>end);
      memory.copy(changetype<usize>(kept), p, end);
      if (!writeFile(AUDIT_FILE, kept)) return Audit.fail(Fs.describe("write", AUDIT_FILE));
      Audit.opened = true;
      let e = new AuditEntry();
      e.time = <f64>Date.now();
      e.tool = "audit";
      e.args = JValue.object();
      e.decision = "repair";
      e.reason = "removed a torn last line of " + torn.toString() + " bytes (an interrupted write); it is kept in " + TORN_FILE;
      return Audit.append(e);
    }
    Audit.opened = true;
    return true;
  }

  /** Appends `e` as one whole line (one write). Call `open` first. False with `Audit.error` when it cannot be written. */
  static append(e: AuditEntry): bool {
    let seq = Audit.seq + 1;
    let o = JValue.object();
    o.set("seq", JValue.number(seq));
    o.set("time", JValue.number(e.time));
    o.set("session", JValue.string(e.session));
    o.set("tool", JValue.string(e.tool));
    o.set("args", e.args);
    o.set("decision", JValue.string(e.decision));
    if (e.guard.length > 0) o.set("guard", JValue.string(e.guard));
    if (e.transition.length > 0) {
      o.set("transition", JValue.string(e.transition));
      o.set("event", JValue.number(e.event));
    }
    if (e.reason.length > 0) o.set("reason", JValue.string(e.reason));
    o.set("prev", JValue.string(Audit.head));
    let body = utf8(stringify(o));
    let n = body.byteLength;
    let hash = sha256Hex(changetype<usize>(body), n);
    let tail = utf8(",\"hash\":\"" + hash + "\"}\n");
    let line = new ArrayBuffer(n - 1 + tail.byteLength);
    memory.copy(changetype<usize>(line), changetype<usize>(body), n - 1);
    memory.copy(changetype<usize>(line) + n - 1, changetype<usize>(tail), tail.byteLength);
    if (!appendFile(AUDIT_FILE, line)) return Audit.fail(Fs.describe("append to", AUDIT_FILE));
    Audit.seq = seq;
    Audit.head = hash;
    return true;
  }

  private static fail(message: string): bool {
    Audit.error = message;
    return false;
  }
}

/** One line of the log, [start, end) in a buffer at `base` (without its line end), checked by `parse`. */
class Line {
  seq: f64 = 0;
  prev: string = "";
  hash: string = "";
  problem: string = "";
  constructor(public base: usize, public start: usize, public end: usize) {}

  /** Checks the line's form and its own hash; false with `problem` set. */
  parse(): bool {
    let p = this.base + this.start;
    let n = this.end - this.start;
    let j = parseJsonBytes(p, n);
    if (j === null) return this.bad("not JSON: " + JsonError.reason + " at byte " + JsonError.at.toString());
    if (j.kind != J_OBJ) return this.bad("not a JSON object");
    let seq = j.get("seq");
    let prev = j.get("prev");
    let hash = j.get("hash");
    if (seq === null || seq.kind != J_NUM || seq.n < 1 || seq.n != Math.floor(seq.n)) return this.bad("no seq (a positive integer)");
    if (prev === null || prev.kind != J_STR || !isHash(prev.s)) return this.bad("no prev (64 hex digits)");
    if (hash === null || hash.kind != J_STR || !isHash(hash.s)) return this.bad("no hash (64 hex digits)");
    this.seq = seq.n;
    this.prev = prev.s;
    this.hash = hash.s;
    let tail = utf8(",\"hash\":\"" + hash.s + "\"}");
    if (n < <usize>HASH_TAIL + 1 || memory.compare(p + n - <usize>HASH_TAIL, changetype<usize>(tail), <usize>HASH_TAIL) != 0) {
      return this.bad("hash is not the entry's last member");
    }
    // canonical bytes: the line without its hash member, closed by "}"
    let canon = new ArrayBuffer(<i32>(n - <usize>HASH_TAIL + 1));
    memory.copy(changetype<usize>(canon), p, n - <usize>HASH_TAIL);
    store<u8>(changetype<usize>(canon) + n - <usize>HASH_TAIL, 0x7d);
    if (sha256Hex(changetype<usize>(canon), canon.byteLength) != hash.s) return this.bad("hash mismatch: the entry was changed after it was written");
    return true;
  }

  private bad(why: string): bool {
    this.problem = why;
    return false;
  }
}

/** True for 64 lowercase hex digits. */
function isHash(s: string): bool {
  if (s.length != 64) return false;
  for (let i = 0; i < 64; i++) {
    let c = s.charCodeAt(i);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** The outcome of `verifyLog`: the entries that verified, or the first bad one. */
export class Verdict {
  ok: bool = true;
  entries: i32 = 0;
  head: string = ZERO_HASH;
  /** 1-based line number of the first bad entry. */
  line: i32 = 0;
  /** Its seq, when it could be read (0 otherwise). */
  seq: f64 = 0;
  problem: string = "";
}

/**
 * Re-computes the chain of the log bytes `b`: for each line in order, its form and own hash,
 * that its seq follows the previous one, and that its prev is the previous entry's hash.
 * Stops at the first bad line.
 */
export function verifyLog(b: ArrayBuffer): Verdict {
  let v = new Verdict();
  let p = changetype<usize>(b);
  let n = <usize>b.byteLength;
  let at: usize = 0;
  let prevHash = ZERO_HASH;
  let prevSeq: f64 = 0;
  let lineNo = 0;
  while (at < n) {
    lineNo++;
    let end = at;
    while (end < n && load<u8>(p + end) != 10) end++;
    let line = new Line(p, at, end);
    v.line = lineNo;
    if (end == n) {
      v.ok = false;
      v.seq = 0;
      v.problem = "torn: the last line has no line end (" + (end - at).toString() + " bytes), cut short by an interrupted write";
      return v;
    }
    if (!line.parse()) {
      v.ok = false;
      v.seq = line.seq;
      v.problem = line.problem;
      return v;
    }
    v.seq = line.seq;
    if (line.seq != prevSeq + 1) {
      v.ok = false;
      v.problem = line.seq > prevSeq + 1
        ? "seq gap: expected seq " + (<i64>(prevSeq + 1)).toString() + " (an entry before this one is missing)"
        : "seq out of order: expected seq " + (<i64>(prevSeq + 1)).toString();
      return v;
    }
    if (line.prev != prevHash) {
      v.ok = false;
      v.problem = "broken link: prev is not the hash of the entry before it" + (lineNo > 1 ? " (line " + (lineNo - 1).toString() + ")" : " (64 zeros for the first)");
      return v;
    }
    prevHash = line.hash;
    prevSeq = line.seq;
    v.entries++;
    at = end + 1;
  }
  v.line = 0;
  v.seq = 0;
  v.head = prevHash;
  return v;
}

/**
 * `clawft.wasm audit verify`: prints `ok N entries, head <hash>` (exit 0), or names the first
 * bad entry on stderr (exit 1). Exit 2 for other arguments.
 */
export function auditCommand(args: string[]): i32 {
  if (args.length != 1 || args[0] != "verify") return usage("audit: expected `audit verify`");
  let b = readFile(AUDIT_FILE, 1 << 30);
  if (b === null) {
    if (Fs.errno != errno.NOENT) return fail(Fs.describe("read", AUDIT_FILE));
    b = new ArrayBuffer(0);
  }
  let v = verifyLog(b!);
  if (!v.ok) {
    let seq = v.seq > 0 ? " (seq " + (<i64>v.seq).toString() + ")" : "";
    return fail(AUDIT_FILE + " line " + v.line.toString() + seq + ": " + v.problem);
  }
  outLine("ok " + v.entries.toString() + " entries, head " + v.head);
  return EXIT_OK;
}

// The agent's CLASP: its one MiniRouter (assembly/clasp/router, linked as AssemblyScript), the
// persistence of the router's params under $CLAWFT_HOME/state/, and the mapping between JSON
// and CLASP values that the clasp_* tools and the contract use. `clawft.wasm router` (the
// device side) drives the same instance through `Clasp`, so params set by a tool and params
// set over a serial line are one state, saved in one place.
//
// State files (integers big-endian, like CLASP; a record is the router's persistence record,
// docs/router.md §Persistence):
//   state/params       "CLST" | u8 version 1 | 3 zero bytes | u32 count |
//                      count × (u32 address length | address | u32 record length | record) |
//                      32 bytes: SHA-256 of everything before            (written atomically)
//   state/params.log   entries appended after every step that changed a param:
//                      u32 address length | address | u32 record length | record
//                      (record length 0: the param was deleted, e.g. its TTL expired)
// Loading reads the snapshot, then the log (last entry per address wins); a log entry cut by a
// crash at the end is ignored with a warning. A log over 1,024 entries or 1 MiB is folded into
// a new snapshot at load; a crash between writing the snapshot and emptying the log only
// replays entries the snapshot already holds.

import { JValue, J_NULL, J_BOOL, J_NUM, J_STR, J_ARR } from "../json";
import {
  Val, vNull, vBool, vNum, vI64, vStr, vArr, vMap, vBytes, mapPut, encode, decode,
  NULL, BOOL, I8, I16, I32, I64, F32, F64, STRING, BYTES, ARRAY, MAP,
} from "../clp/val";
import { sha256 } from "../clp/sha256";
import { Region, copyBytes } from "../abi/buffer";
import { Wr, writeAt, writtenBytes } from "../clasp/wire";
import { Tr, readTape } from "../clasp/tape";
import { Err, clearError, textPart, partLength, REASON_TEXT } from "../clasp/error";
import { RAW } from "../clasp/value";
import { encodeFrame } from "../clasp/frame";
import { HELLO, PUBLISH, SIGNAL_EVENT } from "../clasp/message";
import { BytesMap, Keyed } from "../clasp/bytesmap";
import { Param, State, readRecord, writeRecord } from "../clasp/router/state";
import { Outbox, outboxReset, EV_STATE, EV_ERROR } from "../clasp/router/outbox";
import * as R from "../clasp/router/router";
import { Journal } from "../clasp/router/journal";
import { errno } from "bindings/wasi_snapshot_preview1";
import { readFile, writeFile, appendFile, mkdirs, Fs } from "./host/fs";
import { errLine } from "./host/io";
import { toHex, fromHex } from "./hex";

// ---------------------------------------------------------------- JSON <-> CLASP values

/** Why the last `jsonToVal` returned null. */
export class ValueError {
  static message: string = "";
}

/** UTF-8 bytes of `s`; an unpaired surrogate becomes U+FFFD, so CLASP's strict decoder reads every string back. */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE);
}

/** Text of UTF-8 bytes. */
export function text(b: ArrayBuffer): string {
  return String.UTF8.decode(b);
}

/** The one key of a one-key object, or "". */
function soleKey(j: JValue): string {
  return j.keys.length == 1 ? j.keys[0] : "";
}

/**
 * The CLASP value of JSON `j`, as the TypeScript face maps JavaScript values: numbers are
 * float64, objects maps (insertion order, the last duplicate key wins), and the project's JSON
 * forms of the types JSON lacks (src/clasp/json.ts): `{"$bytes": "<hex>"}` is a byte string,
 * `{"$bigint": "<decimal>"}` an i64. Null (with `ValueError.message`) for a malformed form.
 */
export function jsonToVal(j: JValue): Val | null {
  switch (j.kind) {
    case J_NULL: return vNull();
    case J_BOOL: return vBool(j.b);
    case J_NUM: return vNum(j.n);
    case J_STR: return vStr(utf8(j.s));
    case J_ARR: {
      let items = new Array<Val>(j.items.length);
      for (let i = 0; i < j.items.length; i++) {
        let v = jsonToVal(j.items[i]);
        if (v === null) return null;
        items[i] = v;
      }
      return vArr(items);
    }
  }
  let key = soleKey(j);
  if (key == "$bytes" || key == "$bigint") {
    let s = j.items[0];
    if (s.kind == J_STR && key == "$bytes") {
      let b = fromHex(s.s);
      if (b !== null) return vBytes(BYTES, b);
    }
    if (s.kind == J_STR && key == "$bigint") {
      let x = parseI64(s.s);
      if (x !== null) return x;
    }
    ValueError.message = key == "$bytes" ? "{\"$bytes\": …} needs an even number of hex digits" : "{\"$bigint\": …} needs a decimal integer in the i64 range";
    return null;
  }
  let m = vMap();
  for (let i = 0; i < j.keys.length; i++) {
    let v = jsonToVal(j.items[i]);
    if (v === null) return null;
    mapPut(m, utf8(j.keys[i]), v);
  }
  return m;
}

/** An i64 value from optional "-" and 1–19 decimal digits, or null when it is not one in range. */
function parseI64(s: string): Val | null {
  let neg = s.startsWith("-");
  let start = neg ? 1 : 0;
  let n = s.length - start;
  if (n < 1 || n > 19) return null;
  let x: u64 = 0;
  for (let i = start; i < s.length; i++) {
    let d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    x = x * 10 + <u64>d;
  }
  if (x > (neg ? <u64>0x8000000000000000 : <u64>0x7fffffffffffffff)) return null;
  return vI64(neg ? <i64>(0 - x) : <i64>x);
}

/** Decimal text of an i64. */
function i64Text(x: i64): string {
  return x.toString();
}

/**
 * The JSON of CLASP value `v`: integers and floats are numbers (an i64 beyond ±2^53 is
 * `{"$bigint": "<decimal>"}`, non-finite floats print as null), byte strings
 * `{"$bytes": "<hex>"}`, maps objects.
 */
export function valToJson(v: Val): JValue {
  switch (v.t) {
    case NULL: return JValue.nul();
    case BOOL: return JValue.boolean(v.i != 0);
    case I8:
    case I16:
    case I32: return JValue.number(<f64>v.i);
    case I64: {
      if (v.i <= 9007199254740992 && v.i >= -9007199254740992) return JValue.number(<f64>v.i);
      return JValue.object().set("$bigint", JValue.string(i64Text(v.i)));
    }
    case F32:
    case F64: return JValue.number(v.f);
    case STRING: return JValue.string(text(v.s!));
    case BYTES: return JValue.object().set("$bytes", JValue.string(toHex(changetype<usize>(v.s!), <usize>v.s!.byteLength)));
    case ARRAY: {
      let a = JValue.array();
      for (let i = 0; i < v.a!.length; i++) a.push(valToJson(v.a![i]));
      return a;
    }
  }
  let o = JValue.object();
  for (let i = 0; i < v.a!.length; i++) o.set(text(v.k![i]), valToJson(v.a![i]));
  return o;
}

/** The codec's words for its reason `id` (assembly/clasp/error.ts REASON_TEXT). */
export function codecReason(id: u32): string {
  let p = textPart(REASON_TEXT, id);
  return String.UTF16.decodeUnsafe(p, partLength << 1);
}

/**
 * The tagged CLASP bytes of `v` (a copy), or null with `ValueError.message` set when it passes
 * a wire limit (strings over 65,535 bytes, more than 65,535 entries, nesting over 64 levels).
 */
export function encodeVal(v: Val): ArrayBuffer | null {
  let n = encode(v);
  if (n == 0) {
    ValueError.message = "the value cannot be a CLASP value: " + codecReason(Err.reason);
    clearError();
    return null;
  }
  return copyBytes(Wr.out.ptr, n);
}

// ---------------------------------------------------------------- the router and its state

const SNAPSHOT_FILE = "state/params";
const LOG_FILE = "state/params.log";
const SNAP_MAGIC: u32 = 0x434c5354; // "CLST"
const SNAP_VERSION: u32 = 1;
/** A log longer than this (entries or bytes) is folded into the snapshot when the state is loaded. */
const COMPACT_ENTRIES: i32 = 1024;
const COMPACT_BYTES: i32 = 1 << 20;

/** The codec's shared writer region: restored after every router step (the router points `Wr.out` at its outbox). */
const WIRE: Region = Wr.out;
/** Scratch for frames the agent's own session sends, and for records being saved. */
const SCRATCH = new Region();
const TAPE = new Region();
let tapeLen: usize = 0;

/** An address and its latest persisted record (null: deleted), while the state files are read. */
class Entry extends Keyed {
  constructor(public address: ArrayBuffer, public record: ArrayBuffer | null) {
    super();
  }
}

/**
 * Carries out the outbox of a step the agent made on its own (a tool's SET or PUBLISH): the
 * router mode installs one so that those frames reach its connections too.
 */
export abstract class Outlet {
  /** Sends the frames of the current outbox (`Outbox`) to their connections. */
  abstract carry(): void;
}

/** Microseconds since the Unix epoch, the router's clock. */
function nowUs(): u64 {
  return <u64>Date.now() * 1000;
}

function readU32BE(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

/** The agent's MiniRouter: load its params once, then step it; every change is saved. */
export class Clasp {
  /** Why the last call failed. */
  static error: string = "";
  static loaded: bool = false;
  /** The agent's own session (0 until its first PUBLISH); router mode ignores its deliveries and closes. */
  static agentConn: u32 = 0;
  /** Where frames of the agent's own steps go (router mode), or null: no peer is connected. */
  static outlet: Outlet | null = null;

  /**
   * Loads the persisted params into the router (once per process; later calls return at
   * once). Returns false with `Clasp.error` naming the file and the problem when a state
   * file cannot be read or is corrupt; nothing is changed on disk then.
   */
  static load(): bool {
    if (Clasp.loaded) return true;
    R.seed(<u32>(Math.random() * 4294967296.0), <u32>(Math.random() * 4294967296.0));
    // A small REPLAY journal (4 frames per address, 256 addresses at most, instead of the
    // relay's 16 × 10,000): the agent serves one peer on a device whose memory is tight.
    Journal.depth = 4;
    Journal.maxAddresses = 256;
    if (!mkdirs("state")) return Clasp.fail(Fs.describe("create", "state"));
    let entries = new BytesMap();
    let order = new Array<Entry>();
    let snap = readFile(SNAPSHOT_FILE);
    if (snap === null && Fs.errno != errno.NOENT) return Clasp.fail(Fs.describe("read", SNAPSHOT_FILE));
    if (snap !== null && !readSnapshot(snap, entries, order)) return false;
    let log = readFile(LOG_FILE);
    if (log === null && Fs.errno != errno.NOENT) return Clasp.fail(Fs.describe("read", LOG_FILE));
    let logEntries = 0;
    let torn = false;
    if (log !== null) {
      let p = changetype<usize>(log);
      let end = p + <usize>log.byteLength;
      while (p < end) {
        let next = entryAt(p, end);
        if (next == 0) {
          errLine("clawft: " + LOG_FILE + ": ignored an entry cut short at its end (" + (end - p).toString() + " bytes), left by an interrupted write");
          torn = true;
          break;
        }
        keepEntry(p, entries, order);
        logEntries++;
        p = next;
      }
    }
    let now = nowUs();
    for (let i = 0; i < order.length; i++) {
      let e = order[i];
      let cur = changetype<Entry>(entries.get(changetype<usize>(e.address), <usize>e.address.byteLength));
      if (cur !== e || e.record === null) continue;
      let rec = e.record!;
      let param = readRecord(changetype<usize>(e.address), <usize>e.address.byteLength, changetype<usize>(rec), <usize>rec.byteLength);
      clearError();
      if (param === null) {
        errLine("clawft: state: ignored a malformed record for " + text(e.address));
        continue;
      }
      R.restore(param, now);
    }
    Clasp.loaded = true;
    if (torn || logEntries > COMPACT_ENTRIES || (log !== null && log.byteLength > COMPACT_BYTES)) return Clasp.compact();
    return true;
  }

  /** Writes every param into a new snapshot (atomically), then empties the log. */
  static compact(): bool {
    let count: u32 = 0;
    let head = new ArrayBuffer(12);
    store<u32>(changetype<usize>(head), bswap<u32>(SNAP_MAGIC));
    store<u32>(changetype<usize>(head), bswap<u32>(SNAP_VERSION << 24), 4);
    let parts = new Array<ArrayBuffer>();
    for (let i = 0; i < State.params.capacity; i++) {
      let p = State.at(i);
      if (p === null) continue;
      parts.push(entryBytes(p.address, p));
      count++;
    }
    store<u32>(changetype<usize>(head), bswap<u32>(count), 8);
    let total = 12;
    for (let i = 0; i < parts.length; i++) total += parts[i].byteLength;
    let out = new ArrayBuffer(total + 32);
    let q = changetype<usize>(out);
    memory.copy(q, changetype<usize>(head), 12);
    let at: usize = 12;
    for (let i = 0; i < parts.length; i++) {
      memory.copy(q + at, changetype<usize>(parts[i]), parts[i].byteLength);
      at += <usize>parts[i].byteLength;
    }
    sha256(q, at, q + at);
    Wr.out = WIRE;
    if (!writeFile(SNAPSHOT_FILE, out)) return Clasp.fail(Fs.describe("write", SNAPSHOT_FILE));
    if (!writeFile(LOG_FILE, new ArrayBuffer(0))) return Clasp.fail(Fs.describe("write", LOG_FILE));
    return true;
  }

  /** Opens a connection for a transport peer; its handle, or 0 when the router is full. */
  static connect(): u32 {
    outboxReset();
    R.clearDue();
    let c = R.connect(nowUs());
    Wr.out = WIRE;
    return c;
  }

  /** Closes connection `conn` (its session, subscriptions and locks end). */
  static disconnect(conn: u32): bool {
    outboxReset();
    R.clearDue();
    R.disconnect(conn);
    return Clasp.settle();
  }

  /**
   * Hands the frame [p, p + len) received on `conn` to the router. Its outbox (`Outbox`:
   * frames, deliveries, events) is then the caller's to carry out; changed params are already
   * saved. Returns false when `conn` is not open or saving failed (`Clasp.error`).
   */
  static receive(conn: u32, p: usize, len: usize): bool {
    outboxReset();
    R.clearDue();
    let ok = R.receive(conn, p, len, nowUs());
    return Clasp.settle() && ok;
  }

  /** Advances the router's clock (gesture flushes, TTL expiry, idle sessions); returns when to call again (µs, 0: nothing due). */
  static tick(): f64 {
    __collect();
    outboxReset();
    R.clearDue();
    let next = R.tick(nowUs());
    Clasp.settle();
    return <f64>next;
  }

  /** The param at `address`, or null. */
  static get(address: string): Param | null {
    let a = utf8(address);
    return State.get(changetype<usize>(a), <usize>a.byteLength);
  }

  /**
   * Sets `address` to `value` on the agent's behalf, as the router's own writer (the contract
   * is the authority: no lock or revision check, like a governance layer's write). Returns
   * the new revision; 0 with `Clasp.error` when the value is too large for a param or saving
   * failed (then the param is set in memory but not on disk).
   */
  static set(address: string, value: Val): u64 {
    let bytes = encodeVal(value);
    if (bytes === null) return Clasp.fail0(ValueError.message);
    let a = utf8(address);
    outboxReset();
    R.clearDue();
    let revision = R.hostSet(changetype<usize>(a), <usize>a.byteLength, changetype<usize>(bytes!), <usize>bytes!.byteLength, nowUs());
    if (revision == 0) {
      Wr.out = WIRE;
      return Clasp.fail0("the address and value together exceed a param's 65,455 bytes");
    }
    if (!Clasp.settle()) return 0;
    Clasp.carry();
    return revision;
  }

  /**
   * Publishes an event at `address` (with `value`, or none) from the agent's own session.
   * Returns how many subscribers it was delivered to; -1 with `Clasp.error` when the router
   * refused it (its CLASP error code) or it does not fit a frame.
   */
  static publish(address: string, value: Val | null): i32 {
    let raw: ArrayBuffer | null = null;
    if (value !== null) {
      raw = encodeVal(value!);
      if (raw === null) return Clasp.failNeg(ValueError.message);
    }
    if (Clasp.agentConn == 0 && !Clasp.hello()) return -1;
    let a = utf8(address);
    tapeLen = 0;
    put(PUBLISH | (1 << 12) | (1 << 16));
    put(SIGNAL_EVENT);
    put(0); // phase: start (ignored for events)
    putBytes(0x08, a);
    if (raw !== null) {
      put(1);
      putBytes(RAW, raw!);
    } else put(0);
    put(0); // no timestamp
    put(0); // no id
    put(0); // no rate
    let n = frame();
    if (n == 0) return -1;
    outboxReset();
    R.clearDue();
    R.receive(Clasp.agentConn, SCRATCH.ptr, n, nowUs());
    let code = refusal(Clasp.agentConn);
    if (!Clasp.settle()) return -1;
    if (code != 0) return Clasp.failNeg("the router refused it with CLASP error " + code.toString());
    let delivered = <i32>Outbox.nDeliveries;
    Clasp.carry();
    return delivered;
  }

  /** Opens the agent's own session: connect and HELLO (version 1, param and event features, name "clawft-agent"). */
  private static hello(): bool {
    outboxReset();
    let conn = R.connect(nowUs());
    if (conn == 0) return Clasp.fail("the router is full (maxSessions)");
    tapeLen = 0;
    put(HELLO | (1 << 12) | (1 << 16));
    put(1);
    put(0xc0);
    putBytes(0x08, String.UTF8.encode("clawft-agent"));
    putBytes(0x08, new ArrayBuffer(0));
    let n = frame();
    if (n == 0) return false;
    outboxReset();
    R.receive(conn, SCRATCH.ptr, n, nowUs());
    let code = refusal(conn);
    Wr.out = WIRE;
    if (code != 0) return Clasp.fail("the router refused the agent's HELLO with CLASP error " + code.toString());
    Clasp.agentConn = conn;
    return true;
  }

  /** Saves the params the last step changed (EV_STATE events) to the log, and restores the codec's writer. */
  private static settle(): bool {
    Wr.out = WIRE;
    let parts = new Array<ArrayBuffer>();
    let total = 0;
    for (let i: u32 = 0; i < Outbox.nEvents; i++) {
      let at = Outbox.events.ptr + <usize>i * 24;
      if (load<u32>(at) != EV_STATE) continue;
      let base = Outbox.records.ptr;
      let an = <usize>load<u32>(at, 8);
      let rn = <usize>load<u32>(at, 16);
      let e = new ArrayBuffer(<i32>(8 + an + rn));
      let q = changetype<usize>(e);
      store<u32>(q, bswap<u32>(<u32>an));
      memory.copy(q + 4, base + <usize>load<u32>(at, 4), an);
      store<u32>(q + 4 + an, bswap<u32>(<u32>rn));
      memory.copy(q + 8 + an, base + <usize>load<u32>(at, 12), rn);
      parts.push(e);
      total += e.byteLength;
    }
    if (parts.length == 0) return true;
    let all = parts.length == 1 ? parts[0] : new ArrayBuffer(total);
    if (parts.length > 1) {
      let at: usize = 0;
      for (let i = 0; i < parts.length; i++) {
        memory.copy(changetype<usize>(all) + at, changetype<usize>(parts[i]), parts[i].byteLength);
        at += <usize>parts[i].byteLength;
      }
    }
    if (!appendFile(LOG_FILE, all)) return Clasp.fail(Fs.describe("append to", LOG_FILE));
    return true;
  }

  private static carry(): void {
    let o = Clasp.outlet;
    if (o !== null) o.carry();
  }

  private static fail(message: string): bool {
    Clasp.error = message;
    Wr.out = WIRE;
    return false;
  }

  private static fail0(message: string): u64 {
    Clasp.fail(message);
    return 0;
  }

  private static failNeg(message: string): i32 {
    Clasp.fail(message);
    return -1;
  }
}

/** The code of an ERROR the last step sent to connection `conn`, or 0. */
function refusal(conn: u32): u32 {
  for (let i: u32 = 0; i < Outbox.nEvents; i++) {
    let at = Outbox.events.ptr + <usize>i * 24;
    if (load<u32>(at) == EV_ERROR && load<u32>(at, 4) == conn) return load<u32>(at, 8);
  }
  return 0;
}

function put(w: u32): void {
  TAPE.reserve(tapeLen + 4, tapeLen);
  store<u32>(TAPE.ptr + tapeLen, w);
  tapeLen += 4;
}

/** A string (tag 0x08) or RAW value node over bytes `b`, by absolute address (arena base 0). */
function putBytes(tag: u32, b: ArrayBuffer): void {
  put(tag);
  put(<u32>changetype<usize>(b));
  put(<u32>b.byteLength);
}

/** Encodes the one frame on TAPE into SCRATCH; its size, 0 (with `Clasp.error`) when it does not fit a frame. */
function frame(): usize {
  clearError();
  readTape(TAPE.ptr, tapeLen, 0, <usize>memory.size() << 16);
  Tr.raw = true;
  Wr.out = SCRATCH;
  writeAt(0);
  encodeFrame();
  Tr.raw = false;
  let n = writtenBytes();
  Wr.out = WIRE;
  if (Err.code != 0) {
    Clasp.error = "the message does not fit a CLASP frame: " + codecReason(Err.reason);
    clearError();
    return 0;
  }
  return n;
}

/** The state-file entry of `p` (its current record). */
function entryBytes(address: ArrayBuffer, p: Param): ArrayBuffer {
  Wr.out = SCRATCH;
  writeAt(0);
  writeRecord(p);
  let rn = writtenBytes();
  let an = <usize>address.byteLength;
  let e = new ArrayBuffer(<i32>(8 + an + rn));
  let q = changetype<usize>(e);
  store<u32>(q, bswap<u32>(<u32>an));
  memory.copy(q + 4, changetype<usize>(address), an);
  store<u32>(q + 4 + an, bswap<u32>(<u32>rn));
  memory.copy(q + 8 + an, SCRATCH.ptr, rn);
  return e;
}

/** The end of the entry at [p, end), or 0 when it runs past `end`. */
function entryAt(p: usize, end: usize): usize {
  if (end - p < 4) return 0;
  let an = <usize>readU32BE(p);
  if (end - p - 4 < an + 4) return 0;
  let rn = <usize>readU32BE(p + 4 + an);
  if (end - p - 8 - an < rn) return 0;
  return p + 8 + an + rn;
}

/** Records the entry at `p` (whole, checked by `entryAt`): the latest record of its address. */
function keepEntry(p: usize, entries: BytesMap, order: Array<Entry>): void {
  let an = <usize>readU32BE(p);
  let rn = <usize>readU32BE(p + 4 + an);
  let e = new Entry(copyBytes(p + 4, an), rn == 0 ? null : copyBytes(p + 8 + an, rn));
  entries.set(p + 4, an, e);
  order.push(e);
}

/** Reads the snapshot file into `entries`; false with `Clasp.error` when it is not one. */
function readSnapshot(b: ArrayBuffer, entries: BytesMap, order: Array<Entry>): bool {
  let p = changetype<usize>(b);
  let n = <usize>b.byteLength;
  if (n < 12 + 32 || readU32BE(p) != SNAP_MAGIC) return snapFail("not a clawft router state snapshot (bad magic or too short)");
  if (readU32BE(p + 4) != SNAP_VERSION << 24) return snapFail("format version " + (readU32BE(p + 4) >>> 24).toString() + "; this build reads version 1");
  let sum = new ArrayBuffer(32);
  sha256(p, n - 32, changetype<usize>(sum));
  if (memory.compare(changetype<usize>(sum), p + n - 32, 32) != 0) return snapFail("checksum mismatch (the file is corrupt)");
  let count = readU32BE(p + 8);
  let at = p + 12;
  let end = p + n - 32;
  for (let i: u32 = 0; i < count; i++) {
    let next = entryAt(at, end);
    if (next == 0) return snapFail("entry " + i.toString() + " runs past the end");
    keepEntry(at, entries, order);
    at = next;
  }
  if (at != end) return snapFail("bytes after the last entry");
  return true;
}

function snapFail(why: string): bool {
  Clasp.error = SNAPSHOT_FILE + ": " + why + " (move it away to start with no params)";
  return false;
}

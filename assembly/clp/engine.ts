// The CLP transition engine: one current intent and one staged proposal, proposal validation,
// guards, transition selection, atomic effects, the hash-chained event log, replay and
// snapshots (docs/clp.md). Every verb takes a CLASP value and answers with one (layouts in
// docs/clp-formats.md §Verbs); the host evaluates JavaScript guards, `when`s and effects
// when the engine asks for them ("need").

import {
  Val, vNull, vBool, vNum, vF64, vI64, vStr, vText, vArr, vMap, vBytes, mapAdd, mapGet, mapPut,
  field, item, ascii, eqAscii, bytesEq, encode, decode, decodeItems, isNum, isInt, num, truthy, clone,
  writeVal, writeCount, decodeCall, callValue, Call, NULL, STRING, BYTES, ARRAY, MAP, F64,
} from "./val";
import { Path, Doc, toPath, pathVal, isPrefix } from "./tree";
import { Scope, evaluate, evaluateOwned, isJs, ruleFail, mapOver } from "./rules";
import { Contract, IntentDef, Transition, Effect, checkType, compileContract, FX_FILTER, FX_INSERT, FX_REMOVE } from "./contract";
import {
  Fail, Loc, fail, fail1, fail2, failed, clearFail,
  E_UNKNOWN_INTENT, E_INVALID_FIELD, E_OVERRIDE_REQUIRED, E_NO_MATCHING_INTENT, E_NO_STAGED,
  E_NO_INTENT, E_UNACCEPTED, E_INCOMPLETE, E_GUARD_DENIED, E_AMBIGUOUS, E_NO_TRANSITION,
  E_PATH, E_SNAPSHOT, E_EVENT_LOG, E_ARGS, E_BUSY, E_LIMIT,
  RR_SUGGEST, PR_NOT_ARRAY, PR_OP, LR_ENCODE,
  FR_SHORT, FR_MAGIC, FR_VERSION, FR_LENGTH, FR_HASH, FR_VALUE, FR_FIELDS, FR_BASE, FR_BASE_HASH,
  FR_TRUNCATED, FR_SEQUENCE, FR_OP, AR_VALUE, AR_SHAPE, AR_NOT_PREPARED,
} from "./error";
import {
  Out, rdU32, rdU64, chain, sameHash, HASH, LOG_MAGIC, SNAP_MAGIC, FORMAT_VERSION,
  LOG_HEADER, SNAP_HEADER,
} from "./log";
import { sha256 } from "./sha256";
import { Wr, writeAt, writeU8, writeU16, writeU64 } from "../clasp/wire";
import { Region } from "../abi/buffer";
import { Err, clearError } from "../clasp/error";

/**
 * The payload while no intent is current: shared, since a payload is changed (by accept)
 * only while its intent is current, and dispatch replaces it first.
 */
const NO_PAYLOAD = vMap();

/** The two answers of dispatch, built once (answers are only encoded, never changed or kept). */
const DISPATCHED_COMPLETE = vArr([vBool(true)]);
const DISPATCHED_INCOMPLETE = vArr([vBool(false)]);

/** Verb outcome: the answer is a result, a request for host results, or an error. */
export const OK: u32 = 0;
export const NEED: u32 = 1;
export const ERROR: u32 = 2;

/** Keys of the intent value rules read as `intent`. */
const K_NAME = ascii("name");
const K_PAYLOAD = ascii("payload");
const K_COMPLETE = ascii("complete");

/** What a NEED answer asks for: [kind, detail]. */
const NEED_GUARD: f64 = 1;
const NEED_WHEN: f64 = 2;
const NEED_EFFECTS: f64 = 3;

/** The time the host set with `clock` (ms since the epoch), for commits that pass none. */
export class Clock {
  static ms: f64 = 0;
}

/**
 * The answer of the last verb: a value, raw bytes in `Raw` when `raw`, or CLASP bytes the
 * verb wrote itself at `at` when `wrote` is their count (lean commit answers: no value tree
 * built to be encoded); and what a host may read without decoding it (host.ts puts them in
 * INFO): the record of the last event the verb built (in `REC`, valid until the next verb)
 * and its sequence number, and the `complete` flag of dispatch and accept.
 */
export class Result {
  static v: Val = vNull();
  static raw: bool = false;
  static wrote: usize = 0;
  static at: usize = 0;
  /** Where the record(s) of INFO words 4 and 5 are: `REC` after a commit, the batch's records after a lean batch. */
  static recAt: usize = 0;
  static recLen: usize = 0;
  static seq: f64 = 0;
  static flag: u32 = 0;

  /** Forgets the previous verb's record and flag (at the start of a verb). */
  static start(): void {
    Result.recLen = 0;
    Result.seq = 0;
    Result.flag = 0;
    Result.wrote = 0;
  }
}
export const Raw = new Out();

/**
 * The record of the last event built (u32 n | event | chain hash, docs/clp-formats.md), one
 * region reused by every commit: a commit allocates no record unless its answer carries it.
 */
export const REC = new Region();

/** The records of a lean `batch`, one after another (host.ts points INFO words 4 and 5 at them). */
const RECS = new Out();

function answer(v: Val, status: u32 = OK): u32 {
  Result.v = v;
  Result.raw = false;
  return status;
}

/** Reads a CLASP value from [p, p + n) for a verb; E_ARGS when it is not one. */
export function readArgs(p: usize, n: usize): Val | null {
  let v = decode(p, n);
  if (v === null) fail1(E_ARGS, AR_VALUE, vNum(<f64>Err.reason));
  return v;
}

function argFail(): u32 {
  fail(E_ARGS, AR_SHAPE);
  return ERROR;
}

function codecLimit(): bool {
  return fail1(E_LIMIT, LR_ENCODE, vNum(<f64>Err.reason));
}

@inline function orNull(v: Val | null): Val {
  return v === null ? vNull() : v;
}

/** The current failure as [code, reason, args, loc, cause, outcomes, suggestion]. */
export function failValue(outcomes: Val | null = null, suggestion: Val | null = null): Val {
  return vArr([
    vNum(<f64>Fail.code), vNum(<f64>Fail.reason), vArr(Fail.args), orNull(Fail.loc), orNull(Fail.cause),
    orNull(outcomes), orNull(suggestion),
  ]);
}

// ---- the engine

@final export class Engine {
  c: Contract;
  doc: Doc = new Doc();
  /** The current intent, if any. */
  def: IntentDef | null = null;
  name: Val = vNull();
  payload: Val = vMap();
  complete: bool = false;
  staged: Val | null = null;
  /** Last committed event: its sequence number and chain hash (zeros before the first). */
  seq: u64 = 0;
  head: ArrayBuffer = new ArrayBuffer(<i32>HASH);
  /** Idempotency keys of committed events → their sequence numbers (a map value). */
  keys: Val = vMap();
  /** A prepared commit awaiting confirm/abort: its hash and key. */
  pending: bool = false;
  pendHash: ArrayBuffer = this.head;
  pendKey: ArrayBuffer | null = null;

  /**
   * The event value `finish` fills and encodes for each commit: [seq (i64), time (f64),
   * intent, payload, transition, ops, key?]. Reused: it is only encoded, and its seq and
   * time values belong to it alone (never shared, so changing them in place is safe).
   */
  private ev: Val = vArr([vI64(0), vF64(0), vNull(), vNull(), vNull(), vArr([])]);

  /** `intent` for rules: { name, payload, complete: true } (see commit). */
  iv: Val = vMap();

  /**
   * Scratch of one commit, reused by the next (a commit allocates them only once): its guard
   * outcomes (copied where an answer that outlives the commit holds them) and its ops (only
   * encoded into the event, never kept).
   */
  private outs: Array<Val> = new Array<Val>();
  private opsBuf: Array<Val> = new Array<Val>();
  /** A batch is running (see diff). */
  private inBatch: bool = false;
  /** Nesting of a lean answer in the answer that carries it (2 in a lean batch's [results, failure]), for the CLASP depth limit. */
  private leanDepth: i32 = 0;
  /** The head hash a lean commit writes in place (nothing else keeps this buffer: see finish). */
  private headBuf: ArrayBuffer = new ArrayBuffer(<i32>HASH);

  constructor(c: Contract) {
    this.c = c;
    mapAdd(this.iv, K_NAME, vNull());
    mapAdd(this.iv, K_PAYLOAD, vNull());
    mapAdd(this.iv, K_COMPLETE, vBool(true));
  }

  private busy(): bool {
    return this.pending ? fail(E_BUSY) : true;
  }

  private isComplete(): bool {
    let d = this.def!;
    for (let i = 0, n = d.keys.length; i < n; i++) {
      if (unchecked(d.types[i]).optional) continue;
      let v = mapGet(this.payload, unchecked(d.keys[i]));
      if (v === null || v.t == NULL) return false;
    }
    return true;
  }

  /** Type-checks the declared, non-null keys of map `m` (a payload or a proposal). */
  private checkInputs(m: Val, d: IntentDef): bool {
    for (let i = 0, n = m.a!.length; i < n; i++) {
      let k = unchecked(m.k![i]);
      let j = d.input(k);
      let v = unchecked(m.a![i]);
      if (j >= 0 && v.t != NULL && !checkInput(d, k, v, j)) return false;
    }
    return true;
  }

  /** dispatch [name, payload] → [complete]. Replaces the current intent; clears a staged proposal (Q1). */
  dispatch(args: Val): u32 {
    let nameV = item(args, 0);
    let payload = item(args, 1);
    if (nameV === null || nameV.t != STRING || !this.busy()) return nameV === null || nameV.t != STRING ? argFail() : ERROR;
    let d = this.c.intent(nameV.s!);
    if (d === null) {
      fail1(E_UNKNOWN_INTENT, 0, nameV);
      return ERROR;
    }
    return this.dispatchTo(d, payload);
  }

  /**
   * dispatch from the argument's CLASP bytes at [p, p + n), as `dispatch` of the decoded
   * value answers (same checks, same errors) but building neither the argument array nor the
   * name (the intent's own name value is kept), and with the payload's keys shared with the
   * intent's input names.
   */
  dispatchAt(p: usize, n: usize): u32 {
    let shape = decodeCall(p, n);
    if (shape == 1) {
      readArgs(p, n); // records the codec's reason, as for any verb
      return ERROR;
    }
    if (shape == 2) return argFail();
    if (!this.busy()) return ERROR;
    let d = this.c.intentAt(Call.name, Call.nameLen);
    if (d === null) {
      let name = new ArrayBuffer(Call.nameLen);
      memory.copy(changetype<usize>(name), Call.name, Call.nameLen);
      fail1(E_UNKNOWN_INTENT, 0, vStr(name));
      return ERROR;
    }
    return this.dispatchTo(d, callValue(d.keys));
  }

  /** The part of dispatch after the intent was found: payload checks, then the intent becomes current. */
  private dispatchTo(d: IntentDef, payload: Val | null): u32 {
    let p = payload === null || payload.t == NULL ? vMap() : payload;
    if (p.t != MAP) return argFail();
    if (!this.checkInputs(p, d)) return ERROR;
    this.def = d;
    this.name = d.name;
    this.payload = p;
    this.complete = this.isComplete();
    this.staged = null;
    Result.flag = this.complete ? 1 : 0;
    return answer(this.complete ? DISPATCHED_COMPLETE : DISPATCHED_INCOMPLETE);
  }

  private current(nameV: Val | null): bool {
    if (this.def === null || nameV === null || nameV.t != STRING || !bytesEq(nameV.s!, this.name.s!)) {
      return fail(E_NO_MATCHING_INTENT);
    }
    return true;
  }

  /** propose [name, proposal] → null. Validates the proposal against the intent and stages it. */
  propose(args: Val): u32 {
    if (!this.busy() || !this.current(item(args, 0))) return ERROR;
    let p = item(args, 1);
    if (p === null || p.t != MAP) return argFail();
    let d = this.def!;
    for (let i = 0, n = p.a!.length; i < n; i++) {
      let k = unchecked(p.k![i]);
      let j = d.input(k);
      if (j < 0) {
        fail1(E_INVALID_FIELD, 0, vStr(k));
        return ERROR;
      }
      let have = mapGet(this.payload, k);
      // Q2 fixed: a required key that is present but null may be filled.
      if (!unchecked(d.types[j]).optional && have !== null && have.t != NULL) {
        fail1(E_OVERRIDE_REQUIRED, 0, vStr(k));
        return ERROR;
      }
      let v = unchecked(p.a![i]);
      if (v.t != NULL && !checkInput(d, k, v, j)) return ERROR;
    }
    this.staged = p;
    return answer(vNull());
  }

  /** accept [name] → [complete, payload]. Merges the staged proposal into the payload. */
  accept(args: Val): u32 {
    if (!this.busy() || !this.current(item(args, 0))) return ERROR;
    let s = this.staged;
    if (s === null) {
      fail(E_NO_STAGED);
      return ERROR;
    }
    for (let i = 0, n = s.a!.length; i < n; i++) mapPut(this.payload, unchecked(s.k![i]), unchecked(s.a![i]));
    this.complete = this.isComplete();
    this.staged = null;
    Result.flag = this.complete ? 1 : 0;
    return answer(vArr([vBool(this.complete), this.payload]));
  }

  /**
   * commit [transition, time, now, key, guards, whens, ops, confirm, lean?]: the v0.1 commit
   * (clp-semantics.md §6) with host results for its JavaScript parts. Answers NEED when a
   * host result it was not given is needed. With `lean` true, a result is only
   * [transition, outcomes, diff, seq] (the record and seq are in INFO, see host.ts).
   */
  commit(args: Val): u32 {
    if (args.t != ARRAY) return argFail();
    if (!this.busy()) return ERROR;
    if (this.def === null) return failNow(E_NO_INTENT);
    if (this.staged !== null) return failNow(E_UNACCEPTED);
    if (!this.complete) return failNow(E_INCOMPLETE);
    let timeV = item(args, 1);
    let time = timeV !== null && isNum(timeV) ? num(timeV) : Clock.ms;
    let keyV = item(args, 3);
    let idem: ArrayBuffer | null = keyV !== null && keyV.t == STRING ? keyV.s : null;
    let seen: Val | null = idem === null ? null : mapGet(this.keys, idem!);
    if (seen !== null) {
      this.clearIntent();
      return answer(vArr([vNull(), vArr([]), vArr([]), vNum(<f64>seen.i), vNull(), vNull(), vBool(true)]));
    }
    Scope.state = this.doc.root;
    // the intent as rules read it: one map per engine, its values replaced (rules that keep it
    // in the state get a copy: evaluateOwned)
    let iv = this.iv;
    unchecked((iv.a![0] = this.name));
    unchecked((iv.a![1] = this.payload));
    Scope.intent = iv;
    Scope.consts = this.c.consts;
    Scope.now = orNull(item(args, 2));
    Scope.items.length = 0;
    Scope.indexes.length = 0;
    let outcomes = this.outs;
    outcomes.length = 0;
    // guards, in order, stopping at the first denial (§7)
    let hostGuards = item(args, 4);
    let hostAt = 0;
    let guards = this.c.guards;
    for (let i = 0, n = guards.length; i < n; i++) {
      let g = unchecked(guards[i]);
      let denied = false;
      let suggestion: Val | null = null;
      if (isJs(g.deny)) {
        let r: Val | null = hostGuards === null ? null : item(hostGuards!, hostAt++);
        if (r === null) return answer(vArr([vNum(NEED_GUARD), vNum(<f64>i)]), NEED);
        // [denied, suggestion] or a truthy value
        if (r.t == ARRAY) {
          denied = truthy(orNull(item(r, 0)));
          suggestion = item(r, 1);
        } else denied = truthy(r);
      } else {
        Scope.loc = g.denyAt;
        denied = truthy(evaluate(g.deny));
        if (failed()) return this.ruleError(outcomes);
        let s = g.suggest;
        if (denied && s !== null) {
          Scope.loc = g.suggestAt;
          suggestion = evaluateOwned(s);
          if (failed()) return this.ruleError(outcomes);
          if (suggestion.t != MAP && suggestion.t != NULL) {
            ruleFail(RR_SUGGEST);
            return this.ruleError(outcomes);
          }
        }
      }
      outcomes.push(g.outcome(denied));
      if (denied) {
        fail1(E_GUARD_DENIED, 0, g.name);
        return answer(failValue(vArr(outcomes.slice()), suggestion !== null && suggestion.t == MAP ? suggestion : null), ERROR);
      }
    }
    // transition selection (§8): by name without `when`, else exactly one `when`
    let tn = item(args, 0);
    let t: Transition | null = null;
    if (tn !== null && tn.t == STRING && tn.s!.byteLength > 0) {
      t = this.c.transition(tn.s!);
      if (t === null) {
        fail1(E_NO_TRANSITION, 0, tn);
        return this.ruleError(outcomes);
      }
    } else {
      let hostWhens = item(args, 5);
      let ts = this.c.transitions;
      let found = 0;
      let hw = 0;
      let js = 0;
      for (let i = 0, n = ts.length; i < n; i++) {
        let w = unchecked(ts[i]).when;
        if (w !== null && isJs(w)) js++;
      }
      if (js > 0 && (hostWhens === null || hostWhens.t != ARRAY || hostWhens.a!.length < js)) {
        let needJs = new Array<Val>();
        for (let i = 0, n = ts.length; i < n; i++) {
          let w = unchecked(ts[i]).when;
          if (w !== null && isJs(w)) needJs.push(vNum(<f64>i));
        }
        return answer(vArr([vNum(NEED_WHEN), vArr(needJs)]), NEED);
      }
      for (let i = 0, n = ts.length; i < n; i++) {
        let cand = unchecked(ts[i]);
        let w = cand.when;
        let match = false;
        if (w !== null && isJs(w)) match = truthy(unchecked(hostWhens!.a![hw++]));
        else if (w !== null) {
          Scope.loc = cand.whenAt;
          match = truthy(evaluate(w));
          if (failed()) return this.ruleError(outcomes);
        }
        if (match) {
          found++;
          t = cand;
        }
      }
      if (found != 1) {
        fail1(E_AMBIGUOUS, 0, vNum(<f64>found));
        return ERROR;
      }
    }
    let tr = t!;
    // effects
    let ops = this.opsBuf;
    ops.length = 0;
    if (tr.effectsJs) {
      let hostOps = item(args, 6);
      if (hostOps === null || hostOps.t != ARRAY) return answer(vArr([vNum(NEED_EFFECTS), tr.name]), NEED);
      for (let i = 0, n = hostOps.a!.length; i < n; i++) {
        let op = unchecked(hostOps.a![i]);
        if (!applyOp(this.doc, op, true)) return this.effectError(outcomes);
        ops.push(op);
      }
    } else if (!this.declarative(tr, ops)) {
      return this.effectError(outcomes);
    }
    let lean = item(args, 8);
    return this.finish(tr.name, ops, outcomes, time, idem, truthy(orNull(item(args, 7))), lean !== null && truthy(lean));
  }

  /**
   * batch [time, now, [[name, payload], …]] → [results, failure]: dispatches and commits each
   * intent in turn, exactly as `dispatch` then `commit` (by `when`, no key, confirmed) would,
   * until one is refused — one call for many events. `results`: the commit result of each
   * committed intent (as `commit` answers them); `failure`: null, or [index, stage, complete,
   * value] for the intent that stopped the batch — stage 0: `dispatch` refused it (value: the
   * error); 1: `commit` refused it (the error; the intent stays current, as after `commit`);
   * 2: its commit needs host results (value: the need; the intent is current: go on with
   * `commit`). Every committed intent is an event of its own in the hash chain.
   */
  batch(args: Val): u32 {
    let list = item(args, 2);
    if (list === null || list.t != ARRAY || !this.busy()) return list === null || list.t != ARRAY ? argFail() : ERROR;
    let leanV = item(args, 3);
    let lean = leanV !== null && truthy(leanV);
    let commitArgs = vArr([vNull(), orNull(item(args, 0)), orNull(item(args, 1)), vNull(), vArr([]), vNull(), vNull(), vBool(true), vBool(lean)]);
    let results = new Array<Val>();
    let failure = vNull();
    // lean: the answer's bytes grow in `Raw` ([results, failure], the results' count patched
    // at the end) and the records one after another in RECS
    let count = 0;
    let recs: usize = 0;
    this.inBatch = true;
    if (lean) {
      Raw.reset();
      store<u8>(Raw.room(1), <u8>ARRAY);
      Raw.u16(2);
      store<u8>(Raw.room(1), <u8>ARRAY);
      Raw.u16(0);
      RECS.reset();
      this.leanDepth = 2;
    }
    for (let i = 0, n = list.a!.length; i < n; i++) {
      Result.v = vNull();
      let s = this.dispatch(unchecked(list.a![i]));
      let stage = 0;
      if (s == OK) {
        Result.v = vNull();
        s = this.commit(commitArgs);
        stage = s == NEED ? 2 : 1;
      }
      if (s != OK) {
        let v = s == ERROR && Result.v.t == NULL ? failValue() : Result.v;
        clearFail();
        failure = vArr([vNum(<f64>i), vNum(<f64>stage), vBool(this.complete), v]);
        break;
      }
      if (lean) {
        Raw.bytes(Result.at, Result.wrote);
        RECS.bytes(REC.ptr, Result.recLen);
        recs += Result.recLen;
        count++;
      } else results.push(Result.v);
    }
    this.inBatch = false;
    if (!lean) return answer(vArr([vArr(results), failure]));
    this.leanDepth = 0;
    let n = encode(failure);
    if (n == 0) return codecLimit() ? OK : ERROR;
    Raw.bytes(Wr.out.ptr, n);
    store<u16>(Raw.ptr() + 4, bswap<u16>(<u16>count));
    Result.raw = true;
    Result.wrote = 0;
    Result.recAt = recs == 0 ? 0 : RECS.ptr();
    Result.recLen = recs;
    return OK;
  }

  private clearIntent(): void {
    this.def = null;
    this.name = vNull();
    this.payload = NO_PAYLOAD;
    this.complete = false;
    this.staged = null;
  }

  private ruleError(outcomes: Array<Val>): u32 {
    return answer(failValue(vArr(outcomes.slice())), ERROR);
  }

  private effectError(outcomes: Array<Val>): u32 {
    this.doc.rollback();
    return this.ruleError(outcomes);
  }

  /** Evaluates and applies the declarative effects of `tr`, appending the concrete ops. */
  private declarative(tr: Transition, ops: Array<Val>): bool {
    let fx = tr.effects;
    let n = fx.length;
    if (tr.parallel) {
      // object form: every value is computed from the state before the commit, then set.
      // A single effect's owned value goes into the tree as is (the op shares it only until
      // the event is encoded; with several, a later path inside an earlier value would change
      // the earlier op, so they are copied), and each effect's op value is built once.
      let first = ops.length;
      for (let i = 0; i < n; i++) {
        let f = unchecked(fx[i]);
        Scope.loc = f.at;
        let v = evaluateOwned(f.args[0]);
        if (failed()) return false;
        let op = f.setOp;
        if (op === null) {
          let pv = f.pathV;
          if (pv === null) f.pathV = pv = pathVal(f.path!);
          f.setOp = op = vArr([f.op, pv!, v]);
        } else unchecked((op.a![2] = v));
        ops.push(op!);
      }
      for (let i = 0; i < n; i++) {
        let v = unchecked(unchecked(ops[first + i]).a![2]);
        if (!this.doc.set(unchecked(fx[i]).path!, n > 1 ? clone(v) : v)) return false;
      }
      return true;
    }
    // array form: each effect sees the state left by the previous ones
    for (let i = 0; i < n; i++) {
      let f = unchecked(fx[i]);
      Scope.loc = f.at;
      Scope.state = this.doc.root;
      let op = this.resolve(f);
      if (op === null) return false;
      if (op.t == NULL) continue;
      if (!applyOp(this.doc, op, true)) return false;
      ops.push(op);
    }
    return true;
  }

  /** Turns a declarative effect into a concrete op [name, path, ...args] (NULL: nothing to do); null on failure. */
  private resolve(f: Effect): Val | null {
    let path = f.path;
    if (path === null) {
      let pv = evaluate(f.pathExpr!);
      if (failed()) return null;
      path = toPath(pv);
      if (path === null) return null;
    }
    let op = [f.op, pathVal(path)];
    if (f.kind != FX_FILTER) {
      for (let i = 0, n = f.args.length; i < n; i++) {
        let v = evaluateOwned(unchecked(f.args[i]));
        if (failed()) return null;
        op.push(v);
      }
      // insert [i, v] and remove [i] are splices: [i, 0, [v]] and [i, 1]
      if (f.kind == FX_INSERT) op[3] = vArr([op[3]]);
      if (f.kind == FX_INSERT || f.kind == FX_REMOVE) insertAt(op, 3, vNum(f.kind == FX_REMOVE ? 1 : 0));
      return vArr(op);
    }
    // filter: keep the items for which the predicate holds → removeAt [indices of the others]
    let arr = this.doc.get(path);
    if (arr === null || arr.t == NULL) return vNull();
    if (arr.t != ARRAY) {
      fail1(E_PATH, PR_NOT_ARRAY, op[1]);
      return null;
    }
    let keep = mapOver(arr, f.args[0]);
    if (failed()) return null;
    let drop = new Array<Val>();
    for (let i = 0, n = keep.a!.length; i < n; i++) if (!truthy(unchecked(keep.a![i]))) drop.push(vNum(<f64>i));
    if (drop.length == 0) return vNull();
    op.push(vArr(drop));
    return vArr(op);
  }

  /**
   * Builds and hashes the event, computes the diff, and confirms or prepares the commit.
   * With `lean`, the answer [transition, outcomes, diff, seq] is written as CLASP bytes
   * straight into the wire writer (`Result.wrote`), built as no value.
   */
  private finish(name: Val, ops: Array<Val>, outcomes: Array<Val>, time: f64, idem: ArrayBuffer | null, confirm: bool, lean: bool = false): u32 {
    // the event: [seq, time, intent, payload, transition, ops, key], in the reused `ev`
    let ev = this.ev;
    let items = ev.a!;
    items.length = 6;
    unchecked(items[0]).i = <i64>(this.seq + 1);
    let tv = unchecked(items[1]);
    tv.f = time;
    tv.i = time != time ? 0x7ff8000000000000 : reinterpret<i64>(time); // one NaN, as vF64
    unchecked((items[2] = this.name));
    unchecked((items[3] = this.payload));
    unchecked((items[4] = name));
    unchecked(items[5]).a = ops;
    if (idem !== null) items.push(vStr(idem!));
    let n = encode(ev);
    if (n == 0) {
      codecLimit();
      return this.effectError(outcomes);
    }
    let size = n + 4 + HASH;
    let rp = REC.reserve(size);
    store<u32>(rp, bswap<u32>(<u32>n));
    memory.copy(rp + 4, Wr.out.ptr, n);
    chain(changetype<usize>(this.head), rp + 4, n, rp + 4 + n);
    Result.recAt = rp;
    Result.recLen = size;
    Result.seq = <f64>(this.seq + 1);
    let hash: ArrayBuffer;
    if (lean) {
      // written now: settle forgets the changed paths the diff is made of
      let wrote = this.writeLean(name, outcomes);
      if (wrote == 0) {
        codecLimit();
        return this.effectError(outcomes);
      }
      // the answer right after the record (INFO word 0 = word 4 + word 5): a host copies
      // both out in one piece
      rp = REC.reserve(size + wrote, size);
      memory.copy(rp + size, Wr.out.ptr, wrote);
      Result.recAt = rp;
      Result.wrote = wrote;
      Result.at = rp + size;
      // the head buffer is written in place only here, and only lean answers (which never
      // carry the hash) come from here: no answer still to be encoded holds it
      hash = confirm ? this.headBuf : new ArrayBuffer(<i32>HASH);
      memory.copy(changetype<usize>(hash), rp + 4 + n, HASH);
    } else {
      hash = new ArrayBuffer(<i32>HASH);
      memory.copy(changetype<usize>(hash), rp + 4 + n, HASH);
      let record = new ArrayBuffer(<i32>size);
      memory.copy(changetype<usize>(record), rp, size);
      // the record, in byte strings of at most 65,535 bytes (the CLASP limit of one)
      let parts: Array<Val>;
      if (record.byteLength <= 0xffff) parts = [vBytes(BYTES, record)];
      else {
        parts = new Array<Val>();
        for (let off = 0; off < record.byteLength; off += 0xffff) parts.push(vBytes(BYTES, record.slice(off, off + 0xffff)));
      }
      // [transition, outcomes, diff, seq, hash, record, duplicate], built at its full length
      let r = vArr([name, vArr(outcomes.slice()), this.diff(), vNum(<f64>(this.seq + 1)), vBytes(BYTES, hash), vArr(parts), vBool(false)]);
      answer(r);
    }
    if (confirm) this.settle(hash, idem);
    else {
      this.pending = true;
      this.pendHash = hash;
      this.pendKey = idem;
    }
    return OK;
  }

  /**
   * Writes the lean answer [transition, outcomes, diff, seq] as a tagged CLASP value into the
   * wire writer, from offset 0 (the same bytes as encoding that value built as a tree, the
   * depth limit counted from `leanDepth`); returns its byte count, 0 when a CLASP limit is
   * passed (`Err`).
   */
  private writeLean(name: Val, outcomes: Array<Val>): usize {
    let d = this.leanDepth;
    writeAt(0);
    clearError();
    writeU8(ARRAY);
    writeU16(4);
    writeVal(name, d + 1);
    writeU8(ARRAY);
    let k = outcomes.length;
    if (writeCount(k, d + 1)) for (let i = 0; i < k && Err.code == 0; i++) writeVal(unchecked(outcomes[i]), d + 2);
    // the diff: [[path segments, value?] …], as `diff` builds it
    let ch = this.doc.changed;
    let m = ch.length;
    let count = 0;
    for (let i = 0; i < m; i++) if (!covered(ch, i)) count++;
    writeU8(ARRAY);
    if (writeCount(count, d + 1)) {
      for (let i = 0; i < m && Err.code == 0; i++) {
        if (covered(ch, i)) continue;
        let p = unchecked(ch[i]);
        let v = this.doc.get(p);
        writeU8(ARRAY);
        if (!writeCount(v !== null ? 2 : 1, d + 2)) break;
        writeU8(ARRAY);
        if (!writeCount(p.length, d + 3)) break;
        for (let j = 0, q = p.length; j < q; j++) writeVal(unchecked(p[j]), d + 4);
        if (v !== null) writeVal(v, d + 3);
      }
    }
    writeU8(F64);
    writeU64(reinterpret<u64>(<f64>(this.seq + 1)));
    return Err.code == 0 ? Wr.pos - Wr.out.ptr : 0;
  }


  /**
   * The diff: [[path segments, value] …], value absent (1 item) when deleted. Its values are
   * the state's own, except in a batch, whose answer is encoded after later commits: there
   * they are copies (a later push would change an array the diff still holds).
   */
  private diff(): Val {
    let ch = this.doc.changed;
    let d = new Array<Val>();
    for (let i = 0, n = ch.length; i < n; i++) {
      if (covered(ch, i)) continue;
      let p = unchecked(ch[i]);
      let v = this.doc.get(p);
      if (v !== null && this.inBatch) v = clone(v);
      d.push(vArr(v !== null ? [pathVal(p), v] : [pathVal(p)]));
    }
    return vArr(d);
  }

  private settle(hash: ArrayBuffer, idem: ArrayBuffer | null): void {
    this.doc.settle();
    this.seq++;
    this.head = hash;
    if (idem !== null) mapPut(this.keys, idem!, vI64(<i64>this.seq));
    this.clearIntent();
    this.pending = false;
  }

  /** confirm → null: makes a prepared commit final. */
  confirm(): u32 {
    if (!this.pending) {
      fail(E_ARGS, AR_NOT_PREPARED);
      return ERROR;
    }
    this.settle(this.pendHash, this.pendKey);
    return answer(vNull());
  }

  /** abort → null: reverts a prepared commit; the intent stays current. */
  abort(): u32 {
    if (this.pending) {
      this.doc.rollback();
      this.pending = false;
    }
    return answer(vNull());
  }

  /** get path → [found, value, segments]: the value at a path, and how the engine reads the path. */
  get(args: Val): u32 {
    let p = toPath(args);
    if (p === null) return ERROR;
    let v = this.doc.get(p);
    return answer(vArr([vBool(v !== null), orNull(v), pathVal(p)]));
  }

  /** head → [seq, hash, pending]. */
  headInfo(): u32 {
    return answer(vArr([vNum(<f64>this.seq), vBytes(BYTES, this.head), vBool(this.pending)]));
  }

  /** state → the state's CLASP bytes (raw); with `hash`, their SHA-256 (raw, 32 bytes). */
  state(hash: bool): u32 {
    let n = encode(this.doc.root);
    if (n == 0) return codecLimit() ? OK : ERROR;
    Raw.reset();
    if (hash) sha256(Wr.out.ptr, n, Raw.room(HASH));
    else Raw.bytes(Wr.out.ptr, n);
    Result.raw = true;
    return OK;
  }

  /** snapshot → state, head and idempotency keys in the versioned snapshot format (raw). */
  snapshot(): u32 {
    if (!this.busy()) return ERROR;
    let n = encode(vArr([this.doc.root, this.keys]));
    if (n == 0) return codecLimit() ? OK : ERROR;
    Raw.reset();
    Raw.u32(SNAP_MAGIC);
    Raw.u32(FORMAT_VERSION << 24);
    Raw.u64(this.seq);
    Raw.bytes(changetype<usize>(this.head), HASH);
    Raw.u32(<u32>n);
    Raw.bytes(Wr.out.ptr, n);
    let sum = Raw.len;
    sha256(Raw.ptr(), sum, Raw.room(HASH));
    Result.raw = true;
    return OK;
  }

  /** restore snapshot → head. Replaces state, head and keys; the log restarts there. */
  restore(p: usize, n: usize): u32 {
    if (!this.busy()) return ERROR;
    if (n < SNAP_HEADER + HASH) return formatFail(E_SNAPSHOT, FR_SHORT, vNum(<f64>n));
    if (rdU32(p) != SNAP_MAGIC) return formatFail(E_SNAPSHOT, FR_MAGIC, null);
    // version byte, then three reserved zero bytes
    let version = rdU32(p + 4);
    if (version != FORMAT_VERSION << 24) return formatFail(E_SNAPSHOT, FR_VERSION, vNum(<f64>(version >>> 24)));
    let body = <usize>rdU32(p + 48);
    if (<u64>SNAP_HEADER + <u64>body + <u64>HASH != <u64>n) return formatFail(E_SNAPSHOT, FR_LENGTH, null);
    let sum = new ArrayBuffer(<i32>HASH);
    sha256(p, n - HASH, changetype<usize>(sum));
    if (!sameHash(changetype<usize>(sum), p + n - HASH)) return formatFail(E_SNAPSHOT, FR_HASH, null);
    let v = decode(p + SNAP_HEADER, body);
    if (v === null) return formatFail(E_SNAPSHOT, FR_VALUE, vNum(<f64>Err.reason));
    let state = item(v, 0);
    let ks = item(v, 1);
    if (state === null || ks === null || state.t != MAP || ks.t != MAP) return formatFail(E_SNAPSHOT, FR_FIELDS, null);
    for (let i = 0, m = ks.a!.length; i < m; i++) if (!isInt(unchecked(ks.a![i]))) return formatFail(E_SNAPSHOT, FR_FIELDS, null);
    this.doc = new Doc();
    this.doc.root = state;
    this.seq = rdU64(p + 8);
    this.head = new ArrayBuffer(<i32>HASH);
    memory.copy(changetype<usize>(this.head), p + 16, HASH);
    this.keys = ks;
    this.clearIntent();
    return this.headInfo();
  }

  /**
   * append log → head: verifies an event log that starts at this engine's head (or, `fresh`,
   * at event 0: replay) — hash chain and sequence numbers — and applies its events. All or
   * nothing: on any failure the state, the head and the log are unchanged.
   */
  append(p: usize, n: usize, fresh: bool): u32 {
    if (!this.busy()) return ERROR;
    if (n < LOG_HEADER) return formatFail(E_EVENT_LOG, FR_SHORT, vNum(<f64>n));
    if (rdU32(p) != LOG_MAGIC) return formatFail(E_EVENT_LOG, FR_MAGIC, null);
    let version = rdU32(p + 4);
    if (version != FORMAT_VERSION << 24) return formatFail(E_EVENT_LOG, FR_VERSION, vNum(<f64>(version >>> 24)));
    let base = rdU64(p + 8);
    let startSeq = fresh ? <u64>0 : this.seq;
    // a copy of the head: the chain hash advances in it, in place, and the head stays as it was on failure
    let startHash = fresh ? new ArrayBuffer(<i32>HASH) : this.head.slice(0);
    if (base != startSeq) {
      fail2(E_EVENT_LOG, FR_BASE, vNum(<f64>base), vNum(<f64>startSeq));
      return ERROR;
    }
    if (!sameHash(p + 16, changetype<usize>(startHash))) return formatFail(E_EVENT_LOG, FR_BASE_HASH, null);
    // Work on a copy (or a fresh tree): the live state changes only when everything verified.
    // The loop's objects live in `Pending` (globals) so that the collector may run between events.
    let doc = new Doc();
    doc.undo = false;
    if (!fresh) doc.root = clone(this.doc.root);
    Pending.doc = doc;
    Pending.prev = startHash;
    Pending.keys = vMap();
    let seq = startSeq;
    let at = p + LOG_HEADER;
    let end = p + n;
    let status = OK;
    while (at < end && status == OK) {
      status = this.appendOne(at, end, seq);
      at += 4 + <usize>rdU32(at) + HASH;
      seq++;
      if ((seq & 4095) == 0) __collect();
    }
    if (status != OK) {
      Pending.clear();
      return status;
    }
    if (fresh) {
      this.keys = vMap();
      this.clearIntent();
    }
    doc = Pending.doc;
    doc.undo = true;
    this.doc = doc;
    let ks = Pending.keys;
    for (let i = 0; i < ks.a!.length; i++) mapPut(this.keys, unchecked(ks.k![i]), unchecked(ks.a![i]));
    this.seq = seq;
    this.head = Pending.prev;
    Pending.clear();
    return this.headInfo();
  }

  /** Verifies and applies the record at `at` (event seq + 1) onto `Pending.doc`, advancing `Pending.prev`. */
  private appendOne(at: usize, end: usize, seq: u64): u32 {
    let next = seq + 1;
    let len = end - at >= 4 + HASH ? <usize>rdU32(at) : end;
    if (<u64>(end - at) < 4 + <u64>len + HASH) return eventFail(FR_TRUNCATED, next);
    let prev = changetype<usize>(Pending.prev);
    chain(prev, at + 4, len, prev);
    if (!sameHash(prev, at + 4 + len)) return eventFail(FR_HASH, next);
    // [seq, time, intent, payload, transition, ops, key]: replay needs seq, ops and key
    let ev = decodeItems(at + 4, len, 0b1100001);
    if (ev === null) {
      fail2(E_EVENT_LOG, FR_VALUE, vNum(<f64>next), vNum(<f64>Err.reason));
      return ERROR;
    }
    let sv = item(ev, 0);
    let ops = item(ev, 5);
    if (sv === null || !isInt(sv) || <u64>sv.i != next) return eventFail(FR_SEQUENCE, next);
    if (ops === null || ops.t != ARRAY) return eventFail(FR_FIELDS, next);
    let doc = Pending.doc;
    for (let i = 0, m = ops.a!.length; i < m; i++) {
      if (!applyOp(doc, unchecked(ops.a![i]), false)) {
        let cause = failValue();
        clearFail();
        eventFail(FR_OP, next);
        Fail.cause = cause;
        return ERROR;
      }
    }
    doc.changed.length = 0;
    let kv = item(ev, 6);
    if (kv !== null && kv.t == STRING) {
      mapPut(Pending.keys, kv.s!, vI64(<i64>next));
    }
    return OK;
  }
}

/** Objects of an `append` in progress, held in globals so that they survive a collection. */
class Pending {
  static doc: Doc = new Doc();
  static prev: ArrayBuffer = new ArrayBuffer(0);
  static keys: Val = vMap();

  static clear(): void {
    Pending.doc = new Doc();
    Pending.keys = vMap();
  }
}

/**
 * True when changed path `i` is inside another changed path (or repeats an earlier one): the
 * diff names only the outermost change.
 */
function covered(ch: Array<Path>, i: i32): bool {
  let p = unchecked(ch[i]);
  for (let j = 0, n = ch.length; j < n; j++) {
    let q = unchecked(ch[j]);
    if (j != i && isPrefix(q, p) && (q.length < p.length || j < i)) return true;
  }
  return false;
}

function failNow(code: u32): u32 {
  fail(code);
  return ERROR;
}

function formatFail(code: u32, reason: u32, arg: Val | null): u32 {
  if (arg === null) fail(code, reason);
  else fail1(code, reason, arg);
  return ERROR;
}

/** An event log failure about event `n` (its number becomes a value only here, off the hot path). */
function eventFail(reason: u32, n: u64): u32 {
  return formatFail(E_EVENT_LOG, reason, vNum(<f64>n));
}

/** Type-checks value `v` of input `k` (index `j`) of intent `d`; errors locate it as [intent, key, …]. */
function checkInput(d: IntentDef, k: ArrayBuffer, v: Val, j: i32): bool {
  Loc.stack.length = 0;
  Loc.stack.push(d.name);
  Loc.stack.push(vStr(k));
  return checkType(v, unchecked(d.types[j]));
}

/**
 * Applies one concrete op (docs/clp-formats.md §Ops) to `doc`. With `own`, values are copied
 * before they enter the tree (the op itself is kept for the event). Returns false after
 * recording a failure.
 */
export function applyOp(doc: Doc, op: Val, own: bool): bool {
  let kind = item(op, 0);
  let pv = item(op, 1);
  if (kind === null || kind.t != STRING || pv === null) return opFail(kind);
  let path = toPath(pv);
  if (path === null) return false;
  let k = kind.s!;
  let a = item(op, 2);
  if (eqAscii(k, "del")) return doc.del(path);
  if (a === null) return opFail(kind);
  if (eqAscii(k, "set")) return doc.set(path, own ? clone(a) : a);
  if (eqAscii(k, "push")) {
    // push takes its items as the arguments after the path
    let items = op.a!.slice(2);
    if (own) for (let i = 0; i < items.length; i++) unchecked((items[i] = clone(unchecked(items[i]))));
    return doc.push(path, items);
  }
  if (eqAscii(k, "removeAt")) {
    if (a.t != ARRAY) return opFail(kind);
    for (let i = 0, n = a.a!.length; i < n; i++) if (!isIndex(unchecked(a.a![i]))) return opFail(kind);
    return doc.removeAt(path, a.a!);
  }
  let b = item(op, 3);
  let add = item(op, 4);
  if (!eqAscii(k, "splice") || !isNum(a) || b === null || !isNum(b) || (add !== null && add.t != NULL && add.t != ARRAY)) return opFail(kind);
  let items = add === null || add.t == NULL ? new Array<Val>() : own ? clone(add).a! : add.a!;
  return doc.splice(path, num(a), num(b), items);
}

/** True for an integral number in [0, 65535]. */
function isIndex(x: Val): bool {
  let v = isNum(x) ? num(x) : -1;
  return v >= 0 && v <= 0xffff && v == Math.floor(v);
}

function opFail(kind: Val | null): bool {
  return fail1(E_PATH, PR_OP, orNull(kind));
}

function insertAt(a: Array<Val>, i: i32, v: Val): void {
  a.push(v);
  for (let j = a.length - 1; j > i; j--) unchecked((a[j] = a[j - 1]));
  unchecked((a[i] = v));
}

/** Compiles a contract; null (with E_CONTRACT) when it does not compile. */
export function newEngine(d: Val): Engine | null {
  let c = compileContract(d);
  return c === null ? null : new Engine(c);
}

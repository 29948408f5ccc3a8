// Contracts: intents with typed inputs, guards and transitions, compiled from a CLASP value
// (docs/clp.md §Contract descriptor). Rules in them are compiled by rules.ts; a rule written
// as `{"$js": n}` marks a function the host evaluates.

import {
  Val, vNull, vBool, vMap, vArr, vStr, vNum, vText, mapFind, field, isNum, num, eqAscii, bytesEq, wordIndex, wordOf,
  NULL, STRING, ARRAY, MAP,
} from "./val";
import { Expr, compile, isJs, pathInContract } from "./rules";
import { Path, parsePath } from "./tree";
import {
  Loc, fail, failed, here, E_CONTRACT, E_TYPE, CR_EXPECTED, CR_TYPE, CR_EFFECT, CR_ARITY,
  W_OBJECT, W_INTENTS, W_INPUTS, W_TYPE, W_ARRAY, W_GUARD_NAME, W_RULE, W_TRANSITIONS,
  W_TRANSITION, W_EFFECTS, W_EFFECT,
} from "./error";

// ---- input types

export const T_ANY: u32 = 0;
export const T_NUMBER: u32 = 1;
export const T_INTEGER: u32 = 2;
export const T_STRING: u32 = 3;
export const T_BOOLEAN: u32 = 4;
export const T_DATE: u32 = 5;
export const T_OBJECT: u32 = 6;
export const T_ARRAY: u32 = 7;
export const T_BYTES: u32 = 8;

const WORDS = "any number integer string boolean date object array bytes bool";
const WORD_KINDS: StaticArray<u32> = [T_ANY, T_NUMBER, T_INTEGER, T_STRING, T_BOOLEAN, T_DATE, T_OBJECT, T_ARRAY, T_BYTES, T_BOOLEAN];

/** A declared input type: a word, or `T[]` (elem). `?` = optional. */
@final export class TypeDef {
  kind: u32 = T_ANY;
  optional: bool = false;
  elem: TypeDef | null = null;
}

function contractFail(reason: u32, arg: Val): bool {
  return fail(E_CONTRACT, reason, [arg], here());
}

@inline function expected(what: u32): bool {
  return contractFail(CR_EXPECTED, vNum(<f64>what));
}

@inline function enter(seg: Val): void {
  Loc.stack.push(seg);
}

@inline function leave(): void {
  Loc.stack.pop();
}

/**
 * Compiles a type string: a word (any, number, integer, string, boolean, date, object, array,
 * bytes), `[]` suffixes for arrays of it, and a final `?` for optional.
 */
function compileType(v: Val): TypeDef | null {
  if (v.t != STRING) {
    expected(W_TYPE);
    return null;
  }
  let p = changetype<usize>(v.s!);
  let n = v.s!.byteLength;
  let optional = n > 0 && load<u8>(p + n - 1) == 0x3f;
  if (optional) n--;
  let arrays = 0;
  while (n >= 2 && load<u8>(p + n - 2) == 0x5b && load<u8>(p + n - 1) == 0x5d) {
    arrays++;
    n -= 2;
  }
  let k = wordIndex(WORDS, p, n);
  if (k < 0) {
    contractFail(CR_TYPE, v);
    return null;
  }
  let cur = new TypeDef();
  cur.kind = unchecked(WORD_KINDS[k]);
  for (let i = 0; i < arrays; i++) {
    let a = new TypeDef();
    a.kind = T_ARRAY;
    a.elem = cur;
    cur = a;
  }
  cur.optional = optional;
  return cur;
}

/**
 * Checks `v` against `t`. Null is accepted only for optional types (a missing required
 * top-level input is an incomplete intent, not a type error: the caller skips nulls there).
 * Records E_TYPE (loc: the input and the place inside it; args: expected kind, got tag).
 */
export function checkType(v: Val, t: TypeDef): bool {
  if (v.t == NULL) return t.optional || t.kind == T_ANY ? true : typeFail(t, v);
  let ok = true;
  switch (t.kind) {
    case T_NUMBER: ok = isNum(v); break;
    case T_INTEGER: ok = isNum(v) && num(v) == Math.floor(num(v)) && Math.abs(num(v)) != Infinity; break;
    case T_STRING: ok = v.t == STRING; break;
    case T_BOOLEAN: ok = v.t == 0x01; break;
    case T_DATE: ok = v.t == STRING && isoDate(v.s!); break;
    case T_BYTES: ok = v.t == 0x09; break;
    case T_ARRAY: {
      if (v.t != ARRAY) { ok = false; break; }
      let e = t.elem;
      if (e !== null) {
        for (let i = 0, n = v.a!.length; i < n; i++) {
          enter(vNum(<f64>i));
          let good = checkType(unchecked(v.a![i]), e);
          leave();
          if (!good) return false;
        }
      }
      break;
    }
    case T_OBJECT: ok = v.t == MAP; break;
  }
  return ok ? true : typeFail(t, v);
}

/** True when `s` starts with an ISO 8601 calendar date `YYYY-MM-DD` (a `toISOString()` value does). */
function isoDate(s: ArrayBuffer): bool {
  let p = changetype<usize>(s);
  if (s.byteLength < 10) return false;
  for (let i = 0; i < 10; i++) {
    let c = <u32>load<u8>(p + i);
    if (i == 4 || i == 7 ? c != 0x2d : c - 0x30 > 9) return false;
  }
  return s.byteLength == 10 || load<u8>(p + 10) == 0x54;
}

function typeFail(t: TypeDef, v: Val): bool {
  return fail(E_TYPE, 0, [vNum(<f64>t.kind), vNum(<f64>v.t)], here());
}

// ---- contract parts

@final export class IntentDef {
  name: Val = vNull();
  keys: Array<ArrayBuffer> = new Array<ArrayBuffer>();
  types: Array<TypeDef> = new Array<TypeDef>();

  /** Index of input `key`, or -1 when undeclared. */
  input(key: ArrayBuffer): i32 {
    for (let i = 0, n = this.keys.length; i < n; i++) {
      let k = unchecked(this.keys[i]);
      if (bytesEq(k, key)) return i;
    }
    return -1;
  }
}

@final export class Guard {
  name: Val = vNull();
  deny: Expr = new Expr();
  suggest: Expr | null = null;
  /** Locations of `deny` and `suggest`, for rule errors. */
  denyAt: Val = vNull();
  suggestAt: Val = vNull();
  /** Its two outcome entries `[name, denied]` of commit answers, built when first needed (answers only encode them). */
  private allowedV: Val | null = null;
  private deniedV: Val | null = null;

  /** The outcome entry `[name, denied]`, shared by every commit (never changed). */
  outcome(denied: bool): Val {
    let v = denied ? this.deniedV : this.allowedV;
    if (v === null) {
      v = vArr([this.name, vBool(denied)]);
      if (denied) this.deniedV = v;
      else this.allowedV = v;
    }
    return v!;
  }
}

/** Effect kinds of declarative transitions (docs/clp-rules.md §Effects). */
export const FX_SET: u32 = 0;
export const FX_DELETE: u32 = 1;
export const FX_PUSH: u32 = 2;
export const FX_INSERT: u32 = 3;
export const FX_REMOVE: u32 = 4;
export const FX_SPLICE: u32 = 5;
export const FX_FILTER: u32 = 6;

const FX_NAMES = "set delete push insert remove splice filter unset";
/** The op each effect kind becomes in the event (docs/clp-formats.md §Ops). */
const FX_OPS: StaticArray<string> = ["set", "del", "push", "splice", "splice", "splice", "removeAt", "del"];
const FX_KINDS: StaticArray<u32> = [FX_SET, FX_DELETE, FX_PUSH, FX_INSERT, FX_REMOVE, FX_SPLICE, FX_FILTER, FX_DELETE];
/** [min, max] argument counts per kind, the path included; -1 = unbounded. */
const FX_ARITY: StaticArray<i32> = [2, 2, 1, 1, 2, -1, 3, 3, 2, 2, 3, 4, 2, 2];

@final export class Effect {
  kind: u32 = FX_SET;
  /** Name of the op in the event: "set", "del", "push", … */
  op: Val = vNull();
  /** Static path, or null when `pathExpr` computes it. */
  path: Path | null = null;
  /** `path` as a value (segments), for the events; built on first use. */
  pathV: Val | null = null;
  /**
   * Object form: its op `["set", path, value]`, built on first use and reused by every
   * commit with that commit's value (an op is only encoded into the event, never kept).
   */
  setOp: Val | null = null;
  pathExpr: Expr | null = null;
  args: Array<Expr> = new Array<Expr>();
  at: Val = vNull();
}

@final export class Transition {
  name: Val = vNull();
  /** null: never chosen automatically (only by name). */
  when: Expr | null = null;
  whenAt: Val = vNull();
  /** Host-evaluated effects (`{"$js": n}`). */
  effectsJs: bool = false;
  /** Object form (every effect a `set` computed from the state before the commit). */
  parallel: bool = false;
  effects: Array<Effect> = new Array<Effect>();
}

@final export class Contract {
  intents: Array<IntentDef> = new Array<IntentDef>();
  guards: Array<Guard> = new Array<Guard>();
  transitions: Array<Transition> = new Array<Transition>();
  consts: Val = vMap();

  intent(name: ArrayBuffer): IntentDef | null {
    return this.intentAt(changetype<usize>(name), name.byteLength);
  }

  /** The intent whose name is the UTF-8 bytes [p, p + n), or null. */
  intentAt(p: usize, n: i32): IntentDef | null {
    for (let i = 0, c = this.intents.length; i < c; i++) {
      let d = unchecked(this.intents[i]);
      let k = d.name.s!;
      if (k.byteLength == n && memory.compare(changetype<usize>(k), p, <usize>n) == 0) return d;
    }
    return null;
  }

  transition(name: ArrayBuffer): Transition | null {
    for (let i = 0, n = this.transitions.length; i < n; i++) {
      let t = unchecked(this.transitions[i]);
      if (same(t.name.s!, name)) return t;
    }
    return null;
  }
}

@inline function same(a: ArrayBuffer, b: ArrayBuffer): bool {
  return bytesEq(a, b);
}

function compileEffect(v: Val): Effect | null {
  if (v.t != MAP || v.a!.length != 1) {
    expected(W_EFFECT);
    return null;
  }
  let name = unchecked(v.k![0]);
  let k = wordOf(FX_NAMES, name);
  if (k < 0) {
    contractFail(CR_EFFECT, vStr(name));
    return null;
  }
  let fx = new Effect();
  fx.kind = unchecked(FX_KINDS[k]);
  fx.op = vText(unchecked(FX_OPS[k]));
  fx.at = here();
  let arg = unchecked(v.a![0]);
  let list = arg.t == ARRAY ? arg.a! : [arg];
  let min = unchecked(FX_ARITY[fx.kind << 1]), max = unchecked(FX_ARITY[(fx.kind << 1) + 1]);
  if (list.length < min || (max >= 0 && list.length > max)) {
    fail(E_CONTRACT, CR_ARITY, [vStr(name), vNum(<f64>min), vNum(<f64>max), vNum(<f64>list.length)], here());
    return null;
  }
  let p = unchecked(list[0]);
  if (p.t == STRING) {
    fx.path = parsePath(p.s!);
    if (fx.path === null) {
      pathInContract();
      return null;
    }
  } else {
    let e = compile(p);
    if (e === null) return null;
    fx.pathExpr = e;
  }
  for (let i = 1, n = list.length; i < n; i++) {
    enter(vNum(<f64>i));
    let e = compile(unchecked(list[i]));
    leave();
    if (e === null) return null;
    fx.args.push(e);
  }
  return fx;
}

/** Compiles the rule under key `key` of `m` (entering it in the location), or null. */
function rule(m: Val, key: string, required: bool): Expr | null {
  let v = field(m, key);
  enter(vText(key));
  let e: Expr | null = null;
  if (v === null || v.t == NULL) {
    if (required) expected(W_RULE);
  } else {
    e = compile(v);
  }
  return e;
}

function compileIntents(intents: Val, c: Contract): bool {
  for (let i = 0, n = intents.a!.length; i < n; i++) {
    let def = new IntentDef();
    def.name = vStr(unchecked(intents.k![i]));
    enter(def.name);
    let body = unchecked(intents.a![i]);
    let inputs = field(body, "inputs");
    if (body.t != MAP || (inputs !== null && inputs.t != MAP && inputs.t != NULL)) return expected(W_INPUTS);
    if (inputs !== null && inputs.t == MAP) {
      enter(vText("inputs"));
      for (let j = 0, m = inputs.a!.length; j < m; j++) {
        let key = unchecked(inputs.k![j]);
        enter(vStr(key));
        let t = compileType(unchecked(inputs.a![j]));
        if (t === null) return false;
        leave();
        def.keys.push(key);
        def.types.push(t);
      }
      leave();
    }
    leave();
    c.intents.push(def);
  }
  return true;
}

function compileGuards(guards: Val, c: Contract): bool {
  for (let i = 0, n = guards.a!.length; i < n; i++) {
    enter(vNum(<f64>i));
    let g = unchecked(guards.a![i]);
    let name = field(g, "name");
    if (name === null || name.t != STRING) return expected(W_GUARD_NAME);
    let guard = new Guard();
    guard.name = name;
    let deny = rule(g, "deny", true);
    guard.denyAt = here();
    if (deny === null) return false;
    leave();
    guard.deny = deny;
    guard.suggest = rule(g, "suggest", false);
    guard.suggestAt = here();
    if (failed()) return false;
    leave();
    leave();
    c.guards.push(guard);
  }
  return true;
}

function compileTransitions(transitions: Val, c: Contract): bool {
  for (let i = 0, n = transitions.a!.length; i < n; i++) {
    let t = new Transition();
    t.name = vStr(unchecked(transitions.k![i]));
    enter(t.name);
    let body = unchecked(transitions.a![i]);
    if (body.t != MAP) return expected(W_TRANSITION);
    t.when = rule(body, "when", false);
    t.whenAt = here();
    if (failed()) return false;
    leave();
    let effects = field(body, "effects");
    enter(vText("effects"));
    if (effects !== null && effects.t == MAP && effects.a!.length == 1 && eqAscii(unchecked(effects.k![0]), "$js")) {
      t.effectsJs = true;
    } else if (effects !== null && effects.t == MAP) {
      // object form: each key is a path, each value an expression to set there
      t.parallel = true;
      for (let j = 0, m = effects.a!.length; j < m; j++) {
        let key = unchecked(effects.k![j]);
        enter(vStr(key));
        let fx = new Effect();
        fx.op = vText("set");
        fx.at = here();
        let p = parsePath(key);
        if (p === null) {
          pathInContract();
          return false;
        }
        fx.path = p;
        let e = compile(unchecked(effects.a![j]));
        if (e === null) return false;
        leave();
        fx.args.push(e);
        t.effects.push(fx);
      }
    } else if (effects !== null && effects.t == ARRAY) {
      for (let j = 0, m = effects.a!.length; j < m; j++) {
        enter(vNum(<f64>j));
        let fx = compileEffect(unchecked(effects.a![j]));
        if (fx === null) return false;
        leave();
        t.effects.push(fx);
      }
    } else if (effects !== null && effects.t != NULL) {
      return expected(W_EFFECTS);
    }
    leave();
    leave();
    c.transitions.push(t);
  }
  return true;
}

/**
 * Compiles a contract descriptor. Returns null after recording E_CONTRACT (with the location
 * of the problem) when it is malformed.
 */
export function compileContract(d: Val): Contract | null {
  Loc.stack.length = 0;
  let c = new Contract();
  if (d.t != MAP) {
    expected(W_OBJECT);
    return null;
  }
  let intents = field(d, "intents");
  enter(vText("intents"));
  if (intents === null || intents.t != MAP) {
    expected(W_INTENTS);
    return null;
  }
  if (!compileIntents(intents, c)) return null;
  leave();
  let guards = field(d, "guards");
  enter(vText("guards"));
  if (guards !== null && guards.t != NULL) {
    if (guards.t != ARRAY) {
      expected(W_ARRAY);
      return null;
    }
    if (!compileGuards(guards, c)) return null;
  }
  leave();
  let transitions = field(d, "transitions");
  enter(vText("transitions"));
  if (transitions === null || transitions.t != MAP) {
    expected(W_TRANSITIONS);
    return null;
  }
  if (!compileTransitions(transitions, c)) return null;
  leave();
  let consts = field(d, "constants");
  if (consts !== null && consts.t != NULL) {
    if (consts.t != MAP) {
      enter(vText("constants"));
      expected(W_OBJECT);
      return null;
    }
    c.consts = consts;
  }
  return c;
}

export { isJs, vArr };

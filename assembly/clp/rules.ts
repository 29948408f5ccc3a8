// The declarative rule language (docs/clp-rules.md): JSON expressions compiled from CLASP
// values into a small tree and evaluated here, so that a contract written as data behaves the
// same in every host.
//
// An expression is a literal (null, boolean, number, string), an array (each item an
// expression), or an object with exactly one key naming an operator: `{"+": [a, b]}`,
// `{"var": "state.count"}`. Semantics follow JavaScript where it is deterministic
// (truthiness, `&&`/`||` returning an operand, IEEE-754 arithmetic); numbers produced by
// rules are float64.

import {
  Val, vNull, vBool, vF64, vStr, vArr, vMap, vText, vNum, mapAdd, mapPut, mapGet, clone, equal,
  truthy, isNum, num, eqAscii, field, cmpBytes, wordOf, NULL, STRING, BYTES, ARRAY, MAP,
} from "./val";
import { Path, parsePath, child } from "./tree";
import {
  Fail, Loc, fail, failed, clearFail, here, E_RULE, E_CONTRACT,
  RR_ITEM, RR_EXPECTS, RR_CONCAT_MIX, RR_TOO_LONG,
  X_NUMBERS, X_ARRAY, X_STRING, X_OBJECTS, X_STRINGS_OR_ARRAYS, X_SEARCHABLE, X_MEASURABLE, X_DATE, X_KEYED,
  CR_EXPECTED, CR_ONE_KEY, CR_OPERATOR, CR_ARITY, CR_ROOT, CR_DEEP, CR_PATH, W_VAR, W_INTENT_PART, W_OBJECT_ARG,
} from "./error";

// ---- operators

const OP_LIT: u32 = 0, OP_ARRAY: u32 = 1, OP_OBJECT: u32 = 2, OP_VAR: u32 = 3, OP_JS: u32 = 4;
const OP_EQ: u32 = 10, OP_NE: u32 = 11, OP_LT: u32 = 12, OP_LE: u32 = 13, OP_GT: u32 = 14, OP_GE: u32 = 15;
const OP_ADD: u32 = 20, OP_SUB: u32 = 21, OP_MUL: u32 = 22, OP_DIV: u32 = 23, OP_MOD: u32 = 24;
const OP_MIN: u32 = 25, OP_MAX: u32 = 26, OP_ABS: u32 = 27, OP_FLOOR: u32 = 28, OP_ROUND: u32 = 29, OP_CEIL: u32 = 30;
const OP_AND: u32 = 40, OP_OR: u32 = 41, OP_NOT: u32 = 42, OP_IF: u32 = 43, OP_COALESCE: u32 = 44;
const OP_IN: u32 = 50, OP_LEN: u32 = 51, OP_TRIM: u32 = 52, OP_CONCAT: u32 = 53, OP_GET: u32 = 54;
const OP_FILTER: u32 = 55, OP_MAP: u32 = 56, OP_SOME: u32 = 57, OP_ALL: u32 = 58;
const OP_TYPE: u32 = 60, OP_NOW: u32 = 61, OP_DATE: u32 = 62, OP_APPEND: u32 = 63, OP_MERGE: u32 = 64;

/** Operator names as written in rules, and their codes (same index). */
const NAMES = "lit object var $js == != < <= > >= + - * / % min max abs floor round ceil and or not ! if ?? in len trim concat get filter map some all type now date append merge";
const CODES: StaticArray<u32> = [
  OP_LIT, OP_OBJECT, OP_VAR, OP_JS,
  OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE,
  OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD, OP_MIN, OP_MAX, OP_ABS, OP_FLOOR, OP_ROUND, OP_CEIL,
  OP_AND, OP_OR, OP_NOT, OP_NOT, OP_IF, OP_COALESCE,
  OP_IN, OP_LEN, OP_TRIM, OP_CONCAT, OP_GET, OP_FILTER, OP_MAP, OP_SOME, OP_ALL,
  OP_TYPE, OP_NOW, OP_DATE, OP_APPEND, OP_MERGE,
];
/** Allowed argument counts [min, max] per NAMES index; max -1 = unbounded. */
const ARITY: StaticArray<i32> = [
  1, 1, /* lit */ 1, 1, /* object */ 1, 2, /* var */ 1, 1, /* $js */
  2, 2, /* == */ 2, 2, /* != */ 2, 2, /* < */ 2, 2, /* <= */ 2, 2, /* > */ 2, 2, /* >= */
  1, -1, /* + */ 1, 2, /* - */ 1, -1, /* * */ 2, 2, /* / */ 2, 2, /* % */
  1, -1, /* min */ 1, -1, /* max */ 1, 1, /* abs */ 1, 1, /* floor */ 1, 1, /* round */ 1, 1, /* ceil */
  1, -1, /* and */ 1, -1, /* or */ 1, 1, /* not */ 1, 1, /* ! */ 2, -1, /* if */ 1, -1, /* ?? */
  2, 2, /* in */ 1, 1, /* len */ 1, 1, /* trim */ 1, -1, /* concat */ 2, 3, /* get */
  2, 2, /* filter */ 2, 2, /* map */ 2, 2, /* some */ 2, 2, /* all */
  1, 1, /* type */ 0, 0, /* now */ 1, 2, /* date */ 1, -1, /* append */ 1, -1, /* merge */
];

// var roots (ROOTS order)
const R_STATE: u32 = 0, R_PAYLOAD: u32 = 1, R_INTENT: u32 = 2, R_CONST: u32 = 3, R_ITEM: u32 = 4;

/** A compiled expression. */
@final export class Expr {
  op: u32 = OP_LIT;
  args: Array<Expr> = new Array<Expr>();
  /** Literal value; for `var`, the root code in `i`. */
  v: Val = vNull();
  root: u32 = 0;
  path: Path | null = null;
  /** Field names of an `object` expression, parallel to `args`. */
  keys: Array<ArrayBuffer> | null = null;
  /** Default of `var` (`{"var": [path, default]}`), or null. */
  dflt: Expr | null = null;
}

/** True when `e` marks a host (JavaScript) function: `{"$js": n}`. */
@inline export function isJs(e: Expr): bool {
  return e.op == OP_JS;
}

@inline function opIndex(name: ArrayBuffer): i32 {
  return wordOf(NAMES, name);
}

export function lit(v: Val): Expr {
  let e = new Expr();
  e.v = v;
  return e;
}

function compileFail(reason: u32, args: Array<Val> | null = null): Expr | null {
  fail(E_CONTRACT, reason, args, here());
  return null;
}

/**
 * Compiles the rule `v` found at the location on `Loc.stack`. Returns null after recording
 * E_CONTRACT when it is not a valid expression.
 */
export function compile(v: Val): Expr | null {
  return compileExpr(v, 0);
}

function compileExpr(v: Val, level: i32): Expr | null {
  if (level > 48) return compileFail(CR_DEEP);
  if (v.t == ARRAY) {
    let e = new Expr();
    e.op = OP_ARRAY;
    let items = v.a!;
    for (let i = 0, n = items.length; i < n; i++) {
      let c = compileExpr(unchecked(items[i]), level + 1);
      if (c === null) return null;
      e.args.push(c);
    }
    return e;
  }
  if (v.t != MAP) return lit(v);
  if (v.a!.length != 1) return compileFail(CR_ONE_KEY, [vNum(<f64>v.a!.length)]);
  let name = unchecked(v.k![0]);
  let arg = unchecked(v.a![0]);
  let idx = opIndex(name);
  if (idx < 0) return compileFail(CR_OPERATOR, [vStr(name)]);
  let e = new Expr();
  e.op = unchecked(CODES[idx]);
  switch (e.op) {
    case OP_LIT: e.op = OP_LIT; e.v = arg; return e;
    case OP_JS: e.v = arg; return e;
    case OP_VAR: return compileVar(e, arg, level);
    case OP_OBJECT: {
      if (arg.t != MAP) return compileFail(CR_EXPECTED, [vNum(W_OBJECT_ARG)]);
      e.keys = arg.k; // the contract's value is never changed
      for (let i = 0, n = arg.a!.length; i < n; i++) {
        let c = compileExpr(unchecked(arg.a![i]), level + 1);
        if (c === null) return null;
        e.args.push(c);
      }
      return e;
    }
  }
  let list = e.op == OP_NOW ? new Array<Val>() : arg.t == ARRAY ? arg.a! : [arg];
  let min = unchecked(ARITY[idx << 1]), max = unchecked(ARITY[(idx << 1) + 1]);
  if (list.length < min || (max >= 0 && list.length > max)) {
    return compileFail(CR_ARITY, [vStr(name), vNum(<f64>min), vNum(<f64>max), vNum(<f64>list.length)]);
  }
  for (let i = 0, n = list.length; i < n; i++) {
    let c = compileExpr(unchecked(list[i]), level + 1);
    if (c === null) return null;
    e.args.push(c);
  }
  return e;
}

/** Roots of `var` paths, indexed by the R_* codes. */
const ROOTS = "state payload intent const item index";

function compileVar(e: Expr, arg: Val, level: i32): Expr | null {
  let ref = arg;
  if (arg.t == ARRAY) {
    if (arg.a!.length < 1 || arg.a!.length > 2) return compileFail(CR_EXPECTED, [vNum(W_VAR)]);
    ref = unchecked(arg.a![0]);
    if (arg.a!.length == 2) {
      let d = compileExpr(unchecked(arg.a![1]), level + 1);
      if (d === null) return null;
      e.dflt = d;
    }
  }
  if (ref.t != STRING) return compileFail(CR_EXPECTED, [vNum(W_VAR)]);
  let p = parsePath(ref.s!);
  if (p === null) return pathInContract();
  let r = p.length > 0 && p[0].t == STRING ? wordOf(ROOTS, p[0].s!) : -1;
  if (r < 0) return compileFail(CR_ROOT, [ref]);
  e.root = <u32>r;
  e.path = p.slice(1);
  return e;
}

/** Re-labels a path error recorded while compiling as a contract error at the current location. */
export function pathInContract(): Expr | null {
  let cause = vArr([vNum(<f64>Fail.code), vNum(<f64>Fail.reason), vArr(Fail.args)]);
  clearFail();
  fail(E_CONTRACT, CR_PATH, [cause], here());
  return null;
}

// ---- evaluation

/** What rules see: the state, the current intent, the contract's constants and the time. */
export class Scope {
  static state: Val = vMap();
  /** { name, payload, complete } of the current intent. */
  static intent: Val = vMap();
  static consts: Val = vMap();
  /** The time of the call as an ISO 8601 UTC string, supplied by the host (or null). */
  static now: Val = vNull();
  /** Item and index bindings of filter/map/some/all, innermost last. */
  static items: Array<Val> = new Array<Val>();
  static indexes: Array<Val> = new Array<Val>();
  /** Location of the rule being evaluated (segments, for messages). */
  static loc: Val = vNull();
}

/** Records a rule failure at the rule being evaluated; returns null. */
export function ruleFail(reason: u32, args: Array<Val> | null = null): Val {
  fail(E_RULE, reason, args, Scope.loc);
  return vNull();
}

/** RR_EXPECTS: operator `op` expected `what` (X_*), got a value of `got`'s type. */
function expects(op: u32, what: u32, got: Val): Val {
  return ruleFail(RR_EXPECTS, [vNum(<f64>op), vNum(<f64>what), vNum(<f64>got.t)]);
}

function walk(v: Val | null, path: Path): Val | null {
  for (let i = 0, n = path.length; i < n && v !== null; i++) v = child(v, unchecked(path[i]));
  return v;
}

function evalVar(e: Expr): Val {
  let base: Val | null = null;
  switch (e.root) {
    case R_STATE: base = Scope.state; break;
    case R_PAYLOAD: base = field(Scope.intent, "payload"); break;
    case R_INTENT: base = Scope.intent; break;
    case R_CONST: base = Scope.consts; break;
    default: {
      let n = Scope.items.length;
      if (n == 0) return ruleFail(RR_ITEM);
      base = unchecked((e.root == R_ITEM ? Scope.items : Scope.indexes)[n - 1]);
    }
  }
  let v = walk(base, e.path!);
  if (v === null || v.t == NULL) {
    let d = e.dflt;
    return d !== null ? evaluate(d) : vNull();
  }
  return v;
}

function number(e: Expr, op: u32): f64 {
  let v = evaluate(e);
  if (failed()) return 0;
  if (!isNum(v)) {
    expects(op, X_NUMBERS, v);
    return 0;
  }
  return num(v);
}

/** Orders two values for <, <=, >, >=: numbers by value, strings by code point. 2 = incomparable. */
function order(a: Val, b: Val): i32 {
  if (isNum(a) && isNum(b)) {
    let x = num(a), y = num(b);
    if (x != x || y != y) return 2;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (a.t == STRING && b.t == STRING) return cmpBytes(a.s!, b.s!);
  return 2;
}

function compare(e: Expr): Val {
  let a = evaluate(e.args[0]);
  if (failed()) return a;
  let b = evaluate(e.args[1]);
  if (failed()) return b;
  let o = order(a, b);
  if (o == 2) return vBool(false);
  switch (e.op) {
    case OP_LT: return vBool(o < 0);
    case OP_LE: return vBool(o <= 0);
    case OP_GT: return vBool(o > 0);
  }
  return vBool(o >= 0);
}

function arith(e: Expr): Val {
  let args = e.args;
  let n = args.length;
  let x = number(args[0], e.op);
  if (e.op == OP_SUB && n == 1) return vF64(-x);
  switch (e.op) {
    case OP_ABS: return vF64(Math.abs(x));
    case OP_FLOOR: return vF64(Math.floor(x));
    case OP_CEIL: return vF64(Math.ceil(x));
    // JavaScript's Math.round: halves round up (-2.5 → -2), as AS's Math.round does
    case OP_ROUND: return vF64(Math.round(x));
  }
  for (let i = 1; i < n && !failed(); i++) {
    let y = number(args[i], e.op);
    switch (e.op) {
      case OP_ADD: x += y; break;
      case OP_SUB: x -= y; break;
      case OP_MUL: x *= y; break;
      case OP_DIV: x /= y; break;
      // the remainder of JavaScript's `%` (fmod: the sign of the dividend)
      case OP_MOD: x %= y; break;
      // Math.min/max: NaN wins, -0 < 0 (wasm's f64.min/max do the same)
      case OP_MIN: x = Math.min(x, y); break;
      case OP_MAX: x = Math.max(x, y); break;
    }
  }
  return vF64(x);
}

/** `{"map": [arr, fn]}` over an array value: fn's result for each item (filter effects use it). */
export function mapOver(arr: Val, fn: Expr): Val {
  let e = new Expr();
  e.op = OP_MAP;
  e.args = [lit(arr), fn];
  return iterate(e);
}

/** Evaluates `fn` once per item of `arr` with item/index bound. */
function iterate(e: Expr): Val {
  let arr = evaluate(e.args[0]);
  if (failed()) return arr;
  if (arr.t != ARRAY) return expects(e.op, X_ARRAY, arr);
  let items = arr.a!;
  let out = new Array<Val>();
  let result = e.op == OP_ALL;
  Scope.items.push(vNull());
  Scope.indexes.push(vNull());
  let top = Scope.items.length - 1;
  for (let i = 0, n = items.length; i < n; i++) {
    unchecked((Scope.items[top] = items[i]));
    unchecked((Scope.indexes[top] = vF64(<f64>i)));
    let r = evaluate(e.args[1]);
    if (failed()) break;
    if (e.op == OP_MAP) out.push(r);
    else if (truthy(r)) {
      if (e.op == OP_FILTER) out.push(unchecked(items[i]));
      else if (e.op == OP_SOME) { result = true; break; }
    } else if (e.op == OP_ALL) { result = false; break; }
  }
  Scope.items.pop();
  Scope.indexes.pop();
  if (e.op == OP_FILTER || e.op == OP_MAP) return vArr(out);
  return vBool(result);
}

/**
 * Removes leading and trailing white space: ASCII white space (TAB, LF, VT, FF, CR, SPACE) and
 * U+00A0. (String.prototype.trim also removes the rarer Unicode spaces; see docs/clp-rules.md.)
 */
function trim(s: ArrayBuffer): ArrayBuffer {
  let p = changetype<usize>(s);
  let start: i32 = 0, end: i32 = s.byteLength;
  while (start < end) {
    let w = spaceAt(p, start, end);
    if (w == 0) break;
    start += w;
  }
  while (end > start) {
    let c = <u32>load<u8>(p + end - 1);
    if (isSpace(c)) end--;
    else if (c == 0xa0 && end - start >= 2 && load<u8>(p + end - 2) == 0xc2) end -= 2;
    else break;
  }
  let out = new ArrayBuffer(end - start);
  memory.copy(changetype<usize>(out), p + start, end - start);
  return out;
}

@inline function isSpace(c: u32): bool {
  return (c >= 0x09 && c <= 0x0d) || c == 0x20;
}

/** Byte length of the white space at p+i (see `trim`), else 0. */
function spaceAt(p: usize, i: i32, end: i32): i32 {
  let c = <u32>load<u8>(p + i);
  if (isSpace(c)) return 1;
  return c == 0xc2 && i + 1 < end && load<u8>(p + i + 1) == 0xa0 ? 2 : 0;
}

/** Length in UTF-16 code units (as JavaScript counts), from UTF-8. */
function utf16Length(s: ArrayBuffer): i32 {
  let p = changetype<usize>(s);
  let n = 0;
  for (let i = 0, len = s.byteLength; i < len; i++) {
    let c = <u32>load<u8>(p + i);
    if ((c & 0xc0) != 0x80) n += c >= 0xf0 ? 2 : 1;
  }
  return n;
}

function contains(hay: ArrayBuffer, needle: ArrayBuffer): bool {
  let n = needle.byteLength, h = hay.byteLength;
  let hp = changetype<usize>(hay), np = changetype<usize>(needle);
  for (let i = 0; i + n <= h; i++) {
    let j = 0;
    while (j < n && load<u8>(hp + i + j) == load<u8>(np + j)) j++;
    if (j == n) return true;
  }
  return false;
}

function membership(e: Expr): Val {
  let needle = evaluate(e.args[0]);
  if (failed()) return needle;
  let hay = evaluate(e.args[1]);
  if (failed()) return hay;
  if (hay.t == NULL) return vBool(false);
  if (hay.t == ARRAY) {
    let items = hay.a!;
    for (let i = 0, n = items.length; i < n; i++) if (equal(needle, unchecked(items[i]))) return vBool(true);
    return vBool(false);
  }
  if (hay.t == STRING && needle.t == STRING) return vBool(contains(hay.s!, needle.s!));
  if (hay.t == MAP && needle.t == STRING) return vBool(mapGet(hay, needle.s!) !== null);
  return expects(OP_IN, X_SEARCHABLE, hay);
}

function concat(e: Expr): Val {
  let parts = new Array<ArrayBuffer>();
  let total = 0;
  for (let i = 0, n = e.args.length; i < n; i++) {
    let v = evaluate(e.args[i]);
    if (failed()) return v;
    if (v.t != STRING) return expects(OP_CONCAT, X_STRING, v);
    total += v.s!.byteLength;
    parts.push(v.s!);
  }
  if (total > 0xffff) return ruleFail(RR_TOO_LONG);
  let buf = new ArrayBuffer(total);
  let at = changetype<usize>(buf);
  for (let i = 0; i < parts.length; i++) {
    let s = unchecked(parts[i]);
    memory.copy(at, changetype<usize>(s), s.byteLength);
    at += s.byteLength;
  }
  return vStr(buf);
}

/** The `type` operator's names of CLASP value types, as JavaScript programmers know them. */
function typeName(v: Val): string {
  if (isNum(v)) return "number";
  switch (v.t) {
    case NULL: return "null";
    case STRING: return "string";
    case BYTES: return "bytes";
    case ARRAY: return "array";
    case MAP: return "object";
  }
  return "boolean";
}

/** `{"append": [array, item, …]}`: a new array (null reads as []); at most 65,535 items. */
function append(e: Expr): Val {
  let base = evaluate(e.args[0]);
  if (failed()) return base;
  if (base.t != NULL && base.t != ARRAY) return expects(OP_APPEND, X_ARRAY, base);
  let out = base.t == ARRAY ? base.a!.slice(0) : new Array<Val>();
  for (let i = 1, n = e.args.length; i < n; i++) {
    let v = evaluate(unchecked(e.args[i]));
    if (failed()) return v;
    out.push(v);
  }
  return out.length > 0xffff ? ruleFail(RR_TOO_LONG) : vArr(out);
}

/** `{"merge": [obj, …]}`: a shallow merge, later keys win in the first key's place (as `{...a, ...b}`); null is skipped. */
function merge(e: Expr): Val {
  let m = vMap();
  for (let i = 0, n = e.args.length; i < n; i++) {
    let v = evaluate(unchecked(e.args[i]));
    if (failed()) return v;
    if (v.t == NULL) continue;
    if (v.t != MAP) return expects(OP_MERGE, X_OBJECTS, v);
    for (let j = 0, k = v.a!.length; j < k; j++) mapPut(m, unchecked(v.k![j]), unchecked(v.a![j]));
  }
  return m.a!.length > 0xffff ? ruleFail(RR_TOO_LONG) : m;
}

// ---- dates: ISO 8601 strings <-> ms since the epoch (proleptic Gregorian, UTC), after
// H. Hinnant, "chrono-Compatible Low-Level Date Algorithms" (days_from_civil, civil_from_days).

/** Days since 1970-01-01 of the civil date y-m-d. */
function daysFromCivil(y: i64, m: i64, d: i64): i64 {
  y -= m <= 2 ? 1 : 0;
  let era = (y >= 0 ? y : y - 399) / 400;
  let yoe = y - era * 400;
  let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/** `n` decimal digits at p + i, or -1. */
function digits(p: usize, i: i32, n: i32, len: i32): i64 {
  if (i + n > len) return -1;
  let x: i64 = 0;
  for (let j = 0; j < n; j++) {
    let c = <i64>load<u8>(p + i + j) - 0x30;
    if (c < 0 || c > 9) return -1;
    x = x * 10 + c;
  }
  return x;
}

/**
 * Parses `YYYY-MM-DD[THH:mm[:ss[.fff…]]][Z|±HH:mm]` (the forms `toISOString` and `Date.parse`
 * share) into ms since the epoch; NaN when it is not one. Without a zone the time is UTC (JS
 * would read a date-time without a zone as local time, which differs between hosts).
 */
function parseIso(s: ArrayBuffer): f64 {
  let p = changetype<usize>(s);
  let len = s.byteLength;
  let y = digits(p, 0, 4, len), mo = digits(p, 5, 2, len), d = digits(p, 8, 2, len);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || load<u8>(p + 4) != 0x2d || load<u8>(p + 7) != 0x2d) return NaN;
  let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  let dim: i64 = mo == 2 ? (leap ? 29 : 28) : mo == 4 || mo == 6 || mo == 9 || mo == 11 ? 30 : 31;
  if (d > dim) return NaN;
  let ms = <f64>daysFromCivil(y, mo, d) * 86400000;
  let i = 10;
  if (i == len) return ms;
  if (load<u8>(p + i) != 0x54) return NaN; // "T"
  let h = digits(p, 11, 2, len), mi = digits(p, 14, 2, len);
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || load<u8>(p + 13) != 0x3a) return NaN;
  ms += <f64>(h * 3600000 + mi * 60000);
  i = 16;
  if (i < len && load<u8>(p + i) == 0x3a) {
    let sec = digits(p, 17, 2, len);
    if (sec < 0 || sec > 59) return NaN;
    ms += <f64>(sec * 1000);
    i = 19;
    if (i < len && load<u8>(p + i) == 0x2e) {
      // fraction: milliseconds from the first three digits (more are allowed and dropped)
      i++;
      let start = i;
      let frac: i64 = 0;
      while (i < len && <u32>load<u8>(p + i) - 0x30 <= 9) {
        if (i - start < 3) frac = frac * 10 + <i64>(load<u8>(p + i) - 0x30);
        i++;
      }
      if (i == start) return NaN;
      for (let k = i - start; k < 3; k++) frac *= 10;
      ms += <f64>frac;
    }
  }
  if (i == len) return ms;
  let z = load<u8>(p + i);
  if (z == 0x5a) return i + 1 == len ? ms : NaN; // "Z"
  if (z != 0x2b && z != 0x2d) return NaN; // "+" or "-"
  let oh = digits(p, i + 1, 2, len), om = digits(p, i + 4, 2, len);
  if (oh < 0 || oh > 23 || om < 0 || om > 59 || load<u8>(p + i + 3) != 0x3a || i + 6 != len) return NaN;
  let off = <f64>(oh * 3600000 + om * 60000);
  return z == 0x2b ? ms - off : ms + off;
}

/** Writes `x` as `n` zero-padded decimal digits at `at`. */
function putDigits(at: usize, x: i64, n: i32): void {
  for (let j = n - 1; j >= 0; j--) {
    store<u8>(at + j, <u8>(0x30 + x % 10));
    x /= 10;
  }
}

/** ms since the epoch as `toISOString()` writes it (`YYYY-MM-DDTHH:mm:ss.sssZ`); null for years outside 0000–9999. */
function isoOf(ms: f64): ArrayBuffer | null {
  if (!isFinite(ms)) return null;
  let t = <i64>Math.trunc(ms);
  let days = t / 86400000;
  let rem = t % 86400000;
  if (rem < 0) { rem += 86400000; days--; }
  // civil_from_days
  let z = days + 719468;
  let era = (z >= 0 ? z : z - 146096) / 146097;
  let doe = z - era * 146097;
  let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  let mp = (5 * doy + 2) / 153;
  let d = doy - (153 * mp + 2) / 5 + 1;
  let m = mp < 10 ? mp + 3 : mp - 9;
  let y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  if (y < 0 || y > 9999) return null;
  let out = new ArrayBuffer(24);
  let o = changetype<usize>(out);
  putDigits(o, y, 4);
  putDigits(o + 5, m, 2);
  putDigits(o + 8, d, 2);
  putDigits(o + 11, rem / 3600000, 2);
  putDigits(o + 14, (rem / 60000) % 60, 2);
  putDigits(o + 17, (rem / 1000) % 60, 2);
  putDigits(o + 20, rem % 1000, 3);
  store<u8>(o + 4, 0x2d);
  store<u8>(o + 7, 0x2d);
  store<u8>(o + 10, 0x54);
  store<u8>(o + 13, 0x3a);
  store<u8>(o + 16, 0x3a);
  store<u8>(o + 19, 0x2e);
  store<u8>(o + 23, 0x5a);
  return out;
}

/**
 * `{"date": value}` or `{"date": [value, ms]}`: the instant `value` (an ISO 8601 string or ms
 * since the epoch), plus `ms` milliseconds, as a `toISOString()` string.
 */
function date(e: Expr): Val {
  let v = evaluate(e.args[0]);
  if (failed()) return v;
  let ms: f64 = v.t == STRING ? parseIso(v.s!) : isNum(v) ? num(v) : NaN;
  if (e.args.length > 1) ms += number(e.args[1], OP_DATE);
  if (failed()) return vNull();
  let s = isoOf(ms);
  return s === null ? expects(OP_DATE, X_DATE, v) : vStr(s!);
}

/** Evaluates an expression. On failure returns null with E_RULE recorded (check `failed()`). */
export function evaluate(e: Expr): Val {
  switch (e.op) {
    case OP_LIT: return e.v;
    case OP_VAR: return evalVar(e);
    case OP_ARRAY: {
      let out = new Array<Val>(e.args.length);
      for (let i = 0, n = e.args.length; i < n; i++) {
        let v = evaluate(unchecked(e.args[i]));
        if (failed()) return v;
        unchecked((out[i] = v));
      }
      return vArr(out);
    }
    case OP_OBJECT: {
      let m = vMap();
      for (let i = 0, n = e.args.length; i < n; i++) {
        let v = evaluate(unchecked(e.args[i]));
        if (failed()) return v;
        mapPut(m, unchecked(e.keys![i]), v);
      }
      return m;
    }
    case OP_EQ:
    case OP_NE: {
      let a = evaluate(e.args[0]);
      if (failed()) return a;
      let b = evaluate(e.args[1]);
      if (failed()) return b;
      return vBool(equal(a, b) == (e.op == OP_EQ));
    }
    case OP_LT:
    case OP_LE:
    case OP_GT:
    case OP_GE: return compare(e);
    case OP_ADD:
    case OP_SUB:
    case OP_MUL:
    case OP_DIV:
    case OP_MOD:
    case OP_MIN:
    case OP_MAX:
    case OP_ABS:
    case OP_FLOOR:
    case OP_ROUND:
    case OP_CEIL: return arith(e);
    case OP_AND:
    case OP_OR: {
      let v = vNull();
      for (let i = 0, n = e.args.length; i < n; i++) {
        v = evaluate(unchecked(e.args[i]));
        if (failed()) return v;
        if (truthy(v) != (e.op == OP_AND)) return v;
      }
      return v;
    }
    case OP_NOT: {
      let v = evaluate(e.args[0]);
      return vBool(!truthy(v));
    }
    case OP_IF: {
      let n = e.args.length;
      let i = 0;
      for (; i + 1 < n; i += 2) {
        let c = evaluate(unchecked(e.args[i]));
        if (failed()) return c;
        if (truthy(c)) return evaluate(unchecked(e.args[i + 1]));
      }
      return i < n ? evaluate(unchecked(e.args[i])) : vNull();
    }
    case OP_COALESCE: {
      let v = vNull();
      for (let i = 0, n = e.args.length; i < n; i++) {
        v = evaluate(unchecked(e.args[i]));
        if (failed() || v.t != NULL) return v;
      }
      return v;
    }
    case OP_IN: return membership(e);
    case OP_LEN: {
      let v = evaluate(e.args[0]);
      if (failed()) return v;
      if (v.t == STRING) return vF64(<f64>utf16Length(v.s!));
      if (v.t == BYTES) return vF64(<f64>v.s!.byteLength);
      if (v.t == ARRAY || v.t == MAP) return vF64(<f64>v.a!.length);
      return expects(OP_LEN, X_MEASURABLE, v);
    }
    case OP_TRIM: {
      let v = evaluate(e.args[0]);
      if (failed()) return v;
      if (v.t != STRING) return expects(OP_TRIM, X_STRING, v);
      return vStr(trim(v.s!));
    }
    case OP_CONCAT: return concat(e);
    case OP_GET: {
      let c = evaluate(e.args[0]);
      if (failed()) return c;
      let k = evaluate(e.args[1]);
      if (failed()) return k;
      let r: Val | null = null;
      if (c.t == MAP && k.t == STRING) r = mapGet(c, k.s!);
      else if (c.t == ARRAY && isNum(k)) {
        let x = num(k);
        if (x >= 0 && x < <f64>c.a!.length && x == Math.floor(x)) r = c.a![<i32>x];
      } else if (c.t != NULL) return expects(OP_GET, X_KEYED, c);
      if (r === null || r.t == NULL) return e.args.length > 2 ? evaluate(e.args[2]) : vNull();
      return r;
    }
    case OP_FILTER:
    case OP_MAP:
    case OP_SOME:
    case OP_ALL: return iterate(e);
    case OP_NOW: return Scope.now;
    case OP_TYPE: {
      let v = evaluate(e.args[0]);
      return failed() ? v : vText(typeName(v));
    }
    case OP_DATE: return date(e);
    case OP_APPEND: return append(e);
    case OP_MERGE: return merge(e);
  }
  return vNull(); // {"$js"}: never evaluated here (the engine asks the host)
}

/** Evaluates `e` and copies the result so that it can be stored in the state. */
export function evaluateOwned(e: Expr): Val {
  let v = evaluate(e);
  return failed() ? v : clone(v);
}


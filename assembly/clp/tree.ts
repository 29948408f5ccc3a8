// Deep paths into the state tree and the effect operations on it (set, delete, push, insert,
// remove, splice, removeAt, merge), with an undo journal so that a commit applies all of its
// effects or none (docs/clp.md §Effects).
//
// Path syntax: segments separated by "." (`user.profile.name`), with array indices either as
// plain numeric segments (`items.0`) or in brackets (`items[0]`); "" is the root. A path may
// also be given as an array of segments: strings are map keys taken verbatim (dots allowed),
// integers are array indices.

import {
  Val, vMap, vArr, vI64, vStr, vNum, bytesEq, mapFind, mapAdd, same, depth, digitsOf,
  MAP, ARRAY, STRING, I64, MAX_COUNT, MAX_DEPTH, isInt, isNum, num,
} from "./val";
import {
  fail, fail1, fail2, E_PATH, E_LIMIT, PR_EMPTY, PR_BRACKET, PR_SEGMENT, PR_FORM, PR_RANGE, PR_THROUGH,
  PR_NOT_ARRAY, PR_NOT_OBJECT, PR_ROOT, LR_MAP, LR_ARRAY, LR_DEPTH,
} from "./error";

/** Deepest nesting of a value in the state (the event that carries it adds 4 levels). */
export const MAX_STATE_DEPTH: i32 = MAX_DEPTH - 4;

function pathFail(code: u32, reason: u32, path: Path): bool {
  return fail1(code, reason, pathVal(path));
}

/** A parsed path: each segment a string Val (map key) or an I64 Val (array index). */
export type Path = Array<Val>;

const DOT: u8 = 0x2e;
const OPEN: u8 = 0x5b;
const CLOSE: u8 = 0x5d;

function sub(p: usize, n: i32): ArrayBuffer {
  let b = new ArrayBuffer(n);
  memory.copy(changetype<usize>(b), p, n);
  return b;
}

/**
 * Parses a path string (UTF-8). Returns null (after recording E_PATH) on an empty segment,
 * an unclosed bracket or a bracket holding anything but decimal digits.
 */
export function parsePath(s: ArrayBuffer): Path | null {
  let out = new Array<Val>();
  let p = changetype<usize>(s);
  let n = s.byteLength;
  if (n == 0) return out;
  let i = 0;
  let text = vStr(s);
  while (true) {
    // one key segment (may be empty only when directly followed by a bracket at the start)
    let start = i;
    while (i < n && load<u8>(p + i) != DOT && load<u8>(p + i) != OPEN) i++;
    if (i > start) out.push(vStr(sub(p + start, i - start)));
    else if (!(i == 0 && i < n && load<u8>(p + i) == OPEN)) {
      fail1(E_PATH, PR_EMPTY, text);
      return null;
    }
    while (i < n && load<u8>(p + i) == OPEN) {
      i++;
      let d = i;
      let v: i64 = 0;
      while (i < n && load<u8>(p + i) >= 0x30 && load<u8>(p + i) <= 0x39 && i - d < 9) {
        v = v * 10 + <i64>(load<u8>(p + i) - 0x30);
        i++;
      }
      if (i == d || i >= n || load<u8>(p + i) != CLOSE) {
        fail1(E_PATH, PR_BRACKET, text);
        return null;
      }
      i++;
      out.push(vI64(v));
    }
    if (i >= n) break;
    if (load<u8>(p + i) != DOT) {
      fail1(E_PATH, PR_BRACKET, text);
      return null;
    }
    i++;
    if (i >= n) {
      fail1(E_PATH, PR_EMPTY, text);
      return null;
    }
  }
  return out;
}

/** Slots of the parsed-path cache (a power of two), and the longest path text it keeps. */
const PATH_SLOTS: u32 = 64;
const PATH_CACHED_BYTES: i32 = 256;
const pathTexts = new StaticArray<ArrayBuffer | null>(<i32>PATH_SLOTS);
const pathsParsed = new StaticArray<Path | null>(<i32>PATH_SLOTS);

/**
 * `parsePath` through a cache of parsed path texts, direct-mapped by their FNV-1a hash: the
 * JavaScript face's ops name the same paths commit after commit (`["set", "count", n]`) and
 * a replay reads them again from every event. A parsed path is never changed in place (see
 * `toPath`), so one may serve every op that names it. Failures are not kept.
 */
function parseCached(s: ArrayBuffer): Path | null {
  let n = s.byteLength;
  if (n > PATH_CACHED_BYTES) return parsePath(s);
  let p = changetype<usize>(s);
  let h: u32 = 2166136261;
  for (let i = 0; i < n; i++) h = (h ^ <u32>load<u8>(p + i)) * 16777619;
  let slot = <i32>(h & (PATH_SLOTS - 1));
  let k = unchecked(pathTexts[slot]);
  if (k !== null && (k === s || bytesEq(k, s))) return unchecked(pathsParsed[slot]);
  let path = parsePath(s);
  if (path !== null) {
    // the text is a string value's bytes: never changed once built
    unchecked((pathTexts[slot] = s));
    unchecked((pathsParsed[slot] = path));
  }
  return path;
}

/**
 * A path from a value: a string is parsed (through a small cache); an array holds segments
 * (strings verbatim, non-negative integers as indices). Returns null after recording E_PATH
 * otherwise.
 */
export function toPath(v: Val): Path | null {
  if (v.t == STRING) return parseCached(v.s!);
  if (v.t == ARRAY) {
    let items = v.a!;
    let out = items; // paths are never changed in place: the array itself serves when it needs no conversion
    for (let i = 0, n = items.length; i < n; i++) {
      let s = unchecked(items[i]);
      if (s.t == STRING || (s.t == I64 && s.i >= 0 && s.i <= 0xffff)) continue;
      let x = isNum(s) ? num(s) : -1;
      if (!(x >= 0 && x <= 0xffff && x == Math.floor(x))) {
        fail1(E_PATH, PR_SEGMENT, vNum(<f64>i));
        return null;
      }
      if (out === items) out = items.slice();
      unchecked((out[i] = vI64(<i64>x)));
    }
    return out;
  }
  fail(E_PATH, PR_FORM);
  return null;
}

/** The path as a CLASP value (array of strings and integers), for events; shares the array (paths are never changed in place). */
export function pathVal(path: Path): Val {
  return vArr(path);
}

/** True when `a` is a prefix of `b` (or equal to it). */
export function isPrefix(a: Path, b: Path): bool {
  if (a.length > b.length) return false;
  for (let i = 0, n = a.length; i < n; i++) {
    let x = unchecked(a[i]), y = unchecked(b[i]);
    if (x.t == STRING && y.t == STRING) {
      if (!bytesEq(x.s!, y.s!)) return false;
    } else if (x.t == I64 && y.t == I64) {
      if (x.i != y.i) return false;
    } else {
      // "items.0" and "items[0]" name the same place
      if (segIndex(x) < 0 || segIndex(x) != segIndex(y)) return false;
    }
  }
  return true;
}

/** A segment as an array index, or -1 when it is not one. */
export function segIndex(seg: Val): i32 {
  if (seg.t == I64) return seg.i >= 0 && seg.i <= 0x7fffffff ? <i32>seg.i : -1;
  let s = seg.s!;
  let n = s.byteLength;
  if (n == 0 || n > 9) return -1;
  let v = 0;
  let p = changetype<usize>(s);
  for (let i = 0; i < n; i++) {
    let c = <i32>load<u8>(p + i) - 0x30;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** A segment as a map key (indices become their decimal text). */
function segKey(seg: Val): ArrayBuffer {
  return seg.t == STRING ? seg.s! : digitsOf(<u64>seg.i);
}

// ---- the document and its journal

const U_ROOT: u32 = 0;
const U_SLOT: u32 = 1; // c.a[i] = old
const U_MAP_ADD: u32 = 2; // pop the last key
const U_MAP_DEL: u32 = 3; // reinsert key/old at i
const U_PUSH: u32 = 4; // pop

@final class Undo {
  kind: u32 = 0;
  c: Val | null = null;
  i: i32 = 0;
  key: ArrayBuffer | null = null;
  old: Val | null = null;
}

/** A state tree with its change journal and the list of paths the current commit changed. */
@final export class Doc {
  root: Val = vMap();
  /**
   * The undo entries of the commit in progress: the first `entries` of `journal`. Entries are
   * reused by later commits (a change allocates none once the journal is long enough).
   */
  journal: Array<Undo> = new Array<Undo>();
  entries: i32 = 0;
  /** Record undo entries (off for bulk replay onto a scratch copy). */
  undo: bool = true;
  changed: Array<Path> = new Array<Path>();

  private log(kind: u32, c: Val | null, i: i32, key: ArrayBuffer | null, old: Val | null): void {
    if (!this.undo) return;
    let j = this.journal;
    let n = this.entries;
    let u: Undo;
    if (n < j.length) u = unchecked(j[n]);
    else j.push((u = new Undo()));
    u.kind = kind;
    u.c = c;
    u.i = i;
    u.key = key;
    u.old = old;
    this.entries = n + 1;
  }

  /**
   * Forgets the journal and the changed paths: the changes become final. The entries let go
   * of what they held (old values would otherwise stay alive until the entry is reused).
   */
  settle(): void {
    let j = this.journal;
    for (let n = 0, e = this.entries; n < e; n++) {
      let u = unchecked(j[n]);
      u.c = null;
      u.key = null;
      u.old = null;
    }
    this.entries = 0;
    this.changed.length = 0;
  }

  /** Reverts every journaled change, newest first. */
  rollback(): void {
    let j = this.journal;
    for (let n = this.entries - 1; n >= 0; n--) {
      let u = unchecked(j[n]);
      let c = u.c;
      if (u.kind == U_ROOT) this.root = u.old!;
      else if (u.kind == U_SLOT) unchecked((c!.a![u.i] = u.old!));
      else if (u.kind == U_MAP_DEL) {
        insertAt<ArrayBuffer>(c!.k!, u.i, u.key!);
        insertAt<Val>(c!.a!, u.i, u.old!);
      } else {
        if (u.kind == U_MAP_ADD) c!.k!.pop();
        c!.a!.pop();
      }
    }
    this.settle();
  }

  /** The value at `path`, or null when absent. */
  get(path: Path): Val | null {
    let v = this.root;
    for (let i = 0, n = path.length; i < n; i++) {
      let c = child(v, unchecked(path[i]));
      if (c === null) return null;
      v = c;
    }
    return v;
  }

  /**
   * The container that holds the last segment of `path`. With `create`, missing maps on the
   * way are created (and null values replaced by maps); otherwise null when absent.
   */
  private parent(path: Path, create: bool): Val | null {
    let v = this.root;
    for (let i = 0, n = path.length - 1; i < n; i++) {
      let seg = unchecked(path[i]);
      let c = child(v, seg);
      if (c === null || (create && c.t == 0)) {
        if (!create) return null;
        let m = vMap();
        if (!this.put(v, seg, m, path)) return null;
        c = m;
      } else if (c.t != MAP && c.t != ARRAY) {
        if (create) fail2(E_PATH, PR_THROUGH, pathVal(path), pathVal(path.slice(0, i + 1)));
        return null;
      }
      v = c;
    }
    return v;
  }

  /** Writes `val` at segment `seg` of container `c`; returns false when impossible. */
  private put(c: Val, seg: Val, val: Val, path: Path): bool {
    let items = c.a!;
    if (c.t == MAP) {
      let key = segKey(seg);
      let i = mapFind(c, key);
      if (i >= 0) return this.slot(c, i, val);
      if (items.length >= MAX_COUNT) return pathFail(E_LIMIT, LR_MAP, path);
      mapAdd(c, key, val);
      this.log(U_MAP_ADD, c, 0, null, null);
      return true;
    }
    let i = segIndex(seg);
    if (i >= 0 && i < items.length) return this.slot(c, i, val);
    if (i == items.length) return this.pushOne(c, val, path);
    return fail2(E_PATH, PR_RANGE, pathVal(path), vNum(<f64>i));
  }

  private slot(c: Val, i: i32, val: Val): bool {
    this.log(U_SLOT, c, i, null, unchecked(c.a![i]));
    unchecked((c.a![i] = val));
    return true;
  }

  private pushOne(arr: Val, val: Val, path: Path): bool {
    if (arr.a!.length >= MAX_COUNT) return pathFail(E_LIMIT, LR_ARRAY, path);
    arr.a!.push(val);
    this.log(U_PUSH, arr, 0, null, null);
    return true;
  }

  private fits(path: Path, val: Val): bool {
    if (path.length + depth(val) > MAX_STATE_DEPTH) return fail2(E_LIMIT, LR_DEPTH, pathVal(path), vNum(<f64>MAX_STATE_DEPTH));
    return true;
  }

  /** Sets `path` to `val`. Returns false after recording a failure. */
  set(path: Path, val: Val): bool {
    if (!this.fits(path, val)) return false;
    // (replay skips the no-change test and the diff bookkeeping: `undo` is off there)
    if (this.undo) {
      let old = this.get(path);
      if (old !== null && same(old, val)) return true;
    }
    if (path.length == 0) {
      if (val.t != MAP) return fail(E_PATH, PR_ROOT);
      this.log(U_ROOT, null, 0, null, this.root);
      this.root = val;
    } else {
      let c = this.parent(path, true);
      if (c === null || !this.put(c, unchecked(path[path.length - 1]), val, path)) return false;
    }
    if (this.undo) this.changed.push(path);
    return true;
  }

  /** Deletes `path` (an array item is removed, later items shift). Absent paths are no-ops. */
  del(path: Path): bool {
    if (path.length == 0) return fail(E_PATH, PR_ROOT);
    let c = this.parent(path, false);
    if (c === null) return true;
    let seg = unchecked(path[path.length - 1]);
    if (c.t == ARRAY) {
      let i = segIndex(seg);
      return i < 0 || i >= c.a!.length ? true : this.removeAt(path.slice(0, path.length - 1), [vI64(i)]);
    }
    let i = mapFind(c, segKey(seg));
    if (i < 0) return true;
    this.log(U_MAP_DEL, c, i, unchecked(c.k![i]), unchecked(c.a![i]));
    c.k!.splice(i, 1);
    c.a!.splice(i, 1);
    this.changed.push(path);
    return true;
  }

  /** The array at `path`; with `create`, an absent or null value becomes []. */
  private array(path: Path, create: bool): Val | null {
    let v = this.get(path);
    if ((v === null || v.t == 0) && create) {
      v = vArr([]);
      if (!this.set(path, v)) return null;
    }
    if (v === null || v.t != ARRAY) {
      pathFail(E_PATH, PR_NOT_ARRAY, path);
      return null;
    }
    return v;
  }

  /** Appends `items` to the array at `path` (created when absent). */
  push(path: Path, items: Array<Val>): bool {
    let arr = this.array(path, true);
    if (arr === null) return false;
    for (let i = 0, n = items.length; i < n; i++) {
      let v = unchecked(items[i]);
      if (!this.fits(path, v) || !this.pushOne(arr, v, path)) return false;
      // the diff names the new item (path.n), not the whole array
      if (this.undo) {
        let p = path.slice();
        p.push(vI64(arr.a!.length - 1));
        this.changed.push(p);
      }
    }
    return true;
  }

  /** Array.prototype.splice on the array at `path`: start and count clamp as in JavaScript. */
  splice(path: Path, start: f64, count: f64, add: Array<Val>): bool {
    let arr = this.array(path, false);
    if (arr === null) return false;
    let items = arr.a!;
    let len = <f64>items.length;
    let s = start != start ? 0 : Math.trunc(start);
    s = s < 0 ? Math.max(len + s, 0) : Math.min(s, len);
    let c = count != count ? 0 : Math.trunc(count);
    c = Math.min(Math.max(c, 0), len - s);
    let from = <i32>s, del = <i32>c;
    if (del == 0 && add.length == 0) return true;
    if (items.length - del + add.length > MAX_COUNT) return pathFail(E_LIMIT, LR_ARRAY, path);
    let next = items.slice(0, from);
    for (let i = 0, n = add.length; i < n; i++) {
      if (!this.fits(path, unchecked(add[i]))) return false;
      next.push(unchecked(add[i]));
    }
    for (let i = from + del, n = items.length; i < n; i++) next.push(unchecked(items[i]));
    return this.set(path, vArr(next));
  }

  /** Removes the given indices (ascending, distinct; number values) of the array at `path`. */
  removeAt(path: Path, indices: Array<Val>): bool {
    let arr = this.array(path, false);
    if (arr === null) return false;
    let items = arr.a!;
    let next = new Array<Val>();
    let j = 0;
    for (let i = 0, n = items.length; i < n; i++) {
      if (j < indices.length && num(unchecked(indices[j])) == <f64>i) j++;
      else next.push(unchecked(items[i]));
    }
    if (j < indices.length) return fail2(E_PATH, PR_RANGE, pathVal(path), unchecked(indices[j]));
    return j == 0 ? true : this.set(path, vArr(next));
  }
}

/** The child of container `v` at `seg`, or null. */
export function child(v: Val, seg: Val): Val | null {
  if (v.t == MAP) {
    let i = mapFind(v, segKey(seg));
    return i < 0 ? null : unchecked(v.a![i]);
  }
  if (v.t == ARRAY) {
    let i = segIndex(seg);
    return i >= 0 && i < v.a!.length ? unchecked(v.a![i]) : null;
  }
  return null;
}

function insertAt<T>(a: Array<T>, i: i32, v: T): void {
  a.push(v);
  for (let j = a.length - 1; j > i; j--) unchecked((a[j] = a[j - 1]));
  unchecked((a[i] = v));
}

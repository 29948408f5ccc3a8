// The CLP state tree: CLASP values (clasp-wire.md §3) held as objects, decoded from CLASP
// bytes through the codec core's tape and written back with its wire writer and limits
// (assembly/clasp: one value codec for the project).
//
// Strings and byte strings are kept as UTF-8 (already validated by the decoder), so a value
// re-encodes to exactly the bytes it came from. Map keys keep insertion order. Leaves are never
// mutated once built, so they may be shared; containers are owned by exactly one parent.

import { NULL, BOOL, I8, I16, I32, I64, F32, F64, STRING, BYTES, ARRAY, MAP, MAX_DEPTH } from "../clasp/value";
import { decodeValueAt } from "../clasp/codec";
import { Tw } from "../clasp/tape";
import { Wr, room, writeAt, writeU8, writeU16, writtenBytes } from "../clasp/wire";
import { Err, fail as codecFail, clearError, ENCODE_LIMIT, R_TOO_DEEP, R_TOO_MANY_ENTRIES, R_STRING_TOO_LONG } from "../clasp/error";

export { NULL, BOOL, I8, I16, I32, I64, F32, F64, STRING, BYTES, ARRAY, MAP, MAX_DEPTH };

/** Largest count of a CLASP array or map, and byte length of a string (u16 on the wire). */
export const MAX_COUNT: i32 = 0xffff;

/** One value. `t` is its CLASP type code; which other fields are used depends on it. */
@final export class Val {
  /** CLASP type code (NULL … MAP). */
  t: u32;
  /** bool (0/1), integer value, or the raw bits of a float (kept for byte-exact re-encoding). */
  i: i64;
  /** Value of a float. */
  f: f64;
  /** UTF-8 bytes of a string, or the bytes of a byte string. */
  s: ArrayBuffer | null;
  /** Items of an array, or values of a map (parallel to `k`). */
  a: Array<Val> | null;
  /** Keys of a map, UTF-8. */
  k: Array<ArrayBuffer> | null;
}

// ---- constructors

const NULL_VAL = new Val();
const TRUE_VAL = vBoolNew(true);
const FALSE_VAL = vBoolNew(false);

function vBoolNew(b: bool): Val {
  let v = new Val();
  v.t = BOOL;
  v.i = b ? 1 : 0;
  return v;
}

@inline export function vNull(): Val {
  return NULL_VAL;
}

@inline export function vBool(b: bool): Val {
  return b ? TRUE_VAL : FALSE_VAL;
}

/** A float64 value; NaN is canonicalised so that every host stores the same bits. */
@noinline export function vF64(x: f64): Val {
  let v = new Val();
  v.t = F64;
  v.f = x;
  v.i = x != x ? 0x7ff8000000000000 : reinterpret<i64>(x);
  return v;
}

@noinline export function vI64(x: i64): Val {
  let v = new Val();
  v.t = I64;
  v.i = x;
  return v;
}

@noinline export function vBytes(t: u32, s: ArrayBuffer): Val {
  let v = new Val();
  v.t = t;
  v.s = s;
  return v;
}

@inline export function vStr(s: ArrayBuffer): Val {
  return vBytes(STRING, s);
}

/** The bytes of an ASCII AssemblyScript string (field names, op names: no UTF-8 encoder needed). */
@noinline export function ascii(s: string): ArrayBuffer {
  let n = s.length;
  let b = new ArrayBuffer(n);
  for (let i = 0; i < n; i++) store<u8>(changetype<usize>(b) + i, <u8>s.charCodeAt(i));
  return b;
}

/** A string value from an ASCII AssemblyScript string. */
@noinline export function vText(s: string): Val {
  return vStr(ascii(s));
}

/** True when UTF-8 bytes `b` spell the ASCII string `s`. */
export function eqAscii(b: ArrayBuffer, s: string): bool {
  let n = b.byteLength;
  if (n != s.length) return false;
  let p = changetype<usize>(b);
  for (let i = 0; i < n; i++) if (<i32>load<u8>(p + i) != s.charCodeAt(i)) return false;
  return true;
}

/**
 * Index of the word [p, p + n) (UTF-8) among the space-separated ASCII words of `list`, or -1.
 * One string per word list keeps the core's static data small.
 */
export function wordIndex(list: string, p: usize, n: i32): i32 {
  let k = 0;
  let start = 0;
  for (let i = 0, len = list.length; i <= len; i++) {
    if (i < len && list.charCodeAt(i) != 32) continue;
    if (i - start == n) {
      let j = 0;
      while (j < n && <i32>load<u8>(p + j) == list.charCodeAt(start + j)) j++;
      if (j == n) return k;
    }
    k++;
    start = i + 1;
  }
  return -1;
}

/** `wordIndex` of a whole byte string. */
@inline export function wordOf(list: string, s: ArrayBuffer): i32 {
  return wordIndex(list, changetype<usize>(s), s.byteLength);
}

/** Decimal digits of a non-negative integer, as UTF-8. */
export function digitsOf(x: u64): ArrayBuffer {
  let n = 1;
  for (let y = x; y >= 10; y /= 10) n++;
  let b = new ArrayBuffer(n);
  let p = changetype<usize>(b);
  for (let i = n - 1; i >= 0; i--) {
    store<u8>(p + i, <u8>(0x30 + <u32>(x % 10)));
    x /= 10;
  }
  return b;
}

@noinline export function vArr(items: Array<Val>): Val {
  let v = new Val();
  v.t = ARRAY;
  v.a = items;
  return v;
}

@noinline export function vMap(): Val {
  let v = new Val();
  v.t = MAP;
  v.a = new Array<Val>();
  v.k = new Array<ArrayBuffer>();
  return v;
}

// ---- kinds

@inline export function isNum(v: Val): bool {
  return v.t >= I8 && v.t <= F64;
}

@inline export function isInt(v: Val): bool {
  return v.t >= I8 && v.t <= I64;
}

/** Numeric value of a number (integers widened to f64). */
@inline export function num(v: Val): f64 {
  return v.t >= F32 ? v.f : <f64>v.i;
}

/** JavaScript truthiness: null, false, 0, NaN and "" are false; everything else is true. */
export function truthy(v: Val): bool {
  switch (v.t) {
    case NULL: return false;
    case BOOL: return v.i != 0;
    case STRING: return v.s!.byteLength > 0;
    case ARRAY:
    case MAP:
    case BYTES: return true;
  }
  let x = num(v);
  return x == x && x != 0;
}

// ---- bytes and map keys

/** Orders two byte strings (-1, 0, 1): bytewise, then shorter first (code point order for UTF-8). */
@noinline export function cmpBytes(a: ArrayBuffer, b: ArrayBuffer): i32 {
  let x = changetype<usize>(a), y = changetype<usize>(b);
  let n = a.byteLength, m = b.byteLength;
  let k = n < m ? n : m;
  for (let i = 0; i < k; i++) {
    let c = <i32>load<u8>(x + i) - <i32>load<u8>(y + i);
    if (c != 0) return c < 0 ? -1 : 1;
  }
  return n < m ? -1 : n > m ? 1 : 0;
}

/** True when the two byte strings are equal. */
@inline export function bytesEq(a: ArrayBuffer, b: ArrayBuffer): bool {
  return a.byteLength == b.byteLength && cmpBytes(a, b) == 0;
}

/** Index of `key` in map `m`, or -1 (a linear scan: CLP states hold small maps). */
export function mapFind(m: Val, key: ArrayBuffer): i32 {
  let ks = m.k!;
  let n = key.byteLength;
  // the keys read straight from the array's storage (`unchecked(ks[i])` stays a call here)
  let at = ks.dataStart;
  for (let i = 0, c = ks.length; i < c; i++) {
    let k = changetype<ArrayBuffer>(load<usize>(at + (<usize>i << alignof<usize>())));
    if (k.byteLength == n && memory.compare(changetype<usize>(k), changetype<usize>(key), <usize>n) == 0) return i;
  }
  return -1;
}

/** The value under `key` in map `m`, or null when absent. */
@noinline export function mapGet(m: Val, key: ArrayBuffer): Val | null {
  let i = mapFind(m, key);
  return i < 0 ? null : unchecked(m.a![i]);
}

/** Appends `key` → `v` to map `m` (the key must be absent). */
@noinline export function mapAdd(m: Val, key: ArrayBuffer, v: Val): void {
  m.k!.push(key);
  m.a!.push(v);
}

/** Sets `key` → `v` in map `m`, replacing in place or appending. */
@noinline export function mapPut(m: Val, key: ArrayBuffer, v: Val): void {
  let i = mapFind(m, key);
  if (i < 0) mapAdd(m, key, v);
  else unchecked((m.a!)[i] = v);
}

/** Looks up an ASCII key given as an AssemblyScript string (contract fields, arguments). */
@noinline export function field(m: Val, name: string): Val | null {
  if (m.t != MAP) return null;
  let ks = m.k!;
  for (let i = 0, n = ks.length; i < n; i++) if (eqAscii(unchecked(ks[i]), name)) return unchecked(m.a![i]);
  return null;
}

/** Item `i` of array `v`, or null. */
@noinline export function item(v: Val, i: i32): Val | null {
  return v.t == ARRAY && i >= 0 && i < v.a!.length ? unchecked(v.a![i]) : null;
}

/** A number value (float64). */
@inline export function vNum(x: f64): Val {
  return vF64(x);
}

// ---- copying, comparing, measuring

/** A deep copy: containers are copied, leaves shared (they are immutable). */
export function clone(v: Val): Val {
  if (v.t == ARRAY) {
    let src = v.a!;
    let n = src.length;
    let items = new Array<Val>(n);
    for (let i = 0; i < n; i++) unchecked((items[i] = clone(unchecked(src[i]))));
    return vArr(items);
  }
  if (v.t == MAP) {
    let m = new Val();
    m.t = MAP;
    let keys = new Array<ArrayBuffer>();
    for (let i = 0, n = v.k!.length; i < n; i++) keys.push(unchecked(v.k![i]));
    m.k = keys;
    let src = v.a!;
    let n = src.length;
    let vals = new Array<Val>(n);
    for (let i = 0; i < n; i++) unchecked((vals[i] = clone(unchecked(src[i]))));
    m.a = vals;
    return m;
  }
  return v;
}

/**
 * Byte-level equality: same type codes, same bits, same map key order. Two values are
 * `same` exactly when they encode to the same CLASP bytes.
 */
export function same(a: Val, b: Val): bool {
  if (a === b) return true;
  if (a.t != b.t) return false;
  switch (a.t) {
    case NULL: return true;
    case STRING:
    case BYTES: return bytesEq(a.s!, b.s!);
    case ARRAY:
    case MAP: {
      let x = a.a!, y = b.a!;
      let n = x.length;
      if (n != y.length) return false;
      for (let i = 0; i < n; i++) {
        if (a.t == MAP && !bytesEq(unchecked(a.k![i]), unchecked(b.k![i]))) return false;
        if (!same(unchecked(x[i]), unchecked(y[i]))) return false;
      }
      return true;
    }
  }
  return a.i == b.i;
}

/**
 * Value equality of the rule language: numbers compare by value across widths (NaN equals
 * nothing), arrays item by item, everything else as `same` (maps with their key order).
 */
export function equal(a: Val, b: Val): bool {
  if (isNum(a) && isNum(b)) return isInt(a) && isInt(b) ? a.i == b.i : num(a) == num(b);
  if (a.t != ARRAY || b.t != ARRAY) return same(a, b);
  let x = a.a!, y = b.a!;
  let n = x.length;
  if (n != y.length) return false;
  for (let i = 0; i < n; i++) if (!equal(unchecked(x[i]), unchecked(y[i]))) return false;
  return true;
}

/** Nesting depth: 0 for a leaf, 1 + the deepest child for arrays and maps. */
export function depth(v: Val): i32 {
  if (v.t != ARRAY && v.t != MAP) return 0;
  let d = 0;
  let items = v.a!;
  for (let i = 0, n = items.length; i < n; i++) {
    let c = depth(unchecked(items[i]));
    if (c > d) d = c;
  }
  return d + 1;
}

// ---- CLASP bytes <-> tree, through the codec's tape

let TP: usize = 0;
let TB: usize = 0;

@inline function word(): u32 {
  let w = load<u32>(TP);
  TP += 4;
  return w;
}

function copyBytes(): ArrayBuffer {
  let off = <usize>word();
  let len = <i32>word();
  let buf = new ArrayBuffer(len);
  memory.copy(changetype<usize>(buf), TB + off, len);
  return buf;
}

/** Builds the value whose first tape word is `w` (tapes come from our own decoder: trusted). */
function fromTape(w: u32): Val {
  let tag = w & 0xff;
  switch (tag) {
    case NULL: return NULL_VAL;
    case BOOL: return (w >> 8) & 1 ? TRUE_VAL : FALSE_VAL;
    case I8:
    case I16:
    case I32: {
      let v = new Val();
      v.t = tag;
      v.i = <i64><i32>word();
      return v;
    }
    case I64: {
      let lo = <u64>word();
      let v = new Val();
      v.t = I64;
      v.i = <i64>(lo | (<u64>word() << 32));
      return v;
    }
    case F32: {
      let bits = word();
      let v = new Val();
      v.t = F32;
      v.i = <i64>bits;
      v.f = <f64>reinterpret<f32>(bits);
      return v;
    }
    case F64: {
      let lo = <u64>word();
      let bits = lo | (<u64>word() << 32);
      let v = new Val();
      v.t = F64;
      v.i = <i64>bits;
      v.f = reinterpret<f64>(bits);
      return v;
    }
    case STRING:
    case BYTES: return vBytes(tag, copyBytes());
    case ARRAY: {
      let n = <i32>word();
      let items = new Array<Val>(n);
      for (let i = 0; i < n; i++) unchecked((items[i] = fromTape(word())));
      return vArr(items);
    }
  }
  // MAP: duplicate keys keep the last value (as both upstream codecs do), in first position.
  let n = <i32>word();
  let m = vMap();
  for (let i = 0; i < n; i++) {
    word(); // string node tag
    let key = copyBytes();
    mapPut(m, key, fromTape(word()));
  }
  return m;
}

/**
 * Decodes the one tagged CLASP value in [p, p + n). Returns null when the bytes are not a
 * single well-formed value (`Err` holds the codec's reason).
 */
@inline export function decode(p: usize, n: usize): Val | null {
  return decodeItems(p, n, 0xffffffff);
}

/**
 * The first half of decoding a call argument `[name, value, …]` (dispatch's), building
 * neither the array nor the name: decodes [p, p + n) to the tape, checks the shape and leaves
 * the name's UTF-8 bytes in `Call` (they lie in the argument) and the tape at the value.
 * Returns 0 when so, 1 when the bytes are not one CLASP value (`Err` holds the reason),
 * 2 when the value is not an array whose first item is a string. Call `callValue` next,
 * before anything else decodes.
 */
export function decodeCall(p: usize, n: usize): i32 {
  let bytes = decodeValueAt(p, n);
  if (Err.code != 0 || bytes == 0) return 1;
  TP = Tw.out.ptr;
  TB = p;
  let w = word();
  if ((w & 0xff) != ARRAY) return 2;
  let count = <i32>word();
  if (count < 1 || (word() & 0xff) != STRING) return 2;
  Call.name = TB + <usize>word();
  Call.nameLen = <i32>word();
  Call.count = count;
  return 0;
}

/** Where `decodeCall` found the name, and the argument's item count. */
export class Call {
  static name: usize = 0;
  static nameLen: i32 = 0;
  static count: i32 = 0;
}

/**
 * The second half of `decodeCall`: builds item 1 (null when the array has one item). A map's
 * keys equal to one of `known` (an intent's input names) share that buffer instead of a copy.
 */
export function callValue(known: Array<ArrayBuffer>): Val | null {
  if (Call.count < 2) return null;
  let w = word();
  if ((w & 0xff) != MAP) return fromTape(w);
  let n = <i32>word();
  let m = new Val();
  m.t = MAP;
  // sized for n entries (fewer when keys repeat): no growth while they are added
  let ks = new Array<ArrayBuffer>(n);
  let vs = new Array<Val>(n);
  ks.length = 0;
  vs.length = 0;
  m.k = ks;
  m.a = vs;
  for (let i = 0; i < n; i++) {
    word(); // string node tag
    let off = <usize>word();
    let len = <i32>word();
    let key: ArrayBuffer | null = null;
    for (let j = 0, c = known.length; j < c && key === null; j++) {
      let k = unchecked(known[j]);
      if (k.byteLength == len && memory.compare(changetype<usize>(k), TB + off, <usize>len) == 0) key = k;
    }
    if (key === null) {
      key = new ArrayBuffer(len);
      memory.copy(changetype<usize>(key), TB + off, len);
    }
    // duplicate keys keep the last value, in first position (as `fromTape`)
    mapPut(m, key!, fromTape(word()));
  }
  return m;
}

/** Advances the tape past the node whose first word `w` was read, building nothing. */
function skip(w: u32): void {
  let tag = w & 0xff;
  if (tag == ARRAY || tag == MAP) {
    for (let i: u32 = 0, n = word(); i < n; i++) {
      if (tag == MAP) TP += 12; // the key's string node
      skip(word());
    }
  } else if (tag == I64 || tag == F64 || tag == STRING || tag == BYTES) TP += 8;
  else if (tag != NULL && tag != BOOL) TP += 4;
}

/**
 * Like `decode` for an array value, building only the items whose bit is set in `keep`
 * (the others become null): replay reads an event's seq, ops and key, not its payload.
 */
export function decodeItems(p: usize, n: usize, keep: u32): Val | null {
  let bytes = decodeValueAt(p, n);
  if (Err.code != 0 || bytes == 0) return null;
  TP = Tw.out.ptr;
  TB = p;
  let w = word();
  if ((w & 0xff) != ARRAY) return fromTape(w);
  let count = <i32>word();
  let items = new Array<Val>(count);
  for (let i = 0; i < count; i++) {
    let wi = word();
    if (i < 32 && ((keep >>> i) & 1) == 0) {
      skip(wi);
      unchecked((items[i] = NULL_VAL));
    } else unchecked((items[i] = fromTape(wi)));
  }
  return vArr(items);
}

/**
 * Writes `v` as a tagged CLASP value (clasp-wire.md §3: type byte, then the body; integers
 * big-endian; strings, byte strings, arrays and maps with a u16 count) at the wire writer's
 * position, with the codec's limits and reasons (assembly/clasp/value.ts `encodeTagged`,
 * which encodes from a tape: a value tree needs no tape in between). `depth` is the nesting
 * of `v` (0 at the top); stops at the first failure (`Err`).
 */
export function writeVal(v: Val, depth: i32): void {
  let t = v.t;
  if (t <= F64) {
    // a scalar: tag and body (big-endian) under one room check
    let n: usize = t == NULL ? 1 : t <= I8 ? 2 : t == I16 ? 3 : t == I32 || t == F32 ? 5 : 9;
    if (!room(n)) return;
    let p = Wr.pos;
    store<u8>(p, <u8>t);
    if (n == 2) store<u8>(p + 1, <u8>v.i);
    else if (n == 3) store<u16>(p + 1, bswap<u16>(<u16>v.i));
    else if (n == 5) store<u32>(p + 1, bswap<u32>(<u32>v.i));
    else if (n == 9) store<u64>(p + 1, bswap<u64>(<u64>v.i));
    Wr.pos = p + n;
    return;
  }
  writeU8(t);
  if (t == STRING || t == BYTES) {
    writeStr(v.s!);
    return;
  }
  // ARRAY, MAP
  let items = v.a!;
  let n = items.length;
  if (!writeCount(n, depth)) return;
  for (let i = 0; i < n && Err.code == 0; i++) {
    if (t == MAP) writeStr(unchecked(v.k![i])); // keys: the string's body, no type byte
    writeVal(unchecked(items[i]), depth + 1);
  }
}

/** Writes the body of a string or byte string: u16 length, then the bytes (the codec's limit). */
export function writeStr(s: ArrayBuffer): void {
  let n = s.byteLength;
  if (n > MAX_COUNT) {
    codecFail(ENCODE_LIMIT, R_STRING_TOO_LONG, <u32>n);
    return;
  }
  if (!room(2 + <usize>n)) return;
  let p = Wr.pos;
  store<u16>(p, bswap<u16>(<u16>n));
  memory.copy(p + 2, changetype<usize>(s), <usize>n);
  Wr.pos = p + 2 + <usize>n;
}

/**
 * Writes the u16 count of an array or map at nesting `depth` (its tag byte already written);
 * false, with the codec's reason, when the count or the depth passes a CLASP limit.
 */
export function writeCount(n: i32, depth: i32): bool {
  if (depth >= MAX_DEPTH) {
    codecFail(ENCODE_LIMIT, R_TOO_DEEP, 0);
    return false;
  }
  if (n > MAX_COUNT) {
    codecFail(ENCODE_LIMIT, R_TOO_MANY_ENTRIES, <u32>n);
    return false;
  }
  writeU16(<u32>n);
  return true;
}

/**
 * Encodes `v` as a tagged CLASP value into the codec's wire writer (`Wr.out`, from offset 0).
 * Returns the byte count, or 0 when a wire limit is exceeded (`Err`).
 */
export function encode(v: Val): usize {
  writeAt(0);
  clearError();
  writeVal(v, 0);
  return Err.code == 0 ? writtenBytes() : 0;
}

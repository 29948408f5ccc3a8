// JSON (RFC 8259) for every wasm program of the project: a value tree, a strict parser that
// accepts exactly what JavaScript's JSON.parse accepts (from UTF-8 bytes: only valid UTF-8), and
// a compact writer whose output JSON.parse reads back as the same value.
//
// The parser is iterative (an explicit stack of open containers), so nesting is bounded by
// `maxDepth`, not by the wasm call stack: no input traps. Numbers are read and printed exactly as
// JavaScript does (./number.ts).

import { Region } from "../abi/buffer";
import { decimalToF64, formatF64, MAX_DIGITS } from "./number";

export { formatF64 } from "./number";

/** JValue.kind of null. */
export const J_NULL: i32 = 0;
/** JValue.kind of true and false (in `b`). */
export const J_BOOL: i32 = 1;
/** JValue.kind of a number (in `n`). */
export const J_NUM: i32 = 2;
/** JValue.kind of a string (in `s`). */
export const J_STR: i32 = 3;
/** JValue.kind of an array (elements in `items`). */
export const J_ARR: i32 = 4;
/** JValue.kind of an object (names in `keys`, values in `items`). */
export const J_OBJ: i32 = 5;

/**
 * A JSON value. `kind` is one of J_NULL … J_OBJ and says which field holds it: `b` (J_BOOL),
 * `n` (J_NUM, an f64), `s` (J_STR), `items` (J_ARR elements; J_OBJ member values) with `keys`
 * (J_OBJ member names, `keys[i]` names `items[i]`, in the order written). A parsed object keeps
 * repeated names as written; lookups take the last, as JSON.parse does.
 */
export class JValue {
  kind: i32 = J_NULL;
  b: bool = false;
  n: f64 = 0;
  s: string = "";
  items: JValue[] = [];
  keys: string[] = [];

  /** JSON null. */
  static nul(): JValue {
    return new JValue();
  }

  /** A JSON boolean. */
  static boolean(b: bool): JValue {
    const v = new JValue();
    v.kind = J_BOOL;
    v.b = b;
    return v;
  }

  /** A JSON number (a non-finite `n` is written as null). */
  static number(n: f64): JValue {
    const v = new JValue();
    v.kind = J_NUM;
    v.n = n;
    return v;
  }

  /** A JSON string. */
  static string(s: string): JValue {
    const v = new JValue();
    v.kind = J_STR;
    v.s = s;
    return v;
  }

  /** An empty JSON array. */
  static array(): JValue {
    const v = new JValue();
    v.kind = J_ARR;
    return v;
  }

  /** An empty JSON object. */
  static object(): JValue {
    const v = new JValue();
    v.kind = J_OBJ;
    return v;
  }

  /** The index of the last member named `key` of an object, or −1 (also for non-objects). */
  private find(key: string): i32 {
    if (this.kind != J_OBJ) return -1;
    const keys = this.keys;
    for (let i = keys.length - 1; i >= 0; i--) if (keys[i] == key) return i;
    return -1;
  }

  /** The member `key` of an object (the last one of that name), or null. */
  get(key: string): JValue | null {
    const i = this.find(key);
    return i < 0 ? null : this.items[i];
  }

  /** Whether an object has a member `key`. */
  has(key: string): bool {
    return this.find(key) >= 0;
  }

  /** Element `i` of an array, or null when out of range or not an array. */
  at(i: i32): JValue | null {
    return this.kind == J_ARR && i >= 0 && i < this.items.length ? this.items[i] : null;
  }

  /** The string member `key`, or `def` when absent or not a string. */
  str(key: string, def: string = ""): string {
    const v = this.get(key);
    return v !== null && v.kind == J_STR ? v.s : def;
  }

  /** The number member `key`, or `def` when absent or not a number. */
  num(key: string, def: f64 = 0): f64 {
    const v = this.get(key);
    return v !== null && v.kind == J_NUM ? v.n : def;
  }

  /** The boolean member `key`, or `def` when absent or not a boolean. */
  bool(key: string, def: bool = false): bool {
    const v = this.get(key);
    return v !== null && v.kind == J_BOOL ? v.b : def;
  }

  /** Sets member `key` of an object: replaces the last of that name, else appends. Returns this. */
  set(key: string, v: JValue): JValue {
    const i = this.find(key);
    if (i >= 0) this.items[i] = v;
    else if (this.kind == J_OBJ) {
      this.keys.push(key);
      this.items.push(v);
    }
    return this;
  }

  /** Appends `v` to an array. Returns this. */
  push(v: JValue): JValue {
    if (this.kind == J_ARR) this.items.push(v);
    return this;
  }
}

/** Why the last parseJson / parseJsonBytes call failed. */
export class JsonError {
  /** Offset of the error: in bytes for parseJsonBytes, in UTF-16 code units for parseJson. */
  static at: i32 = 0;
  /** What is wrong, e.g. "unexpected ',' ", "invalid UTF-8", "nesting deeper than 128". */
  static reason: string = "";
}

/**
 * Parses JSON text (RFC 8259): exactly one value, surrounded by optional whitespace. Accepts what
 * JSON.parse accepts (lone surrogates included); containers nest at most `maxDepth` deep. Returns
 * null on any error, with JsonError set (offset in UTF-16 code units).
 */
export function parseJson(text: string, maxDepth: i32 = 128): JValue | null {
  // One parser over bytes: the string's WTF-8 form keeps lone surrogates as 3-byte sequences.
  const buf = String.UTF8.encode(text);
  const v = parse(changetype<usize>(buf), buf.byteLength, maxDepth, true);
  if (v === null) JsonError.at = String.UTF8.decodeUnsafe(changetype<usize>(buf), JsonError.at).length;
  return v;
}

/**
 * Parses the JSON text in the `len` UTF-8 bytes at `ptr` (RFC 8259 §8.1: invalid UTF-8 is an
 * error, a byte-order mark too, as JSON.parse(TextDecoder(fatal).decode(bytes)) would say).
 * Containers nest at most `maxDepth` deep. Returns null on any error, with JsonError set
 * (offset in bytes).
 */
export function parseJsonBytes(ptr: usize, len: usize, maxDepth: i32 = 128): JValue | null {
  return parse(ptr, len, maxDepth, false);
}

/**
 * `text` read as one JSON number (RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?),
 * rounded to the nearest double exactly as Number() does; NaN when it is not exactly one number.
 */
export function parseNumber(text: string): f64 {
  const buf = String.UTF8.encode(text);
  const p = new Parser(changetype<usize>(buf), buf.byteLength, false);
  const v = p.number();
  return v !== null && p.pos == buf.byteLength ? v.n : NaN;
}

/** UTF-16 code units of the string being read (scratch, see trim). */
const units = new Region();

/** Scratch kept between calls: larger regions are given back after the call that grew them. */
const KEEP: usize = 64 << 10;

/** Frees a scratch region grown past KEEP, so one huge document does not pin its memory. */
function trim(r: Region): void {
  if (r.cap > KEEP) {
    heap.free(r.ptr);
    r.ptr = 0;
    r.cap = 0;
  }
}
/** Significant digits (values 0–9) of the number being read, see Parser.digit. */
const DIGITS = memory.data(MAX_DIGITS + 1);

function parse(ptr: usize, len: usize, maxDepth: i32, wtf8: bool): JValue | null {
  const p = new Parser(ptr, <i32>len, wtf8);
  const v = p.document(maxDepth);
  trim(units);
  if (v === null) {
    JsonError.at = p.pos;
    JsonError.reason = p.reason;
  }
  return v;
}

class Parser {
  pos: i32 = 0;
  reason: string = "";
  /** Digits stored in DIGITS for the current number. */
  nd: i32 = 0;

  constructor(
    private ptr: usize,
    private len: i32,
    private wtf8: bool,
  ) {}

  @inline peek(): i32 {
    return this.pos < this.len ? <i32>load<u8>(this.ptr + this.pos) : -1;
  }

  /** Records an error at the current offset; returns null for the caller to pass on. */
  fail(reason: string): JValue | null {
    this.reason = reason;
    return null;
  }

  /** Fails with "unexpected …" describing the byte at the current offset. */
  unexpected(): JValue | null {
    const c = this.peek();
    if (c < 0) return this.fail("unexpected end of input");
    if (c >= 0x20 && c < 0x7f) return this.fail("unexpected '" + String.fromCharCode(c) + "'");
    return this.fail("unexpected byte 0x" + c.toString(16));
  }

  ws(): void {
    while (this.pos < this.len) {
      const c = load<u8>(this.ptr + this.pos);
      if (c != 0x20 && c != 0x0a && c != 0x0d && c != 0x09) break;
      this.pos++;
    }
  }

  /** One value, then only whitespace. */
  document(maxDepth: i32): JValue | null {
    const stack: JValue[] = [];
    while (true) {
      // Expecting a value.
      this.ws();
      const c = this.peek();
      let v: JValue | null;
      if (c == 0x5b || c == 0x7b) {
        if (stack.length >= maxDepth) return this.fail("nesting deeper than " + maxDepth.toString());
        this.pos++;
        const box = c == 0x5b ? JValue.array() : JValue.object();
        this.ws();
        if (this.peek() == c + 2) {
          this.pos++;
          v = box;
        } else {
          stack.push(box);
          if (box.kind == J_OBJ && !this.key(box)) return null;
          continue;
        }
      } else if (c == 0x22) {
        const s = this.string();
        if (s === null) return null;
        v = JValue.string(s);
      } else if (c == 0x2d || (c >= 0x30 && c <= 0x39)) {
        v = this.number();
        if (v === null) return null;
      } else if (this.word("true")) v = JValue.boolean(true);
      else if (this.word("false")) v = JValue.boolean(false);
      else if (this.word("null")) v = JValue.nul();
      else return this.unexpected();
      // A value is complete: attach it and close every container that ends here.
      while (true) {
        if (stack.length == 0) {
          this.ws();
          return this.pos == this.len ? v : this.unexpected();
        }
        const top = stack[stack.length - 1];
        top.items.push(v);
        this.ws();
        const d = this.peek();
        if (d == 0x2c) {
          this.pos++;
          if (top.kind == J_OBJ && !this.key(top)) return null;
          break;
        }
        if (d != (top.kind == J_ARR ? 0x5d : 0x7d)) return this.unexpected();
        this.pos++;
        v = stack.pop();
      }
    }
  }

  /** A member name and its colon, the name appended to `obj.keys`. */
  key(obj: JValue): bool {
    this.ws();
    if (this.peek() != 0x22) {
      this.unexpected();
      return false;
    }
    const k = this.string();
    if (k === null) return false;
    this.ws();
    if (this.peek() != 0x3a) {
      this.unexpected();
      return false;
    }
    this.pos++;
    obj.keys.push(k);
    return true;
  }

  word(w: string): bool {
    const n = w.length;
    if (this.pos + n > this.len) return false;
    for (let i = 0; i < n; i++) if (<i32>load<u8>(this.ptr + this.pos + i) != w.charCodeAt(i)) return false;
    this.pos += n;
    return true;
  }

  /** -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259 §6), read as `Number()` reads it. */
  number(): JValue | null {
    const neg = this.peek() == 0x2d;
    if (neg) this.pos++;
    let c = this.peek();
    if (c < 0x30 || c > 0x39) return this.fail(c < 0 ? "unexpected end of input" : "invalid number: no digit after '-'");
    this.nd = 0;
    let point = 0; // value = 0.d₁d₂… × 10^point
    if (c == 0x30) {
      this.pos++;
      c = this.peek();
      if (c >= 0x30 && c <= 0x39) return this.fail("invalid number: leading zero");
    } else {
      while (c >= 0x30 && c <= 0x39) {
        this.digit(c - 0x30);
        point++;
        this.pos++;
        c = this.peek();
      }
    }
    if (c == 0x2e) {
      this.pos++;
      c = this.peek();
      if (c < 0x30 || c > 0x39) return this.fail("invalid number: no digit after '.'");
      while (c >= 0x30 && c <= 0x39) {
        if (this.nd == 0 && c == 0x30) point--;
        else this.digit(c - 0x30);
        this.pos++;
        c = this.peek();
      }
    }
    if (c == 0x65 || c == 0x45) {
      this.pos++;
      c = this.peek();
      const eneg = c == 0x2d;
      if (c == 0x2b || c == 0x2d) {
        this.pos++;
        c = this.peek();
      }
      if (c < 0x30 || c > 0x39) return this.fail("invalid number: no digit in the exponent");
      let exp = 0;
      while (c >= 0x30 && c <= 0x39) {
        // Past 10^8 the value is 0 or Infinity whatever the digits: stop growing.
        if (exp < 100000000) exp = exp * 10 + (c - 0x30);
        this.pos++;
        c = this.peek();
      }
      point = eneg ? point - exp : point + exp;
    }
    const x = decimalToF64(DIGITS, this.nd, point);
    return JValue.number(neg ? -x : x);
  }

  /**
   * Stores significant digit `d`. Past MAX_DIGITS only one more slot is kept, set to 1 once
   * any later digit is non-zero: that decides rounding as well as all the digits would.
   */
  @inline digit(d: i32): void {
    const n = this.nd;
    if (n <= MAX_DIGITS) {
      store<u8>(DIGITS + n, <u8>d);
      this.nd = n + 1;
    } else if (d != 0) store<u8>(DIGITS + MAX_DIGITS, 1);
  }

  /** A string literal (RFC 8259 §7), its UTF-8 decoded and validated, escapes resolved. */
  string(): string | null {
    this.pos++; // the opening quote
    // Size the buffer by the literal's bytes: never fewer than its UTF-16 code units.
    let end = this.pos;
    while (end < this.len) {
      const c = load<u8>(this.ptr + end);
      if (c == 0x22) break;
      end += c == 0x5c ? 2 : 1;
    }
    const out = units.reserve(<usize>(end - this.pos) << 1);
    let q = out;
    while (true) {
      if (this.pos >= this.len) {
        this.fail("unterminated string");
        return null;
      }
      const c = <i32>load<u8>(this.ptr + this.pos);
      if (c == 0x22) {
        this.pos++;
        return String.UTF16.decodeUnsafe(out, q - out);
      }
      if (c < 0x20) {
        this.fail("control character in string");
        return null;
      }
      if (c == 0x5c) {
        const u = this.escape();
        if (u < 0) return null;
        store<u16>(q, <u16>u);
        q += 2;
        continue;
      }
      if (c < 0x80) {
        store<u16>(q, <u16>c);
        q += 2;
        this.pos++;
        continue;
      }
      const cp = this.utf8(c);
      if (cp < 0) {
        this.fail("invalid UTF-8");
        return null;
      }
      if (cp >= 0x10000) {
        store<u16>(q, <u16>(0xd800 + ((cp - 0x10000) >> 10)));
        store<u16>(q, <u16>(0xdc00 + (cp & 0x3ff)), 2);
        q += 4;
      } else {
        store<u16>(q, <u16>cp);
        q += 2;
      }
    }
  }

  /** The escape at the current backslash: its UTF-16 code unit, or −1 (error set). */
  escape(): i32 {
    this.pos++;
    const e = this.peek();
    this.pos++;
    if (e == 0x22 || e == 0x5c || e == 0x2f) return e;
    if (e == 0x62) return 0x08;
    if (e == 0x66) return 0x0c;
    if (e == 0x6e) return 0x0a;
    if (e == 0x72) return 0x0d;
    if (e == 0x74) return 0x09;
    if (e == 0x75) {
      let u = 0;
      for (let i = 0; i < 4; i++) {
        const h = this.peek();
        const d = h >= 0x30 && h <= 0x39 ? h - 0x30 : (h | 0x20) >= 0x61 && (h | 0x20) <= 0x66 ? (h | 0x20) - 0x57 : -1;
        if (d < 0) {
          this.fail("invalid \\u escape");
          return -1;
        }
        u = (u << 4) | d;
        this.pos++;
      }
      return u;
    }
    this.pos -= 2;
    this.fail("invalid escape");
    return -1;
  }

  /**
   * The code point of the UTF-8 sequence starting with byte `c` (≥ 0x80) at pos, advancing past
   * it; −1 (pos unchanged) for an ill-formed sequence (Unicode §3.9 D92: no overlong forms,
   * nothing above U+10FFFF, no surrogates, except their 3-byte forms in WTF-8 mode).
   */
  utf8(c: i32): i32 {
    const p = this.ptr + this.pos;
    const left = this.len - this.pos;
    let need: i32, cp: i32, lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      need = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      cp = c & 0x0f;
      if (c == 0xe0) lo = 0xa0;
      else if (c == 0xed && !this.wtf8) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      cp = c & 0x07;
      if (c == 0xf0) lo = 0x90;
      else if (c == 0xf4) hi = 0x8f;
    } else return -1;
    if (left <= need) return -1;
    for (let i = 1; i <= need; i++) {
      const b = <i32>load<u8>(p + i);
      if (b < lo || b > hi) return -1;
      lo = 0x80;
      hi = 0xbf;
      cp = (cp << 6) | (b & 0x3f);
    }
    this.pos += need + 1;
    return cp;
  }
}

/** Output of the writer: UTF-16 code units, grown by doubling. */
class Out {
  region: Region = new Region();
  n: usize = 0;

  unit(c: i32): void {
    const p = this.region.reserve((this.n + 1) << 1, this.n << 1);
    store<u16>(p + (this.n++ << 1), <u16>c);
  }

  text(s: string): void {
    const len = <usize>s.length << 1;
    const p = this.region.reserve((this.n << 1) + len, this.n << 1);
    memory.copy(p + (this.n << 1), changetype<usize>(s), len);
    this.n += <usize>s.length;
  }

  /** `s` as a JSON string literal (see quote). */
  quoted(s: string): void {
    this.unit(0x22);
    for (let i = 0, len = s.length; i < len; i++) {
      const c = s.charCodeAt(i);
      if (c == 0x22 || c == 0x5c) {
        this.unit(0x5c);
        this.unit(c);
      } else if (c >= 0x20 && (c & 0xf800) != 0xd800) this.unit(c);
      else if (c == 0x0a) this.text("\\n");
      else if (c == 0x0d) this.text("\\r");
      else if (c == 0x09) this.text("\\t");
      else if (c == 0x08) this.text("\\b");
      else if (c == 0x0c) this.text("\\f");
      else if (c >= 0xd800 && c < 0xdc00 && i + 1 < len && (s.charCodeAt(i + 1) & 0xfc00) == 0xdc00) {
        this.unit(c);
        this.unit(s.charCodeAt(++i));
      } else {
        // Other controls, and lone surrogates (ECMA-262 QuoteJSONString: well-formed output).
        this.text("\\u");
        for (let sh = 12; sh >= 0; sh -= 4) {
          const h = (c >> sh) & 15;
          this.unit(h < 10 ? 0x30 + h : 0x57 + h);
        }
      }
    }
    this.unit(0x22);
  }

  /** The text written; resets. */
  take(): string {
    const s = String.UTF16.decodeUnsafe(this.region.ptr, this.n << 1);
    this.n = 0;
    trim(this.region);
    return s;
  }
}

const out = new Out();

/**
 * `s` as a JSON string literal, as JSON.stringify writes it (ECMA-262 QuoteJSONString): `"` and
 * `\` escaped, \b \f \n \r \t, other controls and lone surrogates as lowercase \uXXXX.
 */
export function quote(s: string): string {
  out.quoted(s);
  return out.take();
}

/**
 * `v` as compact JSON text (no whitespace), as JSON.stringify would write the same value:
 * numbers as `String(n)` prints them, non-finite numbers as null, object members in order
 * (repeated names kept). Iterative: any depth.
 */
export function stringify(v: JValue): string {
  // The stack holds each open container and the index of its next item.
  const boxes: JValue[] = [];
  const next: i32[] = [];
  let cur: JValue = v;
  while (true) {
    const k = cur.kind;
    if (k == J_ARR || k == J_OBJ) {
      out.unit(k == J_ARR ? 0x5b : 0x7b);
      boxes.push(cur);
      next.push(0);
    } else {
      if (k == J_NULL) out.text("null");
      else if (k == J_BOOL) out.text(cur.b ? "true" : "false");
      else if (k == J_NUM) out.text(isFinite(cur.n) ? formatF64(cur.n) : "null");
      else out.quoted(cur.s);
    }
    // Find the next value to write, closing finished containers.
    while (true) {
      const d = boxes.length;
      if (d == 0) return out.take();
      const box = boxes[d - 1];
      const i = next[d - 1];
      if (i >= box.items.length) {
        out.unit(box.kind == J_ARR ? 0x5d : 0x7d);
        boxes.pop();
        next.pop();
        continue;
      }
      if (i > 0) out.unit(0x2c);
      if (box.kind == J_OBJ) {
        out.quoted(i < box.keys.length ? box.keys[i] : "");
        out.unit(0x3a);
      }
      next[d - 1] = i + 1;
      cur = box.items[i];
      break;
    }
  }
}
